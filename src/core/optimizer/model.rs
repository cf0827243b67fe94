//! An additive model of a journey's reward over all its options at once, which the choices
//! sample from (linear Thompson sampling).
//!
//! Why not each option's own tally: choices adapt over time, so an option that wins early
//! runs later beside the other kinds' better options, and its tally credits it with their
//! effect (in the simulation an offer worth 0.5 points of recovery read as 2.6, and its rival
//! starved). Fitted on every option together, each option's effect is measured beside the
//! others its journeys actually ran with, whatever the order they were learned in.
//!
//! The reward `y` of a journey in segment `s` that ran with options `o_1 … o_K` (one per step
//! and kind) is modelled as
//!
//! ```text
//! E[y] = a_s + Σ_k ( b_k(o_k) + d_sk(o_k) )
//! ```
//!
//! `b` is the option's effect shared by the shop's segments, `d` its segment's own deviation.
//! Normal priors centred on 0 shrink both, `d` much harder: a small shop's segments share `b`
//! until their own journeys outweigh the prior on `d` (the pooling of `posterior`, in effect
//! form). `y` is in units of the segment's mean order value, so effects are comparable across
//! segments: `1[recovered]` under `goal: recoveries`, the recovered order's revenue net of its
//! discount over the segment's mean under `recovered_revenue` (a discount's cost so counts
//! against it). Weighted least squares, each journey weighed by the inverse of its segment's
//! variance of `y`; the posterior of the coefficients is then normal with the normal
//! equations' matrix as its precision (Agrawal & Goyal 2013, linear Thompson sampling).
//!
//! The fit reads configuration tallies (`Learning::configs`): every journey with the same
//! options in a segment has the same row, so the cost is the configurations run (at most
//! `MAX_COMBINATIONS` per segment), not the journeys. Pending journeys weigh what is known of
//! them, as in every tally. The options behind 64 combinations number at most 12, so the model
//! has at most 64 coefficients.

use super::learning::{Arm, Learning};
use super::posterior::Tally;
use super::{options, Chosen, Dimension, Rng, Segment, MAX_COMBINATIONS};
use crate::core::playbook::{Goal, Playbook};
use crate::core::values::ids::StepId;

/// Prior standard deviation of a segment's base reward (units of `y`): next to no prior.
const BASE_SD: f64 = 1.0;
/// Prior standard deviation of an option's shared effect: effects of a few points of recovery
/// are expected, tens of points are possible.
const EFFECT_SD: f64 = 0.2;
/// Prior standard deviation of a segment's deviation from the shared effect: at most (segments
/// as good as apart) and at least (pooled, yet able to separate as data come).
const APART_SD: f64 = 0.1;
/// In the fit that measures how far segments differ, the shared effects are held at 0, so each
/// segment's effects are its own journeys' alone and independent of the others'.
const NO_SHARED_SD: f64 = 1e-4;
const LEAST_SPREAD: f64 = 0.005;
/// The variance of `y` assumed until a segment has this many journeys of its own.
const VARIANCE_JOURNEYS: f64 = 20.0;

/// One step's kind of option with a choice to make.
#[derive(Clone, Debug)]
struct Kind {
    step: StepId,
    dimension: Dimension,
    labels: Vec<String>,
    /// Index of its first option among all options.
    first: usize,
}

/// The fitted model: the posterior mean of the coefficients and the Cholesky factor of their
/// precision.
#[derive(Clone, Debug)]
pub struct Model {
    kinds: Vec<Kind>,
    layout: Layout,
    mean: Vec<f64>,
    /// Lower triangle, row-major, `dim × dim`.
    factor: Vec<f64>,
}

/// Where each coefficient is: the base of each segment with journeys, every option's shared
/// effect, then each such segment's deviations. A segment without journeys has no
/// coefficients of its own: its options' effects are the shared ones.
#[derive(Clone, Debug)]
struct Layout {
    segments: Vec<Segment>,
    /// Options across kinds.
    width: usize,
}

impl Layout {
    fn dim(&self) -> usize {
        self.segments.len() + self.width * (1 + self.segments.len())
    }

    fn position(&self, segment: Segment) -> Option<usize> {
        self.segments.iter().position(|&s| s == segment)
    }

