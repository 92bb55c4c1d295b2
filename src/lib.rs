//! Portico: wireless network controller and captive portal.
//!
//! Layers: pure codecs (`radius::wire`, `radius::mschap`, `radius::dictionary`),
//! services that hold policy, and I/O at the edges (`radius::server`, `http`,
//! `store`).

pub mod domain;
pub mod profiles;
pub mod radius;
pub mod store;
