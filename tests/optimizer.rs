//! The optimizer against a known truth, on virtual time (tests/optimizer_sim). Seeded, so the
//! figures are the same on every run; the budgets are asserted loosely, the full figures are
//! `cargo bench --bench optimizer`'s.

mod optimizer_sim;

#[test]
fn it_learns_the_best_options_and_reports_the_lift_honestly() {
    let runs: Vec<_> = (1..=3)
        .map(|seed| optimizer_sim::run(seed, 5000, 120))
        .collect();
    for r in &runs {
        // Looser than the budgets (25 %, 80 %): those are make bench's, over more seeds.
        assert!(r.regret_ratio <= 0.4, "{r:?}");
        assert!(r.best_chosen >= 0.65, "{r:?}");
    }
    let covered: f64 = runs.iter().map(|r| r.lift_covered).sum::<f64>() / runs.len() as f64;
    assert!(covered >= 0.8, "{runs:?}");
}

#[test]
fn the_simulated_playbook_is_valid() {
    let p = optimizer_sim::playbook();
    assert_eq!(cartback::core::playbook::validation::validate(&p), vec![]);
}
