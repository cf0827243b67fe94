//! Send pacing per WhatsApp number: each send takes the next free slot, `1/rate` seconds after
//! the previous one, so a burst of due carts is spread out instead of failing with 130429.

/// Microseconds, so that rates that do not divide a second (80/s = 12.5 ms) do not drift.
pub type Micros = i64;

/// Sends are spaced for this share of the number's limit: alarms fire a few milliseconds early
/// or late, and the headroom absorbs that jitter instead of Meta answering 130429.
pub const HEADROOM_PERCENT: i64 = 95;

/// While a backlog is being spread, slots are handed out at least this far ahead: the answer
/// must reach the cart before its slot, or late answers would all send at once.
pub const LEAD_MS: i64 = 1500;

/// The slot granted to a send asked for at `now_ms`, and the next free slot after it. An idle
/// number sends at once; behind a backlog, each send takes the next slot.
pub fn take_slot(next_free: Micros, now_ms: i64, per_second: u32) -> (i64, Micros) {
    let interval = 100_000_000 / (i64::from(per_second.max(1)) * HEADROOM_PERCENT);
    let now = now_ms.saturating_mul(1000);
    let slot = if next_free <= now {
        now
    } else {
        next_free.max(now.saturating_add(LEAD_MS * 1000))
    };
    (slot.div_euclid(1000), slot.saturating_add(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_number_sends_at_once() {
        assert_eq!(take_slot(0, 5_000, 80), (5_000, 5_013_157));
    }

    #[test]
    fn a_burst_is_spread_at_the_rate() {
        let mut next = 0;
        let slots: Vec<i64> = (0..160)
            .map(|_| {
                let (slot, n) = take_slot(next, 1_000, 80);
                next = n;
                slot
            })
            .collect();
        assert_eq!(slots[0], 1_000);
        // Behind the first, the backlog starts far enough ahead for answers to arrive.
        assert_eq!(slots[1], 2_500);
        // 76 a second: 95 % of the limit, never more than 80 in any one-second window.
        for (i, s) in slots.iter().enumerate() {
            let in_window = slots[i..].iter().take_while(|t| **t < s + 1000).count();
            assert!(in_window <= 77, "{in_window}");
        }
        assert!(slots[159] - slots[0] >= 2_000);
    }

    #[test]
    fn a_zero_rate_is_treated_as_one_per_second() {
        assert_eq!(take_slot(0, 0, 0), (0, 1_052_631));
    }
}