    /// The shared effect of option `o` (its index across kinds).
    fn shared(&self, o: usize) -> usize {
        self.segments.len() + o
    }

    /// The deviation of option `o` in the segment at `position`.
    fn deviation(&self, position: usize, o: usize) -> usize {
        self.segments.len() + self.width * (1 + position) + o
    }
}

/// The data's part of the normal equations (weighted).
struct Equations {
    layout: Layout,
    precision: Vec<f64>,
    rhs: Vec<f64>,
}

impl Equations {
    fn of(kinds: &[Kind], width: usize, goal: Goal, learning: &Learning) -> Equations {
        let of_segment = |segment| {
            let cells: Vec<_> = learning
                .configs
                .iter()
                .filter(|c| c.segment == segment)
                .collect();
            let total = cells.iter().fold(Tally::default(), |s, c| s.plus(&c.tally));
            (segment, cells, total)
        };
        let data: Vec<_> = Segment::ALL
            .into_iter()
            .map(of_segment)
            .filter(|(_, _, total)| total.observed() > 0.0)
            .collect();
        let layout = Layout {
            segments: data.iter().map(|(s, _, _)| *s).collect(),
            width,
        };
        let dim = layout.dim();
        let mut precision = vec![0.0; dim * dim];
        let mut rhs = vec![0.0; dim];
        for (position, (_, cells, total)) in data.iter().enumerate() {
            let scale = match goal {
                Goal::Recoveries => None,
                Goal::RecoveredRevenue => Some(mean_value(total, learning)),
            };
            let variance = variance(total, scale);
            for cell in cells {
                let (n, sum) = moments(&cell.tally, scale);
                if n <= 0.0 {
                    continue;
                }
                let x = features(kinds, &layout, position, &cell.arms);
                for &i in &x {
                    rhs[i] += sum / variance;
                    for &j in &x {
                        precision[i * dim + j] += n / variance;
                    }
                }
            }
        }
        Equations {
            layout,
            precision,
            rhs,
        }
    }
}

/// Coefficients drawn from the posterior, to choose one journey's options by.
pub struct Draw<'a> {
    model: &'a Model,
    coefficients: Vec<f64>,
}

impl Model {
    pub fn fit(playbook: &Playbook, learning: &Learning) -> Model {
        let mut kinds = vec![];
        let mut width = 0;
        // A playbook stored before its combinations were bounded: the kinds past the bound
        // get no coefficients (their first option wins but for exploration), so a choice
        // stays cheap.
        let mut combinations = 1;
        for step in &playbook.steps {
            for dimension in Dimension::ALL {
                let labels: Vec<String> =
                    options(step, dimension).iter().map(Chosen::label).collect();
                if labels.len() > 1 && combinations * labels.len() <= MAX_COMBINATIONS {
                    let n = labels.len();
                    combinations *= n;
                    kinds.push(Kind {
                        step: step.id.clone(),
                        dimension,
                        labels,
                        first: width,
                    });
                    width += n;
                }
            }
        }
        let data = Equations::of(&kinds, width, playbook.optimize.goal, learning);
        // How far segments differ is learned per kind of option (empirical Bayes): fitted
        // with segments apart first (no shared effect, each segment on its own journeys), the
        // spread of their effects beyond what noise explains is the prior on each segment's
        // deviation in the fit that counts. A delay that works the same for every cart so
        // pools the whole shop's journeys.
        //
        // Not a discount's: its segments' deviations always take the widest prior. An
        // offer's worth is expected to differ with cart value (platform-2026.md §4: effects
        // grow with it), and the spread cannot show it in time: from three or four segments,
        // with the offer rarely tried in the one where it pays, it sat at its floor in most
        // runs of the simulation where large carts' offer paid, large carts were pooled
        // toward small ones and stopped being offered it; kept apart, regret fell from 0.30
        // to 0.25 of uniform choice's (docs/optimizer.md §4). A segment with few journeys
        // still leans on the shared effect.
        let apart = Model::solve(kinds.clone(), &data, NO_SHARED_SD, &vec![APART_SD; width]);
        let spreads: Vec<f64> = kinds
            .iter()
            .flat_map(|k| {
                let spread = match k.dimension {
                    Dimension::Discount => APART_SD,
                    _ => apart.spread(k),
                };
                std::iter::repeat_n(spread, k.labels.len())
            })
            .collect();
        Model::solve(kinds, &data, EFFECT_SD, &spreads)
    }

