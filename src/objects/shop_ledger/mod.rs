//! `ShopLedger`: one SQLite-backed Durable Object per shop, the single writer of everything that
//! spans carts and must be strongly consistent: the consent ledger, suppression, frequency caps,
//! send pacing, the journey index, conversations and the metrics (docs/architecture.md §3).
//!
//! It is also the one writer of the shop's record (Shopify grant, WhatsApp connection,
//! playbook; `record.rs`).
//!
//! Each request is one [`LedgerRequest`], handled by a run of synchronous SQL statements, so two
//! requests never interleave; the record's operations, which wait on Shopify or KV midway, are
//! serialized by a lock instead. Decisions are the core's: the ledger reads what a decision
//! needs, calls the core, and writes what it returns.

mod compliance;
mod consent;
mod consent_sync;
mod conversations;
mod costs;
mod db;
mod deliveries;
mod gate;
mod images;
mod journeys;
mod metrics;
mod optimizer;
mod outbox;
mod record;
mod slots;
mod sweep;
mod templates;

use futures_util::lock::Mutex;
use serde::Serialize;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use super::protocol::{Checkouts, LedgerCall, LedgerRequest};
use super::rpc;
use crate::core::gate::consent::{status as consent_status, ConsentRecord};
use crate::core::whatsapp::templates::TemplateUpdate;
use crate::platform::clock::now;
use crate::platform::crypto;
use db::{Db, ADDED_COLUMNS, SCHEMA};
use journeys::Begun;

use crate::objects::protocol as p;

/// How long the outbox waits before telling carts again that did not take their command.
const RETRY_AFTER_FAILURE_MS: i64 = 5_000;

#[durable_object]
pub struct ShopLedger {
    state: State,
    env: Env,
    /// Held by every operation on the shop's record (`record.rs`).
    record_lock: Mutex<()>,
    /// Held while the reconciliation sweep runs (`sweep.rs`).
    sweep_lock: Mutex<()>,
}

impl DurableObject for ShopLedger {
    fn new(state: State, env: Env) -> Self {
        // The schema is idempotent; a failure here surfaces on the first query.
        let sql = state.storage().sql();
        let _ = sql.exec(SCHEMA, None);
        let _ = sql.exec(optimizer::SCHEMA, None);
        let _ = sql.exec(sweep::SCHEMA, None);
        let _ = sql.exec(consent_sync::SCHEMA, None);
        for column in ADDED_COLUMNS {
            let _ = sql.exec(column, None);
        }
        Self {
            state,
            env,
            record_lock: Mutex::new(()),
            sweep_lock: Mutex::new(()),
        }
    }

    /// Delivers the outbox to the carts and the replies to shoppers, a batch of each per run;
    /// runs again until both are empty.
    async fn alarm(&self) -> Result<Response> {
        let db = self.db()?;
        // A failing copy to KV must not hold up the outbox or an erase; it is tried again.
        let copied = self.retry_copy(&db).await;
        if let Err(e) = &copied {
            worker::console_error!("the shop record's copy to KV failed again: {e}");
        }
        let run = db.deliver(&self.env).await?;
        // Consent for Shopify waits its turn, in a run the outbox and replies leave room in
        // (an invocation's 50 subrequests); a failure is logged, never holds up the outbox.
        let sync_due = if run.more || db.replies_waiting()? {
            db.next_consent_sync()?
        } else {
            match self.sync_consents(&db).await {
                Ok(due) => due,
                Err(e) => {
                    worker::console_error!("consent for Shopify waits: {e}");
                    Some(now().plus_millis(RETRY_AFTER_FAILURE_MS))
                }
            }
        };
        if db.replies_waiting()? {
            match self.sending_connection(&db).await {
                Ok(connection) => db.send_replies(&self.env, connection.as_ref()).await?,
                Err(e) => worker::console_error!("replies wait: no connection to send with: {e}"),
            }
        }
        let storage = self.state.storage();
        if copied.is_err() || run.more || db.replies_waiting()? {
            // Failures wait a little; a full batch goes on at once.
            storage
                .set_alarm(if run.failed || copied.is_err() {
                    RETRY_AFTER_FAILURE_MS
                } else {
                    0
                })
                .await?;
        } else if db.setting(outbox::ERASE_KEY)?.is_some() {
            storage.delete_all().await?;
            storage.sql().exec(SCHEMA, None)?;
            storage.sql().exec(optimizer::SCHEMA, None)?;
            storage.sql().exec(sweep::SCHEMA, None)?;
            storage.sql().exec(consent_sync::SCHEMA, None)?;
        } else if let Some(due) = sync_due {
            storage.set_alarm((due.0 - now().0).max(0)).await?;
        }
        Response::ok("ok")
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let request: LedgerRequest = rpc::read(&req.text().await?)?;
        let db = self.db()?;
        let response = self.handle(&db, request).await?;
        if db.wants_wake() {
            self.state.storage().set_alarm(0).await?;
        }
        Ok(response)
    }
}

impl ShopLedger {
    fn db(&self) -> Result<Db> {
        Ok(Db::new(
            self.state.storage().sql(),
            crypto::data_key(&self.env)?,
        ))
    }
}

/// Answers `call` with `reply`, which must be the reply type its call names.
fn answer<C: LedgerCall>(reply: C::Reply) -> Result<Response>
where
    C::Reply: Serialize,
{
    rpc::reply(&reply)
}

