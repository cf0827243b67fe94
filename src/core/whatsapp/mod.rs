//! WhatsApp Cloud API: inbound webhooks as typed events, outbound request bodies, which
//! endpoint a message goes to, and what a refused send means.

pub mod delivery;
pub mod inbound;
pub mod message;
pub mod routing;
pub mod templates;
