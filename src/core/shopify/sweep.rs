//! The reconciliation sweep (docs/rules.md, rule 12): Shopify's webhooks are not guaranteed to
//! arrive, so every shop's ledger asks the Admin API now and then for the checkouts abandoned
//! lately (`abandonedCheckouts`) and hands each to its cart as if its webhook had come. Here:
//! which window of time a run asks about, the GraphQL request, and what each answer means.
//!
//! A checkout from the sweep becomes the same [`Checkout`] a webhook gives (it is read through
//! the webhook's own parser), keyed by the same checkout token, so the cart's own
//! deduplication makes a sweep-started journey and a webhook-started one the same journey.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::graphql::{first_message, throttled, wait_of};
use super::payloads::Checkout;
use crate::core::gate::consent::ConsentKind;
use crate::core::values::phone::Phone;
use crate::core::values::time::{Millis, DAY_MS, HOUR_MS};

/// A shop's first sweep looks this far back; later ones start where the last one ended.
pub const FIRST_LOOKBACK_MS: i64 = DAY_MS;
/// A checkout touched this recently may still be in the shopper's hands, its webhook on the
/// way: the sweep leaves it to the next run, when the webhook has had its chance.
pub const SETTLE_MS: i64 = 10 * 60 * 1000;
/// Each window reaches back this far over the last one: Shopify's search index may show an
/// update some time after it happened.
pub const OVERLAP_MS: i64 = HOUR_MS;
/// Checkouts per page: about 26 query points each, well within one query's 1,000.
pub const PAGE_SIZE: u32 = 25;
/// Pages per run; what is left waits for the next run, which resumes at the same page.
pub const MAX_PAGES: u32 = 20;
/// The longest a run waits for the bucket to refill before leaving the rest to the next run.
pub const MAX_WAIT_MS: i64 = 10_000;

const QUERY: &str = "query AbandonedCheckouts($q: String!, $after: String) { \
abandonedCheckouts(first: 25, after: $after, query: $q, sortKey: ID) { \
nodes { id abandonedCheckoutUrl createdAt updatedAt completedAt \
customer { id firstName locale defaultEmailAddress { marketingState } \
defaultPhoneNumber { phoneNumber smsMarketingConsent { state } whatsAppMarketingConsent { state updatedAt } } } \
shippingAddress { firstName phone countryCodeV2 provinceCode } \
billingAddress { firstName phone countryCodeV2 provinceCode } \
lineItems(first: 5) { nodes { title quantity originalTotalPriceSet { presentmentMoney { amount currencyCode } } } } \
totalPriceSet { presentmentMoney { amount currencyCode } } } \
pageInfo { hasNextPage endCursor } } }";

/// Where a shop's sweep stands: the window it is going through, and the page it got to when a
/// run stopped early. Kept by the shop's ledger between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The end of the last window gone through to its last page.
    pub done_to: Option<Millis>,
    /// A window a run left unfinished, and the page cursor to resume it at.
    pub unfinished: Option<(Window, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: Millis,
    pub to: Millis,
}

/// What a run asks about: the unfinished window from its page, or the next window from its
/// first page; `None` when there is nothing new to ask yet.
pub fn next_run(progress: &Progress, now: Millis) -> Option<(Window, Option<String>)> {
    if let Some((window, after)) = &progress.unfinished {
        return Some((*window, Some(after.clone())));
    }
    let to = Millis(now.0 - SETTLE_MS);
    let from = match progress.done_to {
        Some(done) => Millis(done.0 - OVERLAP_MS),
        None => Millis(now.0 - FIRST_LOOKBACK_MS),
    };
    (from < to).then_some((Window { from, to }, None))
}

impl Progress {
    /// After a page: the run goes on at `next`, or the window is done.
    pub fn after_page(&mut self, window: Window, next: Option<String>) {
        match next {
            Some(after) => self.unfinished = Some((window, after)),
            None => {
                self.unfinished = None;
                self.done_to = Some(window.to);
            }
        }
    }
}

