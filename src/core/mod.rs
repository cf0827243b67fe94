//! The pure core: domain values, the journey state machine and the rules it enforces.
//! Nothing here imports `worker` or reads a clock; time comes in as an argument (`Millis`).

pub mod caps;
pub mod consent;
pub mod conversation;
pub mod delivery;
pub mod discount;
pub mod gate;
pub mod holdout;
pub mod inbound;
pub mod journey;
pub mod message;
pub mod metrics;
pub mod money;
pub mod oauth;
pub mod pacing;
pub mod phone;
pub mod playbook;
pub mod playbook_validation;
pub mod proxy_signature;
pub mod quiet_hours;
pub mod seal;
pub mod session_token;
pub mod shop;
pub mod shopify;
pub mod signature;
pub mod time;
