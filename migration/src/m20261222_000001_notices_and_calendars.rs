use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261217_000001_vocabulary_checks::{drop_guard, install_guard};

/// Issue 16 items 2 and 6: the nudges of the To do page and the MCT's calendar.
///
/// - `notices`: one row per nudge sent (`kind`, `subject` unique), so each reminder and
///   warning goes out once, whoever runs the daily pass and whatever later happens to the
///   outbox's rows (they are erased with the learner, or by retention).
/// - `outbox_messages.calendar`: an iCalendar attachment (the class assignment's `.ics`).
/// - `trainers.calendar_token_hash`: SHA-256 of the MCT's secret calendar-feed token.
/// - The outbox's kinds widen to the new e-mails.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The outbox kinds from this migration on (the domain's `MessageKind::ALL`).
pub const OUTBOX_KINDS: &[&str] = &[
    "achievement_code",
    "delivery_confirmation",
    "password_reset",
    "recording_consent",
    "survey_invitation",
    "survey_reminder",
    "takedown_overdue",
    "confirmation_reminder",
    "confirmation_overdue",
    "code_reminder",
    "standing_ending",
    "consent_revoked",
    "class_assignment",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notices::Table)
                    .col(big_pk_auto(Notices::Id))
                    .col(string_len(Notices::Kind, 40))
                    .col(string_len(Notices::Subject, 120))
                    .col(timestamp_with_time_zone(Notices::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notices_kind_subject")
                    .table(Notices::Table)
                    .col(Notices::Kind)
                    .col(Notices::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .add_column(text_null(OutboxMessages::Calendar))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Trainers::Table)
                    .add_column(string_len_null(Trainers::CalendarTokenHash, 64))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        drop_guard(db, "outbox_messages", "kind").await?;
        install_guard(db, "outbox_messages", "kind", OUTBOX_KINDS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        drop_guard(db, "outbox_messages", "kind").await?;
        let (_, _, before) = crate::m20261217_000001_vocabulary_checks::VOCABULARIES
            .iter()
            .find(|(t, c, _)| *t == "outbox_messages" && *c == "kind")
            .expect("the outbox kinds are guarded");
        install_guard(db, "outbox_messages", "kind", before).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Trainers::Table)
                    .drop_column(Trainers::CalendarTokenHash)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .drop_column(OutboxMessages::Calendar)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Notices::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Notices {
    Table,
    Id,
    Kind,
    Subject,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Calendar,
}

#[derive(DeriveIden)]
enum Trainers {
    Table,
    CalendarTokenHash,
}
