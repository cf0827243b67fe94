//! The shop's record: its Shopify grant, its WhatsApp connection and its playbook. The ledger
//! is their one writer. It keeps the record in its own storage (strongly consistent, one per
//! shop) and copies it to KV, without the Shopify grant, for carts and the Worker to read; they
//! never write it back, so a stale copy can neither resurrect a deleted token nor undo a
//! reconnect.
//!
//! Every change runs under `record_lock`: an operation that waits on Shopify or KV midway (a
//! token renewal, the copy to KV) lets other requests in, and the lock keeps them from reading
//! the record half-changed. That is also what makes a renewal single-flight: whoever waited
//! finds the renewed token and uses it, and Shopify's rotating refresh token is spent once.

use worker::Result;

use super::db::Db;
use super::ShopLedger;
use crate::core::shopify::oauth::{AdminError, Grant};
use crate::core::shopify::shop::{ShopRecord, WhatsAppConnection};
use crate::core::shopify::webhook::uninstall_is_current;
use crate::core::values::ids::{CheckoutToken, ShopDomain};
use crate::objects::protocol::{
    AdminToken, ConnectWhatsApp, EraseShop, Install, InstallGrant, PauseWhatsApp, PutPlaybook,
    Uninstall,
};
use crate::platform::clock::now;
use crate::platform::shopify::{self, Answer, App};
use crate::platform::{crypto, store};

const RECORD_KEY: &str = "shop_record";
/// The number and business account KV routes to this shop, as last copied there.
const ROUTED_KEY: &str = "routed_number";
/// Set while KV's copy lags the record (a copy failed); the alarm tries again.
pub const COPY_PENDING_KEY: &str = "record_copy_pending";

