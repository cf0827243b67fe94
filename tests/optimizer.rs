//! The optimizer against a known truth, on virtual time (tests/optimizer_sim). Seeded, so the
//! figures are the same on every run; the budgets are asserted loosely, the full figures are
//! `cargo bench --bench optimizer`'s.

mod optimizer_sim;

#[test]
fn it_learns_the_best_options_and_reports_the_lift_honestly() {
    // Two seeds on two threads, so the unoptimized test build stays within a minute.
    let runs: Vec<_> = std::thread::scope(|scope| {
        let second = scope.spawn(|| optimizer_sim::run(2, 5000, 120));
        let first = optimizer_sim::run(1, 5000, 120);
        vec![first, second.join().expect("the second run")]
    });
    // Looser than the budgets (25 %, 80 %), which apply to make bench's mean over 20 seeds:
    // single seeds spread widely (over seeds 1–40 regret runs from 0.15 to 0.46 of uniform
    // choice's, seed 1 the worst), while an optimizer that learned nothing would be near 1.
    for r in &runs {
        assert!(r.regret_ratio <= 0.65, "{r:?}");
        assert!(r.best_chosen >= 0.65, "{r:?}");
    }
    let regret: f64 = runs.iter().map(|r| r.regret_ratio).sum::<f64>() / runs.len() as f64;
    assert!(regret <= 0.45, "{runs:?}");
    let covered: f64 = runs.iter().map(|r| r.lift_covered).sum::<f64>() / runs.len() as f64;
    assert!(covered >= 0.8, "{runs:?}");
}

#[test]
fn the_simulated_playbook_is_valid() {
    let p = optimizer_sim::playbook();
    assert_eq!(cartback::core::playbook::validation::validate(&p), vec![]);
}
