//! Consent kept in step with Shopify (docs/rules.md §3): each opt-in and opt-out cartback
//! records is written to the Shopify customer's WhatsApp marketing consent
//! (`customerWhatsAppMarketingConsentUpdate`, Admin API 2026-07 and later; scope
//! `write_customers`). Two calls: find the customer by the phone, then update their consent.
//! A phone that is no customer's creates nothing. Here: the requests, and what each answer
//! means; the ledger's alarm sends them (`shop_ledger::consent_sync`).

use serde_json::{json, Value};

use super::graphql::{first_message, throttled, wait_of};
use crate::core::gate::consent::ShopifyConsent;
use crate::core::values::phone::Phone;
use crate::core::values::time::{Millis, SECOND_MS};

const LOOKUP: &str = "query CustomerByPhone($q: String!) { \
customers(first: 1, query: $q) { nodes { id } } }";

const UPDATE: &str =
    "mutation KeepWhatsAppConsent($input: CustomerWhatsAppMarketingConsentUpdateInput!) { \
customerWhatsAppMarketingConsentUpdate(input: $input) { \
customerPhoneNumber { phoneNumber whatsAppMarketingConsent { state } } \
userErrors { field code message } } }";

/// Attempts at one phone's update before it is given up (logged): throttles and outages only.
pub const MAX_ATTEMPTS: u32 = 6;

/// What an answer means.
#[derive(Debug, PartialEq)]
pub enum Answer<T> {
    Done(T),
    /// Throttled, 429 or 5xx: ask again after at least `wait_ms`.
    Retry {
        wait_ms: i64,
    },
    /// Refused for good (no scope, bad input): the update is dropped, and logged.
    Failed(String),
}

pub fn lookup_body(phone: &Phone) -> Value {
    json!({ "query": LOOKUP, "variables": { "q": format!("phone:'{}'", phone.as_str()) } })
}

pub fn update_body(customer_id: &str, consent: ShopifyConsent, at: Millis) -> Value {
    let mut state = json!({ "updatedAt": at.to_rfc3339() });
    match consent {
        ShopifyConsent::Subscribed { confirmed } => {
            state["state"] = json!("SUBSCRIBED");
            state["optInLevel"] = json!(if confirmed {
                "CONFIRMED_OPT_IN"
            } else {
                "SINGLE_OPT_IN"
            });
        }
        ShopifyConsent::Unsubscribed => state["state"] = json!("UNSUBSCRIBED"),
    }
    json!({ "query": UPDATE, "variables": { "input": {
        "customerId": customer_id,
        "whatsAppMarketingConsent": state,
    } } })
}

/// Backoff for attempt `n` (from 0) when Shopify gave no wait: 2 s, 4 s, … up to 5 min.
pub fn backoff_ms(attempt: u32, told_ms: Option<i64>) -> i64 {
    let doubling = (2 * SECOND_MS).saturating_mul(1 << attempt.min(8));
    told_ms.unwrap_or(0).max(doubling).min(300 * SECOND_MS)
}

/// The answer's data, or what to do instead.
fn data(status: u16, body: &str, retry_after_ms: Option<i64>) -> Result<Value, Answer<()>> {
    if status == 429 || status >= 500 {
        return Err(Answer::Retry {
            wait_ms: retry_after_ms.unwrap_or(0),
        });
    }
    if !(200..300).contains(&status) {
        return Err(Answer::Failed(format!("Shopify answered HTTP {status}")));
    }
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return Err(Answer::Retry { wait_ms: 0 });
    };
    if let Some(errors) = answer.get("errors").filter(|e| !e.is_null()) {
        return Err(if throttled(errors) {
            Answer::Retry {
                wait_ms: wait_of(&answer).unwrap_or(0),
            }
        } else {
            Answer::Failed(format!("Shopify refused: {}", first_message(errors)))
        });
    }
    answer
        .get("data")
        .cloned()
        .ok_or_else(|| Answer::Failed("Shopify's answer had no data".into()))
}

fn relay<T>(a: Answer<()>) -> Answer<T> {
    match a {
        Answer::Retry { wait_ms } => Answer::Retry { wait_ms },
        Answer::Failed(why) => Answer::Failed(why),
        Answer::Done(()) => Answer::Failed("no answer".into()),
    }
}

