//! The optimizer's ledger: one row per journey it measures (its trial), and what the settled
//! trials taught, stored as the core's `Learning`.
//!
//! - A trial is written when its journey registers, once (`INSERT OR IGNORE`: a registration
//!   retried writes nothing new). A journey begun again before its first beginning was saved
//!   runs the options it chose the second time, so its trial takes the first's place while
//!   nothing has been learned from it.
//! - A `converted` fact settles it through the core's `Trial::record_order`, which accepts the
//!   first order within the window only: repeated orders, webhooks and alarms change nothing.
//!   The held-out group's trials are settled the same way.
//! - Misses are settled lazily, when what was learned is read (a journey beginning, the admin
//!   page): every read needs the pending trials anyway, so folding the matured ones then costs
//!   one more statement and no timer; the ledger's alarm stays the outbox's. Nothing reads a
//!   trial's outcome between its window's close and the next read, so nothing is late.
//! - A trial is folded once (`folded`) and its row kept, so a late order or a retried
//!   registration cannot count it again.
//! - The pending trials are also kept counted by group (`pending_groups`: the journey's options,
//!   segment and the slice of time the window opened in), updated as a trial opens, settles
//!   and folds, so a journey's beginning reads as many rows as there are configurations and
//!   slices, never a row per trial. The counts are written in the same call as the trial's
//!   row, so they agree.

use serde::Deserialize;
use worker::{Result, SqlStorageValue};

