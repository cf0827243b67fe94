//! Shopify webhook payloads, parsed once at the edge into what the journey needs.
//! Only the fields we use are read; everything is optional in Shopify's world, so absence is
//! handled here and the rest of the core works with validated values.

use crate::core::values::ids::CheckoutToken;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::core::values::money::Money;
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;

/// A checkout as of one `checkouts/create|update` delivery, reduced to bounded, validated data
/// (a cart's whole state must stay within a few KiB, whatever the number of line items).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkout {
    pub token: CheckoutToken,
    /// Shopify's numeric id: `checkouts/delete` names the checkout only by it and the cart.
    #[serde(default)]
    pub id: Option<String>,
    pub cart_token: Option<String>,
    pub updated_at: Millis,
    pub completed: bool,
    pub phone: Option<Phone>,
    pub first_name: Option<String>,
    pub locale: Option<String>,
    /// ISO country of the shipping (else billing) address.
    pub country: Option<String>,
    /// Its province or state code (`ON`, `CA`, `SP`), for the shopper's time zone.
    #[serde(default)]
    pub province: Option<String>,
    pub total: Option<Money>,
    pub item_count: u32,
    pub top_item_title: Option<String>,
    /// The first line item's variant (`gid://shopify/ProductVariant/{id}`), whose image a
    /// `top_item_image` header shows (DESIGN's contract: the cart's first line item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_variant_id: Option<String>,
    pub items_summary: String,
    pub recovery_url: Option<String>,
    pub accepts_marketing: bool,
    pub accepts_sms_marketing: bool,
    /// The Shopify customer, for `customers/redact` (guest checkouts have none).
    #[serde(default)]
    pub customer_id: Option<String>,
}

impl Checkout {
    /// What is left once the journey has ended: the checkout's identity, its value and its
    /// recovery URL (Shopify's link names the checkout, not the shopper); nothing personal.
    pub fn scrub(&mut self) {
        self.phone = None;
        self.first_name = None;
        self.locale = None;
        self.country = None;
        self.province = None;
        self.top_item_title = None;
        self.items_summary.clear();
        self.customer_id = None;
    }
}

/// The part of an `orders/create` payload that ties an order to a checkout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub checkout_token: Option<CheckoutToken>,
    pub cart_token: Option<String>,
    pub total: Option<Money>,
    pub created_at: Option<Millis>,
    /// `order_status_url`: its host names the shop the order belongs to.
    #[serde(default)]
    pub status_url: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PayloadError {}

const MAX_TITLE_CHARS: usize = 60;
const MAX_TOKEN_CHARS: usize = 128;
/// Digits of the largest 64-bit id.
const MAX_ID_DIGITS: usize = 20;
/// Links kept from a payload (the checkout's recovery URL, the order's status page).
pub const MAX_URL_CHARS: usize = 2000;

#[derive(Deserialize)]
struct RawCheckout<'a> {
    id: Option<serde_json::Value>,
    token: Option<String>,
    cart_token: Option<String>,
    updated_at: Option<String>,
    created_at: Option<String>,
    completed_at: Option<String>,
    phone: Option<String>,
    sms_marketing_phone: Option<String>,
    customer_locale: Option<String>,
    currency: Option<String>,
    presentment_currency: Option<String>,
    total_price: Option<String>,
    // Borrowed: a checkout may list many lines, and only two or three titles are kept.
    #[serde(default, borrow)]
    line_items: Vec<RawLineItem<'a>>,
    abandoned_checkout_url: Option<String>,
    #[serde(default)]
    buyer_accepts_marketing: Option<bool>,
    #[serde(default)]
    buyer_accepts_sms_marketing: Option<bool>,
    shipping_address: Option<RawAddress>,
    billing_address: Option<RawAddress>,
    customer: Option<RawCustomer>,
}

