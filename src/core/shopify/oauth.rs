//! Getting and keeping an Admin API token (Shopify's OAuth and token-exchange documentation): the query
//! HMAC of the authorization-code flow, the state that ties its callback to the browser that
//! started it, the authorize URL, and the bodies and answers of the three token grants
//! (token exchange, refresh, authorization code). The shell sends; this decides.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::core::crypto::seal::{self, Key};
use crate::core::shopify::shop::ShopifyInstall;
use crate::core::values::time::Millis;

type HmacSha256 = Hmac<Sha256>;

/// What cartback asks for; `shopify.app.toml` declares the same list for managed installs.
const SCOPES: &str = "read_orders,read_products,write_discounts,write_app_proxy,write_customers";
/// A signed query older (or newer) than this is refused, as Shopify's own library does.
const QUERY_MAX_SKEW_MS: i64 = 90_000;
/// How long a started install may take before its state cookie is no longer honoured.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// `__Host-`: the browser keeps it only if Secure, host-only and `Path=/`.
pub const STATE_COOKIE: &str = "__Host-cartback_oauth_state";

fn mac(secret: &str, message: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    // Hex digits only: `from_str_radix` alone would also take a sign (`+e`).
    if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Percent-encodes as `URLSearchParams` does, except a space is `%20` (Shopify's signer
/// rewrites `+` to `%20` before hashing).
fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The message Shopify signs: every parameter but `hmac` and `signature`, sorted by key,
/// repeated keys joined with `,`, as encoded `key=value` pairs joined with `&`.
fn query_message(pairs: &[(String, String)]) -> String {
    let mut merged: Vec<(&str, String)> = vec![];
    for (k, v) in pairs {
        if k == "hmac" || k == "signature" {
            continue;
        }
        match merged.iter_mut().find(|(key, _)| key == k) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(v);
            }
            None => merged.push((k, v.clone())),
        }
    }
    merged.sort_by(|a, b| a.0.cmp(b.0));
    merged
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// No `hmac`, more than one, or not hex.
    MissingHmac,
    BadHmac,
    /// `timestamp` missing, not a number, or more than 90 s away from now.
    Stale,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueryError::MissingHmac => "the query has no usable hmac",
            QueryError::BadHmac => "the query's hmac does not match",
            QueryError::Stale => "the query's timestamp is missing or too far from now",
        })
    }
}

impl std::error::Error for QueryError {}

/// Verifies a signed admin/OAuth query (`?code=…&hmac=…&shop=…&timestamp=…`) in constant time.
pub fn verify_query(
    secret: &str,
    pairs: &[(String, String)],
    now: Millis,
) -> Result<(), QueryError> {
    let mut hmacs = pairs.iter().filter(|(k, _)| k == "hmac");
    let (Some((_, given)), None) = (hmacs.next(), hmacs.next()) else {
        return Err(QueryError::MissingHmac);
    };
    let given = unhex(given).ok_or(QueryError::MissingHmac)?;
    mac(secret, query_message(pairs).as_bytes())
        .verify_slice(&given)
        .map_err(|_| QueryError::BadHmac)?;
    let timestamp = pairs
        .iter()
        .find(|(k, _)| k == "timestamp")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .ok_or(QueryError::Stale)?;
    if now.0.abs_diff(timestamp.saturating_mul(1000)) > QUERY_MAX_SKEW_MS.unsigned_abs() {
        return Err(QueryError::Stale);
    }
    Ok(())
}

/// Where the merchant approves the install. `admin_base` is `https://{shop}` (or the fake's).
pub fn authorize_url(admin_base: &str, api_key: &str, redirect_uri: &str, state: &str) -> String {
    format!(
        "{admin_base}/admin/oauth/authorize?client_id={}&scope={}&redirect_uri={}&state={}",
        encode_component(api_key),
        encode_component(SCOPES),
        encode_component(redirect_uri),
        encode_component(state)
    )
}

