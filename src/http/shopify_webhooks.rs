//! `POST /webhooks/shopify`: every Shopify topic arrives here, signed with the app secret.
//! Cart topics go straight to the cart's object (fast, and durable before we answer); work that
//! fans out over many carts (uninstall, redaction) is handed to the shop ledger's outbox.

use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use super::read_body;
use crate::core::crypto::signature::verify_shopify_webhook;
use crate::core::shopify::payloads::{
    Checkout, CustomerRequest, DeletedCheckout, Order, PayloadError,
};
use crate::core::shopify::webhook::{admit, link_names_other_shop, Admission, Topic};
use crate::core::values::ids::ShopDomain;
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::objects::protocol::{
    ask, tell_cart, ActiveOfCart, CartCommand, Customer, DataRequest, EraseShop, EventSeen,
    FindDeleted, Redact, RememberEvent, Uninstall,
};
use crate::platform::{config, crypto, store};

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let body = read_body(&mut req).await?;
    let secret = config::secret(env, "SHOPIFY_API_SECRET")?;
    let signature = headers.get("X-Shopify-Hmac-Sha256")?.unwrap_or_default();
    if !verify_shopify_webhook(&secret, &body, &signature) {
        return Err(ApiError::unauthorized(
            "X-Shopify-Hmac-Sha256 does not match the body",
        ));
    }
    let topic = headers
        .get("X-Shopify-Topic")?
        .map(|t| Topic::parse(&t))
        .ok_or_else(|| ApiError::bad_request("X-Shopify-Topic is missing"))?;
    let shop = headers
        .get("X-Shopify-Shop-Domain")?
        .and_then(|s| ShopDomain::parse(&s))
        .ok_or_else(|| ApiError::bad_request("X-Shopify-Shop-Domain is missing or invalid"))?;
    let event_id = headers.get("X-Shopify-Event-Id")?;

    let bad = |e: PayloadError| ApiError::bad_request(e.to_string());
    // The secret signs more than webhooks: decide first whether this body may act at all.
    if let Admission::Ignore(why) = admit(topic, &shop, &body).map_err(bad)? {
        return ignored(why);
    }
    // Checkout events are deduplicated by their own cart (with their order in time); every
    // other topic by the shop ledger, so a repeated delivery does nothing twice.
    let ledger_dedupe = event_id.clone().filter(|_| !topic.deduplicated_by_cart());
    if let Some(id) = &ledger_dedupe {
        if ask(env, &shop, EventSeen { id: id.clone() }).await? {
            return Ok(Response::from_json(
                &serde_json::json!({ "ok": true, "duplicate": true }),
            )?);
        }
    }
    match topic {
        Topic::CheckoutsCreate | Topic::CheckoutsUpdate => {
            let checkout = Checkout::from_webhook(&body).map_err(bad)?;
            if link_names_other_shop(checkout.recovery_url.as_deref(), &shop) {
                return ignored("the checkout belongs to another shop");
            }
            let token = checkout.token.clone();
            let command = CartCommand::Checkout { checkout, event_id };
            tell_cart(env, &shop, &token, &command).await?;
        }
        Topic::CheckoutsDelete => {
            // Exactly the checkout named: by its token (Admin API 2026-04 and later), else by
            // the id older versions send; never another checkout of the same cart.
            let deleted = DeletedCheckout::from_webhook(&body).map_err(bad)?;
            let token = match (deleted.token, deleted.id) {
                (Some(token), _) => Some(token),
                (None, Some(checkout_id)) => {
                    ask(env, &shop, FindDeleted { checkout_id })
                        .await?
                        .checkout_token
                }
                (None, None) => None,
            };
            if let Some(token) = token {
                tell_cart(env, &shop, &token, &CartCommand::Deleted).await?;
            }
        }
        Topic::OrdersCreate => {
            let order = Order::from_webhook(&body).map_err(bad)?;
            if link_names_other_shop(order.status_url.as_deref(), &shop) {
                return ignored("the order belongs to another shop");
            }
            // The checkout the order came from, and the journeys of earlier checkouts of the
            // same cart: a shopper who comes back through a new checkout still bought.
            let mut tokens: Vec<_> = order.checkout_token.iter().cloned().collect();
            if let Some(cart_token) = order.cart_token.clone() {
                let carts = ask(env, &shop, ActiveOfCart { cart_token }).await?;
                for token in carts.checkout_tokens {
                    if !tokens.contains(&token) {
                        tokens.push(token);
                    }
                }
            }
            let command = CartCommand::Order { order };
            for token in tokens {
                tell_cart(env, &shop, &token, &command).await?;
            }
        }
        Topic::AppUninstalled => {
            let triggered_at = headers
                .get("X-Shopify-Triggered-At")?
                .and_then(|t| Millis::parse_rfc3339(&t));
            let uninstall = Uninstall {
                shop: shop.clone(),
                triggered_at,
            };
            if !ask(env, &shop, uninstall).await? {
                return ignored("the shop has installed cartback again since");
            }
        }
        Topic::CustomersRedact => {
            let customer = customer(&body)?;
            forget_reports(env, shop.as_str(), customer.phone.as_ref()).await?;
            let redact = Redact {
                shop: shop.clone(),
                customer,
            };
            ask(env, &shop, redact).await?;
        }
        Topic::CustomersDataRequest => {
            let request = CustomerRequest::from_webhook(&body).map_err(bad)?;
            let id = request
                .data_request_id
                .clone()
                .unwrap_or_else(|| "unnumbered".into());
            let customer = customer_of(request);
            let report = ask(env, &shop, DataRequest { customer }).await?;
            let report = serde_json::to_string(&report).map_err(ApiError::internal)?;
            let sealed = crypto::seal(&crypto::data_key(env)?, &report)?;
            store::put_data_request(env, shop.as_str(), &id, &sealed).await?;
        }
        Topic::ShopRedact => {
            ask(env, &shop, EraseShop { shop: shop.clone() }).await?;
        }
        // Accepted and ignored: Shopify retries anything but a 2xx.
        Topic::Other => {}
    }
    // shop/redact erased the ledger itself: nothing of the shop is kept, not even this id.
    if let (Some(id), false) = (ledger_dedupe, topic == Topic::ShopRedact) {
        ask(env, &shop, RememberEvent { id }).await?;
    }
    Ok(Response::from_json(&serde_json::json!({ "ok": true }))?)
}

/// A delivery that verified but may not act: answered 200 like any other, so a forger learns
/// nothing and Shopify does not retry.
fn ignored(why: &'static str) -> ApiResult<Response> {
    worker::console_warn!("shopify webhook ignored: {why}");
    Ok(Response::from_json(&serde_json::json!({ "ok": true }))?)
}

/// The `customers/data_request` reports about a shopper being erased go too.
async fn forget_reports(env: &Env, shop: &str, phone: Option<&Phone>) -> ApiResult<()> {
    let Some(phone) = phone else {
        return Ok(());
    };
    let key = crypto::data_key(env)?;
    for (id, sealed) in store::data_requests(env, shop).await? {
        let about = crypto::open(&key, &sealed)
            .ok()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .is_some_and(|report| report["phone"] == phone.as_str());
        if about {
            store::delete_data_request(env, shop, &id).await?;
        }
    }
    Ok(())
}

fn customer(body: &[u8]) -> ApiResult<Customer> {
    let request =
        CustomerRequest::from_webhook(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(customer_of(request))
}

fn customer_of(request: CustomerRequest) -> Customer {
    Customer {
        customer_id: request.customer_id,
        phone: request
            .phone
            .as_deref()
            .and_then(|p| Phone::parse(p, None).ok()),
    }
}
