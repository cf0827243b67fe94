//! The one error shape every handler answers with: `{"error": {"code", "message"}}`.

use worker::{Response, Result};

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Extra response headers, e.g. App Bridge's retry signal on an invalid session.
    pub headers: Vec<(&'static str, &'static str)>,
    /// One entry per offending field of a rejected body: `[{"field", "message"}]`.
    pub fields: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            headers: vec![],
            fields: None,
        }
    }

    pub fn with_fields(mut self, fields: impl serde::Serialize) -> Self {
        self.fields = serde_json::to_value(fields).ok();
        self
    }

    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    pub fn not_found() -> Self {
        Self::new(404, "not_found", "no such route")
    }

    /// Something on our side failed; details go to the log, not to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        worker::console_error!("internal error: {detail}");
        Self::new(500, "internal", "something went wrong on our side")
    }

    pub fn into_response(self) -> Result<Response> {
        let mut body =
            serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(fields) = self.fields {
            body["error"]["fields"] = fields;
        }
        let mut resp = Response::from_json(&body)?.with_status(self.status);
        for (name, value) in self.headers {
            resp.headers_mut().set(name, value)?;
        }
        Ok(resp)
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(e)
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;
