//! How the optimizer learns, as pure functions the shop ledger calls: one trial per journey,
//! settled once, folded once into the tallies the choices read.
//!
//! **One trial per journey, with the vector of its options.** The outcome (an order or none)
//! belongs to the journey, not to one message, and is caused by all its steps together; a
//! trial per step would count one order several times and credit a step that never ran.
//!
//! **The reward's clock is the same for every option**: an order for the journey's checkout
//! within `attribution_window_hours` of the checkout's last activity when the journey began,
//! whether or not, and whenever, a message went out. Counting only orders after a send would
//! favour the earliest delay, which harvests shoppers who were coming back anyway; the
//! held-out group is measured the same way and is the no-message baseline.
//!
//! **Pending trials count for what is known of them.** A trial is stored in the tallies once
//! it has matured (its window closed, plus a grace for late webhooks). Before that, the
//! choices see it through [`Learning::with_pending`]: an order that came is a recovery
//! already; a trial without one is a miss only in part, by the share of orders that would
//! have come by now, read from the time-to-order curve of settled recoveries. Counting
//! recoveries at once but misses in full (or only at the window's end) would favour the options
//! chosen most recently; counting pending trials for nothing would learn one window late.
//! Weighed so, a trial adds on average as many recoveries as its weight expects, so an option
//! with many pending trials is neither favoured nor punished, only known less well.
//!
//! **Exactly once.** A trial settles once: the first order within its window makes it a
//! recovery with that order's revenue; a repeated order, webhook or alarm changes nothing, nor
//! does an order after the window. It is folded into the tallies once (`folded`); the ledger
//! stores the trial and the tallies in one transaction, keyed by the trial's id (the
//! journey's checkout token).

use serde::{Deserialize, Serialize};

use super::posterior::{Tally, ORDER_TIME_BINS};
use super::{Dimension, Segment};
use crate::core::values::ids::{CheckoutToken, StepId};
use crate::core::values::time::{Millis, HOUR_MS};

/// The time-to-order curve before any recovery has settled: evenly spread, worth this many
/// orders.
const EVEN_CURVE_WEIGHT: f64 = 2.0;
/// An option's own time-to-order curve (a later reminder brings later orders) is shrunk toward
/// the shop's, worth this many orders.
const SHOP_CURVE_WEIGHT: f64 = 20.0;

/// Shopify retries a webhook for up to 4 hours: an order placed within the window may arrive
/// that late. Never more than the window itself, so short test windows mature quickly.
pub const SETTLE_GRACE_MS: i64 = 4 * HOUR_MS;

/// One option a trial used: which step, which kind, which option (by its label).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arm {
    pub step: StepId,
    pub dimension: Dimension,
    pub option: String,
}

/// A recovered trial's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    /// Revenue net of discounts, in the shop currency's minor units.
    pub revenue: i64,
    pub at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub id: CheckoutToken,
    pub segment: Segment,
    /// Held out: never messaged; its outcome is the baseline and credits no option.
    pub holdout: bool,
    pub opened_at: Millis,
    pub closes_at: Millis,
    #[serde(default)]
    pub arms: Vec<Arm>,
    #[serde(default)]
    pub conversion: Option<Conversion>,
    /// Counted in the tallies.
    #[serde(default)]
    pub folded: bool,
}

impl Trial {
    /// An order for the trial's checkout. True when it settled the trial as a recovery; false
    /// for a trial already settled (a repeated order or webhook) and an order outside the window.
    pub fn record_order(&mut self, revenue: i64, at: Millis) -> bool {
        let within = self.opened_at <= at && at <= self.closes_at;
        if self.conversion.is_some() || self.folded || !within {
            return false;
        }
        self.conversion = Some(Conversion {
            revenue: revenue.max(0),
            at,
        });
        true
    }

    /// When the trial may be counted: its window has closed and late webhooks have had time.
    pub fn matures_at(&self) -> Millis {
        let window = self.closes_at.0.saturating_sub(self.opened_at.0).max(0);
        self.closes_at.plus_millis(SETTLE_GRACE_MS.min(window))
    }

    /// `Some(revenue)` for a recovery.
    pub fn outcome(&self) -> Option<i64> {
        self.conversion.as_ref().map(|c| c.revenue)
    }

    /// How much of the window has passed at `at`, from 0 to 1.
    fn share_of_window(&self, at: Millis) -> f64 {
        let window = self.closes_at.0.saturating_sub(self.opened_at.0);
        if window <= 0 {
            return 1.0;
        }
        (at.0.saturating_sub(self.opened_at.0) as f64 / window as f64).clamp(0.0, 1.0)
    }

    /// The curve's bin of a recovered trial's order.
    fn order_time_bin(&self) -> Option<usize> {
        let share = self.share_of_window(self.conversion.as_ref()?.at);
        Some(((share * ORDER_TIME_BINS as f64) as usize).min(ORDER_TIME_BINS - 1))
    }
}

