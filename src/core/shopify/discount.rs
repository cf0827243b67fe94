//! A step's recovery code at Shopify (`discountCodeBasicCreate`, Shopify's Admin GraphQL
//! API): the GraphQL request, and what each answer means. The shell sends it, waits and retries
//! as told here; it never reads the answer itself.
//!
//! Retrying is safe because the caller derives the code from the journey and step: a retry of
//! a request that did reach Shopify finds its own code taken, which means it exists.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::graphql::{first_message, throttled, Cost, Extensions};
use crate::core::values::time::Millis;

const MUTATION: &str = "mutation CreateRecoveryCode($basicCodeDiscount: DiscountCodeBasicInput!) { \
discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) { \
codeDiscountNode { id codeDiscount { ... on DiscountCodeBasic { codes(first: 1) { nodes { code } } } } } \
userErrors { field code message } } }";

/// Attempts in all, the first included: enough to ride out a throttle, short enough for an alarm.
pub const MAX_ATTEMPTS: u32 = 4;
const BASE_BACKOFF_MS: i64 = 500;
const MAX_BACKOFF_MS: i64 = 8_000;
/// Shopify's limit on a code's length.
const MAX_CODE_LEN: usize = 255;

/// One code to create: single use, once per customer, `percent` off everything for everyone,
/// valid from `starts_at` to `ends_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountRequest {
    pub code: String,
    pub percent: u8,
    pub starts_at: Millis,
    pub ends_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscountOutcome {
    Created { code: String },
    Failed { reason: String },
}

/// What to do with Shopify's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Done(DiscountOutcome),
    /// Throttled or briefly unavailable: try again, after at least `after_ms` if Shopify said.
    Retry {
        after_ms: Option<i64>,
    },
}

