use sea_orm::entity::prelude::*;

/// A learner on a class roster.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub class_id: i64,
    pub learner_name: String,
    /// As the learner gave it (mail goes there).
    pub learner_email: String,
    /// Lower-cased e-mail: one learner at most once per class.
    pub email_key: String,
    pub attended: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
