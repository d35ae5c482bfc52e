use sea_orm::entity::prelude::*;

/// A Microsoft Title Plan row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Upper-cased, e.g. `AZ-104`.
    #[sea_orm(unique)]
    pub course_code: String,
    pub title: String,
    pub duration_days: i32,
    pub fundamentals: bool,
    /// A solution area id, or none.
    pub solution_area: Option<tsp_domain::catalog::SolutionArea>,
    pub content: tsp_domain::catalog::Content,
    pub courseware_version: String,
    pub retired: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
