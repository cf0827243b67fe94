//! The number's pacing calendar (`core::gate::pacing`): a journey holds the slot of its next
//! step from when the step is scheduled, and the gate takes it when the step goes.

use worker::Result;

use super::db::{i, s, token, Db, Int};
use crate::core::gate::pacing::{self, Micros};
use crate::core::journey::{HeldSlot, SlotChange};
use crate::core::values::ids::{CheckoutToken, StepId};
use crate::core::values::time::Millis;
use crate::objects::protocol::SlotCall;

/// Slots read per query while looking for a free one.
const PAGE: usize = 256;
/// Taken slots are kept this long after their time, for a send that reaches the gate late.
const KEPT_US: Micros = 60_000_000;

impl Db {
    /// Gives up the journey's unused hold and, for `Hold`, takes the first free slot at or
    /// after the step's due time.
    pub fn change_slot(
        &self,
        checkout: &CheckoutToken,
        call: SlotCall,
        may_hold_one: bool,
        now: Millis,
    ) -> Result<Option<HeldSlot>> {
        // A journey indexed by this very call holds none yet.
        if may_hold_one {
            self.exec(
                "DELETE FROM slots WHERE checkout_token = ? AND used = 0",
                vec![token(checkout)],
            )?;
        }
        let SlotChange::Hold { step_id, due_at } = call.change else {
            return Ok(None);
        };
        let interval = pacing::interval(call.per_second);
        let from = due_at.max(now).0.saturating_mul(1000);
        let slot = self.free_slot(&call.phone_number_id, from, interval)?;
        self.exec(
            "INSERT INTO slots (phone_number_id, at_us, checkout_token, step_id, used)
             VALUES (?, ?, ?, ?, 0)",
            vec![
                s(call.phone_number_id),
                i(slot),
                token(checkout),
                s(step_id.as_str()),
            ],
        )?;
        Ok(Some(HeldSlot {
            step_id,
            due_at,
            // Rounded up: the cart's alarm must not ring before its slot.
            slot_at: Millis((slot + 999).div_euclid(1000)),
        }))
    }

    /// The slot the gate grants this step: the one it holds while its cart is on time, else
    /// the first free one now; behind the backlog when sending now would crowd the number.
    pub fn slot_for(
        &self,
        number: &str,
        checkout: &CheckoutToken,
        step: &StepId,
        per_second: u32,
        now: Millis,
    ) -> Result<Micros> {
        let held: Option<Int> = self.first(
            "SELECT at_us AS v FROM slots WHERE checkout_token = ? AND step_id = ? AND used = 0",
            vec![token(checkout), s(step.as_str())],
        )?;
        let now_us = now.0.saturating_mul(1000);
        let interval = pacing::interval(per_second);
        let kept = held.map(|h| h.v).filter(|&h| pacing::keeps_held(h, now.0));
        let slot = match kept {
            Some(held) => held,
            None => self.free_slot(number, now_us, interval)?,
        };
        let at_once = slot <= now_us;
        if (kept.is_some() && !at_once) || (at_once && !self.crowded(now, per_second)?) {
            return Ok(slot);
        }
        self.free_slot(number, now_us + pacing::LEAD_MS * 1000, interval)
    }

    /// Whether a send now would crowd the number: counted by when the sends granted went out
    /// (their slot, or their grant when that came later).
    fn crowded(&self, now: Millis, per_second: u32) -> Result<bool> {
        let since = i(now.0 - 1000);
        let sent: Option<Int> = self.first(
            "SELECT (SELECT count(*) FROM sends WHERE slot_at > ? AND slot_at <= ? AND slot_at >= at)
                  + (SELECT count(*) FROM sends WHERE at > ? AND at <= ? AND at > slot_at) AS v",
            vec![since.clone(), i(now.0), since, i(now.0)],
        )?;
        let sent = sent.map_or(0, |r| u32::try_from(r.v).unwrap_or(u32::MAX));
        Ok(pacing::crowded(sent, per_second))
    }

    /// Writes down the slot the gate granted: the step's own hold becomes taken, or the slot
    /// is added; slots long past go.
    pub fn take_slot(
        &self,
        number: &str,
        checkout: &CheckoutToken,
        step: &StepId,
        slot: Micros,
        now: Millis,
    ) -> Result<()> {
        let t = || token(checkout);
        let step = || s(step.as_str());
        self.exec(
            "DELETE FROM slots WHERE checkout_token = ? AND step_id = ? AND used = 0 AND at_us != ?",
            vec![t(), step(), i(slot)],
        )?;
        self.exec(
            "INSERT INTO slots (phone_number_id, at_us, checkout_token, step_id, used)
             VALUES (?, ?, ?, ?, 1)
             ON CONFLICT (phone_number_id, at_us) DO UPDATE SET used = 1",
            vec![s(number), i(slot), t(), step()],
        )?;
        self.exec(
            "DELETE FROM slots WHERE phone_number_id = ? AND at_us < ?",
            vec![s(number), i(now.0.saturating_mul(1000) - KEPT_US)],
        )
    }

    /// A step the gate denied gives up its held slot.
    pub fn release_slot(&self, checkout: &CheckoutToken, step: &StepId) -> Result<()> {
        self.exec(
            "DELETE FROM slots WHERE checkout_token = ? AND step_id = ? AND used = 0",
            vec![token(checkout), s(step.as_str())],
        )
    }

    /// The first free slot at or after `from` on the number's calendar, looked for in the
    /// slots just after `from`; behind a longer backlog, after the calendar's last slot. Every
    /// call costs one page at most: the ledger answers every cart of a burst, and a walk over
    /// thousands of held slots per answer would stall them all.
    fn free_slot(&self, number: &str, from: Micros, interval: Micros) -> Result<Micros> {
        let page: Vec<Micros> = self
            .rows::<Int>(
                "SELECT at_us AS v FROM slots WHERE phone_number_id = ? AND at_us > ?
                 ORDER BY at_us LIMIT ?",
                vec![s(number), i(from - interval), i(PAGE as i64)],
            )?
            .into_iter()
            .map(|r| r.v)
            .collect();
        let slot = pacing::free_slot(from, interval, &page);
        match page.last() {
            // Every slot of a full page was in the way: the backlog goes on past it.
            Some(&last) if page.len() == PAGE && slot > last => {
                let end: Option<Int> = self.first(
                    "SELECT max(at_us) AS v FROM slots WHERE phone_number_id = ?",
                    vec![s(number)],
                )?;
                Ok(end.map_or(slot, |e| slot.max(e.v + interval)))
            }
            _ => Ok(slot),
        }
    }
}
