//! The dashboard's numbers (docs/rules.md §4), counted from the journey index: the funnel,
//! recovered revenue, the held-out comparison, skips, failures and opt-outs.

use serde::{Deserialize, Serialize};
use worker::{Result, SqlStorageValue};

use super::db::{i, Count, Db, Text};
use crate::core::metrics::{add_sample, p75, valid_vital, MetricsBy, WEB_VITALS};
use crate::core::values::money::{Currency, Money};
use crate::core::values::time::Millis;
use crate::objects::protocol::{MetricsQuery, RecordVital};

/// Minor units of `currency` as the API's decimal string.
fn decimal(minor: i64, currency: &str) -> Option<String> {
    let currency = Currency::parse(currency).ok()?;
    Some(Money::from_minor(minor, currency).to_decimal_string())
}

fn vital_key(name: &str) -> String {
    format!("vital:{name}")
}

/// The funnel's columns, in order (docs/rules.md §4); each counts journeys that reached the
/// stage. Abandoned counts every journey with a phone, held-out ones included; the later
/// stages are the messaged group's (held-out journeys are reported beside it).
const FUNNEL: &str = "count(*) AS abandoned,
  count(CASE WHEN holdout = 0 THEN eligible_at END) AS eligible,
  count(CASE WHEN holdout = 0 THEN messaged_at END) AS messaged,
  count(CASE WHEN holdout = 0 THEN delivered_at END) AS delivered,
  count(CASE WHEN holdout = 0 THEN read_at END) AS read,
  count(CASE WHEN holdout = 0 THEN replied_at END) AS replied,
  count(CASE WHEN holdout = 0 THEN clicked_at END) AS clicked,
  count(CASE WHEN holdout = 0 THEN recovered_at END) AS recovered";

#[derive(Deserialize, Serialize)]
struct Funnel {
    abandoned: i64,
    eligible: i64,
    messaged: i64,
    delivered: i64,
    read: i64,
    replied: i64,
    clicked: i64,
    recovered: i64,
}

#[derive(Deserialize, Serialize)]
struct Grouped {
    key: String,
    #[serde(flatten)]
    funnel: Funnel,
}

#[derive(Deserialize)]
struct Revenue {
    currency: String,
    total: i64,
    orders: i64,
}

#[derive(Deserialize, Serialize)]
struct Tally {
    key: String,
    n: i64,
}

#[derive(Deserialize)]
struct GroupRow {
    holdout: i64,
    journeys: i64,
    recovered: i64,
}

