//! WhatsApp Cloud API: inbound webhooks as typed events, outbound request bodies, and what a
//! refused send means.

pub mod delivery;
pub mod inbound;
pub mod message;
