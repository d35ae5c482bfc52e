use sea_orm::entity::prelude::*;

/// Microsoft's content-review outcome for a recording (SPEC §2 "Takedown").
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "takedowns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recording_id: i64,
    pub reference: String,
    pub reason: tsp_domain::recording::TakedownReason,
    pub received_on: Date,
    pub due_on: Date,
    pub status: tsp_domain::recording::TakedownStatus,
    pub completed_on: Option<Date>,
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