impl Db {
    pub fn metrics(&self, q: MetricsQuery, now: Millis) -> Result<serde_json::Value> {
        let range = || vec![i(q.from.0), i(q.to.0)];
        let within = "started_at >= ? AND started_at < ?";
        let funnel: Funnel = self
            .rows(
                &format!("SELECT {FUNNEL} FROM journeys WHERE {within}"),
                range(),
            )?
            .into_iter()
            .next()
            .ok_or_else(|| worker::Error::RustError("empty funnel".into()))?;
        // Revenue in the shop's main currency: the one most recovered orders were paid in.
        let revenue: Option<Revenue> = self
            .rows(
                &format!(
                    "SELECT currency, sum(revenue_minor) AS total, count(*) AS orders FROM journeys
                     WHERE holdout = 0 AND recovered_at IS NOT NULL AND currency IS NOT NULL AND {within}
                     GROUP BY currency ORDER BY orders DESC LIMIT 1"
                ),
                range(),
            )?
            .into_iter()
            .next();
        let money = revenue.as_ref().and_then(|r| {
            Some((
                decimal(r.total, &r.currency)?,
                decimal(r.total / r.orders.max(1), &r.currency)?,
                r.currency.clone(),
            ))
        });
        let groups: Vec<GroupRow> = self.rows(
            &format!(
                "SELECT holdout, count(*) AS journeys, count(recovered_at) AS recovered FROM journeys
                 WHERE eligible_at IS NOT NULL AND {within} GROUP BY holdout"
            ),
            range(),
        )?;
        let group = |holdout: i64| {
            let g = groups.iter().find(|g| g.holdout == holdout);
            crate::core::gate::holdout::Group {
                journeys: g.map_or(0, |g| g.journeys as u64),
                recovered: g.map_or(0, |g| g.recovered as u64),
            }
        };
        let (messaged, held_out) = (group(0), group(1));
        let skipped: Vec<Tally> = self.rows(
            "SELECT reason AS key, count(*) AS n FROM skips
             WHERE at >= ? AND at < ? GROUP BY reason ORDER BY n DESC",
            range(),
        )?;
        // Steps that ended failed, by Meta's code: refused when sent, or reported failed after.
        let failures: Vec<Tally> = self.rows(
            "SELECT CAST(code AS TEXT) AS key, count(*) AS n FROM step_outcomes
             WHERE outcome = 'failed' AND code IS NOT NULL AND at >= ? AND at < ? GROUP BY code",
            range(),
        )?;
        let opt_outs: Vec<Count> = self.rows(
            "SELECT count(*) AS n FROM consents
             WHERE json_extract(record, '$.kind') = 'opt_out'
               AND json_extract(record, '$.at') >= ? AND json_extract(record, '$.at') < ?",
            range(),
        )?;
        let opt_outs = opt_outs.first().map_or(0, |c| c.n);
        let breakdown = match q.by {
            Some(MetricsBy::Day) => Some(self.grouped(
                &format!("date(started_at / 1000, 'unixepoch') AS key, {FUNNEL}"),
                within,
                range(),
            )?),
            Some(MetricsBy::Segment) => {
                Some(self.grouped(&format!("segment AS key, {FUNNEL}"), within, range())?)
            }
            Some(MetricsBy::Step | MetricsBy::Template) => Some(self.by_step(range())?),
            Some(MetricsBy::Product) => Some(self.by_product(within, range())?),
            None => None,
        };
        Ok(serde_json::json!({
            "funnel": funnel,
            "recovered_revenue": money.as_ref().map_or("0".to_string(), |m| m.0.clone()),
            "average_order_value": money.as_ref().map(|m| m.1.clone()),
            "currency": money.map(|m| m.2),
            "opt_outs": opt_outs,
            "opt_out_rate": rate(opt_outs, funnel.messaged),
            "skipped": skipped,
            "failures": failures,
            "holdout": {
                "messaged": messaged,
                "held_out": held_out,
                "lift": crate::core::gate::holdout::lift(messaged, held_out),
            },
            "breakdown": breakdown,
            "cost": self.cost(q.from, q.to, funnel.recovered, revenue.as_ref().map(|r| super::costs::Revenue {
                minor: r.total,
                currency: &r.currency,
            }))?,
            "health": self.health(&q, now)?,
        }))
    }

    /// The health figures beside the funnel: steps overdue now, journeys the reconciliation
    /// sweep started in the period (and how its last run went), and the admin page's own web
    /// vitals.
    fn health(&self, q: &MetricsQuery, now: Millis) -> Result<serde_json::Value> {
        let rows: Vec<Text> = self.rows(
            "SELECT summary AS v FROM journeys WHERE status = 'active' AND summary IS NOT NULL",
            vec![],
        )?;
        let overdue: usize = self
            .summaries(&rows)
            .iter()
            .map(|j| j.overdue_steps(now))
            .sum();
        let mut vitals = serde_json::Map::new();
        for name in WEB_VITALS {
            let samples: Vec<f64> = self.json_setting(&vital_key(name))?;
            let figure = p75(&samples).map(|p| serde_json::json!({ "p75": p, "n": samples.len() }));
            vitals.insert(name.to_string(), figure.unwrap_or(serde_json::Value::Null));
        }
        Ok(serde_json::json!({
            "overdue_steps": overdue,
            "swept": self.swept_between(q.from, q.to)?,
            "last_sweep": self.last_sweep()?,
            "web_vitals": vitals,
        }))
    }

