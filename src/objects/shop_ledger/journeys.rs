//! The journey index: one row per journey, written when a cart registers and as it reports,
//! read by lookups (orders, deletions, statuses) and by the dashboard.

use worker::{Result, SqlStorageValue};

use super::db::{i, s, token, Db, Text};
use crate::core::journey::{Delivery, Fact, Registration, Summary};
use crate::core::values::ids::{CheckoutToken, StepId};
use crate::core::values::time::{Millis, DAY_MS};
use crate::core::whatsapp::delivery::marketing_barred_until;
use crate::objects::protocol::{
    ActiveOfCart, FindDeleted, JourneyFilter, JourneysQuery, Owner, Report, StatusCall,
};

/// What a registration did to the journey index.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// A new entry.
    Indexed,
    /// The entry's beginning replaced by a journey begun again (another recovery link).
    Again,
    /// The same registration again: nothing changed.
    Repeated,
}

/// Shopify retries a delivery for hours; event ids are remembered for a week.
pub const EVENT_MEMORY_MS: i64 = 7 * DAY_MS;

impl Db {
    /// Indexes a journey. A repeated registration is one of two things: the same one again (a
    /// cart that could not tell whether the last arrived), which changes nothing, or, with
    /// another recovery link, a journey begun again by a cart that restarted after registering
    /// and before its save, which replaces what the entry says of its beginning (the cart's
    /// is the one that runs). A new entry is written with the journey's `summary`, so its
    /// report need not write that again.
    pub fn begin(&self, b: Registration, summary: Option<&Summary>) -> Result<Begun> {
        let sealed = match summary {
            Some(summary) => s(self.seal(&serde_json::to_string(summary)?)?),
            None => SqlStorageValue::Null,
        };
        let checkout = token(&b.checkout_token);
        let link = s(b.recovery_token.clone());
        let beginning = vec![
            b.cart_token.into(),
            b.checkout_id.into(),
            link.clone(),
            b.customer_id.map(|c| self.customer_hash(&c)).into(),
            b.locale.into(),
            s(self.hash(&b.phone)),
            i(b.holdout.into()),
            i(b.at.0),
            s(b.segment),
            b.product.into(),
        ];
        let mut values = vec![checkout.clone()];
        values.extend(beginning.iter().cloned());
        values.push(sealed);
        let inserted = self.changed(
            "INSERT OR IGNORE INTO journeys
               (checkout_token, cart_token, checkout_id, recovery_token, customer_hash, locale,
                phone_hash, holdout, started_at, segment, product, summary)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )?;
        if inserted > 0 {
            return Ok(Begun::Indexed);
        }
        let mut values = beginning;
        values.extend([checkout, link]);
        let renewed = self.changed(
            "UPDATE journeys SET cart_token = ?, checkout_id = ?, recovery_token = ?,
               customer_hash = ?, locale = ?, phone_hash = ?, holdout = ?, started_at = ?,
               segment = ?, product = ?
             WHERE checkout_token = ? AND recovery_token IS NOT NULL AND recovery_token != ?",
            values,
        )?;
        Ok(if renewed > 0 {
            Begun::Again
        } else {
            Begun::Repeated
        })
    }

