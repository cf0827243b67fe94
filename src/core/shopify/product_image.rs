//! The product image a `top_item_image` header shows: asked of Admin GraphQL by variant (its
//! own image, else its product's featured media), kept per variant by the shop ledger for a day,
//! and the merchant's fallback image when there is none.

use serde_json::{json, Value};

use crate::core::shopify::payloads::MAX_URL_CHARS;
use crate::core::values::time::{Millis, DAY_MS};

/// How long a variant's image is answered from the ledger: products change images rarely, and
/// a cart reminder showing yesterday's photo is harmless.
pub const IMAGE_FRESH_MS: i64 = DAY_MS;

const QUERY: &str = "query VariantImage($id: ID!) { productVariant(id: $id) { \
     image { url } product { featuredMedia { preview { image { url } } } } } }";

/// The request body for a variant (`gid://shopify/ProductVariant/{id}`).
pub fn graphql_body(variant_id: &str) -> Value {
    json!({ "query": QUERY, "variables": { "id": variant_id } })
}

/// What Shopify said about a variant's image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The variant's image, else its product's featured one (`None`: it has neither, or the
    /// variant is gone): worth keeping.
    Answered(Option<String>),
    /// No usable answer (an error, throttling): not kept, so the next send asks again.
    Failed(String),
}

/// Reads an Admin GraphQL answer to [`graphql_body`].
pub fn parse(status: u16, body: &str) -> Lookup {
    if status != 200 {
        return Lookup::Failed(format!("HTTP {status}"));
    }
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Lookup::Failed("an answer that is not JSON".into());
    };
    // Shopify may answer `data` beside `errors` (a missing scope nulls the field): that null
    // is no answer about the product, so not worth keeping.
    let error = v.pointer("/errors/0/message").and_then(Value::as_str);
    let data = v.get("data").filter(|d| d.is_object());
    let (Some(data), None) = (data, error) else {
        return Lookup::Failed(error.unwrap_or("no data").chars().take(200).collect());
    };
    let url = |pointer: &str| {
        data.pointer(pointer)
            .and_then(Value::as_str)
            .and_then(usable)
    };
    Lookup::Answered(
        url("/productVariant/image/url")
            .or_else(|| url("/productVariant/product/featuredMedia/preview/image/url")),
    )
}

/// An image link Meta can fetch: https, and of a sane length.
pub fn usable(url: &str) -> Option<String> {
    (url.starts_with("https://") && url.len() > "https://".len() && url.len() <= MAX_URL_CHARS)
        .then(|| url.to_string())
}

/// Whether a kept image (looked up at `at`) may still be shown without asking Shopify again.
pub fn fresh(at: Millis, now: Millis) -> bool {
    at <= now && now.0 < at.0.saturating_add(IMAGE_FRESH_MS)
}

/// The header's image: the product's when it has one, else the merchant's fallback.
pub fn choose(found: Option<String>, fallback: Option<&str>) -> Option<String> {
    found.or_else(|| fallback.and_then(usable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variants_image_comes_first_then_the_products() {
        let both = r#"{"data":{"productVariant":{"image":{"url":"https://cdn.shopify.com/v.jpg"},
            "product":{"featuredMedia":{"preview":{"image":{"url":"https://cdn.shopify.com/p.jpg"}}}}}}}"#;
        assert_eq!(
            parse(200, both),
            Lookup::Answered(Some("https://cdn.shopify.com/v.jpg".into()))
        );
        let product_only = r#"{"data":{"productVariant":{"image":null,
            "product":{"featuredMedia":{"preview":{"image":{"url":"https://cdn.shopify.com/p.jpg"}}}}}}}"#;
        assert_eq!(
            parse(200, product_only),
            Lookup::Answered(Some("https://cdn.shopify.com/p.jpg".into()))
        );
        let none = r#"{"data":{"productVariant":{"image":null,"product":{"featuredMedia":null}}}}"#;
        assert_eq!(parse(200, none), Lookup::Answered(None));
        let gone = r#"{"data":{"productVariant":null}}"#;
        assert_eq!(parse(200, gone), Lookup::Answered(None));
    }

    #[test]
    fn errors_are_not_answers() {
        assert!(matches!(parse(503, ""), Lookup::Failed(_)));
        assert!(matches!(parse(200, "<html>"), Lookup::Failed(_)));
        let throttled = r#"{"errors":[{"message":"Throttled"}]}"#;
        assert_eq!(parse(200, throttled), Lookup::Failed("Throttled".into()));
        let no_scope = r#"{"data":{"productVariant":null},"errors":[{"message":"Access denied"}]}"#;
        assert_eq!(parse(200, no_scope), Lookup::Failed("Access denied".into()));
        let plain = r#"{"data":{"productVariant":{"image":{"url":"http://x/v.jpg"}}}}"#;
        assert_eq!(parse(200, plain), Lookup::Answered(None));
    }

    #[test]
    fn the_fallback_fills_in_and_a_day_keeps_an_image() {
        let fallback = Some("https://shop.example/logo.png");
        assert_eq!(
            choose(None, fallback).as_deref(),
            Some("https://shop.example/logo.png")
        );
        assert_eq!(
            choose(Some("https://cdn/x.jpg".into()), fallback).as_deref(),
            Some("https://cdn/x.jpg")
        );
        assert_eq!(choose(None, None), None);
        let at = Millis(1_000);
        assert!(fresh(at, at.plus_millis(IMAGE_FRESH_MS - 1)));
        assert!(!fresh(at, at.plus_millis(IMAGE_FRESH_MS)));
        assert!(!fresh(at, Millis(999)));
    }
}
