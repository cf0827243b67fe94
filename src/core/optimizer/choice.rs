//! Choosing a journey's options when it starts (Thompson sampling).
//!
//! One draw of every coefficient of the shop's additive model (`model`); for each step and
//! kind of option, the option whose drawn effect in the journey's segment is highest wins. An
//! option is so chosen about as often as it is likely to be the best: a clear winner almost
//! always, a close race evenly, an untried option often enough to be learned. On top of that,
//! `explore_percent` of journeys take an option uniformly at random in some kind whatever was
//! learned, so the estimates stay honest if the shop's shoppers change. Each kind explores on
//! its own draw ([`explore_rate`]), so a journey is rarely random in every kind at once.
//!
//! The draw's spread around the posterior mean is [`POSTERIOR_SCALE`] of the posterior's:
//! the uniform share already keeps every option measured, so the sampled part can lean on
//! what was learned (Chapelle & Li 2011 found the same scaling lowered regret; in the
//! simulation of docs/optimizer.md it cuts regret by a sixth).
//!
//! The choice is a plain value stored with the journey, so every order is credited to the
//! options actually used, and the gate (caps, consent, quiet hours, holdout) applies to the
//! step as it runs with them, as to any other.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::learning::{Arm, Learning, Trial};
use super::model::{Draw, Model};
use super::posterior::Posterior;
use super::{options, Chosen, Dimension, Rng, Segment};
use crate::core::playbook::{Goal, Playbook, Step};
use crate::core::values::ids::{CheckoutToken, StepId};
use crate::core::values::time::Millis;

/// The spread of a choice's draw around the posterior mean, as a share of the posterior's.
pub const POSTERIOR_SCALE: f64 = 0.5;

/// The options one step runs with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepChoice {
    pub step: StepId,
    pub options: Vec<Chosen>,
}

/// What the optimizer chose for a journey, and the trial it is measured by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub segment: Segment,
    /// The reward's window: from the checkout's last activity when the journey began.
    pub opened_at: Millis,
    pub closes_at: Millis,
    /// Some option was chosen uniformly at random (the exploration share) rather than by
    /// what was learned.
    #[serde(default)]
    pub explored: bool,
    /// Empty for a held-out journey: it is the baseline, and sends nothing.
    #[serde(default)]
    pub steps: Vec<StepChoice>,
}

impl Choice {
    /// The step as this journey runs it: the step's own values where nothing was chosen.
    pub fn step_as_run<'a>(&self, step: &'a Step) -> Cow<'a, Step> {
        match self.steps.iter().find(|c| c.step == step.id) {
            Some(choice) if !choice.options.is_empty() => {
                let mut step = step.clone();
                for option in &choice.options {
                    option.apply(&mut step);
                }
                Cow::Owned(step)
            }
            _ => Cow::Borrowed(step),
        }
    }

    /// The journey's trial, for the shop ledger to settle.
    pub fn trial(&self, id: CheckoutToken, holdout: bool) -> Trial {
        let arms = self
            .steps
            .iter()
            .flat_map(|c| {
                c.options.iter().map(|o| Arm {
                    step: c.step.clone(),
                    dimension: o.dimension(),
                    option: o.label(),
                })
            })
            .collect();
        Trial {
            id,
            segment: self.segment,
            holdout,
            opened_at: self.opened_at,
            closes_at: self.closes_at,
            arms: if holdout { vec![] } else { arms },
            conversion: None,
            folded: false,
        }
    }
}

