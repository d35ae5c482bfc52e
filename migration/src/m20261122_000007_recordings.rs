use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Recordings::Table)
                    .col(big_pk_auto(Recordings::Id))
                    .col(string_len(Recordings::Title, 200))
                    .col(big_integer(Recordings::CourseId))
                    .col(big_integer(Recordings::TrainerId))
                    .col(big_integer_null(Recordings::SourceClassId))
                    .col(string_len(Recordings::CoursewareVersion, 32))
                    .col(string_len(Recordings::Location, 500))
                    .col(string_len(Recordings::Status, 16))
                    .col(timestamp_with_time_zone(Recordings::CreatedAt))
                    .col(timestamp_with_time_zone(Recordings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recordings::Table, Recordings::CourseId)
                            .to(Courses::Table, Courses::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recordings::Table, Recordings::TrainerId)
                            .to(Trainers::Table, Trainers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recordings::Table, Recordings::SourceClassId)
                            .to(Classes::Table, Classes::Id),
                    )
                    .to_owned(),
            )
            .await?;

        // Consent subjects: the presenting MCT (trainer_id) or a learner of the source
        // class (enrollment_id only: no copy of a name or e-mail, SPEC §6). No foreign key
        // on enrollment_id: a roster line may be removed, the consent history stays.
        manager
            .create_table(
                Table::create()
                    .table(RecordingConsents::Table)
                    .col(big_pk_auto(RecordingConsents::Id))
                    .col(big_integer(RecordingConsents::RecordingId))
                    .col(big_integer_null(RecordingConsents::TrainerId))
                    .col(big_integer_null(RecordingConsents::EnrollmentId))
                    .col(string_len(RecordingConsents::Status, 16))
                    .col(string_len_null(RecordingConsents::Method, 16))
                    .col(string_len_null(RecordingConsents::Note, 300))
                    .col(string_len_null(RecordingConsents::TokenHash, 64).unique_key())
                    .col(timestamp_with_time_zone_null(RecordingConsents::ChangedAt))
                    .col(timestamp_with_time_zone(RecordingConsents::CreatedAt))
                    .col(timestamp_with_time_zone(RecordingConsents::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecordingConsents::Table, RecordingConsents::RecordingId)
                            .to(Recordings::Table, Recordings::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecordingConsents::Table, RecordingConsents::TrainerId)
                            .to(Trainers::Table, Trainers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One row per subject and recording (NULLs are distinct in both backends).
        for (name, col) in [
            ("idx_consents_learner", RecordingConsents::EnrollmentId),
            ("idx_consents_mct", RecordingConsents::TrainerId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RecordingConsents::Table)
                        .col(RecordingConsents::RecordingId)
                        .col(col)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Takedowns::Table)
                    .col(big_pk_auto(Takedowns::Id))
                    .col(big_integer(Takedowns::RecordingId))
                    .col(string_len(Takedowns::Reference, 64))
                    .col(string_len(Takedowns::Reason, 32))
                    .col(date(Takedowns::ReceivedOn))
                    .col(date(Takedowns::DueOn))
                    .col(string_len(Takedowns::Status, 16))
                    .col(date_null(Takedowns::CompletedOn))
                    .col(text_null(Takedowns::Notes))
                    .col(timestamp_with_time_zone(Takedowns::CreatedAt))
                    .col(timestamp_with_time_zone(Takedowns::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Takedowns::Table, Takedowns::RecordingId)
                            .to(Recordings::Table, Recordings::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Overdue takedowns are found by status and due date.
        manager
            .create_index(
                Index::create()
                    .name("idx_takedowns_status_due")
                    .table(Takedowns::Table)
                    .col(Takedowns::Status)
                    .col(Takedowns::DueOn)
                    .to_owned(),
            )
            .await?;

        // A recorded class may name the published recording it delivers. Inline
        // REFERENCES works in ADD COLUMN on SQLite and PostgreSQL alike.
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE classes ADD COLUMN recording_id BIGINT NULL REFERENCES recordings (id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_classes_recording")
                    .table(Classes::Table)
                    .col(Classes::RecordingId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_classes_recording")
                    .table(Classes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Classes::Table)
                    .drop_column(Classes::RecordingId)
                    .to_owned(),
            )
            .await?;
        for table in [
            Takedowns::Table.into_iden(),
            RecordingConsents::Table.into_iden(),
            Recordings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Trainers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Classes {
    Table,
    Id,
    RecordingId,
}

#[derive(DeriveIden)]
enum Recordings {
    Table,
    Id,
    Title,
    CourseId,
    TrainerId,
    SourceClassId,
    CoursewareVersion,
    Location,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RecordingConsents {
    Table,
    Id,
    RecordingId,
    TrainerId,
    EnrollmentId,
    Status,
    Method,
    Note,
    TokenHash,
    ChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Takedowns {
    Table,
    Id,
    RecordingId,
    Reference,
    Reason,
    ReceivedOn,
    DueOn,
    Status,
    CompletedOn,
    Notes,
    CreatedAt,
    UpdatedAt,
}
