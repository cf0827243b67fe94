//! The Shopify Admin client: the token grants (exchange, refresh, authorization code) and Admin
//! GraphQL, one request each. Which token to use, and when to renew it, is the shop ledger's
//! business (it is the only holder of the grant); what the answers mean is decided in
//! `core::shopify::oauth` and `core::shopify::discount`.
//!
//! Calls go to `https://{shop}/admin/...`, or to `{SHOPIFY_ADMIN_ORIGIN}/{shop}/admin/...` when
//! that var is set (local fakes).

use std::time::Duration;

use futures_util::future::{select, Either};
use serde_json::{json, Value};
use worker::{AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::core::crypto::seal::{self, Key};
use crate::core::shopify::discount::{self, Verdict};
pub use crate::core::shopify::discount::{DiscountOutcome, DiscountRequest};
pub use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::oauth::{self, Grant, GrantAnswer};
use crate::core::shopify::product_image::{self, Lookup};
use crate::core::shopify::shop::{ShopFacts, ShopifyInstall};
use crate::platform::clock::now;
use crate::platform::{body, config, crypto};

/// Long enough for a slow Admin API, short enough for an admin page request to fail visibly.
const TIMEOUT: Duration = Duration::from_secs(15);
const SHOP_FACTS_QUERY: &str = "query ShopFacts { shop { name currencyCode ianaTimezone } }";

impl From<worker::Error> for AdminError {
    fn from(e: worker::Error) -> Self {
        AdminError::Unavailable(e.to_string())
    }
}

/// What every Shopify call needs from the environment.
pub struct App {
    api_key: String,
    secret: String,
    key: Key,
    admin_origin: String,
    api_version: String,
}

impl App {
    pub fn load(env: &Env) -> worker::Result<App> {
        Ok(App {
            api_key: config::secret(env, "SHOPIFY_API_KEY")?,
            secret: config::secret(env, "SHOPIFY_API_SECRET")?,
            key: crypto::data_key(env)?,
            admin_origin: config::var_or(env, "SHOPIFY_ADMIN_ORIGIN", ""),
            api_version: config::var_or(env, "SHOPIFY_API_VERSION", "2026-10"),
        })
    }

    fn admin_base(&self, shop: &str) -> String {
        base_url(&self.admin_origin, shop)
    }

    pub fn open(&self, sealed: &str) -> Result<String, AdminError> {
        seal::open(&self.key, sealed)
            .map_err(|e| AdminError::Unavailable(format!("stored token: {e}")))
    }
}

/// `https://{shop}`, or the fake's stand-in for it: where the merchant's browser is sent to
/// approve an install.
pub fn admin_base(env: &Env, shop: &str) -> String {
    base_url(&config::var_or(env, "SHOPIFY_ADMIN_ORIGIN", ""), shop)
}

fn base_url(admin_origin: &str, shop: &str) -> String {
    match admin_origin.trim_end_matches('/') {
        "" => format!("https://{shop}"),
        origin => format!("{origin}/{shop}"),
    }
}

/// Asks Shopify for a token and seals what it grants.
pub async fn grant(app: &App, shop: &str, grant: Grant<'_>) -> Result<ShopifyInstall, AdminError> {
    let url = format!("{}/admin/oauth/access_token", app.admin_base(shop));
    let body = oauth::grant_body(grant, &app.api_key, &app.secret);
    let reply = post(&url, None, &body).await?;
    match oauth::parse_grant_answer(reply.status, &reply.body) {
        GrantAnswer::Granted(token) => {
            let nonces = [crypto::random()?, crypto::random()?];
            Ok(oauth::sealed_install(&token, &app.key, now(), nonces))
        }
        GrantAnswer::Refused(e) => Err(AdminError::Refused(e)),
        GrantAnswer::Unavailable(e) => Err(AdminError::Unavailable(e)),
    }
}

/// An Admin GraphQL answer, or `Unauthorized` when Shopify refused the token (HTTP 401).
pub enum Answer<T> {
    Done(T),
    Unauthorized,
}

/// POSTs a GraphQL body with the sealed token given.
async fn graphql(
    app: &App,
    shop: &str,
    sealed_token: &str,
    body: &Value,
) -> Result<Answer<Reply>, AdminError> {
    let url = format!(
        "{}/admin/api/{}/graphql.json",
        app.admin_base(shop),
        app.api_version
    );
    let reply = post(&url, Some(&app.open(sealed_token)?), body).await?;
    Ok(match reply.status {
        401 => Answer::Unauthorized,
        _ => Answer::Done(reply),
    })
}

/// The shop's name, currency and time zone.
pub async fn shop_facts(
    app: &App,
    shop: &str,
    sealed_token: &str,
) -> Result<Answer<Option<ShopFacts>>, AdminError> {
    let reply = match graphql(
        app,
        shop,
        sealed_token,
        &json!({ "query": SHOP_FACTS_QUERY }),
    )
    .await?
    {
        Answer::Done(reply) => reply,
        Answer::Unauthorized => return Ok(Answer::Unauthorized),
    };
    let facts = serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|body| {
            let shop = body.pointer("/data/shop")?.clone();
            let text = |key: &str| {
                shop.get(key)
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty() && v.len() <= 255)
                    .map(str::to_string)
            };
            Some(ShopFacts {
                name: text("name"),
                currency: text("currencyCode"),
                timezone: text("ianaTimezone"),
            })
        });
    if facts.is_none() {
        worker::console_warn!("no shop facts for {shop} in HTTP {}", reply.status);
    }
    Ok(Answer::Done(facts))
}

