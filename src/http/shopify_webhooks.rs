//! `POST /webhooks/shopify`: every Shopify topic arrives here, signed with the app secret.

use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use super::read_body;
use crate::core::shop::valid_shop_domain;
use crate::core::shopify::{Checkout, Order};
use crate::core::signature::verify_shopify_webhook;
use crate::objects::cart_journey::{self, CartCommand};
use crate::platform::config;

pub async fn handle(req: Request, env: &Env) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let body = read_body(req).await?;
    let secret = config::secret(env, "SHOPIFY_API_SECRET")?;
    let signature = headers.get("X-Shopify-Hmac-Sha256")?.unwrap_or_default();
    if !verify_shopify_webhook(&secret, &body, &signature) {
        return Err(ApiError::unauthorized(
            "X-Shopify-Hmac-Sha256 does not match the body",
        ));
    }
    let topic = headers
        .get("X-Shopify-Topic")?
        .ok_or_else(|| ApiError::bad_request("X-Shopify-Topic is missing"))?;
    let shop = headers
        .get("X-Shopify-Shop-Domain")?
        .filter(|s| valid_shop_domain(s))
        .ok_or_else(|| ApiError::bad_request("X-Shopify-Shop-Domain is missing or invalid"))?;
    let event_id = headers.get("X-Shopify-Event-Id")?;

    let bad = |e: crate::core::shopify::PayloadError| ApiError::bad_request(e.to_string());
    match topic.as_str() {
        "checkouts/create" | "checkouts/update" => {
            let checkout = Checkout::from_webhook(&body).map_err(bad)?;
            let token = checkout.token.clone();
            cart_journey::send(
                env,
                &shop,
                &token,
                &CartCommand::Checkout { checkout, event_id },
            )
            .await?;
        }
        "orders/create" => {
            let order = Order::from_webhook(&body).map_err(bad)?;
            if let Some(token) = order.checkout_token.clone() {
                cart_journey::send(env, &shop, &token, &CartCommand::Order { order }).await?;
            }
        }
        // Accepted and ignored: Shopify retries anything but a 2xx.
        _ => {}
    }
    Ok(Response::from_json(&serde_json::json!({ "ok": true }))?)
}
