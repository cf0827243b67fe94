//! Consent kept in step with Shopify, the ledger's part: a record that changes what a phone's
//! consent adds up to queues the change (`consent_sync`, the phone sealed), and the ledger's
//! alarm writes it to the Shopify customer with that phone. A send decision never waits on
//! Shopify; throttles and outages are retried with backoff; only the latest change of a phone
//! is kept, so Shopify ends where the ledger is. The other way round, the WhatsApp consent on
//! the Shopify customer, which the reconciliation sweep reads, is recorded here with its source
//! when it says something new (`consent::takes_shopify_consent`): a subscription for a phone
//! with no records, an unsubscribe later than all this ledger told Shopify.

use worker::Result;

use super::db::{i, s, Db};
use super::ShopLedger;
use crate::core::gate::consent::{
    self, shopify_sync, takes_shopify_consent, ConsentKind, ConsentRecord, ShopifyConsent,
};
use crate::core::shopify::customer_consent::{
    backoff_ms, lookup_body, read_lookup, read_update, update_body, Answer, MAX_ATTEMPTS,
};
use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::sweep::CustomerConsent;
use crate::core::values::ids::ShopDomain;
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::objects::protocol::AdminToken;
use crate::platform::clock::now;
use crate::platform::shopify::{self, App, Raw};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS consent_sync (
  phone_hash TEXT PRIMARY KEY, sealed_phone TEXT NOT NULL, consent TEXT NOT NULL,
  at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL);";
/// Phones written to Shopify per alarm run: two Admin API calls each (three when the token is
/// renewed), in a run whose outbox batch was not full, within the 50 subrequests it may make.
const BATCH: usize = 6;

#[derive(serde::Deserialize)]
struct Queued {
    phone_hash: String,
    sealed_phone: String,
    consent: String,
    at: i64,
    attempts: i64,
}

impl Db {
    /// Appends `record` for `phone` and queues for Shopify the change it makes, if any.
    pub fn record_consent(&self, phone: &Phone, record: &ConsentRecord) -> Result<()> {
        let phone_hash = self.hash(phone);
        let before = consent::status(&self.consent_records(&phone_hash)?);
        self.append_consent(&phone_hash, record)?;
        let after = consent::status(&self.consent_records(&phone_hash)?);
        if let Some(change) = shopify_sync(before, after, record) {
            self.exec(
                "INSERT INTO consent_sync (phone_hash, sealed_phone, consent, at, due)
                 VALUES (?, ?, ?, ?, 0)
                 ON CONFLICT(phone_hash) DO UPDATE SET sealed_phone = excluded.sealed_phone,
                   consent = excluded.consent, at = excluded.at, attempts = 0, due = 0",
                vec![
                    s(phone_hash),
                    s(self.seal(phone.as_str())?),
                    s(serde_json::to_string(&change)?),
                    i(record.at.0),
                ],
            )?;
            self.wake();
        }
        Ok(())
    }

    /// The WhatsApp consent a Shopify customer shows, recorded when it tells the ledger
    /// something new (`takes_shopify_consent`).
    pub fn note_shopify_consent(&self, consent: &CustomerConsent) -> Result<()> {
        let phone_hash = self.hash(&consent.phone);
        let records = self.consent_records(&phone_hash)?;
        if !takes_shopify_consent(&records, consent.kind, consent.at) {
            return Ok(());
        }
        let record = ConsentRecord::from_shopify_customer(consent.kind, consent.at);
        self.append_consent(&phone_hash, &record)?;
        if consent.kind == ConsentKind::OptOut {
            // A change still queued for Shopify is older (an unsubscribe is taken only when it
            // is later than all this ledger told): written now, it would undo the shopper's.
            self.exec(
                "DELETE FROM consent_sync WHERE phone_hash = ?",
                vec![s(phone_hash)],
            )?;
        }
        Ok(())
    }

    /// When the next queued change is due, if one is queued.
    pub fn next_consent_sync(&self) -> Result<Option<Millis>> {
        #[derive(serde::Deserialize)]
        struct Due {
            due: Option<i64>,
        }
        Ok(self
            .first::<Due>("SELECT min(due) AS due FROM consent_sync", vec![])?
            .and_then(|d| d.due)
            .map(Millis))
    }
}