impl ShopLedger {
    async fn handle(&self, db: &Db, request: LedgerRequest) -> Result<Response> {
        use LedgerRequest as R;
        match request {
            R::Install(c) => answer::<p::Install>(self.install(db, c).await?),
            R::AdminToken(c) => answer::<p::AdminToken>(self.admin_token(db, c).await?),
            R::ShopState(c) => answer::<p::ShopState>(self.shop_state(db, &c.shop).await?),
            R::ConnectWhatsApp(c) => {
                answer::<p::ConnectWhatsApp>(self.connect_whatsapp(db, c).await?)
            }
            R::PauseWhatsApp(c) => answer::<p::PauseWhatsApp>(self.pause_whatsapp(db, c).await?),
            R::PutPlaybook(c) => answer::<p::PutPlaybook>(self.put_playbook(c).await?),
            R::Uninstall(c) => answer::<p::Uninstall>(self.uninstall(db, c).await?),
            R::Erase(c) => answer::<p::EraseShop>(checkouts(self.erase(db, c).await?)),
            R::Gate(c) => answer::<p::GateCall>(db.gate(c, now())?),
            R::Report(mut c) => {
                let mut indexed = false;
                if let Some(registration) = c.registration.take() {
                    // The trial opens with the journey's index entry, once: a registration
                    // repeated after the trial settled must not open it again.
                    let trial = registration.trial.clone();
                    match db.begin(*registration, c.summary.as_ref())? {
                        Begun::Indexed => {
                            indexed = true;
                            // Written with the entry.
                            c.summary = None;
                            if let Some(trial) = &trial {
                                db.open_trial(trial)?;
                            }
                        }
                        Begun::Again => db.renew_trial(&c.checkout_token, trial.as_ref())?,
                        Begun::Repeated => {}
                    }
                }
                db.settle_orders(&c)?;
                let held = match c.slot.take() {
                    Some(slot) => db.change_slot(&c.checkout_token, slot, !indexed, now())?,
                    None => None,
                };
                db.report(c)?;
                answer::<p::Report>(held)
            }
            R::FindDeleted(c) => answer::<p::FindDeleted>(db.find_deleted(c)?),
            R::ActiveOfCart(c) => answer::<p::ActiveOfCart>(checkouts(db.active_of_cart(c)?)),
            R::AddConsent(c) => {
                db.record_consent(&c.phone, &c.record)?;
                answer::<p::AddConsent>(consent_status(&db.consent_records(&db.hash(&c.phone))?))
            }
            R::Consents(c) => {
                let records: Vec<ConsentRecord> = db.consent_records(&db.hash(&c.phone))?;
                answer::<p::ConsentsOf>(records)
            }
            R::Journeys(c) => answer::<p::JourneysQuery>(db.journeys(c)?),
            R::Deliveries(c) => match (&c.shop, db.recently_handed_to(now())?) {
                // Sent to a number just connected, by a Worker whose KV did not know it yet.
                (None, Some(shop)) => {
                    let forward = p::Deliveries {
                        shop: Some(shop.clone()),
                        ..c
                    };
                    answer::<p::Deliveries>(p::ask(&self.env, &shop, forward).await?)
                }
                _ => answer::<p::Deliveries>(db.deliveries(c, now())?),
            },
            R::OptInAllowed(c) => answer::<p::OptInCall>(db.optin_allowed(c)?),
            R::Faq(_) => answer::<p::GetFaq>(db.faq()?),
            R::PutFaq(c) => answer::<p::PutFaq>(db.put_faq(c.faq)?),
            R::Inbox(_) => answer::<p::GetInbox>(db.inbox(now())?),
            R::Resolve(c) => answer::<p::Resolve>(db.resolve(c)?),
            R::Redact(c) => answer::<p::Redact>(checkouts(db.redact(c, now())?)),
            R::DataRequest(c) => answer::<p::DataRequest>(db.data_request(c.customer)?),
            R::Metrics(c) => answer::<p::MetricsQuery>(db.metrics(c, now())?),
            R::RecordVital(c) => answer::<p::RecordVital>(db.record_vital(c)?),
            R::ReplyTarget(c) => answer::<p::ReplyTarget>(db.reply_target(c)?),
            R::EventSeen(c) => answer::<p::EventSeen>(db.event_seen(&c.id)?),
            R::RememberEvent(c) => answer::<p::RememberEvent>(db.remember_event(&c.id, now())?),
            R::KeptConsents(_) => answer::<p::KeptConsents>(db.kept_consents()?),
            R::ForgetKept(c) => answer::<p::ForgetKept>(db.forget_kept(c, now())?),
            R::AdoptConsents(c) => answer::<p::AdoptConsents>(db.adopt_consents(c)?),
            R::Route(c) => answer::<p::RouteCall>(db.route(c, now())?),
            R::RememberOnboarding(c) => answer::<p::RememberOnboarding>(db.remember_onboarding(c)?),
            R::PutTemplates(c) => answer::<p::PutTemplates>(db.put_templates(&c.templates, now())?),
            R::GetTemplates(_) => answer::<p::GetTemplates>(db.kept_templates()?),
            R::TemplateChanged(c) => answer::<TemplateUpdate>(db.update_template(&c)?),
            R::Learned(_) => answer::<p::GetLearning>(db.learning(now())?),
            R::ResetLearning(_) => answer::<p::ResetLearning>(db.reset_learning()?),
            R::Prices(_) => answer::<p::GetPrices>(db.prices()?),
            R::PutPrices(c) => answer::<p::PutPrices>(db.put_prices(c.prices)?),
            R::Sweep(c) => answer::<p::SweepCall>(self.sweep(db, c).await?),
            R::VariantImage(c) => answer::<p::VariantImage>(db.variant_image(&c, now())?),
            R::RememberImage(c) => answer::<p::RememberImage>(db.remember_image(c, now())?),
        }
    }
}

fn checkouts(checkout_tokens: Vec<crate::core::values::ids::CheckoutToken>) -> Checkouts {
    Checkouts { checkout_tokens }
}
