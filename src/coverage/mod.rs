//! Coverage: floor plans, RF prediction, calibration, KPIs, holes and the
//! channel plan (issue 14). So far the prediction model ([`model`]), pure
//! and checked against the formula by hand, and the KPIs and holes of a
//! prediction ([`kpi`]); plans, storage, views and calibration build on
//! them.

pub mod kpi;
pub mod model;
