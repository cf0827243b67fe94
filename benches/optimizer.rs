//! The optimizer's budget (docs/budgets.md): the simulation of tests/optimizer_sim over
//! 5,000 journeys for several seeds, and what one choice costs with the largest playbook
//! validation allows, printed as one JSON object.

#[path = "../tests/optimizer_sim/mod.rs"]
mod optimizer_sim;

use std::time::Instant;

use cartback::core::optimizer::{
    choose, combinations, Learning, Rng, Segment, Trial, MAX_COMBINATIONS,
};
use cartback::core::playbook::{Discount, Playbook, Template};
use cartback::core::values::time::Millis;
use optimizer_sim::RunFigures;

/// The budgets hold for the mean over these seeds; the worst seed is shown beside it.
/// One seed's regret spreads widely (a standard deviation near 0.1, and a long tail of runs
/// where an early unlucky option is not tried again for weeks), so 20 seeds' mean moves by
/// ±0.03 with the seeds chosen: 100 make its standard error about 0.01.
/// `OPTIMIZER_SEEDS=201-400` runs other seeds, to compare a change on a second sample.
const SEEDS: (u64, u64) = (1, 100);

fn seeds() -> (u64, u64) {
    std::env::var("OPTIMIZER_SEEDS")
        .ok()
        .and_then(|v| {
            let (first, last) = v.split_once('-')?;
            Some((first.trim().parse().ok()?, last.trim().parse().ok()?))
        })
        .unwrap_or(SEEDS)
}

fn main() {
    let (first, last) = seeds();
    // Two threads, one per core of the machines make bench runs on; each run is seeded, so
    // the figures do not depend on the threads.
    let runs: Vec<RunFigures> = std::thread::scope(|scope| {
        let odd = scope.spawn(|| runs((first..=last).step_by(2)));
        let mut runs = runs((first + 1..=last).step_by(2));
        runs.extend(odd.join().unwrap_or_default());
        runs.sort_by_key(|r| r.seed);
        runs
    });
    let n = runs.len().max(1) as f64;
    let mean = |f: fn(&RunFigures) -> f64| runs.iter().map(f).sum::<f64>() / n;
    let worst_regret = runs.iter().map(|r| r.regret_ratio).fold(0.0, f64::max);
    let worst_best = runs.iter().map(|r| r.best_chosen).fold(1.0, f64::min);
    let regret = mean(|r| r.regret_ratio);
    let regret_se = (runs
        .iter()
        .map(|r| (r.regret_ratio - regret).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0)
        / n)
        .sqrt();
    let share = |f: fn(&RunFigures) -> &[f64]| -> Vec<f64> {
        let width = runs.first().map_or(0, |r| f(r).len());
        (0..width)
            .map(|i| runs.iter().map(|r| f(r)[i]).sum::<f64>() / n)
            .collect()
    };
    // `make bench`'s table (tests/bench/run.mjs) reads the two budget figures at the top: the
    // means over the seeds, with the worst run beside them.
    let summary = serde_json::json!({
        "regret_vs_random": regret,
        "regret_vs_random_standard_error": regret_se,
        "best_chosen_last_1000": mean(|r| r.best_chosen),
        "regret_vs_random_worst": worst_regret,
        "best_chosen_last_1000_worst": worst_best,
        "seeds": runs.len(),
        "choose_us_largest_playbook": choose_cost(&largest()),
        "choose_us_simulated_playbook": choose_cost(&optimizer_sim::playbook()),
        "optimizer": {
            "journeys_per_run": 5000,
            "runs": runs,
            "regret_ratio_mean": regret,
            "regret_ratio_standard_error": regret_se,
            "regret_by_segment": share(|r| &r.regret_by_segment),
            "regret_by_block": share(|r| &r.regret_by_block),
            "regret_by_kind": share(|r| &r.regret_by_kind),
            "regret_by_segment_and_kind": share(|r| r.regret_by_segment_and_kind.as_flattened())
                .chunks(3)
                .collect::<Vec<_>>(),
            "regret_ratio_max": worst_regret,
            "best_chosen_mean": mean(|r| r.best_chosen),
            "best_chosen_min": worst_best,
            "lift_covered_mean": mean(|r| r.lift_covered),
            "budget": {"regret_ratio_mean_max": 0.25, "best_chosen_mean_min": 0.8, "lift_covered_mean_min": 0.9}
        }
    });
    println!("{summary}");
}

fn runs(seeds: impl Iterator<Item = u64>) -> Vec<RunFigures> {
    seeds
        .map(|seed| optimizer_sim::run(seed, 5000, 120))
        .collect()
}

/// The largest playbook validation allows: options making `MAX_COMBINATIONS` (64)
/// combinations, 12 options in all (4 reminder delays × 4 templates × 4 offers).
fn largest() -> Playbook {
    let mut p = Playbook::default();
    p.optimize.enabled = true;
    p.steps[0].delay_options = vec![1800, 3600, 10_800, 86_400];
    p.steps[0].template_options = (0..4)
        .map(|k| Template {
            name: format!("template_{k}"),
            languages: vec!["en_US".into()],
        })
        .collect();
    p.steps[1].discount_options = (0..4u8)
        .map(|k| {
            (k > 0).then(|| Discount {
                percent: 5 * k,
                expires_after_hours: 48,
            })
        })
        .collect();
    assert_eq!(combinations(&p), MAX_COMBINATIONS);
    p
}

/// Microseconds to choose a journey's options with playbook `p`, after 5,000 journeys spread
/// over its configurations.
fn choose_cost(p: &Playbook) -> f64 {
    let t0 = Millis(1_800_000_000_000);
    let mut learning = Learning::default();
    let mut rng = Rng::new(7);
    for j in 0..5000 {
        let segment = Segment::ALL[j % 4];
        let choice = choose(p, &Learning::default(), segment, t0, false, &mut rng);
        let mut trial: Trial = choice.trial(format!("c{j}").into(), false);
        if rng.uniform() < 0.15 {
            trial.record_order(10_000, t0);
        }
        let matured = trial.matures_at();
        learning.fold(&mut trial, matured);
    }
    let runs = 200;
    let started = Instant::now();
    for j in 0..runs {
        std::hint::black_box(choose(
            p,
            &learning,
            Segment::ALL[j % 4],
            t0,
            false,
            &mut rng,
        ));
    }
    started.elapsed().as_secs_f64() * 1e6 / runs as f64
}
