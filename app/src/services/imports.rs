//! CSV imports (SPEC §7), from the web or `tsp-ledger import`: the file is read as a
//! stream (memory stays flat however long it is), every row is validated and written
//! inside one transaction, and the transaction commits only when no row was bad. A bad
//! row never stops the reading: the report names every bad row as `line N: field: reason`.
use std::fmt;
use std::io::Read;

use entity::classes;
use sea_orm::{ConnectionTrait, DatabaseConnection};

pub use super::classes::ImportBy;
use super::classes::{self as class_svc, ClassFields, ClassInput, Via};
use super::courses::{self as course_svc, CourseFields};
use super::rosters::{self, EnrollmentFields, NewLine};
use super::trainers::{self as trainer_svc, TrainerFields};
use super::{Outcome, ServiceError, codes, courseware, surveys, vouchers};
use crate::db::begin_write;
use crate::domain::csv_cell;
use crate::domain::fields::{FieldErrors, parse_code};
use crate::ledger::{Actor, Recorder};

mod importer;
mod kind;
mod reader;

use importer::Importer;
pub use kind::Kind;
use reader::{Chunk, read_in_background, unreadable};

/// One problem with one row. The header is line 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Of the unchanged rows, codes Microsoft credited that this app never issued (a
    /// `redemptions` report), and the first [`NOT_OURS_LISTED`] of them.
    pub not_ours: u64,
    pub not_ours_codes: Vec<String>,
}

/// Codes "credited but not ours" a summary names (the count covers the rest).
pub const NOT_OURS_LISTED: usize = 20;

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} created, {} updated, {} unchanged",
            self.rows, self.created, self.updated, self.unchanged
        )?;
        if self.not_ours > 0 {
            let more = self.not_ours - self.not_ours_codes.len() as u64;
            write!(
                f,
                "; {} credited by Microsoft but not issued by this app (not ours): {}",
                self.not_ours,
                self.not_ours_codes.join(", ")
            )?;
            if more > 0 {
                write!(f, " and {more} more")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// Nothing was written. `errors` holds the first [`MAX_REPORTED_ERRORS`] of `total`
    /// problems, found on `bad_lines` lines.
    #[error("{total} problems on {bad_lines} lines; nothing was imported")]
    Invalid {
        errors: Vec<LineError>,
        total: u64,
        bad_lines: u64,
        /// How far the file was checked: a file with format errors is refused by the
        /// first pass, before what its rows refer to is looked up.
        checked: Checked,
    },
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<sea_orm::DbErr> for ImportFailure {
    fn from(e: sea_orm::DbErr) -> Self {
        ImportFailure::Failed(e.into())
    }
}

/// A header with more columns than this is refused without looking at them one by one
/// (the widest kind has 9; a few unknown ones are reported by name).
const MAX_COLUMNS: usize = 64;

/// How far a refused file was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The format of every line (columns, dates, numbers, e-mails, ids). What the rows
    /// refer to (courses, MCTs, classes, learners, codes) is checked once these are fixed.
    Format,
    /// Everything, against the database.
    Everything,
}

impl Checked {
    /// For the report, when it is not the whole story.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Checked::Format => Some(
                "These are the file's format problems. What the rows refer to (courses, MCTs, classes, learners, codes) is checked once they are fixed.",
            ),
            Checked::Everything => None,
        }
    }
}

/// One problem's message is cut at this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// A report longer than this is cut (the total is still given).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// An import creating this many records refreshes SQLite's planner statistics.
const REFRESH_STATISTICS_AFTER: u64 = 10_000;

/// Rows handed from the reading thread to the writer at a time.
const BATCH_ROWS: usize = 512;

/// The lookups an import row makes, answered from what the importer read for the row's
/// whole chunk (a few queries per 512 rows instead of several per row), and the batches
/// its new rows wait in.
pub(crate) trait Lookups {
    /// The class with `class_ref`, if any.
    async fn class(
        &mut self,
        tx: &Recorder,
        class_ref: &str,
    ) -> Result<Option<entity::classes::Model>, ServiceError>;
    /// The roster line of `key` on class `class_id`, if any.
    async fn learner(
        &mut self,
        tx: &Recorder,
        class_id: i64,
        key: &crate::domain::account::Email,
    ) -> Result<Option<entity::enrollments::Model>, ServiceError>;
    /// The codes the chunk names, and the `codes` and `code-pool` imports' new codes.
    fn codes(&mut self) -> &mut codes::CodeImport;
    /// The responses the chunk's learners gave, and the import's new responses.
    fn responses(&mut self) -> &mut surveys::ResponseImport;
}

/// A roster pasted on a class page: every row is for this class (`class_ref` may be left
/// out), and `reason` is the amendment reason the person gave if the class is confirmed.
pub struct ClassRoster {
    pub class: classes::Model,
    pub reason: Option<String>,
}

/// PostgreSQL: an import refreshes its table's statistics after this many rows, then
/// each time it has read four times as many.
const FIRST_ANALYZE: u64 = 10_000;

