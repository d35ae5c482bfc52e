use sea_orm::entity::prelude::*;

/// One delivery of a course.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "classes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Upper-cased, e.g. `C-2026-0142`.
    #[sea_orm(unique)]
    pub class_ref: String,
    pub course_id: i64,
    pub trainer_id: i64,
    pub start_date: Date,
    pub end_date: Date,
    pub modality: tsp_domain::delivery::Modality,
    pub status: tsp_domain::delivery::ClassStatus,
    pub location: Option<String>,
    pub external_survey_url: Option<String>,
    pub confirmed_at: Option<DateTimeUtc>,
    /// The published recording a recorded class delivers, if named.
    pub recording_id: Option<i64>,
    /// Listed on the public schedule feed (`/schedule.json`, `/schedule.ics`).
    pub published_schedule: bool,
    /// The language the class is taught in: a BCP 47 tag such as `en` or `de-DE`.
    pub language: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Declared for the class list, which reads each class with its course and MCT in one
/// query.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::courses::Entity",
        from = "Column::CourseId",
        to = "super::courses::Column::Id"
    )]
    Course,
    #[sea_orm(
        belongs_to = "super::trainers::Entity",
        from = "Column::TrainerId",
        to = "super::trainers::Column::Id"
    )]
    Trainer,
}

impl Related<super::courses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Course.def()
    }
}

impl Related<super::trainers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Trainer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
