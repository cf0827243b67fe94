//! What the optimizer has learned, for `GET /api/optimization`: per step, kind of option and
//! segment, each option's settled journeys, its posterior reward per journey with a 90 %
//! interval, its lift over the held-out group, its probability of being the best, and what it
//! would choose now.
//!
//! Intervals and probabilities are Monte Carlo over the posteriors, with the caller's
//! randomness: a seeded report is reproducible. Rewards are per journey: a recovery rate under
//! `goal: recoveries`, revenue in the shop currency's minor units under `recovered_revenue`.

use serde::Serialize;

use super::choice::{best, posterior};
use super::learning::Learning;
use super::model::{Draw, Model};
use super::posterior::{Posterior, Tally};
use super::{options, Chosen, Dimension, Rng, Segment};
use crate::core::playbook::{Goal, Playbook};
use crate::core::values::ids::StepId;

/// Draws per posterior: the 5 % and 95 % quantiles are then within about half a percent.
pub const DRAWS: usize = 4000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub enabled: bool,
    pub goal: Goal,
    pub holdout: Vec<GroupReport>,
    pub decisions: Vec<Decision>,
}

/// A settled group's counts and posterior reward per journey.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    pub segment: Segment,
    pub journeys: u64,
    /// Of `journeys`, those whose attribution window is still open.
    #[serde(skip_serializing_if = "is_zero")]
    pub pending: u64,
    pub recoveries: u64,
    /// Minor units of the shop currency, net of discounts.
    pub revenue: i64,
    pub mean: f64,
    pub interval: [f64; 2],
}

/// One choice the optimizer makes: a step's kind of option, in one segment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub step: StepId,
    pub dimension: Dimension,
    pub segment: Segment,
    pub options: Vec<OptionReport>,
    /// The option the model's posterior mean puts first: what exploitation picks now.
    pub would_choose: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptionReport {
    pub option: String,
    #[serde(flatten)]
    pub group: GroupReport,
    /// Reward per journey minus the held-out group's, and its 90 % interval; `None` while the
    /// shop has no held-out journey, when there is no measured "no message" to compare with.
    pub lift: Option<f64>,
    pub lift_interval: Option<[f64; 2]>,
    pub probability_best: f64,
    /// For an offer, the model's probability that it brings more than no offer (when no offer
    /// is one of the options): whether it has paid for itself, whatever else competes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability_beats_none: Option<f64>,
}

pub fn report(playbook: &Playbook, learning: &Learning, rng: &mut Rng) -> Report {
    let goal = playbook.optimize.goal;
    let holdout_posterior = |segment: Segment, values: &Tally| {
        Posterior::new(
            &learning.holdout(segment, true),
            &learning.holdout(segment, false),
            values,
            goal,
        )
    };
    let held_out = Segment::ALL
        .iter()
        .any(|&s| learning.holdout(s, true).journeys > 0);
    let mut holdout = vec![];
    for segment in Segment::ALL {
        let own = learning.holdout(segment, true);
        if own.journeys > 0 {
            let draws = sorted(draw(&holdout_posterior(segment, &own), rng));
            holdout.push(group(segment, &own, mean_of(&draws), &draws));
        }
    }
    // Which option is best, and how likely, is the additive model's (`model`): it compares
    // options beside the same other choices, where an option's own tally holds whatever its
    // journeys ran with.
    let model = Model::fit(playbook, learning);
    let model_draws: Vec<Draw> = (0..DRAWS).map(|_| model.draw(rng, 1.0)).collect();
    let mut decisions = vec![];
    for step in &playbook.steps {
        for dimension in Dimension::ALL {
            let candidates = options(step, dimension);
            for segment in Segment::ALL {
                let all = learning.sum(&step.id, dimension, |a| a.segment == segment);
                if candidates.is_empty() || all.journeys == 0 {
                    continue;
                }
                let values = all.plus(&learning.holdout(segment, true));
                let baseline = draw(&holdout_posterior(segment, &values), rng);
                let posteriors: Vec<Posterior> = candidates
                    .iter()
                    .map(|o| posterior(learning, &step.id, o, segment, goal))
                    .collect();
                let draws: Vec<Vec<f64>> = posteriors.iter().map(|p| draw(p, rng)).collect();
                let mut wins = vec![0usize; candidates.len()];
                let none = candidates
                    .iter()
                    .position(|o| matches!(o, Chosen::Discount { discount: None }))
                    .filter(|&n| {
                        let known = model.at_mean();
                        known.effect(&step.id, &candidates[n], segment).is_some()
                    });
                let mut beats_none = vec![0usize; candidates.len()];
                for coefficients in &model_draws {
                    wins[best(coefficients, &step.id, &candidates, segment)] += 1;
                    let effect = |o: &Chosen| coefficients.effect(&step.id, o, segment);
                    if let Some(baseline) = none.and_then(|n| effect(&candidates[n])) {
                        for (i, option) in candidates.iter().enumerate() {
                            beats_none[i] += usize::from(effect(option) > Some(baseline));
                        }
                    }
                }
                let options: Vec<OptionReport> = candidates
                    .iter()
                    .enumerate()
                    .map(|(i, option)| {
                        let label = option.label();
                        let own = learning.sum(&step.id, dimension, |a| {
                            a.segment == segment && a.option == label
                        });
                        let lifts =
                            sorted(draws[i].iter().zip(&baseline).map(|(a, b)| a - b).collect());
                        OptionReport {
                            option: label,
                            group: group(
                                segment,
                                &own,
                                posteriors[i].mean(),
                                &sorted(draws[i].clone()),
                            ),
                            lift: held_out.then(|| mean_of(&lifts)),
                            lift_interval: held_out
                                .then(|| [quantile(&lifts, 0.05), quantile(&lifts, 0.95)]),
                            probability_best: wins[i] as f64 / DRAWS as f64,
                            probability_beats_none: none
                                .filter(|&n| n != i)
                                .map(|_| beats_none[i] as f64 / DRAWS as f64),
                        }
                    })
                    .collect();
                let would_choose = candidates
                    .get(best(&model.at_mean(), &step.id, &candidates, segment))
                    .map(Chosen::label)
                    .unwrap_or_default();
                decisions.push(Decision {
                    step: step.id.clone(),
                    dimension,
                    segment,
                    options,
                    would_choose,
                });
            }
        }
    }
    Report {
        enabled: playbook.optimize.enabled,
        goal,
        holdout,
        decisions,
    }
}

