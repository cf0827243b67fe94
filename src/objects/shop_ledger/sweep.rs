//! The reconciliation sweep of one shop (docs/architecture.md §5.4): the ledger asks Shopify
//! for the checkouts abandoned lately, page by page within the Admin API's cost limits, and
//! hands each one its journey index does not know to the checkout's cart, exactly as its
//! webhook would have. The Shopify token never leaves the ledger. What to ask and what the
//! answers mean is the core's (`core::shopify::sweep`).
//!
//! Where the sweep stands (`sweep_progress`: the end of the last window done, or the page a
//! run stopped at) is kept here between runs, so a run cut short resumes where it stopped.

use std::time::Duration;

use worker::{Delay, Result};

use super::db::{i, token, Count, Db};
use super::ShopLedger;
use crate::core::gate::consent;
use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::sweep::{
    next_run, page_body, read_page, Found, PageAnswer, Progress, MAX_PAGES, MAX_WAIT_MS,
};
use crate::core::values::ids::{CheckoutToken, ShopDomain};
use crate::core::values::time::Millis;
use crate::objects::protocol::{tell_cart, AdminToken, CartCommand, SweepCall, SweepReport};
use crate::platform::clock::now;
use crate::platform::shopify::{self, Answer, App};

/// Journeys the sweep started, for the dashboard's health figures.
pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS swept (checkout_token TEXT PRIMARY KEY, at INTEGER NOT NULL);";
const PROGRESS_KEY: &str = "sweep_progress";
const LAST_RUN_KEY: &str = "sweep_last_run";
/// Throttled or unavailable answers to one page asked again before the run gives up.
const MAX_RETRIES: u32 = 3;

impl Db {
    fn indexed(&self, checkout: &CheckoutToken) -> Result<bool> {
        self.exists(
            "SELECT count(*) AS n FROM journeys WHERE checkout_token = ?",
            vec![token(checkout)],
        )
    }

    /// Journeys the sweep started in `[from, to)`.
    pub fn swept_between(&self, from: Millis, to: Millis) -> Result<i64> {
        Ok(self
            .first::<Count>(
                "SELECT count(*) AS n FROM swept WHERE at >= ? AND at < ?",
                vec![i(from.0), i(to.0)],
            )?
            .map_or(0, |c| c.n))
    }

    /// The last run's report and when it ran.
    pub fn last_sweep(&self) -> Result<Option<serde_json::Value>> {
        Ok(self
            .setting(LAST_RUN_KEY)?
            .and_then(|v| serde_json::from_str(&v).ok()))
    }
}

impl ShopLedger {
    pub(super) async fn sweep(&self, db: &Db, c: SweepCall) -> Result<SweepReport> {
        // A run still going (a slow Shopify, a long backlog) is not doubled by the next trigger.
        let Some(_running) = self.sweep_lock.try_lock() else {
            return Ok(SweepReport {
                stopped: Some("the previous sweep is still running".into()),
                ..SweepReport::default()
            });
        };
        let mut report = SweepReport::default();
        if let Err(why) = self.sweep_pages(db, &c.shop, &mut report).await? {
            report.stopped = Some(why);
        }
        db.put_json_setting(
            LAST_RUN_KEY,
            &serde_json::json!({ "at": now().to_rfc3339(), "report": &report }),
        )?;
        Ok(report)
    }