    pub fn record_vital(&self, v: RecordVital) -> Result<()> {
        if !valid_vital(&v.name, v.value) {
            return Ok(());
        }
        let key = vital_key(&v.name);
        let mut samples: Vec<f64> = self.json_setting(&key)?;
        add_sample(&mut samples, v.value);
        self.put_json_setting(&key, &samples)
    }

    fn grouped(
        &self,
        select: &str,
        within: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<serde_json::Value> {
        let rows: Vec<Grouped> = self.rows(
            &format!("SELECT {select} FROM journeys WHERE {within} GROUP BY key ORDER BY key"),
            args,
        )?;
        Ok(serde_json::to_value(rows)?)
    }

    /// Per product (the cart's first line item): journeys, recoveries and recovered revenue
    /// of the messaged group, the most common products first.
    fn by_product(&self, within: &str, args: Vec<SqlStorageValue>) -> Result<serde_json::Value> {
        #[derive(Deserialize)]
        struct Row {
            key: String,
            abandoned: i64,
            recovered: i64,
            revenue_minor: Option<i64>,
            currency: Option<String>,
        }
        let rows: Vec<Row> = self.rows(
            &format!(
                "SELECT product AS key, count(*) AS abandoned,
                   count(CASE WHEN holdout = 0 THEN recovered_at END) AS recovered,
                   sum(CASE WHEN holdout = 0 THEN revenue_minor END) AS revenue_minor,
                   max(currency) AS currency
                 FROM journeys WHERE product IS NOT NULL AND {within}
                 GROUP BY product ORDER BY abandoned DESC, key LIMIT 50"
            ),
            args,
        )?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let revenue = r.currency.as_deref().and_then(|c| {
                    let currency = crate::core::values::money::Currency::parse(c).ok()?;
                    let minor = r.revenue_minor.unwrap_or(0);
                    Some(
                        crate::core::values::money::Money::from_minor(minor, currency)
                            .to_decimal_string(),
                    )
                });
                serde_json::json!({
                    "key": r.key,
                    "abandoned": r.abandoned,
                    "recovered": r.recovered,
                    "revenue": revenue.unwrap_or_else(|| "0".into()),
                })
            })
            .collect())
    }

    /// Per step: messages sent, and the steps that ended failed, unknown or skipped; with no
    /// duplicates, sent + skipped + failed + unknown is every step that came due.
    fn by_step(&self, args: Vec<SqlStorageValue>) -> Result<serde_json::Value> {
        let sent: Vec<Tally> = self.rows(
            "SELECT step_id AS key, count(*) AS n FROM messages WHERE sent_at >= ? AND sent_at < ? GROUP BY step_id",
            args.clone(),
        )?;
        let outcome = |which: &str| -> Result<Vec<Tally>> {
            let mut args = args.clone();
            args.insert(0, SqlStorageValue::String(which.to_string()));
            self.rows(
                "SELECT step_id AS key, count(*) AS n FROM step_outcomes
                 WHERE outcome = ? AND at >= ? AND at < ? GROUP BY step_id",
                args,
            )
        };
        let (failed, unknown) = (outcome("failed")?, outcome("unknown")?);
        let skipped: Vec<Tally> = self.rows(
            "SELECT step_id AS key, count(*) AS n FROM skips WHERE at >= ? AND at < ? GROUP BY step_id",
            args,
        )?;
        let mut steps: Vec<String> = sent
            .iter()
            .chain(&failed)
            .chain(&unknown)
            .chain(&skipped)
            .map(|t| t.key.clone())
            .collect();
        steps.sort();
        steps.dedup();
        let count =
            |list: &[Tally], step: &str| list.iter().find(|t| t.key == step).map_or(0, |t| t.n);
        Ok(steps
            .iter()
            .map(|step| {
                serde_json::json!({
                    "key": step,
                    "messaged": count(&sent, step),
                    "failed": count(&failed, step),
                    "unknown": count(&unknown, step),
                    "skipped": count(&skipped, step),
                })
            })
            .collect())
    }
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
