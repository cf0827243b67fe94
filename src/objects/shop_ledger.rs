//! `ShopLedger`: one SQLite-backed Durable Object per shop, the single writer of everything that
//! spans carts and must be strongly consistent: the consent ledger, suppression, frequency caps,
//! send pacing, the journey index and the metrics (DESIGN.md §2).
//!
//! Phones are stored only as a keyed hash (for lookup) or sealed with the data key (for display),
//! because deleted SQLite rows linger in free pages this object cannot vacuum (DESIGN.md §7).
//! Every operation is a run of synchronous SQL statements, so two requests never interleave.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, SqlStorageValue,
    State,
};

use super::cart_journey::{self, CartCommand};
use super::rpc;
use crate::core::conversation::{self, Faq, Intent, ReplyKind};
use crate::core::crypto::seal::{self, Key};
use crate::core::gate::consent::ConsentRecord;
use crate::core::gate::consent::{
    ConsentKind, ConsentSource, ConsentStatus, RateCounts, RateLimit,
};
use crate::core::gate::{self, GateRequest, GateVerdict};
use crate::core::journey::{Delivery, Fact, ShopperSignal};
use crate::core::playbook::{Caps, ConsentMode};
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::core::whatsapp::inbound::{InboundEvent, Preference};
use crate::platform::clock::now;
use crate::platform::crypto;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journeys (
  checkout_token TEXT PRIMARY KEY, cart_token TEXT, checkout_id TEXT, phone_hash TEXT NOT NULL,
  customer_hash TEXT, locale TEXT,
  holdout INTEGER NOT NULL, started_at INTEGER NOT NULL, segment TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active', end_reason TEXT, eligible_at INTEGER, messaged_at INTEGER,
  delivered_at INTEGER, read_at INTEGER, replied_at INTEGER, clicked_at INTEGER,
  recovered_at INTEGER, revenue_minor INTEGER, currency TEXT, recovery_token TEXT, summary TEXT);
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
CREATE TABLE IF NOT EXISTS pacing (phone_number_id TEXT PRIMARY KEY, next_free INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  wamid_hash TEXT PRIMARY KEY, checkout_token TEXT NOT NULL, step_id TEXT NOT NULL,
  sent_at INTEGER NOT NULL, status TEXT NOT NULL, error_code INTEGER);
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
CREATE TABLE IF NOT EXISTS skips (
  checkout_token TEXT NOT NULL, step_id TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (checkout_token, step_id));
";

/// Calls the ledger of `shop`.
pub async fn call<B: Serialize, R: DeserializeOwned>(
    env: &Env,
    shop: &str,
    op: &str,
    body: &B,
) -> Result<R> {
    let stub = env.durable_object("SHOP")?.get_by_name(shop)?;
    rpc::call(&stub, op, body).await
}

