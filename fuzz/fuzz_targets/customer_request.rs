//! `customers/redact` and `customers/data_request` bodies: never a panic, bounded phone.
#![no_main]

use cartback::core::shopify::payloads::CustomerRequest;
use cartback::core::values::phone::Phone;
use cartback_fuzz::assert_e164;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = CustomerRequest::from_webhook(data) else {
        return;
    };
    for id in [&r.customer_id, &r.data_request_id].into_iter().flatten() {
        assert!(!id.is_empty());
    }
    if let Some(phone) = &r.phone {
        assert!(!phone.trim().is_empty() && phone.len() <= 64);
        // The ledger matches the shopper by this number when it parses.
        if let Ok(p) = Phone::parse(phone, None) {
            assert_e164(&p);
        }
    }
});
