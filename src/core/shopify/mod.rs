//! Shopify: webhook payloads, the shop record, discount codes and the Admin API token grants.

pub mod discount;
pub mod oauth;
pub mod payloads;
pub mod shop;