/// A state nonce from 128 random bits the caller drew.
pub fn new_state(random: [u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

fn state_mac(secret: &str, shop: &str, state: &str, expires: i64) -> HmacSha256 {
    let message = format!("cartback/oauth-state\0{shop}\0{state}\0{expires}");
    mac(secret, message.as_bytes())
}

/// The cookie value that binds `state` to this browser and `shop`: `{expires_ms}.{hex mac}`.
/// It holds no secret; only the app, which knows the secret, can mint one.
pub fn state_cookie(secret: &str, shop: &str, state: &str, now: Millis) -> String {
    let expires = now.0.saturating_add(STATE_TTL_MS);
    let tag = state_mac(secret, shop, state, expires)
        .finalize()
        .into_bytes();
    format!("{expires}.{}", hex(&tag))
}

/// The callback's `state` is the one this browser's cookie was minted for, for this shop, and
/// the cookie has not expired. Compared in constant time.
pub fn verify_state(secret: &str, shop: &str, state: &str, cookie: &str, now: Millis) -> bool {
    let Some((expires, tag)) = cookie.split_once('.') else {
        return false;
    };
    let (Ok(expires), Some(tag)) = (expires.parse::<i64>(), unhex(tag)) else {
        return false;
    };
    !state.is_empty()
        && now.0 < expires
        && state_mac(secret, shop, state, expires)
            .verify_slice(&tag)
            .is_ok()
}

/// The three ways to get an offline Admin API token.
#[derive(Clone, Copy, Debug)]
pub enum Grant<'a> {
    /// Managed installation: swap an App Bridge session token.
    TokenExchange { session_token: &'a str },
    /// Renew an expiring token; Shopify answers with a new refresh token too.
    Refresh { refresh_token: &'a str },
    /// The authorization-code callback's `code`.
    AuthorizationCode { code: &'a str },
}

/// The JSON body to POST to `/admin/oauth/access_token`. Tokens are always expiring (`expiring:
/// "1"`): required of new public apps, and they come with a refresh token.
pub fn grant_body(grant: Grant<'_>, api_key: &str, secret: &str) -> Value {
    match grant {
        Grant::TokenExchange { session_token } => json!({
            "client_id": api_key,
            "client_secret": secret,
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": session_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": "1",
        }),
        Grant::Refresh { refresh_token } => json!({
            "client_id": api_key,
            "client_secret": secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }),
        Grant::AuthorizationCode { code } => json!({
            "client_id": api_key,
            "client_secret": secret,
            "code": code,
            "expiring": "1",
        }),
    }
}

/// Shopify's answer to a grant.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
}

/// What a grant request came to.
#[derive(Clone, Debug, PartialEq)]
pub enum GrantAnswer {
    Granted(TokenResponse),
    /// Shopify said no (4xx): the credential we sent is no good. Carries Shopify's `error`.
    Refused(String),
    /// Shopify is unavailable or answered nonsense; trying again later may work.
    Unavailable(String),
}

pub fn parse_grant_answer(status: u16, body: &str) -> GrantAnswer {
    if (200..300).contains(&status) {
        return match serde_json::from_str::<TokenResponse>(body) {
            Ok(t) if !t.access_token.is_empty() => GrantAnswer::Granted(t),
            _ => GrantAnswer::Unavailable(format!("{status} without an access token")),
        };
    }
    let error = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| format!("HTTP {status}"));
    if (400..500).contains(&status) && status != 408 && status != 429 {
        GrantAnswer::Refused(error)
    } else {
        GrantAnswer::Unavailable(error)
    }
}

/// The install as stored: tokens sealed with the caller's fresh nonces, lifetimes absolute.
pub fn sealed_install(
    token: &TokenResponse,
    key: &Key,
    now: Millis,
    nonces: [[u8; 12]; 2],
) -> ShopifyInstall {
    ShopifyInstall {
        sealed_access_token: seal::seal(key, &token.access_token, nonces[0]),
        scope: token.scope.clone(),
        expires_at: token.expires_in.map(|s| now.plus_seconds(s)),
        sealed_refresh_token: token
            .refresh_token
            .as_deref()
            .map(|r| seal::seal(key, r, nonces[1])),
        refresh_expires_at: token.refresh_token_expires_in.map(|s| now.plus_seconds(s)),
    }
}

/// Why the shop's Admin API could not be used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum AdminError {
    /// The shop has never granted access, or uninstalled.
    NotInstalled,
    /// Shopify refuses our tokens; the next token exchange (the merchant opening the app)
    /// repairs it.
    NeedsReauth,
    /// Shopify refused a grant: the credential we sent is no good.
    Refused(String),
    /// Shopify did not answer usefully (network, timeout, 5xx) or our storage failed; trying
    /// again later may work.
    Unavailable(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::NotInstalled => f.write_str("the shop has not granted cartback access"),
            AdminError::NeedsReauth => f.write_str("the shop needs to re-authorize cartback"),
            AdminError::Refused(e) => write!(f, "Shopify refused the grant: {e}"),
            AdminError::Unavailable(e) => write!(f, "Shopify is unavailable: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hex `hmac` Shopify would put on this query.
    fn sign_query(secret: &str, pairs: &[(String, String)]) -> String {
        hex(&mac(secret, query_message(pairs).as_bytes())
            .finalize()
            .into_bytes())
    }

    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn shopify_documented_vector() {
        let q = pairs("code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf");
        assert_eq!(
            query_message(&q),
            "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
        );
        assert_eq!(
            sign_query("hush", &q),
            "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
        );
        assert_eq!(verify_query("hush", &q, Millis(1_337_178_173_000)), Ok(()));
    }

    #[test]
    fn reference_vector_with_host_in_any_order() {
        let q = pairs("timestamp=1700000000&state=0.6784241404160823&shop=test-shop.myshopify.com&host=YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvdGVzdC1zaG9w&hmac=9b4c4659c7a339f346971f1e154fd7c3d132ccffb4a9e931bf92cfc46c3836ee&code=0907a61c0c8d55e99db179b68161bc00");
        let now = Millis(1_700_000_000_000);
        assert_eq!(verify_query("test_client_secret", &q, now), Ok(()));
        assert_eq!(
            verify_query("test_client_secret", &q, now.plus_seconds(90)),
            Ok(())
        );
        assert_eq!(
            verify_query("test_client_secret", &q, now.plus_seconds(91)),
            Err(QueryError::Stale)
        );
        assert_eq!(
            verify_query("test_client_secret", &q, now.plus_seconds(-91)),
            Err(QueryError::Stale)
        );
        assert_eq!(verify_query("other", &q, now), Err(QueryError::BadHmac));
    }

    /// Found by fuzzing (`fuzz/regressions/oauth_hmac`): `u8::from_str_radix` takes a sign, so
    /// `+e` read as the byte `0e` and a signature written `70+e2d…` passed for `700e2d…`.
    #[test]
    fn hmac_hex_takes_no_sign() {
        let now = Millis(1_337_178_173_000);
        let signed = "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173&hmac=";
        let q = |hmac: &str| pairs(&format!("{signed}{hmac}"));
        assert_eq!(
            verify_query(
                "hush",
                &q("700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"),
                now
            ),
            Ok(())
        );
        for hmac in [
            "70+e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
            "70-e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
            "9d0a285733d889898c407721dba9e3+7bef67ad4acddc2367878460c71cd9ba9",
        ] {
            assert_eq!(
                verify_query("hush", &q(hmac), now),
                Err(QueryError::MissingHmac),
                "{hmac}"
            );
        }
        let cookie = state_cookie("hush", "some-shop.myshopify.com", "s", now);
        let (expires, tag) = cookie.split_once('.').unwrap();
        let signed_tag = |t: &str| format!("{expires}.{t}");
        assert!(verify_state(
            "hush",
            "some-shop.myshopify.com",
            "s",
            &signed_tag(tag),
            now
        ));
        if let Some(i) = (0..tag.len()).step_by(2).find(|&i| &tag[i..=i] == "0") {
            let plus = format!("{}+{}", &tag[..i], &tag[i + 1..]);
            assert!(!verify_state(
                "hush",
                "some-shop.myshopify.com",
                "s",
                &signed_tag(&plus),
                now
            ));
        }
    }

    #[test]
    fn tampering_and_bad_hmacs_are_refused() {
        let now = Millis(1_337_178_173_000);
        let good = "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf";
        let other_shop = good.replace("some-shop", "evil-shop");
        assert_eq!(
            verify_query("hush", &pairs(&other_shop), now),
            Err(QueryError::BadHmac)
        );
        let upper = good.replace("700e2dad", "700E2DAD");
        assert_eq!(verify_query("hush", &pairs(&upper), now), Ok(()));
        for bad in ["", "zz", "700", "é"] {
            let q = pairs(&good.replace(
                "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
                bad,
            ));
            assert_eq!(verify_query("hush", &q, now), Err(QueryError::MissingHmac));
        }
        let mut twice = pairs(good);
        twice.push(("hmac".into(), "00".into()));
        assert_eq!(
            verify_query("hush", &twice, now),
            Err(QueryError::MissingHmac)
        );
        let no_hmac: Vec<_> = pairs(good)
            .into_iter()
            .filter(|(k, _)| k != "hmac")
            .collect();
        assert_eq!(
            verify_query("hush", &no_hmac, now),
            Err(QueryError::MissingHmac)
        );
        let mut no_timestamp: Vec<_> = pairs(good)
            .into_iter()
            .filter(|(k, _)| k != "timestamp" && k != "hmac")
            .collect();
        no_timestamp.push(("hmac".into(), sign_query("hush", &no_timestamp)));
        assert_eq!(
            verify_query("hush", &no_timestamp, now),
            Err(QueryError::Stale)
        );
    }

    #[test]
    fn encodes_like_url_search_params_with_spaces_as_percent_20() {
        let q = vec![
            ("b".to_string(), "x y+z/é=&".to_string()),
            ("a".to_string(), "*-._~".to_string()),
            ("signature".to_string(), "ignored".to_string()),
            ("c".to_string(), "1".to_string()),
            ("c".to_string(), "2".to_string()),
        ];
        assert_eq!(
            query_message(&q),
            "a=*-._%7E&b=x%20y%2Bz%2F%C3%A9%3D%26&c=1%2C2"
        );
    }

    #[test]
    fn authorize_url_carries_scopes_redirect_and_state() {
        assert_eq!(
            authorize_url(
                "https://demo.myshopify.com",
                "key123",
                "https://app.example/auth/callback",
                "n0nce-_"
            ),
            "https://demo.myshopify.com/admin/oauth/authorize?client_id=key123\
             &scope=read_orders%2Cread_products%2Cwrite_discounts%2Cwrite_app_proxy%2Cwrite_customers\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Fcallback&state=n0nce-_"
        );
    }

    #[test]
    fn state_is_bound_to_browser_shop_and_time() {
        let now = Millis(1_700_000_000_000);
        let state = new_state([9; 16]);
        assert_eq!(state.len(), 22);
        let cookie = state_cookie("s3cret", "a.myshopify.com", &state, now);
        assert!(verify_state(
            "s3cret",
            "a.myshopify.com",
            &state,
            &cookie,
            now
        ));
        assert!(verify_state(
            "s3cret",
            "a.myshopify.com",
            &state,
            &cookie,
            now.plus_millis(STATE_TTL_MS - 1)
        ));
        assert!(!verify_state(
            "s3cret",
            "a.myshopify.com",
            &state,
            &cookie,
            now.plus_millis(STATE_TTL_MS)
        ));
        assert!(!verify_state(
            "s3cret",
            "b.myshopify.com",
            &state,
            &cookie,
            now
        ));
        assert!(!verify_state(
            "s3cret",
            "a.myshopify.com",
            "other",
            &cookie,
            now
        ));
        assert!(!verify_state(
            "other",
            "a.myshopify.com",
            &state,
            &cookie,
            now
        ));
        // A cookie whose expiry was pushed out no longer matches its tag.
        let (_, tag) = cookie.split_once('.').unwrap();
        let extended = format!("{}.{tag}", i64::MAX);
        assert!(!verify_state(
            "s3cret",
            "a.myshopify.com",
            &state,
            &extended,
            now
        ));
        for garbage in ["", ".", "x.y", "1.zz", "170.", "🦀.🦀"] {
            assert!(!verify_state(
                "s3cret",
                "a.myshopify.com",
                &state,
                garbage,
                now
            ));
        }
        assert!(!verify_state("s3cret", "a.myshopify.com", "", &cookie, now));
    }

    #[test]
    fn grant_bodies_follow_shopify_formats() {
        let te = grant_body(
            Grant::TokenExchange {
                session_token: "jwt",
            },
            "k",
            "s",
        );
        assert_eq!(
            te["grant_type"],
            "urn:ietf:params:oauth:grant-type:token-exchange"
        );
        assert_eq!(te["subject_token"], "jwt");
        assert_eq!(
            te["subject_token_type"],
            "urn:ietf:params:oauth:token-type:id_token"
        );
        assert_eq!(
            te["requested_token_type"],
            "urn:shopify:params:oauth:token-type:offline-access-token"
        );
        assert_eq!(te["expiring"], "1");
        assert_eq!(te["client_id"], "k");
        assert_eq!(te["client_secret"], "s");
        let r = grant_body(
            Grant::Refresh {
                refresh_token: "rt",
            },
            "k",
            "s",
        );
        assert_eq!(
            r,
            json!({"client_id":"k","client_secret":"s","grant_type":"refresh_token","refresh_token":"rt"})
        );
        let c = grant_body(Grant::AuthorizationCode { code: "c0de" }, "k", "s");
        assert_eq!(
            c,
            json!({"client_id":"k","client_secret":"s","code":"c0de","expiring":"1"})
        );
    }

    #[test]
    fn grant_answers() {
        let ok = r#"{"access_token":"shpat_1","scope":"read_orders,write_discounts","expires_in":3600,"refresh_token":"shprt_1","refresh_token_expires_in":7776000}"#;
        let GrantAnswer::Granted(t) = parse_grant_answer(200, ok) else {
            panic!("granted")
        };
        assert_eq!(t.refresh_token.as_deref(), Some("shprt_1"));
        assert_eq!(
            parse_grant_answer(200, r#"{"access_token":"shpat_2","scope":"x"}"#),
            GrantAnswer::Granted(TokenResponse {
                access_token: "shpat_2".into(),
                scope: "x".into(),
                expires_in: None,
                refresh_token: None,
                refresh_token_expires_in: None,
            })
        );
        assert!(matches!(
            parse_grant_answer(200, "{}"),
            GrantAnswer::Unavailable(_)
        ));
        assert!(matches!(
            parse_grant_answer(200, r#"{"access_token":""}"#),
            GrantAnswer::Unavailable(_)
        ));
        assert_eq!(
            parse_grant_answer(
                400,
                r#"{"error":"invalid_subject_token","error_description":"Subject token is invalid"}"#
            ),
            GrantAnswer::Refused("invalid_subject_token".into())
        );
        assert_eq!(
            parse_grant_answer(401, "<html>"),
            GrantAnswer::Refused("HTTP 401".into())
        );
        assert!(matches!(
            parse_grant_answer(503, ""),
            GrantAnswer::Unavailable(_)
        ));
        assert!(matches!(
            parse_grant_answer(429, ""),
            GrantAnswer::Unavailable(_)
        ));
    }

    #[test]
    fn installs_are_sealed_with_absolute_lifetimes() {
        let key = Key::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap();
        let token = TokenResponse {
            access_token: "shpat_secret".into(),
            scope: "read_orders".into(),
            expires_in: Some(3600),
            refresh_token: Some("shprt_secret".into()),
            refresh_token_expires_in: Some(7_776_000),
        };
        let now = Millis(1_000);
        let install = sealed_install(&token, &key, now, [[1; 12], [2; 12]]);
        let stored = serde_json::to_string(&install).unwrap();
        assert!(!stored.contains("shpat_secret") && !stored.contains("shprt_secret"));
        assert_eq!(
            seal::open(&key, &install.sealed_access_token).unwrap(),
            "shpat_secret"
        );
        assert_eq!(
            seal::open(&key, install.sealed_refresh_token.as_deref().unwrap()).unwrap(),
            "shprt_secret"
        );
        assert_eq!(install.expires_at, Some(Millis(3_601_000)));
        assert_eq!(install.refresh_expires_at, Some(Millis(7_776_001_000)));
    }
}
