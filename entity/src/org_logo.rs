use sea_orm::entity::prelude::*;
use tsp_domain::brand::LogoFormat;

/// The organisation's logo: at most one row (id 1), shown on pages and in e-mails.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "org_logo")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub content_type: LogoFormat,
    /// SHA-256 of the bytes, hex: the logo's ETag and the version in its links.
    pub sha256: String,
    #[sea_orm(column_type = "Blob")]
    pub bytes: Vec<u8>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
