//! The admin API behind the embedded page: every handler gets the shop from the verified session
//! token, never from the request, so one shop can never see or change another's data.

use serde::{de::DeserializeOwned, Deserialize};
use worker::{Env, Method, Request, Response};

use super::error::{ApiError, ApiResult};
use crate::core::consent::{self, ConsentStatus};
use crate::core::phone::Phone;
use crate::core::playbook_validation::{self, FieldError};
use crate::objects::shop_ledger::{self, JourneysQuery, PhoneQuery};
use crate::platform::{config, store, whatsapp};

/// Dispatches `/api/{path}` for an authenticated `shop`; `None` when no route matches.
pub async fn route(
    mut req: Request,
    env: &Env,
    shop: &str,
    path: &str,
) -> Option<ApiResult<Response>> {
    let method = req.method();
    Some(match (method, path) {
        (Method::Get, "/api/playbook") => get_playbook(env, shop).await,
        (Method::Put, "/api/playbook") => put_playbook(&mut req, env, shop).await,
        (Method::Get, "/api/whatsapp") => get_whatsapp(env, shop).await,
        (Method::Put, "/api/whatsapp") => put_whatsapp(&mut req, env, shop).await,
        (Method::Get, "/api/journeys") => journeys(&req, env, shop).await,
        (Method::Get, "/api/consents") => consents(&req, env, shop).await,
        _ => return None,
    })
}

fn json(value: &impl serde::Serialize) -> ApiResult<Response> {
    Ok(Response::from_json(value)?)
}

fn query(req: &Request, name: &str) -> ApiResult<Option<String>> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned()))
}

async fn body<T: DeserializeOwned>(req: &mut Request) -> ApiResult<T> {
    let bytes = super::read_body(req).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::new(400, "invalid_playbook", message).with_fields(errors)
}

async fn get_playbook(env: &Env, shop: &str) -> ApiResult<Response> {
    json(&store::playbook(env, shop).await?)
}

async fn put_playbook(req: &mut Request, env: &Env, shop: &str) -> ApiResult<Response> {
    let bytes = super::read_body(req).await?;
    let playbook = playbook_validation::parse(&bytes).map_err(invalid)?;
    store::put_playbook(env, shop, &playbook).await?;
    json(&playbook)
}

async fn get_whatsapp(env: &Env, shop: &str) -> ApiResult<Response> {
    let record = store::shop(env, shop).await?.unwrap_or_default();
    let answer = match &record.whatsapp {
        Some(w) => serde_json::json!({
            "phone_number_id": w.phone_number_id,
            "waba_id": w.waba_id,
            "connected": !w.paused,
            "status": if w.paused { "token_rejected" } else { "connected" },
        }),
        None => serde_json::json!({
            "phone_number_id": null, "waba_id": null, "connected": false, "status": "not_connected",
        }),
    };
    json(&answer)
}

#[derive(Deserialize)]
struct Connect {
    phone_number_id: String,
    waba_id: String,
    access_token: String,
}

async fn put_whatsapp(req: &mut Request, env: &Env, shop: &str) -> ApiResult<Response> {
    let c: Connect = body(req).await?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&c.phone_number_id) || !digits(&c.waba_id) || c.access_token.trim().is_empty() {
        return Err(ApiError::bad_request(
            "phone_number_id and waba_id must be Graph ids and access_token must be set",
        ));
    }
    // One number, one shop: inbound messages are routed by it.
    if let Some(owner) = store::shop_for_number(env, &c.phone_number_id).await? {
        if owner != shop {
            return Err(ApiError::new(
                409,
                "number_in_use",
                "this WhatsApp number is connected to another shop",
            ));
        }
    }
    if !whatsapp::check_number(
        &config::graph_base(env),
        &c.phone_number_id,
        &c.access_token,
    )
    .await?
    {
        return Err(ApiError::new(
            422,
            "whatsapp_rejected",
            "Meta did not accept these credentials for this phone number",
        ));
    }
    store::connect_whatsapp(env, shop, &c.phone_number_id, &c.waba_id, &c.access_token).await?;
    get_whatsapp(env, shop).await
}

async fn journeys(req: &Request, env: &Env, shop: &str) -> ApiResult<Response> {
    let status = query(req, "status")?.unwrap_or_else(|| "all".into());
    if !matches!(status.as_str(), "active" | "ended" | "all") {
        return Err(ApiError::bad_request("status must be active, ended or all"));
    }
    let list: Vec<serde_json::Value> =
        shop_ledger::call(env, shop, "journeys", &JourneysQuery { status }).await?;
    json(&serde_json::json!({ "journeys": list }))
}

async fn consents(req: &Request, env: &Env, shop: &str) -> ApiResult<Response> {
    let raw = query(req, "phone")?.ok_or_else(|| ApiError::bad_request("phone is required"))?;
    let phone = Phone::parse(&raw, None)
        .or_else(|_| Phone::parse(&format!("+{}", raw.trim_start_matches('+')), None))
        .map_err(|e| ApiError::bad_request(format!("phone: {e}")))?;
    let records: Vec<consent::ConsentRecord> = shop_ledger::call(
        env,
        shop,
        "consents",
        &PhoneQuery {
            phone: phone.clone(),
        },
    )
    .await?;
    let status = match consent::status(&records) {
        ConsentStatus::OptedIn => "opted_in",
        ConsentStatus::OptedOut => "opted_out",
        ConsentStatus::None => "none",
    };
    json(&serde_json::json!({ "phone": phone.as_str(), "status": status, "records": records }))
}