fn group(segment: Segment, tally: &Tally, mean: f64, sorted_draws: &[f64]) -> GroupReport {
    GroupReport {
        segment,
        journeys: tally.journeys,
        pending: tally.pending,
        recoveries: tally.recoveries,
        revenue: tally.revenue,
        mean,
        interval: [quantile(sorted_draws, 0.05), quantile(sorted_draws, 0.95)],
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn draw(posterior: &Posterior, rng: &mut Rng) -> Vec<f64> {
    (0..DRAWS).map(|_| posterior.sample(rng)).collect()
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn mean_of(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Nearest-rank quantile of sorted draws (0 when there are none).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::optimizer::learning::{Arm, Trial};
    use crate::core::values::time::Millis;

    #[test]
    fn a_clear_winner_is_reported_as_such_with_its_lift() {
        let mut p = Playbook::default();
        p.optimize.enabled = true;
        p.optimize.goal = Goal::Recoveries;
        p.steps[0].delay_options = vec![1800, 10_800];
        let mut learning = Learning::default();
        let t0 = Millis(0);
        for i in 0..3000u32 {
            let (holdout, option, rate) = match i % 3 {
                0 => (true, "", 10),
                1 => (false, "1800s", 6),
                _ => (false, "10800s", 16),
            };
            let mut trial = Trial {
                id: format!("t{i}").into(),
                segment: Segment::Medium,
                holdout,
                opened_at: t0,
                closes_at: Millis(1000),
                arms: vec![Arm {
                    step: "reminder".into(),
                    dimension: Dimension::Delay,
                    option: option.into(),
                }],
                conversion: None,
                folded: false,
            };
            if (i / 3) % 100 < rate {
                trial.record_order(5000, Millis(10));
            }
            assert!(learning.fold(&mut trial, Millis(5000)));
        }
        let r = report(&p, &learning, &mut Rng::new(9));
        assert_eq!(r.holdout.len(), 1);
        assert_eq!(r.decisions.len(), 1);
        let d = &r.decisions[0];
        assert_eq!(d.would_choose, "10800s");
        let (early, late) = (&d.options[0], &d.options[1]);
        assert_eq!((late.group.journeys, late.group.recoveries), (1000, 160));
        assert!(late.probability_best > 0.99);
        let (late_lift, early_lift) = (late.lift_interval.unwrap(), early.lift_interval.unwrap());
        assert!(late_lift[0] > 0.0 && early_lift[1] < 0.0, "{d:?}");
        assert!(late.group.interval[0] < 0.16 && 0.16 < late.group.interval[1]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["decisions"][0]["options"][1]["option"], "10800s");
        assert!(json["decisions"][0]["options"][1]["journeys"].is_u64());
    }

    #[test]
    fn an_offer_that_costs_more_than_it_brings_has_not_paid_for_itself() {
        let mut p = Playbook::default();
        p.optimize.enabled = true;
        p.steps[1].discount_options = vec![
            None,
            Some(crate::core::playbook::Discount {
                percent: 10,
                expires_after_hours: 48,
            }),
        ];
        let mut learning = Learning::default();
        for i in 0..2000u32 {
            let offered = i % 2 == 1;
            let mut trial = Trial {
                id: format!("t{i}").into(),
                segment: Segment::Small,
                holdout: false,
                opened_at: Millis(0),
                closes_at: Millis(1000),
                arms: vec![Arm {
                    step: "offer".into(),
                    dimension: Dimension::Discount,
                    option: if offered { "10%/48h" } else { "none" }.into(),
                }],
                conversion: None,
                folded: false,
            };
            // The offer brings no more orders, and each is worth a fifth less.
            if (i / 2) % 10 < 2 {
                trial.record_order(if offered { 4000 } else { 5000 }, Millis(10));
            }
            learning.fold(&mut trial, Millis(5000));
        }
        let r = report(&p, &learning, &mut Rng::new(3));
        let d = &r.decisions[0];
        assert_eq!(d.would_choose, "none");
        assert_eq!(d.options[0].probability_beats_none, None);
        let beats = d.options[1].probability_beats_none.expect("an offer");
        assert!(beats < 0.1, "{beats}");
        // Nothing was held out: there is no "no message" to measure a lift against.
        assert!(d.options.iter().all(|o| o.lift.is_none()));
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["decisions"][0]["options"][0]["lift_interval"].is_null());
    }

    #[test]
    fn nothing_learned_is_an_empty_report() {
        let r = report(&Playbook::default(), &Learning::default(), &mut Rng::new(1));
        assert!(r.decisions.is_empty() && r.holdout.is_empty());
    }
}