    /// The posterior under a deviation prior of `spreads` (one per option).
    fn solve(kinds: Vec<Kind>, data: &Equations, shared: f64, spreads: &[f64]) -> Model {
        let layout = data.layout.clone();
        let (bases, width) = (layout.segments.len(), layout.width);
        let dim = data.rhs.len();
        let mut precision = data.precision.clone();
        for i in 0..dim {
            let sd = match i {
                i if i < bases => BASE_SD,
                i if i < bases + width => shared,
                i => spreads[(i - bases) % width],
            };
            precision[i * dim + i] += 1.0 / (sd * sd);
        }
        let factor = cholesky(precision, dim);
        let mean = solve(&factor, dim, data.rhs.clone());
        Model {
            kinds,
            layout,
            mean,
            factor,
        }
    }

    /// How much the effects of `kind`'s options differ between `segments` beyond their noise:
    /// the DerSimonian–Laird estimate of the standard deviation between them, per option
    /// (each against the kind's mean, within the segment), averaged over the options.
    fn spread(&self, kind: &Kind) -> f64 {
        let segments = self.layout.segments.len();
        if segments < 2 {
            return LEAST_SPREAD;
        }
        let dim = self.mean.len();
        let n = kind.labels.len() as f64;
        let mut between = 0.0;
        for o in 0..kind.labels.len() {
            let (mut estimates, mut weights) = (vec![], vec![]);
            for position in 0..segments {
                let mut w = vec![0.0; dim];
                for p in 0..kind.labels.len() {
                    let share = if p == o { 1.0 - 1.0 / n } else { -1.0 / n };
                    w[self.layout.shared(kind.first + p)] += share;
                    w[self.layout.deviation(position, kind.first + p)] += share;
                }
                let estimate: f64 = w.iter().zip(&self.mean).map(|(a, b)| a * b).sum();
                let y = forward(&self.factor, dim, w);
                let variance: f64 = y.iter().map(|v| v * v).sum();
                estimates.push(estimate);
                weights.push(1.0 / variance.max(1e-12));
            }
            let total: f64 = weights.iter().sum();
            let mean = estimates
                .iter()
                .zip(&weights)
                .map(|(e, w)| e * w)
                .sum::<f64>()
                / total;
            let q: f64 = estimates
                .iter()
                .zip(&weights)
                .map(|(e, w)| w * (e - mean).powi(2))
                .sum();
            let c = total - weights.iter().map(|w| w * w).sum::<f64>() / total;
            between += ((q - (segments as f64 - 1.0)) / c).max(0.0);
        }
        let spread = (between / n).sqrt();
        if spread.is_finite() {
            spread.clamp(LEAST_SPREAD, APART_SD)
        } else {
            APART_SD
        }
    }

    /// One draw of every coefficient from the posterior, its spread around the mean scaled by
    /// `scale` (1: the posterior itself).
    pub fn draw(&self, rng: &mut Rng, scale: f64) -> Draw<'_> {
        let dim = self.mean.len();
        let z: Vec<f64> = (0..dim).map(|_| rng.normal()).collect();
        // With precision L·Lᵀ, solving Lᵀ·u = z gives u of covariance (L·Lᵀ)⁻¹.
        let u = back_substitute(&self.factor, dim, z);
        let coefficients = self
            .mean
            .iter()
            .zip(u)
            .map(|(m, u)| m + scale * u)
            .collect();
        Draw {
            model: self,
            coefficients,
        }
    }

    /// The posterior mean, as a draw.
    pub fn at_mean(&self) -> Draw<'_> {
        Draw {
            model: self,
            coefficients: self.mean.clone(),
        }
    }
}

impl Draw<'_> {
    /// The drawn effect of `option` of `step` in `segment`; None when the model does not know
    /// the option.
    pub fn effect(&self, step: &StepId, option: &Chosen, segment: Segment) -> Option<f64> {
        let model = self.model;
        let label = option.label();
        let kind = model
            .kinds
            .iter()
            .find(|k| &k.step == step && k.dimension == option.dimension())?;
        let o = kind.first + kind.labels.iter().position(|l| *l == label)?;
        let layout = &model.layout;
        let deviation = layout
            .position(segment)
            .map_or(0.0, |p| self.coefficients[layout.deviation(p, o)]);
        Some(self.coefficients[layout.shared(o)] + deviation)
    }
}

