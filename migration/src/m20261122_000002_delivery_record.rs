use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every class list filter is an equality on one column followed by the list's order
/// (`start_date DESC, id DESC`), so each filter gets an index ending in that order: a
/// page of 50 is read straight off the index however many classes there are.
const CLASS_LIST_INDEXES: [(&str, Option<Classes>); 5] = [
    ("idx_classes_start", None),
    ("idx_classes_status_start", Some(Classes::Status)),
    ("idx_classes_modality_start", Some(Classes::Modality)),
    ("idx_classes_course_start", Some(Classes::CourseId)),
    ("idx_classes_trainer_start", Some(Classes::TrainerId)),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Courses::Table)
                    .col(big_pk_auto(Courses::Id))
                    .col(string_len_uniq(Courses::CourseCode, 32))
                    .col(string(Courses::Title))
                    .col(integer(Courses::DurationDays))
                    .col(boolean(Courses::Fundamentals))
                    .col(string_len_null(Courses::SolutionArea, 32))
                    .col(string_len(Courses::Content, 16))
                    .col(string_len(Courses::CoursewareVersion, 32))
                    .col(boolean(Courses::Retired))
                    .col(timestamp_with_time_zone(Courses::CreatedAt))
                    .col(timestamp_with_time_zone(Courses::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Trainers::Table)
                    .col(big_pk_auto(Trainers::Id))
                    .col(string(Trainers::Name))
                    .col(string_uniq(Trainers::Email))
                    .col(string_len_uniq(Trainers::MctId, 64))
                    .col(date(Trainers::MctValidUntil))
                    .col(boolean(Trainers::Affiliated))
                    .col(big_integer_null(Trainers::UserId).unique_key())
                    .col(timestamp_with_time_zone(Trainers::CreatedAt))
                    .col(timestamp_with_time_zone(Trainers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Trainers::Table, Trainers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_trainers_valid_until")
                    .table(Trainers::Table)
                    .col(Trainers::MctValidUntil)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Classes::Table)
                    .col(big_pk_auto(Classes::Id))
                    .col(string_len_uniq(Classes::ClassRef, 64))
                    .col(big_integer(Classes::CourseId))
                    .col(big_integer(Classes::TrainerId))
                    .col(date(Classes::StartDate))
                    .col(date(Classes::EndDate))
                    .col(string_len(Classes::Modality, 16))
                    .col(string_len(Classes::Status, 16))
                    .col(string_null(Classes::Location))
                    .col(string_null(Classes::ExternalSurveyUrl))
                    .col(timestamp_with_time_zone_null(Classes::ConfirmedAt))
                    .col(timestamp_with_time_zone(Classes::CreatedAt))
                    .col(timestamp_with_time_zone(Classes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Classes::Table, Classes::CourseId)
                            .to(Courses::Table, Courses::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Classes::Table, Classes::TrainerId)
                            .to(Trainers::Table, Trainers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Class refs compare byte by byte on PostgreSQL as on SQLite, so that a prefix
        // search is an index range whatever the database's collation.
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    r#"ALTER TABLE classes ALTER COLUMN class_ref TYPE varchar(64) COLLATE "C""#,
                )
                .await?;
        }
        for (name, leading) in CLASS_LIST_INDEXES {
            let mut index = Index::create();
            index.name(name).table(Classes::Table);
            if let Some(column) = leading {
                index.col(column);
            }
            index.col(Classes::StartDate).col(Classes::Id);
            manager.create_index(index.to_owned()).await?;
        }
        // The KPI window selects classes by end date.
        manager
            .create_index(
                Index::create()
                    .name("idx_classes_end")
                    .table(Classes::Table)
                    .col(Classes::EndDate)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Enrollments::Table)
                    .col(big_pk_auto(Enrollments::Id))
                    .col(big_integer(Enrollments::ClassId))
                    .col(string(Enrollments::LearnerName))
                    .col(string(Enrollments::LearnerEmail))
                    .col(string(Enrollments::EmailKey))
                    .col(boolean(Enrollments::Attended))
                    .col(timestamp_with_time_zone(Enrollments::CreatedAt))
                    .col(timestamp_with_time_zone(Enrollments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Enrollments::Table, Enrollments::ClassId)
                            .to(Classes::Table, Classes::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_enrollments_class_email")
                    .table(Enrollments::Table)
                    .col(Enrollments::ClassId)
                    .col(Enrollments::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // Entries about a part of a record (a learner on a class roster) name the whole
        // record here, so the class page can show its complete history.
        manager
            .alter_table(
                Table::alter()
                    .table(LedgerEntries::Table)
                    .add_column(string_len_null(LedgerEntries::Parent, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_parent")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::Parent)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_ledger_parent")
                    .table(LedgerEntries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LedgerEntries::Table)
                    .drop_column(LedgerEntries::Parent)
                    .to_owned(),
            )
            .await?;
        for table in [
            Enrollments::Table.into_iden(),
            Classes::Table.into_iden(),
            Trainers::Table.into_iden(),
            Courses::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Parent,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    CourseCode,
    Title,
    DurationDays,
    Fundamentals,
    SolutionArea,
    Content,
    CoursewareVersion,
    Retired,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Trainers {
    Table,
    Id,
    Name,
    Email,
    MctId,
    MctValidUntil,
    Affiliated,
    UserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Classes {
    Table,
    Id,
    ClassRef,
    CourseId,
    TrainerId,
    StartDate,
    EndDate,
    Modality,
    Status,
    Location,
    ExternalSurveyUrl,
    ConfirmedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    ClassId,
    LearnerName,
    LearnerEmail,
    EmailKey,
    Attended,
    CreatedAt,
    UpdatedAt,
}
