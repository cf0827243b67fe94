//! Durable Objects: the single writers that persist state and execute the core's effects.

pub mod cart_journey;
mod rpc;
pub mod shop_ledger;
