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

/// The header value Shopify would send for `body`; used by the simulators and tests.
pub fn sign_shopify_webhook(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(secret.as_bytes(), body).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shopify's documented vector (shopify-app-platform reference, §6.1).
    const BODY: &str = r#"{"id":450789469,"token":"2a1ace52255252df566af0faaedfbfa7"}"#;
    const SIG: &str = "1P9J+bOPgCv44L4FqbjL64EzT+ItKspXO1zqRyQdl6o=";

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
}
