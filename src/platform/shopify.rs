//! The Shopify Admin client: the token grants (exchange, refresh, authorization code) and Admin
//! GraphQL. Tokens live sealed in the shop's KV record (`shop:{domain}`); what the answers mean
//! is decided in `core::oauth` and `core::discount`.
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
use crate::core::shopify::oauth::{self, Grant, GrantAnswer};
use crate::core::shopify::shop::{ShopFacts, ShopifyInstall};
use crate::platform::clock::now;
use crate::platform::{config, crypto, store};

/// Long enough for a slow Admin API, short enough for an admin page request to fail visibly.
const TIMEOUT: Duration = Duration::from_secs(15);
const SHOP_FACTS_QUERY: &str = "query ShopFacts { shop { name currencyCode ianaTimezone } }";

#[derive(Debug)]
pub enum AdminError {
    /// The shop has never granted access, or uninstalled.
    NotInstalled,
    /// Shopify refuses our tokens; the next token exchange (the merchant opening the app)
    /// repairs it.
    NeedsReauth,
    /// Shopify refused a grant: the credential we sent is no good.
    Refused(String),
    /// Shopify did not answer usefully (network, timeout, 5xx) or our storage failed; trying
    /// again later may work.
    Unavailable(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::NotInstalled => f.write_str("the shop has not granted cartback access"),
            AdminError::NeedsReauth => f.write_str("the shop needs to re-authorize cartback"),
            AdminError::Refused(e) => write!(f, "Shopify refused the grant: {e}"),
            AdminError::Unavailable(e) => write!(f, "Shopify is unavailable: {e}"),
        }
    }
}

impl From<worker::Error> for AdminError {
    fn from(e: worker::Error) -> Self {
        AdminError::Unavailable(e.to_string())
    }
}

/// What every Shopify call needs from the environment.
struct App {
    api_key: String,
    secret: String,
    key: Key,
    admin_origin: String,
    api_version: String,
}

