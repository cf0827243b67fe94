//! The gate's persistence: reads what the core's gate needs about the shopper and the number,
//! and writes what it decided (the consent it implied, the send it granted, the pacing slot).

use worker::Result;

use super::db::{i, s, token, Count, Db, Int};
use crate::core::gate::caps::MAX_WINDOW_DAYS;
use crate::core::gate::{self, GateVerdict};
use crate::core::values::time::{Millis, DAY_MS};
use crate::objects::protocol::{GateAnswer, GateCall, RouteCall};

impl Db {
    /// Consent, suppression, caps and pacing in one synchronous run: atomic for the shop.
    /// Slots are reckoned on the ledger's clock: calls queue here, and a caller's clock would
    /// hand out slots already past. A step that holds its slot (`slots.rs`) goes in it.
    pub fn gate(&self, g: GateCall, now: Millis) -> Result<GateAnswer> {
        let template = g.request.template.clone();
        let number = g.phone_number_id.clone();
        let verdict = self.verdict(g, now)?;
        let endpoint = match (&verdict, template) {
            (GateVerdict::Granted { .. }, Some(t)) => Some(self.route(
                RouteCall {
                    phone_number_id: number,
                    template: t.name,
                    language: t.language,
                },
                now,
            )?),
            _ => None,
        };
        Ok(GateAnswer { verdict, endpoint })
    }

    fn verdict(&self, g: GateCall, now: Millis) -> Result<GateVerdict> {
        let phone_hash = self.hash(&g.phone);
        let req = &g.request;
        let t = || token(&req.checkout_token);
        let step = || s(req.step_id.as_str());
        // A repeated ask for the same attempt (a lost answer) gets the same slot. A retry after
        // a refusal is a new attempt: checked afresh, and paced afresh.
        let attempt = i(req.attempt.into());
        let earlier: Option<Int> = self.first(
            "SELECT slot_at AS v FROM sends WHERE checkout_token = ? AND step_id = ? AND attempt = ?",
            vec![t(), step(), attempt.clone()],
        )?;
        if let Some(slot) = earlier {
            return Ok(GateVerdict::Granted {
                slot_at: Millis(slot.v),
            });
        }
        let consents = self.consent_records(&phone_hash)?;
        let suppressed = self
            .first::<Count>(
                "SELECT count(*) AS n FROM suppressed WHERE phone_hash = ?",
                vec![s(phone_hash.clone())],
            )?
            .is_some_and(|c| c.n > 0);
        let limited_until = self
            .first::<Int>(
                "SELECT until AS v FROM limited WHERE phone_hash = ?",
                vec![s(phone_hash.clone())],
            )?
            .map(|r| Millis(r.v));
        // Each step counts once against the caps, however many attempts it took; this step's
        // own earlier attempts do not count against it.
        let sends: Vec<Millis> = self
            .rows::<Int>(
                "SELECT min(at) AS v FROM sends WHERE phone_hash = ?
                   AND NOT (checkout_token = ? AND step_id = ?)
                 GROUP BY checkout_token, step_id",
                vec![s(phone_hash.clone()), t(), step()],
            )?
            .into_iter()
            .map(|r| Millis(r.v))
            .collect();
        let slot = self.slot_for(
            &g.phone_number_id,
            &req.checkout_token,
            &req.step_id,
            g.per_second,
            now,
        )?;
        let sendable = self.template_sendable(req.template.as_ref())?;
        let decided = gate::decide(
            req,
            &gate::Ledger {
                // Not yet taken over from KV: the cart's copy (which the core checked) is all
                // there is.
                connected: self.whatsapp_connected()?.unwrap_or(true),
                consents: &consents,
                suppressed,
                limited_until,
                sends: &sends,
                slot,
            },
            &gate::Settings {
                mode: g.mode,
                caps: g.caps.as_ref(),
            },
            now,
        );
        let decision = gate::require_template(decided, sendable);
        if let Some(record) = &decision.record {
            self.append_consent(&phone_hash, record)?;
        }
        if decision.eligible {
            self.exec(
                "UPDATE journeys SET eligible_at = coalesce(eligible_at, ?) WHERE checkout_token = ?",
                vec![i(now.0), t()],
            )?;
        }
        if let (Some(slot), GateVerdict::Granted { slot_at }) =
            (decision.takes_slot, &decision.verdict)
        {
            self.exec(
                "INSERT INTO sends (checkout_token, step_id, attempt, phone_hash, at, slot_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                vec![t(), step(), attempt, s(phone_hash), i(now.0), i(slot_at.0)],
            )?;
            // Sends older than the longest cap window no longer count for anything.
            self.exec(
                "DELETE FROM sends WHERE at < ?",
                vec![i(now.0 - i64::from(MAX_WINDOW_DAYS) * DAY_MS)],
            )?;
            self.take_slot(
                &g.phone_number_id,
                &req.checkout_token,
                &req.step_id,
                slot,
                now,
            )?;
        } else if matches!(decision.verdict, GateVerdict::Denied { .. }) {
            // The step will not go: its held slot is free for another send.
            self.release_slot(&req.checkout_token, &req.step_id)?;
        }
        Ok(decision.verdict)
    }
}
