//! sea-orm entities only: table shapes, no business rules.
pub mod achievement_codes;
pub mod api_tokens;
pub mod classes;
pub mod courses;
pub mod enrollments;
pub mod exam_vouchers;
pub mod ledger_entries;
pub mod ledger_head;
pub mod login_throttle;
pub mod org_settings;
pub mod outbox_messages;
pub mod sessions;
pub mod survey_invitations;
pub mod survey_responses;
pub mod trainers;
pub mod users;
