//! `GET /webhooks/whatsapp` answers Meta's subscription check; `POST` takes statuses, replies,
//! marketing preferences and template status and category changes, signed with the Meta app
//! secret over the raw bytes.

use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use super::read_body;
use crate::core::crypto::signature::{constant_time_eq, verify_meta_webhook};
use crate::core::whatsapp::inbound::{parse_webhook, InboundEvent};
use crate::core::whatsapp::templates::parse_updates;
use crate::objects::protocol::{ask, ask_number, Deliveries};
use crate::platform::{config, store};

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
    // Handed over before answering, one call per business number however many events the
    // delivery holds: an opt-out must be on the ledger before the next send, and a failure
    // here makes Meta deliver again (every step is idempotent).
    let mut by_number: Vec<(String, Vec<InboundEvent>)> = vec![];
    for event in events {
        if let InboundEvent::AccountError { code, .. } = &event {
            worker::console_warn!(
                "whatsapp account error {code} for number {}",
                event.phone_number_id()
            );
            continue;
        }
        let number = event.phone_number_id().to_string();
        match by_number.iter_mut().find(|(n, _)| *n == number) {
            Some((_, list)) => list.push(event),
            None => by_number.push((number, vec![event])),
        }
    }
    let app_url = config::var_or(env, "APP_URL", "");
    for (number, events) in by_number {
        match store::shop_for_number(env, &number).await? {
            Some(shop) => {
                let call = Deliveries {
                    shop: Some(shop.clone()),
                    events,
                    app_url: app_url.clone(),
                };
                ask(env, &shop, call).await?;
            }
            // A number no shop has connected (yet, or any more): its shoppers' opt-outs are
            // kept by the number's own ledger and apply when a shop connects it.
            None => {
                // With our links' address: the number's ledger passes on to the shop what
                // reaches it just after a connection.
                let call = Deliveries {
                    shop: None,
                    events,
                    app_url: app_url.clone(),
                };
                ask_number(env, &number, call).await?;
            }
        }
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
