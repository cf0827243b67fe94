//! Shoppers' messages: each inbound event decided once by the core's conversation plan
//! (redeliveries get the same signals, never a second reply), the service window, the inbox
//! of conversations waiting for a person, and the FAQ.

use serde::Deserialize;
use worker::Result;

use super::db::{i, s, Db, Int, Text};
use super::journeys::EVENT_MEMORY_MS;
use crate::core::conversation::plan::{self, Inbound, InboxEntry, Plan, Snapshot};
use crate::core::conversation::{window_closes_at, Faq, SERVICE_WINDOW_MS};
use crate::core::crypto::seal;
use crate::core::gate::consent::{self, ConsentStatus};
use crate::core::values::ids::{CheckoutToken, Wamid};
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::core::whatsapp::inbound::InboundEvent;
use crate::objects::protocol::{
    Conversation, InboundCall, InboundPlan, Inbox, ReplyTarget, ReplyWindow, Resolve, Resolved,
};

const FAQ_KEY: &str = "faq";

#[derive(Deserialize)]
struct InboxRow {
    phone_hash: String,
    phone: String,
    name: Option<String>,
    last_message: String,
    since: i64,
}

impl Db {
    pub fn inbound(&self, call: InboundCall, now: Millis) -> Result<InboundPlan> {
        let (phone, id) = match &call.event {
            InboundEvent::Message { from, wamid, .. } => (from, self.wamid_hash(wamid)),
            InboundEvent::UserPreference {
                phone, value, at, ..
            } => (
                phone,
                seal::lookup_hash(
                    self.key(),
                    &format!("pref:{}:{value:?}:{}", phone.as_str(), at.0),
                ),
            ),
            _ => return Ok(InboundPlan::default()),
        };
        #[derive(Deserialize)]
        struct Seen {
            signal: Option<String>,
            journeys: String,
        }
        let seen: Option<Seen> = self.first(
            "SELECT signal, journeys FROM inbound WHERE id_hash = ?",
            vec![s(id.clone())],
        )?;
        if let Some(seen) = seen {
            return Ok(InboundPlan {
                signal: seen.signal.and_then(|v| serde_json::from_str(&v).ok()),
                journeys: serde_json::from_str(&seen.journeys).unwrap_or_default(),
                reply: None,
            });
        }
        let phone_hash = self.hash(phone);
        let plan = self.plan(&call, phone, &phone_hash, now)?;
        if call.unconnected {
            // Nobody can answer or read it: only an opt-out or opt-in is worth keeping.
            if let Some(record) = &plan.consent {
                self.append_consent(&phone_hash, record)?;
            }
            return Ok(InboundPlan::default());
        }
        self.write_plan(&phone_hash, phone, &plan)?;
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
        Ok(InboundPlan {
            signal: plan.signal,
            journeys: plan.journeys,
            reply: plan.reply,
        })
    }

    /// Reads what the ledger knows about the shopper and asks the core what follows.
    fn plan(
        &self,
        call: &InboundCall,
        phone: &Phone,
        phone_hash: &str,
        now: Millis,
    ) -> Result<Plan> {
        let (event, context) = match &call.event {
            InboundEvent::Message {
                at,
                profile_name,
                context_wamid,
                content,
                ..
            } => (
                Inbound::Message {
                    at: *at,
                    profile_name: profile_name.as_deref(),
                    content,
                },
                context_wamid.as_ref(),
            ),
            InboundEvent::UserPreference { value, at, .. } => {
                (Inbound::Preference { value, at: *at }, None)
            }
            _ => return Ok(Plan::default()),
        };
        let consents = self.consent_records(phone_hash)?;
        let locale = self.locale_of(phone_hash)?;
        let faq = self.faq()?;
        let active = self.active_of_phone(phone_hash)?;
        let quoted = self.quoted_journey(context)?;
        let recovery_token = self.recovery_token_for(quoted.as_ref(), phone_hash)?;
        let snapshot = Snapshot {
            phone,
            consents: &consents,
            locale: locale.as_deref(),
            faq: &faq,
            active_journeys: &active,
            quoted_journey: quoted.as_ref(),
            recovery_token: recovery_token.as_deref(),
            waiting_for_human: self.waiting_for_human(phone_hash)?,
            has_unbought_cart: self.has_unbought_cart(phone_hash)?,
            last_inbound: self.last_inbound(phone_hash)?,
            app_url: &call.app_url,
        };
        Ok(plan::plan(event, &snapshot, now))
    }

    fn write_plan(&self, phone_hash: &str, phone: &Phone, plan: &Plan) -> Result<()> {
        if let Some(at) = plan.wrote_at {
            // Every later inbound message counts the shopper's messaged journeys as replied.
            self.exec(
                "UPDATE journeys SET replied_at = coalesce(replied_at, ?)
                 WHERE phone_hash = ? AND messaged_at IS NOT NULL",
                vec![i(at.0), s(phone_hash)],
            )?;
        }
        if let Some(at) = plan.window_from {
            self.touch_conversation(phone_hash, at)?;
        }
        if let Some(record) = &plan.consent {
            self.record_consent(phone, record)?;
        }
        if let Some(entry) = &plan.inbox {
            self.to_inbox(phone_hash, phone, entry)?;
        }
        Ok(())
    }