/// The share of orders that come by `share` of the window, by the recoveries binned in
/// `order_times`, shrunk toward `prior` with the weight of `weight` orders.
fn seen_by(order_times: &[u32; ORDER_TIME_BINS], share: f64, prior: f64, weight: f64) -> f64 {
    let scaled = share.clamp(0.0, 1.0) * ORDER_TIME_BINS as f64;
    let whole = (scaled as usize).min(ORDER_TIME_BINS);
    let mut before: f64 = order_times[..whole].iter().map(|&n| f64::from(n)).sum();
    if let Some(&partial) = order_times.get(whole) {
        before += f64::from(partial) * (scaled - whole as f64);
    }
    let total: f64 = order_times.iter().map(|&n| f64::from(n)).sum();
    (before + weight * prior) / (total + weight)
}

/// One option's tally in one segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmTally {
    pub step: StepId,
    pub dimension: Dimension,
    pub option: String,
    pub segment: Segment,
    #[serde(flatten)]
    pub tally: Tally,
}

/// Everything the optimizer has learned for a shop: settled trials, counted by option and
/// segment, and the held-out group's by segment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Learning {
    #[serde(default)]
    pub arms: Vec<ArmTally>,
    #[serde(default)]
    pub holdout: Vec<(Segment, Tally)>,
}

impl Learning {
    /// Counts a matured trial not yet counted, and marks it counted. True when it did.
    pub fn fold(&mut self, trial: &mut Trial, now: Millis) -> bool {
        if trial.folded || now < trial.matures_at() {
            return false;
        }
        trial.folded = true;
        let outcome = trial.outcome();
        let bin = trial.order_time_bin();
        let count = |tally: &mut Tally| {
            tally.count(outcome);
            if let Some(bin) = bin {
                tally.order_times[bin] = tally.order_times[bin].saturating_add(1);
            }
        };
        if trial.holdout {
            count(self.holdout_tally(trial.segment));
        } else {
            for arm in &trial.arms {
                count(self.arm_tally(arm, trial.segment));
            }
        }
        true
    }

