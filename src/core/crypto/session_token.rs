//! App Bridge session tokens: the `Authorization: Bearer` JWT on every `/api` call from the
//! embedded admin page (Shopify's session-token documentation). HS256, signed with the app secret.
//! The shop a request acts for is the token's `dest`, never a parameter the caller chose.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::core::values::ids::ShopDomain;
use crate::core::values::time::Millis;

/// Clock skew we forgive on `exp` and `nbf`. Tokens live one minute, so keep it small.
pub const LEEWAY_MS: i64 = 5_000;
/// Real tokens are well under 1 KiB; anything far larger is not worth decoding.
const MAX_TOKEN_LEN: usize = 4_096;

/// A verified token: the shop the request acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionToken {
    /// `{name}.myshopify.com`, from `dest`.
    pub shop: ShopDomain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionTokenError {
    /// Not three base64url parts of JSON, or a claim is missing or mistyped.
    Malformed,
    /// `alg` is anything but HS256 (`none`, RS256, ...).
    UnsupportedAlgorithm,
    BadSignature,
    Expired,
    NotYetValid,
    WrongAudience,
    /// `dest` is not `https://{name}.myshopify.com`.
    BadDestination,
    /// `iss` is not `dest` + `/admin`.
    IssuerMismatch,
}

impl std::fmt::Display for SessionTokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionTokenError::Malformed => "the session token is malformed",
            SessionTokenError::UnsupportedAlgorithm => "the session token is not HS256",
            SessionTokenError::BadSignature => "the session token's signature does not match",
            SessionTokenError::Expired => "the session token has expired",
            SessionTokenError::NotYetValid => "the session token is not valid yet",
            SessionTokenError::WrongAudience => "the session token is for another app",
            SessionTokenError::BadDestination => "the session token's shop is not valid",
            SessionTokenError::IssuerMismatch => {
                "the session token's issuer does not match its shop"
            }
        })
    }
}

impl std::error::Error for SessionTokenError {}

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

/// RFC 7519 allows one audience or a list; Shopify sends one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, api_key: &str) -> bool {
        match self {
            Audience::One(a) => a == api_key,
            Audience::Many(all) => all.iter().any(|a| a == api_key),
        }
    }
}

