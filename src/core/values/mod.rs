//! Values validated once at the edge and trusted everywhere after: exact money, E.164 phones,
//! epoch-millisecond time,
//! and the identifiers (shop, checkout, step, message) that travel between the parts.

pub mod ids;
pub mod money;
pub mod phone;
pub mod recovery_link;
pub mod time;