/// The request for one page of `window`. Open checkouts only: a completed one has its order.
pub fn page_body(window: Window, after: Option<&str>) -> Value {
    let q = format!(
        "updated_at:>='{}' AND updated_at:<'{}' AND status:open",
        window.from.to_rfc3339(),
        window.to.to_rfc3339()
    );
    json!({ "query": QUERY, "variables": { "q": q, "after": after } })
}

/// One checkout the sweep found, and the shopper's WhatsApp consent at Shopify.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub checkout: Checkout,
    /// The Shopify customer's WhatsApp marketing consent, when it says yes or no.
    pub consent: Option<CustomerConsent>,
}

/// The WhatsApp marketing consent of a Shopify customer's phone (docs/rules.md §3): an opt-in
/// when `SUBSCRIBED` (a consent source under `whatsapp_opt_in`), an opt-out when
/// `UNSUBSCRIBED`, with when it was given.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerConsent {
    pub phone: Phone,
    pub kind: ConsentKind,
    pub at: Millis,
}

#[derive(Debug, PartialEq)]
pub struct Page {
    pub found: Vec<Found>,
    /// Checkouts that cannot become journeys: no checkout token in their recovery URL, or not
    /// readable as a checkout.
    pub unusable: u32,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// How long to wait before the next page, as the bucket's state says.
    pub wait_ms: Option<i64>,
}

#[derive(Debug, PartialEq)]
pub enum PageAnswer {
    Page(Page),
    /// Throttled, 429 or 5xx: ask again after `wait_ms` (as Shopify said, if it did).
    Retry {
        wait_ms: Option<i64>,
    },
    /// Anything else; the run stops and the next one asks again.
    Failed(String),
}

