use sea_orm::entity::prelude::*;

/// One learner's answers: q1..q5 are 1..=5 or unanswered (SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// One response per learner and class.
    #[sea_orm(unique)]
    pub enrollment_id: i64,
    /// The invitation answered (none for responses imported from MTM).
    pub invitation_id: Option<i64>,
    pub q1: Option<i16>,
    pub q2: Option<i16>,
    pub q3: Option<i16>,
    pub q4: Option<i16>,
    pub q5: Option<i16>,
    pub comment: Option<String>,
    pub submitted_on: Date,
    pub source: tsp_domain::survey::ResponseSource,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
