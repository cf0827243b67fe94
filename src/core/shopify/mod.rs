//! Shopify: which webhooks to act on, their payloads, the shop record, discount codes and the
//! Admin API token grants.

pub mod customer_consent;
pub mod discount;
pub mod embedding;
pub mod graphql;
pub mod oauth;
pub mod payloads;
pub mod product_image;
pub mod shop;
pub mod sweep;
pub mod webhook;