#[derive(Deserialize)]
struct RawLineItem<'a> {
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    presentment_title: Option<Cow<'a, str>>,
    quantity: Option<u32>,
    #[serde(borrow)]
    line_price: Option<Cow<'a, str>>,
    /// A number; null on a custom line item.
    variant_id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAddress {
    first_name: Option<String>,
    phone: Option<String>,
    country_code: Option<String>,
    province_code: Option<String>,
}

#[derive(Deserialize)]
struct RawCustomer {
    id: Option<serde_json::Value>,
    first_name: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct RawOrder {
    id: Option<serde_json::Value>,
    checkout_token: Option<String>,
    cart_token: Option<String>,
    currency: Option<String>,
    total_price: Option<String>,
    created_at: Option<String>,
    order_status_url: Option<String>,
}

fn bad(msg: impl Into<String>) -> PayloadError {
    PayloadError(msg.into())
}

/// Tokens become Durable Object names and storage keys: keep them short and plain.
fn token(raw: Option<String>) -> Option<String> {
    raw.filter(|t| {
        !t.is_empty()
            && t.len() <= MAX_TOKEN_CHARS
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Template parameters may not carry newlines or tabs; long titles are cut on a char boundary.
fn clean_text(s: &str) -> Option<String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    let joined = words.join(" ");
    Some(match joined.char_indices().nth(MAX_TITLE_CHARS) {
        Some((cut, _)) => format!("{}…", joined[..cut].trim_end()),
        None => joined,
    })
}

impl Checkout {
    pub fn from_webhook(body: &[u8]) -> Result<Checkout, PayloadError> {
        let raw: RawCheckout =
            serde_json::from_slice(body).map_err(|e| bad(format!("invalid checkout JSON: {e}")))?;
        let checkout_token = token(raw.token).ok_or_else(|| bad("checkout has no usable token"))?;
        let updated_at = raw
            .updated_at
            .as_deref()
            .or(raw.created_at.as_deref())
            .and_then(Millis::parse_rfc3339)
            .ok_or_else(|| bad("checkout has no valid updated_at"))?;

        let shipping = raw.shipping_address.as_ref();
        let billing = raw.billing_address.as_ref();
        let country = [shipping, billing]
            .into_iter()
            .flatten()
            .find_map(|a| a.country_code.clone())
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase());
        let province = [shipping, billing]
            .into_iter()
            .flatten()
            .find_map(|a| a.province_code.clone())
            .filter(|p| {
                !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .map(|p| p.to_ascii_uppercase());
        // Shopify's priority: the number the shopper gave for SMS marketing first.
        let phone = [
            raw.sms_marketing_phone.as_deref(),
            raw.phone.as_deref(),
            raw.customer.as_ref().and_then(|c| c.phone.as_deref()),
            shipping.and_then(|a| a.phone.as_deref()),
            billing.and_then(|a| a.phone.as_deref()),
        ]
        .into_iter()
        .flatten()
        .find_map(|p| Phone::parse(p, country.as_deref()).ok());
        let first_name = [
            raw.customer.as_ref().and_then(|c| c.first_name.as_deref()),
            shipping.and_then(|a| a.first_name.as_deref()),
            billing.and_then(|a| a.first_name.as_deref()),
        ]
        .into_iter()
        .flatten()
        .find_map(clean_text);

        let currency = raw.presentment_currency.or(raw.currency);
        let total = match (raw.total_price.as_deref(), currency.as_deref()) {
            (Some(amount), Some(cur)) => {
                Some(Money::parse(amount, cur).map_err(|e| bad(format!("total_price: {e}")))?)
            }
            _ => None,
        };
        let items = summarize_items(&raw.line_items, currency.as_deref());

        Ok(Checkout {
            token: CheckoutToken::new(checkout_token),
            id: raw.id.as_ref().and_then(numeric_id),
            cart_token: token(raw.cart_token),
            updated_at,
            completed: raw.completed_at.is_some(),
            phone,
            first_name,
            locale: raw
                .customer_locale
                .filter(|l| l.len() <= 16 && !l.is_empty()),
            country,
            province,
            total,
            item_count: items.count,
            top_item_title: items.top_title,
            first_variant_id: items.first_variant,
            items_summary: items.summary,
            recovery_url: raw
                .abandoned_checkout_url
                .filter(|u| u.starts_with("https://") && u.len() <= MAX_URL_CHARS),
            accepts_marketing: raw.buyer_accepts_marketing.unwrap_or(false),
            accepts_sms_marketing: raw.buyer_accepts_sms_marketing.unwrap_or(false),
            customer_id: raw
                .customer
                .as_ref()
                .and_then(|c| c.id.as_ref())
                .and_then(numeric_id),
        })
    }
}

struct Items {
    count: u32,
    top_title: Option<String>,
    first_variant: Option<String>,
    summary: String,
}

/// The most expensive line is the "top item"; the summary names up to two lines.
fn summarize_items(lines: &[RawLineItem], currency: Option<&str>) -> Items {
    let count = lines
        .iter()
        .fold(0u32, |n, l| n.saturating_add(l.quantity.unwrap_or(1)));
    // Titles are cleaned only for the lines that are shown: the top one and the first two.
    let titled: Vec<(&str, i64, &RawLineItem)> = lines
        .iter()
        .filter_map(|l| {
            let title = l.presentment_title.as_deref().or(l.title.as_deref())?;
            if title.trim().is_empty() {
                return None;
            }
            let price = match (l.line_price.as_deref(), currency) {
                (Some(p), Some(c)) => Money::parse(p, c).map(|m| m.minor()).unwrap_or(0),
                _ => 0,
            };
            Some((title, price, l))
        })
        .collect();
    let top = titled
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, price, _))| (*price, std::cmp::Reverse(*i)))
        .map(|(_, line)| line);
    let top_title = top.and_then(|(t, _, _)| clean_text(t));
    let first_variant = lines
        .first()
        .and_then(|l| l.variant_id.as_ref())
        .and_then(numeric_id)
        .map(|id| format!("gid://shopify/ProductVariant/{id}"));
    let shown: Vec<String> = titled
        .iter()
        .take(2)
        .filter_map(|(t, _, _)| clean_text(t))
        .collect();
    let summary = match (shown.as_slice(), titled.len()) {
        ([], _) => String::new(),
        ([one], _) => one.clone(),
        ([a, b], 2) => format!("{a} and {b}"),
        ([a, b, ..], n) => format!("{a}, {b} and {} more", n - 2),
    };
    Items {
        count,
        top_title,
        first_variant,
        summary,
    }
}

/// Shopify ids are JSON numbers above 2^53 at times: kept as their decimal text.
/// Shopify's ids are positive 64-bit integers, sent as numbers or digit strings. Anything
/// else (a fraction, an exponent, a string of a thousand digits) is no id: ids become KV keys
/// and storage names.
fn numeric_id(v: &serde_json::Value) -> Option<String> {
    let digits = match v {
        serde_json::Value::Number(n) => n.as_u64()?.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return None,
    };
    let valid =
        (1..=MAX_ID_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(digits)
}

/// The checkout `checkouts/delete` names: by its token since Admin API 2026-04, by its numeric
/// id before (older payloads carry no token).
#[derive(Clone, Debug, PartialEq)]
pub struct DeletedCheckout {
    pub token: Option<CheckoutToken>,
    pub id: Option<String>,
}

impl DeletedCheckout {
    pub fn from_webhook(body: &[u8]) -> Result<DeletedCheckout, PayloadError> {
        #[derive(Deserialize)]
        struct Raw {
            id: Option<serde_json::Value>,
            token: Option<String>,
        }
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| bad(format!("invalid checkout JSON: {e}")))?;
        let deleted = DeletedCheckout {
            token: token(raw.token).map(CheckoutToken::new),
            id: raw.id.as_ref().and_then(numeric_id),
        };
        if deleted.token.is_none() && deleted.id.is_none() {
            return Err(bad("the deleted checkout has neither token nor id"));
        }
        Ok(deleted)
    }
}

/// The customer named by `customers/redact` and `customers/data_request`.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRequest {
    pub customer_id: Option<String>,
    /// The phone as the shop recorded it; matched in E.164 when it parses.
    pub phone: Option<String>,
    pub data_request_id: Option<String>,
}

