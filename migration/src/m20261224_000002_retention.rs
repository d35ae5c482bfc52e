use sea_orm_migration::{prelude::*, schema::*};

/// Issue 17 item 4: retention (GDPR storage limitation).
///
/// - `retention_runs`: one row per run of the retention job (when, by whom, what it
///   erased, as counts). The daily job reads the newest under the write lock, so two
///   instances never both run on one day.
/// - `recording_consents.evidence_erased_at`: when retention erased the consent's
///   evidence (note, link, the ledger's copies of its texts); NULL while it is kept.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RetentionRuns::Table)
                    .col(big_pk_auto(RetentionRuns::Id))
                    .col(timestamp_with_time_zone(RetentionRuns::RanAt))
                    .col(string_len(RetentionRuns::Actor, 40))
                    .col(text(RetentionRuns::Summary))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_retention_runs_ran_at")
                    .table(RetentionRuns::Table)
                    .col(RetentionRuns::RanAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RecordingConsents::Table)
                    .add_column(timestamp_with_time_zone_null(
                        RecordingConsents::EvidenceErasedAt,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RecordingConsents::Table)
                    .drop_column(RecordingConsents::EvidenceErasedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(RetentionRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RetentionRuns {
    Table,
    Id,
    RanAt,
    Actor,
    Summary,
}

#[derive(DeriveIden)]
enum RecordingConsents {
    Table,
    EvidenceErasedAt,
}
