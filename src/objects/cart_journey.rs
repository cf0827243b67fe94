//! `CartJourney`: one Durable Object per shop + checkout token. It holds the cart, runs the
//! core on every command and alarm, persists the result and only then executes the effects.
//! Its alarm is the cart's timer, armed from the cart's next deadline and nothing else.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use futures_util::lock::Mutex;
use worker::wasm_bindgen::JsValue;
use worker::{
    durable_object, js_sys, DurableObject, Env, Request, Response, Result, ScheduledTime, State,
    Storage,
};

use super::protocol::{
    self, CartAnswer, CartCommand, GateCall, GetLearning, PauseWhatsApp, Report, SlotCall,
};
use super::send::send_template;
use super::{admin_api, rpc};
use crate::core::journey::{
    Cart, Effect, Event, Fact, HeldSlot, Registration, ShopContext, ShopperSignal, Summary,
};
use crate::core::optimizer::Learning;
use crate::core::playbook::Playbook;
use crate::core::shopify::discount::{DiscountOutcome, DiscountRequest};
use crate::core::shopify::shop::{ShopRecord, WhatsAppConnection};
use crate::core::values::ids::{ShopDomain, StepId};
use crate::core::values::recovery_link;
use crate::core::values::time::Millis;
use crate::core::whatsapp::routing::Endpoint;
use crate::platform::clock::now;
use crate::platform::crypto;
use crate::platform::store::{self, Settings};
use crate::platform::zones::IntlZones;

const CART_KEY: &str = "cart";

#[durable_object]
pub struct CartJourney {
    state: State,
    env: Env,
    /// The ledger has indexed this journey since the object woke: the flag is saved with the
    /// next change instead of costing a write of its own (a repeat after a restart is
    /// harmless: the ledger indexes a journey once).
    registered: Cell<bool>,
    /// Where the gate said the step's template goes, for the send in its slot (a second or so
    /// later): that send then needs no ledger call. Asked again if the object restarted.
    route: RefCell<Option<(StepId, Endpoint)>>,
    /// Saves and erasures since the object woke: tells `begin` whether another event wrote
    /// the cart while it waited on the ledger.
    writes: Cell<u64>,
    /// Erasures since the object woke: a registration answered after one is not this cart's.
    erasures: Cell<u64>,
    /// Held while a new cart's first event reports before its save; the cart's other events
    /// wait for it before they read the cart last (an alarm cannot ring before that save).
    beginning: Mutex<()>,
}

