use sea_orm::entity::prelude::*;

/// A nudge sent (a reminder or a warning of the To do page): each goes out once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Which nudge: `confirmation_reminder`, `code_reminder`, …
    pub kind: String,
    /// What it was about, unique per kind: `class:42`, `trainer:7:2027-03-31:30`, …
    pub subject: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
