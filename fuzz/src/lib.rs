//! What the fuzz targets share: an HMAC written out independently of the core's, the shape of
//! a valid E.164 number, and the serde round trip stored state must survive.

use std::fmt::Debug;

use cartback::core::values::phone::Phone;
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Serialize};
use sha2::Sha256;

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `s` with the byte at `pos` (modulo its length) replaced by `byte`, when that still is UTF-8.
pub fn tamper(s: &str, pos: usize, byte: u8) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let mut bytes = s.as_bytes().to_vec();
    let pos = pos % bytes.len();
    bytes[pos] = byte;
    String::from_utf8(bytes).ok()
}

/// A phone is `+`, then 1 to 15 ASCII digits not starting with 0 (E.164), and reads back as
/// itself every way a stored or reported number is read.
pub fn assert_e164(phone: &Phone) {
    let s = phone.as_str();
    let digits = s.strip_prefix('+').unwrap_or_else(|| panic!("no +: {s:?}"));
    assert!(
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
        "not E.164: {s:?}"
    );
    assert!(
        !digits.starts_with('0'),
        "calling codes never start with 0: {s:?}"
    );
    assert_eq!(phone.digits(), digits);
    assert_eq!(
        Phone::parse(s, None).as_ref(),
        Ok(phone),
        "re-parse of {s:?}"
    );
    assert_eq!(
        Phone::from_wa_id(digits).as_ref(),
        Ok(phone),
        "wa_id of {s:?}"
    );
    let _ = phone.region();
    round_trip(phone);
}

/// `value` serialized as JSON reads back equal: what a Durable Object stores, it can load.
pub fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_vec(value).expect("serializes");
    let back: T = serde_json::from_slice(&json).unwrap_or_else(|e| {
        panic!(
            "{value:?} does not read back from {}: {e}",
            String::from_utf8_lossy(&json)
        )
    });
    assert_eq!(
        &back,
        value,
        "round trip through {}",
        String::from_utf8_lossy(&json)
    );
}