    /// The shopper's last message, from which the 24-hour service window runs.
    fn touch_conversation(&self, phone_hash: &str, at: Millis) -> Result<()> {
        // Windows long closed say nothing any more.
        self.exec(
            "DELETE FROM conversations WHERE last_inbound < ?",
            vec![i(at.0 - 2 * SERVICE_WINDOW_MS)],
        )?;
        self.exec(
            "INSERT INTO conversations (phone_hash, last_inbound) VALUES (?, ?)
             ON CONFLICT(phone_hash) DO UPDATE SET last_inbound = max(last_inbound, excluded.last_inbound)",
            vec![s(phone_hash), i(at.0)],
        )
    }

    fn last_inbound(&self, phone_hash: &str) -> Result<Option<Millis>> {
        Ok(self
            .first::<Int>(
                "SELECT last_inbound AS v FROM conversations WHERE phone_hash = ?",
                vec![s(phone_hash)],
            )?
            .map(|r| Millis(r.v)))
    }

    /// A journey still running, or one that ran its course without an order.
    fn has_unbought_cart(&self, phone_hash: &str) -> Result<bool> {
        self.exists(
            "SELECT count(*) AS n FROM journeys WHERE phone_hash = ?
               AND (status = 'active' OR end_reason = 'finished')",
            vec![s(phone_hash)],
        )
    }

    /// The locale of the shopper's latest checkout.
    fn locale_of(&self, phone_hash: &str) -> Result<Option<String>> {
        Ok(self
            .first::<Text>(
                "SELECT locale AS v FROM journeys WHERE phone_hash = ? AND locale IS NOT NULL
                 ORDER BY started_at DESC LIMIT 1",
                vec![s(phone_hash)],
            )?
            .map(|r| r.v))
    }

    fn quoted_journey(&self, context: Option<&Wamid>) -> Result<Option<CheckoutToken>> {
        match context {
            Some(wamid) => self.message_owner(wamid),
            None => Ok(None),
        }
    }

    /// The recovery token of the quoted journey, else of the shopper's latest.
    fn recovery_token_for(
        &self,
        quoted: Option<&CheckoutToken>,
        phone_hash: &str,
    ) -> Result<Option<String>> {
        let row: Option<Text> = match quoted {
            Some(owner) => self.first(
                "SELECT recovery_token AS v FROM journeys WHERE checkout_token = ? AND recovery_token IS NOT NULL",
                vec![s(owner.as_str())],
            )?,
            None => self.first(
                "SELECT recovery_token AS v FROM journeys WHERE phone_hash = ? AND recovery_token IS NOT NULL
                 ORDER BY started_at DESC LIMIT 1",
                vec![s(phone_hash)],
            )?,
        };
        Ok(row.map(|r| r.v))
    }

    fn waiting_for_human(&self, phone_hash: &str) -> Result<bool> {
        self.exists(
            "SELECT count(*) AS n FROM inbox WHERE phone_hash = ? AND resolved_at IS NULL",
            vec![s(phone_hash)],
        )
    }

    fn to_inbox(&self, phone_hash: &str, phone: &Phone, entry: &InboxEntry) -> Result<()> {
        let sealed_name = entry.name.as_deref().map(|n| self.seal(n)).transpose()?;
        self.exec(
            "INSERT INTO inbox (phone_hash, phone, name, last_message, since) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(phone_hash) DO UPDATE SET last_message = excluded.last_message,
               name = coalesce(excluded.name, inbox.name),
               since = CASE WHEN inbox.resolved_at IS NULL THEN inbox.since ELSE excluded.since END,
               resolved_at = NULL",
            vec![
                s(phone_hash),
                s(self.seal(phone.as_str())?),
                sealed_name.into(),
                s(self.seal(&entry.text)?),
                i(entry.at.0),
            ],
        )
    }

    pub fn inbox(&self, now: Millis) -> Result<Inbox> {
        let rows: Vec<InboxRow> = self.rows(
            "SELECT phone_hash, phone, name, last_message, since FROM inbox WHERE resolved_at IS NULL
             ORDER BY since LIMIT 200",
            vec![],
        )?;
        let mut conversations = Vec::with_capacity(rows.len());
        for r in &rows {
            let last = self.last_inbound(&r.phone_hash)?;
            conversations.push(Conversation {
                phone: self.open(&r.phone),
                name: r.name.as_deref().map(|n| self.open(n)),
                last_message: self.open(&r.last_message),
                since: Millis(r.since).to_rfc3339(),
                window_closes_at: window_closes_at(last, now).map(Millis::to_rfc3339),
            });
        }
        Ok(Inbox { conversations })
    }

    pub fn reply_target(&self, t: ReplyTarget) -> Result<ReplyWindow> {
        let phone_hash = self.hash(&t.phone);
        Ok(ReplyWindow {
            waiting: self.waiting_for_human(&phone_hash)?,
            last_inbound: self.last_inbound(&phone_hash)?,
            opted_out: consent::status(&self.consent_records(&phone_hash)?)
                == ConsentStatus::OptedOut,
        })
    }

    pub fn resolve(&self, r: Resolve) -> Result<Resolved> {
        let changed = self.changed(
            "UPDATE inbox SET resolved_at = unixepoch() * 1000 WHERE phone_hash = ? AND resolved_at IS NULL",
            vec![s(self.hash(&r.phone))],
        )?;
        Ok(Resolved {
            resolved: changed > 0,
        })
    }

    pub fn faq(&self) -> Result<Faq> {
        self.json_setting(FAQ_KEY)
    }

    pub fn put_faq(&self, faq: Faq) -> Result<Faq> {
        self.put_json_setting(FAQ_KEY, &faq)?;
        Ok(faq)
    }
}
