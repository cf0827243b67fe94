//! `CartJourney`: one Durable Object per shop + checkout token. It holds the journey, runs the
//! core on every webhook and alarm, persists the result and only then executes the effects.
//! Its alarm is the cart's timer, armed at the absolute instant the core asks for.

use std::collections::VecDeque;

use futures_util::future::join;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, js_sys, DurableObject, Env, Request, Response, Result, ScheduledTime, State,
    Storage,
};

use super::rpc;
use super::shop_ledger::{self, Begin, GateCall, Report};
use crate::core::gate::GateVerdict;
use crate::core::journey::{
    Cart, Effect, Event, Fact, Journey, ShopContext, ShopperSignal, Summary,
};
use crate::core::metrics::segment;
use crate::core::playbook::Playbook;
use crate::core::shopify::discount::{DiscountOutcome, DiscountRequest};
use crate::core::shopify::payloads::{Checkout, Order};
use crate::core::shopify::shop::ShopRecord;
use crate::platform::clock::now;
use crate::platform::{crypto, shopify, store, whatsapp};

const CART_KEY: &str = "cart";

/// What the Worker tells a cart's object.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CartCommand {
    Checkout {
        checkout: Checkout,
        event_id: Option<String>,
    },
    Order {
        order: Order,
    },
    Deleted,
    ShopGone,
    Status {
        wamid: String,
        delivery: crate::core::journey::Delivery,
    },
    Shopper {
        signal: ShopperSignal,
    },
    /// Erase the journey whole (customer or shop redaction).
    Erase,
    /// The recovery link was opened: where to send the shopper.
    Recover,
}

/// What a cart answers: for `Recover`, the checkout URL with the discount applied.
#[derive(Serialize, Deserialize, Default)]
pub struct CartAnswer {
    pub redirect: Option<String>,
}

/// Delivers a command to the object of `shop` + `checkout_token`.
pub async fn send(
    env: &Env,
    shop: &str,
    checkout_token: &str,
    command: &CartCommand,
) -> Result<CartAnswer> {
    let stub = env
        .durable_object("CART")?
        .get_by_name(&format!("{shop}:{checkout_token}"))?;
    // The shop rides in the operation name: the object's own name is not readable everywhere.
    rpc::call(&stub, shop, command).await
}

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
        let shop = rpc::op(&req);
        let command: CartCommand = req.json().await?;
        let storage = self.state.storage();
        if let CartCommand::Erase = command {
            // Wiped whole: SQLite free pages would keep deleted rows otherwise.
            storage.delete_all().await?;
            return rpc::reply(&CartAnswer::default());
        }
        // Everything read from elsewhere comes first: between loading the cart and saving it
        // there are only storage calls, so no other event can interleave (input gates).
        let data = ShopData::load(&self.env, &shop).await?;
        let mut cart = load(&storage).await?.unwrap_or_default();
        let mut answer = CartAnswer::default();
        let event = match command {
            CartCommand::Recover => {
                let Some(journey) = &cart.journey else {
                    return rpc::reply(&answer);
                };
                answer.redirect = recovery_url(journey);
                Event::Shopper(ShopperSignal::Clicked)
            }
            command => match event_of(command) {
                Some(event) => event,
                None => return rpc::reply(&answer),
            },
        };
        let shown = summary_of(&cart);
        let effects = cart.handle(&shop, event, recovery_token()?, data.context(), now());
        if effects.is_empty() && cart.journey.is_none() && cart.closed_at.is_none() {
            return rpc::reply(&answer); // nothing to remember: no phone, nothing begun
        }
        let effects = commit(&storage, &cart, effects).await?;
        self.register(&cart, &data).await?;
        self.execute(effects, &data, shown).await?;
        rpc::reply(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let Some(cart) = load(&storage).await? else {
            return Response::ok("nothing here");
        };
        let data = ShopData::load(&self.env, &cart.shop).await?;
        // Read again after the KV reads: an event may have changed the cart meanwhile.
        let Some(mut cart) = load(&storage).await? else {
            return Response::ok("nothing here");
        };
        let shown = summary_of(&cart);
        let effects = cart.handle(
            &data.shop,
            Event::Timeout,
            String::new(),
            data.context(),
            now(),
        );
        let effects = commit(&storage, &cart, effects).await?;
        self.register(&cart, &data).await?;
        self.execute(effects, &data, shown).await?;
        Response::ok("ok")
    }
}

