//! A native simulation of the optimizer on virtual time, against a synthetic population whose
//! recovery curves are known: shared by `cargo test --test optimizer` (short, loose budgets)
//! and `cargo bench --bench optimizer` (the figures of docs/budgets.md).
//!
//! The population (per journey, additive on the recovery probability, by cart-value segment):
//! - held out, no message: 8 % come back on their own;
//! - the reminder's delay: after 30 min −3 points (below the held-out group, as Li, Luo, Lu &
//!   Moriguchi 2021 found for reminders within the hour), after 3 h +6, after a day +2;
//! - the reminder's template: the social-proof one +3 points;
//! - the offer's 10 % discount: +0.5 points for small carts, +0.8 for medium, +10 for large,
//!   and 10 % off the order: it pays for large carts only.
//!
//! Journeys arrive evenly over 120 days with 10 % held out; a recovered journey's order comes
//! evenly within 6 days and is known only from then; a trial settles when its 7-day window
//! closes (plus the grace), and before that the choices see it as pending, as in the shop
//! ledger.

use cartback::core::optimizer::report::report;
use cartback::core::optimizer::{choose, Learning, Rng, Segment, Trial};
use cartback::core::playbook::{Discount, Playbook, Template, Variable};
use cartback::core::values::time::Millis;
use std::collections::VecDeque;

const T0: Millis = Millis(1_800_000_000_000);
const DAY_MS: i64 = 86_400_000;
const HOLDOUT_RATE: f64 = 0.08;

pub fn playbook() -> Playbook {
    let mut p = Playbook::default();
    p.optimize.enabled = true;
    p.holdout_percent = 10;
    p.steps[0].delay_options = vec![1800, 10_800, 86_400];
    p.steps[0].template_options = vec![
        p.steps[0].template.clone(),
        Template {
            name: "cart_reminder_social_proof".into(),
            languages: vec!["en_US".into()],
        },
    ];
    p.steps[1].delay_seconds = 172_800;
    p.steps[1].when = None;
    p.steps[1].body_params = vec![Variable::FirstName];
    p.steps[1].discount_options = vec![
        None,
        Some(Discount {
            percent: 10,
            expires_after_hours: 48,
        }),
    ];
    p
}

/// One configuration: (delay index, template index, discount index).
type Config = [usize; 3];

const SEGMENTS: [(Segment, f64, i64, i64); 3] = [
    (Segment::Small, 0.40, 1_500, 4_500),
    (Segment::Medium, 0.35, 5_500, 14_000),
    (Segment::Large, 0.25, 16_000, 40_000),
];

fn recovery(segment: Segment, c: Config) -> f64 {
    let delay = [-0.03, 0.06, 0.02][c[0]];
    let template = [0.0, 0.03][c[1]];
    let offer = match segment {
        Segment::Small => 0.005,
        Segment::Medium => 0.008,
        _ => 0.10,
    };
    HOLDOUT_RATE + delay + template + if c[2] == 1 { offer } else { 0.0 }
}

fn net_share(c: Config) -> f64 {
    if c[2] == 1 {
        0.9
    } else {
        1.0
    }
}

/// The true expected reward per journey (revenue net of discounts, minor units).
fn reward(segment: Segment, mean_value: f64, c: Config) -> f64 {
    recovery(segment, c) * mean_value * net_share(c)
}

fn configs() -> Vec<Config> {
    let mut all = vec![];
    for d in 0..3 {
        for t in 0..2 {
            for k in 0..2 {
                all.push([d, t, k]);
            }
        }
    }
    all
}

struct Pending {
    trial: Trial,
    config: Config,
    truth: f64,
    /// The order's revenue and time, until it comes.
    order: Option<(i64, Millis)>,
}

