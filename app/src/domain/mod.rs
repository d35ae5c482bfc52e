//! Pure rules: no I/O, no database, no clock (dates and times are passed in).
pub mod account;
pub mod catalog;
pub mod csv_cell;
pub mod delivery;
pub mod erasure;
pub mod fields;
pub mod kpi;
pub mod plural;
pub mod policy;
pub mod recording;
pub mod redirect;
pub mod role;
pub mod throttle;
