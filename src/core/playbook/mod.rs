//! The merchant's recovery playbook (docs/playbook.md, version 1): which messages go out, when, and
//! under which rules. Stored as JSON in KV; read by the cart's journey on every decision.

pub mod validation;

use crate::core::values::ids::StepId;
use crate::core::values::time::{DAY_MS, HOUR_MS};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub version: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub consent_mode: ConsentMode,
    #[serde(default = "default_language")]
    pub default_language: String,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    #[serde(default)]
    pub caps: Option<Caps>,
    #[serde(default = "yes")]
    pub stop_on_reply: bool,
    #[serde(default)]
    pub holdout_percent: u8,
    #[serde(default = "default_ttl_days")]
    pub journey_ttl_days: u32,
    /// How long after a journey's start an order still counts as recovered. Hours, and a
    /// fraction of one is allowed (a test may want a few seconds).
    #[serde(
        default = "default_attribution_hours",
        serialize_with = "whole_if_whole"
    )]
    pub attribution_window_hours: f64,
    #[serde(default)]
    pub optimize: Optimize,
    /// The merchant's image for a `top_item_image` header when the cart's item has none (or
    /// Shopify could not be asked): an https URL of a JPEG or PNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_image_url: Option<String>,
}

/// The optimizer's settings (docs/playbook.md §3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimize {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub goal: Goal,
    /// The share of journeys that take a uniformly random option whatever was learned.
    #[serde(default = "default_explore_percent")]
    pub explore_percent: u8,
}

impl Default for Optimize {
    fn default() -> Self {
        Optimize {
            enabled: false,
            goal: Goal::default(),
            explore_percent: default_explore_percent(),
        }
    }
}

/// What the optimizer maximizes per journey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// The recovered order's revenue, net of its discount.
    #[default]
    RecoveredRevenue,
    /// Whether the cart was recovered at all.
    Recoveries,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMode {
    #[default]
    WhatsappOptIn,
    CheckoutMarketingConsent,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: StepId,
    /// Counted from the checkout's last activity, not from the previous step.
    pub delay_seconds: i64,
    pub template: Template,
    #[serde(default)]
    pub body_params: Vec<Variable>,
    #[serde(default)]
    pub button_url_param: Option<Variable>,
    #[serde(default)]
    pub when: Option<Condition>,
    #[serde(default)]
    pub discount: Option<Discount>,
    /// The optimizer's choices for this step (absent: the step's own value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delay_options: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discount_options: Vec<Option<Discount>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_options: Vec<Template>,
    /// What fills the template's header; absent: a template without one (or a fixed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
}

/// What a step's template header is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Header {
    /// The product image of the cart's top item, else the playbook's `fallback_image_url`.
    TopItemImage,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub languages: Vec<String>,
}

/// What a template parameter is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variable {
    FirstName,
    ShopName,
    CartTotal,
    ItemCount,
    TopItemTitle,
    ItemsSummary,
    RecoveryToken,
    DiscountCode,
    DiscountPercent,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub min_cart_value: Option<String>,
    #[serde(default)]
    pub max_cart_value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discount {
    pub percent: u8,
    pub expires_after_hours: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    pub max_messages_per_customer: u32,
    pub window_days: u32,
}

fn yes() -> bool {
    true
}

fn default_language() -> String {
    "en_US".into()
}

fn default_ttl_days() -> u32 {
    30
}

fn default_attribution_hours() -> f64 {
    168.0
}

/// `168`, not `168.0`: the playbook reads back as the merchant wrote it.
fn whole_if_whole<S: serde::Serializer>(hours: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if hours.fract() == 0.0 && (0.0..=1e15).contains(hours) {
        serializer.serialize_u64(*hours as u64)
    } else {
        serializer.serialize_f64(*hours)
    }
}

fn default_explore_percent() -> u8 {
    10
}

impl Playbook {
    pub fn step(&self, id: &StepId) -> Option<&Step> {
        self.steps.iter().find(|s| &s.id == id)
    }

    /// How long a journey's personal data is kept after the checkout's last activity.
    pub fn retention_ms(&self) -> i64 {
        i64::from(self.journey_ttl_days) * DAY_MS
    }

    /// How long after a journey's start an order still counts as recovered.
    pub fn attribution_ms(&self) -> i64 {
        // Saturating: validation keeps the window within 720 hours.
        (self.attribution_window_hours * HOUR_MS as f64).round() as i64
    }
}

