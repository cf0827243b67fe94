//! `orders/create` bodies: never a panic, and a parsed order survives the storage round trip.
#![no_main]

use cartback::core::shopify::payloads::Order;
use cartback::core::values::money::Money;
use cartback_fuzz::round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(o) = Order::from_webhook(data) else {
        return;
    };
    assert!(!o.id.is_empty());
    for token in [
        o.checkout_token.as_ref().map(|t| t.as_str()),
        o.cart_token.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        assert!((1..=128).contains(&token.len()));
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
    if let Some(total) = &o.total {
        let again = Money::parse(&total.to_decimal_string(), total.currency().as_str());
        assert_eq!(again.as_ref(), Ok(total));
    }
    if let Some(at) = o.created_at {
        let _ = at.to_rfc3339();
    }
    round_trip(&o);
});