/// The options for a journey of `segment` whose checkout was last active at `opened_at`.
pub fn choose(
    playbook: &Playbook,
    learning: &Learning,
    segment: Segment,
    opened_at: Millis,
    holdout: bool,
    rng: &mut Rng,
) -> Choice {
    let explore = explore_rate(playbook);
    let mut explored = false;
    let model = (!holdout).then(|| Model::fit(playbook, learning));
    let draw = model.as_ref().map(|m| m.draw(rng, POSTERIOR_SCALE));
    let steps = if holdout {
        vec![]
    } else {
        playbook
            .steps
            .iter()
            .map(|step| StepChoice {
                step: step.id.clone(),
                options: Dimension::ALL
                    .into_iter()
                    .filter_map(|dimension| {
                        let mut candidates = options(step, dimension);
                        let explore = candidates.len() > 1 && rng.uniform() < explore;
                        explored |= explore;
                        let i = if explore {
                            rng.below(candidates.len())
                        } else {
                            draw.as_ref()
                                .map_or(0, |d| best(d, &step.id, &candidates, segment))
                        };
                        (i < candidates.len()).then(|| candidates.swap_remove(i))
                    })
                    .collect(),
            })
            .filter(|c| !c.options.is_empty())
            .collect()
    };
    Choice {
        segment,
        opened_at,
        closes_at: opened_at.plus_millis(playbook.attribution_ms()),
        explored,
        steps,
    }
}

/// The chance that one kind's choice explores, such that `explore_percent` of journeys take
/// a uniformly random option in some kind: with `k` kinds of two options or more, each
/// explores on its own draw at `1 − (1 − e)^(1/k)` (10 % of journeys over three kinds: 3.5 %
/// of each kind's choices). At 100 every choice is random, a plain randomized test.
fn explore_rate(playbook: &Playbook) -> f64 {
    let journeys = f64::from(playbook.optimize.explore_percent.min(100)) / 100.0;
    let kinds = playbook
        .steps
        .iter()
        .flat_map(|step| Dimension::ALL.map(|d| options(step, d).len()))
        .filter(|&n| n > 1)
        .count();
    if kinds == 0 || journeys >= 1.0 {
        return journeys;
    }
    1.0 - (1.0 - journeys).powf(1.0 / kinds as f64)
}

/// The index of the option whose drawn effect is highest (the first when none is known).
pub fn best(draw: &Draw, step: &StepId, candidates: &[Chosen], segment: Segment) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, option) in candidates.iter().enumerate() {
        let effect = draw.effect(step, option, segment).unwrap_or(0.0);
        if effect > best.1 {
            best = (i, effect);
        }
    }
    best.0
}