use super::db::{i, s, token, Db, Text};
use crate::core::journey::Fact;
use crate::core::optimizer::learning::PendingGroup;
use crate::core::optimizer::posterior::Tally;
use crate::core::optimizer::{Learning, Trial};
use crate::core::values::ids::CheckoutToken;
use crate::core::values::time::Millis;
use crate::objects::protocol::Report;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS trials (
  checkout_token TEXT PRIMARY KEY, trial TEXT NOT NULL, matures_at INTEGER NOT NULL,
  folded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS trials_open ON trials(folded, matures_at);
CREATE TABLE IF NOT EXISTS pending_groups (
  key TEXT PRIMARY KEY, journeys INTEGER NOT NULL, recoveries INTEGER NOT NULL,
  revenue INTEGER NOT NULL, revenue_sq REAL NOT NULL);
";

/// The settled trials' tallies, in the settings table.
const LEARNING_KEY: &str = "optimizer:learning";
/// Set once the pending groups count every unfolded trial by its whole configuration (trials
/// written before, or counted by single option, are counted in again once).
const GROUPED_KEY: &str = "optimizer:grouped:configs";
/// Set once the stored tallies count the folded trials by configuration (trials folded before
/// configurations were counted are counted in once, from their rows).
const CONFIGS_KEY: &str = "optimizer:configs";

#[derive(Deserialize)]
struct GroupRow {
    key: String,
    journeys: i64,
    recoveries: i64,
    revenue: i64,
    revenue_sq: f64,
}

impl Db {
    /// A journey the optimizer measures has begun.
    pub fn open_trial(&self, trial: &Trial) -> Result<()> {
        let written = self.changed(
            "INSERT OR IGNORE INTO trials (checkout_token, trial, matures_at) VALUES (?, ?, ?)",
            vec![
                token(&trial.id),
                s(serde_json::to_string(trial)?),
                i(trial.matures_at().0),
            ],
        )?;
        if written > 0 {
            self.add_to_group(trial, &trial.as_tally(), 1)?;
        }
        Ok(())
    }

    /// A journey begun again (`Begun::Again`): its trial, if any, replaces the one opened
    /// first, unless that one already taught something (an order, or folded as a miss).
    pub fn renew_trial(&self, checkout: &CheckoutToken, trial: Option<&Trial>) -> Result<()> {
        if let Some(first) = self.trial(checkout)? {
            if !first.replaceable() {
                return Ok(());
            }
            self.exec(
                "DELETE FROM trials WHERE checkout_token = ?",
                vec![token(checkout)],
            )?;
            self.add_to_group(&first, &first.as_tally(), -1)?;
        }
        match trial {
            Some(trial) => self.open_trial(trial),
            None => Ok(()),
        }
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
            let before = trial.as_tally();
            if trial.record_order(revenue, *at) {
                self.exec(
                    "UPDATE trials SET trial = ? WHERE checkout_token = ?",
                    vec![s(serde_json::to_string(&trial)?), token(&trial.id)],
                )?;
                self.add_to_group(&trial, &before, -1)?;
                self.add_to_group(&trial, &trial.as_tally(), 1)?;
            }
        }
        Ok(())
    }

    /// What the choices and the report see at `now`: matured trials folded into the stored
    /// tallies first, then the pending ones weighed in.
    pub fn learning(&self, now: Millis) -> Result<Learning> {
        let mut learning: Learning = self.json_setting(LEARNING_KEY)?;
        if self.setting(GROUPED_KEY)?.is_none() {
            self.exec("DELETE FROM pending_groups", vec![])?;
            for trial in self.trials("folded = 0 AND matures_at > ?", Millis(0))? {
                self.add_to_group(&trial, &trial.as_tally(), 1)?;
            }
            self.put_setting(GROUPED_KEY, "1")?;
        }
        if self.setting(CONFIGS_KEY)?.is_none() {
            learning.recount_configs(&self.trials("folded = 1 AND matures_at <= ?", now)?);
            self.put_json_setting(LEARNING_KEY, &learning)?;
            self.put_setting(CONFIGS_KEY, "1")?;
        }
        let matured = self.trials("folded = 0 AND matures_at <= ?", now)?;
        if !matured.is_empty() {
            for mut trial in matured {
                let counted = trial.as_tally();
                learning.fold(&mut trial, now);
                self.exec(
                    "UPDATE trials SET folded = 1, trial = ? WHERE checkout_token = ?",
                    vec![s(serde_json::to_string(&trial)?), token(&trial.id)],
                )?;
                self.add_to_group(&trial, &counted, -1)?;
            }
            self.exec("DELETE FROM pending_groups WHERE journeys <= 0", vec![])?;
            self.put_json_setting(LEARNING_KEY, &learning)?;
        }
        Ok(learning.with_pending_groups(&self.pending_groups()?, now))
    }

    /// Adds (`sign` 1) or takes away (-1) `tally` in the trial's pending group.
    fn add_to_group(&self, trial: &Trial, tally: &Tally, sign: i64) -> Result<()> {
        let Some(key) = trial.group_key() else {
            return Ok(());
        };
        self.exec(
            "INSERT INTO pending_groups (key, journeys, recoveries, revenue, revenue_sq)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET
             journeys = journeys + excluded.journeys,
             recoveries = recoveries + excluded.recoveries,
             revenue = revenue + excluded.revenue,
             revenue_sq = revenue_sq + excluded.revenue_sq",
            vec![
                s(serde_json::to_string(&key)?),
                i(sign * tally.journeys as i64),
                i(sign * tally.recoveries as i64),
                i(sign.saturating_mul(tally.revenue)),
                SqlStorageValue::Float(sign as f64 * tally.revenue_sq),
            ],
        )?;
        Ok(())
    }

    /// The pending trials, counted by group; a row that does not read is skipped.
    fn pending_groups(&self) -> Result<Vec<PendingGroup>> {
        let rows: Vec<GroupRow> = self.rows(
            "SELECT key, journeys, recoveries, revenue, revenue_sq FROM pending_groups
             WHERE journeys > 0",
            vec![],
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let key = serde_json::from_str(&r.key).ok()?;
                let tally = Tally {
                    journeys: u64::try_from(r.journeys).ok()?,
                    recoveries: u64::try_from(r.recoveries).unwrap_or(0),
                    revenue: r.revenue,
                    revenue_sq: r.revenue_sq,
                    ..Tally::default()
                };
                Some(PendingGroup { key, tally })
            })
            .collect())
    }

    /// The merchant starts over: every trial and tally goes. Orders of journeys already
    /// running find no trial and count for nothing.
    pub fn reset_learning(&self) -> Result<()> {
        self.exec("DELETE FROM trials", vec![])?;
        self.exec("DELETE FROM pending_groups", vec![])?;
        self.delete_setting(LEARNING_KEY)
    }

    fn trial(&self, checkout: &CheckoutToken) -> Result<Option<Trial>> {
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
