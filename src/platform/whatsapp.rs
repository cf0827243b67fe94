//! The WhatsApp Cloud API client: one send, one outcome. It never retries by itself; what a
//! refusal means is the core's decision (`core::delivery`).

use std::time::Duration;

use futures_util::future::{select, Either};
use serde::Deserialize;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

use crate::core::shopify::shop::WhatsAppConnection;
use crate::core::whatsapp::delivery::SendOutcome;
use crate::core::whatsapp::routing::Endpoint;
use crate::platform::{body, config};

/// How long a send may take before its outcome counts as unknown (var
/// `WHATSAPP_SEND_TIMEOUT_MS`). Capped well below `journey::ATTEMPT_GRACE_MS`, so a request
/// still in flight is never declared lost.
const DEFAULT_SEND_TIMEOUT_MS: u64 = 15_000;
const MAX_SEND_TIMEOUT_MS: u64 = 30_000;

pub fn send_timeout(env: &worker::Env) -> Duration {
    let ms = config::var_or(env, "WHATSAPP_SEND_TIMEOUT_MS", "")
        .parse()
        .unwrap_or(DEFAULT_SEND_TIMEOUT_MS);
    Duration::from_millis(ms.clamp(100, MAX_SEND_TIMEOUT_MS))
}

#[derive(Deserialize)]
struct Accepted {
    messages: Vec<MessageId>,
}

#[derive(Deserialize)]
struct MessageId {
    id: String,
}

#[derive(Deserialize)]
struct Refused {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    code: Option<i64>,
}

/// POSTs the message to `/messages`: replies, texts and everything but marketing templates.
pub async fn send<M: serde::Serialize>(
    env: &worker::Env,
    conn: &WhatsAppConnection,
    message: &M,
) -> SendOutcome {
    send_to(env, conn, Endpoint::Messages, message).await
}

/// POSTs the message to `endpoint`. A refusal carries Meta's `error.code`; anything that leaves
/// us unsure whether the request reached Meta is `Unknown`, so it is never sent twice.
pub async fn send_to<M: serde::Serialize>(
    env: &worker::Env,
    conn: &WhatsAppConnection,
    endpoint: Endpoint,
    message: &M,
) -> SendOutcome {
    let base = config::graph_base(env);
    match post(&base, send_timeout(env), conn, endpoint, message).await {
        Ok(outcome) => outcome,
        Err(e) => {
            worker::console_warn!("whatsapp send outcome unknown: {e}");
            SendOutcome::Unknown
        }
    }
}

async fn post<M: serde::Serialize>(
    graph_base: &str,
    timeout: Duration,
    conn: &WhatsAppConnection,
    endpoint: Endpoint,
    message: &M,
) -> worker::Result<SendOutcome> {
    let url = format!("{graph_base}/{}/{}", conn.phone_number_id, endpoint.edge());
    let headers = Headers::new();
    headers.set("Authorization", &format!("Bearer {}", conn.access_token))?;
    headers.set("Content-Type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(message)?.into()));
    let request = Request::new_with_init(&url, &init)?;

    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let timer = Delay::from(timeout);
    futures_util::pin_mut!(sending, timer);
    let response = match select(sending, timer).await {
        Either::Left((response, _)) => response?,
        Either::Right(_) => {
            controller.abort();
            return Ok(SendOutcome::Unknown);
        }
    };
    let status = response.status_code();
    let text = body::text(response).await.unwrap_or_default();
    if (200..300).contains(&status) {
        // A 200 whose body we cannot read still means Meta took the message.
        let wamid = serde_json::from_str::<Accepted>(&text)
            .ok()
            .and_then(|a| a.messages.into_iter().next())
            .map(|m| m.id)
            .unwrap_or_default();
        return Ok(SendOutcome::Accepted {
            wamid: wamid.into(),
        });
    }
    let code = serde_json::from_str::<Refused>(&text)
        .ok()
        .and_then(|r| r.error.code);
    Ok(SendOutcome::Rejected {
        http_status: status,
        code,
    })
}

/// `GET /{phone_number_id}` with the merchant's token: does Meta accept these credentials?
/// `Some` with the number as shoppers see it (when Meta says) if it does. An error when Graph
/// gives no verdict (unreachable, or failing with a 5xx), so an outage at Meta is not reported
/// to the merchant as rejected credentials.
pub async fn check_number(
    graph_base: &str,
    phone_number_id: &str,
    access_token: &str,
) -> worker::Result<Option<Option<String>>> {
    let headers = Headers::new();
    headers.set("Authorization", &format!("Bearer {access_token}"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(&format!("{graph_base}/{phone_number_id}"), &init)?;
    let response = Fetch::Request(request).send().await?;
    match response.status_code() {
        status @ 500..=599 => Err(worker::Error::RustError(format!(
            "Graph answered {status} to the credentials check"
        ))),
        200 => {
            #[derive(serde::Deserialize)]
            struct Number {
                display_phone_number: Option<String>,
            }
            let text = body::text(response).await.unwrap_or_default();
            let display = serde_json::from_str::<Number>(&text)
                .ok()
                .and_then(|n| n.display_phone_number)
                .filter(|d| d.len() <= 32);
            Ok(Some(display))
        }
        _ => Ok(None),
    }
}

/// A Graph API call of the WhatsApp Business Management API (templates): `(status, body)`, or
/// an error when Graph gave no answer in time.
pub async fn graph_call(
    env: &worker::Env,
    method: Method,
    path_and_query: &str,
    access_token: &str,
    body: Option<&serde_json::Value>,
) -> worker::Result<(u16, String)> {
    let headers = Headers::new();
    headers.set("Authorization", &format!("Bearer {access_token}"))?;
    let mut init = RequestInit::new();
    if let Some(body) = body {
        headers.set("Content-Type", "application/json")?;
        init.with_body(Some(serde_json::to_string(body)?.into()));
    }
    init.with_method(method).with_headers(headers);
    let url = format!("{}/{path_and_query}", config::graph_base(env));
    let request = Request::new_with_init(&url, &init)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sending = fetch.send_with_signal(&signal);
    let timer = Delay::from(send_timeout(env));
    futures_util::pin_mut!(sending, timer);
    let response = match select(sending, timer).await {
        Either::Left((response, _)) => response?,
        Either::Right(_) => {
            controller.abort();
            return Err(worker::Error::RustError(
                "Graph gave no answer in time".into(),
            ));
        }
    };
    let status = response.status_code();
    Ok((status, body::text(response).await.unwrap_or_default()))
}
