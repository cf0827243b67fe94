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
//! Weighed so, a trial that would recover with probability `p` and has `F` of its orders
//! behind it adds `p·F` recoveries on average against a weight of `F·(1 + p·(1 − F))`: its
//! rate reads low by at most a share `p` of itself (a tenth at `p` = 0.1) while its window is
//! young, and exactly once it closes; the same for every option of a rate, so an option with
//! many pending trials is neither favoured by its early orders nor punished by its open
//! windows, only known less well. (Weighing the waiting ones by `F·(1 − p)/(1 − p·F)` with the
//! shop's rate removes even that; over 200 simulated shops it changed regret by +0.0003 ±
//! 0.0037, so it is not done.)
//!
//! **Exactly once.** A trial settles once: the first order within its window makes it a
//! recovery with that order's revenue; a repeated order, webhook or alarm changes nothing, nor
//! does an order after the window. It is folded into the tallies once (`folded`); the ledger
//! stores the trial and the tallies in one transaction, keyed by the trial's id (the
//! journey's checkout token).

use serde::{Deserialize, Serialize};

use super::posterior::{Tally, ORDER_TIME_BINS};
use super::{Dimension, Segment, MAX_COMBINATIONS};
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

    /// Nothing learned from it yet (no order, not folded): a journey begun again before its
    /// first beginning was saved may put the options it now runs in its place.
    pub fn replaceable(&self) -> bool {
        self.conversion.is_none() && !self.folded
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

    /// Counts this settled trial in `tally`: its outcome, and when its order came.
    fn count_in(&self, tally: &mut Tally) {
        tally.count(self.outcome());
        if let Some(bin) = self.order_time_bin() {
            tally.order_times[bin] = tally.order_times[bin].saturating_add(1);
        }
    }

    /// The curve's bin of a recovered trial's order.
    fn order_time_bin(&self) -> Option<usize> {
        let share = self.share_of_window(self.conversion.as_ref()?.at);
        Some(((share * ORDER_TIME_BINS as f64) as usize).min(ORDER_TIME_BINS - 1))
    }
}

/// Slices of the window by which pending trials are grouped: a trial is weighed as if it had
/// opened in its slice's middle, which is within 1/128 of its window of the truth.
pub const PENDING_SLICES: i64 = 64;

/// What pending trials weigh the same by: the options of their journey, all of them (none for
/// the held-out group), the segment, and the slice of time their window opened in, with that
/// window's length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupKey {
    pub arms: Vec<Arm>,
    pub segment: Segment,
    pub slice: Millis,
    pub window_ms: i64,
}

/// Pending trials of one key, counted: how the shop ledger keeps them, so reading what was
/// learned costs as much as the options, not as the trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingGroup {
    pub key: GroupKey,
    pub tally: Tally,
}

impl Trial {
    /// The group this trial counts in while pending: none for a messaged journey without
    /// options (it teaches nothing, and must not pass for a held-out one).
    pub fn group_key(&self) -> Option<GroupKey> {
        if !self.holdout && self.arms.is_empty() {
            return None;
        }
        let window_ms = self.closes_at.0.saturating_sub(self.opened_at.0).max(0);
        let slice_ms = (window_ms / PENDING_SLICES).max(1);
        Some(GroupKey {
            arms: if self.holdout {
                vec![]
            } else {
                self.arms.clone()
            },
            segment: self.segment,
            slice: Millis(self.opened_at.0 - self.opened_at.0.rem_euclid(slice_ms)),
            window_ms,
        })
    }

    /// What this trial adds to its group: one journey, and its order if it came.
    pub fn as_tally(&self) -> Tally {
        let mut tally = Tally::default();
        tally.count(self.outcome());
        tally
    }
}

impl GroupKey {
    /// How much of the window has passed at `now` for a trial opened mid-slice, from 0 to 1.
    fn share_of_window(&self, now: Millis) -> f64 {
        if self.window_ms <= 0 {
            return 1.0;
        }
        let mid = self.slice.0 + (self.window_ms / PENDING_SLICES).max(1) / 2;
        (now.0.saturating_sub(mid) as f64 / self.window_ms as f64).clamp(0.0, 1.0)
    }
}