    pub fn report(&self, r: Report) -> Result<()> {
        let t = || token(&r.checkout_token);
        let at = i(r.at.0);
        for fact in &r.facts {
            match fact {
                Fact::Sent { step_id, wamid } => {
                    self.exec(
                        "INSERT OR IGNORE INTO messages (wamid_hash, checkout_token, step_id, sent_at, status)
                         VALUES (?, ?, ?, ?, 'sent')",
                        vec![s(self.wamid_hash(wamid)), t(), s(step_id.as_str()), at.clone()],
                    )?;
                    self.exec(
                        "UPDATE journeys SET messaged_at = coalesce(messaged_at, ?) WHERE checkout_token = ?",
                        vec![at.clone(), t()],
                    )?;
                    // Sent after all (a failed delivery retried): no longer a failure.
                    self.exec(
                        "DELETE FROM step_outcomes WHERE checkout_token = ? AND step_id = ?",
                        vec![t(), s(step_id.as_str())],
                    )?;
                }
                Fact::Skipped { step_id, reason } => self.exec(
                    "INSERT OR REPLACE INTO skips (checkout_token, step_id, reason, at) VALUES (?, ?, ?, ?)",
                    vec![t(), s(step_id.as_str()), s(reason.as_str()), at.clone()],
                )?,
                Fact::Failed { step_id, code } => {
                    self.step_outcome(&r.checkout_token, step_id, "failed", *code, r.at)?;
                    if let Some(until) = marketing_barred_until(*code, r.at) {
                        self.limit_marketing(&r.checkout_token, until)?;
                    }
                    self.refused(&r.checkout_token, *code, r.at)?;
                }
                Fact::Forgotten => self.exec(
                    "UPDATE journeys SET summary = NULL, locale = NULL, recovery_token = NULL,
                       customer_hash = NULL, phone_hash = '' WHERE checkout_token = ?",
                    vec![t()],
                )?,
                Fact::PhoneChanged { phone } => self.exec(
                    "UPDATE journeys SET phone_hash = ? WHERE checkout_token = ? AND phone_hash != ''",
                    vec![s(phone.as_ref().map(|p| self.hash(p)).unwrap_or_default()), t()],
                )?,
                Fact::Clicked => self.exec(
                    "UPDATE journeys SET clicked_at = coalesce(clicked_at, ?) WHERE checkout_token = ?",
                    vec![at.clone(), t()],
                )?,
                Fact::Reopened => self.exec(
                    "UPDATE journeys SET status = 'active', end_reason = NULL WHERE checkout_token = ?",
                    vec![t()],
                )?,
                Fact::Ended { reason } => self.exec(
                    "UPDATE journeys SET status = 'ended', end_reason = ? WHERE checkout_token = ?",
                    vec![s(reason.as_str()), t()],
                )?,
                Fact::Recovered { total, .. } => self.exec(
                    "UPDATE journeys SET recovered_at = coalesce(recovered_at, ?),
                       revenue_minor = ?, currency = ? WHERE checkout_token = ?",
                    vec![
                        at.clone(),
                        total.as_ref().map(|t| t.minor()).into(),
                        total.as_ref().map(|t| t.currency().as_str().to_string()).into(),
                        t(),
                    ],
                )?,
                Fact::Unknown { step_id } => {
                    self.step_outcome(&r.checkout_token, step_id, "unknown", None, r.at)?
                }
                Fact::Started { .. } | Fact::Deferred { .. } | Fact::Converted { .. } => {}
            }
        }
        if let Some(summary) = r.summary {
            let summary = summary.keeping_phone_of(|| {
                let earlier: Option<Text> = self.first(
                    "SELECT summary AS v FROM journeys WHERE checkout_token = ? AND summary IS NOT NULL",
                    vec![t()],
                )?;
                Ok::<_, worker::Error>(
                    earlier.and_then(|e| serde_json::from_str(&self.open(&e.v)).ok()),
                )
            })?;
            let sealed = self.seal(&serde_json::to_string(&summary)?)?;
            self.exec(
                "UPDATE journeys SET summary = ? WHERE checkout_token = ?",
                vec![s(sealed), t()],
            )?;
        }
        Ok(())
    }

    /// How a step ended when it was neither sent nor skipped: `failed` (with Meta's code) or
    /// `unknown` (the outcome was lost).
    fn step_outcome(
        &self,
        checkout: &CheckoutToken,
        step_id: &StepId,
        outcome: &str,
        code: Option<i64>,
        at: Millis,
    ) -> Result<()> {
        self.exec(
            "INSERT OR REPLACE INTO step_outcomes (checkout_token, step_id, outcome, code, at)
             VALUES (?, ?, ?, ?, ?)",
            vec![
                token(checkout),
                s(step_id.as_str()),
                s(outcome),
                code.map(i).unwrap_or(SqlStorageValue::Null),
                i(at.0),
            ],
        )
    }

    /// Meta limited marketing to this journey's shopper: none goes to them until `until`.
    fn limit_marketing(&self, checkout_token: &CheckoutToken, until: Millis) -> Result<()> {
        self.exec(
            "INSERT INTO limited (phone_hash, until)
               SELECT phone_hash, ? FROM journeys WHERE checkout_token = ?
             ON CONFLICT(phone_hash) DO UPDATE SET until = excluded.until",
            vec![i(until.0), token(checkout_token)],
        )
    }

