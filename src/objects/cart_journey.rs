//! `CartJourney`: one Durable Object per shop + checkout token. It holds the cart, runs the
//! core on every command and alarm, persists the result and only then executes the effects.
//! Its alarm is the cart's timer, armed from the cart's next deadline and nothing else.

use std::collections::VecDeque;

use futures_util::future::join;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use worker::{
    durable_object, js_sys, DurableObject, Env, Request, Response, Result, ScheduledTime, State,
    Storage,
};

use super::protocol::{
    self, AdminToken, CartAnswer, CartCommand, GateCall, GetLearning, PauseWhatsApp, Report,
};
use super::rpc;
use super::send::send_template;
use crate::core::journey::{Cart, Effect, Event, Fact, ShopContext, ShopperSignal, Summary};
use crate::core::optimizer::Learning;
use crate::core::playbook::Playbook;
use crate::core::shopify::discount::{DiscountOutcome, DiscountRequest};
use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::shop::ShopRecord;
use crate::core::values::ids::ShopDomain;
use crate::core::values::time::Millis;
use crate::platform::clock::now;
use crate::platform::shopify::{self, Answer};
use crate::platform::{crypto, store};

const CART_KEY: &str = "cart";

#[durable_object]
pub struct CartJourney {
    state: State,
    env: Env,
}

impl DurableObject for CartJourney {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let shop = ShopDomain::parse(&rpc::path(&req))
            .ok_or_else(|| worker::Error::RustError("a cart is addressed by its shop".into()))?;
        let command: CartCommand = req.json().await?;
        let storage = self.state.storage();
        if let CartCommand::Erase = command {
            wipe(&storage).await?;
            return rpc::reply(&CartAnswer::default());
        }
        // Everything read from elsewhere comes first: between loading the cart and saving it
        // there are only storage calls, so no other event can interleave (input gates).
        let mut data = ShopData::load(&self.env, &shop).await?;
        if data.playbook.optimize.enabled && may_begin(&storage, &command).await? {
            data.learning = Some(protocol::ask(&self.env, &shop, GetLearning).await?);
        }
        let mut cart = load(&storage).await?.unwrap_or_default();
        let mut answer = CartAnswer::default();
        let event = match command {
            CartCommand::Recover => {
                let Some(journey) = cart.journey() else {
                    return rpc::reply(&answer);
                };
                answer.redirect = journey.recovery_url();
                Event::Shopper(ShopperSignal::Clicked)
            }
            command => match event_of(command) {
                Some(event) => event,
                None => return rpc::reply(&answer),
            },
        };
        let shown = cart.summary();
        let deadline = cart.next_deadline(&data.playbook);
        let effects = cart.handle(&shop, event, recovery_token()?, data.context(), now());
        if effects.is_empty() && cart.is_blank() {
            return rpc::reply(&answer); // nothing to remember: no phone, nothing begun
        }
        commit(&storage, &cart, &data.playbook, deadline).await?;
        self.register(&mut cart, &data).await?;
        self.execute(effects, &data, shown).await?;
        rpc::reply(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let Some(shop) = load(&storage).await?.and_then(|c| c.shop().cloned()) else {
            return Response::ok("nothing here");
        };
        let data = ShopData::load(&self.env, &shop).await?;
        // Read again after the KV reads: an event may have changed the cart meanwhile.
        let Some(mut cart) = load(&storage).await? else {
            return Response::ok("nothing here");
        };
        let shown = cart.summary();
        let effects = cart.handle(&shop, Event::Timeout, String::new(), data.context(), now());
        // The alarm that woke us is spent: re-arm whatever the deadline is.
        commit(&storage, &cart, &data.playbook, None).await?;
        self.register(&mut cart, &data).await?;
        self.execute(effects, &data, shown).await?;
        Response::ok("ok")
    }
}

/// Saves the cart and, when its next deadline moved from `armed`, arms the alarm there, with
/// storage calls only, so the timer always matches the state just saved.
async fn commit(
    storage: &Storage,
    cart: &Cart,
    playbook: &Playbook,
    armed: Option<Millis>,
) -> Result<()> {
    save(storage, cart).await?;
    let deadline = cart.next_deadline(playbook);
    if deadline == armed {
        return Ok(());
    }
    match deadline {
        Some(at) => {
            let date = js_sys::Date::new(&(at.0 as f64).into());
            storage.set_alarm(ScheduledTime::new(date)).await
        }
        None => storage.delete_alarm().await,
    }
}

/// Whether `command` may begin a journey here: the optimizer's choice then reads what the
/// shop ledger has learned, once per journey, never for a cart already under way.
async fn may_begin(storage: &Storage, command: &CartCommand) -> Result<bool> {
    let CartCommand::Checkout { checkout, .. } = command else {
        return Ok(false);
    };
    if checkout.phone.is_none() || checkout.completed {
        return Ok(false);
    }
    Ok(load(storage).await?.is_none_or(|cart| cart.is_blank()))
}

