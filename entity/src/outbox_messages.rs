use sea_orm::entity::prelude::*;

/// An e-mail written in the same transaction as the change that causes it (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What the message is: `survey_invitation`, `achievement_code`, …
    pub kind: tsp_domain::outbox::MessageKind,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// The RFC 5322 Message-ID, fixed when queued so a resend is recognisably the same.
    #[sea_orm(unique)]
    pub message_id: String,
    pub status: tsp_domain::outbox::OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// Set while a worker holds the message; a crashed worker's claim expires.
    pub lease_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// The record the message is about (`class:42`, `enrollment:7`).
    pub related: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// An iCalendar file sent as an attachment (`invite.ics`), if any.
    pub calendar: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
