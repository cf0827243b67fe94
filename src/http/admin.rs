//! The admin API's handlers (routed by `api`): each gets the shop from the verified session
//! token, never from the request, so one shop can never see or change another's data.

use serde::{de::DeserializeOwned, Deserialize};
use worker::{Env, Request, Response};

use super::error::{ApiError, ApiResult};
use crate::core::conversation::{self, Faq};
use crate::core::gate::consent::{self, ConsentStatus};
use crate::core::playbook::validation::{self, FieldError};
use crate::core::values::phone::Phone;
use crate::core::values::time::{Millis, DAY_MS};

/// `GET /api/metrics` without `from`: the last 30 days.
const DEFAULT_RANGE_DAYS: i64 = 30;
use crate::core::metrics::valid_vital;
use crate::core::metrics::MetricsBy;
use crate::core::shopify::shop::WhatsAppConnection;
use crate::core::values::ids::ShopDomain;
use crate::core::whatsapp::delivery::SendOutcome;
use crate::core::whatsapp::message::{sample_message, text_message, MAX_TEXT_CHARS};
use crate::objects::protocol::{
    ask, ask_number, AdoptConsents, ConnectWhatsApp, ConsentsOf, ForgetKept, GetFaq, GetInbox,
    GetTemplates, JourneyFilter, JourneysQuery, KeptConsents, MetricsQuery, PutFaq, PutPlaybook,
    RecordVital, ReplyTarget, Resolve, ShopState,
};
use crate::objects::send::send_template;
use crate::platform::{clock, config, crypto, store, whatsapp};

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

