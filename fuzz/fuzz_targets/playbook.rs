//! `PUT /api/playbook` bodies: never a panic (also in naming the field where a broken body
//! stops), at least one error for a refused body, and a playbook that validates writes out as
//! JSON that validates again to the same playbook.
#![no_main]

use cartback::core::playbook::validation::{parse, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data, None) {
        Ok(playbook) => {
            assert!(validate(&playbook).is_empty());
            let json = serde_json::to_vec(&playbook).expect("serializes");
            assert_eq!(
                parse(&json, None).as_ref(),
                Ok(&playbook),
                "{}",
                String::from_utf8_lossy(&json)
            );
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!(!e.message.is_empty(), "{e:?}");
            }
        }
    }
});
