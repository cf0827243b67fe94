//! Identifiers that travel through cartback: validated (or at least named) once, so a checkout
//! token can never be passed where a step id was meant. Each serializes as its plain string.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A shop's permanent `*.myshopify.com` domain: lower-case letters, digits and hyphens before
/// the suffix, as Shopify issues them. Anything else (a custom domain, `a.b.myshopify.com`,
/// upper case) is refused, because the domain names a Durable Object and a KV key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShopDomain(String);

impl ShopDomain {
    pub fn parse(domain: &str) -> Option<ShopDomain> {
        let name = domain.strip_suffix(".myshopify.com")?;
        let valid = !name.is_empty()
            && name.len() <= 63
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        valid.then(|| ShopDomain(domain.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for ShopDomain {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl TryFrom<String> for ShopDomain {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        ShopDomain::parse(&value).ok_or_else(|| format!("not a myshopify.com domain: {value:?}"))
    }
}

impl From<ShopDomain> for String {
    fn from(value: ShopDomain) -> String {
        value.0
    }
}

/// Declares a string newtype that is named, not validated: its values come from a payload
/// already checked where it was parsed.
macro_rules! name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> $name {
                $name(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> $name {
                $name(value.to_string())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> $name {
                $name(value)
            }
        }
    };
}

name!(
    /// A checkout's token: what journeys are keyed and matched by (Shopify's checkout `id` is
    /// gone from webhooks since Admin API 2026-04).
    CheckoutToken
);
name!(
    /// A playbook step's `id` (`reminder`, `offer`), unique within the playbook.
    StepId
);
name!(
    /// WhatsApp's id of a message (`wamid.HBg…`). It encodes the recipient's number, so the
    /// ledger keeps it only as a keyed hash.
    Wamid
);

impl fmt::Display for ShopDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for CheckoutToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_are_myshopify_names_only() {
        assert!(ShopDomain::parse("maple-and-finch-demo.myshopify.com").is_some());
        for bad in [
            "Maple.myshopify.com",
            ".myshopify.com",
            "evil.com",
            "a.b.myshopify.com",
            "x.myshopify.com.evil.com",
            "-x.myshopify.com",
        ] {
            assert!(ShopDomain::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_shop_domain_is_validated_when_read_back() {
        let shop: ShopDomain = serde_json::from_str("\"a1.myshopify.com\"").unwrap();
        assert_eq!(
            serde_json::to_string(&shop).unwrap(),
            "\"a1.myshopify.com\""
        );
        assert!(serde_json::from_str::<ShopDomain>("\"evil.com\"").is_err());
    }

    #[test]
    fn names_serialize_as_their_string() {
        let token = CheckoutToken::new("abc");
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"abc\"");
        assert_eq!(&token, "abc");
    }
}
