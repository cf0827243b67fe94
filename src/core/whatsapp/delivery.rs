//! What a refused or failed WhatsApp send means for the step (docs/rules.md §1, rule 5).

use serde::{Deserialize, Serialize};

use crate::core::values::ids::Wamid;
use crate::core::values::time::{Millis, DAY_MS};

/// Meta's per-user marketing limit: this shopper got enough marketing for now.
pub const MARKETING_LIMITED: i64 = 131049;
/// How long no marketing goes to a shopper after [`MARKETING_LIMITED`].
pub const MARKETING_LIMIT_MS: i64 = DAY_MS;
/// Meta refused a marketing message because the shopper stopped marketing from the business.
pub const SHOPPER_STOPPED_MARKETING: i64 = 131050;
/// Meta's "access token expired or invalid".
pub const TOKEN_INVALID: i64 = 190;

/// The outcome of one send attempt, as the shell observed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SendOutcome {
    /// Meta accepted the message (HTTP 200) and gave it this id.
    Accepted { wamid: Wamid },
    /// Meta answered with an error: nothing was sent.
    Rejected { http_status: u16, code: Option<i64> },
    /// The request may have left and we do not know what happened (timeout, network error).
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing was sent and trying again later may work.
    Retry,
    /// Nothing was sent and trying again will not help.
    Final,
}

/// Codes Meta documents as transient: throughput, pair rate, unknown and temporary errors.
const TRANSIENT: &[i64] = &[1, 2, 4, 80007, 130429, 131000, 131016, 131056];

/// Until when a refusal with `code` at `at` bars marketing to the shopper, if it does.
pub fn marketing_barred_until(code: Option<i64>, at: Millis) -> Option<Millis> {
    (code == Some(MARKETING_LIMITED)).then(|| at.plus_millis(MARKETING_LIMIT_MS))
}

pub fn classify(http_status: u16, code: Option<i64>) -> Verdict {
    match code {
        Some(c) if TRANSIENT.contains(&c) => Verdict::Retry,
        Some(_) => Verdict::Final,
        None if http_status == 429 || http_status >= 500 => Verdict::Retry,
        None => Verdict::Final,
    }
}

/// Delay before retry number `attempt` (1-based): exponential from 2 s, capped at 10 min, with
/// up to 50 % jitter taken from `seed` so carts refused together do not come back together.
pub fn backoff_ms(attempt: u32, seed: u64) -> i64 {
    let base = 2_000i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(20));
    let capped = base.min(600_000);
    capped + (seed % (capped as u64 / 2 + 1)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marketing_limit_bars_marketing_for_a_day() {
        let at = Millis(1_000);
        assert_eq!(
            marketing_barred_until(Some(131049), at),
            Some(Millis(1_000 + 86_400_000))
        );
        for other in [None, Some(131026), Some(130429), Some(190)] {
            assert_eq!(marketing_barred_until(other, at), None);
        }
    }

    #[test]
    fn classifies_by_code_before_status() {
        assert_eq!(classify(400, Some(130429)), Verdict::Retry);
        assert_eq!(classify(400, Some(131056)), Verdict::Retry);
        assert_eq!(classify(500, Some(131026)), Verdict::Final);
        assert_eq!(classify(401, Some(190)), Verdict::Final);
        assert_eq!(classify(503, None), Verdict::Retry);
        assert_eq!(classify(429, None), Verdict::Retry);
        assert_eq!(classify(400, None), Verdict::Final);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff_ms(1, 0), 2_000);
        assert_eq!(backoff_ms(3, 0), 8_000);
        assert_eq!(backoff_ms(40, 0), 600_000);
        assert!(backoff_ms(1, u64::MAX) <= 3_000);
        assert!(backoff_ms(1, 777) > 2_000);
    }
}
