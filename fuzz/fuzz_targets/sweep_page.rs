//! Shopify's answers to the reconciliation sweep's `abandonedCheckouts` page: never a panic; a
//! consent read from a customer names an E.164 phone, and a page says where to go on or not.
#![no_main]

use cartback::core::shopify::sweep::{read_page, PageAnswer};
use cartback_fuzz::assert_e164;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let PageAnswer::Page(page) = read_page(200, body, None) else {
        return;
    };
    for found in &page.found {
        if let Some(consent) = &found.consent {
            assert_e164(&consent.phone);
        }
    }
    assert!(page.wait_ms.is_none_or(|w| w >= 0), "{:?}", page.wait_ms);
});
