use sea_orm::entity::prelude::*;

/// A learner's invitation to the class survey; the link's token is stored only as a hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub enrollment_id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub sent_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub reminders_sent: i32,
    pub last_reminder_at: Option<DateTimeUtc>,
    pub responded_at: Option<DateTimeUtc>,
    /// Set when the learner was erased: the link no longer opens anything.
    pub cancelled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
