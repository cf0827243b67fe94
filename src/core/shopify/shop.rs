//! What cartback knows about an installed shop. The shop's ledger keeps the record and is its
//! only writer; KV holds a copy under `shop:{domain}` for everyone else to read, without the
//! Shopify grant.

use serde::{Deserialize, Serialize};

use crate::core::values::time::Millis;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShopRecord {
    /// The store's name as shoppers know it (the `shop_name` template variable).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub whatsapp: Option<WhatsAppConnection>,
    /// The Admin API grant; `None` until the first token exchange (or after uninstall).
    #[serde(default)]
    pub shopify: Option<ShopifyInstall>,
    /// Shopify refused our token and a refresh did not help: no Admin API call is made until
    /// the next token exchange, which the merchant's next visit to the app performs.
    #[serde(default)]
    pub needs_reauth: bool,
    /// When the shop first granted cartback access.
    #[serde(default)]
    pub installed_at: Option<Millis>,
    /// The shop's IANA time zone (quiet hours fall back on it).
    #[serde(default)]
    pub timezone: Option<String>,
    /// The shop's currency (ISO 4217), in which the dashboard shows money.
    #[serde(default)]
    pub currency: Option<String>,
    /// Sends per second allowed on the shop's WhatsApp number (Meta's default tier: 80).
    #[serde(default)]
    pub messages_per_second: Option<u32>,
}

/// Meta's default throughput for a Cloud API business number.
pub const DEFAULT_MESSAGES_PER_SECOND: u32 = 80;

/// What Shopify says about the shop (`shop { name currencyCode ianaTimezone }`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShopFacts {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub timezone: Option<String>,
}

impl ShopRecord {
    /// Something Shopify could tell us is still unknown.
    pub fn needs_facts(&self) -> bool {
        self.name.is_empty() || self.currency.is_none() || self.timezone.is_none()
    }

    /// Takes what was unknown from `facts`; what we knew stays.
    pub fn learn(&mut self, facts: ShopFacts) {
        if self.name.is_empty() {
            self.name = facts.name.unwrap_or_default();
        }
        self.currency = self.currency.take().or(facts.currency);
        self.timezone = self.timezone.take().or(facts.timezone);
    }

    pub fn messages_per_second(&self) -> u32 {
        self.messages_per_second
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MESSAGES_PER_SECOND)
    }

    /// Meta refused the WhatsApp token (190): nothing is sent until the merchant reconnects.
    pub fn sending_paused(&self) -> bool {
        self.whatsapp.as_ref().is_some_and(|w| w.paused)
    }

    /// What KV may hold: everything but the Shopify grant, whose tokens rotate and so live only
    /// where one writer can keep them (a stale copy must never be used to refresh).
    pub fn mirrored(&self) -> ShopRecord {
        ShopRecord {
            shopify: None,
            ..self.clone()
        }
    }

    /// Shopify granted access. A grant while none was held is an installation (the first, or
    /// one after an uninstall): an `app/uninstalled` triggered before it is old news.
    pub fn granted(&mut self, install: ShopifyInstall, now: Millis) {
        if self.shopify.is_none() {
            self.installed_at = Some(now);
        }
        self.shopify = Some(install);
        self.needs_reauth = false;
    }

    /// The session token can be kept for calls: a token is held, Shopify has not refused it,
    /// and it is either not due for renewal or can be renewed.
    pub fn holds_usable_grant(&self, now: Millis) -> bool {
        self.shopify.as_ref().is_some_and(|install| {
            !self.needs_reauth && (!install.refresh_due(now) || install.can_refresh(now))
        })
    }

    /// `app/uninstalled`: both tokens go; settings stay until `shop/redact`, in case the
    /// merchant comes back.
    pub fn forget_tokens(&mut self) {
        self.shopify = None;
        self.whatsapp = None;
    }

    /// Meta refused this sealed WhatsApp token (190). A reconnect since (another token) is
    /// not paused by news about the old one. Answers whether anything changed.
    pub fn pause_sending(&mut self, sealed_token: &str) -> bool {
        match &mut self.whatsapp {
            Some(conn) if conn.access_token == sealed_token && !conn.paused => {
                conn.paused = true;
                true
            }
            _ => false,
        }
    }
}

