//! `checkouts/delete` bodies: never a panic, whatever the body.
#![no_main]

use cartback::core::shopify::payloads::DeletedCheckout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(deleted) = DeletedCheckout::from_webhook(data) {
        let _ = format!("{deleted:?}");
    }
});
