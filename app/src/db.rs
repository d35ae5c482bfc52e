//! Connecting (with SQLite's per-connection pragmas) and migrating.
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::DatabaseConfig;

pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<DatabaseConnection> {
    connect_url(
        &config.url,
        config.max_connections,
        config.busy_timeout_ms,
        None,
    )
    .await
}

/// `schema`: a PostgreSQL search path (tests give each run its own schema).
pub async fn connect_url(
    url: &str,
    max_connections: u32,
    busy_timeout_ms: u64,
    schema: Option<&str>,
) -> anyhow::Result<DatabaseConnection> {
    if let Some(parent) = sqlite_file(url).and_then(|path| std::path::Path::new(path).parent())
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if let Some(schema) = schema {
        options.set_schema_search_path(schema.to_string());
    }
    let busy = Duration::from_millis(busy_timeout_ms);
    options.map_sqlx_sqlite_opts(move |o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy)
            .foreign_keys(true)
            // Read the file through the page cache instead of a read() per page: the
            // KPI's aggregate queries visit millions of rows (about 40 % faster there).
            .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
            .pragma("secure_delete", "ON") // deleted and overwritten bytes are zeroed (crate::scrub)
    });
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))
}

/// A statement written once with `?` placeholders, numbered `$1, $2, …` for PostgreSQL.
pub fn statement(
    backend: sea_orm::DbBackend,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    let sql = if backend == sea_orm::DbBackend::Postgres {
        let mut n = 0;
        let mut numbered = String::with_capacity(sql.len() + 8);
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                numbered.push_str(&format!("${n}"));
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql.to_string()
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Address space SQLite may map per connection (virtual, not resident memory).
const SQLITE_MMAP_BYTES: u64 = 1 << 30;

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("applying database migrations")
}

/// Every write transaction goes through here: on SQLite `BEGIN IMMEDIATE` takes the write
/// lock up front, so two writers queue instead of failing half-way with SQLITE_BUSY.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.starts_with(":memory:")).then_some(path)
}

/// Why the database refused to store a change when the fault is the storage's, not the
/// request's: the disk is full, or the database can be read but not written (a read-only
/// file or volume, `mode=ro`, a PostgreSQL standby or `default_transaction_read_only`).
/// Nothing was saved; an operator must act, so the app says so plainly (HTTP 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    Full,
    ReadOnly,
}

impl StorageFault {
    /// The fault behind a database error, if it is one.
    pub fn of(err: &DbErr) -> Option<StorageFault> {
        use sea_orm::RuntimeErr;
        use sea_orm::sqlx::Error;
        let (DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
        else {
            return None;
        };
        let Error::Database(e) = e.as_ref() else {
            return None;
        };
        let code = e.code()?;
        if e.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
            .is_some()
        {
            // Extended result codes keep the primary code in the low byte.
            return match code.parse::<i32>().ok()? & 0xff {
                SQLITE_FULL => Some(StorageFault::Full),
                SQLITE_READONLY => Some(StorageFault::ReadOnly),
                _ => None,
            };
        }
        match code.as_ref() {
            // disk_full, and read_only_sql_transaction (also what a hot standby answers).
            "53100" => Some(StorageFault::Full),
            "25006" => Some(StorageFault::ReadOnly),
            _ => None,
        }
    }

    /// The fault anywhere in an error's chain of causes.
    pub fn in_chain(err: &anyhow::Error) -> Option<StorageFault> {
        err.chain()
            .find_map(|cause| cause.downcast_ref::<DbErr>().and_then(StorageFault::of))
    }

    /// For logs: what the operator must fix.
    pub fn describe(self) -> &'static str {
        match self {
            StorageFault::Full => "the database is full (no space left on its disk)",
            StorageFault::ReadOnly => "the database is read-only (file, volume or server)",
        }
    }
}

const SQLITE_READONLY: i32 = 8;
const SQLITE_FULL: i32 = 13;

/// Hides a password in a URL before it reaches a log or an error message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn sqlite_file_paths_are_found_for_directory_creation() {
        assert_eq!(
            sqlite_file("sqlite://data/x.db?mode=rwc"),
            Some("data/x.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    async fn scratch_table() -> DatabaseConnection {
        let db = connect_url("sqlite::memory:", 1, 1000, None).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB UNIQUE)")
            .await
            .unwrap();
        db
    }

    #[tokio::test]
    async fn a_full_disk_is_a_storage_fault() {
        let db = scratch_table().await;
        db.execute_unprepared("PRAGMA max_page_count = 2")
            .await
            .unwrap();
        let err = db
            .execute_unprepared("INSERT INTO t (b) VALUES (zeroblob(100000))")
            .await
            .unwrap_err();
        assert_eq!(StorageFault::of(&err), Some(StorageFault::Full), "{err}");
        let wrapped = anyhow::Error::from(err).context("saving the roster");
        assert_eq!(StorageFault::in_chain(&wrapped), Some(StorageFault::Full));
    }

    #[tokio::test]
    async fn a_read_only_database_is_a_storage_fault() {
        let db = scratch_table().await;
        db.execute_unprepared("PRAGMA query_only = 1")
            .await
            .unwrap();
        let err = db
            .execute_unprepared("INSERT INTO t (b) VALUES (x'01')")
            .await
            .unwrap_err();
        assert_eq!(
            StorageFault::of(&err),
            Some(StorageFault::ReadOnly),
            "{err}"
        );
    }

    #[tokio::test]
    async fn other_database_errors_are_not_storage_faults() {
        let db = scratch_table().await;
        db.execute_unprepared("INSERT INTO t (b) VALUES (x'01')")
            .await
            .unwrap();
        let duplicate = db
            .execute_unprepared("INSERT INTO t (b) VALUES (x'01')")
            .await
            .unwrap_err();
        assert_eq!(StorageFault::of(&duplicate), None, "{duplicate}");
        let syntax = db.execute_unprepared("INSERT INTO").await.unwrap_err();
        assert_eq!(StorageFault::of(&syntax), None);
        assert_eq!(
            StorageFault::in_chain(&anyhow::anyhow!("no database here")),
            None
        );
    }
}
