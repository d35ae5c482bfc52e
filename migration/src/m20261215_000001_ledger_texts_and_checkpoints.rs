use sea_orm_migration::{prelude::*, schema::*};

/// Issue 12 items 4 and 5: free text beside the chain (so an erasure can blank it) and
/// signed checkpoints of the chain head.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Entries written from now on commit to `{"field": SHA-256(salt ‖ text)}` here
        // (the chain's canonical form, version 2); older entries keep NULL and verify
        // as they always did.
        manager
            .alter_table(
                Table::alter()
                    .table(LedgerEntries::Table)
                    .add_column(text_null(LedgerEntries::Texts))
                    .to_owned(),
            )
            .await?;
        // The texts themselves. An erasure sets `text` and `salt` to NULL and names its
        // own entry in `erased_by`; that entry lists the texts it blanked.
        manager
            .create_table(
                Table::create()
                    .table(LedgerTexts::Table)
                    .col(big_integer(LedgerTexts::EntryId))
                    .col(string(LedgerTexts::Field))
                    .col(string_null(LedgerTexts::Salt))
                    .col(text_null(LedgerTexts::Text))
                    .col(big_integer_null(LedgerTexts::ErasedBy))
                    .primary_key(
                        Index::create()
                            .col(LedgerTexts::EntryId)
                            .col(LedgerTexts::Field),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LedgerCheckpoints::Table)
                    .col(big_pk_auto(LedgerCheckpoints::Id))
                    .col(big_integer(LedgerCheckpoints::EntryId))
                    .col(string(LedgerCheckpoints::Hash))
                    .col(timestamp_with_time_zone(LedgerCheckpoints::At))
                    .col(string(LedgerCheckpoints::PublicKey))
                    .col(text(LedgerCheckpoints::Document))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LedgerCheckpoints::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LedgerTexts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LedgerEntries::Table)
                    .drop_column(LedgerEntries::Texts)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Texts,
}

#[derive(DeriveIden)]
enum LedgerTexts {
    Table,
    EntryId,
    Field,
    Salt,
    Text,
    ErasedBy,
}

#[derive(DeriveIden)]
enum LedgerCheckpoints {
    Table,
    Id,
    EntryId,
    Hash,
    At,
    PublicKey,
    Document,
}
