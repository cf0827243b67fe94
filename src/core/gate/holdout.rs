//! The holdout group (docs/playbook.md `holdout_percent`, docs/rules.md §4): a random share of carts is never
//! messaged, so the dashboard can compare their recovery rate with the messaged carts' and
//! answer honestly whether the messages caused the sales.
//!
//! Statistics here use floats: they are estimates, not money.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Whether this checkout belongs to the held-out group.
///
/// The bucket is drawn from SHA-256 of the shop and the token, not from a random number: every
/// retry, replayed webhook and Durable Object restart puts the cart in the same group, and a
/// cart in the group at 10 % stays in it when the merchant raises the share to 25 %.
pub fn in_holdout(shop: &str, checkout_token: &str, percent: u8) -> bool {
    bucket(shop, checkout_token) < u64::from(percent)
}

/// A uniform bucket in `0..100`.
fn bucket(shop: &str, checkout_token: &str) -> u64 {
    // The separator keeps ("ab", "c") and ("a", "bc") apart; neither part can contain NUL.
    let digest = Sha256::new()
        .chain_update(shop.as_bytes())
        .chain_update([0])
        .chain_update(checkout_token.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Multiply-shift maps 64 random bits onto 0..100 with a bias below 2^-57.
    ((u128::from(u64::from_be_bytes(first)) * 100) >> 64) as u64
}

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval of a proportion `successes / trials`: unlike the textbook
/// `p ± z·√(p(1−p)/n)` it stays within `[0, 1]` and is honest for small groups and rates near
/// 0, which is where a small shop's holdout lives. No trials: `(0, 1)`, nothing is known.
/// Successes beyond `trials` are counted as `trials`.
pub fn wilson_interval(successes: u64, trials: u64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = rate(successes, trials);
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn rate(successes: u64, trials: u64) -> f64 {
    successes.min(trials) as f64 / trials as f64
}

/// One group of the experiment: journeys assigned to it, and how many of them were recovered.
///
/// Both groups must be counted the same way for the comparison to mean anything: every
/// eligible journey assigned to the group, whether or not a message actually went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub journeys: u64,
    pub recovered: u64,
}

/// The messaged group's recovery rate beside the held-out group's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Lift {
    pub messaged_rate: f64,
    pub messaged_interval: (f64, f64),
    pub holdout_rate: f64,
    pub holdout_interval: (f64, f64),
    /// `messaged_rate - holdout_rate`: the share of carts the messages brought back.
    pub difference: f64,
    /// 95 % interval of the difference (Newcombe's hybrid score method, built from the two
    /// Wilson intervals, so it too behaves with small groups).
    pub difference_interval: (f64, f64),
    /// `difference / holdout_rate`; `None` when the held-out group recovered nothing.
    pub relative: Option<f64>,
    /// The interval of the difference excludes zero: unlikely to be chance.
    pub significant: bool,
}