impl DurableObject for CartJourney {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            registered: Cell::new(false),
            route: RefCell::new(None),
            writes: Cell::new(0),
            erasures: Cell::new(0),
            beginning: Mutex::new(()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: CartCommand = rpc::read(&req.text().await?)?;
        let storage = self.state.storage();
        if let CartCommand::Erase = command {
            // After a first report that is out, and before the events waiting on it: neither
            // save may bring the cart back.
            let _turn = self.beginning.lock().await;
            return self.wipe(&storage).await.and_then(|_| nothing());
        }
        let stored = load(&storage).await?;
        // A repeated or stale checkout event stops here, before any read from elsewhere.
        if let (CartCommand::Checkout { checkout, event_id }, Some(cart)) = (&command, &stored) {
            if !cart.is_news(checkout, event_id.as_deref()) {
                return nothing();
            }
        }
        // A recovery link addresses the object by id, without the shop: the cart knows it.
        let shop = ShopDomain::parse(&rpc::path(&req)).or_else(|| stored.as_ref()?.shop().cloned());
        let Some(shop) = shop else {
            return nothing();
        };
        let begins = may_begin(stored.as_ref(), &command);
        // Everything read from elsewhere comes first: between loading the cart and saving it
        // there are only storage calls, so no other event can interleave (input gates). When
        // something was read, the cart is read again: another event may have changed it.
        let (mut data, mut waited) = ShopData::load(&self.env, &shop).await?;
        if data.playbook().optimize.enabled && begins {
            data.learning = Some(protocol::ask(&self.env, &shop, GetLearning).await?);
            waited = true;
        }
        // A new cart's first report may be out (`report_then_save`): its save comes first,
        // and the events that waited for it read the cart one at a time (each saves before
        // the next reads: from here to the save there are only storage calls).
        let turn = match self.beginning.try_lock() {
            Some(_) => None,
            None => {
                waited = true;
                Some(self.beginning.lock().await)
            }
        };
        let latest = match waited {
            true => load(&storage).await?,
            false => stored,
        };
        drop(turn);
        let fresh = latest.is_none();
        let mut cart = latest.unwrap_or_default();
        let mut answer = CartAnswer::default();
        let event = match command {
            CartCommand::Recover { token } => {
                let Some(journey) = cart.journey().filter(|j| j.opens_with(&token)) else {
                    return nothing();
                };
                answer.redirect = journey.recovery_url();
                Event::Shopper(ShopperSignal::Clicked)
            }
            command => match event_of(command) {
                Some(event) => event,
                None => return nothing(),
            },
        };
        let again = event.clone();
        let mut shown = cart.summary();
        let mut deadline = cart.next_deadline(data.playbook());
        let token = recovery_link::token(&self.state.id().to_string(), &random_secret()?);
        let mut effects = cart.handle(&shop, event, token.clone(), data.context(), now());
        if effects.is_empty() && cart.is_blank() {
            return rpc::reply(&answer); // nothing to remember: no phone, nothing begun
        }
        // For a journey the ledger indexes already, or a new cart while no other event of it
        // can be handled (they wait for `beginning`), so that the ledger indexes no journey
        // but the one saved.
        // A new cart only on a webhook, which Shopify delivers again if its save fails: the
        // sweep's checkouts are not told twice.
        let schedules = matches!(again, Event::Checkout { .. });
        let redelivered = matches!(
            again,
            Event::Checkout {
                event_id: Some(_),
                ..
            }
        );
        let facts_only = effects.iter().all(Effect::is_fact);
        let indexed = cart.journey().is_some() && cart.registration().is_none();
        let beginning = (fresh && redelivered && facts_only)
            .then(|| self.beginning.try_lock())
            .flatten();
        if schedules && facts_only && (indexed || beginning.is_some()) {
            let reported =
                self.report_then_save(&storage, &mut cart, effects, &data, shown, deadline);
            let reported = reported.await?;
            drop(beginning);
            if reported {
                return rpc::reply(&answer);
            }
            // Another event saved this cart while the ledger answered: this one is handled
            // again on what it saved, like any event (a report taken twice counts once), and
            // the saved journey's summary and slot are reported whole, as the ledger took this
            // event's. One that erased the cart ends this one too, as after a save.
            let Some(saved) = load(&storage).await? else {
                return rpc::reply(&answer);
            };
            cart = saved;
            deadline = cart.next_deadline(data.playbook());
            shown = None;
            cart.hold(None);
            effects = cart.handle(&shop, again, token, data.context(), now());
        }
        self.commit(&storage, &mut cart, data.playbook(), deadline)
            .await?;
        self.execute(cart, effects, &data, shown).await?;
        rpc::reply(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let stored = load(&storage).await?;
        let Some(shop) = stored.as_ref().and_then(|c| c.shop().cloned()) else {
            return Response::ok("nothing here");
        };
        let (data, waited) = ShopData::load(&self.env, &shop).await?;
        // Read again after the KV reads: an event may have changed the cart meanwhile.
        let cart = match waited {
            true => load(&storage).await?,
            false => stored,
        };
        let Some(mut cart) = cart else {
            return Response::ok("nothing here");
        };
        let shown = cart.summary();
        let effects = cart.handle(&shop, Event::Timeout, String::new(), data.context(), now());
        // The alarm that woke us is spent: re-arm whatever the deadline is.
        self.commit(&storage, &mut cart, data.playbook(), None)
            .await?;
        self.execute(cart, effects, &data, shown).await?;
        Response::ok("ok")
    }
}

fn nothing() -> Result<Response> {
    rpc::reply(&CartAnswer::default())
}

/// Whether `command` may begin a journey here: the optimizer's choice then reads what the
/// shop ledger has learned, once per journey, never for a cart already under way.
fn may_begin(stored: Option<&Cart>, command: &CartCommand) -> bool {
    let CartCommand::Checkout { checkout, .. } = command else {
        return false;
    };
    if checkout.phone.is_none() || checkout.completed {
        return false;
    }
    stored.is_none_or(Cart::is_blank)
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
        CartCommand::Erase | CartCommand::Recover { .. } => return None,
    })
}

