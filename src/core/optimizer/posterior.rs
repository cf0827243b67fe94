//! What is known about one option's reward per journey in one segment, as a distribution to
//! sample from (Thompson sampling) or summarize (the report).
//!
//! The reward of a journey is `R = 1[recovered] · V`, `V` the recovered order's revenue net of
//! its discount (`goal: recovered_revenue`), or just `1[recovered]` (`goal: recoveries`). Its
//! expectation is `p · μ`, `p` the recovery probability and `μ` the mean of `V` over recovered
//! orders. The likelihood factorizes (whether a journey is recovered; how much a recovered one
//! brings), so with independent priors the posteriors of `p` and `μ` are independent, and a
//! draw of `p` times a draw of `μ` is a draw of `p · μ` from the joint posterior.
//!
//! - `p ~ Beta`: the conjugate posterior of a Bernoulli rate. Its prior is pooled from the same
//!   option in the shop's other segments (empirical Bayes): a Beta with their observed rate as
//!   its mean and their number of journeys, capped at [`POOL_CAP`], as its effective sample
//!   size. A small shop so learns from its whole traffic first; once a segment has many more
//!   journeys of its own than the cap, its own data decide and segments separate.
//! - `μ ~ Normal(m, s²/n)`: order values are skewed, but their mean over `n` orders is close
//!   to normal (central limit); `s²` is their sample variance. The prior is the segment's mean
//!   order value over all options (a segment is a cart-value tier, so that is the best guess
//!   before an option has recoveries of its own), worth at most [`VALUE_PRIOR_CAP`] orders.
//!   Before any order at all, `μ` is 1 and the revenue goal ranks options by recoveries.
//!
//! Statistics use floats: they are estimates, not money.

use serde::{Deserialize, Serialize};

use super::rng::Rng;
use crate::core::playbook::Goal;

/// Effective sample size, in journeys, of the prior pooled from other segments.
pub const POOL_CAP: f64 = 100.0;
/// Effective sample size, in journeys, of the segment's rate under the pooled one.
pub const BASE_WEIGHT: f64 = 2.0;
/// Effective sample size, in orders, of the prior on an option's mean order value.
pub const VALUE_PRIOR_CAP: f64 = 5.0;

/// Bins of the time-to-order curve: shares of the attribution window.
pub const ORDER_TIME_BINS: usize = 16;

/// Journeys of one option (or of the held-out group) in one segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub journeys: u64,
    pub recoveries: u64,
    /// Revenue of the recovered orders, net of discounts, in the shop currency's minor units.
    pub revenue: i64,
    /// Sum of the squared revenues (minor units²), for their variance.
    #[serde(default)]
    pub revenue_sq: f64,
    /// Of `journeys`, those still in their window (never in a stored tally: see
    /// `Learning::with_pending`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending: u64,
    /// Of `journeys`, how much is not yet known: each pending journey without an order counts
    /// the chance that its order would still come if it is coming at all.
    #[serde(default, skip_serializing_if = "is_nothing")]
    pub unseen: f64,
    /// Settled recoveries by when their order came, in [`ORDER_TIME_BINS`] equal shares of
    /// the window: the time-to-order curve that weighs pending journeys.
    #[serde(default)]
    pub order_times: [u32; ORDER_TIME_BINS],
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_nothing(x: &f64) -> bool {
    *x == 0.0
}

impl Tally {
    /// Counts one settled journey: `Some(revenue)` when it was recovered.
    pub fn count(&mut self, recovered: Option<i64>) {
        self.journeys += 1;
        if let Some(revenue) = recovered {
            self.recoveries += 1;
            self.revenue = self.revenue.saturating_add(revenue);
            self.revenue_sq += (revenue as f64).powi(2);
        }
    }

    /// Counts journeys still in their window (`pending`: their journeys and orders so far): a
    /// recovery each whose order came, the others misses only as far as `seen`, the share of
    /// their orders that would have come by now.
    pub fn count_pending(&mut self, pending: &Tally, seen: f64) {
        let seen = if seen.is_finite() {
            seen.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let waiting = pending.journeys.saturating_sub(pending.recoveries);
        self.journeys += pending.journeys;
        self.recoveries += pending.recoveries;
        self.revenue = self.revenue.saturating_add(pending.revenue);
        self.revenue_sq += pending.revenue_sq;
        self.pending += pending.journeys;
        self.unseen += waiting as f64 * (1.0 - seen);
    }

    pub fn plus(mut self, other: &Tally) -> Tally {
        self.journeys += other.journeys;
        self.recoveries += other.recoveries;
        self.revenue = self.revenue.saturating_add(other.revenue);
        self.revenue_sq += other.revenue_sq;
        self.pending += other.pending;
        self.unseen += other.unseen;
        for (mine, theirs) in self.order_times.iter_mut().zip(other.order_times) {
            *mine = mine.saturating_add(theirs);
        }
        self
    }

    /// Recoveries, never more than journeys whatever a store held.
    pub(super) fn successes(&self) -> f64 {
        self.recoveries.min(self.journeys) as f64
    }

    /// Journeys whose outcome is known, as a weight: the pending ones in part.
    pub(super) fn observed(&self) -> f64 {
        let unseen = if self.unseen.is_finite() {
            self.unseen.max(0.0)
        } else {
            0.0
        };
        (self.journeys as f64 - unseen).max(self.successes())
    }

    fn mean_value(&self) -> Option<f64> {
        (self.recoveries > 0).then(|| self.revenue as f64 / self.recoveries as f64)
    }

    fn value_variance(&self) -> Option<f64> {
        let n = self.recoveries as f64;
        let mean = self.mean_value()?;
        (self.recoveries > 1)
            .then(|| ((self.revenue_sq / n - mean * mean) * n / (n - 1.0)).max(0.0))
    }
}

/// The posterior of one option's expected reward per journey.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Posterior {
    alpha: f64,
    beta: f64,
    /// Posterior of the mean order value: its mean and variance (both 1 and 0 under
    /// `goal: recoveries`).
    value_mean: f64,
    value_var: f64,
}

