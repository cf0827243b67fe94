//! The Worker's front door: routes each request to its handler and turns every failure into
//! the JSON error shape. Nothing here decides anything; it verifies, parses and forwards.

mod admin;
mod admin_page;
mod api;
mod auth;
mod error;
mod optimization;
mod prices;
mod proxy;
mod recovery;
mod session;
mod shopify_webhooks;
mod sweep;
mod templates;
mod whatsapp_webhooks;

use futures_util::StreamExt;
use worker::{event, Context, Env, Method, Request, Response, Result};

use error::{ApiError, ApiResult};

/// Larger bodies are refused without being read whole (docs/contract.md §8).
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    match route(req, &env).await {
        Ok(resp) => Ok(resp),
        Err(e) => e.into_response(),
    }
}

async fn route(req: Request, env: &Env) -> ApiResult<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Get, "/healthz") => {
            Ok(Response::from_json(&serde_json::json!({ "status": "ok" }))?)
        }
        (Method::Post, "/webhooks/shopify") => shopify_webhooks::handle(req, env).await,
        (Method::Get, "/webhooks/whatsapp") => whatsapp_webhooks::verify(req, env).await,
        (Method::Post, "/webhooks/whatsapp") => whatsapp_webhooks::receive(req, env).await,
        (Method::Get, p) if p.starts_with("/r/") => recovery::redirect(env, &p[3..]).await,
        (Method::Post, "/proxy/optin") => proxy::optin(req, env).await,
        (Method::Get, "/auth") => auth::start(&req, env).await,
        (Method::Get, "/auth/callback") => auth::callback(&req, env).await,
        (_, p) if p.starts_with("/api/") => api::route(req, env, p).await,
        (_, p) if p.starts_with("/webhooks/") => Err(ApiError::not_found()),
        _ => admin_page::serve(req, env).await,
    }
}

/// Reads the raw body (signatures are computed over the exact bytes), refusing one over
/// [`MAX_BODY_BYTES`]: at once when its Content-Length says so, else as soon as the chunks read
/// so far add up to more, so a chunked body is never held whole in memory.
pub async fn read_body(req: &mut Request) -> ApiResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES => return Err(too_large()),
        // The runtime holds the body to its declared length: read it in one call (a stream
        // crosses into wasm and back for every chunk).
        Some(_) => return Ok(req.bytes().await?),
        None => {}
    }
    // `stream()` fails on a request without a body (a bodyless PUT), which is an empty body.
    if req.inner().body().is_none() {
        return Ok(vec![]);
    }
    let mut chunks = req.stream()?;
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> ApiError {
    ApiError::new(413, "payload_too_large", "the body is larger than 1 MiB")
}