impl CartJourney {
    /// A checkout event that only records facts (a journey begun or re-timed, nothing to ask
    /// or send yet) reports to the ledger before the cart is saved, which is then saved once
    /// with the slot held: saving first and again with the slot cost a second storage commit
    /// per webhook, most of what a checkout event waits on. The ledger may so see a report
    /// twice (a webhook retried after a failed save or a restart, or one handled again), which
    /// a checkout's facts allow: each sets what it says, none adds to a count or a log (a
    /// refusal's consent record, say, comes only from a send or a status), and a registration
    /// repeated with another recovery link takes the new one (`Db::begin`). False, with
    /// nothing saved, when another event saved or erased this cart while the ledger answered;
    /// `armed` is the deadline its alarm is set to.
    async fn report_then_save(
        &self,
        storage: &Storage,
        cart: &mut Cart,
        effects: Vec<Effect>,
        data: &ShopData,
        shown: Option<Summary>,
        armed: Option<Millis>,
    ) -> Result<bool> {
        let writes = self.writes.get();
        let facts = effects.into_iter().filter_map(Effect::into_fact).collect();
        let summary = cart.summary().filter(|now| Some(now) != shown.as_ref());
        let slot = self.slot_call(cart, data);
        let asked = slot.is_some();
        let held = self
            .report(cart, cart.registration(), facts, summary, slot)
            .await?;
        if self.writes.get() != writes {
            return Ok(false);
        }
        if asked {
            cart.hold(held);
        }
        self.commit(storage, cart, data.playbook(), armed).await?;
        Ok(true)
    }

    /// The change to the step's pacing slot the cart's state asks for.
    fn slot_call(&self, cart: &Cart, data: &ShopData) -> Option<SlotCall> {
        cart.slot_change().map(|change| SlotCall {
            change,
            phone_number_id: data.phone_number_id(),
            per_second: data.record().messages_per_second(),
        })
    }

