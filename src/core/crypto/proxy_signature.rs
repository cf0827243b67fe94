//! Shopify's app-proxy signature: how `POST /proxy/optin` knows a storefront request really came
//! through Shopify, for which shop, and when.
//!
//! Shopify appends `shop`, `logged_in_customer_id`, `path_prefix`, `timestamp` and `signature` to
//! the shopper's own query. The signature is the hex HMAC-SHA256, keyed with the app secret, of
//! every other parameter as `key=value` (decoded, values of a repeated key joined with `,`), sorted
//! by key and concatenated with no separator. Only the query is signed, never the body.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::values::ids::ShopDomain;
use crate::core::values::time::Millis;

type HmacSha256 = Hmac<Sha256>;

/// How far a `timestamp` may lie from our clock, either way. Shopify forwards the request at
/// once, so only clock skew and latency count; 90 s is what Shopify's own library allows, and
/// it bounds how long a leaked signed query can be replayed.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 90;

/// The parameters Shopify sets. A second copy of any of them can only have been added by the
/// shopper, and the signature would cover both joined with `,`, so repeats are refused.
const SHOPIFY_KEYS: [&str; 5] = [
    "shop",
    "logged_in_customer_id",
    "path_prefix",
    "timestamp",
    "signature",
];

/// What a verified proxy query tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRequest {
    /// `{name}.myshopify.com`.
    pub shop: ShopDomain,
    /// The storefront customer's numeric id, when the shopper is logged in.
    pub logged_in_customer_id: Option<String>,
    /// Seconds since the Unix epoch, when Shopify forwarded the request.
    pub timestamp: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyError {
    MissingSignature,
    /// A Shopify-set parameter appears more than once.
    Duplicate(&'static str),
    BadSignature,
    MissingShop,
    InvalidShop,
    MissingTimestamp,
    InvalidTimestamp,
    InvalidCustomerId,
    /// Signed, but too old or too far in the future (see [`MAX_CLOCK_SKEW_SECONDS`]).
    Stale,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::MissingSignature => f.write_str("the proxy signature is missing"),
            ProxyError::Duplicate(key) => write!(f, "the `{key}` parameter is repeated"),
            ProxyError::BadSignature => f.write_str("the proxy signature does not match"),
            ProxyError::MissingShop => f.write_str("the shop parameter is missing"),
            ProxyError::InvalidShop => f.write_str("the shop is not a myshopify.com domain"),
            ProxyError::MissingTimestamp => f.write_str("the timestamp parameter is missing"),
            ProxyError::InvalidTimestamp => f.write_str("the timestamp is not a number"),
            ProxyError::InvalidCustomerId => f.write_str("the customer id is not a number"),
            ProxyError::Stale => f.write_str("the proxy request has expired"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// Checks the signature of an app-proxy query (its pairs decoded, in any order) and reads what
/// Shopify vouches for. Freshness is separate: see [`ProxyRequest::check_fresh`].
pub fn verify_proxy(
    query_pairs: &[(String, String)],
    secret: &str,
) -> Result<ProxyRequest, ProxyError> {
    for key in SHOPIFY_KEYS {
        if query_pairs
            .iter()
            .filter(|(k, _)| k == key)
            .nth(1)
            .is_some()
        {
            return Err(ProxyError::Duplicate(key));
        }
    }
    let value = |key: &str| {
        query_pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let signature = value("signature").ok_or(ProxyError::MissingSignature)?;
    let expected = decode_hex(signature).ok_or(ProxyError::BadSignature)?;
    mac(query_pairs, secret)
        .verify_slice(&expected)
        .map_err(|_| ProxyError::BadSignature)?;

    let shop = value("shop").ok_or(ProxyError::MissingShop)?;
    let shop = ShopDomain::parse(shop).ok_or(ProxyError::InvalidShop)?;
    let timestamp = value("timestamp").ok_or(ProxyError::MissingTimestamp)?;
    let timestamp = parse_seconds(timestamp).ok_or(ProxyError::InvalidTimestamp)?;
    // Shopify sends the parameter empty for visitors who are not logged in.
    let logged_in_customer_id = match value("logged_in_customer_id") {
        None | Some("") => None,
        Some(id) if is_id(id) => Some(id.to_string()),
        Some(_) => return Err(ProxyError::InvalidCustomerId),
    };
    Ok(ProxyRequest {
        shop,
        logged_in_customer_id,
        timestamp,
    })
}

impl ProxyRequest {
    /// Refuses a request whose timestamp is more than [`MAX_CLOCK_SKEW_SECONDS`] from `now`.
    pub fn check_fresh(&self, now: Millis) -> Result<(), ProxyError> {
        let skew = self.timestamp.saturating_mul(1000).saturating_sub(now.0);
        if skew.unsigned_abs() > MAX_CLOCK_SKEW_SECONDS.unsigned_abs() * 1000 {
            return Err(ProxyError::Stale);
        }
        Ok(())
    }
}

fn mac<K: AsRef<str>, V: AsRef<str>>(query_pairs: &[(K, V)], secret: &str) -> HmacSha256 {
    // Keys sort bytewise (Shopify's own keys are lower-case ASCII, where Shopify's Ruby and JS
    // samples agree); repeated keys keep their values in arrival order.
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in query_pairs {
        if k.as_ref() != "signature" {
            grouped.entry(k.as_ref()).or_default().push(v.as_ref());
        }
    }
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    for (key, values) in grouped {
        mac.update(key.as_bytes());
        mac.update(b"=");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                mac.update(b",");
            }
            mac.update(v.as_bytes());
        }
    }
    mac
}

/// Hex of either case; `None` for anything else, including an odd length (a short last chunk).
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: &u8| (*b as char).to_digit(16);
            let [hi, lo] = pair else { return None };
            Some((digit(hi)? * 16 + digit(lo)?) as u8)
        })
        .collect()
}

