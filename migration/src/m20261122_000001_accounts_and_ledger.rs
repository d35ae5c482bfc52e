use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Name))
                    .col(string_len(Users::Role, 16))
                    .col(string(Users::PasswordHash))
                    .col(boolean(Users::Active))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string_len(Sessions::IdHash, 64).primary_key())
                    .col(big_integer(Sessions::UserId))
                    .col(string_len(Sessions::CsrfToken, 64))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(string(LoginThrottle::Key).primary_key())
                    .col(integer(LoginThrottle::ConsecutiveFailures))
                    .col(integer(LoginThrottle::WindowFailures))
                    .col(timestamp_with_time_zone(LoginThrottle::WindowStartedAt))
                    .col(timestamp_with_time_zone_null(LoginThrottle::LockedUntil))
                    .col(timestamp_with_time_zone(LoginThrottle::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .col(big_integer(LedgerEntries::Id).primary_key())
                    .col(timestamp_with_time_zone(LedgerEntries::At))
                    .col(string(LedgerEntries::Actor))
                    .col(string_len(LedgerEntries::EntityType, 64))
                    .col(string(LedgerEntries::EntityId))
                    .col(string_len(LedgerEntries::Action, 64))
                    .col(text(LedgerEntries::Changes))
                    .col(text_null(LedgerEntries::Reason))
                    .col(string_len(LedgerEntries::PrevHash, 64))
                    .col(string_len(LedgerEntries::Hash, 64))
                    .to_owned(),
            )
            .await?;
        // A record's history page looks entries up by entity.
        manager
            .create_index(
                Index::create()
                    .name("idx_ledger_entity")
                    .table(LedgerEntries::Table)
                    .col(LedgerEntries::EntityType)
                    .col(LedgerEntries::EntityId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerHead::Table)
                    .col(integer(LedgerHead::Id).primary_key())
                    .col(big_integer(LedgerHead::LastId))
                    .col(string_len(LedgerHead::LastHash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(LedgerHead::Table)
                    .columns([LedgerHead::Id, LedgerHead::LastId, LedgerHead::LastHash])
                    .values_panic([1.into(), 0i64.into(), GENESIS_HASH.into()])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LedgerHead::Table.into_iden(),
            LedgerEntries::Table.into_iden(),
            LoginThrottle::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The `prev_hash` of the first ledger entry: 64 zeros.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Role,
    PasswordHash,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    IdHash,
    UserId,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    ConsecutiveFailures,
    WindowFailures,
    WindowStartedAt,
    LockedUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    At,
    Actor,
    EntityType,
    EntityId,
    Action,
    Changes,
    Reason,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum LedgerHead {
    Table,
    Id,
    LastId,
    LastHash,
}
