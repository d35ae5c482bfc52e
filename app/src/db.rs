//! Connecting (with SQLite's per-connection pragmas) and migrating.
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::DatabaseConfig;

pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<DatabaseConnection> {
    connect_with(
        &config.url,
        config.max_connections,
        config.busy_timeout_ms,
        None,
        WriteQueue::from_config(config),
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
    connect_with(
        url,
        max_connections,
        busy_timeout_ms,
        schema,
        WriteQueue::default(),
    )
    .await
}

async fn connect_with(
    url: &str,
    max_connections: u32,
    busy_timeout_ms: u64,
    schema: Option<&str>,
    queue: WriteQueue,
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
    // A PostgreSQL write waiting on a row lock (the ledger head, held by a long import
    // of another instance) gives up as a SQLite one does: "busy", never a hang.
    let lock_timeout = queue.wait.as_millis().to_string();
    options.map_sqlx_postgres_opts(move |o| o.options([("lock_timeout", lock_timeout.as_str())]));
    options
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(release_outside_transactions::<sea_orm::sqlx::Sqlite>)
        })
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_release(release_outside_transactions::<sea_orm::sqlx::Postgres>)
        });
    let db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))?;
    set_write_queue(&db, queue);
    Ok(db)
}

/// The pool's check on every connection handed back: it is reused only outside any
/// transaction. A transaction whose statement or commit failed is rolled back when it is
/// dropped, but that rollback can fail too (SQLite refuses `ROLLBACK` while the failed
/// statement is still pending, and a disk-full error may already have ended the
/// transaction). The driver then still counts a transaction on the connection, and the
/// next `begin` there would open a savepoint inside it: writes would answer "saved" and
/// never commit, while the open transaction holds SQLite's write lock. Such a connection is
/// closed instead (closing rolls back whatever it held); the pool opens a fresh one.
fn release_outside_transactions<DB: sea_orm::sqlx::Database>(
    conn: &mut DB::Connection,
    _: sea_orm::sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sea_orm::sqlx::Error>> {
    use sea_orm::sqlx::Connection;
    use sqlx_core::transaction::TransactionManager;
    Box::pin(async move {
        if DB::TransactionManager::get_transaction_depth(conn) == 0 {
            return Ok(true);
        }
        // The rollback a dropped transaction queued runs before this ping answers.
        conn.ping().await?;
        let clean = DB::TransactionManager::get_transaction_depth(conn) == 0;
        if !clean {
            tracing::warn!("closing a database connection left inside a failed transaction");
        }
        Ok(clean)
    })
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

/// Applies the migrations, then (re)installs the KPI aggregates' triggers when the KPI
/// rule they are rendered from changed (a rebuild from the raw rows; see
/// `migration::kpi_aggregates`).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    // On SQLite, sea-orm-migration runs a migration's statements outside a transaction,
    // each on whichever pooled connection is free: a statement could run on a connection
    // that has not yet seen the previous one's schema change ("trigger … already exists",
    // "missing value for column"). One transaction keeps them on one connection, in order,
    // and a failed migration leaves nothing half-applied.
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        let txn = db.begin().await.context("applying database migrations")?;
        Migrator::up(&txn, None)
            .await
            .context("applying database migrations")?;
        txn.commit().await.context("applying database migrations")?;
    } else {
        Migrator::up(db, None)
            .await
            .context("applying database migrations")?;
    }
    if migration::kpi_aggregates::install(db)
        .await
        .context("installing the KPI aggregates")?
    {
        tracing::info!("KPI aggregates rebuilt from the raw rows");
    }
    Ok(())
}

/// How changes wait for their turn to write (config `database.write_wait_ms` and
/// `database.write_queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteQueue {
    /// The longest a change waits for its turn before it is refused as busy.
    pub wait: Duration,
    /// The most changes that may wait at once; one more is refused as busy straight away.
    pub capacity: usize,
}

impl WriteQueue {
    pub fn from_config(config: &DatabaseConfig) -> WriteQueue {
        WriteQueue {
            wait: std::time::Duration::from_millis(config.write_wait_ms),
            capacity: config.write_queue,
        }
    }
}

impl Default for WriteQueue {
    fn default() -> Self {
        WriteQueue {
            wait: Duration::from_secs(30),
            capacity: 256,
        }
    }
}

/// One database's writers, in the order they came. SQLite admits one writer at a time;
/// without this queue every other writer would hold a pooled connection while it polls
/// for the lock, then fail after `busy_timeout` behind a long import. Here a writer waits
/// without a connection (reads go on), in turn, for a bounded time, in a bounded queue.
struct WriteGate {
    turn: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    queue: std::sync::Mutex<WriteQueue>,
}

/// The gates of this process's pools, by pool. A process-wide table because every
/// service is handed a plain `DatabaseConnection`; a pool lives as long as the process
/// in the server, and a gate is a few bytes.
static WRITE_GATES: LazyLock<std::sync::Mutex<HashMap<usize, Arc<WriteGate>>>> =
    LazyLock::new(Default::default);

/// The pool behind `db`, as a stable key: the address of its shared connect options.
fn pool_key(db: &DatabaseConnection) -> usize {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            Arc::as_ptr(&db.get_postgres_connection_pool().connect_options()) as *const () as usize
        }
        _ => Arc::as_ptr(&db.get_sqlite_connection_pool().connect_options()) as *const () as usize,
    }
}

