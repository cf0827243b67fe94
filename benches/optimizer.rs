//! The optimizer's budget (docs/budgets.md): the simulation of tests/optimizer_sim over
//! 5,000 journeys for several seeds, printed as one JSON object.

#[path = "../tests/optimizer_sim/mod.rs"]
mod optimizer_sim;

const SEEDS: u64 = 10;

fn main() {
    let runs: Vec<_> = (1..=SEEDS)
        .map(|seed| optimizer_sim::run(seed, 5000, 120))
        .collect();
    let n = runs.len() as f64;
    let mean = |f: fn(&optimizer_sim::RunFigures) -> f64| runs.iter().map(f).sum::<f64>() / n;
    // `make bench`'s table (tests/bench/run.mjs) reads the worst run's figures at the top.
    let summary = serde_json::json!({
        "regret_vs_random": runs.iter().map(|r| r.regret_ratio).fold(0.0, f64::max),
        "best_chosen_last_1000": runs.iter().map(|r| r.best_chosen).fold(1.0, f64::min),
        "optimizer": {
            "journeys_per_run": 5000,
            "runs": runs,
            "regret_ratio_mean": mean(|r| r.regret_ratio),
            "regret_ratio_max": runs.iter().map(|r| r.regret_ratio).fold(0.0, f64::max),
            "best_chosen_mean": mean(|r| r.best_chosen),
            "best_chosen_min": runs.iter().map(|r| r.best_chosen).fold(1.0, f64::min),
            "lift_covered_mean": mean(|r| r.lift_covered),
            "budget": {"regret_ratio_max": 0.25, "best_chosen_min": 0.8, "lift_covered_min": 0.9}
        }
    });
    println!("{summary}");
}
