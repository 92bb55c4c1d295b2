//! Coverage: floor plans, RF prediction, calibration, KPIs, holes and the
//! channel plan (issue 14). So far the pure parts: the prediction model
//! ([`model`]), checked against the formula by hand; the KPIs and holes of
//! a prediction ([`kpi`]); the least-squares fit of the distance
//! exponent to measured signals ([`calibrate`]); the walls of an
//! architect's DXF drawing ([`dxf`]); planning suggestions, a channel
//! plan and transmit powers ([`plan`]); and the [`service`] that reads a
//! stored floor and answers the API, dashboard and CLI.

pub mod calibrate;
pub mod dxf;
pub mod kpi;
pub mod model;
pub mod plan;
pub mod service;
