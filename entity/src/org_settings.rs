use sea_orm::entity::prelude::*;

/// Organisation-wide settings: a single row with id 1.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub organization_name: String,
    /// The designation anniversary (SPEC §4 renewal); both set or both empty.
    pub anniversary_month: Option<i16>,
    pub anniversary_day: Option<i16>,
    /// The org/location ID that a support case with Microsoft names (empty: not set).
    pub partner_location_id: String,
    /// Which rules profiles the dashboard shows.
    pub dashboard_profiles: tsp_domain::learning_partner::DashboardProfiles,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
