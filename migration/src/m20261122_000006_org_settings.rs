use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row (id 1) of organisation-wide settings, edited by admins.
        manager
            .create_table(
                Table::create()
                    .table(OrgSettings::Table)
                    .col(big_integer(OrgSettings::Id).primary_key())
                    .col(string_len(OrgSettings::OrganizationName, 120))
                    .col(small_integer_null(OrgSettings::AnniversaryMonth))
                    .col(small_integer_null(OrgSettings::AnniversaryDay))
                    .col(timestamp_with_time_zone(OrgSettings::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgSettings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OrgSettings {
    Table,
    Id,
    OrganizationName,
    AnniversaryMonth,
    AnniversaryDay,
    UpdatedAt,
}
