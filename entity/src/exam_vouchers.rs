use sea_orm::entity::prelude::*;

/// An exam voucher purchase: `quantity` vouchers for one exam on one order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exam_vouchers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub purchased_on: Date,
    /// Upper-cased, e.g. `AZ-104`.
    pub exam_code: String,
    pub level: tsp_domain::catalog::Level,
    pub quantity: i32,
    /// The purchase order; unique together with `exam_code`.
    pub order_ref: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