fn gate_of(db: &DatabaseConnection) -> Arc<WriteGate> {
    let mut gates = WRITE_GATES.lock().expect("write gates");
    gates
        .entry(pool_key(db))
        .or_insert_with(|| {
            Arc::new(WriteGate {
                turn: Arc::new(tokio::sync::Semaphore::new(1)),
                waiting: AtomicUsize::new(0),
                queue: std::sync::Mutex::new(WriteQueue::default()),
            })
        })
        .clone()
}

/// Sets how `db`'s writers wait for their turn.
pub fn set_write_queue(db: &DatabaseConnection, queue: WriteQueue) {
    *gate_of(db).queue.lock().expect("write queue") = queue;
}

/// The error of a change refused because it could not get its turn to write in time.
fn busy() -> DbErr {
    DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)
}

impl WriteGate {
    async fn take_turn(&self) -> Result<(tokio::sync::OwnedSemaphorePermit, Instant), DbErr> {
        let queue = *self.queue.lock().expect("write queue");
        let deadline = Instant::now() + queue.wait;
        if let Ok(turn) = self.turn.clone().try_acquire_owned() {
            return Ok((turn, deadline));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= queue.capacity {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let turn = tokio::time::timeout(queue.wait, self.turn.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match turn {
            Ok(Ok(turn)) => Ok((turn, deadline)),
            _ => Err(busy()),
        }
    }
}

/// A write transaction holding this process's turn to write. Committing or dropping it
/// (which rolls back) lets the next writer in.
pub struct WriteTx {
    tx: DatabaseTransaction,
    _turn: tokio::sync::OwnedSemaphorePermit,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

/// Implements `ConnectionTrait` for a type that wraps a transaction by handing every
/// call to its field `$field` (the write turn here, the ledger's recorder too).
macro_rules! delegate_connection {
    ($type:ty, $field:ident) => {
        #[async_trait::async_trait]
        impl sea_orm::ConnectionTrait for $type {
            fn get_database_backend(&self) -> sea_orm::DbBackend {
                self.$field.get_database_backend()
            }

            async fn execute_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                self.$field.execute_raw(stmt).await
            }

            async fn execute_unprepared(
                &self,
                sql: &str,
            ) -> Result<sea_orm::ExecResult, sea_orm::DbErr> {
                self.$field.execute_unprepared(sql).await
            }

            async fn query_one_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Option<sea_orm::QueryResult>, sea_orm::DbErr> {
                self.$field.query_one_raw(stmt).await
            }

            async fn query_all_raw(
                &self,
                stmt: sea_orm::Statement,
            ) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
                self.$field.query_all_raw(stmt).await
            }

            fn support_returning(&self) -> bool {
                self.$field.support_returning()
            }
        }
    };
}
pub(crate) use delegate_connection;

delegate_connection!(WriteTx, tx);

/// Every write transaction goes through here. It waits for this process's turn to write
/// (see [`WriteGate`]), then on SQLite `BEGIN IMMEDIATE` takes the write lock up front,
/// so writers queue instead of failing half-way with SQLITE_BUSY. When another process
/// holds the lock, each attempt waits `busy_timeout` and attempts repeat until the turn's
/// deadline. A change that cannot write in time is refused as [`StorageFault::Busy`].
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let (turn, deadline) = gate_of(db).take_turn().await?;
    loop {
        let begun = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await;
        match begun {
            Ok(tx) => return Ok(WriteTx { tx, _turn: turn }),
            Err(e) if StorageFault::of(&e) == Some(StorageFault::Busy) => {
                if Instant::now() >= deadline {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A write transaction only if this process's turn to write is free right now: for
/// bookkeeping that may be skipped (a session's sliding expiry) rather than wait behind
/// a long import.
pub async fn try_begin_write(db: &DatabaseConnection) -> Result<Option<WriteTx>, DbErr> {
    let Ok(turn) = gate_of(db).turn.clone().try_acquire_owned() else {
        return Ok(None);
    };
    let tx = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(Some(WriteTx { tx, _turn: turn }))
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
    /// Another change held the write lock for longer than this one could wait.
    Busy,
}

impl StorageFault {
    /// The fault behind a database error, if it is one.
    pub fn of(err: &DbErr) -> Option<StorageFault> {
        use sea_orm::RuntimeErr;
        use sea_orm::sqlx::Error;
        if let DbErr::ConnectionAcquire(_) = err {
            return Some(StorageFault::Busy);
        }
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
                SQLITE_BUSY | SQLITE_LOCKED => Some(StorageFault::Busy),
                _ => None,
            };
        }
        match code.as_ref() {
            // disk_full, and read_only_sql_transaction (also what a hot standby answers).
            "53100" => Some(StorageFault::Full),
            "25006" => Some(StorageFault::ReadOnly),
            // lock_not_available: lock_timeout ran out behind another writer.
            "55P03" => Some(StorageFault::Busy),
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
            StorageFault::Busy => {
                "the database is busy (another change held the write lock for longer than database.write_wait_ms)"
            }
        }
    }
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
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