/// The coefficients a journey of the segment at `position` with options `arms` adds up (each
/// is 1). An option no longer offered adds nothing.
fn features(kinds: &[Kind], layout: &Layout, position: usize, arms: &[Arm]) -> Vec<usize> {
    let mut x = vec![position];
    for arm in arms {
        let kind = kinds
            .iter()
            .find(|k| k.dimension == arm.dimension && k.step == arm.step);
        if let Some(o) =
            kind.and_then(|k| Some(k.first + k.labels.iter().position(|l| *l == arm.option)?))
        {
            x.push(layout.shared(o));
            x.push(layout.deviation(position, o));
        }
    }
    x
}

/// The segment's mean recovered order value, else the shop's, else 1.
fn mean_value(segment: &Tally, learning: &Learning) -> f64 {
    let shop = learning
        .configs
        .iter()
        .fold(Tally::default(), |s, c| s.plus(&c.tally));
    let value = |t: &Tally| {
        (t.recoveries > 0 && t.revenue > 0).then(|| t.revenue as f64 / t.recoveries as f64)
    };
    value(segment).or_else(|| value(&shop)).unwrap_or(1.0)
}

/// A tally's weight in journeys and its sum of `y`.
fn moments(tally: &Tally, scale: Option<f64>) -> (f64, f64) {
    let n = tally.observed();
    let sum = match scale {
        None => tally.successes(),
        Some(v) => tally.revenue as f64 / v,
    };
    (n, sum)
}

/// The variance of `y` over a segment's journeys, a Bernoulli's at its worst until it has
/// enough of them.
fn variance(total: &Tally, scale: Option<f64>) -> f64 {
    let (n, sum) = moments(total, scale);
    let squares = match scale {
        None => total.successes(),
        Some(v) => total.revenue_sq / (v * v),
    };
    let worst = 0.25;
    if n < VARIANCE_JOURNEYS {
        return worst;
    }
    let v = squares / n - (sum / n).powi(2);
    if v.is_finite() {
        v.max(0.01)
    } else {
        worst
    }
}

