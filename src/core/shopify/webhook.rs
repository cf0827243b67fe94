//! Which Shopify webhook deliveries cartback acts on (docs/contract.md §7).
//!
//! `SHOPIFY_API_SECRET` signs webhooks, App Bridge session tokens (HS256 over
//! `header.payload`), OAuth callback queries and app-proxy queries, and every merchant can see
//! the last three. A valid `X-Shopify-Hmac-Sha256` therefore proves only that Shopify signed
//! *some* bytes, and `X-Shopify-Shop-Domain` is not signed at all. So, before any action:
//! the body must be a JSON object (the other uses of the secret sign strings that are not);
//! a body that names a shop must name the header's shop; and an `app/uninstalled` older than
//! the shop's latest installation changes nothing.
//!
//! One of those strings can be made to look like a JSON object: a shopper chooses the
//! parameters of an app-proxy request, and Shopify signs them as `key=value` pairs sorted by
//! key and joined with nothing between, after its own `path_prefix`, `shop` and `timestamp`.
//! A key that sorts first (a space, then `{"shop_domain": "victim…", "x": "`) and one that
//! sorts last (`~` with the value `"}`) wrap Shopify's parameters into a string field. Such a
//! body always carries the proxy's own `path_prefix=` and `timestamp=`, which no shop-level
//! webhook does, so it is refused.

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::payloads::PayloadError;
use crate::core::values::ids::ShopDomain;
use crate::core::values::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    CheckoutsCreate,
    CheckoutsUpdate,
    CheckoutsDelete,
    OrdersCreate,
    AppUninstalled,
    CustomersRedact,
    CustomersDataRequest,
    ShopRedact,
    /// Any other topic: accepted (Shopify retries anything but a 2xx) and ignored.
    Other,
}

impl Topic {
    pub fn parse(topic: &str) -> Topic {
        match topic {
            "checkouts/create" => Topic::CheckoutsCreate,
            "checkouts/update" => Topic::CheckoutsUpdate,
            "checkouts/delete" => Topic::CheckoutsDelete,
            "orders/create" => Topic::OrdersCreate,
            "app/uninstalled" => Topic::AppUninstalled,
            "customers/redact" => Topic::CustomersRedact,
            "customers/data_request" => Topic::CustomersDataRequest,
            "shop/redact" => Topic::ShopRedact,
            _ => Topic::Other,
        }
    }

    /// Topics that act on the whole shop or on a customer: their bodies always name the shop.
    pub fn is_shop_level(self) -> bool {
        matches!(
            self,
            Topic::AppUninstalled
                | Topic::CustomersRedact
                | Topic::CustomersDataRequest
                | Topic::ShopRedact
        )
    }

