use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261217_000001_vocabulary_checks::{drop_guard, install_guard};

/// Issue 17 item 3: the older Learning Partner program as a second rules profile.
///
/// - `courseware_purchases`: Courseware Marketplace purchase lines (one product on one
///   order: `(order_ref, product_code)` is unique, the `courseware` import's key), with
///   the kits bought and their revenue in US cents.
/// - `org_settings.dashboard_profiles`: which profiles the dashboard shows (the 2025
///   designation only, as before, until an administrator chooses otherwise).
/// - Both vocabularies guarded like the others (`m20261217`).
#[derive(DeriveMigrationName)]
pub struct Migration;

/// This migration's snapshot of the vocabularies it guards (`domain::learning_partner`).
pub const VOCABULARIES: &[(&str, &str, &[&str])] = &[
    (
        "courseware_purchases",
        "product_kind",
        &[
            "moc",
            "moc_on_demand",
            "cloud_workshop",
            "training_course",
            "mta_courseware",
            "mccvl",
            "exam",
            "labs",
        ],
    ),
    (
        "org_settings",
        "dashboard_profiles",
        &["designation_2025", "learning_partner", "both"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CoursewarePurchases::Table)
                    .col(big_pk_auto(CoursewarePurchases::Id))
                    .col(date(CoursewarePurchases::PurchasedOn))
                    .col(string_len(CoursewarePurchases::ProductKind, 32))
                    .col(string_len(CoursewarePurchases::ProductCode, 32))
                    .col(integer(CoursewarePurchases::Quantity))
                    .col(big_integer(CoursewarePurchases::RevenueCents))
                    .col(string_len(CoursewarePurchases::OrderRef, 64))
                    .col(timestamp_with_time_zone(CoursewarePurchases::CreatedAt))
                    .col(timestamp_with_time_zone(CoursewarePurchases::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_courseware_order_product")
                    .table(CoursewarePurchases::Table)
                    .col(CoursewarePurchases::OrderRef)
                    .col(CoursewarePurchases::ProductCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The evaluation sums a period's purchases by purchase date.
        manager
            .create_index(
                Index::create()
                    .name("idx_courseware_purchased")
                    .table(CoursewarePurchases::Table)
                    .col(CoursewarePurchases::PurchasedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrgSettings::Table)
                    .add_column(
                        string_len(OrgSettings::DashboardProfiles, 32).default("designation_2025"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for (table, column, values) in VOCABULARIES {
            install_guard(db, table, column, values).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, column, _) in VOCABULARIES {
            drop_guard(db, table, column).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(OrgSettings::Table)
                    .drop_column(OrgSettings::DashboardProfiles)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(CoursewarePurchases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CoursewarePurchases {
    Table,
    Id,
    PurchasedOn,
    ProductKind,
    ProductCode,
    Quantity,
    RevenueCents,
    OrderRef,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrgSettings {
    Table,
    DashboardProfiles,
}
