//! Which Graph API edge a message goes to (docs/rules.md §1, rule 11). Marketing templates go
//! through Meta's Marketing Messages API (`/marketing_messages`, the same body as `/messages`)
//! while the business number is onboarded; everything else goes through `/messages`. A number
//! whose business has not accepted the Marketing Messages terms falls back, once per send, and
//! is remembered, so its next sends go straight to `/messages`.

use serde::{Deserialize, Serialize};

use crate::core::values::time::{Millis, DAY_MS};

/// The Marketing Messages API refused the send: the business has not accepted its terms
/// ("You must accept the Marketing Messages Lite API terms"), or the template is no marketing
/// template. Either way the message belongs on `/messages`.
pub const MM_NOT_ONBOARDED: i64 = 131055;
/// `/messages` refused a marketing template: Meta has turned marketing off on the Cloud API
/// for this account, so it must go through the Marketing Messages API.
pub const CLOUD_API_MARKETING_DISABLED: i64 = 131063;
/// How long a number that was refused stays on `/messages` before the Marketing Messages API is
/// tried again: the merchant may accept the terms meanwhile, and one more refusal costs nothing
/// (the send falls back at once).
pub const RECHECK_AFTER_MS: i64 = 7 * DAY_MS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Messages,
    MarketingMessages,
}

impl Endpoint {
    /// The edge of `/{version}/{phone_number_id}/…`.
    pub fn edge(self) -> &'static str {
        match self {
            Endpoint::Messages => "messages",
            Endpoint::MarketingMessages => "marketing_messages",
        }
    }
}

/// What the shop's ledger remembers about a business number and the Marketing Messages API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Onboarding {
    /// When the Marketing Messages API last refused the number as not onboarded.
    pub refused_at: Option<Millis>,
}

/// Where a template goes now. `marketing` is the template's category as last known (a
/// template whose category is unknown is a cart reminder: marketing).
pub fn endpoint(marketing: bool, onboarding: Onboarding, now: Millis) -> Endpoint {
    let refused_lately = onboarding
        .refused_at
        .is_some_and(|at| now.0 < at.0.saturating_add(RECHECK_AFTER_MS));
    if marketing && !refused_lately {
        Endpoint::MarketingMessages
    } else {
        Endpoint::Messages
    }
}

/// The one other try a refusal calls for, and what to remember about the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fallback {
    pub to: Endpoint,
    pub onboarding: Onboarding,
}

/// What a refusal with `code` from `from` means for the route; `None` when it is an ordinary
/// refusal that the delivery rules judge (`delivery::classify`).
pub fn after_refusal(from: Endpoint, code: Option<i64>, now: Millis) -> Option<Fallback> {
    match (from, code) {
        (Endpoint::MarketingMessages, Some(MM_NOT_ONBOARDED)) => Some(Fallback {
            to: Endpoint::Messages,
            onboarding: Onboarding {
                refused_at: Some(now),
            },
        }),
        (Endpoint::Messages, Some(CLOUD_API_MARKETING_DISABLED)) => Some(Fallback {
            to: Endpoint::MarketingMessages,
            onboarding: Onboarding::default(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_800_000_000_000);

    #[test]
    fn marketing_goes_to_the_marketing_messages_api_unless_lately_refused() {
        let fresh = Onboarding::default();
        assert_eq!(endpoint(true, fresh, NOW), Endpoint::MarketingMessages);
        assert_eq!(endpoint(false, fresh, NOW), Endpoint::Messages);
        let refused = Onboarding {
            refused_at: Some(NOW),
        };
        assert_eq!(endpoint(true, refused, NOW), Endpoint::Messages);
        let week_later = NOW.plus_millis(RECHECK_AFTER_MS - 1);
        assert_eq!(endpoint(true, refused, week_later), Endpoint::Messages);
        let recheck = NOW.plus_millis(RECHECK_AFTER_MS);
        assert_eq!(
            endpoint(true, refused, recheck),
            Endpoint::MarketingMessages
        );
    }

    #[test]
    fn not_onboarded_falls_back_to_messages_and_is_remembered() {
        assert_eq!(
            after_refusal(Endpoint::MarketingMessages, Some(131055), NOW),
            Some(Fallback {
                to: Endpoint::Messages,
                onboarding: Onboarding {
                    refused_at: Some(NOW)
                },
            })
        );
        // Marketing turned off on the Cloud API: back to the Marketing Messages API.
        assert_eq!(
            after_refusal(Endpoint::Messages, Some(131063), NOW),
            Some(Fallback {
                to: Endpoint::MarketingMessages,
                onboarding: Onboarding::default(),
            })
        );
    }

    #[test]
    fn other_refusals_keep_the_route() {
        for code in [None, Some(130429), Some(131049), Some(190), Some(100)] {
            assert_eq!(after_refusal(Endpoint::MarketingMessages, code, NOW), None);
        }
        // 131055 only means something from the Marketing Messages API.
        assert_eq!(after_refusal(Endpoint::Messages, Some(131055), NOW), None);
        assert_eq!(
            after_refusal(Endpoint::MarketingMessages, Some(131063), NOW),
            None
        );
    }

    #[test]
    fn edges_are_meta_paths() {
        assert_eq!(Endpoint::Messages.edge(), "messages");
        assert_eq!(Endpoint::MarketingMessages.edge(), "marketing_messages");
    }
}
