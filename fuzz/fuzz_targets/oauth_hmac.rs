//! The signed admin/OAuth query (`?code=…&hmac=…&shop=…&timestamp=…`, Shopify's OAuth
//! documentation) and the state cookie of the authorization-code flow. The target signs a query
//! itself (every parameter but `hmac` and `signature`, sorted by key, repeated keys joined with
//! `,`, percent-encoded `key=value` joined with `&`) and checks `verify_query` against the rules
//! written out again here: exactly one `hmac`, in hex, equal to the signature; a timestamp
//! within 90 s.
#![no_main]

use cartback::core::shopify::oauth::{
    state_cookie, verify_query, verify_state, QueryError, STATE_TTL_MS,
};
use cartback::core::values::time::Millis;
use cartback_fuzz::{hex, hmac_sha256, tamper};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Hmac {
    Signed,
    Upper,
    Tampered { pos: u8, byte: u8 },
    Missing,
    Twice,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    secret: String,
    extra: Vec<(String, String)>,
    timestamp: Option<String>,
    hmac: Hmac,
    hmac_at: u8,
    now_skew: i32,
    // The state cookie.
    shop: String,
    state: String,
    cookie_age: i32,
    cookie_tamper: Option<(u8, u8)>,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sign(pairs: &[(String, String)], secret: &str) -> String {
    let mut keys: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "hmac" && *k != "signature")
        .collect();
    keys.sort();
    keys.dedup();
    let message = keys
        .iter()
        .map(|k| {
            let values: Vec<&str> = pairs
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .collect();
            format!("{}={}", encode(k), encode(&values.join(",")))
        })
        .collect::<Vec<_>>()
        .join("&");
    hex(&hmac_sha256(secret.as_bytes(), message.as_bytes()))
}

const NOW_S: i64 = 1_792_001_391;

fuzz_target!(|input: Input| {
    let mut pairs: Vec<(String, String)> = input
        .extra
        .iter()
        .filter(|(k, _)| k != "hmac")
        .cloned()
        .collect();
    let timestamp = input.timestamp.clone().unwrap_or_else(|| NOW_S.to_string());
    pairs.push(("timestamp".into(), timestamp));
    let good = sign(&pairs, &input.secret);
    let hmacs: Vec<String> = match &input.hmac {
        Hmac::Signed => vec![good.clone()],
        Hmac::Upper => vec![good.to_ascii_uppercase()],
        Hmac::Tampered { pos, byte } => tamper(&good, usize::from(*pos), *byte)
            .into_iter()
            .collect(),
        Hmac::Missing => vec![],
        Hmac::Twice => vec![good.clone(), good.clone()],
        Hmac::Raw(raw) => vec![raw.clone()],
    };
    for h in &hmacs {
        let at = usize::from(input.hmac_at) % (pairs.len() + 1);
        pairs.insert(at, ("hmac".into(), h.clone()));
    }
    let now = Millis((NOW_S + i64::from(input.now_skew)) * 1000);

    let expected = (|| {
        let [given] = hmacs.as_slice() else {
            return Err(QueryError::MissingHmac);
        };
        let is_hex = !given.is_empty()
            && given.len() % 2 == 0
            && given.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_hex {
            return Err(QueryError::MissingHmac);
        }
        if !given.eq_ignore_ascii_case(&good) {
            return Err(QueryError::BadHmac);
        }
        let ts = pairs
            .iter()
            .find(|(k, _)| k == "timestamp")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .ok_or(QueryError::Stale)?;
        if (i128::from(now.0) - i128::from(ts) * 1000).abs() > 90_000 {
            return Err(QueryError::Stale);
        }
        Ok(())
    })();
    assert_eq!(
        verify_query(&input.secret, &pairs, now),
        expected,
        "{pairs:?}"
    );
    if expected.is_ok() {
        let other = format!("{}x", input.secret);
        assert_eq!(verify_query(&other, &pairs, now), Err(QueryError::BadHmac));
    }

    // The state cookie: honoured for its shop and state until it expires, and a changed
    // cookie is honoured only if it still says the same expiry and tag.
    let minted = Millis(NOW_S * 1000);
    let cookie = state_cookie(&input.secret, &input.shop, &input.state, minted);
    let at = minted.plus_millis(i64::from(input.cookie_age));
    let fresh = i64::from(input.cookie_age) < STATE_TTL_MS;
    assert_eq!(
        verify_state(&input.secret, &input.shop, &input.state, &cookie, at),
        fresh && !input.state.is_empty()
    );
    let other_shop = format!("{}x", input.shop);
    assert!(!verify_state(
        &input.secret,
        &other_shop,
        &input.state,
        &cookie,
        minted
    ));
    if let Some((pos, byte)) = input.cookie_tamper {
        if let Some(changed) = tamper(&cookie, usize::from(pos), byte) {
            let same = |c: &str| {
                let (e, t) = c.split_once('.').unwrap();
                (e.parse::<i64>().ok(), t.to_ascii_lowercase())
            };
            if verify_state(&input.secret, &input.shop, &input.state, &changed, minted) {
                let equivalent = changed.split_once('.').is_some_and(|(e, t)| {
                    t.bytes().all(|b| b.is_ascii_hexdigit())
                        && (e.parse::<i64>().ok(), t.to_ascii_lowercase()) == same(&cookie)
                });
                assert!(equivalent, "accepted a changed cookie: {changed}");
            }
        }
    }
});
