use sea_orm_migration::{prelude::*, schema::*};

/// Issue 17 item 6: the public schedule feed (`/schedule.json`, `/schedule.ics`).
///
/// - `classes.published_schedule`: the class is listed on the public feed (opt-in, so
///   every existing class stays off it).
/// - `classes.language`: the language the class is taught in, a BCP 47 tag (`en`,
///   `de-DE`), checked by `domain::fields::parse_language`; blank for classes that name none.
/// - An index on `(published_schedule, end_date)` for the feed's read.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Classes::Table)
                    .add_column(boolean(Classes::PublishedSchedule).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Classes::Table)
                    .add_column(string_len_null(Classes::Language, 35))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_classes_published_end")
                    .table(Classes::Table)
                    .col(Classes::PublishedSchedule)
                    .col(Classes::EndDate)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_classes_published_end")
                    .table(Classes::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Classes::Language, Classes::PublishedSchedule] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Classes::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Classes {
    Table,
    PublishedSchedule,
    Language,
    EndDate,
}
