//! The webhook HMACs over raw bodies: Shopify's `X-Shopify-Hmac-Sha256` (base64) and Meta's
//! `X-Hub-Signature-256` (`sha256=` + hex). The target signs the body itself; a header is
//! accepted exactly when it is that signature (surrounding whitespace and, for Meta, hex case
//! aside), never for another body or secret.
#![no_main]

use base64::{engine::general_purpose::STANDARD, Engine};
use cartback::core::crypto::signature::{verify_meta_webhook, verify_shopify_webhook};
use cartback_fuzz::{hex, hmac_sha256, tamper};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Header {
    Signed { pad: (u8, u8), upper: bool },
    Tampered { pos: u16, byte: u8 },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    secret: String,
    body: Vec<u8>,
    meta: bool,
    header: Header,
    /// Flip one byte of the body after signing.
    flip: Option<(u16, u8)>,
}

fn pad(n: u8) -> &'static str {
    ["", " ", "\t", "  ", "\r\n"][usize::from(n) % 5]
}

fuzz_target!(|input: Input| {
    let mac = hmac_sha256(input.secret.as_bytes(), &input.body);
    let signed = if input.meta {
        format!("sha256={}", hex(&mac))
    } else {
        STANDARD.encode(&mac)
    };
    let verify = |body: &[u8], header: &str| {
        if input.meta {
            verify_meta_webhook(&input.secret, body, header)
        } else {
            verify_shopify_webhook(&input.secret, body, header)
        }
    };
    // The one rule: the header, trimmed, is the signature (Meta's hex in either case).
    let is_signature = |header: &str| {
        let header = header.trim();
        if input.meta {
            header
                .strip_prefix("sha256=")
                .is_some_and(|h| h.eq_ignore_ascii_case(&hex(&mac)))
        } else {
            header == signed
        }
    };

    let header = match &input.header {
        Header::Signed { pad: (a, b), upper } => {
            let sig = if *upper && input.meta {
                format!("sha256={}", hex(&mac).to_ascii_uppercase())
            } else {
                signed.clone()
            };
            format!("{}{sig}{}", pad(*a), pad(*b))
        }
        Header::Tampered { pos, byte } => {
            tamper(&signed, usize::from(*pos), *byte).unwrap_or_else(|| signed.clone())
        }
        Header::Raw(raw) => raw.clone(),
    };
    assert_eq!(
        verify(&input.body, &header),
        is_signature(&header),
        "{header:?}"
    );
    if matches!(input.header, Header::Signed { .. }) {
        assert!(verify(&input.body, &header));
    }

    if let Some((pos, byte)) = input.flip {
        let mut body = input.body.clone();
        if !body.is_empty() {
            let pos = usize::from(pos) % body.len();
            if body[pos] != byte {
                body[pos] = byte;
                assert!(!verify(&body, &signed), "accepted a changed body");
            }
        }
    }
    let other = format!("{}x", input.secret);
    let under_other = if input.meta {
        verify_meta_webhook(&other, &input.body, &signed)
    } else {
        verify_shopify_webhook(&other, &input.body, &signed)
    };
    assert!(!under_other, "accepted under another secret");
});