/// Saves the cart and arms its timer as the core asked, with storage calls only, so the timer
/// always matches the state just saved. Returns the effects that remain to be carried out.
async fn commit(storage: &Storage, cart: &Cart, effects: Vec<Effect>) -> Result<Vec<Effect>> {
    save(storage, cart).await?;
    let mut rest = Vec::with_capacity(effects.len());
    for effect in effects {
        match effect {
            Effect::Timer(Some(at)) => {
                let date = js_sys::Date::new(&(at.0 as f64).into());
                storage.set_alarm(ScheduledTime::new(date)).await?;
            }
            Effect::Timer(None) => storage.delete_alarm().await?,
            other => rest.push(other),
        }
    }
    Ok(rest)
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
    async fn register(&self, cart: &Cart, data: &ShopData) -> Result<()> {
        let (false, Some(journey)) = (cart.registered, &cart.journey) else {
            return Ok(());
        };
        let storage = self.state.storage();
        let Some(phone) = journey.checkout.phone.clone() else {
            return Ok(());
        };
        let begin = Begin {
            checkout_token: journey.checkout.token.clone(),
            cart_token: journey.checkout.cart_token.clone(),
            checkout_id: journey.checkout.id.clone(),
            recovery_token: journey.recovery_token.clone(),
            customer_id: journey.checkout.customer_id.clone(),
            locale: journey.checkout.locale.clone(),
            phone,
            holdout: journey.holdout,
            segment: segment(journey.checkout.total.as_ref()).to_string(),
            at: journey.started_at,
        };
        let ttl_seconds = u64::from(data.playbook.journey_ttl_days) * 86_400;
        let (indexed, linked) = join(
            shop_ledger::call::<_, ()>(&self.env, &data.shop, "begin", &begin),
            store::put_recovery_link(
                &self.env,
                &journey.recovery_token,
                &data.shop,
                &journey.checkout.token,
                ttl_seconds,
            ),
        )
        .await;
        indexed?;
        linked?;
        if let Some(mut cart) = load(&storage).await? {
            cart.registered = true;
            save(&storage, &cart).await?;
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
        while let Some(effect) = queue.pop_front() {
            let event = match effect {
                // Timers are armed by `commit`, together with the state they belong to.
                Effect::Timer(_) => continue,
                Effect::Record(fact) => {
                    facts.push(fact);
                    continue;
                }
                Effect::PauseSending => {
                    store::pause_whatsapp(&self.env, &data.shop).await?;
                    continue;
                }
                Effect::Forget => {
                    // Wiped whole: SQLite free pages keep deleted rows otherwise.
                    if let Some(journey) = load(&storage).await?.and_then(|c| c.journey) {
                        self.report(&journey, facts, None).await?;
                    }
                    storage.delete_all().await?;
                    return Ok(());
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
                    let verdict: GateVerdict =
                        shop_ledger::call(&self.env, &data.shop, "gate", &call).await?;
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
                    let code = match shopify::create_discount(&self.env, &data.shop, &request).await
                    {
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
                    let outcome = whatsapp::send(&self.env, conn, &message).await;
                    Event::Sent { step_id, outcome }
                }
            };
            let Some(mut cart) = load(&storage).await? else {
                break;
            };
            let more = cart.handle(&data.shop, event, String::new(), data.context(), now());
            queue.extend(commit(&storage, &cart, more).await?);
        }
        let Some(journey) = load(&storage).await?.and_then(|c| c.journey) else {
            return Ok(());
        };
        let summary = Some(journey.summary()).filter(|now_shown| Some(now_shown) != shown.as_ref());
        self.report(&journey, facts, summary).await
    }

    /// Facts, and the journey's summary when it changed, go to the shop ledger for the
    /// dashboard; with neither, the ledger is not called.
    async fn report(
        &self,
        journey: &Journey,
        facts: Vec<Fact>,
        summary: Option<Summary>,
    ) -> Result<()> {
        if facts.is_empty() && summary.is_none() {
            return Ok(());
        }
        let report = Report {
            checkout_token: journey.checkout.token.clone(),
            facts,
            at: now(),
            summary: summary.map(serde_json::to_value).transpose()?,
        };
        shop_ledger::call::<_, ()>(&self.env, &journey.shop, "report", &report).await
    }
}

fn summary_of(cart: &Cart) -> Option<Summary> {
    cart.journey.as_ref().map(Journey::summary)
}

/// Everything about the shop a decision needs, read from KV once per event.
struct ShopData {
    shop: String,
    record: ShopRecord,
    playbook: Playbook,
}

impl ShopData {
    async fn load(env: &Env, shop: &str) -> Result<ShopData> {
        // Both KV reads at once: every event of every cart waits for them.
        let (record, playbook) = join(store::shop(env, shop), store::playbook(env, shop)).await;
        let mut record = record?.unwrap_or_default();
        store::open_whatsapp(env, &mut record)?;
        Ok(ShopData {
            shop: shop.to_string(),
            record,
            playbook: playbook?,
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
        }
    }
}

/// The checkout's own recovery URL, with the step's discount code applied when one was sent.
fn recovery_url(journey: &Journey) -> Option<String> {
    let url = journey.checkout.recovery_url.clone()?;
    let code = journey
        .steps
        .iter()
        .rev()
        .find_map(|s| s.discount_code.clone());
    Some(match code {
        Some(code) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}discount={code}")
        }
        None => url,
    })
}

async fn load(storage: &Storage) -> Result<Option<Cart>> {
    storage.get(CART_KEY).await
}

async fn save(storage: &Storage, cart: &Cart) -> Result<()> {
    storage.put(CART_KEY, cart).await
}

/// 128 random bits, URL-safe: the recovery link cannot be guessed from anything else.
fn recovery_token() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(crypto::random::<16>()?))
}
