//! Adapters to the outside: configuration, KV records, the WhatsApp Cloud API and the Shopify
//! Admin API.

pub mod body;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod shopify;
pub mod store;
pub mod whatsapp;
pub mod zones;
