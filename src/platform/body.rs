//! A response's whole body in one call to the runtime: `worker::Response::text` reads its
//! stream chunk by chunk, a crossing into wasm and back for each.

use worker::wasm_bindgen_futures::JsFuture;
use worker::{Error, Response, Result};

pub async fn text(response: Response) -> Result<String> {
    let response = worker::web_sys::Response::from(response);
    JsFuture::from(response.text()?)
        .await?
        .as_string()
        .ok_or_else(|| Error::RustError("the body is not text".into()))
}