impl App {
    fn load(env: &Env) -> worker::Result<App> {
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

    fn open(&self, sealed: &str) -> Result<String, AdminError> {
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

/// Managed installation: swaps the verified session token for an offline token when we hold
/// none, Shopify refuses ours, or ours can no longer be refreshed. Then learns the shop's name
/// (the `shop_name` template variable) if it is not known yet; that failing is only logged.
pub async fn ensure_installed(
    env: &Env,
    shop: &str,
    session_token: &str,
) -> Result<(), AdminError> {
    let app = App::load(env)?;
    let record = store::shop(env, shop).await?.unwrap_or_default();
    let now = now();
    let needs_facts = record.needs_facts();
    let mut access = match record.shopify {
        Some(install)
            if !record.needs_reauth && (!install.refresh_due(now) || install.can_refresh(now)) =>
        {
            Access::loaded(install)
        }
        _ => Access::granted(grant(&app, shop, Grant::TokenExchange { session_token }).await?),
    };
    let facts = if needs_facts {
        learn_facts(env, &app, shop, &mut access).await
    } else {
        None
    };
    save(env, shop, &access, facts).await?;
    Ok(())
}

/// The authorization-code callback: swaps `code` for an offline token and stores it.
pub async fn exchange_code(env: &Env, shop: &str, code: &str) -> Result<(), AdminError> {
    let app = App::load(env)?;
    let mut access = Access::granted(grant(&app, shop, Grant::AuthorizationCode { code }).await?);
    let known = store::shop(env, shop)
        .await?
        .is_some_and(|r| !r.needs_facts());
    let facts = if known {
        None
    } else {
        learn_facts(env, &app, shop, &mut access).await
    };
    save(env, shop, &access, facts).await?;
    Ok(())
}

/// Creates the step's discount code. Throttling, 5xx and lost answers are retried with
/// backoff (the code is the caller's and fixed, so a retry cannot create a second one); the
/// token is refreshed as needed. Never panics, never returns an error: the outcome says it all.
pub async fn create_discount(env: &Env, shop: &str, request: &DiscountRequest) -> DiscountOutcome {
    let failed = |reason: String| DiscountOutcome::Failed { reason };
    if let Err(reason) = request.check() {
        return failed(reason);
    }
    let (app, record) = match (App::load(env), store::shop(env, shop).await) {
        (Ok(app), Ok(record)) => (app, record.unwrap_or_default()),
        (Err(e), _) | (_, Err(e)) => return failed(format!("cannot load the shop: {e}")),
    };
    if record.needs_reauth {
        return failed(AdminError::NeedsReauth.to_string());
    }
    let Some(install) = record.shopify else {
        return failed(AdminError::NotInstalled.to_string());
    };
    let mut access = Access::loaded(install);
    let outcome = create_with(env, &app, shop, &mut access, request).await;
    if let Err(e) = save(env, shop, &access, None).await {
        worker::console_error!("tokens of {shop} not saved: {e}");
    }
    outcome
}

async fn create_with(
    env: &Env,
    app: &App,
    shop: &str,
    access: &mut Access,
    request: &DiscountRequest,
) -> DiscountOutcome {
    let body = request.graphql_body(&app.api_version);
    let mut attempt = 0;
    loop {
        let verdict = match call(env, app, shop, access, &body).await {
            Ok(reply) => {
                discount::classify(reply.status, &reply.body, reply.retry_after_ms, request)
            }
            Err(AdminError::Unavailable(e)) => {
                worker::console_warn!("discount for {shop}: {e}");
                Verdict::Retry { after_ms: None }
            }
            Err(e) => {
                return DiscountOutcome::Failed {
                    reason: e.to_string(),
                }
            }
        };
        match verdict {
            Verdict::Done(outcome) => return outcome,
            Verdict::Retry { after_ms } => {
                attempt += 1;
                if attempt >= discount::MAX_ATTEMPTS {
                    return DiscountOutcome::Failed {
                        reason: format!("Shopify was unavailable for {attempt} attempts"),
                    };
                }
                let wait = discount::backoff_ms(attempt - 1, after_ms);
                Delay::from(Duration::from_millis(wait.max(0) as u64)).await;
            }
        }
    }
}

/// A shop's Admin API access during one piece of work. It is written back once, at the end:
/// KV takes at most one write per key per second.
struct Access {
    /// As read from KV; `None` when this work made the grant.
    loaded: Option<ShopifyInstall>,
    install: ShopifyInstall,
    /// `install` holds tokens KV does not have yet.
    changed: bool,
    /// Shopify refused our tokens and a refresh did not help.
    needs_reauth: bool,
}

impl Access {
    fn loaded(install: ShopifyInstall) -> Access {
        Access {
            loaded: Some(install.clone()),
            install,
            changed: false,
            needs_reauth: false,
        }
    }

    fn granted(install: ShopifyInstall) -> Access {
        Access {
            loaded: None,
            install,
            changed: true,
            needs_reauth: false,
        }
    }
}

/// The shop's name, currency and time zone; failing to learn them is only logged.
async fn learn_facts(env: &Env, app: &App, shop: &str, access: &mut Access) -> Option<ShopFacts> {
    let answer = call(
        env,
        app,
        shop,
        access,
        &json!({ "query": SHOP_FACTS_QUERY }),
    )
    .await;
    let facts = answer.as_ref().ok().and_then(|reply| {
        let body = serde_json::from_str::<Value>(&reply.body).ok()?;
        let shop = body.pointer("/data/shop")?;
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
    match (&answer, &facts) {
        (Err(e), _) => worker::console_warn!("shop name of {shop} not learned: {e}"),
        (Ok(reply), None) => {
            worker::console_warn!("no shop name for {shop} in HTTP {}", reply.status)
        }
        _ => {}
    }
    facts
}

/// POSTs a GraphQL body with the shop's token: refreshed first when it is about to expire,
/// and once more after a 401. A second 401, or a refresh Shopify refuses, means the shop needs
/// re-authorization.
async fn call(
    env: &Env,
    app: &App,
    shop: &str,
    access: &mut Access,
    body: &Value,
) -> Result<Reply, AdminError> {
    if access.needs_reauth {
        return Err(AdminError::NeedsReauth);
    }
    let now = now();
    if access.install.refresh_due(now) {
        match refresh(env, app, shop, access).await {
            Ok(()) => {}
            // Due but not expired: the current token still works for now.
            Err(AdminError::Unavailable(e))
                if access.install.expires_at.is_some_and(|t| now < t) =>
            {
                worker::console_warn!("token refresh for {shop} postponed: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    let url = format!(
        "{}/admin/api/{}/graphql.json",
        app.admin_base(shop),
        app.api_version
    );
    let token = app.open(&access.install.sealed_access_token)?;
    let reply = post(&url, Some(&token), body).await?;
    if reply.status != 401 {
        return Ok(reply);
    }
    refresh(env, app, shop, access).await?;
    let token = app.open(&access.install.sealed_access_token)?;
    let reply = post(&url, Some(&token), body).await?;
    if reply.status == 401 {
        access.needs_reauth = true;
        return Err(AdminError::NeedsReauth);
    }
    Ok(reply)
}

/// Swaps the refresh token for a new pair (Shopify rotates it on every use).
async fn refresh(env: &Env, app: &App, shop: &str, access: &mut Access) -> Result<(), AdminError> {
    let now = now();
    let refused = match &access.install.sealed_refresh_token {
        Some(sealed) if access.install.can_refresh(now) => {
            let refresh_token = app.open(sealed)?;
            match grant(
                app,
                shop,
                Grant::Refresh {
                    refresh_token: &refresh_token,
                },
            )
            .await
            {
                Ok(install) => {
                    access.install = install;
                    access.changed = true;
                    return Ok(());
                }
                Err(AdminError::Refused(e)) => e,
                Err(e) => return Err(e),
            }
        }
        _ => "no live refresh token".to_string(),
    };
    // Another isolate may have refreshed (or re-installed) first, spending the token we sent.
    if !access.changed {
        let latest = store::shop(env, shop).await?.and_then(|r| r.shopify);
        if let Some(latest) =
            latest.filter(|l| l.sealed_refresh_token != access.install.sealed_refresh_token)
        {
            access.loaded = Some(latest.clone());
            access.install = latest;
            return Ok(());
        }
    }
    worker::console_warn!("token refresh for {shop} refused: {refused}");
    access.needs_reauth = true;
    Err(AdminError::NeedsReauth)
}

/// Writes back what this work changed, in one write: new tokens, the re-authorization flag
/// (unless someone else replaced the tokens we found meanwhile), and what was learned of the shop.
async fn save(
    env: &Env,
    shop: &str,
    access: &Access,
    facts: Option<ShopFacts>,
) -> worker::Result<()> {
    if !access.changed && !access.needs_reauth && facts.is_none() {
        return Ok(());
    }
    let now = now();
    let mut record = store::shop(env, shop).await?.unwrap_or_default();
    let untouched = record.shopify == access.loaded;
    if access.changed {
        // A grant while we held no token is an installation: the first, or one after an
        // uninstall. An `app/uninstalled` triggered before it is old news.
        if record.shopify.is_none() {
            record.installed_at = Some(now);
        }
        record.shopify = Some(access.install.clone());
        record.needs_reauth = false;
    }
    if access.needs_reauth && (untouched || access.changed) {
        record.needs_reauth = true;
    }
    if let Some(facts) = facts {
        record.learn(facts);
    }
    store::put_shop(env, shop, &record).await
}

/// Asks Shopify for a token and seals what it grants.
async fn grant(app: &App, shop: &str, grant: Grant<'_>) -> Result<ShopifyInstall, AdminError> {
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
    let mut response = match select(sending, timer).await {
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
        body: response.text().await.unwrap_or_default(),
        retry_after_ms,
    })
}
