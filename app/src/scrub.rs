//! Keeping removed data off the disk (issue 12 item 4). SQLite connections run with
//! `secure_delete=ON` (see `db::connect_url`), so a deleted or overwritten row's bytes
//! are zeroed in the page and freed pages are zeroed; but the write-ahead log still holds
//! the page images written before, until a checkpoint copies the log into the database
//! and truncates it. [`checkpoint_wal`] does that after an erasure and after the outbox
//! worker empties sent bodies.
//!
//! PostgreSQL keeps a row's old version as a dead tuple until VACUUM reuses its space,
//! and in its WAL and backups: that is said in the README, not done here.
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

/// What a checkpoint achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpointed {
    /// SQLite: every log frame is in the database file and the log is empty.
    Truncated,
    /// SQLite: a reader still used an older snapshot after every try; the old page images
    /// stay in the log until a later checkpoint (the next erasure, the outbox worker's
    /// next emptied body, or SQLite's automatic checkpoint and log reuse).
    Busy,
    /// PostgreSQL: nothing to do here (see the README on VACUUM).
    NotSqlite,
}

const TRIES: u32 = 3;

/// `PRAGMA wal_checkpoint(TRUNCATE)`, retried a little while a reader holds the log.
pub async fn checkpoint_wal(db: &impl ConnectionTrait) -> Result<Checkpointed, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(Checkpointed::NotSqlite);
    }
    for attempt in 0..TRIES {
        let row = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ))
            .await?;
        // (busy, log frames, checkpointed frames); busy = 0 when it completed.
        let busy: i64 = match &row {
            Some(row) => row.try_get_by_index(0)?,
            None => 1,
        };
        if busy == 0 {
            return Ok(Checkpointed::Truncated);
        }
        if attempt + 1 < TRIES {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tracing::warn!(
        "the SQLite log could not be emptied: a reader held it; old page images stay in it until a later checkpoint"
    );
    Ok(Checkpointed::Busy)
}
