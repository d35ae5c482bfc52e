use sea_orm::entity::prelude::*;

/// A Microsoft achievement code: in the pool (no enrollment) or issued to a learner.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "achievement_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    /// The learner it was issued to; a code is issued at most once.
    #[sea_orm(unique)]
    pub enrollment_id: Option<i64>,
    pub issued_on: Option<Date>,
    pub emailed_at: Option<DateTimeUtc>,
    pub redeemed_on: Option<Date>,
    pub expires_on: Option<Date>,
    /// SHA-256 of the learner page's token (the token itself is only in the e-mail).
    #[sea_orm(unique)]
    pub token_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
