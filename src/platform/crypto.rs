//! The data key from the environment, the runtime's random source, and sealing with fresh
//! random nonces (the core's `seal` takes its nonce from the caller).

use worker::{Env, Error, Result};

use crate::core::crypto::seal::{self, Key};

pub fn data_key(env: &Env) -> Result<Key> {
    let encoded = env.secret("DATA_ENCRYPTION_KEY")?.to_string();
    Key::from_base64(&encoded).map_err(|e| Error::RustError(format!("DATA_ENCRYPTION_KEY: {e}")))
}

/// `N` bytes from the runtime's cryptographic random source.
pub fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::RustError(format!("no randomness: {e}")))?;
    Ok(bytes)
}

pub fn seal(key: &Key, plaintext: &str) -> Result<String> {
    Ok(seal::seal(key, plaintext, random()?))
}

pub fn open(key: &Key, sealed: &str) -> Result<String> {
    seal::open(key, sealed).map_err(|e| Error::RustError(format!("cannot open sealed value: {e}")))
}
