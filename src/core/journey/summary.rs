//! A journey as the merchant sees it in `GET /api/journeys`.

use serde::{Deserialize, Serialize};

use super::{EndReason, Journey, SkipReason, Status, StepState};
use crate::core::values::ids::{CheckoutToken, StepId};

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
                })
                .collect(),
        }
    }
}
