//! Secrets and personal data at rest, sealed with AES-256-GCM under `DATA_ENCRYPTION_KEY`
//! (docs/rules.md §3), and the keyed hash that lets us find a phone without storing it readable.
//!
//! Sealed form: `v1.` + base64url(nonce ‖ ciphertext ‖ tag). The version prefix lets a later
//! key or algorithm coexist with values already written. Nonces come from the caller: the core
//! draws no randomness, and a nonce must never repeat under one key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "v1.";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Separates the lookup-hash key from the encryption key, so neither use weakens the other.
const LOOKUP_LABEL: &[u8] = b"cartback/lookup-hash/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealError {
    /// The data key is not base64 of exactly 32 bytes.
    BadKey,
    /// Not a value this version of cartback sealed.
    UnknownVersion,
    /// Not base64url, too short, or not UTF-8 once opened.
    Malformed,
    /// Tampered with, or sealed under another key.
    Unauthentic,
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SealError::BadKey => "the data key must be base64 of 32 bytes",
            SealError::UnknownVersion => "unknown sealed-value version",
            SealError::Malformed => "malformed sealed value",
            SealError::Unauthentic => "sealed value failed authentication",
        })
    }
}

impl std::error::Error for SealError {}

/// The data key, ready for sealing and hashing. Its `Debug` never shows key material.
#[derive(Clone)]
pub struct Key {
    cipher: Aes256Gcm,
    lookup: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn from_base64(encoded: &str) -> Result<Key, SealError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SealError::BadKey)?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&raw).map_err(|_| SealError::BadKey)?;
        let lookup = hmac(&raw, LOOKUP_LABEL).into_bytes().into();
        Ok(Key { cipher, lookup })
    }
}

fn hmac(key: &[u8], message: &[u8]) -> hmac::digest::CtOutput<HmacSha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize()
}

/// Seals `plaintext`; `nonce` must be fresh random bytes, never reused with this key.
pub fn seal(key: &Key, plaintext: &str, nonce: [u8; NONCE_LEN]) -> String {
    // Encryption fails only for plaintexts over 64 GiB, far beyond any body we accept.
    let ciphertext = key
        .cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
        .expect("AES-GCM seals anything under 64 GiB");
    let mut packed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    packed.extend_from_slice(&nonce);
    packed.extend_from_slice(&ciphertext);
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(packed))
}

pub fn open(key: &Key, sealed: &str) -> Result<String, SealError> {
    let encoded = sealed
        .strip_prefix(VERSION)
        .ok_or(SealError::UnknownVersion)?;
    let packed = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| SealError::Malformed)?;
    if packed.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = packed.split_at(NONCE_LEN);
    let plaintext = key
        .cipher
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .map_err(|_| SealError::Unauthentic)?;
    String::from_utf8(plaintext).map_err(|_| SealError::Malformed)
}

/// A stable, keyed hash of `value` (hex HMAC-SHA256 under a key derived from the data key):
/// equal inputs give equal hashes, so it serves as a lookup key, yet without the data key it
/// cannot be reversed by hashing every possible phone number.
pub fn lookup_hash(key: &Key, value: &str) -> String {
    hex(&hmac(&key.lookup, value.as_bytes()).into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> Key {
        Key::from_base64(&STANDARD.encode([fill; 32])).unwrap()
    }

    #[test]
    fn round_trip() {
        let k = key(7);
        let sealed = seal(&k, "shpat_secret-token", [1; 12]);
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("shpat"));
        assert_eq!(open(&k, &sealed).unwrap(), "shpat_secret-token");
        assert_eq!(open(&k, &seal(&k, "", [2; 12])).unwrap(), "");
        let unicode = "Zoë +55 11 91234-5678 ✓";
        assert_eq!(open(&k, &seal(&k, unicode, [3; 12])).unwrap(), unicode);
    }

    #[test]
    fn different_nonces_give_different_ciphertexts() {
        let k = key(7);
        assert_ne!(seal(&k, "same", [1; 12]), seal(&k, "same", [2; 12]));
    }

    #[test]
    fn detects_tampering() {
        let k = key(7);
        let sealed = seal(&k, "shpat_secret-token", [1; 12]);
        let mut packed = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        for i in [0, NONCE_LEN, packed.len() - 1] {
            packed[i] ^= 1;
            let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&packed));
            assert_eq!(open(&k, &tampered), Err(SealError::Unauthentic), "byte {i}");
            packed[i] ^= 1;
        }
        let truncated = format!("v1.{}", URL_SAFE_NO_PAD.encode(&packed[..packed.len() - 1]));
        assert_eq!(open(&k, &truncated), Err(SealError::Unauthentic));
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = seal(&key(7), "secret", [1; 12]);
        assert_eq!(open(&key(8), &sealed), Err(SealError::Unauthentic));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let k = key(7);
        assert_eq!(open(&k, "v1.***"), Err(SealError::Malformed));
        assert_eq!(open(&k, "v1."), Err(SealError::Malformed));
        assert_eq!(open(&k, "v1.AAAA"), Err(SealError::Malformed));
        assert_eq!(open(&k, ""), Err(SealError::UnknownVersion));
        let sealed = seal(&k, "secret", [1; 12]);
        assert_eq!(
            open(&k, &sealed.replacen("v1.", "v2.", 1)),
            Err(SealError::UnknownVersion)
        );
        assert_eq!(open(&k, &sealed[3..]), Err(SealError::UnknownVersion));
        let not_utf8 = {
            let ct = k
                .cipher
                .encrypt(Nonce::from_slice(&[4; 12]), &[0xff, 0xfe][..])
                .unwrap();
            format!(
                "v1.{}",
                URL_SAFE_NO_PAD.encode([&[4u8; 12][..], &ct].concat())
            )
        };
        assert_eq!(open(&k, &not_utf8), Err(SealError::Malformed));
    }

    #[test]
    fn keys_must_be_base64_of_32_bytes() {
        assert_eq!(
            Key::from_base64("not base64!").unwrap_err(),
            SealError::BadKey
        );
        assert_eq!(
            Key::from_base64(&STANDARD.encode([1; 16])).unwrap_err(),
            SealError::BadKey
        );
        assert_eq!(Key::from_base64("").unwrap_err(), SealError::BadKey);
        assert!(Key::from_base64(&format!("{}\n", STANDARD.encode([1; 32]))).is_ok());
        assert_eq!(format!("{:?}", key(7)), "Key(..)");
    }

    #[test]
    fn lookup_hash_is_stable_keyed_and_hides_the_value() {
        let a = lookup_hash(&key(7), "+14165550142");
        assert_eq!(a, lookup_hash(&key(7), "+14165550142"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, lookup_hash(&key(8), "+14165550142"));
        assert_ne!(a, lookup_hash(&key(7), "+14165550143"));
        // Not the plain HMAC under the data key itself: the lookup key is derived.
        assert_ne!(a, hex(&hmac(&[7; 32], b"+14165550142").into_bytes()));
    }
}