pub(super) async fn body<T: DeserializeOwned>(req: &mut Request) -> ApiResult<T> {
    let bytes = super::read_body(req).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A 400 naming every offending field, as the admin page highlights them.
pub(super) fn invalid(code: &'static str, errors: Vec<FieldError>) -> ApiError {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::new(400, code, message).with_fields(errors)
}

pub async fn get_playbook(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    json(&store::playbook(env, shop.as_str()).await?)
}

pub async fn put_playbook(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let bytes = super::read_body(req).await?;
    // Once the shop's templates were listed (`GET /api/templates`, kept current by Meta's
    // template webhooks), every template a step may use must be one of the account's.
    let kept = ask(env, shop, GetTemplates).await?;
    let known: Option<Vec<String>> = kept
        .listed_at
        .map(|_| kept.templates.into_iter().map(|t| t.name).collect());
    let playbook =
        validation::parse(&bytes, known.as_deref()).map_err(|e| invalid("invalid_playbook", e))?;
    let put = PutPlaybook {
        shop: shop.clone(),
        playbook,
    };
    ask(env, shop, put).await?;
    get_playbook(env, shop).await
}

pub async fn get_whatsapp(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let record = ask(env, shop, ShopState { shop: shop.clone() }).await?;
    let answer = match &record.whatsapp {
        Some(w) => serde_json::json!({
            "phone_number_id": w.phone_number_id,
            "waba_id": w.waba_id,
            "connected": !w.paused,
            "status": if w.paused { "token_rejected" } else { "connected" },
            "messages_per_second": record.messages_per_second(),
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
    /// The number's throughput tier at Meta (default 80 messages per second).
    messages_per_second: Option<u32>,
}

pub async fn put_whatsapp(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let c: Connect = body(req).await?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
    if c.messages_per_second
        .is_some_and(|n| !(1..=1000).contains(&n))
    {
        return Err(ApiError::bad_request(
            "messages_per_second must be between 1 and 1000",
        ));
    }
    // A token that cannot go in a header would fail the check below as if Meta were down.
    let token = c.access_token.trim();
    if !digits(&c.phone_number_id)
        || !digits(&c.waba_id)
        || token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::bad_request(
            "phone_number_id and waba_id must be Graph ids and access_token must be set",
        ));
    }
    // One number, one shop: inbound messages are routed by it.
    if let Some(owner) = store::shop_for_number(env, &c.phone_number_id).await? {
        if &owner != shop {
            return Err(ApiError::new(
                409,
                "number_in_use",
                "this WhatsApp number is connected to another shop",
            ));
        }
    }
    let accepted = whatsapp::check_number(&config::graph_base(env), &c.phone_number_id, token)
        .await
        .map_err(|e| {
            worker::console_error!("checking WhatsApp credentials: {e}");
            ApiError::new(
                502,
                "whatsapp_unreachable",
                "could not reach Meta to check these credentials; try again",
            )
        })?;
    let Some(display_number) = accepted else {
        return Err(ApiError::new(
            422,
            "whatsapp_rejected",
            "Meta did not accept these credentials for this phone number",
        ));
    };
    // Opt-outs its shoppers sent while no shop had the number connected apply here, before
    // the number can send anything.
    let kept = ask_number(env, &c.phone_number_id, KeptConsents).await?;
    let up_to = kept.iter().map(|k| k.id).max();
    if !kept.is_empty() {
        ask(env, shop, AdoptConsents { records: kept }).await?;
    }
    let handed = ForgetKept {
        up_to,
        shop: shop.clone(),
    };
    let late = ask_number(env, &c.phone_number_id, handed).await?;
    if !late.is_empty() {
        ask(env, shop, AdoptConsents { records: late }).await?;
    }
    // Only now can the number send: every opt-out it was sent is on the shop's ledger.
    let connect = ConnectWhatsApp {
        shop: shop.clone(),
        phone_number_id: c.phone_number_id.clone(),
        waba_id: c.waba_id,
        access_token: token.to_string(),
        messages_per_second: c.messages_per_second,
        display_number,
    };
    ask(env, shop, connect).await?;
    get_whatsapp(env, shop).await
}

pub async fn journeys(req: &Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let status = match query(req, "status")?.as_deref() {
        None | Some("all") => JourneyFilter::All,
        Some("active") => JourneyFilter::Active,
        Some("ended") => JourneyFilter::Ended,
        Some(_) => return Err(ApiError::bad_request("status must be active, ended or all")),
    };
    let list = ask(env, shop, JourneysQuery { status }).await?;
    json(&serde_json::json!({ "journeys": list }))
}

pub async fn consents(req: &Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let raw = query(req, "phone")?.ok_or_else(|| ApiError::bad_request("phone is required"))?;
    let phone = any_phone(&raw)?;
    let records = ask(
        env,
        shop,
        ConsentsOf {
            phone: phone.clone(),
        },
    )
    .await?;
    let status = match consent::status(&records) {
        ConsentStatus::OptedIn => "opted_in",
        ConsentStatus::OptedOut => "opted_out",
        ConsentStatus::None => "none",
    };
    // Stored in epoch milliseconds; answered in RFC 3339 like every other instant of the API.
    let records = records
        .iter()
        .map(|r| {
            let mut record = serde_json::to_value(r).map_err(ApiError::internal)?;
            if let Some(fields) = record.as_object_mut() {
                fields.insert("at".into(), r.at.to_rfc3339().into());
            }
            Ok(record)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    json(&serde_json::json!({ "phone": phone.as_str(), "status": status, "records": records }))
}

/// `from`/`to` as `YYYY-MM-DD` (UTC days, both included); by default the last 30 days.
pub async fn metrics(req: &Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let day = |name: &str| -> ApiResult<Option<Millis>> {
        match query(req, name)? {
            None => Ok(None),
            Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| Some(Millis(t.and_utc().timestamp_millis())))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be a date like 2026-11-26"))
                }),
        }
    };
    let now = clock::now();
    let to = day("to")?.map_or(now, |t| t.plus_millis(DAY_MS));
    let from = day("from")?.unwrap_or(to.plus_millis(-DEFAULT_RANGE_DAYS * DAY_MS));
    if from >= to {
        return Err(ApiError::bad_request("from must be before to"));
    }
    let by = match query(req, "by")? {
        None => None,
        Some(b) => Some(MetricsBy::parse(&b).ok_or_else(|| {
            ApiError::bad_request("by must be step, template, segment, product or day")
        })?),
    };
    let mut answer = ask(env, shop, MetricsQuery { from, to, by }).await?;
    // Templates are the playbook's names for steps.
    if by == Some(MetricsBy::Template) {
        let playbook = store::playbook(env, shop.as_str()).await?;
        if let Some(rows) = answer["breakdown"].as_array_mut() {
            for row in rows {
                let template = row["key"]
                    .as_str()
                    .and_then(|step| playbook.step(&step.into()))
                    .map(|s| s.template.name.clone());
                row["key"] = template.map_or(serde_json::Value::Null, serde_json::Value::String);
            }
        }
    }
    answer["from"] = serde_json::json!(from.to_rfc3339());
    answer["to"] = serde_json::json!(to.to_rfc3339());
    json(&answer)
}

pub async fn get_faq(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    json(&ask(env, shop, GetFaq).await?)
}

pub async fn put_faq(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let faq: Faq = body(req).await?;
    conversation::validate_faq(&faq).map_err(|e| invalid("invalid_faq", e))?;
    json(&ask(env, shop, PutFaq { faq }).await?)
}

pub async fn inbox(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    json(&ask(env, shop, GetInbox).await?)
}

#[derive(Deserialize)]
struct PhoneBody {
    phone: String,
}

pub async fn resolve_inbox(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let b: PhoneBody = body(req).await?;
    let phone = any_phone(&b.phone)?;
    json(&ask(env, shop, Resolve { phone }).await?)
}

#[derive(Deserialize)]
struct ReplyBody {
    phone: String,
    text: String,
}

/// `POST /api/inbox/reply`: the merchant answers a shopper waiting for a person, in free form,
/// while the 24-hour window of the shopper's last message is open.
pub async fn reply_inbox(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let b: ReplyBody = body(req).await?;
    let phone = any_phone(&b.phone)?;
    let text = b.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request(format!(
            "text must be 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    let window = ask(
        env,
        shop,
        ReplyTarget {
            phone: phone.clone(),
        },
    )
    .await?;
    if window.opted_out {
        return Err(ApiError::new(
            409,
            "opted_out",
            "the shopper asked to stop receiving messages",
        ));
    }
    if !window.waiting {
        return Err(ApiError::new(
            404,
            "not_found",
            "no conversation with this shopper waits for an answer",
        ));
    }
    if !conversation::window_open(window.last_inbound, clock::now()) {
        return Err(ApiError::new(
            409,
            "window_closed",
            "the shopper wrote more than 24 hours ago: WhatsApp allows only approved templates now",
        ));
    }
    let conn = connection(env, shop).await?;
    send_answer(whatsapp::send(env, &conn, &text_message(&phone, text)).await)
}

/// `GET /api/faq/try?q=`: what the bot would answer to that question now.
pub async fn try_faq(req: &Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let q = query(req, "q")?
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("q is required"))?;
    if q.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_request("q is too long"));
    }
    let faq = ask(env, shop, GetFaq).await?;
    let (entry, language) = conversation::try_faq(&faq, &q);
    json(&serde_json::json!({
        "answer": entry.and_then(|i| faq.entries.get(i)).map(|e| e.answer.clone()),
        "entry": entry,
        "language": language.code(),
    }))
}

