//! Shop records and settings in Workers KV: read on every decision, written rarely, and only
//! by the shop's ledger (`objects::shop_ledger::record`), which keeps the authoritative copy.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::future::join;
use worker::{Env, Result};

use super::{clock, config, crypto};
use crate::core::playbook::Playbook;
use crate::core::shopify::shop::ShopRecord;
use crate::core::values::ids::{CheckoutToken, ShopDomain};
use crate::core::values::time::Millis;

fn kv(env: &Env) -> Result<worker::KvStore> {
    env.kv("APP_KV")
}

/// How long an isolate acts on the settings it read (`SETTINGS_FRESH_MS`, 5 s by default). KV
/// is eventually consistent across locations for up to a minute anyway; in the isolate that
/// wrote them the copy is dropped at once (`put_shop`, `put_playbook`, `forget_shop`).
fn settings_fresh_ms(env: &Env) -> i64 {
    config::var_or(env, "SETTINGS_FRESH_MS", "5000")
        .parse()
        .unwrap_or(5_000)
}

/// What a cart's decisions read about its shop.
pub struct Settings {
    /// As KV holds it: the WhatsApp token sealed.
    pub record: ShopRecord,
    pub playbook: Playbook,
}

thread_local! {
    /// Settings this isolate read lately, with when: every event and alarm of every cart needs
    /// them, and two KV reads each would be most of an event's time.
    static RECENT: RefCell<HashMap<String, (Millis, Rc<Settings>)>> = RefCell::default();
}

/// The shop's record and playbook, read from KV at most once per `settings_fresh_ms` per
/// isolate.
pub async fn settings(env: &Env, domain: &str) -> Result<Rc<Settings>> {
    if let Some(settings) = recent_settings(env, domain) {
        return Ok(settings);
    }
    let now = clock::now();
    let fresh_ms = settings_fresh_ms(env);
    let (record, playbook) = join(shop(env, domain), playbook(env, domain)).await;
    let settings = Rc::new(Settings {
        record: record?.unwrap_or_default(),
        playbook: playbook?,
    });
    RECENT.with_borrow_mut(|recent| {
        recent.retain(|_, (read_at, _)| now.0 - read_at.0 < fresh_ms);
        recent.insert(domain.to_string(), (now, settings.clone()));
    });
    Ok(settings)
}

/// The isolate's copy of the shop's settings while it is fresh, read without waiting on
/// anything.
pub fn recent_settings(env: &Env, domain: &str) -> Option<Rc<Settings>> {
    let now = clock::now();
    let fresh_ms = settings_fresh_ms(env);
    RECENT.with_borrow(|recent| {
        recent
            .get(domain)
            .filter(|(read_at, _)| now.0 - read_at.0 < fresh_ms)
            .map(|(_, settings)| settings.clone())
    })
}

fn forget_settings(domain: &str) {
    RECENT.with_borrow_mut(|recent| recent.remove(domain));
}

pub async fn shop(env: &Env, domain: &str) -> Result<Option<ShopRecord>> {
    Ok(kv(env)?.get(&format!("shop:{domain}")).json().await?)
}

/// The shop's playbook; a shop that never saved one runs the default.
pub async fn playbook(env: &Env, domain: &str) -> Result<Playbook> {
    let stored: Option<Playbook> = kv(env)?.get(&format!("playbook:{domain}")).json().await?;
    Ok(stored.unwrap_or_default())
}

/// Whether the merchant has ever saved a playbook (and so chose its consent mode).
pub async fn playbook_saved(env: &Env, domain: &str) -> Result<bool> {
    Ok(kv(env)?
        .get(&format!("playbook:{domain}"))
        .text()
        .await?
        .is_some())
}

/// The shop a WhatsApp business number belongs to (one number, one shop).
pub async fn shop_for_number(env: &Env, phone_number_id: &str) -> Result<Option<ShopDomain>> {
    Ok(kv(env)?
        .get(&format!("wa:{phone_number_id}"))
        .text()
        .await?
        .and_then(|shop| ShopDomain::parse(&shop)))
}

/// The journey a recovery link sent before links named their cart opens, as
/// `(shop, checkout_token)`.
pub async fn recovery_link(env: &Env, token: &str) -> Result<Option<(ShopDomain, CheckoutToken)>> {
    let value = kv(env)?.get(&format!("r:{token}")).text().await?;
    Ok(value.and_then(|v| {
        let (shop, checkout) = v.split_once(' ')?;
        Some((ShopDomain::parse(shop)?, CheckoutToken::new(checkout)))
    }))
}

pub async fn put_shop(env: &Env, domain: &str, record: &ShopRecord) -> Result<()> {
    kv(env)?
        .put(&format!("shop:{domain}"), record)?
        .execute()
        .await?;
    forget_settings(domain);
    Ok(())
}

