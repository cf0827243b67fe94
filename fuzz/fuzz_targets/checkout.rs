//! `checkouts/create` and `checkouts/update` bodies: never a panic, and a parsed checkout holds
//! only bounded, validated values that survive the Durable Object's storage round trip.
#![no_main]

use cartback::core::shopify::payloads::Checkout;
use cartback::core::values::money::Money;
use cartback_fuzz::{assert_e164, round_trip};
use libfuzzer_sys::fuzz_target;

fn plain_token(t: &str) -> bool {
    (1..=128).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Template parameters: one line, single spaces, at most 60 characters and an ellipsis.
fn assert_template_text(s: &str) {
    assert!(!s.is_empty());
    assert!(s.chars().count() <= 61, "{s:?}");
    assert!(!s.starts_with(' ') && !s.contains("  "), "{s:?}");
    assert!(!s.chars().any(|c| c.is_whitespace() && c != ' '), "{s:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Checkout::from_webhook(data) else {
        return;
    };
    assert!(plain_token(c.token.as_str()), "{:?}", c.token);
    if let Some(cart) = &c.cart_token {
        assert!(plain_token(cart), "{cart:?}");
    }
    if let Some(phone) = &c.phone {
        assert_e164(phone);
    }
    if let Some(country) = &c.country {
        assert!(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()));
    }
    if let Some(province) = &c.province {
        assert!((1..=8).contains(&province.len()));
        assert!(province
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
    if let Some(locale) = &c.locale {
        assert!((1..=16).contains(&locale.len()));
    }
    if let Some(url) = &c.recovery_url {
        assert!(url.starts_with("https://") && url.len() <= 2000);
    }
    for text in [&c.first_name, &c.top_item_title].into_iter().flatten() {
        assert_template_text(text);
    }
    if let Some(total) = &c.total {
        let again = Money::parse(&total.to_decimal_string(), total.currency().as_str());
        assert_eq!(again.as_ref(), Ok(total));
        let _ = total.format(c.locale.as_deref().unwrap_or("en"));
    }
    let _ = c.updated_at.to_rfc3339();
    round_trip(&c);
});