/// Creates the step's discount code with the sealed token given. Throttling, 5xx and lost
/// answers are retried with backoff (the code is the caller's and fixed, so a retry cannot
/// create a second one). Never panics: the outcome says it all, or that the token was refused.
pub async fn create_discount(
    env: &Env,
    shop: &str,
    sealed_token: &str,
    request: &DiscountRequest,
) -> Answer<DiscountOutcome> {
    let failed = |reason: String| Answer::Done(DiscountOutcome::Failed { reason });
    if let Err(reason) = request.check() {
        return failed(reason);
    }
    let app = match App::load(env) {
        Ok(app) => app,
        Err(e) => return failed(format!("cannot load the app's settings: {e}")),
    };
    let body = request.graphql_body(&app.api_version);
    let mut attempt = 0;
    loop {
        let verdict = match graphql(&app, shop, sealed_token, &body).await {
            Ok(Answer::Done(reply)) => {
                discount::classify(reply.status, &reply.body, reply.retry_after_ms, request)
            }
            Ok(Answer::Unauthorized) => return Answer::Unauthorized,
            Err(AdminError::Unavailable(e)) => {
                worker::console_warn!("discount for {shop}: {e}");
                Verdict::Retry { after_ms: None }
            }
            Err(e) => return failed(e.to_string()),
        };
        match verdict {
            Verdict::Done(outcome) => return Answer::Done(outcome),
            Verdict::Retry { after_ms } => {
                attempt += 1;
                if attempt >= discount::MAX_ATTEMPTS {
                    return failed(format!("Shopify was unavailable for {attempt} attempts"));
                }
                let wait = discount::backoff_ms(attempt - 1, after_ms);
                Delay::from(Duration::from_millis(wait.max(0) as u64)).await;
            }
        }
    }
}

/// The variant's image (`core::shopify::product_image`), one request: a lookup that fails is
/// not retried, as the send it precedes must not wait (the fallback image goes instead).
pub async fn variant_image(
    env: &Env,
    shop: &str,
    sealed_token: &str,
    variant_id: &str,
) -> Answer<Lookup> {
    let app = match App::load(env) {
        Ok(app) => app,
        Err(e) => return Answer::Done(Lookup::Failed(format!("the app's settings: {e}"))),
    };
    let body = product_image::graphql_body(variant_id);
    match graphql(&app, shop, sealed_token, &body).await {
        Ok(Answer::Done(reply)) => Answer::Done(product_image::parse(reply.status, &reply.body)),
        Ok(Answer::Unauthorized) => Answer::Unauthorized,
        Err(e) => Answer::Done(Lookup::Failed(e.to_string())),
    }
}

/// An Admin GraphQL answer as it came: its HTTP status, body and `Retry-After` (ms). What it
/// means is the core's to say (`core::shopify::sweep`, `core::shopify::customer_consent`).
pub struct Raw {
    pub status: u16,
    pub body: String,
    pub retry_after_ms: Option<i64>,
}

/// POSTs `body` with the sealed token given; `Unauthorized` when Shopify refused the token.
pub async fn query(
    app: &App,
    shop: &str,
    sealed_token: &str,
    body: &Value,
) -> Result<Answer<Raw>, AdminError> {
    Ok(match graphql(app, shop, sealed_token, body).await? {
        Answer::Done(r) => Answer::Done(Raw {
            status: r.status,
            body: r.body,
            retry_after_ms: r.retry_after_ms,
        }),
        Answer::Unauthorized => Answer::Unauthorized,
    })
}

struct Reply {
    status: u16,
    body: String,
    retry_after_ms: Option<i64>,
}

/// POSTs JSON, with the Admin API token when given. A timeout is an error: whether Shopify
/// acted on the request is unknown.
async fn post(url: &str, access_token: Option<&str>, body: &Value) -> worker::Result<Reply> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set("Accept", "application/json")?;
    if let Some(token) = access_token {
        headers.set("X-Shopify-Access-Token", token)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(body)?.into()));
    let request = Request::new_with_init(url, &init)?;

    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let timer = Delay::from(TIMEOUT);
    futures_util::pin_mut!(sending, timer);
    let response = match select(sending, timer).await {
        Either::Left((response, _)) => response?,
        Either::Right(_) => {
            controller.abort();
            return Err(worker::Error::RustError(format!(
                "no answer within {TIMEOUT:?}"
            )));
        }
    };
    let retry_after_ms = response
        .headers()
        .get("Retry-After")?
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| (s * 1000.0) as i64);
    Ok(Reply {
        status: response.status_code(),
        retry_after_ms,
        body: body::text(response).await.unwrap_or_default(),
    })
}
