//! RADIUS: codecs, policy and listeners.

pub mod chap;
pub mod dictionary;
pub mod mschap;
pub mod wire;