impl DiscountRequest {
    /// Refuses what Shopify would refuse anyway, before spending a call on it.
    pub fn check(&self) -> Result<(), String> {
        if self.code.is_empty()
            || self.code.len() > MAX_CODE_LEN
            || self
                .code
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!("unusable discount code {:?}", self.code));
        }
        if !(1..=100).contains(&self.percent) {
            return Err(format!("discount of {}% is out of range", self.percent));
        }
        if self.ends_at <= self.starts_at {
            return Err("the discount would end before it starts".into());
        }
        Ok(())
    }

    /// The GraphQL request body. From API version 2025-10 buyers are chosen with `context`;
    /// earlier versions only know the since-deprecated `customerSelection`.
    pub fn graphql_body(&self, api_version: &str) -> Value {
        let mut input = json!({
            "title": format!("cartback recovery {}", self.code),
            "code": self.code,
            "startsAt": self.starts_at.to_rfc3339(),
            "endsAt": self.ends_at.to_rfc3339(),
            "customerGets": {
                "value": { "percentage": f64::from(self.percent) / 100.0 },
                "items": { "all": true },
            },
            "usageLimit": 1,
            "appliesOncePerCustomer": true,
            // Free-shipping offers still apply; other discounts do not stack on a recovery code.
            "combinesWith": {
                "orderDiscounts": false,
                "productDiscounts": false,
                "shippingDiscounts": true,
            },
        });
        if api_version >= "2025-10" {
            input["context"] = json!({ "all": "ALL" });
        } else {
            input["customerSelection"] = json!({ "all": true });
        }
        json!({ "query": MUTATION, "variables": { "basicCodeDiscount": input } })
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    #[serde(default)]
    discount_code_basic_create: Option<Payload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    code_discount_node: Option<Value>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
struct UserError {
    #[serde(default)]
    field: Option<Vec<String>>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: String,
}

/// Reads Shopify's answer to `request`. `retry_after_ms` is the `Retry-After` header, if any.
pub fn classify(
    status: u16,
    body: &str,
    retry_after_ms: Option<i64>,
    request: &DiscountRequest,
) -> Verdict {
    let failed = |reason: String| Verdict::Done(DiscountOutcome::Failed { reason });
    if status == 429 || status >= 500 {
        return Verdict::Retry {
            after_ms: retry_after_ms,
        };
    }
    if !(200..300).contains(&status) {
        // 401 after a refresh, 402 frozen shop, 403 missing scope, 404 gone, 423 locked.
        return failed(format!("Shopify answered HTTP {status}"));
    }
    let Ok(answer) = serde_json::from_str::<Answer>(body) else {
        // A 2xx we cannot read; asking again is harmless.
        return Verdict::Retry { after_ms: None };
    };
    let wait = answer
        .extensions
        .as_ref()
        .and_then(|e| e.cost.as_ref())
        .and_then(Cost::wait_ms);
    let payload = answer.data.and_then(|d| d.discount_code_basic_create);
    if let Some(errors) = answer.errors.filter(|e| !e.is_null()) {
        if throttled(&errors) {
            return Verdict::Retry { after_ms: wait };
        }
        if payload.is_none() {
            return failed(format!(
                "Shopify refused the request: {}",
                first_message(&errors)
            ));
        }
    }
    let Some(payload) = payload else {
        // No data and no error but an empty bucket: throttled in all but name.
        return match wait {
            Some(after_ms) => Verdict::Retry {
                after_ms: Some(after_ms),
            },
            None => failed("Shopify's answer had no discount in it".into()),
        };
    };
    if payload.user_errors.iter().any(code_taken) {
        return Verdict::Done(DiscountOutcome::Created {
            code: request.code.clone(),
        });
    }
    if !payload.user_errors.is_empty() {
        let messages: Vec<&str> = payload
            .user_errors
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        return failed(format!("Shopify refused the code: {}", messages.join("; ")));
    }
    match payload.code_discount_node.filter(|n| !n.is_null()) {
        Some(node) => {
            let code = node
                .pointer("/codeDiscount/codes/nodes/0/code")
                .and_then(Value::as_str)
                .unwrap_or(&request.code)
                .to_string();
            Verdict::Done(DiscountOutcome::Created { code })
        }
        None => failed("Shopify created no discount and gave no reason".into()),
    }
}

/// Our code already exists: the earlier attempt of this very request created it.
fn code_taken(e: &UserError) -> bool {
    let on_code = e
        .field
        .as_ref()
        .is_some_and(|f| f.last().is_some_and(|last| last == "code"));
    on_code
        && (e.code.as_deref() == Some("TAKEN")
            || e.message.contains("must be unique")
            || e.message.contains("already been taken"))
}

/// How long to wait before attempt `attempt + 1` (0-based `attempt` just failed): doubling
/// from 0.5 s, at least what Shopify asked for, never more than 8 s.
pub fn backoff_ms(attempt: u32, hint_ms: Option<i64>) -> i64 {
    let doubling = BASE_BACKOFF_MS.saturating_mul(1_i64 << attempt.min(16));
    doubling.max(hint_ms.unwrap_or(0)).min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DiscountRequest {
        DiscountRequest {
            code: "CB10-K7Q2XMA".into(),
            percent: 10,
            starts_at: Millis::parse_rfc3339("2025-11-01T10:00:00Z").unwrap(),
            ends_at: Millis::parse_rfc3339("2025-11-03T10:00:00Z").unwrap(),
        }
    }

    const COST: &str = r#""extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":10,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1990,"restoreRate":100.0}}}"#;

    fn created() -> String {
        format!(
            r#"{{"data":{{"discountCodeBasicCreate":{{"codeDiscountNode":{{"id":"gid://shopify/DiscountCodeNode/1","codeDiscount":{{"codes":{{"nodes":[{{"code":"CB10-K7Q2XMA"}}]}}}}}},"userErrors":[]}}}},{COST}}}"#
        )
    }

    fn user_errors(errors: &str) -> String {
        format!(
            r#"{{"data":{{"discountCodeBasicCreate":{{"codeDiscountNode":null,"userErrors":{errors}}}}},{COST}}}"#
        )
    }

    fn done(outcome: DiscountOutcome) -> Verdict {
        Verdict::Done(outcome)
    }

    #[test]
    fn builds_the_2025_10_input() {
        let body = request().graphql_body("2025-10");
        assert!(body["query"]
            .as_str()
            .unwrap()
            .contains("discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount)"));
        let input = &body["variables"]["basicCodeDiscount"];
        assert_eq!(
            *input,
            json!({
                "title": "cartback recovery CB10-K7Q2XMA",
                "code": "CB10-K7Q2XMA",
                "startsAt": "2025-11-01T10:00:00.000Z",
                "endsAt": "2025-11-03T10:00:00.000Z",
                "context": { "all": "ALL" },
                "customerGets": { "value": { "percentage": 0.1 }, "items": { "all": true } },
                "usageLimit": 1,
                "appliesOncePerCustomer": true,
                "combinesWith": { "orderDiscounts": false, "productDiscounts": false, "shippingDiscounts": true }
            })
        );
        let older = request().graphql_body("2025-07");
        let input = &older["variables"]["basicCodeDiscount"];
        assert_eq!(input["customerSelection"], json!({ "all": true }));
        assert!(input.get("context").is_none());
        let all = DiscountRequest {
            percent: 100,
            ..request()
        };
        assert_eq!(
            all.graphql_body("2026-01")["variables"]["basicCodeDiscount"]["customerGets"]["value"]
                ["percentage"],
            json!(1.0)
        );
    }

    #[test]
    fn checks_requests_before_sending() {
        assert_eq!(request().check(), Ok(()));
        for bad in [
            DiscountRequest {
                percent: 0,
                ..request()
            },
            DiscountRequest {
                percent: 101,
                ..request()
            },
            DiscountRequest {
                code: String::new(),
                ..request()
            },
            DiscountRequest {
                code: "A B".into(),
                ..request()
            },
            DiscountRequest {
                code: "X".repeat(256),
                ..request()
            },
            DiscountRequest {
                ends_at: request().starts_at,
                ..request()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_created_discount_is_created() {
        assert_eq!(
            classify(200, &created(), None, &request()),
            done(DiscountOutcome::Created {
                code: "CB10-K7Q2XMA".into()
            })
        );
    }

    #[test]
    fn our_own_code_already_taken_means_an_earlier_attempt_made_it() {
        let taken = user_errors(
            r#"[{"field":["basicCodeDiscount","code"],"code":"TAKEN","message":"Code must be unique. Please try a different code."}]"#,
        );
        assert_eq!(
            classify(200, &taken, None, &request()),
            done(DiscountOutcome::Created {
                code: "CB10-K7Q2XMA".into()
            })
        );
        let worded = user_errors(
            r#"[{"field":["basicCodeDiscount","code"],"code":null,"message":"Code must be unique. Please try a different code."}]"#,
        );
        assert!(matches!(
            classify(200, &worded, None, &request()),
            Verdict::Done(DiscountOutcome::Created { .. })
        ));
    }

    #[test]
    fn other_user_errors_fail_with_shopifys_words() {
        let invalid = user_errors(
            r#"[{"field":["basicCodeDiscount","endsAt"],"code":"INVALID","message":"Ends at needs to be after starts_at"},{"field":null,"code":"TAKEN","message":"Something else is taken"}]"#,
        );
        assert_eq!(
            classify(200, &invalid, None, &request()),
            done(DiscountOutcome::Failed {
                reason: "Shopify refused the code: Ends at needs to be after starts_at; Something else is taken"
                    .into()
            })
        );
    }

    #[test]
    fn throttled_answers_are_retried_after_what_the_bucket_needs() {
        let throttled = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":4,"restoreRate":50.0}}}}"#;
        assert_eq!(
            classify(200, throttled, None, &request()),
            Verdict::Retry {
                after_ms: Some(120)
            }
        );
        let bare = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}"#;
        assert_eq!(
            classify(200, bare, None, &request()),
            Verdict::Retry { after_ms: None }
        );
        // No error entry, but no data and an empty bucket.
        let empty_bucket = r#"{"data":null,"extensions":{"cost":{"requestedQueryCost":10,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":100.0}}}}"#;
        assert_eq!(
            classify(200, empty_bucket, None, &request()),
            Verdict::Retry {
                after_ms: Some(100)
            }
        );
    }

    #[test]
    fn server_errors_and_429_are_retried_honouring_retry_after() {
        for status in [500, 502, 503, 504, 429] {
            assert_eq!(
                classify(status, "oops", Some(2_000), &request()),
                Verdict::Retry {
                    after_ms: Some(2_000)
                }
            );
        }
        assert_eq!(
            classify(200, "<html>", None, &request()),
            Verdict::Retry { after_ms: None }
        );
    }

    #[test]
    fn other_refusals_are_final() {
        for status in [400, 401, 402, 403, 404, 423] {
            assert!(matches!(
                classify(status, "{}", None, &request()),
                Verdict::Done(DiscountOutcome::Failed { .. })
            ));
        }
        let denied = r#"{"errors":[{"message":"Access denied for discountCodeBasicCreate field.","extensions":{"code":"ACCESS_DENIED"}}],"data":null}"#;
        assert_eq!(
            classify(200, denied, None, &request()),
            done(DiscountOutcome::Failed {
                reason:
                    "Shopify refused the request: Access denied for discountCodeBasicCreate field."
                        .into()
            })
        );
        let string_errors = r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;
        assert!(matches!(
            classify(200, string_errors, None, &request()),
            Verdict::Done(DiscountOutcome::Failed { .. })
        ));
        assert!(matches!(
            classify(
                200,
                r#"{"data":{"discountCodeBasicCreate":{"codeDiscountNode":null,"userErrors":[]}}}"#,
                None,
                &request()
            ),
            Verdict::Done(DiscountOutcome::Failed { .. })
        ));
        assert!(matches!(
            classify(200, "{}", None, &request()),
            Verdict::Done(DiscountOutcome::Failed { .. })
        ));
    }

    #[test]
    fn backoff_doubles_respects_hints_and_is_bounded() {
        assert_eq!(backoff_ms(0, None), 500);
        assert_eq!(backoff_ms(1, None), 1_000);
        assert_eq!(backoff_ms(2, None), 2_000);
        assert_eq!(backoff_ms(0, Some(1_500)), 1_500);
        assert_eq!(backoff_ms(0, Some(60_000)), 8_000);
        assert_eq!(backoff_ms(40, None), 8_000);
        assert_eq!(backoff_ms(u32::MAX, Some(i64::MAX)), 8_000);
    }

    #[test]
    fn outcomes_serialize_for_the_journey() {
        assert_eq!(
            serde_json::to_value(DiscountOutcome::Created { code: "C".into() }).unwrap(),
            json!({"kind": "created", "code": "C"})
        );
    }
}