pub async fn put_playbook(env: &Env, domain: &str, playbook: &Playbook) -> Result<()> {
    kv(env)?
        .put(&format!("playbook:{domain}"), playbook)?
        .execute()
        .await?;
    forget_settings(domain);
    Ok(())
}

/// Routes the number's inbound messages, and its business account's template webhooks, to the
/// shop (one number, one shop).
pub async fn put_number(
    env: &Env,
    phone_number_id: &str,
    waba_id: &str,
    domain: &str,
) -> Result<()> {
    kv(env)?
        .put(&format!("wa:{phone_number_id}"), domain)?
        .execute()
        .await?;
    kv(env)?
        .put(&format!("waba:{waba_id}"), domain)?
        .execute()
        .await?;
    Ok(())
}

pub async fn delete_number(env: &Env, phone_number_id: &str, waba_id: &str) -> Result<()> {
    kv(env)?.delete(&format!("wa:{phone_number_id}")).await?;
    kv(env)?.delete(&format!("waba:{waba_id}")).await?;
    Ok(())
}

/// The shop whose connected WhatsApp Business Account is `waba_id`.
pub async fn shop_for_waba(env: &Env, waba_id: &str) -> Result<Option<ShopDomain>> {
    let Some(domain) = kv(env)?
        .get(&format!("waba:{waba_id}"))
        .text()
        .await?
        .and_then(|shop| ShopDomain::parse(&shop))
    else {
        return Ok(None);
    };
    // The index outlives a reconnect to another account; the record has the last word.
    let current = shop(env, domain.as_str())
        .await?
        .and_then(|r| r.whatsapp)
        .is_some_and(|w| w.waba_id == waba_id);
    Ok(current.then_some(domain))
}

/// The shop's WhatsApp connection with its token opened, for the life of one request.
pub fn open_whatsapp(env: &Env, record: &mut ShopRecord) -> Result<()> {
    if let Some(conn) = &mut record.whatsapp {
        conn.access_token = crypto::open(&crypto::data_key(env)?, &conn.access_token)?;
    }
    Ok(())
}

/// `shop/redact`: every KV record of the shop.
/// `route`: the number and business account routed to the shop.
pub async fn forget_shop(env: &Env, domain: &str, route: Option<(&str, &str)>) -> Result<()> {
    let store = kv(env)?;
    if let Some((number, waba)) = route {
        delete_number(env, number, waba).await?;
    }
    for key in keys_with_prefix(env, &format!("data_request:{domain}:")).await? {
        store.delete(&key).await?;
    }
    store.delete(&format!("shop:{domain}")).await?;
    store.delete(&format!("playbook:{domain}")).await?;
    forget_settings(domain);
    Ok(())
}

/// Every key under `prefix`, page by page.
async fn keys_with_prefix(env: &Env, prefix: &str) -> Result<Vec<String>> {
    let store = kv(env)?;
    let mut keys = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let mut list = store.list().prefix(prefix.to_string()).limit(1000);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        keys.extend(page.keys.into_iter().map(|k| k.name));
        match page.cursor {
            Some(c) if !page.list_complete => cursor = Some(c),
            _ => return Ok(keys),
        }
    }
}

/// A `customers/data_request` report, sealed, for the merchant to fetch.
pub async fn put_data_request(env: &Env, domain: &str, id: &str, sealed: &str) -> Result<()> {
    kv(env)?
        .put(&format!("data_request:{domain}:{id}"), sealed)?
        .execute()
        .await?;
    Ok(())
}

/// The shop's `customers/data_request` reports, as `(id, sealed report)`.
pub async fn data_requests(env: &Env, domain: &str) -> Result<Vec<(String, String)>> {
    let store = kv(env)?;
    let prefix = format!("data_request:{domain}:");
    let mut reports = vec![];
    for key in keys_with_prefix(env, &prefix).await? {
        if let Some(sealed) = store.get(&key).text().await? {
            reports.push((key[prefix.len()..].to_string(), sealed));
        }
    }
    Ok(reports)
}

pub async fn delete_data_request(env: &Env, domain: &str, id: &str) -> Result<()> {
    kv(env)?
        .delete(&format!("data_request:{domain}:{id}"))
        .await?;
    Ok(())
}

/// One page (up to 1,000) of the shops KV holds a record for, and the cursor of the next page.
/// A KV list operation each: the sweep's whole cost of finding the shops.
pub async fn shops(env: &Env, cursor: Option<String>) -> Result<(Vec<ShopDomain>, Option<String>)> {
    let mut list = kv(env)?.list().prefix("shop:".into());
    if let Some(cursor) = cursor {
        list = list.cursor(cursor);
    }
    let page = list.execute().await?;
    let shops = page
        .keys
        .iter()
        .filter_map(|k| k.name.strip_prefix("shop:").and_then(ShopDomain::parse))
        .collect();
    Ok((shops, page.cursor.filter(|_| !page.list_complete)))
}