/// Where a roster row's class comes from: its `class_ref` column, or the class page.
pub type FixedClass = Option<ClassRoster>;

/// The reason recorded for roster lines an import adds to a confirmed class when nobody
/// typed one (loading history from the CLI or the import page).
const IMPORT_AMENDMENT: &str = "roster import after the class was confirmed";

/// The two passes of an import, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Reading and checking every row, before anything is locked.
    Check,
    /// Writing, holding the write lock.
    Write,
}

/// Imports the CSV in `source` (it is read twice: once to check, once to write),
/// each pass on a blocking thread. The first pass checks the header and every row's
/// fields without touching the database, so a file with a bad row is refused without
/// ever taking the write lock and other people's changes never wait for it. The second
/// pass holds the lock only to look up references (courses, classes, learners) and
/// write. `by` says who imports (what a classes file may record, rule 7). `progress`
/// gets the pass and the bytes read so far after each batch.
pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    by: &ImportBy,
    kind: Kind,
    source: Source,
    fixed_class: FixedClass,
    progress: impl Fn(Pass, u64),
) -> Result<Summary, ImportFailure> {
    let mut importer = Importer::new(kind, fixed_class, by.clone());
    let (mut chunks, reader) = read_in_background(source.open()?);
    while let Some((bytes, chunk)) = chunks.recv().await {
        match chunk {
            Chunk::Header(names) => importer.header(&names),
            Chunk::Unreadable(error) => importer.fail(error),
            Chunk::Rows(rows) => {
                for (line, record) in rows {
                    importer.check(line, &record);
                }
            }
        }
        progress(Pass::Check, bytes);
    }
    reader.await.map_err(|e| ServiceError::Other(e.into()))?;
    if !importer.header_seen {
        importer.fail(LineError {
            line: 1,
            field: "header".into(),
            message: format!(
                "the file is empty: expected the header {}",
                kind.columns().join(",")
            ),
        });
    }
    if importer.total_errors > 0 {
        return Err(importer.into_failure(Checked::Format));
    }

    let (mut chunks, reader) = read_in_background(source.open()?);
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let postgres = crate::db::is_postgres(db);
    let mut rows_read: u64 = 0;
    let mut next_analyze = FIRST_ANALYZE;
    while let Some((bytes, chunk)) = chunks.recv().await {
        match chunk {
            // Checked in the first pass.
            Chunk::Header(_) => {}
            Chunk::Unreadable(error) => importer.fail(error),
            Chunk::Rows(rows) => {
                rows_read += rows.len() as u64;
                importer.prefetch(&tx, &rows).await?;
                for (line, record) in rows {
                    importer.row(&tx, actor, line, &record).await?;
                }
                // What waits is written with its chunk: the next chunk's lookups start
                // from what is stored.
                importer.flush(&tx, actor).await?;
                // PostgreSQL plans this import's own lookups from the table's statistics;
                // taken on a nearly empty table they say "scan it", which over a million
                // rows inserted by this very transaction turns quadratic. ANALYZE in the
                // transaction counts its own new rows.
                if postgres && rows_read >= next_analyze {
                    tx.execute_unprepared(&format!("ANALYZE {}", kind.table()))
                        .await?;
                    next_analyze = rows_read * 4;
                }
            }
        }
        progress(Pass::Write, bytes);
    }
    reader.await.map_err(|e| ServiceError::Other(e.into()))?;
    importer.flush(&tx, actor).await?;
    if importer.total_errors > 0 {
        tx.rollback().await?;
        return Err(importer.into_failure(Checked::Everything));
    }
    tx.commit().await?;
    importer.summary.not_ours_codes = importer.codes.not_ours.clone();
    importer.summary.not_ours = importer.codes.not_ours_count;
    if importer.summary.created >= REFRESH_STATISTICS_AFTER && !postgres {
        // SQLite plans the class list's filters from table statistics; keep them current
        // after a big load (sampled, so this takes milliseconds). PostgreSQL's autovacuum
        // does the same by itself.
        db.execute_unprepared("PRAGMA analysis_limit = 1000; ANALYZE;")
            .await?;
    }
    Ok(importer.summary)
}

/// What an import reads: a file (an upload spooled to disk, a CLI argument) or bytes
/// held in memory (pasted text, generated data). Opened once per pass.
#[derive(Debug, Clone)]
pub enum Source {
    File(std::path::PathBuf),
    Bytes(std::sync::Arc<[u8]>),
}

impl Source {
    pub fn file(path: &std::path::Path) -> Source {
        Source::File(path.to_path_buf())
    }

    pub fn bytes(bytes: &[u8]) -> Source {
        Source::Bytes(bytes.into())
    }

    fn open(&self) -> Result<Box<dyn Read + Send>, ImportFailure> {
        Ok(match self {
            Source::File(path) => Box::new(std::io::BufReader::with_capacity(
                1 << 16,
                std::fs::File::open(path).map_err(unreadable)?,
            )),
            Source::Bytes(bytes) => Box::new(std::io::Cursor::new(bytes.clone())),
        })
    }
}
