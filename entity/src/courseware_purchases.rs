use sea_orm::entity::prelude::*;

/// A Courseware Marketplace purchase line (the Learning Partner program): `quantity`
/// kits of one product on one order, and what they cost in US cents.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courseware_purchases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub purchased_on: Date,
    pub product_kind: tsp_domain::learning_partner::ProductKind,
    /// Upper-cased, e.g. `20742B`.
    pub product_code: String,
    pub quantity: i32,
    pub revenue_cents: i64,
    /// The purchase order; unique together with `product_code`.
    pub order_ref: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
