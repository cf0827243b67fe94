//! The one error shape every handler answers with: `{"error": {"code", "message"}}`.

use worker::{Response, Result};

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
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
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        Ok(Response::from_json(&body)?.with_status(self.status))
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(e)
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;
