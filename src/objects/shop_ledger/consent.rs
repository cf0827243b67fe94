//! The consent ledger (append-only), the suppression list it keeps in step, and the
//! storefront opt-in's rate limits.

use worker::Result;

use super::db::{i, s, token, Db, Text};
use crate::core::crypto::seal;
use crate::core::gate::consent::{self, ConsentRecord, ConsentStatus, RateCounts, RateLimit};
use crate::core::values::ids::CheckoutToken;
use crate::core::values::ids::ShopDomain;
use crate::core::values::time::Millis;
use crate::core::values::time::HOUR_MS;
use crate::objects::protocol::{AdoptConsents, ForgetKept, HashedConsent, OptInCall};

const HANDED_TO_KEY: &str = "handed_to";
/// Longer than KV takes to show a new route everywhere (up to a minute).
const HANDOVER_GRACE_MS: i64 = 5 * 60 * 1000;

/// Storefront opt-ins per client and per phone, each per hour: the body is not signed.
const OPTIN_LIMITS: [(&str, RateLimit); 2] = [
    (
        "client",
        RateLimit {
            limit: 10,
            window_ms: HOUR_MS,
        },
    ),
    (
        "phone",
        RateLimit {
            limit: 5,
            window_ms: HOUR_MS,
        },
    ),
];

impl Db {
    pub fn consent_records(&self, phone_hash: &str) -> Result<Vec<ConsentRecord>> {
        let rows: Vec<Text> = self.rows(
            "SELECT record AS v FROM consents WHERE phone_hash = ? ORDER BY id",
            vec![s(phone_hash)],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.v).ok())
            .collect())
    }

    /// The ledger is append-only: records are added, never changed. The suppression list is
    /// what the records add up to (the core's [`consent::status`]), kept for the gate.
    pub fn append_consent(&self, phone_hash: &str, record: &ConsentRecord) -> Result<()> {
        self.exec(
            "INSERT INTO consents (phone_hash, record) VALUES (?, ?)",
            vec![s(phone_hash), s(serde_json::to_string(record)?)],
        )?;
        if consent::status(&self.consent_records(phone_hash)?) == ConsentStatus::OptedOut {
            self.exec(
                "INSERT OR IGNORE INTO suppressed (phone_hash, at) VALUES (?, ?)",
                vec![s(phone_hash), i(record.at.0)],
            )
        } else {
            self.exec(
                "DELETE FROM suppressed WHERE phone_hash = ?",
                vec![s(phone_hash)],
            )
        }
    }

    /// An opt-out Meta's refusal of this journey's message implies (131050).
    pub fn refused(&self, checkout: &CheckoutToken, code: Option<i64>, at: Millis) -> Result<()> {
        let Some(record) = ConsentRecord::implied_by_refusal(code, at) else {
            return Ok(());
        };
        let phone = self.first::<Text>(
            "SELECT phone_hash AS v FROM journeys WHERE checkout_token = ? AND phone_hash != ''",
            vec![token(checkout)],
        )?;
        match phone {
            Some(phone) => self.append_consent(&phone.v, &record),
            None => Ok(()),
        }
    }

    /// Every record, with its phone's hash.
    pub fn kept_consents(&self) -> Result<Vec<HashedConsent>> {
        #[derive(serde::Deserialize)]
        struct Row {
            id: i64,
            phone_hash: String,
            record: String,
        }
        let rows: Vec<Row> = self.rows(
            "SELECT id, phone_hash, record FROM consents ORDER BY id",
            vec![],
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(HashedConsent {
                    id: r.id,
                    phone_hash: r.phone_hash,
                    record: serde_json::from_str(&r.record).ok()?,
                })
            })
            .collect())
    }

    /// Hands the number over: from now on what reaches this ledger is passed on to the shop
    /// (for a few minutes), and everything kept is forgotten. Answers the records that arrived
    /// after the shop read them (`up_to`), for it to adopt too: none is lost in between.
    pub fn forget_kept(&self, f: ForgetKept, now: Millis) -> Result<Vec<HashedConsent>> {
        self.put_json_setting(HANDED_TO_KEY, &(f.shop, now))?;
        let late: Vec<HashedConsent> = self
            .kept_consents()?
            .into_iter()
            .filter(|k| f.up_to.is_none_or(|up_to| k.id > up_to))
            .collect();
        // Only consents (and the suppression that follows them) are kept for a number.
        self.exec("DELETE FROM consents", vec![])?;
        self.exec("DELETE FROM suppressed", vec![])?;
        Ok(late)
    }

    /// The shop this number was handed to in the last few minutes: what still reaches the
    /// number's own ledger belongs to it.
    pub fn recently_handed_to(&self, now: Millis) -> Result<Option<ShopDomain>> {
        let handed: Option<(ShopDomain, Millis)> = self
            .setting(HANDED_TO_KEY)?
            .and_then(|v| serde_json::from_str(&v).ok());
        Ok(handed
            .filter(|(_, at)| now.0 - at.0 < HANDOVER_GRACE_MS)
            .map(|(shop, _)| shop))
    }

    pub fn adopt_consents(&self, a: AdoptConsents) -> Result<()> {
        for c in &a.records {
            self.append_consent(&c.phone_hash, &c.record)?;
        }
        Ok(())
    }

    pub fn optin_allowed(&self, c: OptInCall) -> Result<bool> {
        let keys = [
            seal::lookup_hash(self.key(), &format!("client:{}", c.client)),
            self.hash(&c.phone),
        ];
        let mut allowed = true;
        for ((name, limit), key) in OPTIN_LIMITS.iter().zip(keys) {
            let setting = format!("rate:{name}");
            let mut counts: RateCounts = self.json_setting(&setting)?;
            allowed &= limit.check(&mut counts, &key, c.now);
            self.put_json_setting(&setting, &counts)?;
        }
        Ok(allowed)
    }
}