/// A cart's report after each event: what happened, and how the journey looks now.
#[derive(Serialize, Deserialize)]
pub struct Report {
    pub checkout_token: String,
    pub facts: Vec<Fact>,
    pub at: Millis,
    /// The journey as `GET /api/journeys` shows it; sealed at rest.
    pub summary: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
pub struct Begin {
    pub checkout_token: String,
    pub cart_token: Option<String>,
    pub checkout_id: Option<String>,
    pub recovery_token: String,
    pub customer_id: Option<String>,
    /// The shopper's locale, for the language of our replies.
    pub locale: Option<String>,
    pub phone: Phone,
    pub holdout: bool,
    pub segment: String,
    pub at: Millis,
}

#[derive(Serialize, Deserialize)]
pub struct GateCall {
    pub request: GateRequest,
    pub phone: Phone,
    pub mode: ConsentMode,
    pub caps: Option<Caps>,
    pub phone_number_id: String,
    pub per_second: u32,
}

#[derive(Serialize, Deserialize)]
pub struct StatusCall {
    pub wamid: String,
    pub delivery: Delivery,
    pub at: Millis,
}

/// Which cart a message belongs to.
#[derive(Serialize, Deserialize)]
pub struct MessageOwner {
    pub checkout_token: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Lookup {
    pub cart_token: Option<String>,
    pub checkout_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct ConsentAdd {
    pub phone: Phone,
    pub record: ConsentRecord,
}

#[derive(Serialize, Deserialize)]
pub struct PhoneQuery {
    pub phone: Phone,
}

/// A shopper's message or marketing preference, with where our links point.
#[derive(Serialize, Deserialize)]
pub struct InboundCall {
    pub event: InboundEvent,
    pub app_url: String,
}

/// What the Worker must do about an inbound event: tell these carts, send this reply.
#[derive(Serialize, Deserialize, Default)]
pub struct InboundPlan {
    pub signal: Option<ShopperSignal>,
    pub journeys: Vec<String>,
    pub reply: Option<Reply>,
}

#[derive(Serialize, Deserialize)]
pub struct Reply {
    pub to: Phone,
    pub text: String,
    /// Reply buttons `(id, title)` under the text (an interactive message).
    #[serde(default)]
    pub buttons: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
pub struct OptInCall {
    pub client: String,
    pub phone: Phone,
    pub now: Millis,
}

#[derive(Serialize, Deserialize)]
pub struct OptInVerdict {
    pub allowed: bool,
}

/// A Shopify event, by its `X-Shopify-Event-Id`.
#[derive(Serialize, Deserialize)]
pub struct EventId {
    pub id: String,
}

/// A customer to erase or report on: by Shopify customer id and by phone.
#[derive(Serialize, Deserialize)]
pub struct Customer {
    pub customer_id: Option<String>,
    pub phone: Option<Phone>,
}

/// What must reach every cart of a shop (or of a customer): written down in the ledger's
/// outbox and delivered by its alarm in batches, so a large shop is never cut short.
#[derive(Serialize, Deserialize)]
pub struct FanOut {
    pub shop: String,
    pub customer: Option<Customer>,
}

/// The carts an operation touched.
#[derive(Serialize, Deserialize, Default)]
pub struct Checkouts {
    pub checkout_tokens: Vec<String>,
}

/// `GET /api/metrics`: journeys started in `[from, to)`, broken down by `by`.
#[derive(Serialize, Deserialize)]
pub struct MetricsQuery {
    pub from: Millis,
    pub to: Millis,
    /// `day`, `segment` or `step`.
    pub by: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct JourneysQuery {
    /// `active`, `ended` or `all`.
    pub status: String,
}

#[durable_object]
pub struct ShopLedger {
    state: State,
    env: Env,
}

impl DurableObject for ShopLedger {
    fn new(state: State, env: Env) -> Self {
        // The schema is idempotent; a failure here surfaces on the first query.
        let _ = state.storage().sql().exec(SCHEMA, None);
        Self { state, env }
    }

    /// Delivers the outbox to the carts, a batch per run; runs again until it is empty.
    async fn alarm(&self) -> Result<Response> {
        let ledger = Ops {
            sql: self.state.storage().sql(),
            key: crypto::data_key(&self.env)?,
        };
        let shop = ledger.setting("shop")?.unwrap_or_default();
        let mut failed = false;
        for item in ledger.outbox_batch(OUTBOX_BATCH)? {
            let command = match item.command.as_str() {
                "shop_gone" => CartCommand::ShopGone,
                _ => CartCommand::Erase,
            };
            match cart_journey::send(&self.env, &shop, &item.checkout_token, &command).await {
                Ok(_) => ledger.outbox_done(&item)?,
                Err(e) => {
                    worker::console_error!("outbox: a cart did not take {}: {e}", item.command);
                    failed = true;
                }
            }
        }
        let storage = self.state.storage();
        if ledger.outbox_batch(1)?.is_empty() {
            if ledger.setting("erase_when_drained")?.is_some() {
                storage.delete_all().await?;
                storage.sql().exec(SCHEMA, None)?;
            }
        } else {
            // Failures wait a little; a full batch goes on at once.
            let later = if failed { 5_000 } else { 0 };
            storage.set_alarm(later).await?;
        }
        Response::ok("ok")
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op = rpc::op(&req);
        let body = req.text().await?;
        let ledger = Ops {
            sql: self.state.storage().sql(),
            key: crypto::data_key(&self.env)?,
        };
        match op.as_str() {
            "begin" => rpc::reply(&ledger.begin(parse(&body)?)?),
            "gate" => rpc::reply(&ledger.gate(parse(&body)?, now())?),
            "report" => rpc::reply(&ledger.report(parse(&body)?)?),
            "status" => rpc::reply(&ledger.status(parse(&body)?)?),
            "lookup" => rpc::reply(&ledger.lookup(parse(&body)?)?),
            "active_of_cart" => rpc::reply(&ledger.active_of_cart(parse(&body)?)?),
            "consent" => rpc::reply(&ledger.add_consent(parse(&body)?)?),
            "consents" => rpc::reply(&ledger.consents(parse(&body)?)?),
            "journeys" => rpc::reply(&ledger.journeys(parse(&body)?)?),
            "inbound" => rpc::reply(&ledger.inbound(parse(&body)?, now())?),
            "optin_allowed" => rpc::reply(&ledger.optin_allowed(parse(&body)?)?),
            "faq" => rpc::reply(&ledger.faq()?),
            "put_faq" => rpc::reply(&ledger.put_faq(parse(&body)?)?),
            "inbox" => rpc::reply(&ledger.inbox()?),
            "resolve" => rpc::reply(&ledger.resolve(parse(&body)?)?),
            "end_all" => {
                let fan: FanOut = parse(&body)?;
                let carts = ledger.active()?;
                ledger.enqueue(&fan.shop, &carts, "shop_gone", false)?;
                self.deliver_soon().await?;
                rpc::reply(&carts)
            }
            "redact" => {
                let fan: FanOut = parse(&body)?;
                let customer = fan
                    .customer
                    .ok_or_else(|| worker::Error::RustError("redact needs a customer".into()))?;
                let carts = ledger.redact(customer)?;
                ledger.enqueue(&fan.shop, &carts, "erase", false)?;
                self.deliver_soon().await?;
                rpc::reply(&carts)
            }
            "data_request" => rpc::reply(&ledger.data_request(parse(&body)?)?),
            "metrics" => rpc::reply(&ledger.metrics(parse(&body)?)?),
            "event_seen" => rpc::reply(&ledger.event_seen(parse(&body)?)?),
            "remember_event" => rpc::reply(&ledger.remember_event(parse(&body)?, now())?),
            "erase" => {
                // Every row goes now; the carts are told by the outbox, and once it is empty
                // the object's storage is wiped whole (bytes included, not just rows).
                let fan: FanOut = parse(&body)?;
                let carts = ledger.all()?;
                ledger.clear_all_but_outbox()?;
                ledger.enqueue(&fan.shop, &carts, "erase", true)?;
                self.deliver_soon().await?;
                rpc::reply(&carts)
            }
            other => rpc::unknown_op(other),
        }
    }
}

impl ShopLedger {
    async fn deliver_soon(&self) -> Result<()> {
        self.state.storage().set_alarm(0).await
    }
}

/// Carts told per alarm run: well within a run's limits, and each run is short.
const OUTBOX_BATCH: usize = 50;

#[derive(Deserialize)]
struct OutboxItem {
    checkout_token: String,
    command: String,
}

fn parse<T: DeserializeOwned>(body: &str) -> Result<T> {
    Ok(serde_json::from_str(body)?)
}

struct Ops {
    sql: SqlStorage,
    key: Key,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

#[derive(Deserialize)]
struct Text {
    v: String,
}

#[derive(Deserialize)]
struct Int {
    v: i64,
}

fn s(v: impl Into<String>) -> SqlStorageValue {
    SqlStorageValue::String(v.into())
}

fn i(v: i64) -> SqlStorageValue {
    SqlStorageValue::Integer(v)
}

fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Ops {
    fn hash(&self, phone: &Phone) -> String {
        seal::lookup_hash(&self.key, phone.as_str())
    }

    /// A wamid encodes the recipient's number, so it is kept only as a keyed hash.
    fn wamid_hash(&self, wamid: &str) -> String {
        seal::lookup_hash(&self.key, &format!("wamid:{wamid}"))
    }

    fn exec(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<()> {
        self.sql.exec(query, args)?;
        Ok(())
    }

    fn rows<T: DeserializeOwned>(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<Vec<T>> {
        self.sql.exec(query, args)?.to_array()
    }

    fn begin(&self, b: Begin) -> Result<()> {
        self.exec(
            "INSERT OR IGNORE INTO journeys
               (checkout_token, cart_token, checkout_id, recovery_token, customer_hash, locale,
                phone_hash, holdout, started_at, segment)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                s(b.checkout_token),
                b.cart_token.into(),
                b.checkout_id.into(),
                s(b.recovery_token),
                b.customer_id.map(|c| self.customer_hash(&c)).into(),
                b.locale.into(),
                s(self.hash(&b.phone)),
                i(b.holdout.into()),
                i(b.at.0),
                s(b.segment),
            ],
        )
    }

    /// Consent, suppression, caps and pacing in one synchronous run: atomic for the shop.
    /// Slots are reckoned on the ledger's clock: calls queue here, and a caller's clock would
    /// hand out slots already past.
    fn gate(&self, g: GateCall, now: Millis) -> Result<GateVerdict> {
        let phone_hash = self.hash(&g.phone);
        let token = g.request.checkout_token.clone();
        // A repeated ask for the same attempt (a lost answer) gets the same slot. A retry after
        // a refusal is a new attempt: checked afresh, and paced afresh.
        let attempt = i(g.request.attempt.into());
        let earlier: Vec<Int> = self.rows(
            "SELECT slot_at AS v FROM sends WHERE checkout_token = ? AND step_id = ? AND attempt = ?",
            vec![s(token.clone()), s(g.request.step_id.clone()), attempt.clone()],
        )?;
        if let Some(slot) = earlier.first() {
            return Ok(GateVerdict::Granted {
                slot_at: Millis(slot.v),
            });
        }
        let consents = self.consent_records(&phone_hash)?;
        let suppressed = self
            .rows::<Count>(
                "SELECT count(*) AS n FROM suppressed WHERE phone_hash = ?",
                vec![s(phone_hash.clone())],
            )?
            .first()
            .is_some_and(|c| c.n > 0);
        let limited_until = self
            .rows::<Int>(
                "SELECT until AS v FROM limited WHERE phone_hash = ?",
                vec![s(phone_hash.clone())],
            )?
            .first()
            .map(|r| Millis(r.v));
        // Each step counts once against the caps, however many attempts it took; this step's
        // own earlier attempts do not count against it.
        let sends: Vec<Millis> = self
            .rows::<Int>(
                "SELECT min(at) AS v FROM sends WHERE phone_hash = ?
                   AND NOT (checkout_token = ? AND step_id = ?)
                 GROUP BY checkout_token, step_id",
                vec![
                    s(phone_hash.clone()),
                    s(token.clone()),
                    s(g.request.step_id.clone()),
                ],
            )?
            .into_iter()
            .map(|r| Millis(r.v))
            .collect();
        let pacing_next_free = self
            .rows::<Int>(
                "SELECT next_free AS v FROM pacing WHERE phone_number_id = ?",
                vec![s(g.phone_number_id.clone())],
            )?
            .first()
            .map_or(0, |r| r.v);
        let decision = gate::decide(
            &g.request,
            &gate::Ledger {
                consents: &consents,
                suppressed,
                limited_until,
                sends: &sends,
                pacing_next_free,
            },
            &gate::Settings {
                mode: g.mode,
                caps: g.caps.as_ref(),
                per_second: g.per_second,
            },
            now,
        );
        if let Some(record) = &decision.record {
            self.append_consent(&phone_hash, record)?;
        }
        if decision.eligible {
            self.exec(
                "UPDATE journeys SET eligible_at = coalesce(eligible_at, ?) WHERE checkout_token = ?",
                vec![i(now.0), s(token.clone())],
            )?;
        }
        if let (Some(next_free), GateVerdict::Granted { slot_at }) =
            (decision.pacing_next_free, &decision.verdict)
        {
            self.exec(
                "INSERT INTO sends (checkout_token, step_id, attempt, phone_hash, at, slot_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    s(token),
                    s(g.request.step_id),
                    attempt,
                    s(phone_hash),
                    i(now.0),
                    i(slot_at.0),
                ],
            )?;
            // Sends older than the longest cap window no longer count for anything.
            self.exec(
                "DELETE FROM sends WHERE at < ?",
                vec![i(now.0
                    - i64::from(crate::core::gate::caps::MAX_WINDOW_DAYS)
                        * 86_400_000)],
            )?;
            self.exec(
                "INSERT INTO pacing (phone_number_id, next_free) VALUES (?, ?)
                 ON CONFLICT(phone_number_id) DO UPDATE SET next_free = excluded.next_free",
                vec![s(g.phone_number_id), i(next_free)],
            )?;
        }
        Ok(decision.verdict)
    }

    fn report(&self, r: Report) -> Result<()> {
        let token = r.checkout_token;
        let at = i(r.at.0);
        for fact in &r.facts {
            match fact {
                Fact::Sent { step_id, wamid } => {
                    self.exec(
                        "INSERT OR IGNORE INTO messages (wamid_hash, checkout_token, step_id, sent_at, status)
                         VALUES (?, ?, ?, ?, 'sent')",
                        vec![s(self.wamid_hash(wamid)), s(token.clone()), s(step_id.clone()), at.clone()],
                    )?;
                    self.exec(
                        "UPDATE journeys SET messaged_at = coalesce(messaged_at, ?) WHERE checkout_token = ?",
                        vec![at.clone(), s(token.clone())],
                    )?;
                }
                Fact::Skipped { step_id, reason } => self.exec(
                    "INSERT OR REPLACE INTO skips (checkout_token, step_id, reason, at) VALUES (?, ?, ?, ?)",
                    vec![s(token.clone()), s(step_id.clone()), s(snake(reason)), at.clone()],
                )?,
                Fact::Failed { code: Some(131049), .. } => self.limit_marketing(&token, r.at)?,
                Fact::Forgotten => self.exec(
                    "UPDATE journeys SET summary = NULL, locale = NULL, recovery_token = NULL,
                       customer_hash = NULL, phone_hash = '' WHERE checkout_token = ?",
                    vec![s(token.clone())],
                )?,
                Fact::Clicked => self.exec(
                    "UPDATE journeys SET clicked_at = coalesce(clicked_at, ?) WHERE checkout_token = ?",
                    vec![at.clone(), s(token.clone())],
                )?,
                Fact::Reopened => self.exec(
                    "UPDATE journeys SET status = 'active', end_reason = NULL WHERE checkout_token = ?",
                    vec![s(token.clone())],
                )?,
                Fact::Ended { reason } => self.exec(
                    "UPDATE journeys SET status = 'ended', end_reason = ? WHERE checkout_token = ?",
                    vec![s(snake(reason)), s(token.clone())],
                )?,
                Fact::Recovered { total, .. } => self.exec(
                    "UPDATE journeys SET recovered_at = coalesce(recovered_at, ?),
                       revenue_minor = ?, currency = ? WHERE checkout_token = ?",
                    vec![
                        at.clone(),
                        total.as_ref().map(|t| t.minor()).into(),
                        total.as_ref().map(|t| t.currency().as_str().to_string()).into(),
                        s(token.clone()),
                    ],
                )?,
                Fact::Started { .. }
                | Fact::Deferred { .. }
                | Fact::Failed { .. }
                | Fact::Unknown { .. } => {}
            }
        }
        if let Some(summary) = r.summary {
            let sealed = self.seal(&summary.to_string())?;
            self.exec(
                "UPDATE journeys SET summary = ? WHERE checkout_token = ?",
                vec![s(sealed), s(token)],
            )?;
        }
        Ok(())
    }

    /// Meta's per-user marketing limit (131049): no marketing to this shopper for 24 hours.
    fn limit_marketing(&self, checkout_token: &str, at: Millis) -> Result<()> {
        self.exec(
            "INSERT INTO limited (phone_hash, until)
               SELECT phone_hash, ? FROM journeys WHERE checkout_token = ?
             ON CONFLICT(phone_hash) DO UPDATE SET until = excluded.until",
            vec![i(at.plus_seconds(86_400).0), s(checkout_token.to_string())],
        )
    }

    fn status(&self, c: StatusCall) -> Result<MessageOwner> {
        let owner: Vec<Text> = self.rows(
            "SELECT checkout_token AS v FROM messages WHERE wamid_hash = ?",
            vec![s(self.wamid_hash(&c.wamid))],
        )?;
        let Some(owner) = owner.into_iter().next() else {
            return Ok(MessageOwner {
                checkout_token: None,
            });
        };
        let at = i(c.at.0);
        let token = s(owner.v.clone());
        match &c.delivery {
            Delivery::Delivered => self.exec(
                "UPDATE journeys SET delivered_at = coalesce(delivered_at, ?) WHERE checkout_token = ?",
                vec![at, token],
            )?,
            // A read without a delivered counts as both.
            Delivery::Read => self.exec(
                "UPDATE journeys SET delivered_at = coalesce(delivered_at, ?), read_at = coalesce(read_at, ?)
                 WHERE checkout_token = ?",
                vec![at.clone(), at, token],
            )?,
            Delivery::Failed { code } => {
                self.exec(
                    "UPDATE messages SET status = 'failed', error_code = ? WHERE wamid_hash = ?",
                    vec![code.map(i).unwrap_or(SqlStorageValue::Null), s(self.wamid_hash(&c.wamid))],
                )?;
                if *code == Some(131049) {
                    self.limit_marketing(&owner.v, c.at)?;
                }
            }
        }
        Ok(MessageOwner {
            checkout_token: Some(owner.v),
        })
    }

    fn lookup(&self, l: Lookup) -> Result<MessageOwner> {
        let rows: Vec<Text> = match (l.cart_token, l.checkout_id) {
            (Some(cart), _) => self.rows(
                "SELECT checkout_token AS v FROM journeys WHERE cart_token = ? ORDER BY started_at DESC LIMIT 1",
                vec![s(cart)],
            )?,
            (None, Some(id)) => self.rows(
                "SELECT checkout_token AS v FROM journeys WHERE checkout_id = ? LIMIT 1",
                vec![s(id)],
            )?,
            (None, None) => vec![],
        };
        Ok(MessageOwner {
            checkout_token: rows.into_iter().next().map(|r| r.v),
        })
    }

    fn consent_records(&self, phone_hash: &str) -> Result<Vec<ConsentRecord>> {
        let rows: Vec<Text> = self.rows(
            "SELECT record AS v FROM consents WHERE phone_hash = ? ORDER BY id",
            vec![s(phone_hash.to_string())],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.v).ok())
            .collect())
    }

    /// The ledger is append-only: records are added, never changed.
    fn append_consent(&self, phone_hash: &str, record: &ConsentRecord) -> Result<()> {
        self.exec(
            "INSERT INTO consents (phone_hash, record) VALUES (?, ?)",
            vec![s(phone_hash.to_string()), s(serde_json::to_string(record)?)],
        )?;
        if record.kind == crate::core::gate::consent::ConsentKind::OptOut {
            self.exec(
                "INSERT OR IGNORE INTO suppressed (phone_hash, at) VALUES (?, ?)",
                vec![s(phone_hash.to_string()), i(record.at.0)],
            )?;
        } else {
            self.exec(
                "DELETE FROM suppressed WHERE phone_hash = ?",
                vec![s(phone_hash.to_string())],
            )?;
        }
        Ok(())
    }

    fn add_consent(&self, c: ConsentAdd) -> Result<()> {
        self.append_consent(&self.hash(&c.phone), &c.record)
    }

    fn consents(&self, q: PhoneQuery) -> Result<Vec<ConsentRecord>> {
        self.consent_records(&self.hash(&q.phone))
    }

    fn journeys(&self, q: JourneysQuery) -> Result<Vec<serde_json::Value>> {
        let filter = match q.status.as_str() {
            "active" => "WHERE status = 'active'",
            "ended" => "WHERE status = 'ended'",
            _ => "",
        };
        let rows: Vec<Text> = self.rows(
            &format!(
                "SELECT summary AS v FROM journeys {filter} {} ORDER BY started_at DESC LIMIT 200",
                if filter.is_empty() {
                    "WHERE summary IS NOT NULL"
                } else {
                    "AND summary IS NOT NULL"
                }
            ),
            vec![],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| seal::open(&self.key, &r.v).ok())
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }

    fn seal(&self, plaintext: &str) -> Result<String> {
        crypto::seal(&self.key, plaintext)
    }
}

/// What the ledger records for a keyword: what it meant, not the shopper's message itself,
/// which may carry anything (a name, an address).
const KEYWORD_OPT_OUT: &str = "Replied on WhatsApp with a stop keyword (STOP, PARAR, BAJA, ...)";
const KEYWORD_OPT_IN: &str = "Replied on WhatsApp with a start keyword (START, ...)";

/// Storefront opt-ins per client and per phone, each per hour: the body is not signed.
const OPTIN_LIMITS: [(&str, RateLimit); 2] = [
    (
        "client",
        RateLimit {
            limit: 10,
            window_ms: 3_600_000,
        },
    ),
    (
        "phone",
        RateLimit {
            limit: 5,
            window_ms: 3_600_000,
        },
    ),
];

#[derive(Deserialize)]
struct InboxRow {
    phone: String,
    name: Option<String>,
    last_message: String,
    since: i64,
}

impl Ops {
    fn optin_allowed(&self, c: OptInCall) -> Result<OptInVerdict> {
        let keys = [
            seal::lookup_hash(&self.key, &format!("client:{}", c.client)),
            self.hash(&c.phone),
        ];
        let mut allowed = true;
        for ((name, limit), key) in OPTIN_LIMITS.iter().zip(keys) {
            let setting = format!("rate:{name}");
            let mut counts: RateCounts = self
                .rows::<Text>(
                    "SELECT value AS v FROM settings WHERE key = ?",
                    vec![s(setting.clone())],
                )?
                .first()
                .and_then(|r| serde_json::from_str(&r.v).ok())
                .unwrap_or_default();
            allowed &= limit.check(&mut counts, &key, c.now);
            self.exec(
                "INSERT INTO settings (key, value) VALUES (?, ?)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                vec![s(setting), s(serde_json::to_string(&counts)?)],
            )?;
        }
        Ok(OptInVerdict { allowed })
    }

    fn active_journeys(&self, phone_hash: &str) -> Result<Vec<String>> {
        Ok(self
            .rows::<Text>(
                "SELECT checkout_token AS v FROM journeys WHERE phone_hash = ? AND status = 'active'",
                vec![s(phone_hash.to_string())],
            )?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// Decides what a shopper's message or preference means (DESIGN.md §6). Each inbound
    /// message is handled once, however often Meta delivers it.
    /// Decides an inbound event once. A redelivery gets the same signals for the carts (a
    /// delivery that failed half-way must still reach them) but no second reply.
    /// Free-form replies leave only inside the shopper's 24-hour service window.
    fn inbound(&self, call: InboundCall, now: Millis) -> Result<InboundPlan> {
        let id = match &call.event {
            InboundEvent::Message { wamid, .. } => self.wamid_hash(wamid),
            InboundEvent::UserPreference {
                phone, value, at, ..
            } => seal::lookup_hash(
                &self.key,
                &format!("pref:{}:{value:?}:{}", phone.as_str(), at.0),
            ),
            _ => return Ok(InboundPlan::default()),
        };
        #[derive(Deserialize)]
        struct Seen {
            signal: Option<String>,
            journeys: String,
        }
        let seen: Option<Seen> = self
            .rows(
                "SELECT signal, journeys FROM inbound WHERE id_hash = ?",
                vec![s(id.clone())],
            )?
            .into_iter()
            .next();
        if let Some(seen) = seen {
            return Ok(InboundPlan {
                signal: seen.signal.and_then(|v| serde_json::from_str(&v).ok()),
                journeys: serde_json::from_str(&seen.journeys).unwrap_or_default(),
                reply: None,
            });
        }
        let mut plan = self.converse(call)?;
        self.exec(
            "DELETE FROM inbound WHERE at < ?",
            vec![i(now.0 - EVENT_MEMORY_MS)],
        )?;
        self.exec(
            "INSERT INTO inbound (id_hash, at, signal, journeys) VALUES (?, ?, ?, ?)",
            vec![
                s(id),
                i(now.0),
                plan.signal
                    .map(|v| serde_json::to_string(&v))
                    .transpose()?
                    .into(),
                s(serde_json::to_string(&plan.journeys)?),
            ],
        )?;
        if let Some(reply) = &plan.reply {
            let last: Option<Millis> = self
                .rows::<Int>(
                    "SELECT last_inbound AS v FROM conversations WHERE phone_hash = ?",
                    vec![s(self.hash(&reply.to))],
                )?
                .first()
                .map(|r| Millis(r.v));
            if !conversation::window_open(last, now) {
                plan.reply = None;
            }
        }
        Ok(plan)
    }

    fn converse(&self, call: InboundCall) -> Result<InboundPlan> {
        let (phone, at, name, context, content) = match call.event {
            InboundEvent::Message {
                from,
                at,
                profile_name,
                context_wamid,
                content,
                ..
            } => (from, at, profile_name, context_wamid, content),
            InboundEvent::UserPreference {
                phone, value, at, ..
            } => return self.preference(phone, value, at),
            _ => return Ok(InboundPlan::default()),
        };
        let phone_hash = self.hash(&phone);
        let journeys = self.active_journeys(&phone_hash)?;
        self.mark_replied(&phone_hash, at)?;
        self.touch_conversation(&phone_hash, at)?;
        let text = content.text().to_string();
        let language = conversation::guess_language(&text, self.locale_of(&phone_hash)?.as_deref());
        let reply = |kind: ReplyKind| Reply {
            to: phone.clone(),
            text: conversation::reply_text(kind, language).to_string(),
            buttons: vec![],
        };
        let faq = self.faq()?;
        let plan = |signal, journeys, reply| InboundPlan {
            signal,
            journeys,
            reply,
        };
        Ok(match conversation::interpret(&content, &faq, language) {
            Intent::OptOut => {
                let already =
                    crate::core::gate::consent::status(&self.consent_records(&phone_hash)?)
                        == ConsentStatus::OptedOut;
                self.withdraw(&phone_hash, KEYWORD_OPT_OUT, at)?;
                // One confirmation, never a second for a repeated STOP.
                let confirmation = (!already).then(|| reply(ReplyKind::OptOutConfirmation));
                plan(Some(ShopperSignal::OptedOut), journeys, confirmation)
            }
            Intent::OptIn => {
                self.append_consent(
                    &phone_hash,
                    &ConsentRecord {
                        kind: ConsentKind::OptIn,
                        source: ConsentSource::WhatsappKeyword,
                        wording: KEYWORD_OPT_IN.into(),
                        at,
                        cart_token: None,
                    },
                )?;
                plan(None, vec![], Some(reply(ReplyKind::OptInConfirmation)))
            }
            Intent::NotInterested => {
                let owner = self.owner_of(context.as_deref())?;
                plan(
                    Some(ShopperSignal::NotInterested),
                    owner.map_or(journeys, |o| vec![o]),
                    Some(reply(ReplyKind::NotInterestedAck)),
                )
            }
            Intent::CompleteOrder => {
                let token = self.recovery_token_for(context.as_deref(), &phone_hash)?;
                let link = token.map(|t| Reply {
                    to: phone.clone(),
                    text: format!(
                        "{} {}/r/{t}",
                        conversation::reply_text(ReplyKind::RecoveryLink, language),
                        call.app_url.trim_end_matches('/')
                    ),
                    buttons: vec![],
                });
                plan(None, vec![], link)
            }
            // The bot is quiet while a person is expected to answer.
            _ if self.waiting_for_human(&phone_hash)? => {
                self.to_inbox(&phone_hash, &phone, name.as_deref(), &text, at)?;
                plan(Some(ShopperSignal::Replied), journeys, None)
            }
            Intent::Faq { index, .. } => {
                // While a cart of theirs is still unbought, the answer offers to finish it.
                let buttons = if !self.has_unbought_cart(&phone_hash)? {
                    vec![]
                } else {
                    conversation::cart_buttons(language)
                        .iter()
                        .map(|(id, title)| (id.to_string(), title.to_string()))
                        .collect()
                };
                let answer = faq.entries.get(index).map(|e| Reply {
                    to: phone.clone(),
                    text: e.answer.clone(),
                    buttons,
                });
                plan(Some(ShopperSignal::Replied), journeys, answer)
            }
            Intent::Human | Intent::Unknown => {
                self.to_inbox(&phone_hash, &phone, name.as_deref(), &text, at)?;
                plan(
                    Some(ShopperSignal::Replied),
                    journeys,
                    Some(reply(ReplyKind::HumanAck)),
                )
            }
        })
    }

    fn preference(&self, phone: Phone, value: Preference, at: Millis) -> Result<InboundPlan> {
        let phone_hash = self.hash(&phone);
        // Treated as the shopper reaching out, so the one confirmation may go (unconfirmed by
        // Meta; if it is refused with 131047, only the confirmation is lost).
        self.touch_conversation(&phone_hash, at)?;
        match value {
            Preference::Stop => {
                let already =
                    crate::core::gate::consent::status(&self.consent_records(&phone_hash)?)
                        == ConsentStatus::OptedOut;
                self.withdraw(&phone_hash, "Stopped marketing messages in WhatsApp", at)?;
                let language =
                    conversation::guess_language("", self.locale_of(&phone_hash)?.as_deref());
                Ok(InboundPlan {
                    signal: Some(ShopperSignal::OptedOut),
                    journeys: self.active_journeys(&phone_hash)?,
                    reply: (!already).then(|| Reply {
                        to: phone,
                        text: conversation::reply_text(ReplyKind::OptOutConfirmation, language)
                            .to_string(),
                        buttons: vec![],
                    }),
                })
            }
            Preference::Resume => {
                self.append_consent(
                    &phone_hash,
                    &ConsentRecord {
                        kind: ConsentKind::OptIn,
                        source: ConsentSource::WhatsappKeyword,
                        wording: "Resumed marketing messages in WhatsApp".into(),
                        at,
                        cart_token: None,
                    },
                )?;
                Ok(InboundPlan::default())
            }
            Preference::Other(_) => Ok(InboundPlan::default()),
        }
    }

    /// A journey still running, or one that ran its course without an order.
    fn has_unbought_cart(&self, phone_hash: &str) -> Result<bool> {
        Ok(self
            .rows::<Count>(
                "SELECT count(*) AS n FROM journeys WHERE phone_hash = ?
                   AND (status = 'active' OR end_reason = 'finished')",
                vec![s(phone_hash.to_string())],
            )?
            .first()
            .is_some_and(|c| c.n > 0))
    }

    /// The locale of the shopper's latest checkout: the language replies default to.
    fn locale_of(&self, phone_hash: &str) -> Result<Option<String>> {
        Ok(self
            .rows::<Text>(
                "SELECT locale AS v FROM journeys WHERE phone_hash = ? AND locale IS NOT NULL
                 ORDER BY started_at DESC LIMIT 1",
                vec![s(phone_hash.to_string())],
            )?
            .into_iter()
            .next()
            .map(|r| r.v))
    }

    fn withdraw(&self, phone_hash: &str, wording: &str, at: Millis) -> Result<()> {
        self.append_consent(
            phone_hash,
            &ConsentRecord {
                kind: ConsentKind::OptOut,
                source: ConsentSource::WhatsappKeyword,
                wording: wording.into(),
                at,
                cart_token: None,
            },
        )
    }

    /// The cart a message of ours belongs to, for a reply that quotes it.
    fn owner_of(&self, wamid: Option<&str>) -> Result<Option<String>> {
        let Some(wamid) = wamid else { return Ok(None) };
        Ok(self
            .rows::<Text>(
                "SELECT checkout_token AS v FROM messages WHERE wamid_hash = ?",
                vec![s(self.wamid_hash(wamid))],
            )?
            .into_iter()
            .next()
            .map(|r| r.v))
    }

    fn recovery_token_for(
        &self,
        context: Option<&str>,
        phone_hash: &str,
    ) -> Result<Option<String>> {
        let rows: Vec<Text> = match self.owner_of(context)? {
            Some(owner) => self.rows(
                "SELECT recovery_token AS v FROM journeys WHERE checkout_token = ? AND recovery_token IS NOT NULL",
                vec![s(owner)],
            )?,
            None => self.rows(
                "SELECT recovery_token AS v FROM journeys WHERE phone_hash = ? AND recovery_token IS NOT NULL
                 ORDER BY started_at DESC LIMIT 1",
                vec![s(phone_hash.to_string())],
            )?,
        };
        Ok(rows.into_iter().next().map(|r| r.v))
    }

    fn waiting_for_human(&self, phone_hash: &str) -> Result<bool> {
        Ok(self
            .rows::<Count>(
                "SELECT count(*) AS n FROM inbox WHERE phone_hash = ? AND resolved_at IS NULL",
                vec![s(phone_hash.to_string())],
            )?
            .first()
            .is_some_and(|c| c.n > 0))
    }

    fn to_inbox(
        &self,
        phone_hash: &str,
        phone: &Phone,
        name: Option<&str>,
        text: &str,
        at: Millis,
    ) -> Result<()> {
        let sealed_name = name.map(|n| self.seal(n)).transpose()?;
        self.exec(
            "INSERT INTO inbox (phone_hash, phone, name, last_message, since) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(phone_hash) DO UPDATE SET last_message = excluded.last_message,
               name = coalesce(excluded.name, inbox.name),
               since = CASE WHEN inbox.resolved_at IS NULL THEN inbox.since ELSE excluded.since END,
               resolved_at = NULL",
            vec![
                s(phone_hash.to_string()),
                s(self.seal(phone.as_str())?),
                sealed_name.into(),
                s(self.seal(text)?),
                i(at.0),
            ],
        )
    }

    fn inbox(&self) -> Result<serde_json::Value> {
        let rows: Vec<InboxRow> = self.rows(
            "SELECT phone, name, last_message, since FROM inbox WHERE resolved_at IS NULL
             ORDER BY since LIMIT 200",
            vec![],
        )?;
        let open = |v: &str| seal::open(&self.key, v).unwrap_or_default();
        let conversations: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "phone": open(&r.phone),
                    "name": r.name.as_deref().map(open),
                    "last_message": open(&r.last_message),
                    "since": Millis(r.since).to_rfc3339(),
                })
            })
            .collect();
        Ok(serde_json::json!({ "conversations": conversations }))
    }

    fn resolve(&self, q: PhoneQuery) -> Result<serde_json::Value> {
        let changed = self
            .sql
            .exec(
                "UPDATE inbox SET resolved_at = unixepoch() * 1000 WHERE phone_hash = ? AND resolved_at IS NULL",
                vec![s(self.hash(&q.phone))],
            )?
            .rows_written();
        Ok(serde_json::json!({ "resolved": changed > 0 }))
    }

    fn faq(&self) -> Result<Faq> {
        let rows: Vec<Text> =
            self.rows("SELECT value AS v FROM settings WHERE key = 'faq'", vec![])?;
        Ok(rows
            .first()
            .and_then(|r| serde_json::from_str(&r.v).ok())
            .unwrap_or_default())
    }

    fn put_faq(&self, faq: Faq) -> Result<Faq> {
        self.exec(
            "INSERT INTO settings (key, value) VALUES ('faq', ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![s(serde_json::to_string(&faq)?)],
        )?;
        Ok(faq)
    }
}

/// Shopify retries a delivery for hours; event ids are remembered for a week.
const EVENT_MEMORY_MS: i64 = 7 * 86_400_000;

impl Ops {
    fn event_seen(&self, e: EventId) -> Result<bool> {
        Ok(self
            .rows::<Count>(
                "SELECT count(*) AS n FROM events WHERE id = ?",
                vec![s(e.id)],
            )?
            .first()
            .is_some_and(|c| c.n > 0))
    }

