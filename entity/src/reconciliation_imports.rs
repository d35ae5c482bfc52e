use sea_orm::entity::prelude::*;
use tsp_domain::reconciliation::Figure;

/// One import of Microsoft's download: it replaced the lines of the months it covers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub figure: Figure,
    pub file_name: String,
    pub mapping_name: String,
    pub lines: i64,
    pub first_date: Date,
    pub last_date: Date,
    pub imported_by: String,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