/// Unfolded trials, counted by group.
pub fn pending_groups<'a>(trials: impl IntoIterator<Item = &'a Trial>) -> Vec<PendingGroup> {
    let mut groups: Vec<PendingGroup> = vec![];
    for trial in trials.into_iter().filter(|t| !t.folded) {
        let Some(key) = trial.group_key() else {
            continue;
        };
        let tally = trial.as_tally();
        // The slice and segment first: they tell most groups apart without comparing options.
        let same = |g: &&mut PendingGroup| {
            g.key.slice == key.slice && g.key.segment == key.segment && g.key == key
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.tally = g.tally.plus(&tally),
            None => groups.push(PendingGroup { key, tally }),
        }
    }
    groups
}

/// The tally kept for `key` in `kept`, summed by `sum` the first time.
fn once<'k, K: PartialEq + ?Sized>(
    kept: &mut Vec<(&'k K, Tally)>,
    key: &'k K,
    sum: impl FnOnce() -> Tally,
) -> Tally {
    if let Some((_, tally)) = kept.iter().find(|(k, _)| *k == key) {
        return *tally;
    }
    let tally = sum();
    kept.push((key, tally));
    tally
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

/// The most configuration tallies kept: every combination validation allows, in every segment
/// (options renamed later start new ones, which the model no longer reads anyway).
pub const MAX_CONFIG_TALLIES: usize = 2 * MAX_COMBINATIONS * Segment::ALL.len();

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

/// The journeys of one segment that ran with the same options, all of them: what the
/// additive model (`model`) is fitted on, since an option's own tally also holds whatever
/// options of the other kinds it happened to run with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigTally {
    pub segment: Segment,
    pub arms: Vec<Arm>,
    #[serde(flatten)]
    pub tally: Tally,
}