fn event_of(command: CartCommand) -> Option<Event> {
    Some(match command {
        CartCommand::Checkout { checkout, event_id } => Event::Checkout {
            checkout: Box::new(checkout),
            event_id,
        },
        CartCommand::Order { order } => Event::Order(order),
        CartCommand::Deleted => Event::CheckoutDeleted,
        CartCommand::ShopGone => Event::ShopGone,
        CartCommand::Status { wamid, delivery } => Event::Status { wamid, delivery },
        CartCommand::Shopper { signal } => Event::Shopper(signal),
        CartCommand::Erase | CartCommand::Recover => return None,
    })
}

impl CartJourney {
    /// Tells the shop ledger about a new journey (the index behind lookups, opt-outs, redaction
    /// and metrics) and KV about its recovery link. Until that has succeeded once, every event
    /// and alarm tries again.
    async fn register(&self, cart: &mut Cart, data: &ShopData) -> Result<()> {
        let Some(registration) = cart.registration() else {
            return Ok(());
        };
        let ttl_seconds = u64::try_from(data.playbook.retention_ms() / 1000).unwrap_or(0);
        let (recovery_token, checkout_token) = (
            registration.recovery_token.clone(),
            registration.checkout_token.clone(),
        );
        let (indexed, linked) = join(
            protocol::ask(&self.env, &data.shop, registration),
            store::put_recovery_link(
                &self.env,
                &recovery_token,
                data.shop.as_str(),
                checkout_token.as_str(),
                ttl_seconds,
            ),
        )
        .await;
        indexed?;
        linked?;
        let storage = self.state.storage();
        if let Some(mut stored) = load(&storage).await? {
            stored.mark_registered();
            save(&storage, &stored).await?;
            *cart = stored;
        }
        Ok(())
    }

    /// Carries out effects in order. An effect's answer is fed back into the journey, re-read
    /// from storage first: other events may have been handled while the request was out.
    /// `shown` is the journey as it looked before the event: when nothing happened and it looks
    /// the same, the ledger is not called at all (repeated webhooks are common).
    async fn execute(
        &self,
        effects: Vec<Effect>,
        data: &ShopData,
        shown: Option<Summary>,
    ) -> Result<()> {
        let storage = self.state.storage();
        let mut queue = VecDeque::from(effects);
        let mut facts = vec![];
        let mut scrub = false;
        while let Some(effect) = queue.pop_front() {
            let event = match effect {
                Effect::Record(fact) => {
                    facts.push(fact);
                    continue;
                }
                Effect::PauseSending => {
                    if let Some(sealed_token) = data.sealed_whatsapp_token.clone() {
                        let shop = data.shop.clone();
                        let pause = PauseWhatsApp { shop, sealed_token };
                        protocol::ask(&self.env, &data.shop, pause).await?;
                    }
                    continue;
                }
                Effect::Scrub => {
                    scrub = true;
                    continue;
                }
                Effect::Forget => {
                    if let Some(cart) = load(&storage).await? {
                        self.report(&cart, facts, None).await?;
                    }
                    return wipe(&storage).await;
                }
                Effect::Gate { request, phone } => {
                    let step_id = request.step_id.clone();
                    let call = GateCall {
                        request,
                        phone,
                        mode: data.playbook.consent_mode,
                        caps: data.playbook.caps.clone(),
                        phone_number_id: data.phone_number_id(),
                        per_second: data.record.messages_per_second(),
                    };
                    let verdict = protocol::ask(&self.env, &data.shop, call).await?;
                    Event::Gated { step_id, verdict }
                }
                Effect::CreateDiscount {
                    step_id,
                    code,
                    percent,
                    ends_at,
                } => {
                    let request = DiscountRequest {
                        code,
                        percent,
                        starts_at: now(),
                        ends_at,
                    };
                    let code = match self.create_discount(&data.shop, &request).await {
                        DiscountOutcome::Created { code } => Some(code),
                        DiscountOutcome::Failed { reason } => {
                            worker::console_warn!("discount for step {step_id} failed: {reason}");
                            None
                        }
                    };
                    Event::Discount { step_id, code }
                }
                Effect::Send { step_id, message } => {
                    let Some(conn) = &data.record.whatsapp else {
                        continue; // the core only sends when connected
                    };
                    let outcome = send_template(&self.env, &data.shop, conn, &message).await;
                    Event::Sent { step_id, outcome }
                }
            };
            let Some(mut cart) = load(&storage).await? else {
                break;
            };
            let deadline = cart.next_deadline(&data.playbook);
            let more = cart.handle(&data.shop, event, String::new(), data.context(), now());
            commit(&storage, &cart, &data.playbook, deadline).await?;
            queue.extend(more);
        }
        let Some(cart) = load(&storage).await? else {
            return Ok(());
        };
        let summary = cart
            .summary()
            .filter(|now_shown| Some(now_shown) != shown.as_ref());
        self.report(&cart, facts, summary).await?;
        // Read again after the report (other events may have come in meanwhile); erased whole,
        // as SQLite's free pages would keep deleted bytes, and only what holds no personal
        // data is written back.
        if let (true, Some(mut latest)) = (scrub, load(&storage).await?) {
            wipe(&storage).await?;
            latest.scrub(now());
            commit(&storage, &latest, &data.playbook, None).await?;
        }
        Ok(())
    }