#[derive(Deserialize)]
struct Vital {
    name: String,
    value: f64,
}

/// `POST /api/web-vitals`: the admin page's own web vitals, kept for their p75.
pub async fn web_vitals(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let v: Vital = body(req).await?;
    if !valid_vital(&v.name, v.value) {
        return Err(ApiError::bad_request(
            "name must be LCP, CLS, INP, FCP or TTFB, with a finite value of at least 0",
        ));
    }
    ask(
        env,
        shop,
        RecordVital {
            name: v.name,
            value: v.value,
        },
    )
    .await?;
    Ok(Response::empty()?.with_status(204))
}

/// `customers/data_request` reports, opened for the merchant who must pass them on.
pub async fn data_requests(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let key = crypto::data_key(env)?;
    let reports: Vec<serde_json::Value> = store::data_requests(env, shop.as_str())
        .await?
        .into_iter()
        .filter_map(|(id, sealed)| {
            let report: serde_json::Value =
                serde_json::from_str(&crypto::open(&key, &sealed).ok()?).ok()?;
            Some(serde_json::json!({ "id": id, "report": report }))
        })
        .collect();
    json(&serde_json::json!({ "data_requests": reports }))
}

/// Sends the playbook's first step to the merchant's own phone, with sample values.
pub async fn test_message(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let b: PhoneBody = body(req).await?;
    let phone = any_phone(&b.phone)?;
    let playbook = store::playbook(env, shop.as_str()).await?;
    let step = playbook
        .steps
        .first()
        .ok_or_else(|| ApiError::bad_request("the playbook has no steps"))?;
    let name = store::shop(env, shop.as_str())
        .await?
        .unwrap_or_default()
        .name;
    let conn = connection(env, shop).await?;
    let message = sample_message(
        step,
        &phone,
        &playbook.default_language,
        &name,
        playbook.fallback_image_url.as_deref(),
    );
    send_answer(send_template(env, shop, &conn, &message, None).await)
}

/// The shop's WhatsApp connection, its token opened; 409 when there is none.
pub(super) async fn connection(env: &Env, shop: &ShopDomain) -> ApiResult<WhatsAppConnection> {
    let mut record = ask(env, shop, ShopState { shop: shop.clone() }).await?;
    store::open_whatsapp(env, &mut record)?;
    record
        .whatsapp
        .ok_or_else(|| ApiError::new(409, "whatsapp_not_connected", "connect WhatsApp first"))
}

/// What the merchant is told of a message sent from the admin page.
fn send_answer(outcome: SendOutcome) -> ApiResult<Response> {
    match outcome {
        SendOutcome::Accepted { wamid } => json(&serde_json::json!({
            "status": "sent",
            "sent": true,
            "wamid": wamid,
        })),
        SendOutcome::Rejected { code, .. } => Err(ApiError::new(
            502,
            "whatsapp_refused",
            format!(
                "Meta refused the message (error {})",
                code.map_or("unknown".into(), |c| c.to_string())
            ),
        )),
        SendOutcome::Unknown => Err(ApiError::new(
            504,
            "whatsapp_timeout",
            "Meta did not answer in time",
        )),
    }
}

/// Any written form of a phone: E.164 with or without its `+`.
fn any_phone(raw: &str) -> ApiResult<Phone> {
    Phone::parse(raw, None)
        .or_else(|_| Phone::from_wa_id(raw.trim().trim_start_matches('+')))
        .map_err(|e| ApiError::bad_request(format!("phone: {e}")))
}
