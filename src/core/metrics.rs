//! How journeys are grouped and counted for the merchant's dashboard (docs/rules.md §4).

use serde::{Deserialize, Serialize};

use crate::core::values::money::Money;

/// How `GET /api/metrics` breaks its funnel down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsBy {
    Day,
    Segment,
    Step,
    /// By step, named by the step's template.
    Template,
}

impl MetricsBy {
    pub fn parse(value: &str) -> Option<MetricsBy> {
        Some(match value {
            "day" => MetricsBy::Day,
            "segment" => MetricsBy::Segment,
            "step" => MetricsBy::Step,
            "template" => MetricsBy::Template,
            _ => return None,
        })
    }
}

/// The cart-value tier a journey belongs to, in the cart's currency's major units.
pub fn segment(total: Option<&Money>) -> &'static str {
    let Some(total) = total else {
        return "unknown";
    };
    let unit = 10i64.pow(total.currency().exponent());
    // Zero-decimal currencies with small units (JPY, KRW) are scaled to comparable tiers.
    let scale = match total.currency().as_str() {
        "JPY" | "KRW" | "CLP" | "ISK" | "HUF" | "VND" | "IDR" | "COP" | "UGX" | "PYG" => 100,
        _ => 1,
    };
    match total.minor() / unit / scale {
        m if m < 50 => "small",
        m if m < 150 => "medium",
        _ => "large",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers() {
        let m = |a: &str, c: &str| Money::parse(a, c).unwrap();
        assert_eq!(segment(Some(&m("49.99", "USD"))), "small");
        assert_eq!(segment(Some(&m("215.95", "USD"))), "large");
        assert_eq!(segment(Some(&m("9000", "JPY"))), "medium");
        assert_eq!(segment(None), "unknown");
    }
}