impl ShopLedger {
    /// The alarm's part: writes the changes due to Shopify. Answers when to come back for the
    /// rest, if any is left.
    pub(super) async fn sync_consents(&self, db: &Db) -> Result<Option<Millis>> {
        let at = now();
        let due: Vec<Queued> = db.rows(
            &format!(
                "SELECT phone_hash, sealed_phone, consent, at, attempts FROM consent_sync
                 WHERE due <= ? ORDER BY due LIMIT {BATCH}"
            ),
            vec![i(at.0)],
        )?;
        let shop = db
            .setting(super::outbox::SHOP_KEY)?
            .and_then(|s| ShopDomain::parse(&s));
        if let (false, Some(shop)) = (due.is_empty(), shop) {
            let app = App::load(&self.env)?;
            for q in due {
                let outcome = self.write_consent(db, &app, &shop, &q).await?;
                let attempts = q.attempts + 1;
                match outcome {
                    Answer::Retry { wait_ms } if attempts < i64::from(MAX_ATTEMPTS) => {
                        let wait = backoff_ms(attempts as u32 - 1, Some(wait_ms));
                        db.exec(
                            "UPDATE consent_sync SET attempts = ?, due = ? WHERE phone_hash = ? AND at = ?",
                            vec![i(attempts), i(now().0 + wait), s(q.phone_hash), i(q.at)],
                        )?;
                        continue;
                    }
                    Answer::Retry { .. } => {
                        worker::console_error!("consent not written to Shopify: still throttled")
                    }
                    Answer::Failed(why) => {
                        worker::console_error!("consent not written to Shopify: {why}")
                    }
                    Answer::Done(()) => {}
                }
                // A newer change of the phone queued meanwhile stays.
                db.exec(
                    "DELETE FROM consent_sync WHERE phone_hash = ? AND at = ?",
                    vec![s(q.phone_hash), i(q.at)],
                )?;
            }
        }
        db.next_consent_sync()
    }

    /// One phone's change: its customer looked up, then their consent updated. A phone no
    /// customer has, or a shop that no longer grants access, ends it.
    async fn write_consent(
        &self,
        db: &Db,
        app: &App,
        shop: &ShopDomain,
        q: &Queued,
    ) -> Result<Answer<()>> {
        let Ok(change) = serde_json::from_str::<ShopifyConsent>(&q.consent) else {
            return Ok(Answer::Failed("an unreadable queued consent".into()));
        };
        let Some(phone) = Phone::parse(&db.open(&q.sealed_phone), None).ok() else {
            return Ok(Answer::Failed("a queued phone that does not open".into()));
        };
        let customer = match self.admin_call(db, app, shop, &lookup_body(&phone)).await? {
            Ok(raw) => match read_lookup(raw.status, &raw.body, raw.retry_after_ms) {
                Answer::Done(Some(id)) => id,
                Answer::Done(None) => return Ok(Answer::Done(())),
                Answer::Retry { wait_ms } => return Ok(Answer::Retry { wait_ms }),
                Answer::Failed(why) => return Ok(Answer::Failed(why)),
            },
            Err(answer) => return Ok(answer),
        };
        let body = update_body(&customer, change, Millis(q.at));
        Ok(match self.admin_call(db, app, shop, &body).await? {
            Ok(raw) => read_update(raw.status, &raw.body, raw.retry_after_ms),
            Err(answer) => answer,
        })
    }

    /// One Admin GraphQL call with the shop's token, renewed once if Shopify refuses it.
    async fn admin_call(
        &self,
        db: &Db,
        app: &App,
        shop: &ShopDomain,
        body: &serde_json::Value,
    ) -> Result<std::result::Result<Raw, Answer<()>>> {
        let mut rejected = None;
        loop {
            let ask = AdminToken {
                shop: shop.clone(),
                rejected: rejected.clone(),
            };
            let sealed = match self.admin_token(db, ask).await? {
                Ok(sealed) => sealed,
                Err(AdminError::Unavailable(e)) => {
                    worker::console_warn!("no Admin API token yet: {e}");
                    return Ok(Err(Answer::Retry { wait_ms: 0 }));
                }
                Err(e) => return Ok(Err(Answer::Failed(e.to_string()))),
            };
            match shopify::query(app, shop.as_str(), &sealed, body).await {
                Ok(shopify::Answer::Done(raw)) => return Ok(Ok(raw)),
                Ok(shopify::Answer::Unauthorized) if rejected.is_none() => rejected = Some(sealed),
                Ok(shopify::Answer::Unauthorized) => {
                    return Ok(Err(Answer::Failed(
                        "Shopify refused the renewed token".into(),
                    )))
                }
                Err(_) => return Ok(Err(Answer::Retry { wait_ms: 0 })),
            }
        }
    }
}