    /// Recorded once the event was handled: a delivery that failed half-way is retried whole.
    fn remember_event(&self, e: EventId, now: Millis) -> Result<()> {
        self.exec(
            "DELETE FROM events WHERE at < ?",
            vec![i(now.0 - EVENT_MEMORY_MS)],
        )?;
        self.exec(
            "INSERT OR IGNORE INTO events (id, at) VALUES (?, ?)",
            vec![s(e.id), i(now.0)],
        )
    }

    fn customer_hash(&self, customer_id: &str) -> String {
        seal::lookup_hash(&self.key, &format!("customer:{customer_id}"))
    }

    fn tokens(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<Checkouts> {
        Ok(Checkouts {
            checkout_tokens: self
                .rows::<Text>(query, args)?
                .into_iter()
                .map(|r| r.v)
                .collect(),
        })
    }

    /// Every running journey of a cart: each checkout the shopper started from it.
    fn active_of_cart(&self, l: Lookup) -> Result<Checkouts> {
        self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE cart_token = ? AND status = 'active'",
            vec![l.cart_token.into()],
        )
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .rows::<Text>(
                "SELECT value AS v FROM settings WHERE key = ?",
                vec![s(key.to_string())],
            )?
            .into_iter()
            .next()
            .map(|r| r.v))
    }

    fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO settings (key, value) VALUES (?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![s(key.to_string()), s(value.to_string())],
        )
    }

    fn enqueue(&self, shop: &str, carts: &Checkouts, command: &str, erase: bool) -> Result<()> {
        self.put_setting("shop", shop)?;
        if erase {
            self.put_setting("erase_when_drained", "1")?;
        }
        for token in &carts.checkout_tokens {
            self.exec(
                "INSERT OR IGNORE INTO outbox (checkout_token, command) VALUES (?, ?)",
                vec![s(token.clone()), s(command.to_string())],
            )?;
        }
        Ok(())
    }

    fn outbox_batch(&self, limit: usize) -> Result<Vec<OutboxItem>> {
        self.rows(
            "SELECT checkout_token, command FROM outbox LIMIT ?",
            vec![i(limit as i64)],
        )
    }

    fn outbox_done(&self, item: &OutboxItem) -> Result<()> {
        self.exec(
            "DELETE FROM outbox WHERE checkout_token = ? AND command = ?",
            vec![s(item.checkout_token.clone()), s(item.command.clone())],
        )
    }

    /// `shop/redact`: every table but the outbox, which still has carts to tell.
    fn clear_all_but_outbox(&self) -> Result<()> {
        for table in [
            "journeys",
            "consents",
            "suppressed",
            "limited",
            "sends",
            "pacing",
            "messages",
            "inbound",
            "conversations",
            "inbox",
            "events",
            "skips",
        ] {
            self.exec(&format!("DELETE FROM {table}"), vec![])?;
        }
        self.exec(
            "DELETE FROM settings WHERE key NOT IN ('shop', 'erase_when_drained')",
            vec![],
        )
    }

