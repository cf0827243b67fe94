//! The runtime's clock, read only here in the shell and handed to the core as `now`.

use crate::core::values::time::Millis;

pub fn now() -> Millis {
    Millis(worker::Date::now().as_millis() as i64)
}
