use sea_orm::entity::prelude::*;

/// A Microsoft Certified Trainer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trainers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Stored lower-cased.
    #[sea_orm(unique)]
    pub email: String,
    #[sea_orm(unique)]
    pub mct_id: String,
    /// Good standing on a day means `mct_valid_until >= day`.
    pub mct_valid_until: Date,
    pub affiliated: bool,
    /// The sign-in account (role `trainer`) of this MCT, if they have one.
    #[sea_orm(unique)]
    pub user_id: Option<i64>,
    /// SHA-256 (hex) of the secret token of the MCT's calendar feed; none: no feed.
    pub calendar_token_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
