//! A journey as the merchant sees it in `GET /api/journeys`.

use serde::{Deserialize, Serialize};

use super::{EndReason, Journey, SkipReason, Status, StepState};
use crate::core::metrics::OVERDUE_AFTER_MS;
use crate::core::values::ids::{CheckoutToken, StepId};
use crate::core::values::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JourneyStatus {
    Active,
    Ended,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub checkout_token: CheckoutToken,
    pub status: JourneyStatus,
    pub end_reason: Option<EndReason>,
    pub holdout: bool,
    pub phone: Option<String>,
    pub cart_total: Option<String>,
    pub currency: Option<String>,
    pub started_at: String,
    pub steps: Vec<StepSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    pub id: StepId,
    pub due_at: String,
    pub state: String,
    pub reason: Option<SkipReason>,
    /// The optimizer's options this journey runs the step with, by their labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Summary {
    /// A scrubbed journey no longer knows its phone: the dashboard keeps showing the one the
    /// ledger already holds (sealed), until a redaction removes it. `earlier` reads that one,
    /// and is called only when it is needed.
    pub fn keeping_phone_of<E>(
        mut self,
        earlier: impl FnOnce() -> Result<Option<Summary>, E>,
    ) -> Result<Summary, E> {
        if self.phone.is_none() && self.status == JourneyStatus::Ended {
            self.phone = earlier()?.and_then(|e| e.phone);
        }
        Ok(self)
    }
}

impl Journey {
    pub fn summary(&self) -> Summary {
        let (status, end_reason) = match self.status {
            Status::Active => (JourneyStatus::Active, None),
            Status::Ended { reason, .. } => (JourneyStatus::Ended, Some(reason)),
        };
        Summary {
            checkout_token: self.checkout.token.clone(),
            status,
            end_reason,
            holdout: self.holdout,
            phone: self.checkout.phone.as_ref().map(|p| p.as_str().to_string()),
            cart_total: self.checkout.total.as_ref().map(|t| t.to_decimal_string()),
            currency: self
                .checkout
                .total
                .as_ref()
                .map(|t| t.currency().as_str().to_string()),
            started_at: self.started_at.to_rfc3339(),
            steps: self
                .steps
                .iter()
                .map(|s| StepSummary {
                    id: s.id.clone(),
                    due_at: s.due_at.to_rfc3339(),
                    state: s.state.name().to_string(),
                    reason: match s.state {
                        StepState::Skipped { reason, .. } => Some(reason),
                        _ => None,
                    },
                    options: self
                        .choice
                        .iter()
                        .flat_map(|c| c.steps.iter().filter(|c| c.step == s.id))
                        .flat_map(|c| c.options.iter().map(|o| o.label()))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The step states that still have work ahead of them, as summaries name them.
const OPEN_STATES: [&str; 5] = ["pending", "gating", "discounting", "granted", "attempting"];

impl Summary {
    /// Steps of a running journey that were due more than a minute ago and are not done: a
    /// health figure of the dashboard (an alarm that did not fire, a send stuck somewhere).
    pub fn overdue_steps(&self, now: Millis) -> usize {
        if self.status != JourneyStatus::Active {
            return 0;
        }
        let late = now.plus_millis(-OVERDUE_AFTER_MS);
        self.steps
            .iter()
            .filter(|s| OPEN_STATES.contains(&s.state.as_str()))
            .filter(|s| Millis::parse_rfc3339(&s.due_at).is_some_and(|d| d < late))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_steps_are_open_and_due_over_a_minute_ago() {
        let step = |state: &str, due_at: &str| StepSummary {
            id: "s".into(),
            due_at: due_at.into(),
            state: state.into(),
            reason: None,
            options: vec![],
        };
        let mut summary = Summary {
            checkout_token: "c".into(),
            status: JourneyStatus::Active,
            end_reason: None,
            holdout: false,
            phone: None,
            cart_total: None,
            currency: None,
            started_at: "2027-01-15T08:00:00.000Z".into(),
            steps: vec![
                step("pending", "2027-01-15T08:00:00.000Z"),
                step("granted", "2027-01-15T08:58:30.000Z"),
                step("sent", "2027-01-15T08:00:00.000Z"),
                step("pending", "2027-01-15T09:30:00.000Z"),
            ],
        };
        let now = Millis::parse_rfc3339("2027-01-15T09:00:00Z").unwrap();
        assert_eq!(summary.overdue_steps(now), 2);
        summary.status = JourneyStatus::Ended;
        assert_eq!(summary.overdue_steps(now), 0);
    }
}
