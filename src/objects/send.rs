//! Sends a template on the route the ledger keeps for its number: the Marketing Messages API
//! while the number's business is onboarded, `/messages` otherwise, with the one fallback a
//! refusal calls for (`core::whatsapp::routing`). Free-form messages never come here.

use crate::core::shopify::shop::WhatsAppConnection;
use crate::core::values::ids::ShopDomain;
use crate::core::whatsapp::delivery::SendOutcome;
use crate::core::whatsapp::message::TemplateMessage;
use crate::core::whatsapp::routing::{self, Endpoint};
use crate::objects::protocol::{self, RememberOnboarding, RouteCall};
use crate::platform::clock::now;
use crate::platform::whatsapp;

/// `endpoint` is the route the gate answered with, when the send follows it at once; else the
/// ledger is asked.
pub async fn send_template(
    env: &worker::Env,
    shop: &ShopDomain,
    conn: &WhatsAppConnection,
    message: &TemplateMessage,
    endpoint: Option<Endpoint>,
) -> SendOutcome {
    let endpoint = match endpoint {
        Some(endpoint) => endpoint,
        None => {
            let route = RouteCall {
                phone_number_id: conn.phone_number_id.clone(),
                template: message.template.name.clone(),
                language: message.template.language.code.clone(),
            };
            // Without the ledger's word the Cloud API still takes every template.
            protocol::ask(env, shop, route)
                .await
                .unwrap_or(Endpoint::Messages)
        }
    };
    let outcome = whatsapp::send_to(env, conn, endpoint, message).await;
    let SendOutcome::Rejected { code, .. } = outcome else {
        return outcome;
    };
    let Some(fallback) = routing::after_refusal(endpoint, code, now()) else {
        return outcome;
    };
    let learned = RememberOnboarding {
        phone_number_id: conn.phone_number_id.clone(),
        onboarding: fallback.onboarding,
    };
    if let Err(e) = protocol::ask(env, shop, learned).await {
        worker::console_warn!("route of {} not remembered: {e}", conn.phone_number_id);
    }
    whatsapp::send_to(env, conn, fallback.to, message).await
}
