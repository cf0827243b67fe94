//! The shop's WhatsApp sending state that outlives any cart: what each business number taught
//! about the Marketing Messages API, and the WABA's templates as last listed and as Meta's
//! webhooks changed them since. The decisions are the core's (`core::whatsapp::routing`,
//! `core::whatsapp::templates`).

use worker::Result;

use super::db::Db;
use crate::core::gate::TemplateRef;
use crate::core::values::time::Millis;
use crate::core::whatsapp::routing::{self, Endpoint, Onboarding};
use crate::core::whatsapp::templates::{self, TemplateInfo, TemplateUpdate, MARKETING};
use crate::objects::protocol::{KeptTemplates, RememberOnboarding, RouteCall};

const TEMPLATES_KEY: &str = "templates";
const LISTED_AT_KEY: &str = "templates_listed_at";

fn onboarding_key(phone_number_id: &str) -> String {
    format!("onboarding:{phone_number_id}")
}

impl Db {
    pub fn route(&self, c: RouteCall, now: Millis) -> Result<Endpoint> {
        let onboarding: Onboarding = self.json_setting(&onboarding_key(&c.phone_number_id))?;
        let listed = self.template(&c.template, &c.language)?;
        // A template not listed yet is a cart reminder: marketing.
        let marketing = listed.is_none_or(|t| t.category == MARKETING);
        Ok(routing::endpoint(marketing, onboarding, now))
    }

    pub fn remember_onboarding(&self, c: RememberOnboarding) -> Result<()> {
        self.put_json_setting(&onboarding_key(&c.phone_number_id), &c.onboarding)
    }

    pub fn templates(&self) -> Result<Vec<TemplateInfo>> {
        self.json_setting(TEMPLATES_KEY)
    }

    /// The kept listing, and when Graph gave it.
    pub fn kept_templates(&self) -> Result<KeptTemplates> {
        Ok(KeptTemplates {
            templates: self.templates()?,
            listed_at: self.json_setting::<Option<Millis>>(LISTED_AT_KEY)?,
        })
    }

    /// The WABA's templates as Graph just listed them, in place of the kept ones.
    pub fn put_templates(&self, list: &[TemplateInfo], now: Millis) -> Result<()> {
        self.put_json_setting(TEMPLATES_KEY, &list)?;
        self.put_json_setting(LISTED_AT_KEY, &Some(now))
    }

    pub fn update_template(&self, update: &TemplateUpdate) -> Result<()> {
        let mut list = self.templates()?;
        templates::apply(&mut list, update);
        self.put_json_setting(TEMPLATES_KEY, &list)
    }

    fn template(&self, name: &str, language: &str) -> Result<Option<TemplateInfo>> {
        Ok(self
            .templates()?
            .into_iter()
            .find(|t| t.name == name && t.language == language))
    }

    /// May a step go with this template now (for the gate)?
    pub fn template_sendable(&self, template: Option<&TemplateRef>) -> Result<bool> {
        let Some(t) = template else {
            return Ok(true);
        };
        Ok(templates::sendable(
            self.template(&t.name, &t.language)?.as_ref(),
        ))
    }
}
