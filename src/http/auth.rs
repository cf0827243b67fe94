//! The authorization-code install (`GET /auth`, `GET /auth/callback`), for a merchant who
//! reaches cartback outside Shopify admin. The embedded app installs through token exchange
//! instead (`session`).

use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::oauth::{self, STATE_COOKIE, STATE_TTL_MS};
use crate::core::values::ids::ShopDomain;
use crate::objects::protocol::{ask, Install, InstallGrant};
use crate::platform::shopify;
use crate::platform::{clock, config, crypto};

/// `GET /auth?shop=`: remembers a fresh state in this browser and sends it to Shopify to
/// approve the install.
pub async fn start(req: &Request, env: &Env) -> ApiResult<Response> {
    let url = req.url()?;
    let shop = url
        .query_pairs()
        .find(|(k, _)| k == "shop")
        .map(|(_, v)| v.into_owned())
        .filter(|s| ShopDomain::parse(s).is_some())
        .ok_or_else(|| ApiError::bad_request("shop must be a {name}.myshopify.com domain"))?;
    let secret = config::secret(env, "SHOPIFY_API_SECRET")?;
    let api_key = config::secret(env, "SHOPIFY_API_KEY")?;
    let state = oauth::new_state(crypto::random()?);
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
        oauth::state_cookie(&secret, &shop, &state, clock::now()),
        STATE_TTL_MS / 1000
    );
    let app_url = config::var_or(env, "APP_URL", &url.origin().ascii_serialization());
    let redirect_uri = format!("{}/auth/callback", app_url.trim_end_matches('/'));
    let location = oauth::authorize_url(
        &shopify::admin_base(env, &shop),
        &api_key,
        &redirect_uri,
        &state,
    );
    redirect(&location, &cookie)
}

/// `GET /auth/callback?code=&hmac=&shop=&state=&timestamp=`: Shopify sends the merchant back
/// here. Signed by Shopify, started in this browser for this shop: then the code becomes an
/// offline token, stored like a token exchange's.
pub async fn callback(req: &Request, env: &Env) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> = req.url()?.query_pairs().into_owned().collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let secret = config::secret(env, "SHOPIFY_API_SECRET")?;
    let now = clock::now();
    oauth::verify_query(&secret, &pairs, now).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let shop = param("shop")
        .and_then(ShopDomain::parse)
        .ok_or_else(|| ApiError::bad_request("shop must be a {name}.myshopify.com domain"))?;
    let code = param("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("code is missing"))?;
    let state = param("state").unwrap_or_default();
    let cookie = req.headers().get("Cookie")?.unwrap_or_default();
    let bound = cookie_value(&cookie, STATE_COOKIE)
        .is_some_and(|c| oauth::verify_state(&secret, shop.as_str(), state, c, now));
    if !bound {
        return Err(ApiError::new(
            403,
            "invalid_state",
            "this install was not started in this browser, or took too long; start it again",
        ));
    }
    let install = Install {
        shop: shop.clone(),
        grant: InstallGrant::Code(code.to_string()),
    };
    ask(env, &shop, install).await?.map_err(|e| match e {
        AdminError::Refused(_) => ApiError::new(
            400,
            "code_refused",
            "Shopify did not accept the authorization code; start the install again",
        ),
        e => {
            worker::console_error!("code exchange for {shop}: {e}");
            ApiError::new(
                502,
                "shopify_unavailable",
                "Shopify could not be reached; try again",
            )
        }
    })?;
    let api_key = config::secret(env, "SHOPIFY_API_KEY")?;
    let spent = format!("{STATE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
    redirect(&format!("https://{shop}/admin/apps/{api_key}"), &spent)
}

fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn redirect(location: &str, set_cookie: &str) -> ApiResult<Response> {
    let mut resp = Response::empty()?.with_status(302);
    let headers = resp.headers_mut();
    headers.set("Location", location)?;
    headers.set("Set-Cookie", set_cookie)?;
    headers.set("Cache-Control", "no-store")?;
    Ok(resp)
}
