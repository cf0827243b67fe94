//! How journeys are grouped and counted for the merchant's dashboard (docs/rules.md §4).

use serde::{Deserialize, Serialize};

use crate::core::optimizer::Segment;
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
    /// By the cart's first line item.
    Product,
}

impl MetricsBy {
    pub fn parse(value: &str) -> Option<MetricsBy> {
        Some(match value {
            "day" => MetricsBy::Day,
            "segment" => MetricsBy::Segment,
            "step" => MetricsBy::Step,
            "template" => MetricsBy::Template,
            "product" => MetricsBy::Product,
            _ => return None,
        })
    }
}

/// The web vitals the admin page reports, by their `shopify.webVitals` names.
pub const WEB_VITALS: [&str; 5] = ["LCP", "CLS", "INP", "FCP", "TTFB"];
/// Samples kept per vital: enough for a stable p75, small enough to store whole.
pub const MAX_VITAL_SAMPLES: usize = 500;

/// A reported vital, if it is one we keep: a known name and a finite, non-negative value.
pub fn valid_vital(name: &str, value: f64) -> bool {
    WEB_VITALS.contains(&name) && value.is_finite() && value >= 0.0
}

/// Adds a sample, forgetting the oldest beyond [`MAX_VITAL_SAMPLES`].
pub fn add_sample(samples: &mut Vec<f64>, value: f64) {
    samples.push(value);
    if samples.len() > MAX_VITAL_SAMPLES {
        samples.drain(..samples.len() - MAX_VITAL_SAMPLES);
    }
}

/// The 75th percentile (nearest rank), as Built for Shopify reads web vitals.
pub fn p75(samples: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = (sorted.len() * 3).div_ceil(4);
    Some(sorted[rank - 1])
}

/// A step is overdue when it was due more than this long ago and is still waiting.
pub const OVERDUE_AFTER_MS: i64 = 60_000;

/// The cart-value tier a journey belongs to (the optimizer's segments).
pub fn segment(total: Option<&Money>) -> &'static str {
    Segment::of(total).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p75_is_the_nearest_rank() {
        assert_eq!(p75(&[]), None);
        assert_eq!(p75(&[5.0]), Some(5.0));
        assert_eq!(p75(&[4.0, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(p75(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some(4.0));
        let mut samples = vec![];
        for v in 0..600 {
            add_sample(&mut samples, f64::from(v));
        }
        assert_eq!(samples.len(), MAX_VITAL_SAMPLES);
        assert_eq!(samples[0], 100.0);
        assert!(valid_vital("LCP", 812.5) && !valid_vital("XYZ", 1.0));
        assert!(!valid_vital("CLS", f64::NAN) && !valid_vital("INP", -1.0));
    }

    #[test]
    fn tiers() {
        let m = |a: &str, c: &str| Money::parse(a, c).unwrap();
        assert_eq!(segment(Some(&m("49.99", "USD"))), "small");
        assert_eq!(segment(Some(&m("215.95", "USD"))), "large");
        assert_eq!(segment(Some(&m("9000", "JPY"))), "medium");
        assert_eq!(segment(None), "unknown");
    }
}
