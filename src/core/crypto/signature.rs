//! Verification of the signatures Shopify and Meta put on what they send us.
//! Every comparison goes through `Mac::verify_slice`, which is constant time.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac
}

/// `X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body, keyed with the app secret.
pub fn verify_shopify_webhook(secret: &str, body: &[u8], header: &str) -> bool {
    match STANDARD.decode(header.trim()) {
        Ok(expected) => mac(secret.as_bytes(), body).verify_slice(&expected).is_ok(),
        Err(_) => false,
    }
}

/// `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the Meta
/// app secret. The body must be the bytes as received: Meta signs its escaped-unicode JSON, so a
/// re-serialized body would not verify. Only `sha256=` and 64 hex digits pass (surrounding
/// whitespace aside); a malformed header is a failed check, never an error.
pub fn verify_meta_webhook(app_secret: &str, body: &[u8], header: &str) -> bool {
    let Some(expected) = header.trim().strip_prefix("sha256=").and_then(decode_hex) else {
        return false;
    };
    mac(app_secret.as_bytes(), body)
        .verify_slice(&expected)
        .is_ok()
}

/// Meta writes lower case; upper case is accepted too, since it names the same bytes.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    // An odd length leaves a one-byte chunk, which fails the pattern.
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// Compares two secrets without revealing, through timing, how much of them matched.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    // Comparing MACs of both keeps the time independent of where they differ.
    mac(b"cartback/compare", a.as_bytes())
        .verify_slice(
            &mac(b"cartback/compare", b.as_bytes())
                .finalize()
                .into_bytes(),
        )
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shopify's documented webhook example.
    const BODY: &str = r#"{"id":450789469,"token":"2a1ace52255252df566af0faaedfbfa7"}"#;
    const SIG: &str = "1P9J+bOPgCv44L4FqbjL64EzT+ItKspXO1zqRyQdl6o=";

    /// The header value Shopify would send for `body`.
    fn sign_shopify_webhook(secret: &str, body: &[u8]) -> String {
        STANDARD.encode(mac(secret.as_bytes(), body).finalize().into_bytes())
    }

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq("verify-me", "verify-me"));
        assert!(!constant_time_eq("verify-me", "verify-mE"));
        assert!(!constant_time_eq("", "x"));
    }

    #[test]
    fn accepts_shopify_test_vector() {
        assert!(verify_shopify_webhook(
            "test_client_secret",
            BODY.as_bytes(),
            SIG
        ));
        assert_eq!(
            sign_shopify_webhook("test_client_secret", BODY.as_bytes()),
            SIG
        );
    }

    #[test]
    fn rejects_tampering_wrong_secret_and_garbage() {
        assert!(!verify_shopify_webhook("test_client_secret", b"{}", SIG));
        assert!(!verify_shopify_webhook("other", BODY.as_bytes(), SIG));
        assert!(!verify_shopify_webhook(
            "test_client_secret",
            BODY.as_bytes(),
            "not base64!"
        ));
        assert!(!verify_shopify_webhook(
            "test_client_secret",
            BODY.as_bytes(),
            ""
        ));
    }

    // whatsapp-cloud-api.md §5.2; the second body holds a literal backslash-u escape.
    const META_EMPTY: &str = r#"{"object":"whatsapp_business_account","entry":[]}"#;
    const META_EMPTY_SIG: &str =
        "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756";
    const META_ESCAPED: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"type":"text","text":{"body":"Ol\u00e1"}}]}}]}]}"#;
    const META_ESCAPED_SIG: &str =
        "sha256=9d3a1a6a564a0315913cd433e03b8fcea82bddfee82d41ececc991da8b1cad19";

    #[test]
    fn accepts_meta_test_vectors() {
        assert!(verify_meta_webhook(
            "test_app_secret",
            META_EMPTY.as_bytes(),
            META_EMPTY_SIG
        ));
        assert!(verify_meta_webhook(
            "test_app_secret",
            META_ESCAPED.as_bytes(),
            META_ESCAPED_SIG
        ));
        // The same text with the escape decoded is a different body.
        let decoded = META_ESCAPED.replace("\\u00e1", "á");
        assert_ne!(decoded, META_ESCAPED);
        assert!(!verify_meta_webhook(
            "test_app_secret",
            decoded.as_bytes(),
            META_ESCAPED_SIG
        ));
    }

    /// Every signed WhatsApp fixture verifies with the header manifest.json gives it.
    #[test]
    fn accepts_every_fixture_signature() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/manifest.json")).unwrap();
        let secret = manifest["secrets"]["meta_app_secret"].as_str().unwrap();
        let mut checked = 0;
        for (file, meta) in manifest["whatsapp"].as_object().unwrap() {
            let Some(header) = meta["headers"]["X-Hub-Signature-256"].as_str() else {
                continue;
            };
            let body = std::fs::read(dir.join(file)).unwrap();
            assert!(verify_meta_webhook(secret, &body, header), "{file}");
            assert!(!verify_meta_webhook("test_client_secret", &body, header));
            let mut tampered = body.clone();
            tampered.push(b' ');
            assert!(!verify_meta_webhook(secret, &tampered, header), "{file}");
            checked += 1;
        }
        assert_eq!(checked, 8, "the eight webhook fixtures");
    }

    #[test]
    fn rejects_malformed_meta_headers() {
        let ok =
            |header: &str| verify_meta_webhook("test_app_secret", META_EMPTY.as_bytes(), header);
        let hex = META_EMPTY_SIG.strip_prefix("sha256=").unwrap();
        assert!(ok(&format!(" {META_EMPTY_SIG} ")));
        assert!(ok(&format!("sha256={}", hex.to_ascii_uppercase())));
        for bad in [
            String::new(),
            "sha256=".to_string(),
            hex.to_string(),
            format!("sha1={hex}"),
            format!("SHA256={hex}"),
            format!("sha256 = {hex}"),
            format!("sha256={}", &hex[..62]),
            format!("sha256={}", &hex[..63]),
            format!("sha256={hex}00"),
            format!("sha256={}g", &hex[..63]),
            format!("sha256={}é", &hex[..62]),
            format!("sha256=+{}", &hex[1..]),
            format!("sha256={hex},sha256={hex}"),
            "sha256=".to_string() + &"0".repeat(64),
        ] {
            assert!(!ok(&bad), "{bad:?}");
        }
        assert!(!verify_meta_webhook(
            "",
            META_EMPTY.as_bytes(),
            META_EMPTY_SIG
        ));
        assert!(!verify_meta_webhook("test_app_secret", b"", META_EMPTY_SIG));
    }
}