    /// Checkout deliveries are deduplicated by their own cart (with their order in time);
    /// every other topic by the shop ledger.
    pub fn deduplicated_by_cart(self) -> bool {
        matches!(
            self,
            Topic::CheckoutsCreate | Topic::CheckoutsUpdate | Topic::CheckoutsDelete
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Act,
    /// Answered 200 (a forged delivery learns nothing) and changes nothing.
    Ignore(&'static str),
}

/// The fields that say which shop a shop-level body is about.
#[derive(Deserialize)]
struct Names {
    /// Compliance topics.
    shop_domain: Option<String>,
    /// `app/uninstalled` (the shop object).
    myshopify_domain: Option<String>,
}

/// Decides whether a delivery whose HMAC verified may act for `header_shop`. Cart topics are
/// read whole by their own parser, which then checks the shop their links name
/// ([`link_names_other_shop`]); every other body is read here.
pub fn admit(
    topic: Topic,
    header_shop: &ShopDomain,
    body: &[u8],
) -> Result<Admission, PayloadError> {
    // Shopify's bodies start with `{` at their first byte. An app-proxy query can only look
    // like JSON behind a key that sorts before Shopify's own (`logged_in_customer_id`, ...),
    // which `{` does not: such a body starts with whitespace or another character.
    if body.first() != Some(&b'{') {
        return Err(not_an_object(None));
    }
    if !topic.is_shop_level() {
        if topic == Topic::Other {
            serde_json::from_slice::<IgnoredAny>(body).map_err(|e| not_an_object(Some(e)))?;
        }
        return Ok(Admission::Act);
    }
    let names: Names = serde_json::from_slice(body).map_err(|e| not_an_object(Some(e)))?;
    if contains(body, b"path_prefix=") && contains(body, b"timestamp=") {
        return Ok(Admission::Ignore("the body is a signed app-proxy query"));
    }
    match names.shop_domain.or(names.myshopify_domain) {
        Some(named) if named == header_shop.as_str() => Ok(Admission::Act),
        Some(_) => Ok(Admission::Ignore("the body names another shop")),
        None => Ok(Admission::Ignore("the body names no shop")),
    }
}

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

fn not_an_object(e: Option<serde_json::Error>) -> PayloadError {
    PayloadError(match e {
        Some(e) => format!("the body must be a JSON object: {e}"),
        None => "the body must be a JSON object".into(),
    })
}

/// A checkout or order link (`https://{shop}.myshopify.com/...`) naming a shop other than the
/// header's. A shop's own custom domain says nothing either way.
pub fn link_names_other_shop(url: Option<&str>, header_shop: &ShopDomain) -> bool {
    let host = url
        .and_then(|u| u.strip_prefix("https://"))
        .and_then(|u| u.split('/').next());
    host.and_then(ShopDomain::parse)
        .is_some_and(|named| &named != header_shop)
}

/// An `app/uninstalled` triggered before the shop's latest installation is old news: the
/// merchant has installed again since. One without its trigger time cannot be placed and is
/// not acted on either.
pub fn uninstall_is_current(triggered_at: Option<Millis>, installed_at: Option<Millis>) -> bool {
    match (triggered_at, installed_at) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(triggered), Some(installed)) => triggered >= installed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopDomain {
        ShopDomain::parse("victim.myshopify.com").unwrap()
    }

    #[test]
    fn only_json_objects_are_admitted() {
        for body in [
            &b"eyJhbGciOiJIUzI1NiJ9.eyJkZXN0IjoiaHR0cHMifQ"[..],
            b"code=abc&shop=victim.myshopify.com&timestamp=1",
            b"logged_in_customer_id=path_prefix=/apps/cartbackshop=victim.myshopify.comtimestamp=1",
            b"[1, 2]",
            b"\"text\"",
            b"",
            b"{\"unterminated\": ",
            b"{} trailing",
        ] {
            assert!(
                admit(Topic::ShopRedact, &shop(), body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn shop_level_topics_act_only_for_the_shop_they_name() {
        let own = br#"{"shop_id": 1, "shop_domain": "victim.myshopify.com"}"#;
        let other = br#"{"shop_id": 2, "shop_domain": "attacker.myshopify.com"}"#;
        let none = br#"{"shop_id": 1}"#;
        for topic in [
            Topic::ShopRedact,
            Topic::CustomersRedact,
            Topic::CustomersDataRequest,
        ] {
            assert_eq!(admit(topic, &shop(), own), Ok(Admission::Act));
            assert!(matches!(
                admit(topic, &shop(), other),
                Ok(Admission::Ignore(_))
            ));
            assert!(matches!(
                admit(topic, &shop(), none),
                Ok(Admission::Ignore(_))
            ));
        }
        let uninstall =
            br#"{"id": 1, "domain": "shop.example", "myshopify_domain": "victim.myshopify.com"}"#;
        assert_eq!(
            admit(Topic::AppUninstalled, &shop(), uninstall),
            Ok(Admission::Act)
        );
        let theirs = br#"{"id": 1, "myshopify_domain": "attacker.myshopify.com"}"#;
        assert!(matches!(
            admit(Topic::AppUninstalled, &shop(), theirs),
            Ok(Admission::Ignore(_))
        ));
    }

    /// What a shopper can make Shopify sign through the app proxy: a JSON object that names
    /// the victim, with Shopify's own parameters inside a string.
    #[test]
    fn an_app_proxy_query_shaped_as_json_is_not_a_webhook() {
        let mut pairs = [
            (
                " {\"shop_id\": 1, \"shop_domain\": \"victim.myshopify.com\", \"x\": \"",
                "a",
            ),
            ("logged_in_customer_id", ""),
            ("path_prefix", "/apps/cartback"),
            ("shop", "attacker.myshopify.com"),
            ("timestamp", "1700000000"),
            ("~", "\"}"),
        ];
        pairs.sort();
        let message: String = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let body = message.as_bytes();
        assert!(
            serde_json::from_slice::<serde_json::Value>(body).is_ok(),
            "{message}"
        );
        for topic in [
            Topic::ShopRedact,
            Topic::CustomersRedact,
            Topic::CustomersDataRequest,
            Topic::AppUninstalled,
            Topic::CheckoutsCreate,
            Topic::CheckoutsDelete,
            Topic::OrdersCreate,
        ] {
            assert!(admit(topic, &shop(), body).is_err(), "{topic:?}");
        }
        // Were it to start with `{`, a shop-level body with the proxy's own parameters is
        // still refused.
        let inner =
            br#"{"shop_domain": "victim.myshopify.com", "x": "path_prefix=/a timestamp=1"}"#;
        assert!(matches!(
            admit(Topic::ShopRedact, &shop(), inner),
            Ok(Admission::Ignore(_))
        ));
    }

    #[test]
    fn links_naming_another_myshopify_shop_give_a_cart_body_away() {
        let theirs = Some("https://attacker.myshopify.com/1/checkouts/t/recover");
        assert!(link_names_other_shop(theirs, &shop()));
        let own = Some("https://victim.myshopify.com/1/checkouts/t/recover");
        assert!(!link_names_other_shop(own, &shop()));
        // A custom domain says nothing either way; no link at all neither.
        assert!(!link_names_other_shop(
            Some("https://shop.example/1/checkouts/t"),
            &shop()
        ));
        assert!(!link_names_other_shop(None, &shop()));
        assert_eq!(
            admit(Topic::CheckoutsDelete, &shop(), b"{\"token\": \"t\"}"),
            Ok(Admission::Act)
        );
        assert!(admit(Topic::Other, &shop(), b"{\"a\": ").is_err());
    }

    #[test]
    fn the_fixtures_are_admitted_for_their_own_shop() {
        let demo = ShopDomain::parse("maple-and-finch-demo.myshopify.com").unwrap();
        for (topic, body) in [
            (
                Topic::CheckoutsUpdate,
                &include_bytes!("../../../tests/fixtures/shopify/checkouts-update.json")[..],
            ),
            (
                Topic::OrdersCreate,
                include_bytes!("../../../tests/fixtures/shopify/orders-create.json"),
            ),
            (
                Topic::AppUninstalled,
                include_bytes!("../../../tests/fixtures/shopify/app-uninstalled.json"),
            ),
            (
                Topic::CustomersRedact,
                include_bytes!("../../../tests/fixtures/shopify/customers-redact.json"),
            ),
            (
                Topic::ShopRedact,
                include_bytes!("../../../tests/fixtures/shopify/shop-redact.json"),
            ),
            (
                Topic::CustomersDataRequest,
                include_bytes!("../../../tests/fixtures/shopify/customers-data_request.json"),
            ),
        ] {
            assert_eq!(admit(topic, &demo, body), Ok(Admission::Act), "{topic:?}");
        }
    }

    #[test]
    fn an_uninstall_from_before_the_latest_install_is_old_news() {
        let installed = Some(Millis(1_000));
        assert!(uninstall_is_current(Some(Millis(1_000)), installed));
        assert!(uninstall_is_current(Some(Millis(2_000)), installed));
        assert!(!uninstall_is_current(Some(Millis(999)), installed));
        assert!(uninstall_is_current(Some(Millis(5)), None));
        assert!(!uninstall_is_current(None, installed));
    }
}
