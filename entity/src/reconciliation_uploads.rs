use sea_orm::entity::prelude::*;
use tsp_domain::reconciliation::Figure;

/// A file of Microsoft's between its upload and its import (the mapping editor reads it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_uploads")]
pub struct Model {
    /// SHA-256 of the token the editor's form carries.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: String,
    pub figure: Figure,
    pub file_name: String,
    pub content: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