    /// Creates a discount code with the Admin API token the ledger holds; when Shopify refuses
    /// it, once more with the one the ledger renews.
    async fn create_discount(
        &self,
        shop: &ShopDomain,
        request: &DiscountRequest,
    ) -> DiscountOutcome {
        let mut rejected = None;
        loop {
            let ask = AdminToken {
                shop: shop.clone(),
                rejected: rejected.take(),
            };
            let retried = ask.rejected.is_some();
            let token = match protocol::ask(&self.env, shop, ask).await {
                Ok(Ok(token)) => token,
                Ok(Err(e)) => {
                    return DiscountOutcome::Failed {
                        reason: e.to_string(),
                    }
                }
                Err(e) => {
                    return DiscountOutcome::Failed {
                        reason: format!("the ledger: {e}"),
                    }
                }
            };
            match shopify::create_discount(&self.env, shop.as_str(), &token, request).await {
                Answer::Done(outcome) => return outcome,
                Answer::Unauthorized if !retried => rejected = Some(token),
                Answer::Unauthorized => {
                    return DiscountOutcome::Failed {
                        reason: AdminError::NeedsReauth.to_string(),
                    }
                }
            }
        }
    }

    /// Facts, and the journey's summary when it changed, go to the shop ledger for the
    /// dashboard; with neither, the ledger is not called.
    async fn report(&self, cart: &Cart, facts: Vec<Fact>, summary: Option<Summary>) -> Result<()> {
        let Some(journey) = cart.journey() else {
            return Ok(());
        };
        if facts.is_empty() && summary.is_none() {
            return Ok(());
        }
        let report = Report {
            checkout_token: journey.checkout_token().clone(),
            facts,
            at: now(),
            summary,
        };
        protocol::ask(&self.env, journey.shop(), report).await
    }
}

/// Everything about the shop a decision needs, read from KV once per event.
struct ShopData {
    shop: ShopDomain,
    /// With the WhatsApp token opened.
    record: ShopRecord,
    /// The WhatsApp token as stored: which connection a refusal (190) is about.
    sealed_whatsapp_token: Option<String>,
    playbook: Playbook,
    /// What the optimizer has learned, when a journey may begin with it on.
    learning: Option<Learning>,
}

impl ShopData {
    async fn load(env: &Env, shop: &ShopDomain) -> Result<ShopData> {
        // Both KV reads at once: every event of every cart waits for them.
        let (record, playbook) = join(
            store::shop(env, shop.as_str()),
            store::playbook(env, shop.as_str()),
        )
        .await;
        let mut record = record?.unwrap_or_default();
        let sealed_whatsapp_token = record.whatsapp.as_ref().map(|w| w.access_token.clone());
        store::open_whatsapp(env, &mut record)?;
        Ok(ShopData {
            shop: shop.clone(),
            record,
            sealed_whatsapp_token,
            playbook: playbook?,
            learning: None,
        })
    }

    fn phone_number_id(&self) -> String {
        self.record
            .whatsapp
            .as_ref()
            .map(|w| w.phone_number_id.clone())
            .unwrap_or_default()
    }

    fn context(&self) -> ShopContext<'_> {
        ShopContext {
            name: &self.record.name,
            whatsapp_connected: self.record.whatsapp.is_some(),
            sending_paused: self.record.sending_paused(),
            timezone: self.record.timezone.as_deref(),
            playbook: &self.playbook,
            learning: self.learning.as_ref(),
        }
    }
}

/// Erases the cart whole, timer included: SQLite free pages would keep deleted rows otherwise.
async fn wipe(storage: &Storage) -> Result<()> {
    storage.delete_alarm().await?;
    storage.delete_all().await
}

async fn load(storage: &Storage) -> Result<Option<Cart>> {
    storage.get(CART_KEY).await
}

/// Saves the cart; an ended journey's personal data is never written (`Cart::scrub`).
async fn save(storage: &Storage, cart: &Cart) -> Result<()> {
    let mut cart = cart.clone();
    cart.scrub(now());
    storage.put(CART_KEY, &cart).await
}

/// 128 random bits, URL-safe: the recovery link cannot be guessed from anything else.
fn recovery_token() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(crypto::random::<16>()?))
}