impl Posterior {
    /// `own`: this option in this segment; `pooled`: the same option in the shop's other
    /// segments; `segment`: every settled journey of the segment, whatever its option.
    pub fn new(own: &Tally, pooled: &Tally, segment: &Tally, goal: Goal) -> Posterior {
        // The segment's rate over all options, worth a couple of journeys, steadies the
        // pooled rate while the other segments know little; with no data at all it is
        // Beta(1, 1).
        let base = if segment.observed() > 0.0 {
            segment.successes() / segment.observed()
        } else {
            0.5
        };
        let rate = (pooled.successes() + BASE_WEIGHT * base) / (pooled.observed() + BASE_WEIGHT);
        let weight = pooled.observed().min(POOL_CAP) + BASE_WEIGHT;
        let alpha = rate * weight + own.successes();
        let beta = (1.0 - rate) * weight + (own.observed() - own.successes());
        let (value_mean, value_var) = match goal {
            Goal::Recoveries => (1.0, 0.0),
            Goal::RecoveredRevenue => value_posterior(own, segment),
        };
        Posterior {
            alpha,
            beta,
            value_mean,
            value_var,
        }
    }

    /// One draw of the expected reward per journey.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        let p = rng.beta(self.alpha, self.beta);
        let value = (self.value_mean + self.value_var.sqrt() * rng.normal()).max(0.0);
        let reward = p * value;
        if reward.is_finite() {
            reward
        } else {
            0.0
        }
    }

    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta) * self.value_mean
    }
}

fn value_posterior(own: &Tally, segment: &Tally) -> (f64, f64) {
    let Some(prior_mean) = segment.mean_value().or(own.mean_value()) else {
        return (1.0, 0.0);
    };
    let variance = own
        .value_variance()
        .filter(|_| own.recoveries >= 5)
        .or(segment.value_variance())
        .unwrap_or(prior_mean * prior_mean);
    let weight = (segment.recoveries as f64).min(VALUE_PRIOR_CAP);
    let n = weight + own.recoveries as f64;
    if n <= 0.0 {
        return (prior_mean, variance);
    }
    let mean = (weight * prior_mean + own.revenue as f64) / n;
    let variance = variance / n;
    (mean, if variance.is_finite() { variance } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(journeys: u64, recoveries: u64, value: i64) -> Tally {
        let mut t = Tally::default();
        for i in 0..journeys {
            t.count((i < recoveries).then_some(value));
        }
        t
    }

    #[test]
    fn no_data_is_a_uniform_rate() {
        let p = Posterior::new(
            &Tally::default(),
            &Tally::default(),
            &Tally::default(),
            Goal::RecoveredRevenue,
        );
        assert_eq!(p.mean(), 0.5);
    }

    #[test]
    fn other_segments_shape_the_prior_until_the_segment_has_its_own() {
        let none = Tally::default();
        let others = tally(1000, 100, 5000);
        let borrowed = Posterior::new(&none, &others, &none, Goal::Recoveries);
        // The others' rate, steadied by an even base, worth POOL_CAP journeys and the base's.
        let expected = (100.0 + BASE_WEIGHT * 0.5) / (1000.0 + BASE_WEIGHT);
        assert!(
            (borrowed.mean() - expected).abs() < 1e-9,
            "{}",
            borrowed.mean()
        );
        let own = tally(5000, 2500, 5000);
        let separated = Posterior::new(&own, &others, &own, Goal::Recoveries);
        assert!(
            (separated.mean() - 0.5).abs() < 0.01,
            "{}",
            separated.mean()
        );
    }

    #[test]
    fn revenue_is_rate_times_value() {
        let own = tally(100, 20, 10_000);
        let p = Posterior::new(&own, &Tally::default(), &own, Goal::RecoveredRevenue);
        // The segment's own rate (0.2) as the base: Beta(20 + 0.4, 80 + 1.6).
        let expected = 20.4 / 102.0 * 10_000.0;
        assert!((p.mean() - expected).abs() < 1.0, "{}", p.mean());
        let mut rng = Rng::new(3);
        let draws: f64 = (0..20_000).map(|_| p.sample(&mut rng)).sum::<f64>() / 20_000.0;
        assert!((draws / expected - 1.0).abs() < 0.02, "{draws}");
    }

    #[test]
    fn a_corrupt_tally_still_gives_a_distribution() {
        let odd = Tally {
            journeys: 1,
            recoveries: 9,
            revenue: i64::MAX,
            revenue_sq: f64::INFINITY,
            unseen: f64::NAN,
            ..Tally::default()
        };
        let p = Posterior::new(&odd, &odd, &odd, Goal::RecoveredRevenue);
        let mut rng = Rng::new(1);
        assert!(!p.sample(&mut rng).is_nan());
    }
}