impl Pending {
    fn truth(&self) -> (Segment, Option<Config>, f64) {
        let config = (!self.trial.holdout).then_some(self.config);
        (self.trial.segment, config, self.truth)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RunFigures {
    pub seed: u64,
    pub journeys: usize,
    /// Regret of the optimizer over regret of uniformly random choice, same journeys.
    pub regret_ratio: f64,
    /// Share of choices in the last 1,000 journeys that were the segment's best.
    pub best_chosen: f64,
    /// Of the reported lifts over the held-out group (the option each decision would choose),
    /// the share whose 90 % interval holds the true lift.
    pub lift_covered: f64,
    pub lifts_checked: usize,
    /// Where the regret is, each as a share of the run's uniform regret: by segment (small,
    /// medium, large), by block of 1,000 journeys, and by kind of option (delay, template,
    /// offer: that kind's choice replaced by the segment's best, the others as chosen).
    pub regret_by_segment: [f64; 3],
    pub regret_by_block: Vec<f64>,
    pub regret_by_kind: [f64; 3],
    /// The same by kind within each segment (small, medium, large).
    pub regret_by_segment_and_kind: [[f64; 3]; 3],
}

pub fn run(seed: u64, journeys: usize, days: i64) -> RunFigures {
    let p = playbook();
    let mut rng = Rng::new(seed);
    let mut learning = Learning::default();
    // Trials in their window, with their options, true expected reward and coming order.
    let mut pending: VecDeque<Pending> = VecDeque::new();
    // Counted trials' options and true expected rewards, for the truth of the lifts.
    let mut counted: Vec<(Segment, Option<Config>, f64)> = vec![];
    let (mut regret, mut uniform_regret) = (0.0, 0.0);
    let (mut best_hits, mut best_total) = (0usize, 0usize);
    let mut by_segment = [0.0; 3];
    let mut by_segment_and_kind = [[0.0; 3]; 3];
    let mut by_block = vec![0.0; journeys.div_ceil(1000)];
    let spacing = days * DAY_MS / journeys as i64;
    for j in 0..journeys {
        let now = T0.plus_millis(j as i64 * spacing);
        for p in pending.iter_mut() {
            if let Some((revenue, at)) = p.order.filter(|&(_, at)| at <= now) {
                p.trial.record_order(revenue, at);
                p.order = None;
            }
        }
        while pending.front().is_some_and(|p| p.trial.matures_at() <= now) {
            let mut p = pending.pop_front().expect("a pending trial");
            learning.fold(&mut p.trial, now);
            counted.push(p.truth());
        }
        let known = learning.with_pending(pending.iter().map(|p| &p.trial), now);
        let u = rng.uniform();
        let mut cumulative = 0.0;
        let &(segment, _, low, high) = SEGMENTS
            .iter()
            .find(|(_, share, _, _)| {
                cumulative += share;
                u < cumulative
            })
            .unwrap_or(&SEGMENTS[2]);
        let mean_value = (low + high) as f64 / 2.0;
        let holdout = rng.uniform() < f64::from(p.holdout_percent) / 100.0;
        let mut journey_rng = Rng::new(rng.next_u64());
        let choice = choose(&p, &known, segment, now, holdout, &mut journey_rng);
        let config = if holdout {
            [0, 0, 0]
        } else {
            let run_reminder = choice.step_as_run(&p.steps[0]);
            let run_offer = choice.step_as_run(&p.steps[1]);
            [
                p.steps[0]
                    .delay_options
                    .iter()
                    .position(|&d| d == run_reminder.delay_seconds),
                p.steps[0]
                    .template_options
                    .iter()
                    .position(|t| *t == run_reminder.template),
                p.steps[1]
                    .discount_options
                    .iter()
                    .position(|d| *d == run_offer.discount),
            ]
            .map(|i| i.expect("a chosen option is one of the step's"))
        };
        let (rate, truth) = if holdout {
            (HOLDOUT_RATE, HOLDOUT_RATE * mean_value)
        } else {
            let all = configs();
            let rewards: Vec<f64> = all
                .iter()
                .map(|&c| reward(segment, mean_value, c))
                .collect();
            let best = rewards.iter().copied().fold(f64::MIN, f64::max);
            let mine = reward(segment, mean_value, config);
            regret += best - mine;
            uniform_regret += best - rewards.iter().sum::<f64>() / rewards.len() as f64;
            let best_config = all[rewards.iter().position(|&r| r == best).unwrap_or(0)];
            let tier = SEGMENTS.iter().position(|s| s.0 == segment).unwrap_or(2);
            by_segment[tier] += best - mine;
            by_block[j / 1000] += best - mine;
            for (kind, regret) in by_segment_and_kind[tier].iter_mut().enumerate() {
                let mut better = config;
                better[kind] = best_config[kind];
                *regret += reward(segment, mean_value, better) - mine;
            }
            if j >= journeys.saturating_sub(1000) {
                best_total += 3;
                best_hits += (0..3).filter(|&i| config[i] == best_config[i]).count();
            }
            (recovery(segment, config), mine)
        };
        let trial = choice.trial(format!("c{j}").into(), holdout);
        // Every journey takes the same draws whatever is chosen, so two models meet the same
        // shoppers: the same segments, holdout, values and order times.
        let [u, v, w] = [rng.uniform(), rng.uniform(), rng.uniform()];
        let order = (u < rate).then(|| {
            let value = low + (v * (high - low) as f64) as i64;
            let revenue = (value as f64 * net_share(config)).round() as i64;
            (revenue, now.plus_millis((w * 6.0 * DAY_MS as f64) as i64))
        });
        pending.push_back(Pending {
            trial,
            config,
            truth,
            order,
        });
    }
    // The report as the shop ledger gives it: settled and pending trials.
    let end = T0.plus_millis(journeys as i64 * spacing);
    let known = learning.with_pending(pending.iter().map(|p| &p.trial), end);
    counted.extend(pending.iter().map(Pending::truth));
    let (covered, checked) = lift_coverage(&p, &known, &counted, &mut rng);
    RunFigures {
        seed,
        journeys,
        regret_ratio: regret / uniform_regret,
        best_chosen: best_hits as f64 / best_total.max(1) as f64,
        lift_covered: covered as f64 / checked.max(1) as f64,
        lifts_checked: checked,
        regret_by_segment: by_segment.map(|r| r / uniform_regret),
        regret_by_block: by_block.iter().map(|r| r / uniform_regret).collect(),
        regret_by_kind: [0, 1, 2]
            .map(|k| by_segment_and_kind.iter().map(|s| s[k]).sum::<f64>() / uniform_regret),
        regret_by_segment_and_kind: by_segment_and_kind.map(|k| k.map(|r| r / uniform_regret)),
    }
}

/// For every decision the report makes, is the true lift of the option it would choose inside
/// the reported 90 % interval? The truth is the mean true reward of the settled journeys that
/// used the option (the other choices as they were made) minus the held-out group's.
fn lift_coverage(
    p: &Playbook,
    learning: &Learning,
    counted: &[(Segment, Option<Config>, f64)],
    rng: &mut Rng,
) -> (usize, usize) {
    let r = report(p, learning, rng);
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (mut covered, mut checked) = (0, 0);
    for d in &r.decisions {
        let (slot, labels): (usize, Vec<String>) = match (d.step.as_str(), d.dimension) {
            ("reminder", cartback::core::optimizer::Dimension::Delay) => {
                (0, vec!["1800s".into(), "10800s".into(), "86400s".into()])
            }
            ("reminder", _) => (
                1,
                vec!["cart_reminder".into(), "cart_reminder_social_proof".into()],
            ),
            _ => (2, vec!["none".into(), "10%/48h".into()]),
        };
        let Some(option) = d.options.iter().find(|o| o.option == d.would_choose) else {
            continue;
        };
        let index = labels.iter().position(|l| *l == option.option);
        let used: Vec<f64> = counted
            .iter()
            .filter(|(s, c, _)| *s == d.segment && c.is_some_and(|c| Some(c[slot]) == index))
            .map(|(_, _, t)| *t)
            .collect();
        let held: Vec<f64> = counted
            .iter()
            .filter(|(s, c, _)| *s == d.segment && c.is_none())
            .map(|(_, _, t)| *t)
            .collect();
        let truth = mean(used) - mean(held);
        // A run holds out 10 %: every reported option has a lift.
        let [low, high] = option.lift_interval.expect("a held-out group");
        checked += 1;
        covered += usize::from(low <= truth && truth <= high);
    }
    (covered, checked)
}