    pub fn status(&self, c: StatusCall) -> Result<Owner> {
        let Some(owner) = self.message_owner(&c.wamid)? else {
            return Ok(Owner {
                checkout_token: None,
            });
        };
        let at = i(c.at.0);
        match &c.delivery {
            Delivery::Delivered => self.exec(
                "UPDATE journeys SET delivered_at = coalesce(delivered_at, ?) WHERE checkout_token = ?",
                vec![at, token(&owner)],
            )?,
            // A read without a delivered counts as both.
            Delivery::Read => self.exec(
                "UPDATE journeys SET delivered_at = coalesce(delivered_at, ?), read_at = coalesce(read_at, ?)
                 WHERE checkout_token = ?",
                vec![at.clone(), at, token(&owner)],
            )?,
            Delivery::Failed { code } => {
                self.exec(
                    "UPDATE messages SET status = 'failed', error_code = ? WHERE wamid_hash = ?",
                    vec![
                        code.map(i).unwrap_or(SqlStorageValue::Null),
                        s(self.wamid_hash(&c.wamid)),
                    ],
                )?;
                if let Some(until) = marketing_barred_until(*code, c.at) {
                    self.limit_marketing(&owner, until)?;
                }
                self.refused(&owner, *code, c.at)?;
            }
        }
        Ok(Owner {
            checkout_token: Some(owner),
        })
    }

    /// The cart a message of ours belongs to.
    pub fn message_owner(
        &self,
        wamid: &crate::core::values::ids::Wamid,
    ) -> Result<Option<CheckoutToken>> {
        Ok(self
            .first::<Text>(
                "SELECT checkout_token AS v FROM messages WHERE wamid_hash = ?",
                vec![s(self.wamid_hash(wamid))],
            )?
            .map(|r| CheckoutToken::new(r.v)))
    }

    pub fn find_deleted(&self, f: FindDeleted) -> Result<Owner> {
        let found = self.first::<Text>(
            "SELECT checkout_token AS v FROM journeys WHERE checkout_id = ? LIMIT 1",
            vec![s(f.checkout_id)],
        )?;
        Ok(Owner {
            checkout_token: found.map(|r| CheckoutToken::new(r.v)),
        })
    }

    pub fn active_of_cart(&self, c: ActiveOfCart) -> Result<Vec<CheckoutToken>> {
        self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE cart_token = ? AND status = 'active'",
            vec![s(c.cart_token)],
        )
    }

    pub fn active(&self) -> Result<Vec<CheckoutToken>> {
        self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE status = 'active'",
            vec![],
        )
    }

    pub fn all_journeys(&self) -> Result<Vec<CheckoutToken>> {
        self.tokens("SELECT checkout_token AS v FROM journeys", vec![])
    }

    /// The shopper's running journeys.
    pub fn active_of_phone(&self, phone_hash: &str) -> Result<Vec<CheckoutToken>> {
        self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE phone_hash = ? AND status = 'active'",
            vec![s(phone_hash)],
        )
    }

    pub fn journeys(&self, q: JourneysQuery) -> Result<Vec<Summary>> {
        let filter = match q.status {
            JourneyFilter::Active => "AND status = 'active'",
            JourneyFilter::Ended => "AND status = 'ended'",
            JourneyFilter::All => "",
        };
        let rows: Vec<Text> = self.rows(
            &format!(
                "SELECT summary AS v FROM journeys WHERE summary IS NOT NULL {filter}
                 ORDER BY started_at DESC LIMIT 200"
            ),
            vec![],
        )?;
        Ok(self.summaries(&rows))
    }

    pub fn summaries(&self, rows: &[Text]) -> Vec<Summary> {
        rows.iter()
            .filter_map(|r| serde_json::from_str(&self.open(&r.v)).ok())
            .collect()
    }

    pub fn event_seen(&self, id: &str) -> Result<bool> {
        self.exists("SELECT count(*) AS n FROM events WHERE id = ?", vec![s(id)])
    }

    /// Recorded once the event was handled: a delivery that failed half-way is retried whole.
    pub fn remember_event(&self, id: &str, now: Millis) -> Result<()> {
        self.exec(
            "DELETE FROM events WHERE at < ?",
            vec![i(now.0 - EVENT_MEMORY_MS)],
        )?;
        self.exec(
            "INSERT OR IGNORE INTO events (id, at) VALUES (?, ?)",
            vec![s(id), i(now.0)],
        )
    }
}
