//! Send pacing per WhatsApp number. Each send owns a slot, `1/rate` seconds wide, on the
//! number's calendar. A step takes its slot when it is *scheduled* (the cart's alarm is then set
//! to the slot), so carts due in the same second wake one slot apart instead of all at once;
//! a send that holds none (a retry, a step whose hold was lost) takes the first free slot when
//! the gate clears it.

/// Microseconds, so that rates that do not divide a second (80/s = 12.5 ms) do not drift.
pub type Micros = i64;

/// Sends are spaced for this share of the number's limit: alarms fire a few milliseconds early
/// or late, and the headroom absorbs that jitter instead of Meta answering 130429. Bursts of
/// 2,000 in local workerd reach their sends 5 ms after the slot (p99 29 ms, max 62–92 ms): 95 %
/// and 97 % alike refused none, and 97 % sustains 96 % of the limit (docs/budgets.md). Clumps
/// from a stalled runtime are the crowding check's to hold back, not the headroom's.
pub const HEADROOM_PERCENT: i64 = 97;

/// A send cleared behind a backlog is given a slot at least this far ahead: the answer must
/// reach the cart before its slot, or late answers would all send at once.
pub const LEAD_MS: i64 = 1500;

/// A held slot its cart reaches later than this is given up for a fresh one: sending in it now
/// would crowd the sends of the carts that are on time.
pub const HELD_LATE_MS: i64 = 1000;

/// A step whose slot passed before it could send (a grant woken late, an answer that came late)
/// asks for a fresh one at most this many times; after that it sends late rather than never,
/// as in a runtime that stalls past every slot.
pub const LATE_ROUNDS: u32 = 3;

/// Whether a step that reached its send at `now_ms`, for a slot at `slot_ms`, after `rounds`
/// such rounds, should ask for a fresh slot instead of sending.
pub fn asks_again(slot_ms: i64, now_ms: i64, rounds: u32) -> bool {
    now_ms.saturating_sub(slot_ms) > HELD_LATE_MS && rounds < LATE_ROUNDS
}

/// Sends may go at once while fewer than this share of the number's limit went in the last
/// second. The calendar spaces them at `HEADROOM_PERCENT`; when alarms ring late in a clump,
/// carts still in their held slots would otherwise all send together and cross the limit.
pub const CROWDED_PERCENT: u32 = 98;

/// Whether a send now, after `sent` sends in the last second, would crowd the number.
pub fn crowded(sent: u32, per_second: u32) -> bool {
    sent >= (per_second.max(1) * CROWDED_PERCENT / 100).max(1)
}

/// The width of one slot at `per_second` sends a second, headroom included.
pub fn interval(per_second: u32) -> Micros {
    100_000_000 / (i64::from(per_second.max(1)) * HEADROOM_PERCENT)
}

/// The first slot at or after `from` that none of `taken` overlaps. `taken` are slot starts in
/// ascending order, from at least one interval before `from`.
pub fn free_slot(from: Micros, interval: Micros, taken: &[Micros]) -> Micros {
    let mut slot = from;
    for &t in taken {
        if t >= slot + interval {
            break;
        }
        if t + interval > slot {
            slot = t + interval;
        }
    }
    slot
}

/// The slot of a send the gate clears at `now_ms` without one held: at once when the number is
/// free now, else behind the backlog, at least `LEAD_MS` ahead.
pub fn slot_now(now_ms: i64, interval: Micros, taken: &[Micros]) -> Micros {
    let now = now_ms.saturating_mul(1000);
    match free_slot(now, interval, taken) {
        slot if slot == now => now,
        _ => free_slot(now + LEAD_MS * 1000, interval, taken),
    }
}

/// Whether a cart that reached the gate at `now_ms` may still send in the slot it holds.
pub fn keeps_held(held: Micros, now_ms: i64) -> bool {
    held >= (now_ms - HELD_LATE_MS).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const I80: Micros = 12_886;

    #[test]
    fn slots_are_a_little_wider_than_the_limit_allows() {
        assert_eq!(interval(80), I80);
        assert_eq!(interval(0), 1_030_927, "a zero rate is one a second");
    }

    #[test]
    fn a_second_holds_a_little_less_than_the_limit() {
        assert!(!crowded(77, 80) && crowded(78, 80));
        assert!(!crowded(0, 1) && crowded(1, 1) && crowded(1, 0));
    }

    #[test]
    fn an_idle_number_sends_at_once() {
        assert_eq!(slot_now(5_000, I80, &[]), 5_000_000);
        // A slot that ended before now is no obstacle.
        assert_eq!(slot_now(5_000, I80, &[5_000_000 - I80]), 5_000_000);
    }

    #[test]
    fn behind_a_backlog_a_send_goes_far_enough_ahead() {
        let taken: Vec<Micros> = (0..10).map(|k| 5_000_000 + k * I80).collect();
        let slot = slot_now(5_000, I80, &taken);
        assert_eq!(slot, 6_500_000);
    }

    #[test]
    fn carts_due_together_are_spread_at_the_rate() {
        let mut taken: Vec<Micros> = vec![];
        for _ in 0..160 {
            let slot = free_slot(1_000_000, I80, &taken);
            let at = taken.partition_point(|&t| t < slot);
            taken.insert(at, slot);
        }
        assert_eq!(taken[0], 1_000_000);
        // 77 a second: 97 % of the limit, never more than 80 in any one-second window.
        for (i, s) in taken.iter().enumerate() {
            let in_window = taken[i..]
                .iter()
                .take_while(|t| **t < s + 1_000_000)
                .count();
            assert!(in_window <= 78, "{in_window}");
        }
        assert!(taken[159] - taken[0] >= 2_000_000);
    }

    #[test]
    fn a_released_slot_is_taken_again_and_gaps_are_filled() {
        let taken = [1_000_000, 1_000_000 + 2 * I80];
        assert_eq!(free_slot(1_000_000, I80, &taken), 1_000_000 + I80);
        // Off the grid (the rate changed): nothing overlaps what is held.
        let odd = [1_000_000 + 5_000];
        assert_eq!(free_slot(1_000_000, I80, &odd), 1_005_000 + I80);
    }

    #[test]
    fn a_held_slot_is_kept_unless_its_cart_is_late() {
        assert!(keeps_held(5_000_000, 5_000));
        assert!(keeps_held(5_000_000, 5_900));
        assert!(!keeps_held(5_000_000, 6_100));
    }
}