    /// What the choices and the report see at `now`: the stored tallies and the trials still
    /// pending, each weighed by what is known of it (see the module's comment).
    pub fn with_pending<'a>(
        &self,
        pending: impl IntoIterator<Item = &'a Trial>,
        now: Millis,
    ) -> Learning {
        let shop_curve = self
            .arms
            .iter()
            .map(|a| &a.tally)
            .chain(self.holdout.iter().map(|(_, t)| t))
            .fold(Tally::default(), |sum, t| sum.plus(t))
            .order_times;
        let mut learning = self.clone();
        for trial in pending.into_iter().filter(|t| !t.folded) {
            let share = trial.share_of_window(now);
            let shop_seen = seen_by(&shop_curve, share, share, EVEN_CURVE_WEIGHT);
            let outcome = trial.outcome();
            if trial.holdout {
                let own = self
                    .holdout(trial.segment, true)
                    .plus(&self.holdout(trial.segment, false));
                let seen = seen_by(&own.order_times, share, shop_seen, SHOP_CURVE_WEIGHT);
                learning
                    .holdout_tally(trial.segment)
                    .count_pending(outcome, seen);
                continue;
            }
            for arm in &trial.arms {
                let own = self.sum(&arm.step, arm.dimension, |a| a.option == arm.option);
                let seen = seen_by(&own.order_times, share, shop_seen, SHOP_CURVE_WEIGHT);
                learning
                    .arm_tally(arm, trial.segment)
                    .count_pending(outcome, seen);
            }
        }
        learning
    }

    /// The held-out group's tally in one segment, new if need be.
    fn holdout_tally(&mut self, segment: Segment) -> &mut Tally {
        let i = match self.holdout.iter().position(|(s, _)| *s == segment) {
            Some(i) => i,
            None => {
                self.holdout.push((segment, Tally::default()));
                self.holdout.len() - 1
            }
        };
        &mut self.holdout[i].1
    }

    /// The tally of one option in one segment, new if need be.
    fn arm_tally(&mut self, arm: &Arm, segment: Segment) -> &mut Tally {
        let found = self.arms.iter().position(|a| {
            a.step == arm.step
                && a.dimension == arm.dimension
                && a.option == arm.option
                && a.segment == segment
        });
        let i = match found {
            Some(i) => i,
            None => {
                self.arms.push(ArmTally {
                    step: arm.step.clone(),
                    dimension: arm.dimension,
                    option: arm.option.clone(),
                    segment,
                    tally: Tally::default(),
                });
                self.arms.len() - 1
            }
        };
        &mut self.arms[i].tally
    }

    /// The sum of the tallies of one step's kind of option that `keep` selects.
    pub fn sum(
        &self,
        step: &StepId,
        dimension: Dimension,
        keep: impl Fn(&ArmTally) -> bool,
    ) -> Tally {
        self.arms
            .iter()
            .filter(|a| &a.step == step && a.dimension == dimension && keep(a))
            .fold(Tally::default(), |sum, a| sum.plus(&a.tally))
    }

    /// The held-out group of `segment` (`in_segment`) or of every other segment.
    pub fn holdout(&self, segment: Segment, in_segment: bool) -> Tally {
        self.holdout
            .iter()
            .filter(|(s, _)| (*s == segment) == in_segment)
            .fold(Tally::default(), |sum, (_, t)| sum.plus(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = Millis(1_800_000_000_000);

    fn trial(holdout: bool) -> Trial {
        Trial {
            id: "tok".into(),
            segment: Segment::Large,
            holdout,
            opened_at: T0,
            closes_at: T0.plus_millis(168 * HOUR_MS),
            arms: vec![
                Arm {
                    step: "reminder".into(),
                    dimension: Dimension::Delay,
                    option: "10800s".into(),
                },
                Arm {
                    step: "offer".into(),
                    dimension: Dimension::Discount,
                    option: "none".into(),
                },
            ],
            conversion: None,
            folded: false,
        }
    }

    #[test]
    fn a_trial_settles_once() {
        let mut t = trial(false);
        assert!(
            !t.record_order(100, T0.plus_millis(-1)),
            "before the journey"
        );
        assert!(t.record_order(5000, T0.plus_millis(HOUR_MS)));
        assert!(
            !t.record_order(9000, T0.plus_millis(2 * HOUR_MS)),
            "a second order"
        );
        assert_eq!(t.outcome(), Some(5000));
        let mut late = trial(false);
        assert!(!late.record_order(100, T0.plus_millis(169 * HOUR_MS)));
        assert_eq!(late.outcome(), None);
    }

    #[test]
    fn only_matured_trials_count_and_each_once() {
        let mut learning = Learning::default();
        let mut t = trial(false);
        t.record_order(5000, T0.plus_millis(HOUR_MS));
        let closes = t.closes_at;
        assert!(
            !learning.fold(&mut t, closes),
            "pending until the grace has passed"
        );
        assert!(learning.arms.is_empty());
        let now = t.matures_at();
        assert!(learning.fold(&mut t, now));
        assert!(!learning.fold(&mut t, now), "folded twice");
        assert!(!t.record_order(1, T0.plus_millis(HOUR_MS)));
        let delay = learning.sum(&"reminder".into(), Dimension::Delay, |_| true);
        assert_eq!(
            (delay.journeys, delay.recoveries, delay.revenue),
            (1, 1, 5000)
        );
        let mut miss = trial(false);
        learning.fold(&mut miss, now);
        let offer = learning.sum(&"offer".into(), Dimension::Discount, |a| {
            a.segment == Segment::Large
        });
        assert_eq!((offer.journeys, offer.recoveries), (2, 1));
    }

    #[test]
    fn the_held_out_group_is_its_own_tally() {
        let mut learning = Learning::default();
        let mut t = trial(true);
        t.record_order(700, T0);
        let now = t.matures_at();
        learning.fold(&mut t, now);
        assert!(learning.arms.is_empty());
        assert_eq!(learning.holdout(Segment::Large, true).recoveries, 1);
        assert_eq!(learning.holdout(Segment::Large, false).journeys, 0);
    }

    #[test]
    fn pending_trials_count_for_what_is_known_of_them() {
        let learning = Learning::default();
        let (mut bought, waiting) = (trial(false), trial(false));
        bought.record_order(5000, T0.plus_millis(HOUR_MS));
        let half = T0.plus_millis(84 * HOUR_MS);
        let known = learning.with_pending([&bought, &waiting], half);
        assert_eq!(learning, Learning::default(), "nothing stored changes");
        let delay = known.sum(&"reminder".into(), Dimension::Delay, |_| true);
        assert_eq!((delay.journeys, delay.recoveries, delay.pending), (2, 1, 2));
        // No recovery settled yet: orders are taken as evenly spread, so half are still due.
        assert!((delay.unseen - 0.5).abs() < 1e-9, "{}", delay.unseen);
        // Settled orders that all came in the first hour: a quiet half window is a miss.
        let mut settled = Learning::default();
        for i in 0..50 {
            let mut t = trial(i % 2 == 0);
            t.record_order(100, T0.plus_millis(HOUR_MS));
            let now = t.matures_at();
            settled.fold(&mut t, now);
        }
        let known = settled.with_pending([&waiting], half);
        let delay = known.sum(&"reminder".into(), Dimension::Delay, |_| true);
        assert!(delay.unseen < 0.1, "{}", delay.unseen);
    }

    #[test]
    fn a_short_window_matures_within_its_own_length() {
        let mut t = trial(false);
        t.closes_at = T0.plus_millis(10_000);
        assert_eq!(t.matures_at(), T0.plus_millis(20_000));
    }
}
