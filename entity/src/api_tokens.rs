use sea_orm::entity::prelude::*;

/// A bearer token for the JSON API, created and revoked by an administrator.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// A label saying who or what uses the token.
    pub name: String,
    /// SHA-256 (hex) of the secret: a leaked table does not leak live tokens.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// The secret's first 8 characters, so people can tell tokens apart.
    pub prefix: String,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::CreatedBy",
        to = "super::users::Column::Id"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
