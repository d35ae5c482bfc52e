//! Issue 16 item 7: the ledger page filters by who acted and by when, newest first. An
//! index per filter keeps a page one short index walk on a ledger of millions: by actor
//! in entry order, and by time (entry ids follow time). Entity and parent already have
//! theirs (`idx_ledger_entity`, `idx_ledger_parent`).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_actor")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::Actor)
                    .col(LedgerEntries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_at")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_ledger_actor", "idx_ledger_at"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(LedgerEntries::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    At,
    Actor,
}
