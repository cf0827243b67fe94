//! The shop's WhatsApp sending state that outlives any cart: what each business number taught
//! about the Marketing Messages API. The decisions are the core's (`core::whatsapp::routing`).

use worker::Result;

use super::db::Db;
use crate::core::values::time::Millis;
use crate::core::whatsapp::routing::{self, Endpoint, Onboarding};
use crate::objects::protocol::{RememberOnboarding, RouteCall};

fn onboarding_key(phone_number_id: &str) -> String {
    format!("onboarding:{phone_number_id}")
}

impl Db {
    pub fn route(&self, c: RouteCall, now: Millis) -> Result<Endpoint> {
        let onboarding: Onboarding = self.json_setting(&onboarding_key(&c.phone_number_id))?;
        // cartback's steps send cart reminders: marketing templates.
        Ok(routing::endpoint(true, onboarding, now))
    }

    pub fn remember_onboarding(&self, c: RememberOnboarding) -> Result<()> {
        self.put_json_setting(&onboarding_key(&c.phone_number_id), &c.onboarding)
    }
}
