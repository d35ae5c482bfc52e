use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261217_000001_vocabulary_checks::{drop_guard, install_guard};

/// Issue 17 item 1: reconciliation with Partner Center.
///
/// - `reconciliation_mappings`: saved column mappings (which column of Microsoft's file
///   holds which field), by name.
/// - `reconciliation_uploads`: a file between its upload and its import (the mapping
///   editor shows its header first); in the database so any instance can finish it.
/// - `reconciliation_imports` and `reconciliation_lines`: Microsoft's line items as
///   imported, per figure; a newer import replaces the lines of the months it covers.
///   A survey line keeps the SHA-256 of the learner's e-mail, never the e-mail.
/// - `org_settings.partner_location_id`: the org/location ID a support case names.
#[derive(DeriveMigrationName)]
pub struct Migration;

pub const FIGURES: &[&str] = &["courseware", "exams", "surveys"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReconciliationMappings::Table)
                    .col(big_pk_auto(ReconciliationMappings::Id))
                    .col(string_len_uniq(ReconciliationMappings::Name, 100))
                    .col(string_len(ReconciliationMappings::Figure, 20))
                    .col(text(ReconciliationMappings::Columns))
                    .col(string_len(ReconciliationMappings::DateFormat, 20))
                    .col(timestamp_with_time_zone(ReconciliationMappings::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReconciliationUploads::Table)
                    .col(string_len(ReconciliationUploads::Token, 64).primary_key())
                    .col(string_len(ReconciliationUploads::Figure, 20))
                    .col(string_len(ReconciliationUploads::FileName, 200))
                    .col(text(ReconciliationUploads::Content))
                    .col(string_len(ReconciliationUploads::CreatedBy, 200))
                    .col(timestamp_with_time_zone(ReconciliationUploads::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReconciliationImports::Table)
                    .col(big_pk_auto(ReconciliationImports::Id))
                    .col(string_len(ReconciliationImports::Figure, 20))
                    .col(string_len(ReconciliationImports::FileName, 200))
                    .col(string_len(ReconciliationImports::MappingName, 100))
                    .col(big_integer(ReconciliationImports::Lines))
                    .col(date(ReconciliationImports::FirstDate))
                    .col(date(ReconciliationImports::LastDate))
                    .col(string_len(ReconciliationImports::ImportedBy, 200))
                    .col(timestamp_with_time_zone(ReconciliationImports::ImportedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReconciliationLines::Table)
                    .col(big_pk_auto(ReconciliationLines::Id))
                    .col(big_integer(ReconciliationLines::ImportId))
                    .col(string_len(ReconciliationLines::Figure, 20))
                    .col(big_integer(ReconciliationLines::LineNo))
                    .col(date(ReconciliationLines::OccurredOn))
                    .col(string_len(ReconciliationLines::ItemKey, 200))
                    .col(string_len(ReconciliationLines::Item, 200))
                    .col(string_len(ReconciliationLines::CourseCode, 60))
                    .col(big_integer(ReconciliationLines::Units))
                    .col(big_integer_null(ReconciliationLines::HalfPoints))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReconciliationLines::Table, ReconciliationLines::ImportId)
                            .to(ReconciliationImports::Table, ReconciliationImports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reconciliation_lines_figure_day")
                    .table(ReconciliationLines::Table)
                    .col(ReconciliationLines::Figure)
                    .col(ReconciliationLines::OccurredOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reconciliation_lines_import")
                    .table(ReconciliationLines::Table)
                    .col(ReconciliationLines::ImportId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrgSettings::Table)
                    .add_column(string_len(OrgSettings::PartnerLocationId, 60).default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for table in [
            "reconciliation_mappings",
            "reconciliation_uploads",
            "reconciliation_imports",
            "reconciliation_lines",
        ] {
            install_guard(db, table, "figure", FIGURES).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in [
            "reconciliation_mappings",
            "reconciliation_uploads",
            "reconciliation_imports",
            "reconciliation_lines",
        ] {
            drop_guard(db, table, "figure").await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(OrgSettings::Table)
                    .drop_column(OrgSettings::PartnerLocationId)
                    .to_owned(),
            )
            .await?;
        for table in [
            ReconciliationLines::Table.into_iden(),
            ReconciliationImports::Table.into_iden(),
            ReconciliationUploads::Table.into_iden(),
            ReconciliationMappings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ReconciliationMappings {
    Table,
    Id,
    Name,
    Figure,
    Columns,
    DateFormat,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReconciliationUploads {
    Table,
    Token,
    Figure,
    FileName,
    Content,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReconciliationImports {
    Table,
    Id,
    Figure,
    FileName,
    MappingName,
    Lines,
    FirstDate,
    LastDate,
    ImportedBy,
    ImportedAt,
}

#[derive(DeriveIden)]
enum ReconciliationLines {
    Table,
    Id,
    ImportId,
    Figure,
    LineNo,
    OccurredOn,
    ItemKey,
    Item,
    CourseCode,
    Units,
    HalfPoints,
}

#[derive(DeriveIden)]
enum OrgSettings {
    Table,
    PartnerLocationId,
}
