//! Phone numbers as shoppers type them (`Phone::parse`, with or without a region) and as
//! WhatsApp reports them (`Phone::from_wa_id`): never a panic, and whatever parses is E.164
//! and reads back as itself (as stored, as a `wa_id`, and as an international number in any
//! region).
#![no_main]

use cartback::core::values::phone::Phone;
use cartback_fuzz::assert_e164;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    raw: String,
    region: Option<String>,
}

fuzz_target!(|input: Input| {
    let region = input.region.as_deref();
    if let Ok(phone) = Phone::parse(&input.raw, region) {
        assert_e164(&phone);
        assert_eq!(Phone::parse(phone.as_str(), region).as_ref(), Ok(&phone));
        // `00` is the international prefix wherever the number is read.
        let dialled = format!("00{}", phone.digits());
        assert_eq!(Phone::parse(&dialled, region).as_ref(), Ok(&phone));
        let written = input.raw.trim();
        if written.starts_with('+') {
            assert_eq!(Phone::parse(written, Some("US")).as_ref(), Ok(&phone));
        }
    }
    if let Ok(phone) = Phone::from_wa_id(&input.raw) {
        assert_e164(&phone);
        assert!(input.raw.bytes().all(|b| b.is_ascii_digit()));
    }
});
