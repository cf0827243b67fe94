//! `CartJourney`: one Durable Object per shop + checkout token. It holds the journey, runs the
//! core on every webhook and alarm, persists the result and only then executes the effects.
//! Its alarm is the cart's timer, armed at the absolute instant the core asks for.

use std::collections::VecDeque;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, js_sys, DurableObject, Env, Method, Request, RequestInit, Response, Result,
    ScheduledTime, State, Storage,
};

use crate::core::journey::{Effect, Event, Fact, Journey, ShopContext};
use crate::core::shopify::{Checkout, Order};
use crate::core::time::Millis;
use crate::platform::{config, store, whatsapp};

const JOURNEY_KEY: &str = "journey";

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
}

/// Delivers a command to the object of `shop` + `checkout_token`.
pub async fn send(
    env: &Env,
    shop: &str,
    checkout_token: &str,
    command: &CartCommand,
) -> Result<()> {
    let stub = env
        .durable_object("CART")?
        .get_by_name(&format!("{shop}:{checkout_token}"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(command)?.into()));
    let mut resp = stub
        .fetch_with_request(Request::new_with_init(
            &format!("https://cart/{shop}"),
            &init,
        )?)
        .await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "cart object answered {}: {}",
            resp.status_code(),
            resp.text().await.unwrap_or_default()
        )));
    }
    Ok(())
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
        // The shop is in the path because the object's name is not readable in every runtime.
        let shop = req.path().trim_start_matches('/').to_string();
        let command: CartCommand = req.json().await?;
        let now = now();
        let shop_ctx = ShopData::load(&self.env, &shop).await?;
        let storage = self.state.storage();
        let effects = match (load(&storage).await?, command) {
            (Some(mut journey), command) => {
                let event = match command {
                    CartCommand::Checkout { checkout, event_id } => {
                        Event::Checkout { checkout, event_id }
                    }
                    CartCommand::Order { order } => Event::Order(order),
                };
                let effects = journey.handle(event, shop_ctx.context(), now);
                save(&storage, &journey).await?;
                effects
            }
            (None, CartCommand::Checkout { checkout, event_id }) => {
                match Journey::begin(
                    &shop,
                    checkout,
                    event_id,
                    recovery_token()?,
                    shop_ctx.context(),
                    now,
                ) {
                    Some((journey, effects)) => {
                        save(&storage, &journey).await?;
                        effects
                    }
                    None => vec![],
                }
            }
            // An order for a checkout we never tracked: nothing to stop.
            (None, CartCommand::Order { .. }) => vec![],
        };
        self.execute(effects, &shop_ctx).await?;
        Response::ok("ok")
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let Some(mut journey) = load(&storage).await? else {
            return Response::ok("no journey");
        };
        let shop_ctx = ShopData::load(&self.env, &journey.shop).await?;
        let effects = journey.handle(Event::Timeout, shop_ctx.context(), now());
        save(&storage, &journey).await?;
        self.execute(effects, &shop_ctx).await?;
        Response::ok("ok")
    }
}

impl CartJourney {
    /// Carries out effects in order. A send's outcome is fed back into the journey, re-read from
    /// storage first: other events may have been handled while the request was out.
    async fn execute(&self, effects: Vec<Effect>, shop: &ShopData) -> Result<()> {
        let storage = self.state.storage();
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Timer(Some(at)) => {
                    let date = js_sys::Date::new(&(at.0 as f64).into());
                    storage.set_alarm(ScheduledTime::new(date)).await?;
                }
                Effect::Timer(None) => storage.delete_alarm().await?,
                Effect::Record(fact) => log_fact(&fact),
                Effect::Send { step_id, message } => {
                    let Some(conn) = &shop.record.whatsapp else {
                        continue; // the core only sends when connected
                    };
                    let outcome = whatsapp::send(&shop.graph_base, conn, &message).await;
                    let Some(mut journey) = load(&storage).await? else {
                        continue;
                    };
                    let more =
                        journey.handle(Event::Sent { step_id, outcome }, shop.context(), now());
                    save(&storage, &journey).await?;
                    queue.extend(more);
                }
            }
        }
        Ok(())
    }
}

/// Everything about the shop a decision needs, read from KV once per event.
struct ShopData {
    record: crate::core::shop::ShopRecord,
    playbook: crate::core::playbook::Playbook,
    graph_base: String,
}

impl ShopData {
    async fn load(env: &Env, shop: &str) -> Result<ShopData> {
        Ok(ShopData {
            record: store::shop(env, shop).await?.unwrap_or_default(),
            playbook: store::playbook(env, shop).await?,
            graph_base: config::graph_base(env),
        })
    }

    fn context(&self) -> ShopContext<'_> {
        ShopContext {
            name: &self.record.name,
            whatsapp_connected: self.record.whatsapp.is_some(),
            playbook: &self.playbook,
        }
    }
}

async fn load(storage: &Storage) -> Result<Option<Journey>> {
    storage.get(JOURNEY_KEY).await
}

async fn save(storage: &Storage, journey: &Journey) -> Result<()> {
    storage.put(JOURNEY_KEY, journey).await
}

fn now() -> Millis {
    Millis(worker::Date::now().as_millis() as i64)
}

/// 128 random bits, URL-safe: the recovery link cannot be guessed from anything else.
fn recovery_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| worker::Error::RustError(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Facts go to the log without personal data; the shop ledger will aggregate them.
fn log_fact(fact: &Fact) {
    worker::console_log!("journey fact: {fact:?}");
}
