use sea_orm::entity::prelude::*;

/// A recording of a course, presented by an MCT (SPEC §2 "Recording").
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recordings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub course_id: i64,
    /// The presenting MCT.
    pub trainer_id: i64,
    /// The live class that was recorded, if any.
    pub source_class_id: Option<i64>,
    /// The course's courseware version the recording was made against.
    pub courseware_version: String,
    /// URL or storage path.
    pub location: String,
    pub status: tsp_domain::recording::RecordingStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