/// What the shop's settled trials say about `option` of `step` in `segment`.
pub fn posterior(
    learning: &Learning,
    step: &StepId,
    option: &Chosen,
    segment: Segment,
    goal: Goal,
) -> Posterior {
    let dimension = option.dimension();
    let label = option.label();
    let own = learning.sum(step, dimension, |a| {
        a.segment == segment && a.option == label
    });
    let pooled = learning.sum(step, dimension, |a| {
        a.segment != segment && a.option == label
    });
    let all = learning.sum(step, dimension, |a| a.segment == segment);
    Posterior::new(&own, &pooled, &all, goal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::playbook::{Discount, Template};

    const T0: Millis = Millis(1_800_000_000_000);

    fn playbook() -> Playbook {
        let mut p = Playbook::default();
        p.optimize.enabled = true;
        p.steps[0].delay_options = vec![3600, 10_800, 86_400];
        p.steps[1].delay_options = vec![172_800];
        p.steps[1].discount_options = vec![
            Some(Discount {
                percent: 10,
                expires_after_hours: 48,
            }),
            Some(Discount {
                percent: 20,
                expires_after_hours: 48,
            }),
        ];
        p
    }

    /// Delays of the first step learned in the large segment: 3 h clearly best.
    fn learned() -> Learning {
        let mut learning = Learning::default();
        for (option, recoveries) in [("3600s", 20), ("10800s", 60), ("86400s", 36)] {
            for i in 0..400 {
                let mut trial = Trial {
                    id: format!("{option}-{i}").into(),
                    segment: Segment::Large,
                    holdout: false,
                    opened_at: T0,
                    closes_at: T0.plus_millis(1000),
                    arms: vec![Arm {
                        step: "reminder".into(),
                        dimension: Dimension::Delay,
                        option: option.into(),
                    }],
                    conversion: None,
                    folded: false,
                };
                if i < recoveries {
                    trial.record_order(10_000, T0);
                }
                learning.fold(&mut trial, T0.plus_millis(5000));
            }
        }
        learning
    }

    #[test]
    fn every_kind_of_option_is_chosen_and_applied() {
        let p = playbook();
        let c = choose(
            &p,
            &Learning::default(),
            Segment::Large,
            T0,
            false,
            &mut Rng::new(1),
        );
        assert_eq!(c.closes_at, T0.plus_millis(168 * 3_600_000));
        assert_eq!(c.steps.len(), 2);
        assert_eq!(c.steps[0].options.len(), 1);
        assert_eq!(c.steps[1].options.len(), 2);
        let offer = c.step_as_run(&p.steps[1]);
        assert_eq!(offer.delay_seconds, 172_800);
        assert!(p.steps[1].discount_options.contains(&offer.discount));
        let trial = c.trial("tok".into(), false);
        assert_eq!(trial.arms.len(), 3);
        assert_eq!(trial.arms[1].option, "172800s");
        assert!(c.trial("tok".into(), true).arms.is_empty());
    }

    #[test]
    fn a_held_out_journey_chooses_nothing_and_a_step_without_options_is_itself() {
        let p = playbook();
        let c = choose(
            &p,
            &Learning::default(),
            Segment::Small,
            T0,
            true,
            &mut Rng::new(1),
        );
        assert!(c.steps.is_empty());
        assert!(matches!(c.step_as_run(&p.steps[0]), Cow::Borrowed(_)));
    }

    #[test]
    fn the_learned_best_wins_mostly_and_exploration_keeps_the_others_alive() {
        let p = playbook();
        let learning = learned();
        let mut counts = [0; 3];
        for seed in 0..2000 {
            let c = choose(
                &p,
                &learning,
                Segment::Large,
                T0,
                false,
                &mut Rng::new(seed),
            );
            let delay = c.step_as_run(&p.steps[0]).delay_seconds;
            counts[p.steps[0]
                .delay_options
                .iter()
                .position(|&d| d == delay)
                .unwrap()] += 1;
        }
        assert!(counts[1] > 1700, "{counts:?}");
        // At least the uniform share goes to the others: two kinds here, so each explores
        // 5.1 % of its choices, a third of which (about 34 of 2,000) are each other delay.
        assert!(counts[0] > 20 && counts[2] > 20, "{counts:?}");
    }

    #[test]
    fn explore_percent_is_the_share_of_journeys_that_take_a_random_option() {
        let learning = learned();
        let explored = |p: &Playbook| {
            (0..4000)
                .filter(|&seed| {
                    choose(p, &learning, Segment::Large, T0, false, &mut Rng::new(seed)).explored
                })
                .count()
        };
        let mut p = playbook();
        // Two kinds with a choice (the reminder's delay, the offer's discount): each explores
        // on its own draw, 10 % of journeys in all, not 19 %.
        assert!((1.0 - explore_rate(&p) - 0.9f64.sqrt()).abs() < 1e-12);
        let n = explored(&p);
        assert!((340..=460).contains(&n), "{n} of 4000 explored");
        p.steps[0].template_options = vec![
            p.steps[0].template.clone(),
            Template {
                name: "cart_reminder_social_proof".into(),
                languages: vec!["en_US".into()],
            },
        ];
        assert!((1.0 - explore_rate(&p) - 0.9f64.cbrt()).abs() < 1e-12);
        let n = explored(&p);
        assert!((340..=460).contains(&n), "{n} of 4000 explored");
        // The offer's single delay option is no choice, and is never counted as explored.
        p.steps[0].delay_options.clear();
        p.steps[0].template_options.clear();
        p.steps[1].discount_options.clear();
        assert_eq!(explored(&p), 0);
        p = playbook();
        p.optimize.explore_percent = 0;
        assert_eq!(explored(&p), 0);
        p.optimize.explore_percent = 100;
        assert_eq!(explored(&p), 4000);
        assert_eq!(explore_rate(&p), 1.0);
    }

    #[test]
    fn a_small_segment_borrows_from_the_others() {
        let p = playbook();
        let learning = learned();
        let mut best = 0;
        for seed in 0..1000 {
            let c = choose(
                &p,
                &learning,
                Segment::Small,
                T0,
                false,
                &mut Rng::new(seed),
            );
            best += usize::from(c.step_as_run(&p.steps[0]).delay_seconds == 10_800);
        }
        assert!(best > 500, "{best}");
    }
}
