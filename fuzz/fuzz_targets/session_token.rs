//! App Bridge session tokens. The target signs claims it chose (or a payload it wrote) with
//! the secret and checks `verify` against the rules written out again here; a changed byte
//! anywhere in a signed token, or a token signed with another secret, is never accepted.
#![no_main]

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use cartback::core::crypto::session_token::{verify, SessionToken, SessionTokenError};
use cartback::core::values::ids::ShopDomain;
use cartback::core::values::time::Millis;
use cartback_fuzz::{hmac_sha256, tamper};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::json;

const KEY: &str = "test_client_id";

#[derive(Arbitrary, Debug)]
enum Text {
    Usual,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Aud {
    Key,
    Other(String),
    List(Vec<String>, bool),
    Number(i64),
}

#[derive(Arbitrary, Debug)]
enum Payload {
    Claims {
        shop: Text,
        iss: Text,
        aud: Aud,
        exp: Option<i64>,
        nbf: Option<i64>,
        extra: Option<(String, String)>,
    },
    /// Any text as the payload, signed properly.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    secret: String,
    /// `None`: `{"alg":"HS256","typ":"JWT"}`; else the header's text.
    header: Option<String>,
    payload: Payload,
    /// Seconds since 2020, so the windows around `now` are reachable.
    now: u32,
    other_secret: bool,
    tamper: Option<(u16, u8)>,
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// The token's parts as the verifier reads them (serde's rules, written out again).
#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    dest: String,
    aud: Audience,
    exp: i64,
    nbf: i64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// What `verify` must answer for a properly signed token, the checks in their documented order.
fn expected(header: &str, payload: &str, now: Millis) -> Result<SessionToken, SessionTokenError> {
    use SessionTokenError::*;
    let header: Header = serde_json::from_str(header).map_err(|_| Malformed)?;
    if header.alg != "HS256" {
        return Err(UnsupportedAlgorithm);
    }
    let claims: Claims = serde_json::from_str(payload).map_err(|_| Malformed)?;
    let audiences = match &claims.aud {
        Audience::One(a) => vec![a.clone()],
        Audience::Many(all) => all.clone(),
    };
    let now = i128::from(now.0);
    if now >= i128::from(claims.exp) * 1000 + 5000 {
        return Err(Expired);
    }
    if i128::from(claims.nbf) * 1000 > now + 5000 {
        return Err(NotYetValid);
    }
    if !audiences.iter().any(|a| a == KEY) {
        return Err(WrongAudience);
    }
    let shop = claims
        .dest
        .strip_prefix("https://")
        .and_then(ShopDomain::parse)
        .ok_or(BadDestination)?;
    if claims.iss != format!("{}/admin", claims.dest) {
        return Err(IssuerMismatch);
    }
    Ok(SessionToken { shop })
}

fuzz_target!(|input: Input| {
    let now_s = 1_577_836_800 + i64::from(input.now);
    let now = Millis(now_s * 1000);
    let header = input
        .header
        .unwrap_or_else(|| r#"{"alg":"HS256","typ":"JWT"}"#.to_string());
    let payload = match input.payload {
        Payload::Raw(text) => text,
        Payload::Claims {
            shop,
            iss,
            aud,
            exp,
            nbf,
            extra,
        } => {
            let dest = match shop {
                Text::Usual => "https://test-shop.myshopify.com".to_string(),
                Text::Other(s) => s,
            };
            let iss = match iss {
                Text::Usual => format!("{dest}/admin"),
                Text::Other(s) => s,
            };
            let aud = match aud {
                Aud::Key => json!(KEY),
                Aud::Other(s) => json!(s),
                Aud::List(mut all, with_key) => {
                    if with_key {
                        all.push(KEY.into());
                    }
                    json!(all)
                }
                Aud::Number(n) => json!(n),
            };
            let mut claims = json!({
                "iss": iss, "dest": dest, "aud": aud, "sub": "42",
                "exp": exp.map_or(now_s + 60, |e| now_s.saturating_add(e)),
                "nbf": nbf.map_or(now_s, |n| now_s.saturating_add(n)),
            });
            if let Some((k, v)) = extra {
                if !["iss", "dest", "aud", "exp", "nbf"].contains(&k.as_str()) {
                    claims[k] = json!(v);
                }
            }
            claims.to_string()
        }
    };

    let signed_input = format!("{}.{}", b64(&header), b64(&payload));
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(
        input.secret.as_bytes(),
        signed_input.as_bytes(),
    ));
    let token = format!("{signed_input}.{signature}");
    if token.len() > 4096 {
        assert_eq!(
            verify(&token, KEY, &input.secret, now),
            Err(SessionTokenError::Malformed)
        );
        return;
    }

    let got = verify(&token, KEY, &input.secret, now);
    assert_eq!(got, expected(&header, &payload, now), "{header} {payload}");

    if input.other_secret {
        let other = format!("{}!", input.secret);
        assert!(
            verify(&token, KEY, &other, now).is_err(),
            "accepted under another secret"
        );
    }
    if let Some((pos, byte)) = input.tamper {
        if let Some(changed) = tamper(&token, usize::from(pos), byte) {
            if changed != token {
                assert!(
                    verify(&changed, KEY, &input.secret, now).is_err(),
                    "accepted a changed token: {changed}"
                );
            }
        }
    }
});
