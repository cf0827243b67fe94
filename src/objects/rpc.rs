//! The transport under `protocol`: `POST https://do/{path}` with a JSON body, answered with
//! JSON. Errors carry the object's message so they reach the logs.

use serde::{de::DeserializeOwned, Serialize};
use worker::{Error, Method, Request, RequestInit, Response, Result, Stub};

use crate::platform::body;

pub async fn post<B: Serialize, R: DeserializeOwned>(
    stub: &Stub,
    path: &str,
    body: &B,
) -> Result<R> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(body)?.into()));
    let resp = stub
        .fetch_with_request(Request::new_with_init(
            &format!("https://do/{path}"),
            &init,
        )?)
        .await?;
    let status = resp.status_code();
    let text = body::text(resp).await;
    if status != 200 {
        return Err(Error::RustError(format!(
            "{path} answered {status}: {}",
            text.unwrap_or_default()
        )));
    }
    read(&text?)
}

/// A body read with serde_json (not `json()`, which walks a parsed JavaScript object field by
/// field and needs a second decoder for every type in the Worker).
pub fn read<T: DeserializeOwned>(body: &str) -> Result<T> {
    Ok(serde_json::from_str(body)?)
}

/// The path a call was posted to.
pub fn path(req: &Request) -> String {
    req.path().trim_start_matches('/').to_string()
}

pub fn reply<T: Serialize>(value: &T) -> Result<Response> {
    Response::from_json(value)
}
