//! What the shop's messages cost (docs/rules.md §4, "Cost"): each message's charge as its
//! statuses report it, keyed by the message so a status repeated or arriving twice counts
//! once, and the merchant's price table that prices them.

use serde_json::{json, Value};
use worker::{Result, SqlStorageValue};

use super::db::{i, s, Db};
use crate::core::costs::{cost, per_order, Billed, Charge, PriceTable};
use crate::core::values::ids::Wamid;
use crate::core::values::money::Currency;
use crate::core::values::time::Millis;

const PRICES_KEY: &str = "prices";

/// Revenue beside cost: minor units of the currency the orders were paid in.
pub struct Revenue<'a> {
    pub minor: i64,
    pub currency: &'a str,
}

impl Db {
    /// Until the message is delivered a later status may still correct its pricing; once
    /// delivered, the charge is made and nothing changes it.
    pub fn record_charge(&self, wamid: &Wamid, charge: Charge, at: Millis) -> Result<()> {
        let text = |v: Option<String>| v.map(s).unwrap_or(SqlStorageValue::Null);
        self.exec(
            "INSERT INTO charges (wamid_hash, country, category, billable, pricing_model, kind, delivered_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(wamid_hash) DO UPDATE SET country = excluded.country,
               category = excluded.category, billable = excluded.billable,
               pricing_model = excluded.pricing_model, kind = excluded.kind,
               delivered_at = excluded.delivered_at
             WHERE charges.delivered_at IS NULL",
            vec![
                s(self.wamid_hash(wamid)),
                text(charge.country),
                s(charge.pricing.category),
                i(i64::from(charge.pricing.billable)),
                text(charge.pricing.pricing_model),
                text(charge.pricing.kind),
                if charge.delivered {
                    i(at.0)
                } else {
                    SqlStorageValue::Null
                },
            ],
        )
    }

    /// The merchant's table, or the shipped one until the merchant saves their own.
    pub fn prices(&self) -> Result<PriceTable> {
        let stored: Option<PriceTable> = self.json_setting(PRICES_KEY)?;
        stored
            .or_else(PriceTable::defaults)
            .ok_or_else(|| worker::Error::RustError("the shipped price table is unreadable".into()))
    }

    pub fn put_prices(&self, table: PriceTable) -> Result<PriceTable> {
        self.put_json_setting(PRICES_KEY, &table)?;
        Ok(table)
    }

    /// The cost of the messages delivered in `[from, to)`, and what it buys: the cost per
    /// recovered order and recovered revenue per unit of cost (in one currency only).
    pub fn cost(
        &self,
        from: Millis,
        to: Millis,
        recovered: i64,
        revenue: Option<Revenue>,
    ) -> Result<Value> {
        let table = self.prices()?;
        let billed: Vec<Billed> = self.rows(
            "SELECT country, category, count(*) AS n FROM charges
             WHERE billable = 1 AND delivered_at >= ? AND delivered_at < ?
             GROUP BY country, category",
            vec![i(from.0), i(to.0)],
        )?;
        let free: Vec<super::db::Count> = self.rows(
            "SELECT count(*) AS n FROM charges
             WHERE billable = 0 AND delivered_at >= ? AND delivered_at < ?",
            vec![i(from.0), i(to.0)],
        )?;
        let c = cost(&table, &billed);
        let decimal = crate::core::costs::micros_to_decimal;
        let by_category: serde_json::Map<String, Value> = c
            .by_category
            .iter()
            .map(|(category, (n, micros))| {
                (
                    category.clone(),
                    json!({ "messages": n, "cost": decimal(*micros) }),
                )
            })
            .collect();
        let return_on_cost = revenue
            .filter(|r| r.currency == table.currency.as_str() && c.total_micros > 0)
            .and_then(|r| {
                let exponent = Currency::parse(r.currency).ok()?.exponent();
                let micros = r.minor as f64 * 10f64.powi(6 - exponent as i32);
                Some(micros / c.total_micros as f64)
            });
        Ok(json!({
            "currency": table.currency,
            "total": decimal(c.total_micros),
            "per_recovered_order": per_order(c.total_micros, recovered),
            "return_on_cost": return_on_cost,
            "billable_messages": c.billable,
            "unpriced_messages": c.unpriced,
            "free_messages": free.first().map_or(0, |f| f.n),
            "by_category": by_category,
            "prices_as_of": table.as_of,
        }))
    }
}