impl CustomerRequest {
    pub fn from_webhook(body: &[u8]) -> Result<CustomerRequest, PayloadError> {
        #[derive(Deserialize)]
        struct Raw {
            customer: Option<RawCompliance>,
            data_request: Option<RawDataRequest>,
        }
        #[derive(Deserialize)]
        struct RawCompliance {
            id: Option<serde_json::Value>,
            phone: Option<String>,
        }
        #[derive(Deserialize)]
        struct RawDataRequest {
            id: Option<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(body)
            .map_err(|e| bad(format!("invalid compliance JSON: {e}")))?;
        let customer = raw.customer.ok_or_else(|| bad("customer is missing"))?;
        Ok(CustomerRequest {
            customer_id: customer.id.as_ref().and_then(numeric_id),
            phone: customer
                .phone
                .filter(|p| !p.trim().is_empty() && p.len() <= 64),
            data_request_id: raw
                .data_request
                .and_then(|d| d.id)
                .as_ref()
                .and_then(numeric_id),
        })
    }
}

impl Order {
    pub fn from_webhook(body: &[u8]) -> Result<Order, PayloadError> {
        let raw: RawOrder =
            serde_json::from_slice(body).map_err(|e| bad(format!("invalid order JSON: {e}")))?;
        let id = raw
            .id
            .as_ref()
            .and_then(numeric_id)
            .ok_or_else(|| bad("order has no id"))?;
        let total = match (raw.total_price.as_deref(), raw.currency.as_deref()) {
            (Some(amount), Some(cur)) => Money::parse(amount, cur).ok(),
            _ => None,
        };
        Ok(Order {
            id,
            checkout_token: token(raw.checkout_token).map(CheckoutToken::new),
            cart_token: token(raw.cart_token),
            total,
            created_at: raw.created_at.as_deref().and_then(Millis::parse_rfc3339),
            status_url: raw
                .order_status_url
                .filter(|u| u.starts_with("https://") && u.len() <= MAX_URL_CHARS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATE: &[u8] = include_bytes!("../../../tests/fixtures/shopify/checkouts-update.json");
    const CREATE: &[u8] = include_bytes!("../../../tests/fixtures/shopify/checkouts-create.json");
    const ORDER: &[u8] = include_bytes!("../../../tests/fixtures/shopify/orders-create.json");

    #[test]
    fn reads_the_update_fixture() {
        let c = Checkout::from_webhook(UPDATE).unwrap();
        assert_eq!(c.token, "4d9ed871eaca8d62a63c301b8c3dc244");
        assert_eq!(c.phone.as_ref().unwrap().as_str(), "+14165550142");
        assert_eq!(c.first_name.as_deref(), Some("Emily"));
        assert_eq!(c.country.as_deref(), Some("CA"));
        assert_eq!(c.total.as_ref().unwrap().to_decimal_string(), "215.95");
        assert_eq!(c.item_count, 4);
        assert_eq!(c.top_item_title.as_deref(), Some("Merino Crew Sweater"));
        assert_eq!(
            c.first_variant_id.as_deref(),
            Some("gid://shopify/ProductVariant/47120398563412")
        );
        assert_eq!(
            c.items_summary,
            "Merino Crew Sweater, Waxed Canvas Tote and 1 more"
        );
        assert_eq!(
            c.updated_at,
            Millis::parse_rfc3339("2026-10-14T18:09:51Z").unwrap()
        );
        assert!(!c.completed);
        assert!(c.accepts_sms_marketing);
    }

    #[test]
    fn the_create_fixture_has_no_phone() {
        let c = Checkout::from_webhook(CREATE).unwrap();
        assert_eq!(c.phone, None);
    }

    #[test]
    fn reads_the_order_fixture() {
        let o = Order::from_webhook(ORDER).unwrap();
        assert_eq!(o.id, "6354782910463");
        assert_eq!(
            o.checkout_token.as_ref().map(|t| t.as_str()),
            Some("4d9ed871eaca8d62a63c301b8c3dc244")
        );
    }

    #[test]
    fn reads_the_delete_fixture() {
        let d = DeletedCheckout::from_webhook(include_bytes!(
            "../../../tests/fixtures/shopify/checkouts-delete.json"
        ))
        .unwrap();
        assert_eq!(d.id.as_deref(), Some("36521894117523"));
        // The cart token names every checkout of the cart: never used to pick one.
        assert_eq!(d.token, None);
        assert_eq!(
            Checkout::from_webhook(UPDATE).unwrap().id.as_deref(),
            Some("36521894117523")
        );
    }

    #[test]
    fn a_deleted_checkout_of_2026_04_and_later_is_named_by_its_token() {
        let d =
            DeletedCheckout::from_webhook(br#"{"token": "abc123", "cart_token": "c1"}"#).unwrap();
        assert_eq!(d.token, Some(CheckoutToken::new("abc123")));
        assert_eq!(d.id, None);
        assert!(DeletedCheckout::from_webhook(br#"{"cart_token": "c1"}"#).is_err());
    }

    #[test]
    fn ids_are_bounded_digits() {
        use serde_json::json;
        assert_eq!(
            numeric_id(&json!(6354782910463u64)).as_deref(),
            Some("6354782910463")
        );
        assert_eq!(numeric_id(&json!("777")).as_deref(), Some("777"));
        for bad in [
            json!(1.5),
            json!(-3),
            json!(""),
            json!("12a"),
            json!("9".repeat(21)),
            json!(null),
        ] {
            assert_eq!(numeric_id(&bad), None, "{bad}");
        }
        let huge = format!(
            r#"{{"customer": {{"id": 1}}, "data_request": {{"id": "{}"}}}}"#,
            "7".repeat(5000)
        );
        assert_eq!(
            CustomerRequest::from_webhook(huge.as_bytes())
                .unwrap()
                .data_request_id,
            None
        );
    }

    #[test]
    fn reads_the_compliance_fixtures() {
        let redact = CustomerRequest::from_webhook(include_bytes!(
            "../../../tests/fixtures/shopify/customers-redact.json"
        ))
        .unwrap();
        assert!(redact.customer_id.is_some());
        let request = CustomerRequest::from_webhook(include_bytes!(
            "../../../tests/fixtures/shopify/customers-data_request.json"
        ))
        .unwrap();
        assert!(request.data_request_id.is_some());
        assert!(CustomerRequest::from_webhook(b"{}").is_err());
    }

    #[test]
    fn refuses_payloads_it_cannot_use() {
        assert!(Checkout::from_webhook(b"not json").is_err());
        assert!(Checkout::from_webhook(b"[]").is_err());
        assert!(Checkout::from_webhook(br#"{"updated_at":"2026-10-14T14:09:51-04:00"}"#).is_err());
        assert!(Checkout::from_webhook(
            br#"{"token":"../x","updated_at":"2026-10-14T14:09:51-04:00"}"#
        )
        .is_err());
        assert!(Checkout::from_webhook(br#"{"token":"abc","updated_at":"soon"}"#).is_err());
        assert!(Order::from_webhook(br#"{"checkout_token":"abc"}"#).is_err());
    }

    #[test]
    fn long_titles_are_cut_and_whitespace_flattened() {
        let long = "x".repeat(100);
        let t = clean_text(&long).unwrap();
        assert_eq!(t.chars().count(), MAX_TITLE_CHARS + 1);
        assert_eq!(clean_text("Merino\n\tSweater").unwrap(), "Merino Sweater");
        assert_eq!(clean_text(" \n "), None);
    }
}
