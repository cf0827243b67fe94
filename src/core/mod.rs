//! The pure core: every decision cartback makes, as plain Rust. Nothing here imports `worker`
//! or reads a clock; time (and any randomness) comes in as an argument, effects go out as data.

pub mod conversation;
pub mod costs;
pub mod crypto;
pub mod gate;
pub mod journey;
pub mod metrics;
pub mod optimizer;
pub mod playbook;
pub mod shopify;
pub mod values;
pub mod whatsapp;
