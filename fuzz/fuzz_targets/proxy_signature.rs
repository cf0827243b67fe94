//! App-proxy requests (`/proxy`, Shopify's app-proxy documentation). The target builds a query
//! of Shopify's parameters and the storefront's own, signs it as the documentation describes
//! (every parameter but `signature`, repeated keys' values joined with `,`, `key=value` sorted
//! by key and concatenated, HMAC-SHA256 in hex), and checks `verify_proxy` against the rules
//! written out again here.
#![no_main]

use std::collections::BTreeMap;

use cartback::core::crypto::proxy_signature::{verify_proxy, ProxyError, ProxyRequest};
use cartback::core::values::ids::ShopDomain;
use cartback::core::values::time::Millis;
use cartback_fuzz::{hex, hmac_sha256, tamper};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const SHOPIFY_KEYS: [&str; 5] = [
    "shop",
    "logged_in_customer_id",
    "path_prefix",
    "timestamp",
    "signature",
];

#[derive(Arbitrary, Debug)]
enum Field {
    Usual,
    Missing,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Signature {
    Signed,
    Upper,
    Tampered { pos: u8, byte: u8 },
    Missing,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    secret: String,
    shop: Field,
    customer: Field,
    timestamp: Field,
    extra: Vec<(String, String)>,
    /// Where the signature goes among the pairs, and whether it comes twice.
    signature_at: u8,
    signature: Signature,
    twice: bool,
    now_skew: i16,
}

fn sign(pairs: &[(String, String)], secret: &str) -> String {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in pairs.iter().filter(|(k, _)| k != "signature") {
        grouped.entry(k).or_default().push(v);
    }
    let message: String = grouped
        .iter()
        .map(|(k, vs)| format!("{k}={}", vs.join(",")))
        .collect();
    hex(&hmac_sha256(secret.as_bytes(), message.as_bytes()))
}

fn digits(s: &str) -> bool {
    (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fuzz_target!(|input: Input| {
    let mut pairs: Vec<(String, String)> = input.extra.clone();
    let mut put = |key: &str, field: &Field, usual: &str| match field {
        Field::Usual => pairs.push((key.into(), usual.into())),
        Field::Missing => {}
        Field::Other(v) => pairs.push((key.into(), v.clone())),
    };
    put("shop", &input.shop, "maple-and-finch-demo.myshopify.com");
    put("logged_in_customer_id", &input.customer, "7938205146271");
    put("path_prefix", &Field::Usual, "/apps/cartback");
    put("timestamp", &input.timestamp, "1792001391");

    let good = sign(&pairs, &input.secret);
    let signature = match &input.signature {
        Signature::Signed => Some(good.clone()),
        Signature::Upper => Some(good.to_ascii_uppercase()),
        Signature::Tampered { pos, byte } => tamper(&good, usize::from(*pos), *byte),
        Signature::Missing => None,
        Signature::Raw(raw) => Some(raw.clone()),
    };
    if let Some(sig) = &signature {
        let at = usize::from(input.signature_at) % (pairs.len() + 1);
        pairs.insert(at, ("signature".into(), sig.clone()));
        if input.twice {
            pairs.push(("signature".into(), sig.clone()));
        }
    }

    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let expected = (|| {
        for key in SHOPIFY_KEYS {
            if pairs.iter().filter(|(k, _)| k == key).count() > 1 {
                return Err(ProxyError::Duplicate(key));
            }
        }
        let sig = value("signature").ok_or(ProxyError::MissingSignature)?;
        if !(sig.len() == 64 && sig.eq_ignore_ascii_case(&good)) {
            return Err(ProxyError::BadSignature);
        }
        let shop = value("shop").ok_or(ProxyError::MissingShop)?;
        let shop = ShopDomain::parse(shop).ok_or(ProxyError::InvalidShop)?;
        let ts = value("timestamp").ok_or(ProxyError::MissingTimestamp)?;
        let timestamp = digits(ts)
            .then(|| ts.parse::<i64>().ok())
            .flatten()
            .ok_or(ProxyError::InvalidTimestamp)?;
        let logged_in_customer_id = match value("logged_in_customer_id") {
            None | Some("") => None,
            Some(id) if digits(id) => Some(id.to_string()),
            Some(_) => return Err(ProxyError::InvalidCustomerId),
        };
        Ok(ProxyRequest {
            shop,
            logged_in_customer_id,
            timestamp,
        })
    })();

    let got = verify_proxy(&pairs, &input.secret);
    assert_eq!(got, expected, "{pairs:?}");
    if let Ok(request) = got {
        // Timestamps past year 33658 saturate in milliseconds; the window is checked below that.
        if request.timestamp >= 1_000_000_000_000 {
            return;
        }
        let now = Millis(request.timestamp.saturating_mul(1000));
        let skew = i64::from(input.now_skew) * 1000;
        let fresh = request.check_fresh(now.plus_millis(skew)).is_ok();
        assert_eq!(fresh, skew.abs() <= 90_000, "skew {skew}");
        // Another secret never verifies the same query.
        let other = format!("{}x", input.secret);
        assert_eq!(verify_proxy(&pairs, &other), Err(ProxyError::BadSignature));
    }
});