    fn active(&self) -> Result<Checkouts> {
        self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE status = 'active'",
            vec![],
        )
    }

    fn all(&self) -> Result<Checkouts> {
        self.tokens("SELECT checkout_token AS v FROM journeys", vec![])
    }

    /// The customer's journeys, by customer id or by phone.
    fn customer_journeys(&self, c: &Customer) -> Result<(Checkouts, Option<String>)> {
        let phone_hash = c.phone.as_ref().map(|p| self.hash(p));
        let customer_hash = c.customer_id.as_deref().map(|id| self.customer_hash(id));
        let found = self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE phone_hash = ? OR customer_hash = ?",
            vec![phone_hash.clone().into(), customer_hash.into()],
        )?;
        Ok((found, phone_hash))
    }

    /// `customers/redact`: every row about the customer goes; only the keyed hash of a phone
    /// stays, on the suppression list, so the number is never messaged again.
    fn redact(&self, c: Customer) -> Result<Checkouts> {
        let (found, phone_hash) = self.customer_journeys(&c)?;
        let mut phone_hashes: Vec<String> = phone_hash.into_iter().collect();
        for token in &found.checkout_tokens {
            let rows: Vec<Text> = self.rows(
                "SELECT phone_hash AS v FROM journeys WHERE checkout_token = ?",
                vec![s(token.clone())],
            )?;
            phone_hashes.extend(rows.into_iter().map(|r| r.v));
            for table in ["journeys", "messages", "skips", "sends"] {
                self.exec(
                    &format!("DELETE FROM {table} WHERE checkout_token = ?"),
                    vec![s(token.clone())],
                )?;
            }
        }
        phone_hashes.sort();
        phone_hashes.dedup();
        let now = i(now().0);
        for hash in phone_hashes {
            for table in ["consents", "inbox", "limited"] {
                self.exec(
                    &format!("DELETE FROM {table} WHERE phone_hash = ?"),
                    vec![s(hash.clone())],
                )?;
            }
            self.exec(
                "INSERT OR IGNORE INTO suppressed (phone_hash, at) VALUES (?, ?)",
                vec![s(hash), now.clone()],
            )?;
        }
        Ok(found)
    }

    /// `customers/data_request`: what the ledger holds about the customer.
    fn data_request(&self, c: Customer) -> Result<serde_json::Value> {
        let (found, phone_hash) = self.customer_journeys(&c)?;
        let consents = match &phone_hash {
            Some(h) => self.consent_records(h)?,
            None => vec![],
        };
        let mut journeys = vec![];
        for token in &found.checkout_tokens {
            let rows: Vec<Text> = self.rows(
                "SELECT summary AS v FROM journeys WHERE checkout_token = ? AND summary IS NOT NULL",
                vec![s(token.clone())],
            )?;
            journeys.extend(
                rows.iter()
                    .filter_map(|r| seal::open(&self.key, &r.v).ok())
                    .filter_map(|j| serde_json::from_str::<serde_json::Value>(&j).ok()),
            );
        }
        Ok(serde_json::json!({
            "phone": c.phone.as_ref().map(|p| p.as_str().to_string()),
            "consents": consents,
            "journeys": journeys,
        }))
    }
}

