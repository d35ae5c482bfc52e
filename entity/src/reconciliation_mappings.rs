use sea_orm::entity::prelude::*;
use tsp_domain::reconciliation::{DateFormat, Figure};

/// A saved column mapping for one of Microsoft's downloads.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_mappings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub figure: Figure,
    /// JSON: `{"date": "Completion Date", "code": "Achievement Code", …}`.
    pub columns: String,
    pub date_format: DateFormat,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
