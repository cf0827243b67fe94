//! The pure core: domain values, the journey state machine and the rules it enforces.
//! Nothing here imports `worker` or reads a clock; time comes in as an argument (`Millis`).

pub mod delivery;
pub mod journey;
pub mod message;
pub mod money;
pub mod phone;
pub mod playbook;
pub mod shop;
pub mod shopify;
pub mod signature;
pub mod time;
