//! Issue 16 item 9: the organisation's logo, one row (id 1) beside `org_settings`, in the
//! database so every instance serves the same one. Only PNG and JPEG of at most 256 KB
//! (`domain::brand::check_logo`); the table refuses anything else too. The bytes are
//! apart from the settings row, which every page reads for the name.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The largest logo, in bytes (`domain::brand::MAX_LOGO_BYTES`).
const MAX_BYTES: u32 = 256 * 1024;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgLogo::Table)
                    .col(big_integer(OrgLogo::Id).primary_key())
                    .col(
                        string_len(OrgLogo::ContentType, 32).check(
                            Expr::col(OrgLogo::ContentType).is_in(["image/png", "image/jpeg"]),
                        ),
                    )
                    .col(string_len(OrgLogo::Sha256, 64))
                    .col(blob(OrgLogo::Bytes))
                    .col(timestamp_with_time_zone(OrgLogo::UpdatedAt))
                    .check(Expr::cust(format!(
                        "length(bytes) BETWEEN 1 AND {MAX_BYTES}"
                    )))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgLogo::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OrgLogo {
    Table,
    Id,
    ContentType,
    Sha256,
    Bytes,
    UpdatedAt,
}
