//! The data key from the environment, and sealing with fresh random nonces (the core's `seal`
//! takes its nonce from the caller).

use worker::{Env, Error, Result};

use crate::core::seal::{self, Key};

pub fn data_key(env: &Env) -> Result<Key> {
    let encoded = env.secret("DATA_ENCRYPTION_KEY")?.to_string();
    Key::from_base64(&encoded).map_err(|e| Error::RustError(format!("DATA_ENCRYPTION_KEY: {e}")))
}

pub fn seal(key: &Key, plaintext: &str) -> Result<String> {
    let mut nonce = [0u8; 12];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| Error::RustError(format!("no randomness: {e}")))?;
    Ok(seal::seal(key, plaintext, nonce))
}

pub fn open(key: &Key, sealed: &str) -> Result<String> {
    seal::open(key, sealed).map_err(|e| Error::RustError(format!("cannot open sealed value: {e}")))
}
