//! `GET /webhooks/whatsapp` answers Meta's subscription check; `POST` takes statuses, replies,
//! marketing preferences and template status and category changes, signed with the Meta app
//! secret over the raw bytes.

use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use super::read_body;
use crate::core::crypto::signature::{constant_time_eq, verify_meta_webhook};
use crate::core::journey::Delivery;
use crate::core::values::ids::CheckoutToken;
use crate::core::whatsapp::inbound::{parse_webhook, DeliveryStatus, InboundEvent};
use crate::core::whatsapp::message::{interactive_message, text_message};
use crate::core::whatsapp::templates::parse_updates;
use crate::objects::protocol::{ask, ask_number, tell_cart, CartCommand, InboundCall, StatusCall};
use crate::platform::{config, store, whatsapp};

pub async fn verify(req: Request, env: &Env) -> ApiResult<Response> {
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let expected = config::secret(env, "WHATSAPP_VERIFY_TOKEN")?;
    let token_ok = param("hub.verify_token").is_some_and(|t| constant_time_eq(&t, &expected));
    match (param("hub.mode").as_deref(), param("hub.challenge")) {
        (Some("subscribe"), Some(challenge)) if token_ok => Ok(Response::ok(challenge)?),
        _ => Err(ApiError::new(
            403,
            "forbidden",
            "hub.mode or hub.verify_token does not match",
        )),
    }
}

pub async fn receive(mut req: Request, env: &Env) -> ApiResult<Response> {
    let signature = req
        .headers()
        .get("X-Hub-Signature-256")?
        .unwrap_or_default();
    let body = read_body(&mut req).await?;
    let secret = config::secret(env, "META_APP_SECRET")?;
    if !verify_meta_webhook(&secret, &body, &signature) {
        return Err(ApiError::unauthorized(
            "X-Hub-Signature-256 does not match the body",
        ));
    }
    let events: Vec<InboundEvent> =
        parse_webhook(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Handled before answering: an opt-out must be on the ledger before the next send, and a
    // failure here makes Meta deliver again (every step is idempotent).
    for event in events {
        handle_event(env, event).await?;
    }
    // Template status and category changes keep the shop's template list current, so a step
    // whose template was paused, rejected or moved out of marketing is skipped, not sent.
    for update in parse_updates(&body) {
        if let Some(shop) = store::shop_for_waba(env, &update.waba_id).await? {
            ask(env, &shop, update).await?;
        }
    }
    Ok(Response::from_json(&serde_json::json!({ "ok": true }))?)
}

/// Routes one event to the shop of its business number: statuses to the cart that sent the
/// message, messages and preferences to the shop ledger, which decides the conversation.
async fn handle_event(env: &Env, event: InboundEvent) -> ApiResult<()> {
    let Some(shop) = store::shop_for_number(env, event.phone_number_id()).await? else {
        // A number no shop has connected (yet, or any more): its shoppers' opt-outs are kept
        // by the number's own ledger and apply when a shop connects it. Nothing is answered.
        if matches!(
            event,
            InboundEvent::Message { .. } | InboundEvent::UserPreference { .. }
        ) {
            let number = event.phone_number_id().to_string();
            let call = InboundCall {
                event,
                app_url: String::new(),
                unconnected: true,
            };
            ask_number(env, &number, call).await?;
        }
        return Ok(());
    };
    match event {
        InboundEvent::Status {
            wamid,
            status,
            at,
            callback,
            error_codes,
            ..
        } => {
            let delivery = match status {
                DeliveryStatus::Sent => return Ok(()),
                DeliveryStatus::Delivered => Delivery::Delivered,
                DeliveryStatus::Read => Delivery::Read,
                DeliveryStatus::Failed => Delivery::Failed {
                    code: error_codes.first().copied(),
                },
            };
            let call = StatusCall {
                wamid: wamid.clone(),
                delivery: delivery.clone(),
                at,
            };
            let owner = ask(env, &shop, call).await?;
            // The ledger learns of a message when its send is reported; the callback data we
            // sent with it names the cart even if the status overtakes that report.
            let token = owner
                .checkout_token
                .or_else(|| checkout_of_callback(callback.as_deref()));
            if let Some(token) = token {
                tell_cart(env, &shop, &token, &CartCommand::Status { wamid, delivery }).await?;
            }
        }
        InboundEvent::Message { .. } | InboundEvent::UserPreference { .. } => {
            let call = InboundCall {
                event,
                app_url: config::var_or(env, "APP_URL", ""),
                unconnected: false,
            };
            let plan = ask(env, &shop, call).await?;
            if let Some(signal) = plan.signal {
                for token in &plan.journeys {
                    tell_cart(env, &shop, token, &CartCommand::Shopper { signal }).await?;
                }
            }
            let record = store::shop(env, shop.as_str()).await?;
            if let (Some(reply), Some(mut record)) = (plan.reply, record) {
                store::open_whatsapp(env, &mut record)?;
                if let Some(conn) = record.whatsapp {
                    if reply.buttons.is_empty() {
                        whatsapp::send(env, &conn, &text_message(&reply.to, &reply.text)).await;
                    } else {
                        let buttons: Vec<(&str, &str)> = reply
                            .buttons
                            .iter()
                            .map(|(id, title)| (id.as_str(), title.as_str()))
                            .collect();
                        let message = interactive_message(&reply.to, &reply.text, &buttons);
                        whatsapp::send(env, &conn, &message).await;
                    }
                }
            }
        }
        InboundEvent::AccountError { code, .. } => {
            worker::console_warn!("whatsapp account error {code} for {shop}");
        }
    }
    Ok(())
}

/// The checkout named in `cb1;checkout={token};step={step_id}`, as `core::journey` writes it.
fn checkout_of_callback(callback: Option<&str>) -> Option<CheckoutToken> {
    let mut parts = callback?.split(';');
    (parts.next()? == "cb1").then_some(())?;
    parts
        .find_map(|p| p.strip_prefix("checkout="))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(CheckoutToken::from)
}
