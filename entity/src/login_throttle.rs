use sea_orm::entity::prelude::*;

/// Failed sign-in counters, per account (`account:<email>`) and per client (`client:<addr>`).
/// Kept in the database so that several app instances count together.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Consecutive failures since the last success (drives the growing delay).
    pub consecutive_failures: i32,
    /// Failures inside the current hour window (drives the hard hourly cap).
    pub window_failures: i32,
    pub window_started_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