    /// Saves the cart and, when its next deadline moved from `armed`, arms the alarm there, with
    /// storage calls only, so the timer always matches the state just saved.
    async fn commit(
        &self,
        storage: &Storage,
        cart: &mut Cart,
        playbook: &Playbook,
        armed: Option<Millis>,
    ) -> Result<()> {
        if self.registered.get() {
            cart.mark_registered();
        }
        self.writes.set(self.writes.get() + 1);
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

    /// Erases the cart whole, timer included: SQLite free pages would keep deleted rows
    /// otherwise. A journey begun here later is a new one, to be indexed again.
    async fn wipe(&self, storage: &Storage) -> Result<()> {
        self.registered.set(false);
        self.writes.set(self.writes.get() + 1);
        self.erasures.set(self.erasures.get() + 1);
        storage.delete_alarm().await?;
        storage.delete_all().await
    }

    /// Carries out effects in order. An effect's answer is fed back into the journey, re-read
    /// from storage first: other events may have been handled while the request was out.
    /// `shown` is the journey as it looked before the event: when nothing happened and it looks
    /// the same, the ledger is not called at all (repeated webhooks are common).
    ///
    /// A journey the ledger has not indexed yet is registered by the report at the end, in the
    /// same call, or before the first gate, which writes to its index entry.
    async fn execute(
        &self,
        committed: Cart,
        effects: Vec<Effect>,
        data: &ShopData,
        shown: Option<Summary>,
    ) -> Result<()> {
        let storage = self.state.storage();
        let mut registration = committed.registration();
        // The cart as last saved, unless a request went out since (then it is read again).
        let mut saved = Some(committed);
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
                    if let Some(sealed_token) = data.sealed_whatsapp_token() {
                        let shop = data.shop.clone();
                        let pause = PauseWhatsApp { shop, sealed_token };
                        protocol::ask(&self.env, &data.shop, pause).await?;
                        saved = None;
                    }
                    continue;
                }
                Effect::Scrub => {
                    scrub = true;
                    continue;
                }
                Effect::Forget => {
                    if let Some(cart) = load(&storage).await? {
                        self.report(&cart, registration, facts, None, None).await?;
                    }
                    return self.wipe(&storage).await;
                }
                Effect::Gate { request, phone } => {
                    if registration.is_some() {
                        let pending = registration.take();
                        let cart = match saved.take() {
                            Some(cart) => cart,
                            None => load(&storage).await?.unwrap_or_default(),
                        };
                        self.report(&cart, pending, vec![], None, None).await?;
                    }
                    let step_id = request.step_id.clone();
                    let call = GateCall {
                        request,
                        phone,
                        mode: data.playbook().consent_mode,
                        caps: data.playbook().caps.clone(),
                        phone_number_id: data.phone_number_id(),
                        per_second: data.record().messages_per_second(),
                    };
                    let answer = protocol::ask(&self.env, &data.shop, call).await?;
                    let route = answer.endpoint.map(|e| (step_id.clone(), e));
                    self.route.replace(route);
                    Event::Gated {
                        step_id,
                        verdict: answer.verdict,
                    }
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
                    let code = match admin_api::create_discount(&self.env, &data.shop, &request)
                        .await
                    {
                        DiscountOutcome::Created { code } => Some(code),
                        DiscountOutcome::Failed { reason } => {
                            worker::console_warn!("discount for step {step_id} failed: {reason}");
                            None
                        }
                    };
                    Event::Discount { step_id, code }
                }
                Effect::LookupImage {
                    step_id,
                    variant_id,
                } => {
                    let url = admin_api::variant_image(&self.env, &data.shop, &variant_id).await;
                    Event::Image { step_id, url }
                }
                Effect::Send { step_id, message } => {
                    let Some(conn) = data.connection(&self.env)? else {
                        continue; // the core only sends when connected
                    };
                    let route = self
                        .route
                        .take()
                        .filter(|(step, _)| *step == step_id)
                        .map(|(_, endpoint)| endpoint);
                    let outcome =
                        send_template(&self.env, &data.shop, &conn, &message, route).await;
                    Event::Sent { step_id, outcome }
                }
            };
            let Some(mut cart) = load(&storage).await? else {
                return Ok(());
            };
            let deadline = cart.next_deadline(data.playbook());
            let more = cart.handle(&data.shop, event, String::new(), data.context(), now());
            self.commit(&storage, &mut cart, data.playbook(), deadline)
                .await?;
            saved = Some(cart);
            queue.extend(more);
        }
        let cart = match saved {
            Some(cart) => cart,
            None => match load(&storage).await? {
                Some(cart) => cart,
                None => return Ok(()),
            },
        };
        let summary = cart
            .summary()
            .filter(|now_shown| Some(now_shown) != shown.as_ref());
        let slot = self.slot_call(&cart, data);
        let asked = slot.is_some();
        let held = self
            .report(&cart, registration, facts, summary, slot)
            .await?;
        if !asked && !scrub {
            return Ok(());
        }
        // Read again after the report: other events may have come in meanwhile.
        let Some(mut latest) = load(&storage).await? else {
            return Ok(());
        };
        // The alarm as it is, not as this state implies: while the report was out, the alarm
        // may have rung and been spent, or been moved by the event that woke meanwhile.
        let mut armed = storage.get_alarm().await?.map(Millis);
        if asked {
            // Moved to the slot now held, so carts due together wake one slot apart.
            latest.hold(held);
        }
        if scrub {
            // Erased whole, as SQLite's free pages would keep deleted bytes, and only what
            // holds no personal data is written back.
            let registered = self.registered.get();
            self.wipe(&storage).await?;
            self.registered.set(registered);
            latest.scrub(now());
            armed = None;
        }
        self.commit(&storage, &mut latest, data.playbook(), armed)
            .await
    }

    /// Facts, and the journey's summary when it changed, go to the shop ledger for the
    /// dashboard, with the journey's registration while it is pending and the change to its
    /// pacing slot; with none of them, the ledger is not called. Answers the slot now held.
    async fn report(
        &self,
        cart: &Cart,
        registration: Option<Registration>,
        facts: Vec<Fact>,
        summary: Option<Summary>,
        slot: Option<SlotCall>,
    ) -> Result<Option<HeldSlot>> {
        let Some(journey) = cart.journey() else {
            return Ok(None);
        };
        if registration.is_none() && facts.is_empty() && summary.is_none() && slot.is_none() {
            return Ok(None);
        }
        let registers = registration.is_some();
        let erasures = self.erasures.get();
        let report = Report {
            registration: registration.map(Box::new),
            checkout_token: journey.checkout_token().clone(),
            facts,
            at: now(),
            summary,
            slot,
        };
        let held = protocol::ask(&self.env, journey.shop(), report).await?;
        // Not when the cart was erased meanwhile: a journey begun after is another one.
        if registers && self.erasures.get() == erasures {
            self.registered.set(true);
        }
        Ok(held)
    }
}

