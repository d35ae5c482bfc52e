use sea_orm_migration::{prelude::*, schema::*};

/// Issue 14 item 5: "carries a personal link" is a property of each message, stored with
/// it, instead of a list of kind strings in the worker. Messages queued before this
/// migration get it from the kinds that list named.
#[derive(DeriveMigrationName)]
pub struct Migration;

const PERSONAL_LINK_KINDS_BEFORE: [&str; 5] = [
    "achievement_code",
    "survey_invitation",
    "survey_reminder",
    "recording_consent",
    "password_reset",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .add_column(boolean(OutboxMessages::PersonalLink).default(false))
                    .to_owned(),
            )
            .await?;
        let backfill = Query::update()
            .table(OutboxMessages::Table)
            .value(OutboxMessages::PersonalLink, true)
            .and_where(Expr::col(OutboxMessages::Kind).is_in(PERSONAL_LINK_KINDS_BEFORE))
            .to_owned();
        manager.exec_stmt(backfill).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .drop_column(OutboxMessages::PersonalLink)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Kind,
    PersonalLink,
}