/// Verifies `token` for the app `api_key` at `now`. The signature is checked before any claim
/// is trusted, in constant time.
pub fn verify(
    token: &str,
    api_key: &str,
    secret: &str,
    now: Millis,
) -> Result<SessionToken, SessionTokenError> {
    use SessionTokenError::*;
    if token.len() > MAX_TOKEN_LEN {
        return Err(Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed);
    };
    let signed_input = &token[..header.len() + 1 + payload.len()];
    let header: Header = decode_json(header)?;
    if header.alg != "HS256" {
        return Err(UnsupportedAlgorithm);
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Malformed)?;
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(signed_input.as_bytes());
    mac.verify_slice(&signature).map_err(|_| BadSignature)?;

    let claims: Claims = decode_json(payload)?;
    if now.0 >= claims.exp.saturating_mul(1000).saturating_add(LEEWAY_MS) {
        return Err(Expired);
    }
    if claims.nbf.saturating_mul(1000) > now.0.saturating_add(LEEWAY_MS) {
        return Err(NotYetValid);
    }
    if !claims.aud.contains(api_key) {
        return Err(WrongAudience);
    }
    let shop = claims
        .dest
        .strip_prefix("https://")
        .and_then(ShopDomain::parse)
        .ok_or(BadDestination)?;
    if claims.iss.strip_suffix("/admin") != Some(claims.dest.as_str()) {
        return Err(IssuerMismatch);
    }
    Ok(SessionToken { shop })
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, SessionTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| SessionTokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| SessionTokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    // Shopify's vector (Shopify's session-token documentation): valid from 1700000000 to 1700000060.
    const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL3Rlc3Qtc2hvcC5teXNob3BpZnkuY29tL2FkbWluIiwiZGVzdCI6Imh0dHBzOi8vdGVzdC1zaG9wLm15c2hvcGlmeS5jb20iLCJhdWQiOiJ0ZXN0X2NsaWVudF9pZCIsInN1YiI6IjQyIiwiZXhwIjoxNzAwMDAwMDYwLCJuYmYiOjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIiwic2lkIjoiYWJjMTIzIn0.oi6RIGBLQ9ZKOvcNJLFnR4yCIS88pfaAYS03nqvs_54";
    const KEY: &str = "test_client_id";
    const SECRET: &str = "test_client_secret";
    const NOW: Millis = Millis(1_700_000_030_000);

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn sign(header: &Value, claims: &Value, secret: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn claims() -> Value {
        json!({
            "iss": "https://test-shop.myshopify.com/admin",
            "dest": "https://test-shop.myshopify.com",
            "aud": KEY, "sub": "42",
            "exp": 1_700_000_060, "nbf": 1_700_000_000, "iat": 1_700_000_000,
            "jti": "00000000-0000-4000-8000-000000000000", "sid": "abc123"
        })
    }

    fn with(changes: Value) -> String {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        sign(&json!({"alg": "HS256", "typ": "JWT"}), &c, SECRET)
    }

    #[test]
    fn accepts_shopifys_vector() {
        let t = verify(VECTOR, KEY, SECRET, NOW).unwrap();
        assert_eq!(t.shop.as_str(), "test-shop.myshopify.com");
        // Our signer agrees with Shopify's.
        assert_eq!(verify(&with(json!({})), KEY, SECRET, NOW), Ok(t));
    }

    #[test]
    fn rejects_a_tampered_payload() {
        let mut parts: Vec<String> = VECTOR.split('.').map(String::from).collect();
        let mut c = claims();
        c["dest"] = json!("https://other-shop.myshopify.com");
        c["iss"] = json!("https://other-shop.myshopify.com/admin");
        parts[1] = b64(&c);
        assert_eq!(
            verify(&parts.join("."), KEY, SECRET, NOW),
            Err(SessionTokenError::BadSignature)
        );
    }

    #[test]
    fn rejects_a_tampered_or_missing_signature() {
        let last = VECTOR.len() - 2;
        let flipped = format!("{}A{}", &VECTOR[..last], &VECTOR[last + 1..]);
        assert_eq!(
            verify(&flipped, KEY, SECRET, NOW),
            Err(SessionTokenError::BadSignature)
        );
        let unsigned = &VECTOR[..VECTOR.rfind('.').unwrap() + 1];
        assert_eq!(
            verify(unsigned, KEY, SECRET, NOW),
            Err(SessionTokenError::BadSignature)
        );
        assert_eq!(
            verify(VECTOR, KEY, "other_secret", NOW),
            Err(SessionTokenError::BadSignature)
        );
    }

    #[test]
    fn rejects_other_algorithms() {
        for alg in ["none", "RS256", "HS512", "hs256"] {
            let token = sign(&json!({"alg": alg}), &claims(), SECRET);
            assert_eq!(
                verify(&token, KEY, SECRET, NOW),
                Err(SessionTokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims()));
        assert_eq!(
            verify(&none, KEY, SECRET, NOW),
            Err(SessionTokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn honours_exp_and_nbf_with_five_seconds_of_leeway() {
        let exp = Millis(1_700_000_060_000);
        assert!(verify(VECTOR, KEY, SECRET, exp.plus_millis(4_999)).is_ok());
        assert_eq!(
            verify(VECTOR, KEY, SECRET, exp.plus_millis(5_000)),
            Err(SessionTokenError::Expired)
        );
        let nbf = Millis(1_700_000_000_000);
        assert!(verify(VECTOR, KEY, SECRET, nbf.plus_millis(-5_000)).is_ok());
        assert_eq!(
            verify(VECTOR, KEY, SECRET, nbf.plus_millis(-5_001)),
            Err(SessionTokenError::NotYetValid)
        );
    }

    #[test]
    fn rejects_a_wrong_audience() {
        assert_eq!(
            verify(VECTOR, "another_app", SECRET, NOW),
            Err(SessionTokenError::WrongAudience)
        );
        let listed = with(json!({"aud": ["x", KEY]}));
        assert!(verify(&listed, KEY, SECRET, NOW).is_ok());
        let unlisted = with(json!({"aud": ["x", "y"]}));
        assert_eq!(
            verify(&unlisted, KEY, SECRET, NOW),
            Err(SessionTokenError::WrongAudience)
        );
    }

    #[test]
    fn rejects_a_bad_dest() {
        for dest in [
            "http://test-shop.myshopify.com",
            "https://evil.com",
            "https://test-shop.myshopify.com.evil.com",
            "https://test-shop.myshopify.com/",
            "https://test-shop.myshopify.com:444",
            "https://user@test-shop.myshopify.com",
            "https://Test-Shop.myshopify.com",
            "test-shop.myshopify.com",
            "",
        ] {
            let token = with(json!({"dest": dest, "iss": format!("{dest}/admin")}));
            assert_eq!(
                verify(&token, KEY, SECRET, NOW),
                Err(SessionTokenError::BadDestination),
                "{dest}"
            );
        }
    }

    #[test]
    fn rejects_an_issuer_that_does_not_match_dest() {
        for iss in [
            "https://other-shop.myshopify.com/admin",
            "https://test-shop.myshopify.com",
            "https://test-shop.myshopify.com/admin/",
            "",
        ] {
            assert_eq!(
                verify(&with(json!({"iss": iss})), KEY, SECRET, NOW),
                Err(SessionTokenError::IssuerMismatch),
                "{iss}"
            );
        }
    }

    #[test]
    fn rejects_missing_or_mistyped_claims() {
        for claim in ["exp", "nbf", "dest", "iss", "aud"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(claim);
            let token = sign(&json!({"alg": "HS256"}), &c, SECRET);
            assert_eq!(
                verify(&token, KEY, SECRET, NOW),
                Err(SessionTokenError::Malformed),
                "{claim}"
            );
        }
        let string_exp = with(json!({"exp": "1700000060"}));
        assert_eq!(
            verify(&string_exp, KEY, SECRET, NOW),
            Err(SessionTokenError::Malformed)
        );
    }

    #[test]
    fn garbage_and_huge_input_are_errors_not_panics() {
        for garbage in [
            "",
            ".",
            "..",
            "...",
            "a.b.c",
            "a.b.c.d",
            "not a token",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGciOiJIUzI1NiJ9..",
            "🦀.🦀.🦀",
            "W10.W10.AA", // JSON arrays where objects belong
        ] {
            assert!(verify(garbage, KEY, SECRET, NOW).is_err(), "{garbage:?}");
        }
        let huge = format!("{}.{}.{}", "a".repeat(1 << 20), "b".repeat(1 << 20), "c");
        assert_eq!(
            verify(&huge, KEY, SECRET, NOW),
            Err(SessionTokenError::Malformed)
        );
        let extreme = with(json!({"exp": i64::MAX, "nbf": i64::MIN}));
        assert!(verify(&extreme, KEY, SECRET, NOW).is_ok());
        assert!(verify(VECTOR, KEY, SECRET, Millis(i64::MAX)).is_err());
        assert!(verify(VECTOR, KEY, SECRET, Millis(i64::MIN)).is_err());
    }
}
