//! sea-orm entities only: table shapes, no business rules.
pub mod classes;
pub mod courses;
pub mod enrollments;
pub mod ledger_entries;
pub mod ledger_head;
pub mod login_throttle;
pub mod sessions;
pub mod trainers;
pub mod users;