    /// Goes through the run's window page by page; `Err` says why it stopped early.
    async fn sweep_pages(
        &self,
        db: &Db,
        shop: &ShopDomain,
        report: &mut SweepReport,
    ) -> Result<std::result::Result<(), String>> {
        let mut progress: Progress = db.json_setting(PROGRESS_KEY)?;
        let Some((window, mut after)) = next_run(&progress, now()) else {
            return Ok(Ok(()));
        };
        let app = App::load(&self.env)?;
        let (mut rejected, mut retries, mut pages) = (None, 0, 0);
        while pages < MAX_PAGES {
            let ask = AdminToken {
                shop: shop.clone(),
                rejected: rejected.clone(),
            };
            let sealed = match self.admin_token(db, ask).await? {
                Ok(sealed) => sealed,
                // Uninstalled, or the merchant must open the app again: nothing to ask with.
                Err(e @ (AdminError::NotInstalled | AdminError::NeedsReauth)) => {
                    return Ok(Err(e.to_string()))
                }
                Err(e) => return Ok(Err(format!("no Admin API token: {e}"))),
            };
            let body = page_body(window, after.as_deref());
            let raw = match shopify::query(&app, shop.as_str(), &sealed, &body).await {
                Ok(Answer::Done(raw)) => raw,
                // Refused once: the ledger renews it; refused again, the shop must re-authorize.
                Ok(Answer::Unauthorized) if rejected.is_none() => {
                    rejected = Some(sealed);
                    continue;
                }
                Ok(Answer::Unauthorized) => {
                    return Ok(Err("Shopify refused the renewed token".into()))
                }
                Err(e) => return Ok(Err(e.to_string())),
            };
            let page = match read_page(raw.status, &raw.body, raw.retry_after_ms) {
                PageAnswer::Page(page) => page,
                PageAnswer::Retry { wait_ms } if retries < MAX_RETRIES => {
                    retries += 1;
                    pause(wait_ms.unwrap_or(1_000 << retries)).await;
                    continue;
                }
                PageAnswer::Retry { .. } => {
                    return Ok(Err("Shopify stayed throttled or unavailable".into()))
                }
                PageAnswer::Failed(why) => return Ok(Err(why)),
            };
            retries = 0;
            pages += 1;
            report.unusable += page.unusable;
            for found in page.found {
                report.found += 1;
                if self.reconcile(db, shop, found).await? {
                    report.started += 1;
                }
            }
            // Kept only once the whole page is handled: a run that fails midway redoes it, and
            // every step of it is idempotent.
            progress.after_page(window, page.next.clone());
            db.put_json_setting(PROGRESS_KEY, &progress)?;
            let Some(next) = page.next else {
                return Ok(Ok(()));
            };
            after = Some(next);
            match page.wait_ms {
                Some(wait) if wait > MAX_WAIT_MS => {
                    return Ok(Err("waiting for Shopify's rate limit".into()))
                }
                Some(wait) => pause(wait).await,
                None => {}
            }
        }
        Ok(Err(format!("{MAX_PAGES} pages read; the next run goes on")))
    }

    /// One listed checkout: the shopper's WhatsApp consent at Shopify is noted, and a journey
    /// the ledger does not know is started by telling its cart. Answers whether one began.
    async fn reconcile(&self, db: &Db, shop: &ShopDomain, found: Found) -> Result<bool> {
        if let Some(consent) = &found.consent {
            db.note_shopify_consent(consent)?;
        }
        let checkout_token = found.checkout.token.clone();
        if db.indexed(&checkout_token)? {
            return Ok(false);
        }
        if let Some(phone) = &found.checkout.phone {
            if consent::erased(&db.consent_records(&db.hash(phone))?) {
                return Ok(false);
            }
        }
        let command = CartCommand::Checkout {
            checkout: found.checkout,
            event_id: None,
        };
        tell_cart(&self.env, shop, &checkout_token, &command).await?;
        // The cart indexes a journey it began before it answers; a checkout without a phone,
        // or one the cart already closed, begins none.
        let began = db.indexed(&checkout_token)?;
        if began {
            db.exec(
                "INSERT OR IGNORE INTO swept (checkout_token, at) VALUES (?, ?)",
                vec![token(&checkout_token), i(now().0)],
            )?;
        }
        Ok(began)
    }
}

async fn pause(ms: i64) {
    Delay::from(Duration::from_millis(ms.clamp(0, MAX_WAIT_MS) as u64)).await;
}
