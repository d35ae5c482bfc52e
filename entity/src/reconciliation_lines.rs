use sea_orm::entity::prelude::*;
use tsp_domain::reconciliation::Figure;

/// A line item of Microsoft's download.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub import_id: i64,
    pub figure: Figure,
    /// The line of the file it came from (the header is line 1).
    pub line_no: i64,
    pub occurred_on: Date,
    /// What it is matched by: the code or order reference, or for a survey the SHA-256
    /// of the learner's e-mail.
    pub item_key: String,
    /// The code or order reference as shown; empty for a survey (no e-mail is kept).
    pub item: String,
    pub course_code: String,
    pub units: i64,
    pub half_points: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
