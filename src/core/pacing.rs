//! Send pacing per WhatsApp number: each send takes the next free slot, `1/rate` seconds after
//! the previous one, so a burst of due carts is spread out instead of failing with 130429.

/// Microseconds, so that rates that do not divide a second (80/s = 12.5 ms) do not drift.
pub type Micros = i64;

/// The slot granted to a send asked for at `now_ms`, and the next free slot after it.
pub fn take_slot(next_free: Micros, now_ms: i64, per_second: u32) -> (i64, Micros) {
    let interval = 1_000_000 / i64::from(per_second.max(1));
    let slot = next_free.max(now_ms.saturating_mul(1000));
    (slot.div_euclid(1000), slot.saturating_add(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_number_sends_at_once() {
        assert_eq!(take_slot(0, 5_000, 80), (5_000, 5_012_500));
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
        assert_eq!(slots[79], 1_987);
        assert_eq!(slots[80], 2_000);
        assert_eq!(slots[159], 2_987);
        // Never more than 80 in any one-second window.
        for (i, s) in slots.iter().enumerate() {
            assert!(slots[i..].iter().take_while(|t| **t < s + 1000).count() <= 80);
        }
    }

    #[test]
    fn a_zero_rate_is_treated_as_one_per_second() {
        assert_eq!(take_slot(0, 0, 0), (0, 1_000_000));
    }
}
