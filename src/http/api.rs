//! `/api/*`: the embedded admin page's JSON API. Every route acts for the shop named by the
//! verified session token, and only for it.

use worker::{Env, Method, Request, Response};

use super::error::{ApiError, ApiResult};
use super::session::{authenticate, Session};
use crate::platform::store;

enum Endpoint {
    Shop,
}

pub async fn route(req: Request, env: &Env, path: &str) -> ApiResult<Response> {
    // Routes are public knowledge (the app is open source): an unknown one is a plain 404.
    let endpoint = match (req.method(), path) {
        (Method::Get, "/api/shop") => Endpoint::Shop,
        _ => return Err(ApiError::not_found()),
    };
    let session = authenticate(&req, env).await?;
    match endpoint {
        Endpoint::Shop => shop(env, &session).await,
    }
}

/// `GET /api/shop`: what cartback holds for this shop. Never a token.
async fn shop(env: &Env, session: &Session) -> ApiResult<Response> {
    let record = store::shop(env, &session.shop).await?.unwrap_or_default();
    Ok(Response::from_json(&serde_json::json!({
        "shop": session.shop,
        "name": record.name,
        "installed": record.shopify.is_some(),
        "needs_reauth": record.needs_reauth,
        "whatsapp_connected": record.whatsapp.is_some(),
    }))?)
}
