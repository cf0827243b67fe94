//! Adapters to the outside: configuration, KV records and the WhatsApp Cloud API.

pub mod config;
pub mod store;
pub mod whatsapp;
