//! The values a template's parameters are filled with, for one step of one journey.

use super::{Journey, StepRun};
use crate::core::playbook::{Step, Variable};
use crate::core::whatsapp::message::Variables;

pub(super) struct JourneyVariables<'a> {
    pub journey: &'a Journey,
    pub run: &'a StepRun,
    pub step: &'a Step,
    pub shop_name: &'a str,
}

impl Variables for JourneyVariables<'_> {
    fn value(&self, var: Variable) -> String {
        let c = &self.journey.checkout;
        let locale = c.locale.as_deref().unwrap_or("en");
        match var {
            Variable::FirstName => c
                .first_name
                .clone()
                .unwrap_or_else(|| greeting_fallback(locale).to_string()),
            Variable::ShopName => self.shop_name.to_string(),
            Variable::CartTotal => c
                .total
                .as_ref()
                .map(|t| t.format(locale))
                .unwrap_or_default(),
            Variable::ItemCount => c.item_count.to_string(),
            Variable::TopItemTitle => c.top_item_title.clone().unwrap_or_default(),
            Variable::ItemsSummary => c.items_summary.clone(),
            Variable::RecoveryToken => self.journey.recovery_token.clone(),
            Variable::DiscountCode => self.run.discount_code.clone().unwrap_or_default(),
            Variable::DiscountPercent => self
                .step
                .discount
                .as_ref()
                .map(|d| format!("{}%", d.percent))
                .unwrap_or_default(),
        }
    }
}

/// Stands in for a first name Shopify did not give us ("Hi there").
fn greeting_fallback(locale: &str) -> &'static str {
    match locale.split(['-', '_']).next().unwrap_or("") {
        "pt" | "es" | "it" => "cliente",
        "fr" => "client",
        "de" => "Kunde",
        _ => "there",
    }
}