/// The customer's id, or `None` when no customer has this phone.
pub fn read_lookup(status: u16, body: &str, retry_after_ms: Option<i64>) -> Answer<Option<String>> {
    match data(status, body, retry_after_ms) {
        Ok(data) => Answer::Done(
            data.pointer("/customers/nodes/0/id")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        Err(a) => relay(a),
    }
}

pub fn read_update(status: u16, body: &str, retry_after_ms: Option<i64>) -> Answer<()> {
    let data = match data(status, body, retry_after_ms) {
        Ok(data) => data,
        Err(a) => return a,
    };
    let errors = data
        .pointer("/customerWhatsAppMarketingConsentUpdate/userErrors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match errors.first() {
        None => Answer::Done(()),
        Some(e) if e.get("code").and_then(Value::as_str) == Some("INTERNAL_ERROR") => {
            Answer::Retry { wait_ms: 0 }
        }
        Some(e) => Answer::Failed(format!(
            "Shopify refused the consent: {}",
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("no reason")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> Phone {
        Phone::parse("+16136120707", None).unwrap()
    }

    #[test]
    fn the_customer_is_found_by_the_phone() {
        let body = lookup_body(&phone());
        assert_eq!(body["variables"]["q"], "phone:'+16136120707'");
        let found =
            r#"{"data":{"customers":{"nodes":[{"id":"gid://shopify/Customer/207119551"}]}}}"#;
        assert_eq!(
            read_lookup(200, found, None),
            Answer::Done(Some("gid://shopify/Customer/207119551".into()))
        );
        let none = r#"{"data":{"customers":{"nodes":[]}}}"#;
        assert_eq!(read_lookup(200, none, None), Answer::Done(None));
    }

    #[test]
    fn opt_ins_and_opt_outs_become_shopify_consent_states() {
        let at = Millis::parse_rfc3339("2026-10-14T11:00:00Z").unwrap();
        let out = update_body("gid://shopify/Customer/1", ShopifyConsent::Unsubscribed, at);
        assert_eq!(
            out["variables"]["input"],
            json!({ "customerId": "gid://shopify/Customer/1",
                    "whatsAppMarketingConsent": { "state": "UNSUBSCRIBED", "updatedAt": "2026-10-14T11:00:00.000Z" } })
        );
        let confirmed = ShopifyConsent::Subscribed { confirmed: true };
        let body = update_body("gid://shopify/Customer/1", confirmed, at);
        let consent = &body["variables"]["input"]["whatsAppMarketingConsent"];
        assert_eq!(consent["state"], "SUBSCRIBED");
        assert_eq!(consent["optInLevel"], "CONFIRMED_OPT_IN");
        let single = ShopifyConsent::Subscribed { confirmed: false };
        let body = update_body("gid://shopify/Customer/1", single, at);
        assert_eq!(
            body["variables"]["input"]["whatsAppMarketingConsent"]["optInLevel"],
            "SINGLE_OPT_IN"
        );
    }

    #[test]
    fn throttles_are_retried_and_refusals_dropped() {
        let throttled = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":10,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":50.0}}}}"#;
        assert_eq!(
            read_update(200, throttled, None),
            Answer::Retry { wait_ms: 200 }
        );
        assert_eq!(
            read_update(503, "", Some(1_000)),
            Answer::Retry { wait_ms: 1_000 }
        );
        let refused = r#"{"data":{"customerWhatsAppMarketingConsentUpdate":{"customerPhoneNumber":null,"userErrors":[{"field":["input","customerId"],"code":"INVALID","message":"Customer has no phone number"}]}}}"#;
        assert!(
            matches!(read_update(200, refused, None), Answer::Failed(m) if m.contains("no phone"))
        );
        let denied =
            r#"{"errors":[{"message":"Access denied","extensions":{"code":"ACCESS_DENIED"}}]}"#;
        assert!(matches!(read_lookup(200, denied, None), Answer::Failed(_)));
        let done = r#"{"data":{"customerWhatsAppMarketingConsentUpdate":{"customerPhoneNumber":{"phoneNumber":"+16136120707","whatsAppMarketingConsent":{"state":"UNSUBSCRIBED"}},"userErrors":[]}}}"#;
        assert_eq!(read_update(200, done, None), Answer::Done(()));
    }

    #[test]
    fn backoff_doubles_and_honours_what_shopify_said() {
        assert_eq!(backoff_ms(0, None), 2_000);
        assert_eq!(backoff_ms(2, None), 8_000);
        assert_eq!(backoff_ms(0, Some(30_000)), 30_000);
        assert_eq!(backoff_ms(30, None), 300_000);
    }
}
