//! `POST /proxy/optin`: the storefront widget's opt-in, forwarded by Shopify's app proxy with a
//! signed query. The body is not signed, so it is validated and rate limited per client and
//! per phone before the opt-in is appended to the shop's consent ledger.

use std::net::IpAddr;

use serde::Deserialize;
use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use crate::core::conversation::confirmation_link;
use crate::core::crypto::proxy_signature::verify_proxy;
use crate::core::gate::consent::{self, ConsentKind, ConsentRecord, ConsentSource, ConsentStatus};
use crate::core::values::phone::Phone;
use crate::objects::protocol::{ask, AddConsent, OptInCall};
use crate::platform::{clock, config, store};

#[derive(Deserialize)]
struct OptIn {
    phone: Option<String>,
    consent: Option<serde_json::Value>,
    wording: Option<String>,
    cart_token: Option<String>,
    /// The storefront's country, for numbers typed without their country code.
    country: Option<String>,
}

pub async fn optin(mut req: Request, env: &Env) -> ApiResult<Response> {
    let url = req.url()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let secret = config::secret(env, "SHOPIFY_API_SECRET")?;
    let signed = verify_proxy(&pairs, &secret)
        .map_err(|e| ApiError::unauthorized(format!("app proxy signature: {e}")))?;
    let now = clock::now();
    signed
        .check_fresh(now)
        .map_err(|e| ApiError::unauthorized(format!("app proxy signature: {e}")))?;
    let client = client_address(&req)?;
    let content_type = req.headers().get("Content-Type")?.unwrap_or_default();
    let body = super::read_body(&mut req).await?;
    let form: OptIn = if content_type.starts_with("application/x-www-form-urlencoded") {
        let map: std::collections::HashMap<String, String> = worker::Url::parse("https://x/")
            .map(|mut u| {
                u.set_query(Some(&String::from_utf8_lossy(&body)));
                u.query_pairs().into_owned().collect()
            })
            .unwrap_or_default();
        OptIn {
            phone: map.get("phone").cloned(),
            consent: map
                .get("consent")
                .map(|v| serde_json::Value::Bool(v == "true" || v == "on")),
            wording: map.get("wording").cloned(),
            cart_token: map.get("cart_token").cloned(),
            country: map.get("country").cloned(),
        }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    if form.consent != Some(serde_json::Value::Bool(true)) {
        return Err(ApiError::bad_request("consent must be true"));
    }
    let phone = form
        .phone
        .as_deref()
        .and_then(|p| Phone::parse(p, form.country.as_deref()).ok())
        .ok_or_else(|| ApiError::bad_request("phone is not a usable WhatsApp number"))?;
    let wording =
        consent::validate_wording(form.wording.as_deref().unwrap_or_default()).map_err(|e| {
            ApiError::bad_request(format!("wording must be the text the shopper saw: {e}"))
        })?;
    let cart_token = form
        .cart_token
        .map(|t| t.split('?').next().unwrap_or_default().to_string())
        .filter(|t| {
            !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });

    let call = OptInCall {
        client,
        phone: phone.clone(),
        now,
    };
    if !ask(env, &signed.shop, call).await? {
        return Err(ApiError::new(
            429,
            "rate_limited",
            "too many opt-in attempts; try again later",
        ));
    }
    let record = ConsentRecord {
        kind: ConsentKind::OptIn,
        source: ConsentSource::StorefrontWidget,
        wording,
        at: now,
        cart_token,
    };
    let status = ask(env, &signed.shop, AddConsent { phone, record }).await?;
    if status == ConsentStatus::OptedIn {
        return Ok(Response::from_json(
            &serde_json::json!({ "status": "opted_in" }),
        )?);
    }
    // The phone opted out itself: only a message from it lifts that. The opt-in stays on the
    // ledger as a request, and the widget offers to send the confirmation from WhatsApp.
    let business = store::shop(env, signed.shop.as_str())
        .await?
        .and_then(|r| r.whatsapp)
        .and_then(|w| w.display_number);
    Ok(Response::from_json(&serde_json::json!({
        "status": "confirm_on_whatsapp",
        "whatsapp_url": business.as_deref().map(confirmation_link),
    }))?)
}

/// The shopper's address, the key of the per-client rate limit. Behind the app proxy the
/// connecting address is Shopify's, shared by every shopper; Shopify puts the shopper's first
/// in `X-Forwarded-For`. That header is trusted only because the caller has already verified
/// the proxy signature; anything that is not an address there falls back to the connection's.
fn client_address(req: &Request) -> ApiResult<String> {
    let forwarded = req
        .headers()
        .get("X-Forwarded-For")?
        .and_then(|v| v.split(',').next()?.trim().parse::<IpAddr>().ok());
    Ok(match forwarded {
        Some(ip) => ip.to_string(),
        None => req
            .headers()
            .get("CF-Connecting-IP")?
            .unwrap_or_else(|| "unknown".into()),
    })
}
