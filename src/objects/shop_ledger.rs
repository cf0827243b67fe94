//! `ShopLedger`: one SQLite-backed Durable Object per shop, the home of what spans carts and
//! must be strongly consistent (consent, suppression, caps, send pacing, metrics; DESIGN.md §2).
//! The binding and its migration exist from the start so the class is SQLite-backed when first
//! deployed; it answers no operation yet.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

#[durable_object]
pub struct ShopLedger {
    _state: State,
}

impl DurableObject for ShopLedger {
    fn new(state: State, _env: Env) -> Self {
        Self { _state: state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let body = serde_json::json!({
            "error": { "code": "not_found", "message": format!("no ledger operation {}", req.path()) }
        });
        Ok(Response::from_json(&body)?.with_status(404))
    }
}
