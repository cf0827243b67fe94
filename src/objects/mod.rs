//! Durable Objects: the single writers that persist state and execute the core's effects.
//! `protocol` holds every message between them and the Worker.

mod admin_api;
pub mod cart_journey;
pub mod protocol;
mod rpc;
pub mod send;
pub mod shop_ledger;
