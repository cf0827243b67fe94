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
    // Seeded, so these two runs always give the same figures (0.33 and 0.13 of uniform choice's
    // regret, 97 % and 93 % best chosen): the bounds sit a little above them and catch a model
    // that learns markedly worse. The budgets (25 %, 80 %) apply to make bench's mean over 100
    // seeds; one seed alone spreads widely (over seeds 1–200, one run in ten above 0.34).
    for r in &runs {
        assert!(r.regret_ratio <= 0.45, "{r:?}");
        assert!(r.best_chosen >= 0.8, "{r:?}");
    }
    let regret: f64 = runs.iter().map(|r| r.regret_ratio).sum::<f64>() / runs.len() as f64;
    assert!(regret <= 0.3, "{runs:?}");
    let covered: f64 = runs.iter().map(|r| r.lift_covered).sum::<f64>() / runs.len() as f64;
    assert!(covered >= 0.8, "{runs:?}");
}

#[test]
fn the_simulated_playbook_is_valid() {
    let p = optimizer_sim::playbook();
    assert_eq!(cartback::core::playbook::validation::validate(&p), vec![]);
}
