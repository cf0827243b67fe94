//! What every Admin GraphQL answer may carry besides its data: the query's cost and the
//! bucket's state (`extensions.cost`), and a throttle in `errors`. Shared by each call's own
//! reading of its answer.

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct Extensions {
    pub cost: Option<Cost>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    #[serde(default)]
    pub requested_query_cost: Option<f64>,
    pub throttle_status: Option<ThrottleStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub currently_available: f64,
    pub restore_rate: f64,
}

impl Cost {
    /// Shopify's rule: wait `(cost − currentlyAvailable) / restoreRate` seconds before a query
    /// of this cost; `None` when the bucket holds enough.
    pub fn wait_ms(&self) -> Option<i64> {
        let status = self.throttle_status.as_ref()?;
        let missing = self.requested_query_cost? - status.currently_available;
        (missing > 0.0 && status.restore_rate > 0.0)
            .then(|| (missing / status.restore_rate * 1000.0).ceil() as i64)
    }
}

/// The wait `extensions.cost` of an answer asks for before the next query of the same cost.
pub fn wait_of(answer: &Value) -> Option<i64> {
    let cost: Cost = serde_json::from_value(answer.pointer("/extensions/cost")?.clone()).ok()?;
    cost.wait_ms()
}

pub fn throttled(errors: &Value) -> bool {
    errors.as_array().is_some_and(|all| {
        all.iter()
            .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"))
    })
}

pub fn first_message(errors: &Value) -> String {
    errors
        .pointer("/0/message")
        .and_then(Value::as_str)
        .or_else(|| errors.as_str())
        .unwrap_or("unknown error")
        .to_string()
}