/// The funnel's columns, in order (DESIGN.md §8); each counts journeys that reached the stage.
const FUNNEL: &str = "count(*) AS abandoned, count(eligible_at) AS eligible,
  count(messaged_at) AS messaged, count(delivered_at) AS delivered, count(read_at) AS read,
  count(replied_at) AS replied, count(clicked_at) AS clicked, count(recovered_at) AS recovered";

#[derive(Deserialize, Serialize)]
struct Funnel {
    abandoned: i64,
    eligible: i64,
    messaged: i64,
    delivered: i64,
    read: i64,
    replied: i64,
    clicked: i64,
    recovered: i64,
}

#[derive(Deserialize, Serialize)]
struct Grouped {
    key: String,
    #[serde(flatten)]
    funnel: Funnel,
}

#[derive(Deserialize)]
struct Revenue {
    currency: String,
    total: i64,
    orders: i64,
}

#[derive(Deserialize, Serialize)]
struct Tally {
    key: String,
    n: i64,
}

#[derive(Deserialize)]
struct GroupRow {
    holdout: i64,
    journeys: i64,
    recovered: i64,
}

impl Ops {
    /// The shopper's last message, from which the 24-hour service window runs.
    fn touch_conversation(&self, phone_hash: &str, at: Millis) -> Result<()> {
        // Windows long closed say nothing any more.
        self.exec(
            "DELETE FROM conversations WHERE last_inbound < ?",
            vec![i(at.0 - 2 * conversation::SERVICE_WINDOW_MS)],
        )?;
        self.exec(
            "INSERT INTO conversations (phone_hash, last_inbound) VALUES (?, ?)
             ON CONFLICT(phone_hash) DO UPDATE SET last_inbound = max(last_inbound, excluded.last_inbound)",
            vec![s(phone_hash.to_string()), i(at.0)],
        )
    }