impl Default for Playbook {
    /// What a new shop starts with: a reminder after 3 hours and, for larger carts, an offer
    /// the next day, sent only to shoppers who opted in on WhatsApp. Not sooner: in a randomized
    /// field study (Li, Luo, Lu & Moriguchi, Journal of Marketing 2021) reminders 0.5–1 h after
    /// abandonment lowered purchases below sending nothing, while 1–3 days later raised them.
    fn default() -> Self {
        Playbook {
            version: 1,
            enabled: true,
            consent_mode: ConsentMode::WhatsappOptIn,
            default_language: default_language(),
            steps: vec![
                Step {
                    id: "reminder".into(),
                    delay_seconds: 10_800,
                    template: Template {
                        name: "cart_reminder".into(),
                        languages: vec!["en_US".into()],
                    },
                    body_params: vec![
                        Variable::FirstName,
                        Variable::TopItemTitle,
                        Variable::CartTotal,
                    ],
                    button_url_param: Some(Variable::RecoveryToken),
                    when: None,
                    discount: None,
                    delay_options: vec![],
                    discount_options: vec![],
                    template_options: vec![],
                    header: None,
                },
                Step {
                    id: "offer".into(),
                    delay_seconds: 86_400,
                    template: Template {
                        name: "cart_offer".into(),
                        languages: vec!["en_US".into()],
                    },
                    body_params: vec![
                        Variable::FirstName,
                        Variable::DiscountPercent,
                        Variable::DiscountCode,
                    ],
                    button_url_param: Some(Variable::RecoveryToken),
                    when: Some(Condition {
                        min_cart_value: Some("150.00".into()),
                        max_cart_value: None,
                    }),
                    discount: Some(Discount {
                        percent: 10,
                        expires_after_hours: 48,
                    }),
                    delay_options: vec![],
                    discount_options: vec![],
                    template_options: vec![],
                    header: None,
                },
            ],
            quiet_hours: Some(QuietHours {
                start: "21:00".into(),
                end: "09:00".into(),
            }),
            caps: Some(Caps {
                max_messages_per_customer: 3,
                window_days: 7,
            }),
            stop_on_reply: true,
            holdout_percent: 0,
            journey_ttl_days: 30,
            attribution_window_hours: default_attribution_hours(),
            optimize: Optimize::default(),
            fallback_image_url: None,
        }
    }
}

/// The sample playbook of docs/playbook.md §1, as merchants and tests write it.
#[cfg(test)]
pub(crate) const SAMPLE_PLAYBOOK: &str = r#"{
  "version": 1,
  "enabled": true,
  "consent_mode": "whatsapp_opt_in",
  "default_language": "en_US",
  "steps": [
    { "id": "reminder", "delay_seconds": 10800,
      "template": { "name": "cart_reminder", "languages": ["en_US", "pt_BR"] },
      "body_params": ["first_name", "top_item_title", "cart_total"],
      "button_url_param": "recovery_token",
      "when": { "min_cart_value": null, "max_cart_value": null },
      "discount": null },
    { "id": "offer", "delay_seconds": 86400,
      "template": { "name": "cart_offer", "languages": ["en_US"] },
      "body_params": ["first_name", "discount_percent", "discount_code"],
      "button_url_param": "recovery_token",
      "when": { "min_cart_value": "150.00" },
      "discount": { "percent": 10, "expires_after_hours": 48 } }
  ],
  "quiet_hours": { "start": "21:00", "end": "09:00" },
  "caps": { "max_messages_per_customer": 3, "window_days": 7 },
  "stop_on_reply": true,
  "holdout_percent": 0,
  "journey_ttl_days": 30,
  "attribution_window_hours": 168,
  "optimize": { "enabled": false, "goal": "recovered_revenue", "explore_percent": 10 }
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_example_parses_and_round_trips() {
        let p: Playbook = serde_json::from_str(SAMPLE_PLAYBOOK).unwrap();
        assert_eq!(p.steps.len(), 2);
        assert_eq!(
            p.step(&"offer".into())
                .unwrap()
                .discount
                .as_ref()
                .unwrap()
                .percent,
            10
        );
        let again: Playbook = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn default_round_trips_and_unknown_fields_are_refused() {
        let p = Playbook::default();
        let again: Playbook = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(p, again);
        assert!(serde_json::from_str::<Playbook>(r#"{"version":1,"steps":[],"bogus":1}"#).is_err());
    }
}
