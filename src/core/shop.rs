//! What cartback knows about an installed shop, as stored in KV under `shop:{domain}`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShopRecord {
    /// The store's name as shoppers know it (the `shop_name` template variable).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub whatsapp: Option<WhatsAppConnection>,
}

/// The shop's WhatsApp Business number and the token cartback sends with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatsAppConnection {
    pub phone_number_id: String,
    pub waba_id: String,
    pub access_token: String,
}

/// `{name}.myshopify.com`, lower case: the only form of shop identity we accept from a header.
pub fn valid_shop_domain(domain: &str) -> bool {
    let Some(name) = domain.strip_suffix(".myshopify.com") else {
        return false;
    };
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains() {
        assert!(valid_shop_domain("maple-and-finch-demo.myshopify.com"));
        assert!(!valid_shop_domain("Maple.myshopify.com"));
        assert!(!valid_shop_domain(".myshopify.com"));
        assert!(!valid_shop_domain("evil.com"));
        assert!(!valid_shop_domain("a.b.myshopify.com"));
        assert!(!valid_shop_domain("x.myshopify.com.evil.com"));
    }
}