    /// Every later inbound message counts the shopper's open journeys as replied.
    fn mark_replied(&self, phone_hash: &str, at: Millis) -> Result<()> {
        self.exec(
            "UPDATE journeys SET replied_at = coalesce(replied_at, ?)
             WHERE phone_hash = ? AND messaged_at IS NOT NULL",
            vec![i(at.0), s(phone_hash.to_string())],
        )
    }

    fn metrics(&self, q: MetricsQuery) -> Result<serde_json::Value> {
        let range = || vec![i(q.from.0), i(q.to.0)];
        let within = "started_at >= ? AND started_at < ?";
        // The funnel is the messaged group's; held-out journeys are reported beside it.
        let funnel: Funnel = self
            .rows(
                &format!("SELECT {FUNNEL} FROM journeys WHERE holdout = 0 AND {within}"),
                range(),
            )?
            .into_iter()
            .next()
            .ok_or_else(|| worker::Error::RustError("empty funnel".into()))?;
        // Revenue in the shop's main currency: the one most recovered orders were paid in.
        let revenue: Option<Revenue> = self
            .rows(
                &format!(
                    "SELECT currency, sum(revenue_minor) AS total, count(*) AS orders FROM journeys
                     WHERE holdout = 0 AND recovered_at IS NOT NULL AND currency IS NOT NULL AND {within}
                     GROUP BY currency ORDER BY orders DESC LIMIT 1"
                ),
                range(),
            )?
            .into_iter()
            .next();
        let money = revenue.as_ref().and_then(|r| {
            let currency = crate::core::values::money::Currency::parse(&r.currency).ok()?;
            let total = crate::core::values::money::Money::from_minor(r.total, currency);
            let average =
                crate::core::values::money::Money::from_minor(r.total / r.orders.max(1), currency);
            Some((
                total.to_decimal_string(),
                average.to_decimal_string(),
                r.currency.clone(),
            ))
        });
        let groups: Vec<GroupRow> = self.rows(
            &format!(
                "SELECT holdout, count(*) AS journeys, count(recovered_at) AS recovered FROM journeys
                 WHERE eligible_at IS NOT NULL AND {within} GROUP BY holdout"
            ),
            range(),
        )?;
        let group = |holdout: i64| {
            let g = groups.iter().find(|g| g.holdout == holdout);
            crate::core::gate::holdout::Group {
                journeys: g.map_or(0, |g| g.journeys as u64),
                recovered: g.map_or(0, |g| g.recovered as u64),
            }
        };
        let (messaged, held_out) = (group(0), group(1));
        let skipped: Vec<Tally> = self.rows(
            "SELECT reason AS key, count(*) AS n FROM skips
             WHERE at >= ? AND at < ? GROUP BY reason ORDER BY n DESC",
            range(),
        )?;
        let failures: Vec<Tally> = self.rows(
            "SELECT CAST(error_code AS TEXT) AS key, count(*) AS n FROM messages
             WHERE error_code IS NOT NULL AND sent_at >= ? AND sent_at < ? GROUP BY error_code",
            range(),
        )?;
        let opt_outs: Vec<Count> = self.rows(
            "SELECT count(*) AS n FROM consents
             WHERE json_extract(record, '$.kind') = 'opt_out'
               AND json_extract(record, '$.at') >= ? AND json_extract(record, '$.at') < ?",
            range(),
        )?;
        let opt_outs = opt_outs.first().map_or(0, |c| c.n);
        let breakdown = match q.by.as_deref() {
            Some("day") => Some(self.grouped(
                &format!("date(started_at / 1000, 'unixepoch') AS key, {FUNNEL}"),
                within,
                range(),
            )?),
            Some("segment") => {
                Some(self.grouped(&format!("segment AS key, {FUNNEL}"), within, range())?)
            }
            Some("step") => Some(self.by_step(range())?),
            _ => None,
        };
        Ok(serde_json::json!({
            "funnel": funnel,
            "recovered_revenue": money.as_ref().map_or("0".to_string(), |m| m.0.clone()),
            "average_order_value": money.as_ref().map(|m| m.1.clone()),
            "currency": money.map(|m| m.2),
            "opt_outs": opt_outs,
            "opt_out_rate": rate(opt_outs, funnel.messaged),
            "skipped": skipped,
            "failures": failures,
            "holdout": {
                "messaged": messaged,
                "held_out": held_out,
                "lift": crate::core::gate::holdout::lift(messaged, held_out),
            },
            "breakdown": breakdown,
        }))
    }

