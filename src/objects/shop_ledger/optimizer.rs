//! The optimizer's ledger: one row per journey it measures (its trial), and what the settled
//! trials taught, stored as the core's `Learning`.
//!
//! - A trial is written when its journey registers, once (`INSERT OR IGNORE`: a registration
//!   retried writes nothing new).
//! - A `converted` fact settles it through the core's `Trial::record_order`, which accepts the
//!   first order within the window only: repeated orders, webhooks and alarms change nothing.
//!   The held-out group's trials are settled the same way.
//! - Misses are settled lazily, when what was learned is read (a journey beginning, the admin
//!   page): every read needs the pending trials anyway, so folding the matured ones then costs
//!   one more statement and no timer; the ledger's alarm stays the outbox's. Nothing reads a
//!   trial's outcome between its window's close and the next read, so nothing is late.
//! - A trial is folded once (`folded`) and its row kept, so a late order or a retried
//!   registration cannot count it again.

use worker::Result;

use super::db::{i, s, token, Db, Text};
use crate::core::journey::Fact;
use crate::core::optimizer::{Learning, Trial};
use crate::core::values::time::Millis;
use crate::objects::protocol::Report;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS trials (
  checkout_token TEXT PRIMARY KEY, trial TEXT NOT NULL, matures_at INTEGER NOT NULL,
  folded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS trials_open ON trials(folded, matures_at);
";

/// The settled trials' tallies, in the settings table.
const LEARNING_KEY: &str = "optimizer:learning";

impl Db {
    /// A journey the optimizer measures has begun.
    pub fn open_trial(&self, trial: &Trial) -> Result<()> {
        self.exec(
            "INSERT OR IGNORE INTO trials (checkout_token, trial, matures_at) VALUES (?, ?, ?)",
            vec![
                token(&trial.id),
                s(serde_json::to_string(trial)?),
                i(trial.matures_at().0),
            ],
        )
    }

    /// The orders a cart reported settle its trial, the first one only.
    pub fn settle_orders(&self, report: &Report) -> Result<()> {
        for fact in &report.facts {
            let Fact::Converted { revenue, at } = fact else {
                continue;
            };
            let Some(mut trial) = self.trial(&report.checkout_token)? else {
                continue;
            };
            let revenue = revenue.as_ref().map_or(0, |m| m.minor());
            if trial.record_order(revenue, *at) {
                self.exec(
                    "UPDATE trials SET trial = ? WHERE checkout_token = ?",
                    vec![s(serde_json::to_string(&trial)?), token(&trial.id)],
                )?;
            }
        }
        Ok(())
    }

    /// What the choices and the report see at `now`: matured trials folded into the stored
    /// tallies first, then the pending ones weighed in.
    pub fn learning(&self, now: Millis) -> Result<Learning> {
        let mut learning: Learning = self.json_setting(LEARNING_KEY)?;
        let matured = self.trials("folded = 0 AND matures_at <= ?", now)?;
        if !matured.is_empty() {
            for mut trial in matured {
                learning.fold(&mut trial, now);
                self.exec(
                    "UPDATE trials SET folded = 1, trial = ? WHERE checkout_token = ?",
                    vec![s(serde_json::to_string(&trial)?), token(&trial.id)],
                )?;
            }
            self.put_json_setting(LEARNING_KEY, &learning)?;
        }
        let pending = self.trials("folded = 0 AND matures_at > ?", now)?;
        Ok(learning.with_pending(&pending, now))
    }

    /// The merchant starts over: every trial and tally goes. Orders of journeys already
    /// running find no trial and count for nothing.
    pub fn reset_learning(&self) -> Result<()> {
        self.exec("DELETE FROM trials", vec![])?;
        self.delete_setting(LEARNING_KEY)
    }

    fn trial(&self, checkout: &crate::core::values::ids::CheckoutToken) -> Result<Option<Trial>> {
        let row = self.first::<Text>(
            "SELECT trial AS v FROM trials WHERE checkout_token = ?",
            vec![token(checkout)],
        )?;
        Ok(row.and_then(|r| serde_json::from_str(&r.v).ok()))
    }

    /// Trials matching `filter` (with one `?` for `now`); a row that does not read is skipped.
    fn trials(&self, filter: &str, now: Millis) -> Result<Vec<Trial>> {
        let rows: Vec<Text> = self.rows(
            &format!("SELECT trial AS v FROM trials WHERE {filter}"),
            vec![i(now.0)],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.v).ok())
            .collect())
    }
}