impl Db {
    fn stored_record(&self) -> Result<Option<ShopRecord>> {
        Ok(match self.setting(RECORD_KEY)? {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    /// Whether the shop's number is connected; `None` while the ledger has not taken the
    /// record over from KV (shops installed before it kept one).
    pub fn whatsapp_connected(&self) -> Result<Option<bool>> {
        Ok(self.stored_record()?.map(|r| r.whatsapp.is_some()))
    }
}

/// The number and business account a record routes to its shop.
fn route_of(record: &ShopRecord) -> Option<(String, String)> {
    record
        .whatsapp
        .as_ref()
        .map(|w| (w.phone_number_id.clone(), w.waba_id.clone()))
}

fn routed(db: &Db) -> Result<Option<(String, String)>> {
    Ok(db
        .setting(ROUTED_KEY)?
        .and_then(|v| serde_json::from_str(&v).ok()))
}

impl ShopLedger {
    /// The record; the first time, taken over from KV, where shops installed before the ledger
    /// kept it have theirs.
    async fn record(&self, db: &Db, shop: &ShopDomain) -> Result<ShopRecord> {
        if let Some(record) = db.stored_record()? {
            return Ok(record);
        }
        let record = store::shop(&self.env, shop.as_str())
            .await?
            .unwrap_or_default();
        db.put_json_setting(RECORD_KEY, &record)?;
        Ok(record)
    }

    /// Keeps `record` (at once: a renewed grant is never lost to a failing copy), then copies it
    /// to KV. A copy that fails is logged and tried again by the alarm.
    async fn save(&self, db: &Db, shop: &ShopDomain, record: &ShopRecord) -> Result<()> {
        db.put_json_setting(RECORD_KEY, record)?;
        db.put_setting(super::outbox::SHOP_KEY, shop.as_str())?;
        db.put_setting(COPY_PENDING_KEY, "1")?;
        if let Err(e) = self.copy_to_kv(db, shop).await {
            worker::console_error!("the record of {shop} is not in KV yet: {e}");
            self.state
                .storage()
                .set_alarm(super::RETRY_AFTER_FAILURE_MS)
                .await?;
        }
        Ok(())
    }

    /// Writes the latest record to KV, with the route of its number. The caller holds the lock,
    /// so copies land in the order of the changes.
    async fn copy_to_kv(&self, db: &Db, shop: &ShopDomain) -> Result<()> {
        let Some(record) = db.stored_record()? else {
            return Ok(());
        };
        let route = route_of(&record);
        if let Some((number, waba)) = routed(db)?.filter(|old| Some(old) != route.as_ref()) {
            store::delete_number(&self.env, &number, &waba).await?;
        }
        store::put_shop(&self.env, shop.as_str(), &record.mirrored()).await?;
        match &route {
            Some((number, waba)) => {
                store::put_number(&self.env, number, waba, shop.as_str()).await?;
                db.put_json_setting(ROUTED_KEY, &(number, waba))?;
            }
            None => db.delete_setting(ROUTED_KEY)?,
        }
        db.delete_setting(COPY_PENDING_KEY)
    }

    /// The alarm's part: a copy to KV that failed earlier.
    pub(super) async fn retry_copy(&self, db: &Db) -> Result<()> {
        let _held = self.record_lock.lock().await;
        let shop = db
            .setting(super::outbox::SHOP_KEY)?
            .and_then(|s| ShopDomain::parse(&s));
        match (db.setting(COPY_PENDING_KEY)?, shop) {
            (Some(_), Some(shop)) => self.copy_to_kv(db, &shop).await,
            _ => Ok(()),
        }
    }

    /// The connection replies are sent with, its token opened; none while sending is paused.
    pub(super) async fn sending_connection(&self, db: &Db) -> Result<Option<WhatsAppConnection>> {
        let shop = db
            .setting(super::outbox::SHOP_KEY)?
            .and_then(|s| ShopDomain::parse(&s));
        let Some(shop) = shop else {
            return Ok(None);
        };
        let mut record = {
            let _held = self.record_lock.lock().await;
            self.record(db, &shop).await?
        };
        store::open_whatsapp(&self.env, &mut record)?;
        Ok(record.whatsapp.filter(|w| !w.paused))
    }

    pub(super) async fn shop_state(&self, db: &Db, shop: &ShopDomain) -> Result<ShopRecord> {
        let _held = self.record_lock.lock().await;
        self.record(db, shop).await
    }

    pub(super) async fn install(&self, db: &Db, c: Install) -> Result<Result<(), AdminError>> {
        let _held = self.record_lock.lock().await;
        let app = App::load(&self.env)?;
        let mut record = self.record(db, &c.shop).await?;
        let grant = match &c.grant {
            InstallGrant::SessionToken(_) if record.holds_usable_grant(now()) => None,
            InstallGrant::SessionToken(session_token) => {
                Some(Grant::TokenExchange { session_token })
            }
            InstallGrant::Code(code) => Some(Grant::AuthorizationCode { code }),
        };
        if let Some(grant) = grant {
            match shopify::grant(&app, c.shop.as_str(), grant).await {
                Ok(install) => {
                    record.granted(install, now());
                    // Installed again while a `shop/redact` was still draining: the final wipe
                    // must not take the new installation with it.
                    db.delete_setting(super::outbox::ERASE_KEY)?;
                    self.save(db, &c.shop, &record).await?;
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        if record.needs_facts() {
            // The shop's name fills the `shop_name` variable; failing to learn it is logged.
            match self.learn_facts(db, &app, &c.shop, &mut record).await? {
                Ok(()) => {}
                Err(e) => worker::console_warn!("facts of {} not learned: {e}", c.shop),
            }
        }
        Ok(Ok(()))
    }

    async fn learn_facts(
        &self,
        db: &Db,
        app: &App,
        shop: &ShopDomain,
        record: &mut ShopRecord,
    ) -> Result<Result<(), AdminError>> {
        let mut rejected = None;
        loop {
            let token = match self
                .renewed(db, app, shop, record, rejected.as_deref())
                .await?
            {
                Ok(token) => token,
                Err(e) => return Ok(Err(e)),
            };
            match shopify::shop_facts(app, shop.as_str(), &token).await {
                Ok(Answer::Done(Some(facts))) => {
                    record.learn(facts);
                    self.save(db, shop, record).await?;
                    return Ok(Ok(()));
                }
                Ok(Answer::Done(None)) => return Ok(Ok(())),
                Ok(Answer::Unauthorized) if rejected.is_none() => rejected = Some(token),
                Ok(Answer::Unauthorized) => return Ok(Err(AdminError::NeedsReauth)),
                Err(e) => return Ok(Err(e)),
            }
        }
    }

    pub(super) async fn admin_token(
        &self,
        db: &Db,
        c: AdminToken,
    ) -> Result<Result<String, AdminError>> {
        let _held = self.record_lock.lock().await;
        let app = App::load(&self.env)?;
        let mut record = self.record(db, &c.shop).await?;
        self.renewed(db, &app, &c.shop, &mut record, c.rejected.as_deref())
            .await
    }

    /// The sealed token to call Shopify with: the one held, or a renewed one when it is due or
    /// Shopify refused it. A renewal Shopify refuses means the shop must re-authorize (the
    /// merchant's next visit swaps a session token); one that fails otherwise leaves a token
    /// that has not expired in use.
    async fn renewed(
        &self,
        db: &Db,
        app: &App,
        shop: &ShopDomain,
        record: &mut ShopRecord,
        rejected: Option<&str>,
    ) -> Result<Result<String, AdminError>> {
        if record.needs_reauth {
            return Ok(Err(AdminError::NeedsReauth));
        }
        let Some(install) = record.shopify.clone() else {
            return Ok(Err(AdminError::NotInstalled));
        };
        let now = now();
        let refused = rejected == Some(install.sealed_access_token.as_str());
        if !refused && !install.refresh_due(now) {
            return Ok(Ok(install.sealed_access_token));
        }
        let still_valid = !refused && install.expires_at.is_some_and(|t| now < t);
        let why = match &install.sealed_refresh_token {
            Some(sealed) if install.can_refresh(now) => {
                let refresh_token = match app.open(sealed) {
                    Ok(token) => token,
                    Err(e) => return Ok(Err(e)),
                };
                let grant = Grant::Refresh {
                    refresh_token: &refresh_token,
                };
                match shopify::grant(app, shop.as_str(), grant).await {
                    Ok(renewed) => {
                        let token = renewed.sealed_access_token.clone();
                        record.granted(renewed, now);
                        self.save(db, shop, record).await?;
                        return Ok(Ok(token));
                    }
                    Err(AdminError::Refused(e)) => e,
                    Err(e) if still_valid => {
                        worker::console_warn!("token renewal for {shop} postponed: {e}");
                        return Ok(Ok(install.sealed_access_token));
                    }
                    Err(e) => return Ok(Err(e)),
                }
            }
            _ if still_valid => return Ok(Ok(install.sealed_access_token)),
            _ => "no live refresh token".to_string(),
        };
        worker::console_warn!("token renewal for {shop} refused: {why}");
        record.needs_reauth = true;
        self.save(db, shop, record).await?;
        Ok(Err(AdminError::NeedsReauth))
    }

    pub(super) async fn connect_whatsapp(&self, db: &Db, c: ConnectWhatsApp) -> Result<()> {
        let _held = self.record_lock.lock().await;
        let mut record = self.record(db, &c.shop).await?;
        record.messages_per_second = c.messages_per_second.or(record.messages_per_second);
        record.whatsapp = Some(WhatsAppConnection {
            phone_number_id: c.phone_number_id,
            waba_id: c.waba_id,
            access_token: crypto::seal(&crypto::data_key(&self.env)?, &c.access_token)?,
            paused: false,
            display_number: c.display_number,
        });
        self.save(db, &c.shop, &record).await
    }

    pub(super) async fn pause_whatsapp(&self, db: &Db, c: PauseWhatsApp) -> Result<()> {
        let _held = self.record_lock.lock().await;
        let mut record = self.record(db, &c.shop).await?;
        if record.pause_sending(&c.sealed_token) {
            self.save(db, &c.shop, &record).await?;
        }
        Ok(())
    }

    pub(super) async fn put_playbook(&self, c: PutPlaybook) -> Result<()> {
        let _held = self.record_lock.lock().await;
        store::put_playbook(&self.env, c.shop.as_str(), &c.playbook).await
    }

    /// Tokens go first, so nothing can be sent even before every cart hears of it.
    pub(super) async fn uninstall(&self, db: &Db, c: Uninstall) -> Result<bool> {
        let _held = self.record_lock.lock().await;
        let mut record = self.record(db, &c.shop).await?;
        if !uninstall_is_current(c.triggered_at, record.installed_at) {
            return Ok(false);
        }
        record.forget_tokens();
        self.save(db, &c.shop, &record).await?;
        db.end_all(&c.shop)?;
        Ok(true)
    }

    /// `shop/redact`: KV's records of the shop go, then every row here (`Db::erase`).
    pub(super) async fn erase(&self, db: &Db, c: EraseShop) -> Result<Vec<CheckoutToken>> {
        let _held = self.record_lock.lock().await;
        let record = self.record(db, &c.shop).await?;
        let route = route_of(&record);
        if let Some((number, waba)) = routed(db)?.filter(|old| Some(old) != route.as_ref()) {
            store::delete_number(&self.env, &number, &waba).await?;
        }
        let current = route.as_ref().map(|(n, w)| (n.as_str(), w.as_str()));
        store::forget_shop(&self.env, c.shop.as_str(), current).await?;
        db.erase(c)
    }
}