    fn grouped(
        &self,
        select: &str,
        within: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<serde_json::Value> {
        let rows: Vec<Grouped> = self.rows(
            &format!("SELECT {select} FROM journeys WHERE holdout = 0 AND {within} GROUP BY key ORDER BY key"),
            args,
        )?;
        Ok(serde_json::to_value(rows)?)
    }

    /// Per step: messages sent, delivered-or-read journeys, failures and skips.
    fn by_step(&self, args: Vec<SqlStorageValue>) -> Result<serde_json::Value> {
        let sent: Vec<Tally> = self.rows(
            "SELECT step_id AS key, count(*) AS n FROM messages WHERE sent_at >= ? AND sent_at < ? GROUP BY step_id",
            args.clone(),
        )?;
        let failed: Vec<Tally> = self.rows(
            "SELECT step_id AS key, count(*) AS n FROM messages
             WHERE status = 'failed' AND sent_at >= ? AND sent_at < ? GROUP BY step_id",
            args.clone(),
        )?;
        let skipped: Vec<Tally> = self.rows(
            "SELECT step_id AS key, count(*) AS n FROM skips WHERE at >= ? AND at < ? GROUP BY step_id",
            args,
        )?;
        let mut steps: Vec<String> = sent
            .iter()
            .chain(&failed)
            .chain(&skipped)
            .map(|t| t.key.clone())
            .collect();
        steps.sort();
        steps.dedup();
        let count =
            |list: &[Tally], step: &str| list.iter().find(|t| t.key == step).map_or(0, |t| t.n);
        Ok(steps
            .iter()
            .map(|step| {
                serde_json::json!({
                    "key": step,
                    "messaged": count(&sent, step),
                    "failed": count(&failed, step),
                    "skipped": count(&skipped, step),
                })
            })
            .collect())
    }
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