/// The shop's offline Admin API access. Both tokens are sealed (`core::seal`), never plain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShopifyInstall {
    pub sealed_access_token: String,
    /// The scopes Shopify granted, comma-separated.
    #[serde(default)]
    pub scope: String,
    /// `None` for a non-expiring token.
    #[serde(default)]
    pub expires_at: Option<Millis>,
    #[serde(default)]
    pub sealed_refresh_token: Option<String>,
    #[serde(default)]
    pub refresh_expires_at: Option<Millis>,
}

/// How early an expiring token is refreshed, so no call starts with one about to lapse.
pub const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

impl ShopifyInstall {
    pub fn refresh_due(&self, now: Millis) -> bool {
        self.expires_at
            .is_some_and(|t| now.0 >= t.0.saturating_sub(REFRESH_MARGIN_MS))
    }

    /// A refresh token is held and has not expired.
    pub fn can_refresh(&self, now: Millis) -> bool {
        self.sealed_refresh_token.is_some() && self.refresh_expires_at.is_none_or(|t| now < t)
    }
}

/// The shop's WhatsApp Business number and the token cartback sends with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatsAppConnection {
    pub phone_number_id: String,
    pub waba_id: String,
    pub access_token: String,
    /// Set when Meta answered 190 (token expired or revoked); cleared by reconnecting.
    #[serde(default)]
    pub paused: bool,
    /// The number as shoppers see it (`display_phone_number`), for links that open WhatsApp.
    #[serde(default)]
    pub display_number: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_five_minutes_early_and_needs_a_live_refresh_token() {
        let install = ShopifyInstall {
            sealed_access_token: "v1.x".into(),
            scope: String::new(),
            expires_at: Some(Millis(3_600_000)),
            sealed_refresh_token: Some("v1.y".into()),
            refresh_expires_at: Some(Millis(7_200_000)),
        };
        assert!(!install.refresh_due(Millis(3_299_999)));
        assert!(install.refresh_due(Millis(3_300_000)));
        assert!(install.can_refresh(Millis(7_199_999)));
        assert!(!install.can_refresh(Millis(7_200_000)));
        let permanent = ShopifyInstall {
            expires_at: None,
            sealed_refresh_token: None,
            refresh_expires_at: None,
            ..install
        };
        assert!(!permanent.refresh_due(Millis(i64::MAX)));
        assert!(!permanent.can_refresh(Millis(0)));
    }

    fn install(sealed: &str) -> ShopifyInstall {
        ShopifyInstall {
            sealed_access_token: sealed.into(),
            scope: String::new(),
            expires_at: None,
            sealed_refresh_token: None,
            refresh_expires_at: None,
        }
    }

    #[test]
    fn the_copy_for_kv_has_no_shopify_grant() {
        let mut record = ShopRecord {
            name: "Maple".into(),
            ..Default::default()
        };
        record.granted(install("v1.a"), Millis(5));
        let copy = record.mirrored();
        assert_eq!(copy.shopify, None);
        assert_eq!(copy.name, "Maple");
        assert_eq!(copy.installed_at, Some(Millis(5)));
    }

    #[test]
    fn only_a_grant_while_none_was_held_is_an_installation() {
        let mut record = ShopRecord {
            needs_reauth: true,
            ..Default::default()
        };
        record.granted(install("v1.a"), Millis(5));
        record.granted(install("v1.b"), Millis(9));
        assert_eq!(record.installed_at, Some(Millis(5)));
        assert!(!record.needs_reauth);
        record.forget_tokens();
        record.granted(install("v1.c"), Millis(20));
        assert_eq!(record.installed_at, Some(Millis(20)));
    }

    #[test]
    fn a_refused_token_pauses_only_the_connection_it_belongs_to() {
        let connection = |token: &str| WhatsAppConnection {
            phone_number_id: "1".into(),
            waba_id: "2".into(),
            access_token: token.into(),
            paused: false,
            display_number: None,
        };
        let mut record = ShopRecord {
            whatsapp: Some(connection("v1.new")),
            ..Default::default()
        };
        assert!(!record.pause_sending("v1.old"));
        assert!(!record.sending_paused());
        assert!(record.pause_sending("v1.new"));
        assert!(!record.pause_sending("v1.new"));
        assert!(record.sending_paused());
    }

    #[test]
    fn records_written_before_the_install_fields_still_load() {
        let r: ShopRecord = serde_json::from_str(r#"{"name":"Maple"}"#).unwrap();
        assert_eq!(r.shopify, None);
        assert!(!r.needs_reauth);
        assert_eq!(r.installed_at, None);
    }
}