/// The lower Cholesky factor of a symmetric positive definite matrix (row-major). The prior
/// keeps the diagonal positive; a pivot that is not (a corrupt tally) is replaced by 1 rather
/// than failing.
fn cholesky(mut a: Vec<f64>, dim: usize) -> Vec<f64> {
    for j in 0..dim {
        let row_j = j * dim;
        let d = a[row_j + j] - dot(&a[row_j..row_j + j], &a[row_j..row_j + j]);
        let pivot = if d.is_finite() && d > 0.0 {
            d.sqrt()
        } else {
            1.0
        };
        a[row_j + j] = pivot;
        for i in j + 1..dim {
            let row_i = i * dim;
            let v = a[row_i + j] - dot(&a[row_i..row_i + j], &a[row_j..row_j + j]);
            a[row_i + j] = v / pivot;
        }
        a[row_j + j + 1..row_j + dim].fill(0.0);
    }
    a
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `L·Lᵀ·x = b`.
fn solve(factor: &[f64], dim: usize, b: Vec<f64>) -> Vec<f64> {
    back_substitute(factor, dim, forward(factor, dim, b))
}

/// Solves `L·x = b`.
fn forward(factor: &[f64], dim: usize, mut b: Vec<f64>) -> Vec<f64> {
    for i in 0..dim {
        let row = &factor[i * dim..i * dim + i];
        b[i] = (b[i] - dot(row, &b[..i])) / factor[i * dim + i];
    }
    b
}

/// Solves `Lᵀ·x = b`.
fn back_substitute(factor: &[f64], dim: usize, mut b: Vec<f64>) -> Vec<f64> {
    for i in (0..dim).rev() {
        b[i] /= factor[i * dim + i];
        let x = b[i];
        for (k, value) in b[..i].iter_mut().enumerate() {
            *value -= factor[i * dim + k] * x;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::optimizer::learning::Trial;
    use crate::core::playbook::{Discount, Template};
    use crate::core::values::time::Millis;

    fn playbook() -> Playbook {
        let mut p = Playbook::default();
        p.optimize.enabled = true;
        p.optimize.goal = Goal::Recoveries;
        p.steps[0].delay_options = vec![1800, 10_800];
        p.steps[0].template_options = vec![template("plain"), template("social")];
        p.steps[1].discount_options = vec![
            None,
            Some(Discount {
                percent: 10,
                expires_after_hours: 48,
            }),
        ];
        p
    }

    fn template(name: &str) -> Template {
        Template {
            name: name.into(),
            languages: vec!["en_US".into()],
        }
    }

    fn arm(step: &str, dimension: Dimension, option: &str) -> Arm {
        Arm {
            step: step.into(),
            dimension,
            option: option.into(),
        }
    }

    /// Settles `journeys` trials of `segment` with options `arms`, `percent` of them recovered.
    fn settle(
        learning: &mut Learning,
        segment: Segment,
        arms: &[Arm],
        journeys: u32,
        percent: u32,
    ) {
        for i in 0..journeys {
            let mut trial = Trial {
                id: format!("{segment:?}-{arms:?}-{i}").into(),
                segment,
                holdout: false,
                opened_at: Millis(0),
                closes_at: Millis(1000),
                arms: arms.to_vec(),
                conversion: None,
                folded: false,
            };
            if i % 100 < percent {
                trial.record_order(5000, Millis(10));
            }
            learning.fold(&mut trial, Millis(5000));
        }
    }

    fn effect(model: &Model, step: &str, option: Chosen, segment: Segment) -> f64 {
        model
            .at_mean()
            .effect(&step.into(), &option, segment)
            .expect("a known option")
    }

    fn delay(seconds: i64) -> Chosen {
        Chosen::Delay { seconds }
    }

    #[test]
    fn an_option_is_credited_with_its_own_effect_not_its_companions() {
        // Both delays recover alike; the social template adds 10 points. The early delay ran
        // mostly with it, the late one mostly without: their own tallies differ by 6 points.
        let (early, late) = (
            arm("reminder", Dimension::Delay, "1800s"),
            arm("reminder", Dimension::Delay, "10800s"),
        );
        let (plain, social) = (
            arm("reminder", Dimension::Template, "plain"),
            arm("reminder", Dimension::Template, "social"),
        );
        let mut learning = Learning::default();
        settle(
            &mut learning,
            Segment::Medium,
            &[early.clone(), social.clone()],
            800,
            20,
        );
        settle(
            &mut learning,
            Segment::Medium,
            &[early.clone(), plain.clone()],
            200,
            10,
        );
        settle(
            &mut learning,
            Segment::Medium,
            &[late.clone(), plain.clone()],
            800,
            10,
        );
        settle(&mut learning, Segment::Medium, &[late, social], 200, 20);
        let own = |label: &str| {
            let t = learning.sum(&"reminder".into(), Dimension::Delay, |a| a.option == label);
            t.recoveries as f64 / t.journeys as f64
        };
        assert!(own("1800s") - own("10800s") > 0.05);
        let model = Model::fit(&playbook(), &learning);
        let m = Segment::Medium;
        let delays = effect(&model, "reminder", delay(1800), m)
            - effect(&model, "reminder", delay(10_800), m);
        assert!(delays.abs() < 0.01, "{delays}");
        let templates = effect(
            &model,
            "reminder",
            Chosen::Template {
                template: template("social"),
            },
            m,
        ) - effect(
            &model,
            "reminder",
            Chosen::Template {
                template: template("plain"),
            },
            m,
        );
        assert!((templates - 0.10).abs() < 0.01, "{templates}");
    }

    #[test]
    fn segments_pool_an_effect_they_share_and_keep_apart_one_they_do_not() {
        // The late delay is 6 points better everywhere; the offer 8 points better for large
        // carts and 8 worse for small ones. Medium carts have no journeys yet.
        let (early, late) = (
            arm("reminder", Dimension::Delay, "1800s"),
            arm("reminder", Dimension::Delay, "10800s"),
        );
        let (none, offer) = (
            arm("offer", Dimension::Discount, "none"),
            arm("offer", Dimension::Discount, "10%/48h"),
        );
        let mut learning = Learning::default();
        for (segment, with, without) in [(Segment::Small, 4, 12), (Segment::Large, 20, 12)] {
            settle(
                &mut learning,
                segment,
                &[early.clone(), none.clone()],
                500,
                without,
            );
            settle(
                &mut learning,
                segment,
                &[late.clone(), none.clone()],
                500,
                without + 6,
            );
            settle(
                &mut learning,
                segment,
                &[early.clone(), offer.clone()],
                500,
                with,
            );
            settle(
                &mut learning,
                segment,
                &[late.clone(), offer.clone()],
                500,
                with + 6,
            );
        }
        let model = Model::fit(&playbook(), &learning);
        let no_offer = Chosen::Discount { discount: None };
        let the_offer = Chosen::Discount {
            discount: playbook().steps[1].discount_options[1].clone(),
        };
        let gain = |segment| {
            effect(&model, "offer", the_offer.clone(), segment)
                - effect(&model, "offer", no_offer.clone(), segment)
        };
        assert!(gain(Segment::Large) > 0.06, "{}", gain(Segment::Large));
        assert!(gain(Segment::Small) < -0.06, "{}", gain(Segment::Small));
        let later = |segment| {
            effect(&model, "reminder", delay(10_800), segment)
                - effect(&model, "reminder", delay(1800), segment)
        };
        for segment in [Segment::Small, Segment::Large, Segment::Medium] {
            assert!(
                (later(segment) - 0.06).abs() < 0.015,
                "{segment:?} {}",
                later(segment)
            );
        }
    }

    #[test]
    fn an_offer_that_pays_only_where_it_was_little_tried_is_not_pooled_away() {
        // The offer costs small and medium carts 2 points over many journeys, and brings
        // large carts 10 over the few it was tried on: three segments cannot show how far
        // they differ, but an offer's worth is expected to differ with cart value.
        let (none, offer) = (
            arm("offer", Dimension::Discount, "none"),
            arm("offer", Dimension::Discount, "10%/48h"),
        );
        let late = arm("reminder", Dimension::Delay, "10800s");
        let mut learning = Learning::default();
        for (segment, journeys, with) in [
            (Segment::Small, 800, 10),
            (Segment::Medium, 800, 10),
            (Segment::Large, 100, 22),
        ] {
            let without = [late.clone(), none.clone()];
            settle(&mut learning, segment, &without, journeys * 2, 12);
            settle(
                &mut learning,
                segment,
                &[late.clone(), offer.clone()],
                journeys,
                with,
            );
        }
        let model = Model::fit(&playbook(), &learning);
        let gain = |segment| {
            let the_offer = Chosen::Discount {
                discount: playbook().steps[1].discount_options[1].clone(),
            };
            effect(&model, "offer", the_offer, segment)
                - effect(
                    &model,
                    "offer",
                    Chosen::Discount { discount: None },
                    segment,
                )
        };
        assert!(gain(Segment::Large) > 0.05, "{}", gain(Segment::Large));
        assert!(gain(Segment::Small) < -0.01, "{}", gain(Segment::Small));
    }

    #[test]
    fn nothing_learned_draws_around_no_effect_and_a_corrupt_tally_stays_finite() {
        let model = Model::fit(&playbook(), &Learning::default());
        assert_eq!(effect(&model, "reminder", delay(1800), Segment::Small), 0.0);
        let mut learning = Learning::default();
        settle(
            &mut learning,
            Segment::Large,
            &[arm("reminder", Dimension::Delay, "1800s")],
            3,
            100,
        );
        learning.configs[0].tally.revenue_sq = f64::INFINITY;
        learning.configs[0].tally.unseen = f64::NAN;
        let mut p = playbook();
        p.optimize.goal = Goal::RecoveredRevenue;
        let model = Model::fit(&p, &learning);
        let draw = model.draw(&mut Rng::new(1), 1.0);
        let e = draw.effect(&"reminder".into(), &delay(1800), Segment::Large);
        assert!(e.is_some_and(f64::is_finite), "{e:?}");
        assert_eq!(
            draw.effect(&"reminder".into(), &delay(60), Segment::Large),
            None
        );
    }
}
