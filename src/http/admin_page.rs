//! The admin page's files: the built page from the `ASSETS` binding, with the app's client id
//! filled into its HTML and the `frame-ancestors` policy that lets Shopify admin (and only it)
//! frame the page (docs/contract.md §5).

use worker::{Env, Request, Response};

use super::error::ApiResult;
use crate::core::shopify::embedding::{content_security_policy, API_KEY_PLACEHOLDER};
use crate::platform::{body, config};

pub async fn serve(req: Request, env: &Env) -> ApiResult<Response> {
    let shop = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "shop")
        .map(|(_, v)| v.into_owned());
    let resp = env.assets("ASSETS")?.fetch_request(req).await?;
    let html = resp
        .headers()
        .get("Content-Type")?
        .is_some_and(|t| t.starts_with("text/html"));
    // Only a page with a body is filled in (a 304 has none).
    if !html || resp.status_code() != 200 {
        return Ok(resp);
    }
    let headers = resp.headers().clone();
    let page = body::text(resp).await?.replace(
        API_KEY_PLACEHOLDER,
        &config::secret(env, "SHOPIFY_API_KEY")?,
    );
    headers.set(
        "Content-Security-Policy",
        &content_security_policy(shop.as_deref()),
    )?;
    headers.delete("Content-Length")?;
    Ok(Response::ok(page)?.with_headers(headers))
}
