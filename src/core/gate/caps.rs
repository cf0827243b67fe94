//! Frequency caps per customer across all their carts (docs/playbook.md `caps`): at most
//! `max_messages_per_customer` marketing messages in any sliding window of `window_days`.
//!
//! The history lives in the shop's ledger, keyed by the customer's phone, so two carts of the
//! same shopper share one budget.

use crate::core::playbook::Caps;
use crate::core::values::time::{Millis, DAY_MS};

/// The longest window a playbook may ask for; sends older than this can never count again,
/// whatever the merchant changes the caps to, so the history forgets them.
pub const MAX_WINDOW_DAYS: u32 = 90;

/// Whether one more message may go out at `now`, given the instants of earlier sends; if not,
/// the first instant at which it could.
///
/// A send at `s` counts while `now < s + window`, so the window slides with `now` and a send
/// stops counting exactly `window_days` after it went out. Sends stamped after `now` (a skewed
/// clock) count too. A cap of zero messages never allows anything (`Err` at the end of time).
pub fn allows(history: &[Millis], caps: &Caps, now: Millis) -> Result<(), Millis> {
    let window = window_ms(caps);
    let mut counting: Vec<Millis> = history
        .iter()
        .copied()
        .filter(|sent| sent.plus_millis(window) > now)
        .collect();
    let max = caps.max_messages_per_customer as usize;
    if counting.len() < max {
        return Ok(());
    }
    // Enough of the oldest counting sends must leave the window to make room for one more.
    counting.sort_unstable();
    let must_expire = counting.len() - max;
    Err(counting
        .get(must_expire)
        .map_or(Millis(i64::MAX), |sent| sent.plus_millis(window)))
}

fn window_ms(caps: &Caps) -> i64 {
    i64::from(caps.window_days) * DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = DAY_MS;
    const T0: Millis = Millis(1_780_000_000_000);

    fn caps(max: u32, days: u32) -> Caps {
        Caps {
            max_messages_per_customer: max,
            window_days: days,
        }
    }

    fn t(ms: i64) -> Millis {
        T0.plus_millis(ms)
    }

    #[test]
    fn under_the_cap_is_allowed() {
        let caps = caps(3, 7);
        assert_eq!(allows(&[], &caps, T0), Ok(()));
        assert_eq!(allows(&[t(-DAY), t(-2 * DAY)], &caps, T0), Ok(()));
    }

    #[test]
    fn at_the_cap_the_oldest_send_sets_the_next_slot() {
        let caps = caps(3, 7);
        let history = [t(-DAY), t(-3 * DAY), t(-2 * DAY)];
        assert_eq!(allows(&history, &caps, T0), Err(t(4 * DAY)));
        // Two sends over the cap: the two oldest must both leave the window.
        let history = [t(-DAY), t(-3 * DAY), t(-2 * DAY), t(-DAY / 2), t(-DAY / 4)];
        assert_eq!(allows(&history, &caps, T0), Err(t(6 * DAY)));
    }

    #[test]
    fn the_window_boundary_is_exclusive() {
        let caps = caps(1, 7);
        let history = [t(-7 * DAY)];
        assert_eq!(allows(&history, &caps, T0), Ok(()), "exactly 7 days ago");
        assert_eq!(allows(&history, &caps, t(-1)), Err(T0), "1 ms earlier");
        let history = [t(-7 * DAY + 1)];
        assert_eq!(allows(&history, &caps, T0), Err(t(1)));
        assert_eq!(allows(&history, &caps, t(1)), Ok(()));
    }

    #[test]
    fn future_sends_count_and_zero_caps_never_allow() {
        assert_eq!(allows(&[t(DAY)], &caps(1, 1), T0), Err(t(2 * DAY)));
        assert_eq!(allows(&[], &caps(0, 7), T0), Err(Millis(i64::MAX)));
        // A zero-day window forgets every send at once.
        assert_eq!(allows(&[T0, T0], &caps(1, 0), T0), Ok(()));
    }

    #[test]
    fn extreme_instants_do_not_overflow() {
        let caps = caps(1, MAX_WINDOW_DAYS);
        assert_eq!(
            allows(&[Millis(i64::MAX)], &caps, Millis(i64::MIN)),
            Err(Millis(i64::MAX))
        );
        assert_eq!(
            allows(&[Millis(i64::MIN)], &caps, Millis(i64::MIN)),
            Err(Millis(i64::MIN + 90 * DAY))
        );
        assert_eq!(allows(&[Millis(i64::MIN)], &caps, Millis(0)), Ok(()));
    }
}
