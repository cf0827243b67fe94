//! Shop records and settings in Workers KV: read on every decision, written rarely.

use worker::{Env, Result};

use crate::core::playbook::Playbook;
use crate::core::shop::ShopRecord;

fn kv(env: &Env) -> Result<worker::KvStore> {
    env.kv("APP_KV")
}

pub async fn shop(env: &Env, domain: &str) -> Result<Option<ShopRecord>> {
    Ok(kv(env)?.get(&format!("shop:{domain}")).json().await?)
}

/// The shop's playbook; a shop that never saved one runs the default.
pub async fn playbook(env: &Env, domain: &str) -> Result<Playbook> {
    let stored: Option<Playbook> = kv(env)?.get(&format!("playbook:{domain}")).json().await?;
    Ok(stored.unwrap_or_default())
}
