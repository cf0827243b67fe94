//! The ledger's tables and the few helpers every concern uses to read and write them.
//!
//! Phones are stored only as a keyed hash (for lookup) or sealed with the data key (for
//! display), because deleted SQLite rows linger in free pages this object cannot vacuum.

use std::cell::Cell;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use worker::{Result, SqlStorage, SqlStorageValue};

use crate::core::crypto::seal::{self, Key};
use crate::core::values::ids::{CheckoutToken, Wamid};
use crate::core::values::phone::Phone;
use crate::platform::crypto;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journeys (
  checkout_token TEXT PRIMARY KEY, cart_token TEXT, checkout_id TEXT, phone_hash TEXT NOT NULL,
  customer_hash TEXT, locale TEXT,
  holdout INTEGER NOT NULL, started_at INTEGER NOT NULL, segment TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active', end_reason TEXT, eligible_at INTEGER, messaged_at INTEGER,
  delivered_at INTEGER, read_at INTEGER, replied_at INTEGER, clicked_at INTEGER,
  recovered_at INTEGER, revenue_minor INTEGER, currency TEXT, recovery_token TEXT, summary TEXT,
  product TEXT);
CREATE INDEX IF NOT EXISTS journeys_cart ON journeys(cart_token);
CREATE INDEX IF NOT EXISTS journeys_checkout_id ON journeys(checkout_id);
CREATE INDEX IF NOT EXISTS journeys_phone ON journeys(phone_hash);
CREATE TABLE IF NOT EXISTS consents (
  id INTEGER PRIMARY KEY AUTOINCREMENT, phone_hash TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS consents_phone ON consents(phone_hash);
CREATE TABLE IF NOT EXISTS suppressed (phone_hash TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS limited (phone_hash TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sends (
  checkout_token TEXT NOT NULL, step_id TEXT NOT NULL, attempt INTEGER NOT NULL,
  phone_hash TEXT NOT NULL, at INTEGER NOT NULL, slot_at INTEGER NOT NULL,
  PRIMARY KEY (checkout_token, step_id, attempt));
CREATE INDEX IF NOT EXISTS sends_phone ON sends(phone_hash, at);
-- Sends older than the longest cap window are deleted at every grant.
CREATE INDEX IF NOT EXISTS sends_at ON sends(at);
CREATE INDEX IF NOT EXISTS sends_slot_at ON sends(slot_at);
-- Each send's pacing slot on its number's calendar (`gate::pacing`), held from when its step
-- is scheduled (used = 0) and taken when the gate clears it (used = 1).
CREATE TABLE IF NOT EXISTS slots (
  phone_number_id TEXT NOT NULL, at_us INTEGER NOT NULL, checkout_token TEXT NOT NULL,
  step_id TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (phone_number_id, at_us));
CREATE INDEX IF NOT EXISTS slots_of_checkout ON slots (checkout_token, step_id);
CREATE TABLE IF NOT EXISTS messages (
  wamid_hash TEXT PRIMARY KEY, checkout_token TEXT NOT NULL, step_id TEXT NOT NULL,
  sent_at INTEGER NOT NULL, status TEXT NOT NULL, error_code INTEGER);
CREATE TABLE IF NOT EXISTS replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT, sealed TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inbound (
  id_hash TEXT PRIMARY KEY, at INTEGER NOT NULL, signal TEXT, journeys TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS inbound_at ON inbound(at);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE TABLE IF NOT EXISTS conversations (phone_hash TEXT PRIMARY KEY, last_inbound INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (
  phone_hash TEXT PRIMARY KEY, phone TEXT NOT NULL, name TEXT, last_message TEXT NOT NULL,
  since INTEGER NOT NULL, resolved_at INTEGER);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  checkout_token TEXT NOT NULL, command TEXT NOT NULL, PRIMARY KEY (checkout_token, command));
CREATE TABLE IF NOT EXISTS outbox_unreadable (
  checkout_token TEXT NOT NULL, command TEXT NOT NULL, error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS step_outcomes (
  checkout_token TEXT NOT NULL, step_id TEXT NOT NULL, outcome TEXT NOT NULL, code INTEGER,
  at INTEGER NOT NULL, PRIMARY KEY (checkout_token, step_id));
CREATE TABLE IF NOT EXISTS skips (
  checkout_token TEXT NOT NULL, step_id TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (checkout_token, step_id));
CREATE TABLE IF NOT EXISTS charges (
  wamid_hash TEXT PRIMARY KEY, country TEXT, category TEXT NOT NULL, billable INTEGER NOT NULL,
  pricing_model TEXT, kind TEXT, delivered_at INTEGER);
CREATE INDEX IF NOT EXISTS charges_delivered ON charges(delivered_at);
-- Each variant's image as Shopify last gave it (url NULL: it has none), for image headers.
CREATE TABLE IF NOT EXISTS variant_images (
  variant_id TEXT PRIMARY KEY, url TEXT, at INTEGER NOT NULL);
";

/// Changes after a table was first created: each is tried once per object start, and fails
/// (or does nothing) harmlessly where it was made already.
pub const ADDED_COLUMNS: [&str; 3] = [
    "ALTER TABLE journeys ADD COLUMN product TEXT",
    // 0: what stops sending (a shopper's opt-out or reply, the shop gone) goes before the rest.
    "ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 1",
    // Pacing by one next free instant per number gave way to the calendar of `slots`.
    "DROP TABLE IF EXISTS pacing",
];

/// Every table that holds shop data (`shop/redact` empties them all but the outbox).
pub const DATA_TABLES: [&str; 21] = [
    "step_outcomes",
    "journeys",
    "consents",
    "suppressed",
    "limited",
    "sends",
    "slots",
    "messages",
    "inbound",
    "conversations",
    "inbox",
    "events",
    "skips",
    "outbox_unreadable",
    "replies",
    "trials",
    "pending_groups",
    "charges",
    "swept",
    "consent_sync",
    "variant_images",
];

/// The ledger's storage for one request: its SQL and the data key.
pub struct Db {
    sql: SqlStorage,
    key: Key,
    /// The outbox gained work: the object must arm its alarm before answering.
    wake: Cell<bool>,
}

#[derive(Deserialize)]
pub struct Count {
    pub n: i64,
}

#[derive(Deserialize)]
pub struct Text {
    pub v: String,
}

#[derive(Deserialize)]
pub struct Int {
    pub v: i64,
}

pub fn s(v: impl Into<String>) -> SqlStorageValue {
    SqlStorageValue::String(v.into())
}

pub fn i(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}

pub fn token(t: &CheckoutToken) -> SqlStorageValue {
    s(t.as_str())
}

impl Db {
    pub fn new(sql: SqlStorage, key: Key) -> Db {
        Db {
            sql,
            key,
            wake: Cell::new(false),
        }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }

    pub fn hash(&self, phone: &Phone) -> String {
        seal::lookup_hash(&self.key, phone.as_str())
    }

    /// A wamid encodes the recipient's number, so it is kept only as a keyed hash.
    pub fn wamid_hash(&self, wamid: &Wamid) -> String {
        seal::lookup_hash(&self.key, &format!("wamid:{}", wamid.as_str()))
    }

    pub fn customer_hash(&self, customer_id: &str) -> String {
        seal::lookup_hash(&self.key, &format!("customer:{customer_id}"))
    }

    pub fn seal(&self, plaintext: &str) -> Result<String> {
        crypto::seal(&self.key, plaintext)
    }

    /// A sealed value read back; one that does not open reads as empty.
    pub fn open(&self, sealed: &str) -> String {
        seal::open(&self.key, sealed).unwrap_or_default()
    }

    pub fn exec(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<()> {
        self.sql.exec(query, args)?;
        Ok(())
    }

    /// Rows written by the statement.
    pub fn changed(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<usize> {
        Ok(self.sql.exec(query, args)?.rows_written())
    }

    pub fn rows<T: DeserializeOwned>(
        &self,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>> {
        self.sql.exec(query, args)?.to_array()
    }

    pub fn first<T: DeserializeOwned>(
        &self,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Option<T>> {
        Ok(self.rows(query, args)?.into_iter().next())
    }

    pub fn exists(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<bool> {
        Ok(self.first::<Count>(query, args)?.is_some_and(|c| c.n > 0))
    }

    pub fn tokens(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<Vec<CheckoutToken>> {
        Ok(self
            .rows::<Text>(query, args)?
            .into_iter()
            .map(|r| CheckoutToken::new(r.v))
            .collect())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .first::<Text>(
                "SELECT value AS v FROM settings WHERE key = ?",
                vec![s(key)],
            )?
            .map(|r| r.v))
    }

    /// A setting stored as JSON; one that is missing or unreadable reads as the default.
    pub fn json_setting<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T> {
        Ok(self
            .setting(key)?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    pub fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO settings (key, value) VALUES (?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![s(key), s(value)],
        )
    }

    pub fn delete_setting(&self, key: &str) -> Result<()> {
        self.exec("DELETE FROM settings WHERE key = ?", vec![s(key)])
    }

    pub fn put_json_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        self.put_setting(key, &serde_json::to_string(value)?)
    }

    pub fn wake(&self) {
        self.wake.set(true);
    }

    pub fn wants_wake(&self) -> bool {
        self.wake.get()
    }
}