/// Compares the two groups; `None` while either is empty.
pub fn lift(messaged: Group, holdout: Group) -> Option<Lift> {
    if messaged.journeys == 0 || holdout.journeys == 0 {
        return None;
    }
    let p1 = rate(messaged.recovered, messaged.journeys);
    let p2 = rate(holdout.recovered, holdout.journeys);
    let (l1, u1) = wilson_interval(messaged.recovered, messaged.journeys);
    let (l2, u2) = wilson_interval(holdout.recovered, holdout.journeys);
    let difference = p1 - p2;
    let low = difference - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = difference + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some(Lift {
        messaged_rate: p1,
        messaged_interval: (l1, u1),
        holdout_rate: p2,
        holdout_interval: (l2, u2),
        difference,
        difference_interval: (low, high),
        relative: (p2 > 0.0).then(|| difference / p2),
        significant: low > 0.0 || high < 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "demo-store.myshopify.com";

    /// Tokens shaped like Shopify's (32 hex digits), from a fixed-seed generator.
    fn tokens(count: usize) -> Vec<String> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..count)
            .map(|_| {
                let mut next = || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state
                };
                format!("{:016x}{:016x}", next(), next())
            })
            .collect()
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-4
    }

    #[test]
    fn assignment_is_deterministic_and_depends_on_the_shop() {
        let tokens = tokens(200);
        for token in &tokens {
            assert_eq!(in_holdout(SHOP, token, 30), in_holdout(SHOP, token, 30));
        }
        let differs = tokens
            .iter()
            .filter(|t| bucket(SHOP, t) != bucket("other.myshopify.com", t))
            .count();
        assert!(differs > 150, "{differs}");
        assert_ne!(bucket("ab", "c"), bucket("a", "bc"));
    }

    #[test]
    fn zero_never_and_a_hundred_always() {
        for token in tokens(1000) {
            assert!(!in_holdout(SHOP, &token, 0));
            assert!(in_holdout(SHOP, &token, 100));
            assert!(in_holdout(SHOP, &token, u8::MAX));
        }
        assert!(!in_holdout("", "", 0));
        assert!(in_holdout("", "", 100));
    }

    #[test]
    fn the_observed_share_matches_the_percentage() {
        let tokens = tokens(20_000);
        for percent in [10u8, 25] {
            let held = tokens
                .iter()
                .filter(|t| in_holdout(SHOP, t, percent))
                .count();
            let share = held as f64 / tokens.len() as f64 * 100.0;
            assert!(
                (share - f64::from(percent)).abs() <= 1.5,
                "{percent} %: {share}"
            );
        }
        let buckets: Vec<u64> = tokens.iter().map(|t| bucket(SHOP, t)).collect();
        assert!(buckets.iter().all(|&b| b < 100));
        assert!(
            (0..100).all(|b| buckets.contains(&b)),
            "every bucket is used"
        );
    }

    #[test]
    fn raising_the_share_keeps_earlier_holdouts() {
        for token in tokens(2000) {
            if in_holdout(SHOP, &token, 10) {
                assert!(in_holdout(SHOP, &token, 25));
            }
        }
    }

    #[test]
    fn wilson_intervals() {
        let (low, high) = wilson_interval(81, 263);
        assert!(close(low, 0.2553) && close(high, 0.3662), "{low} {high}");
        let (low, high) = wilson_interval(0, 10);
        assert!(low == 0.0 && close(high, 0.2775), "{low} {high}");
        let (low, high) = wilson_interval(10, 10);
        assert!(close(low, 0.7225) && high <= 1.0, "{low} {high}");
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
        assert_eq!(wilson_interval(7, 5), wilson_interval(5, 5));
        let (low, high) = wilson_interval(u64::MAX / 2, u64::MAX);
        assert!(low <= 0.5 && 0.5 <= high);
    }

    #[test]
    fn lift_follows_newcombe() {
        // Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80.
        let lift = lift(
            Group {
                journeys: 70,
                recovered: 56,
            },
            Group {
                journeys: 80,
                recovered: 48,
            },
        )
        .unwrap();
        assert!(close(lift.difference, 0.2));
        let (low, high) = lift.difference_interval;
        assert!(close(low, 0.0524) && close(high, 0.3339), "{low} {high}");
        assert!(lift.significant);
        assert!(close(lift.relative.unwrap(), 0.2 / 0.6));
        assert!(close(lift.messaged_rate, 0.8) && close(lift.holdout_rate, 0.6));
    }

    #[test]
    fn small_or_empty_groups_are_not_significant() {
        let messaged = Group {
            journeys: 20,
            recovered: 3,
        };
        let holdout = Group {
            journeys: 5,
            recovered: 0,
        };
        let lift = lift(messaged, holdout).unwrap();
        assert!(!lift.significant);
        assert_eq!(lift.relative, None);
        let (low, high) = lift.difference_interval;
        assert!(low < 0.0 && high > 0.0);
        assert_eq!(
            super::lift(
                messaged,
                Group {
                    journeys: 0,
                    recovered: 0
                }
            ),
            None
        );
        assert_eq!(
            super::lift(
                Group {
                    journeys: 0,
                    recovered: 0
                },
                holdout
            ),
            None
        );
    }

    #[test]
    fn lift_serializes_for_the_dashboard() {
        let lift = lift(
            Group {
                journeys: 100,
                recovered: 20,
            },
            Group {
                journeys: 100,
                recovered: 10,
            },
        )
        .unwrap();
        let json = serde_json::to_value(lift).unwrap();
        assert_eq!(json["messaged_rate"], 0.2);
        assert!(json["difference_interval"].as_array().unwrap().len() == 2);
    }
}