/// Plain decimal digits only: `i64::from_str` would also take a sign.
fn parse_seconds(s: &str) -> Option<i64> {
    if is_id(s) {
        s.parse().ok()
    } else {
        None
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `signature` Shopify would add to these pairs (any `signature` among them is ignored).
    fn sign_proxy<K: AsRef<str>, V: AsRef<str>>(query_pairs: &[(K, V)], secret: &str) -> String {
        mac(query_pairs, secret)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Shopify's documented app-proxy example, as the Worker sees the
    /// query once decoded: `path_prefix=%2Fapps%2Fawesome_reviews` is `/apps/awesome_reviews`.
    const VECTOR_SIGNATURE: &str =
        "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb";
    const VECTOR: &[(&str, &str)] = &[
        ("extra", "1"),
        ("extra", "2"),
        ("shop", "shop-name.myshopify.com"),
        ("logged_in_customer_id", "1"),
        ("path_prefix", "/apps/awesome_reviews"),
        ("timestamp", "1317327555"),
        ("signature", VECTOR_SIGNATURE),
    ];

    fn with(list: &[(&str, &str)], key: &str, value: &str) -> Vec<(String, String)> {
        let mut out = pairs(list);
        for pair in &mut out {
            if pair.0 == key {
                pair.1 = value.to_string();
            }
        }
        out
    }

    /// A query for `test_client_secret` with a correct signature over `list`.
    fn signed(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut out = pairs(list);
        out.push(("signature".into(), sign_proxy(list, "test_client_secret")));
        out
    }

    #[test]
    fn accepts_shopify_test_vector() {
        let verified = verify_proxy(&pairs(VECTOR), "hush").unwrap();
        assert_eq!(
            verified,
            ProxyRequest {
                shop: ShopDomain::parse("shop-name.myshopify.com").unwrap(),
                logged_in_customer_id: Some("1".into()),
                timestamp: 1317327555,
            }
        );
        assert_eq!(sign_proxy(VECTOR, "hush"), VECTOR_SIGNATURE);
    }

    #[test]
    fn signs_the_documented_message() {
        let message = "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviews\
                       shop=shop-name.myshopify.comtimestamp=1317327555";
        let mut mac = HmacSha256::new_from_slice(b"hush").unwrap();
        mac.update(message.as_bytes());
        assert!(mac
            .verify_slice(&decode_hex(VECTOR_SIGNATURE).unwrap())
            .is_ok());
    }

    #[test]
    fn order_of_pairs_does_not_matter_but_order_of_repeated_values_does() {
        let mut reversed = pairs(VECTOR);
        reversed.reverse();
        // Reversing also swaps the two `extra` values: `extra=2,1` is another message.
        assert_eq!(
            verify_proxy(&reversed, "hush"),
            Err(ProxyError::BadSignature)
        );
        reversed.swap(5, 6);
        assert!(verify_proxy(&reversed, "hush").is_ok());
    }

    #[test]
    fn upper_case_hex_is_the_same_signature() {
        let upper = with(VECTOR, "signature", &VECTOR_SIGNATURE.to_uppercase());
        assert!(verify_proxy(&upper, "hush").is_ok());
    }

    #[test]
    fn rejects_tampered_values_and_wrong_secret() {
        for (key, value) in [
            ("shop", "other-shop.myshopify.com"),
            ("logged_in_customer_id", "2"),
            ("timestamp", "1317327556"),
            ("extra", "3"),
            ("path_prefix", "/apps/awesome_reviews/"),
        ] {
            assert_eq!(
                verify_proxy(&with(VECTOR, key, value), "hush"),
                Err(ProxyError::BadSignature),
                "{key}"
            );
        }
        let mut added = pairs(VECTOR);
        added.push(("utm_source".into(), "x".into()));
        assert_eq!(verify_proxy(&added, "hush"), Err(ProxyError::BadSignature));
        let dropped: Vec<_> = pairs(VECTOR)
            .into_iter()
            .filter(|(k, _)| k != "path_prefix")
            .collect();
        assert_eq!(
            verify_proxy(&dropped, "hush"),
            Err(ProxyError::BadSignature)
        );
        assert_eq!(
            verify_proxy(&pairs(VECTOR), "hush2"),
            Err(ProxyError::BadSignature)
        );
        assert_eq!(
            verify_proxy(&pairs(VECTOR), ""),
            Err(ProxyError::BadSignature)
        );
    }

    #[test]
    fn rejects_missing_or_malformed_signature() {
        let unsigned: Vec<_> = pairs(VECTOR)
            .into_iter()
            .filter(|(k, _)| k != "signature")
            .collect();
        assert_eq!(
            verify_proxy(&unsigned, "hush"),
            Err(ProxyError::MissingSignature)
        );
        assert_eq!(verify_proxy(&[], "hush"), Err(ProxyError::MissingSignature));
        let too_long = format!("{VECTOR_SIGNATURE}00");
        let not_hex = format!("{}zz", &VECTOR_SIGNATURE[2..]);
        let bads: [&str; 7] = [
            "",
            "4c",
            "not hex",
            &VECTOR_SIGNATURE[1..],
            &too_long,
            &not_hex,
            // Base64 of the right bytes is not what Shopify sends.
            "TGjIYk1zcRLJGBjBEBfSTTNLUky1wri6CNqgVvc5Xds=",
        ];
        for bad in bads {
            assert_eq!(
                verify_proxy(&with(VECTOR, "signature", bad), "hush"),
                Err(ProxyError::BadSignature),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_repeated_shopify_parameters_even_when_signed() {
        for key in SHOPIFY_KEYS {
            let mut list = vec![
                ("shop", "maple-and-finch-demo.myshopify.com"),
                ("logged_in_customer_id", ""),
                ("path_prefix", "/apps/cartback"),
                ("timestamp", "1700000000"),
            ];
            if key != "signature" {
                list.push((key, "x"));
            }
            let mut query = signed(&list);
            if key == "signature" {
                query.push(("signature".into(), "00".into()));
            }
            assert_eq!(
                verify_proxy(&query, "test_client_secret"),
                Err(ProxyError::Duplicate(key))
            );
        }
    }

    #[test]
    fn reads_what_shopify_vouches_for() {
        let base = [
            ("shop", "maple-and-finch-demo.myshopify.com"),
            ("logged_in_customer_id", ""),
            ("path_prefix", "/apps/cartback"),
            ("timestamp", "1700000000"),
        ];
        let anonymous = verify_proxy(&signed(&base), "test_client_secret").unwrap();
        assert_eq!(anonymous.logged_in_customer_id, None);
        assert_eq!(anonymous.shop, "maple-and-finch-demo.myshopify.com");
        assert_eq!(anonymous.timestamp, 1_700_000_000);

        // Each is signed, so only the field check can refuse it.
        for (key, value, error) in [
            ("shop", "evil.com", ProxyError::InvalidShop),
            ("shop", "Maple.myshopify.com", ProxyError::InvalidShop),
            ("timestamp", "", ProxyError::InvalidTimestamp),
            ("timestamp", "+1700000000", ProxyError::InvalidTimestamp),
            ("timestamp", "-1", ProxyError::InvalidTimestamp),
            ("timestamp", "1.7e9", ProxyError::InvalidTimestamp),
            (
                "timestamp",
                "99999999999999999999",
                ProxyError::InvalidTimestamp,
            ),
            (
                "logged_in_customer_id",
                "42 ",
                ProxyError::InvalidCustomerId,
            ),
            (
                "logged_in_customer_id",
                "1,2",
                ProxyError::InvalidCustomerId,
            ),
        ] {
            let list: Vec<_> = base
                .iter()
                .map(|&(k, v)| if k == key { (k, value) } else { (k, v) })
                .collect();
            assert_eq!(
                verify_proxy(&signed(&list), "test_client_secret"),
                Err(error),
                "{key}={value:?}"
            );
        }
        for missing in ["shop", "timestamp"] {
            let list: Vec<_> = base
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let expected = if missing == "shop" {
                ProxyError::MissingShop
            } else {
                ProxyError::MissingTimestamp
            };
            assert_eq!(
                verify_proxy(&signed(&list), "test_client_secret"),
                Err(expected)
            );
        }
    }

    #[test]
    fn freshness_allows_ninety_seconds_either_way() {
        let at = |timestamp| ProxyRequest {
            shop: ShopDomain::parse("maple-and-finch-demo.myshopify.com").unwrap(),
            logged_in_customer_id: None,
            timestamp,
        };
        let now = Millis(1_700_000_000_000);
        assert_eq!(at(1_700_000_000).check_fresh(now), Ok(()));
        assert_eq!(at(1_700_000_000 - 90).check_fresh(now), Ok(()));
        assert_eq!(at(1_700_000_000 + 90).check_fresh(now), Ok(()));
        assert_eq!(
            at(1_700_000_000 - 91).check_fresh(now),
            Err(ProxyError::Stale)
        );
        assert_eq!(
            at(1_700_000_000 + 91).check_fresh(now),
            Err(ProxyError::Stale)
        );
        assert_eq!(at(0).check_fresh(now), Err(ProxyError::Stale));
        assert_eq!(at(i64::MAX).check_fresh(now), Err(ProxyError::Stale));
        assert_eq!(
            at(i64::MAX).check_fresh(Millis(i64::MIN)),
            Err(ProxyError::Stale)
        );
        assert_eq!(at(0).check_fresh(Millis(i64::MIN)), Err(ProxyError::Stale));
    }

    #[test]
    fn hostile_input_is_refused_without_panicking() {
        let long = "9".repeat(100_000);
        let cases: Vec<Vec<(String, String)>> = vec![
            pairs(&[("signature", "é0")]),
            pairs(&[("signature", "0é")]),
            pairs(&[("signature", "ä")]),
            pairs(&[("signature", &long)]),
            pairs(&[("", ""), ("signature", "")]),
            pairs(&[("shop\0", "x"), ("signature", VECTOR_SIGNATURE)]),
            pairs(&[("timestamp", &long), ("signature", VECTOR_SIGNATURE)]),
            (0..10_000)
                .map(|i| (format!("k{i}"), "v".repeat(i % 7)))
                .chain([("signature".to_string(), VECTOR_SIGNATURE.to_string())])
                .collect(),
        ];
        for query in cases {
            assert!(verify_proxy(&query, "hush").is_err());
        }
        // Keys and values are signed as given, even when they contain separators.
        let odd = [
            ("shop", "maple-and-finch-demo.myshopify.com"),
            ("timestamp", "1700000000"),
            ("a=b", "c,d"),
            ("ключ", "значение"),
        ];
        assert!(verify_proxy(&signed(&odd), "test_client_secret").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_queries_never_panic(
            query in proptest::collection::vec((".{0,12}", ".{0,24}"), 0..12),
            secret in ".{0,16}",
        ) {
            let _ = verify_proxy(&query, &secret);
        }

        #[test]
        fn whatever_shopify_signs_verifies(
            extra in proptest::collection::vec(("x_[a-z_]{0,8}", ".{0,16}"), 0..6),
            customer in "[0-9]{0,12}",
            timestamp in 0i64..10_000_000_000,
        ) {
            let timestamp = timestamp.to_string();
            let mut list: Vec<(&str, &str)> =
                extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            list.extend([
                ("shop", "maple-and-finch-demo.myshopify.com"),
                ("logged_in_customer_id", customer.as_str()),
                ("path_prefix", "/apps/cartback"),
                ("timestamp", timestamp.as_str()),
            ]);
            let verified = verify_proxy(&signed(&list), "test_client_secret").unwrap();
            proptest::prop_assert_eq!(verified.timestamp.to_string(), timestamp);
            proptest::prop_assert_eq!(verified.logged_in_customer_id.is_some(), !customer.is_empty());
        }
    }

    #[test]
    fn sign_ignores_an_existing_signature() {
        assert_eq!(sign_proxy(VECTOR, "hush"), VECTOR_SIGNATURE);
        let unsigned: Vec<(&str, &str)> = VECTOR
            .iter()
            .copied()
            .filter(|(k, _)| *k != "signature")
            .collect();
        assert_eq!(sign_proxy(&unsigned, "hush"), VECTOR_SIGNATURE);
    }
}