/// Everything the optimizer has learned for a shop: settled trials, counted by option and
/// segment, by configuration and segment, and the held-out group's by segment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Learning {
    #[serde(default)]
    pub arms: Vec<ArmTally>,
    #[serde(default)]
    pub configs: Vec<ConfigTally>,
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
        if trial.holdout {
            trial.count_in(self.holdout_tally(trial.segment));
        } else {
            for arm in &trial.arms {
                trial.count_in(self.arm_tally(arm, trial.segment));
            }
            if let Some(tally) = self.config_tally(&trial.arms, trial.segment) {
                trial.count_in(tally);
            }
        }
        true
    }

    /// Counts the configurations again from every folded trial: tallies stored before
    /// configurations were counted have the options' tallies only.
    pub fn recount_configs(&mut self, folded: &[Trial]) {
        self.configs.clear();
        for trial in folded.iter().filter(|t| t.folded && !t.holdout) {
            if let Some(tally) = self.config_tally(&trial.arms, trial.segment) {
                trial.count_in(tally);
            }
        }
    }

    /// What the choices and the report see at `now`: the stored tallies and the trials still
    /// pending, each weighed by what is known of it (see the module's comment).
    pub fn with_pending<'a>(
        &self,
        pending: impl IntoIterator<Item = &'a Trial>,
        now: Millis,
    ) -> Learning {
        self.with_pending_groups(&pending_groups(pending), now)
    }

    /// [`Learning::with_pending`] with the pending trials already counted by group.
    pub fn with_pending_groups(&self, groups: &[PendingGroup], now: Millis) -> Learning {
        let shop_curve = self
            .arms
            .iter()
            .map(|a| &a.tally)
            .chain(self.holdout.iter().map(|(_, t)| t))
            .fold(Tally::default(), |sum, t| sum.plus(t))
            .order_times;
        let mut learning = self.clone();
        // Each option's and configuration's own curve, summed once however many groups
        // (segments, slices) share it.
        let mut option_curves: Vec<(&Arm, Tally)> = vec![];
        let mut config_curves: Vec<(&[Arm], Tally)> = vec![];
        for group in groups {
            let key = &group.key;
            let share = key.share_of_window(now);
            let shop_seen = seen_by(&shop_curve, share, share, EVEN_CURVE_WEIGHT);
            let seen = |own: &Tally| seen_by(&own.order_times, share, shop_seen, SHOP_CURVE_WEIGHT);
            if key.arms.is_empty() {
                let own = self
                    .holdout(key.segment, true)
                    .plus(&self.holdout(key.segment, false));
                learning
                    .holdout_tally(key.segment)
                    .count_pending(&group.tally, seen(&own));
                continue;
            }
            for arm in &key.arms {
                let own = once(&mut option_curves, arm, || {
                    self.sum(&arm.step, arm.dimension, |a| a.option == arm.option)
                });
                learning
                    .arm_tally(arm, key.segment)
                    .count_pending(&group.tally, seen(&own));
            }
            let own = once(&mut config_curves, key.arms.as_slice(), || {
                self.configs
                    .iter()
                    .filter(|c| c.arms == key.arms)
                    .fold(Tally::default(), |sum, c| sum.plus(&c.tally))
            });
            if let Some(tally) = learning.config_tally(&key.arms, key.segment) {
                tally.count_pending(&group.tally, seen(&own));
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

    /// The tally of one configuration in one segment, new if need be; none for a journey
    /// without options, or a new one beyond [`MAX_CONFIG_TALLIES`] (a playbook stored before
    /// its combinations were bounded), so what is stored stays bounded.
    fn config_tally(&mut self, arms: &[Arm], segment: Segment) -> Option<&mut Tally> {
        if arms.is_empty() {
            return None;
        }
        let found = self
            .configs
            .iter()
            .position(|c| c.segment == segment && c.arms == arms);
        let i = match found {
            Some(i) => i,
            None if self.configs.len() >= MAX_CONFIG_TALLIES => return None,
            None => {
                self.configs.push(ConfigTally {
                    segment,
                    arms: arms.to_vec(),
                    tally: Tally::default(),
                });
                self.configs.len() - 1
            }
        };
        Some(&mut self.configs[i].tally)
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
    fn a_trial_is_replaceable_until_something_was_learned_from_it() {
        let mut t = trial(false);
        assert!(t.replaceable());
        assert!(t.record_order(5000, T0.plus_millis(HOUR_MS)));
        assert!(!t.replaceable(), "settled by an order");
        let mut missed = trial(false);
        let matured = missed.matures_at();
        assert!(Learning::default().fold(&mut missed, matured));
        assert!(!missed.replaceable(), "folded as a miss");
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
        // No recovery settled yet: orders are taken as evenly spread, so half are still due
        // (a trial is weighed as if opened mid-slice).
        let slice = 1.0 / (2 * PENDING_SLICES) as f64;
        assert!((delay.unseen - 0.5).abs() <= slice, "{}", delay.unseen);
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
    fn configurations_are_counted_again_from_folded_trials() {
        let mut learning = Learning::default();
        let mut trials = vec![];
        for i in 0..6 {
            let mut t = trial(i == 5);
            t.id = format!("t{i}").into();
            if i % 2 == 0 {
                t.arms[0].option = "1800s".into();
                t.record_order(700, T0.plus_millis(HOUR_MS));
            }
            let now = t.matures_at();
            learning.fold(&mut t, now);
            trials.push(t);
        }
        trials.push(trial(false)); // not folded: not counted
        let counted = learning.clone();
        assert_eq!(counted.configs.len(), 2);
        learning.configs.clear();
        learning.recount_configs(&trials);
        assert_eq!(learning, counted);
    }

    #[test]
    fn a_messaged_journey_without_options_does_not_pass_for_a_held_out_one() {
        let mut bare = trial(false);
        bare.arms.clear();
        bare.record_order(700, T0);
        assert_eq!(bare.group_key(), None);
        let known = Learning::default().with_pending([&bare], T0.plus_millis(HOUR_MS));
        assert_eq!(known.holdout(Segment::Large, true).journeys, 0);
        let mut learning = Learning::default();
        let now = bare.matures_at();
        learning.fold(&mut bare, now);
        assert!(learning.configs.is_empty() && learning.holdout.is_empty());
    }

    #[test]
    fn a_short_window_matures_within_its_own_length() {
        let mut t = trial(false);
        t.closes_at = T0.plus_millis(10_000);
        assert_eq!(t.matures_at(), T0.plus_millis(20_000));
    }
}
