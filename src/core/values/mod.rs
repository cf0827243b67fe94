//! Values validated once at the edge and trusted everywhere after: exact money, E.164 phones,
//! epoch-millisecond time.

pub mod money;
pub mod phone;
pub mod time;
