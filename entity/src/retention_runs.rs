use sea_orm::entity::prelude::*;

/// One run of the retention job: when, by whom, and what it erased (JSON counts).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ran_at: DateTimeUtc,
    /// The ledger's actor text: `system` (the daily job), `cli`, `user:7`.
    pub actor: String,
    /// What the run erased, per category (JSON object of counts).
    pub summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