/// Reads Shopify's answer to a page request (401 is the caller's: it renews the token).
pub fn read_page(status: u16, body: &str, retry_after_ms: Option<i64>) -> PageAnswer {
    if status == 429 || status >= 500 {
        return PageAnswer::Retry {
            wait_ms: retry_after_ms,
        };
    }
    if !(200..300).contains(&status) {
        return PageAnswer::Failed(format!("Shopify answered HTTP {status}"));
    }
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return PageAnswer::Retry { wait_ms: None };
    };
    let wait_ms = wait_of(&answer);
    if let Some(errors) = answer.get("errors").filter(|e| !e.is_null()) {
        if throttled(errors) {
            return PageAnswer::Retry { wait_ms };
        }
        return PageAnswer::Failed(format!(
            "Shopify refused the query: {}",
            first_message(errors)
        ));
    }
    let Some(connection) = answer.pointer("/data/abandonedCheckouts") else {
        return PageAnswer::Failed("Shopify's answer had no abandonedCheckouts".into());
    };
    let nodes = connection
        .get("nodes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let found: Vec<Found> = nodes.iter().filter_map(found).collect();
    let has_next = connection
        .pointer("/pageInfo/hasNextPage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let next = connection
        .pointer("/pageInfo/endCursor")
        .and_then(Value::as_str)
        .filter(|c| has_next && !c.is_empty())
        .map(str::to_string);
    PageAnswer::Page(Page {
        unusable: (nodes.len() - found.len()) as u32,
        found,
        next,
        wait_ms,
    })
}

/// The checkout token in a recovery URL: the path segment before `recover`
/// (`/checkouts/{token}/recover`, `/checkouts/ac/{token}/recover`). `AbandonedCheckout` has no
/// `token` field, and webhooks since 2026-04 no `id`: this is the join.
pub fn token_in_url(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let segments: Vec<&str> = path.split('/').collect();
    let recover = segments.iter().rposition(|s| *s == "recover")?;
    let below_checkouts = segments[..recover].contains(&"checkouts");
    let token = *segments.get(recover.checked_sub(1)?)?;
    (below_checkouts && token.len() >= 16).then_some(token)
}

/// `gid://shopify/Customer/207119551` → `207119551`, as webhooks write it.
fn numeric_gid(gid: &str) -> Option<&str> {
    gid.rsplit('/').next().filter(|id| !id.is_empty())
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A GraphQL address in the webhook's shape.
fn address(a: Option<&Value>) -> Value {
    match a.filter(|a| a.is_object()) {
        Some(a) => json!({
            "first_name": a.get("firstName"),
            "phone": a.get("phone"),
            "country_code": a.get("countryCodeV2"),
            "province_code": a.get("provinceCode"),
        }),
        None => Value::Null,
    }
}

/// One node, written as the `checkouts/update` body it stands for and read by that parser.
fn found(node: &Value) -> Option<Found> {
    let url = text(node, "/abandonedCheckoutUrl")?;
    let token = token_in_url(url)?;
    let customer = node.get("customer").filter(|c| c.is_object());
    let phone_number = customer.and_then(|c| text(c, "/defaultPhoneNumber/phoneNumber"));
    let lines: Vec<Value> = node
        .pointer("/lineItems/nodes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            json!({
                "title": l.get("title"),
                "quantity": l.get("quantity"),
                "line_price": l.pointer("/originalTotalPriceSet/presentmentMoney/amount"),
            })
        })
        .collect();
    let webhook = json!({
        "token": token,
        "updated_at": node.get("updatedAt"),
        "created_at": node.get("createdAt"),
        "completed_at": node.get("completedAt"),
        "abandoned_checkout_url": url,
        "total_price": node.pointer("/totalPriceSet/presentmentMoney/amount"),
        "presentment_currency": node.pointer("/totalPriceSet/presentmentMoney/currencyCode"),
        "customer_locale": customer.and_then(|c| c.get("locale")),
        // The customer's standing email and SMS consent, which the checkout's boxes set: what
        // `checkout_marketing_consent` counts (the webhook's `buyer_accepts_*`).
        "buyer_accepts_marketing": customer
            .and_then(|c| text(c, "/defaultEmailAddress/marketingState"))
            == Some("SUBSCRIBED"),
        "buyer_accepts_sms_marketing": customer
            .and_then(|c| text(c, "/defaultPhoneNumber/smsMarketingConsent/state"))
            == Some("SUBSCRIBED"),
        "line_items": lines,
        "shipping_address": address(node.get("shippingAddress")),
        "billing_address": address(node.get("billingAddress")),
        "customer": customer.map(|c| json!({
            "id": c.get("id").and_then(Value::as_str).and_then(numeric_gid),
            "first_name": c.get("firstName"),
            "phone": phone_number,
        })),
    });
    let checkout = Checkout::from_webhook(webhook.to_string().as_bytes()).ok()?;
    let consent = customer.and_then(|c| {
        let consent = c.pointer("/defaultPhoneNumber/whatsAppMarketingConsent")?;
        let kind = match text(consent, "/state")? {
            "SUBSCRIBED" => ConsentKind::OptIn,
            "UNSUBSCRIBED" => ConsentKind::OptOut,
            _ => return None,
        };
        // Undated, it is no later than the checkout (what the ledger itself writes is dated).
        let at = text(consent, "/updatedAt")
            .and_then(Millis::parse_rfc3339)
            .unwrap_or(checkout.updated_at);
        let phone = Phone::parse(phone_number?, checkout.country.as_deref()).ok()?;
        Some(CustomerConsent { phone, kind, at })
    });
    Some(Found { checkout, consent })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_790_000_000_000);

    fn node(token: &str) -> Value {
        json!({
            "id": "gid://shopify/AbandonedCheckout/450789469",
            "abandonedCheckoutUrl": format!("https://maple.myshopify.com/548380009/checkouts/ac/{token}/recover?key=abc"),
            "createdAt": "2026-10-14T10:00:00Z",
            "updatedAt": "2026-10-14T11:00:00Z",
            "completedAt": null,
            "customer": {
                "id": "gid://shopify/Customer/207119551",
                "firstName": "Bob",
                "locale": "en",
                "defaultEmailAddress": { "marketingState": "NOT_SUBSCRIBED" },
                "defaultPhoneNumber": {
                    "phoneNumber": "+16136120707",
                    "smsMarketingConsent": { "state": "SUBSCRIBED" },
                    "whatsAppMarketingConsent": { "state": "SUBSCRIBED", "updatedAt": "2026-10-01T08:00:00Z" }
                }
            },
            "shippingAddress": { "firstName": "Bob", "phone": null, "countryCodeV2": "CA", "provinceCode": "ON" },
            "billingAddress": null,
            "lineItems": { "nodes": [
                { "title": "IPod Nano - 8GB", "quantity": 2, "originalTotalPriceSet": { "presentmentMoney": { "amount": "398.00", "currencyCode": "CAD" } } }
            ] },
            "totalPriceSet": { "presentmentMoney": { "amount": "409.94", "currencyCode": "CAD" } }
        })
    }

    fn page(nodes: Vec<Value>, next: Option<&str>) -> String {
        json!({
            "data": { "abandonedCheckouts": {
                "nodes": nodes,
                "pageInfo": { "hasNextPage": next.is_some(), "endCursor": next }
            } },
            "extensions": { "cost": { "requestedQueryCost": 602, "actualQueryCost": 40,
                "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": 402, "restoreRate": 50.0 } } }
        })
        .to_string()
    }

    #[test]
    fn the_first_run_looks_back_a_day_and_leaves_the_last_minutes_to_the_webhooks() {
        let (window, after) = next_run(&Progress::default(), NOW).unwrap();
        assert_eq!(window.from, Millis(NOW.0 - FIRST_LOOKBACK_MS));
        assert_eq!(window.to, Millis(NOW.0 - SETTLE_MS));
        assert_eq!(after, None);
    }

    #[test]
    fn a_run_starts_where_the_last_ended_with_an_overlap_and_resumes_an_unfinished_page() {
        let mut progress = Progress::default();
        let (window, _) = next_run(&progress, NOW).unwrap();
        progress.after_page(window, Some("cursor-2".into()));
        assert_eq!(
            next_run(&progress, NOW.plus_seconds(900)),
            Some((window, Some("cursor-2".into())))
        );
        progress.after_page(window, None);
        let later = NOW.plus_seconds(900);
        let (next, after) = next_run(&progress, later).unwrap();
        assert_eq!(next.from, Millis(window.to.0 - OVERLAP_MS));
        assert_eq!(next.to, Millis(later.0 - SETTLE_MS));
        assert_eq!(after, None);
    }

    #[test]
    fn the_query_names_the_window_and_open_checkouts() {
        let window = Window {
            from: Millis(0),
            to: Millis(60_000),
        };
        let body = page_body(window, Some("c1"));
        assert_eq!(
            body["variables"]["q"],
            "updated_at:>='1970-01-01T00:00:00.000Z' AND updated_at:<'1970-01-01T00:01:00.000Z' AND status:open"
        );
        assert_eq!(body["variables"]["after"], "c1");
    }

    #[test]
    fn a_node_becomes_the_checkout_its_webhook_would_have_given() {
        let token = "2a1ace52255252df566af0faaedfbfa7";
        let PageAnswer::Page(page) = read_page(200, &page(vec![node(token)], Some("c2")), None)
        else {
            panic!("not a page");
        };
        assert_eq!(page.next.as_deref(), Some("c2"));
        assert_eq!(page.unusable, 0);
        // 602 points asked for, 402 left, 50 a second: four seconds before the next page.
        assert_eq!(page.wait_ms, Some(4_000));
        let found = &page.found[0];
        let c = &found.checkout;
        assert_eq!(c.token.as_str(), token);
        assert_eq!(
            c.updated_at,
            Millis::parse_rfc3339("2026-10-14T11:00:00Z").unwrap()
        );
        assert_eq!(c.phone.as_ref().map(Phone::as_str), Some("+16136120707"));
        assert_eq!(c.first_name.as_deref(), Some("Bob"));
        assert_eq!(c.customer_id.as_deref(), Some("207119551"));
        assert_eq!(c.country.as_deref(), Some("CA"));
        assert_eq!(c.item_count, 2);
        assert_eq!(c.top_item_title.as_deref(), Some("IPod Nano - 8GB"));
        assert_eq!(c.total.as_ref().map(|m| m.minor()), Some(40994));
        assert!(!c.completed && !c.accepts_marketing && c.accepts_sms_marketing);
        let consent = found.consent.clone().unwrap();
        assert_eq!(consent.phone.as_str(), "+16136120707");
        assert_eq!(consent.kind, ConsentKind::OptIn);
        assert_eq!(
            consent.at,
            Millis::parse_rfc3339("2026-10-01T08:00:00Z").unwrap()
        );
    }

    #[test]
    fn a_whatsapp_consent_counts_when_it_says_yes_or_a_dated_no() {
        let read = |state: &str, updated_at: Option<&str>| {
            let mut n = node("2a1ace52255252df566af0faaedfbfa7");
            let consent = &mut n["customer"]["defaultPhoneNumber"]["whatsAppMarketingConsent"];
            consent["state"] = json!(state);
            consent["updatedAt"] = json!(updated_at);
            let PageAnswer::Page(page) = read_page(200, &page(vec![n], None), None) else {
                panic!("not a page");
            };
            page.found[0].consent.clone()
        };
        for state in ["NOT_SUBSCRIBED", "PENDING", "REDACTED"] {
            assert_eq!(read(state, Some("2026-10-01T08:00:00Z")), None, "{state}");
        }
        let out = read("UNSUBSCRIBED", Some("2026-10-14T11:00:00Z")).unwrap();
        assert_eq!(out.kind, ConsentKind::OptOut);
        assert_eq!(
            out.at,
            Millis::parse_rfc3339("2026-10-14T11:00:00Z").unwrap()
        );
        // Undated: as of the checkout's last change.
        let checkout_at = Millis::parse_rfc3339("2026-10-14T11:00:00Z").unwrap();
        for (state, kind) in [
            ("UNSUBSCRIBED", ConsentKind::OptOut),
            ("SUBSCRIBED", ConsentKind::OptIn),
        ] {
            let undated = read(state, None).unwrap();
            assert_eq!((undated.kind, undated.at), (kind, checkout_at), "{state}");
        }
    }

    #[test]
    fn a_checkout_without_a_token_in_its_url_is_counted_not_guessed() {
        let mut n = node("2a1ace52255252df566af0faaedfbfa7");
        n["abandonedCheckoutUrl"] = json!("https://maple.myshopify.com/cart/c/xyz");
        let PageAnswer::Page(page) = read_page(200, &page(vec![n], None), None) else {
            panic!("not a page");
        };
        assert!(page.found.is_empty());
        assert_eq!(page.unusable, 1);
    }

    #[test]
    fn tokens_come_from_every_known_recovery_url_shape() {
        let t = "2a1ace52255252df566af0faaedfbfa7";
        for url in [
            format!("https://checkout.local/548380009/checkouts/{t}/recover"),
            format!("https://s.myshopify.com/548380009/checkouts/ac/{t}/recover?key=k&locale=en"),
        ] {
            assert_eq!(token_in_url(&url), Some(t), "{url}");
        }
        for url in [
            "https://s.myshopify.com/recover",
            "https://s.myshopify.com/checkouts/short/recover",
            "https://s.myshopify.com/products/2a1ace52255252df566af0faaedfbfa7/recover",
        ] {
            assert_eq!(token_in_url(url), None, "{url}");
        }
    }

    #[test]
    fn throttles_and_outages_are_asked_again_and_refusals_stop_the_run() {
        let throttled = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":602,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":2,"restoreRate":100.0}}}}"#;
        assert_eq!(
            read_page(200, throttled, None),
            PageAnswer::Retry {
                wait_ms: Some(6_000)
            }
        );
        assert_eq!(
            read_page(503, "", Some(2_000)),
            PageAnswer::Retry {
                wait_ms: Some(2_000)
            }
        );
        assert_eq!(
            read_page(200, "<html>", None),
            PageAnswer::Retry { wait_ms: None }
        );
        let denied = r#"{"errors":[{"message":"Access denied for abandonedCheckouts field.","extensions":{"code":"ACCESS_DENIED"}}]}"#;
        assert!(
            matches!(read_page(200, denied, None), PageAnswer::Failed(m) if m.contains("Access denied"))
        );
        assert!(matches!(read_page(403, "", None), PageAnswer::Failed(_)));
    }
}