/// Everything about the shop a decision needs (`store::settings`: read from KV at most once
/// every few seconds per isolate).
struct ShopData {
    shop: ShopDomain,
    settings: Rc<Settings>,
    /// What the optimizer has learned, when a journey may begin with it on.
    learning: Option<Learning>,
}

impl ShopData {
    /// The shop's settings, and whether reading them had to wait on KV.
    async fn load(env: &Env, shop: &ShopDomain) -> Result<(ShopData, bool)> {
        let recent = store::recent_settings(env, shop.as_str());
        let waited = recent.is_none();
        let settings = match recent {
            Some(settings) => settings,
            None => store::settings(env, shop.as_str()).await?,
        };
        let data = ShopData {
            shop: shop.clone(),
            settings,
            learning: None,
        };
        Ok((data, waited))
    }

    fn record(&self) -> &ShopRecord {
        &self.settings.record
    }

    fn playbook(&self) -> &Playbook {
        &self.settings.playbook
    }

    /// The WhatsApp connection with its token opened: only when a message goes out.
    fn connection(&self, env: &Env) -> Result<Option<WhatsAppConnection>> {
        let mut record = ShopRecord {
            whatsapp: self.record().whatsapp.clone(),
            ..ShopRecord::default()
        };
        store::open_whatsapp(env, &mut record)?;
        Ok(record.whatsapp)
    }

    /// The WhatsApp token as stored: which connection a refusal (190) is about.
    fn sealed_whatsapp_token(&self) -> Option<String> {
        let connection = self.record().whatsapp.as_ref()?;
        Some(connection.access_token.clone())
    }

    fn phone_number_id(&self) -> String {
        self.record()
            .whatsapp
            .as_ref()
            .map(|w| w.phone_number_id.clone())
            .unwrap_or_default()
    }

    fn context(&self) -> ShopContext<'_> {
        let record = self.record();
        ShopContext {
            name: &record.name,
            whatsapp_connected: record.whatsapp.is_some(),
            sending_paused: record.sending_paused(),
            timezone: record.timezone.as_deref(),
            playbook: self.playbook(),
            learning: self.learning.as_ref(),
            zones: &IntlZones,
        }
    }
}

/// The cart is stored as JSON text: the runtime then copies one string, where an object costs
/// a crossing into wasm per field each way and V8's serializer besides. A cart saved as an
/// object (before) is still read as one.
async fn load(storage: &Storage) -> Result<Option<Cart>> {
    let Some(Stored(value)) = storage.get(CART_KEY).await? else {
        return Ok(None);
    };
    Ok(Some(match value.as_string() {
        Some(json) => serde_json::from_str(&json)?,
        None => serde_wasm_bindgen::from_value(value)?,
    }))
}

/// A stored value as the runtime returns it.
#[derive(serde::Deserialize)]
struct Stored(#[serde(with = "serde_wasm_bindgen::preserve")] JsValue);

/// Saves the cart; an ended journey's personal data is never written (`Cart::scrub`).
async fn save(storage: &Storage, cart: &Cart) -> Result<()> {
    let mut cart = cart.clone();
    cart.scrub(now());
    storage
        .put_raw(CART_KEY, serde_json::to_string(&cart)?)
        .await
}

/// 128 random bits, URL-safe: the part of the recovery link that cannot be guessed.
fn random_secret() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(crypto::random::<16>()?))
}
