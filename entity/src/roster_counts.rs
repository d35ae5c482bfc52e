use sea_orm::entity::prelude::*;

/// A class's roster size and how many of its learners attended, kept by triggers on
/// `enrollments` and `classes` (migration `m20261221`): one row per class.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roster_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub class_id: i64,
    pub learners: i64,
    pub attended: i64,
}

/// The class list reads each class with its counts in the same query.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::classes::Entity",
        from = "Column::ClassId",
        to = "super::classes::Column::Id"
    )]
    Class,
}

impl Related<Entity> for super::classes::Entity {
    fn to() -> RelationDef {
        Relation::Class.def().rev()
    }
}

impl ActiveModelBehavior for ActiveModel {}
