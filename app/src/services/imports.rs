//! CSV imports (SPEC §7), from the web or `tsp-ledger import`: the file is read as a
//! stream (memory stays flat however long it is), every row is validated and written
//! inside one transaction, and the transaction commits only when no row was bad. A bad
//! row never stops the reading: the report names every bad row as `line N: field: reason`.
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::str::FromStr;

use entity::{classes, courses, enrollments, trainers};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::mpsc;

pub use super::classes::ImportBy;
use super::classes::{self as class_svc, ClassFields, ClassInput, Via};
use super::courses::{self as course_svc, CourseFields};
use super::rosters::{self, EnrollmentFields, NewLine};
use super::trainers::{self as trainer_svc, TrainerFields};
use super::{Outcome, ServiceError, codes, surveys, vouchers};
use crate::db::begin_write;
use crate::domain::csv_cell;
use crate::domain::fields::{FieldErrors, parse_code};
use crate::ledger::{Actor, Recorder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TitlePlan,
    Trainers,
    Classes,
    Roster,
    CodePool,
    Codes,
    SurveyResponses,
    Vouchers,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::TitlePlan,
        Kind::Trainers,
        Kind::Classes,
        Kind::Roster,
        Kind::CodePool,
        Kind::Codes,
        Kind::SurveyResponses,
        Kind::Vouchers,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Kind::TitlePlan => "title-plan",
            Kind::Trainers => "trainers",
            Kind::Classes => "classes",
            Kind::Roster => "roster",
            Kind::CodePool => "code-pool",
            Kind::Codes => "codes",
            Kind::SurveyResponses => "survey-responses",
            Kind::Vouchers => "vouchers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::TitlePlan => "Title Plan (courses)",
            Kind::Trainers => "Trainers (MCTs)",
            Kind::Classes => "Classes",
            Kind::Roster => "Rosters",
            Kind::CodePool => "Achievement code pool",
            Kind::Codes => "Issued achievement codes",
            Kind::SurveyResponses => "Survey responses (MTM)",
            Kind::Vouchers => "Exam vouchers",
        }
    }

    /// The header SPEC §7 gives, in order.
    /// The table the kind fills (the one its own lookups read back while it runs).
    fn table(self) -> &'static str {
        match self {
            Kind::TitlePlan => "courses",
            Kind::Trainers => "trainers",
            Kind::Classes => "classes",
            Kind::Roster => "enrollments",
            Kind::CodePool | Kind::Codes => "achievement_codes",
            Kind::SurveyResponses => "survey_responses",
            Kind::Vouchers => "exam_vouchers",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::TitlePlan => &[
                "course_code",
                "title",
                "duration_days",
                "fundamentals",
                "solution_area",
                "content",
                "courseware_version",
            ],
            Kind::Trainers => &["name", "email", "mct_id", "mct_valid_until", "affiliated"],
            Kind::Classes => &[
                "class_ref",
                "course_code",
                "mct_id",
                "start_date",
                "end_date",
                "modality",
                "status",
            ],
            Kind::Roster => &["class_ref", "learner_name", "learner_email", "attended"],
            Kind::CodePool => &["achievement_code"],
            Kind::Codes => &[
                "class_ref",
                "learner_email",
                "achievement_code",
                "issued_on",
                "redeemed_on",
            ],
            Kind::SurveyResponses => &[
                "class_ref",
                "learner_email",
                "submitted_on",
                "q1",
                "q2",
                "q3",
                "q4",
                "q5",
            ],
            Kind::Vouchers => &[
                "purchased_on",
                "exam_code",
                "level",
                "quantity",
                "order_ref",
            ],
        }
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL.into_iter().find(|k| k.id() == s).ok_or_else(|| {
            let ids: Vec<_> = Kind::ALL.iter().map(|k| k.id()).collect();
            format!(
                "unknown import kind {s:?}: expected one of {}",
                ids.join(", ")
            )
        })
    }
}

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
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} created, {} updated, {} unchanged",
            self.rows, self.created, self.updated, self.unchanged
        )
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
/// (the widest kind has 8; a few unknown ones are reported by name).
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

enum Chunk {
    Header(Vec<String>),
    Rows(Vec<(u64, csv::StringRecord)>),
    /// A line the CSV reader could not read at all (bad UTF-8, broken quoting).
    Unreadable(LineError),
}

/// A roster pasted on a class page: every row is for this class (`class_ref` may be left
/// out), and `reason` is the amendment reason the person gave if the class is confirmed.
pub struct ClassRoster {
    pub class: classes::Model,
    pub reason: Option<String>,
}

/// Where a roster row's class comes from: its `class_ref` column, or the class page.
/// PostgreSQL: an import refreshes its table's statistics after this many rows, then
/// each time it has read four times as many.
const FIRST_ANALYZE: u64 = 10_000;

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
                for (line, record) in rows {
                    importer.row(&tx, actor, line, &record).await?;
                }
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

fn unreadable(e: std::io::Error) -> ImportFailure {
    ImportFailure::Failed(ServiceError::Other(
        anyhow::Error::from(e).context("opening the file to import"),
    ))
}

/// Parses `source` on a blocking thread, handing on batches of rows.
fn read_in_background<R: Read + Send + 'static>(
    source: R,
) -> (mpsc::Receiver<(u64, Chunk)>, tokio::task::JoinHandle<()>) {
    let (sender, chunks) = mpsc::channel::<(u64, Chunk)>(4);
    let reader = tokio::task::spawn_blocking(move || read_csv(source, sender));
    (chunks, reader)
}

/// Blocking: parses the CSV and sends it on in batches. Stops early if the importer is
/// gone (the request was dropped).
fn read_csv<R: Read>(source: R, sender: mpsc::Sender<(u64, Chunk)>) {
    let window = std::rc::Rc::new(std::cell::RefCell::new(LineWindow::default()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTap {
            inner: source,
            window: window.clone(),
        });
    let mut record = csv::StringRecord::new();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut first = true;
    let mut reached_end = false;
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => {
                reached_end = true;
                break;
            }
            Ok(true) => {
                let start = record.position().map_or(start, |p| p.byte());
                let line = window.borrow_mut().line_from(start);
                if first {
                    first = false;
                    let names = record
                        .iter()
                        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
                        .collect();
                    if sender
                        .blocking_send((reader.position().byte(), Chunk::Header(names)))
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
                batch.push((line, record.clone()));
                if batch.len() == BATCH_ROWS {
                    let rows = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    if sender
                        .blocking_send((reader.position().byte(), Chunk::Rows(rows)))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Err(e) => {
                let start = e.position().map_or(start, |p| p.byte());
                let line = window.borrow_mut().line_from(start);
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "is not valid UTF-8 (save the file as UTF-8)".to_string()
                    }
                    other => format!("cannot be read as CSV: {other:?}"),
                };
                let error = LineError {
                    line,
                    field: "row".into(),
                    message,
                };
                if sender
                    .blocking_send((reader.position().byte(), Chunk::Unreadable(error)))
                    .is_err()
                {
                    return;
                }
                // A broken quote can swallow the rest of the file: stop at the first one.
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
            }
        }
    }
    // An unclosed quote makes the csv reader take the rest of the file as one field:
    // say so, at the line where the quote opened, instead of reporting that record.
    let unclosed = window.borrow().quotes.unclosed().filter(|_| reached_end);
    let mut unclosed_error = None;
    if let Some(line) = unclosed {
        if batch.last().is_some_and(|(start, _)| *start <= line) {
            batch.pop();
        }
        unclosed_error = Some(LineError {
            line,
            field: "row".into(),
            message: "a quoted field is not closed: a \" is missing, so the rest of the file was read as one field".into(),
        });
    }
    if !batch.is_empty() {
        let _ = sender.blocking_send((reader.position().byte(), Chunk::Rows(batch)));
    }
    if let Some(error) = unclosed_error {
        let _ = sender.blocking_send((reader.position().byte(), Chunk::Unreadable(error)));
    }
}

/// Follows the CSV quoting of every byte read (as the csv crate reads it: a quote opens
/// a field only at its start, `""` inside is a quote), to tell where a quote that is
/// never closed was opened.
#[derive(Default)]
struct QuoteTracker {
    state: QuoteState,
    newlines: u64,
    /// The line (from 1) of the quote that opened the current quoted field.
    opened_on: u64,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it closes the field unless another follows.
    QuoteInQuoted,
}

impl QuoteTracker {
    fn feed(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        for &b in bytes {
            if b == b'\n' {
                self.newlines += 1;
            }
            let ends_field = matches!(b, b',' | b'\r' | b'\n');
            self.state = match (self.state, b) {
                (FieldStart, b'"') => {
                    self.opened_on = self.newlines + 1;
                    Quoted
                }
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (_, _) if ends_field => FieldStart,
                _ => Unquoted,
            };
        }
    }

    /// At the end of the input: the line of a quote never closed.
    fn unclosed(&self) -> Option<u64> {
        (self.state == QuoteState::Quoted).then_some(self.opened_on)
    }
}

/// Hands the CSV reader its bytes and keeps those from the current record on, so the
/// record can be named by the line it starts on. (The csv crate's record position is
/// where the reader started looking: before any blank lines, and before the `\n` of a
/// CRLF line end, so its line numbers run short for Excel files.)
struct LineTap<R> {
    inner: R,
    window: std::rc::Rc<std::cell::RefCell<LineWindow>>,
}

impl<R: Read> Read for LineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut window = self.window.borrow_mut();
        window.bytes.extend(&buf[..n]);
        window.quotes.feed(&buf[..n]);
        Ok(n)
    }
}

/// The bytes read but not yet passed, with the count of `\n` before them.
#[derive(Default)]
struct LineWindow {
    offset: u64,
    newlines: u64,
    bytes: std::collections::VecDeque<u8>,
    quotes: QuoteTracker,
}

impl LineWindow {
    fn pass(&mut self) {
        if self.bytes.pop_front() == Some(b'\n') {
            self.newlines += 1;
        }
        self.offset += 1;
    }

    /// The line (from 1) of the first byte at or after `offset` that is not a line end;
    /// forgets the bytes before it.
    fn line_from(&mut self, offset: u64) -> u64 {
        while self.offset < offset && !self.bytes.is_empty() {
            self.pass();
        }
        while matches!(self.bytes.front(), Some(b'\r' | b'\n')) {
            self.pass();
        }
        self.newlines + 1
    }
}

/// Recently used classes by ref: roster files list a class's learners together, so a
/// small cache saves a lookup per row without growing with the file.
const CLASS_CACHE: usize = 4096;

struct Importer {
    kind: Kind,
    fixed_class: FixedClass,
    by: ImportBy,
    header_seen: bool,
    header_ok: bool,
    /// Column positions, in the order of `kind.columns()` (`None`: optional and absent).
    columns: Vec<Option<usize>>,
    width: usize,
    errors: Vec<LineError>,
    total_errors: u64,
    bad_lines: u64,
    last_bad_line: u64,
    summary: Summary,
    classes: HashMap<String, classes::Model>,
    roster: Option<(i64, HashMap<String, enrollments::Model>)>,
    /// New roster lines not inserted yet, and their (class, e-mail) keys.
    pending: Vec<NewLine>,
    pending_keys: HashSet<(i64, String)>,
    courses: HashMap<String, courses::Model>,
    trainers: HashMap<String, trainers::Model>,
}

impl Importer {
    fn new(kind: Kind, fixed_class: FixedClass, by: ImportBy) -> Importer {
        Importer {
            kind,
            fixed_class,
            by,
            header_seen: false,
            header_ok: false,
            columns: vec![],
            width: 0,
            errors: vec![],
            total_errors: 0,
            bad_lines: 0,
            last_bad_line: 0,
            summary: Summary::default(),
            classes: HashMap::new(),
            roster: None,
            pending: Vec::new(),
            pending_keys: HashSet::new(),
            courses: HashMap::new(),
            trainers: HashMap::new(),
        }
    }

    fn fail(&mut self, mut error: LineError) {
        // A message quotes at most a short prefix of a value (fields::shown); this cut
        // keeps any other message from carrying a huge cell into the report.
        if let Some((end, _)) = error.message.char_indices().nth(MAX_MESSAGE_CHARS) {
            error.message.truncate(end);
            error.message.push('…');
        }
        self.total_errors += 1;
        if error.line != self.last_bad_line {
            self.bad_lines += 1;
            self.last_bad_line = error.line;
        }
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        }
    }

    fn fail_fields(&mut self, line: u64, errors: FieldErrors) {
        for (field, message) in errors.0 {
            self.fail(LineError {
                line,
                field: field.into(),
                message,
            });
        }
    }

    fn header(&mut self, names: &[String]) {
        self.header_seen = true;
        self.width = names.len();
        let errors_before = self.total_errors;
        let header_error = |message: String| LineError {
            line: 1,
            field: "header".into(),
            message,
        };
        if names.len() > MAX_COLUMNS {
            let e = header_error(format!(
                "has {} columns: a {} file has the columns {} (at most {MAX_COLUMNS} are read)",
                names.len(),
                self.kind.id(),
                self.kind.columns().join(",")
            ));
            self.fail(e);
            self.header_ok = false;
            return;
        }
        for name in names {
            if !self.kind.columns().contains(&name.as_str()) {
                let e = header_error(format!(
                    "unknown column {name:?}: a {} file has the columns {}",
                    self.kind.id(),
                    self.kind.columns().join(",")
                ));
                self.fail(e);
            }
        }
        let mut seen = HashSet::with_capacity(names.len());
        for name in names {
            if !seen.insert(name.as_str()) {
                let e = header_error(format!("column {name} appears more than once"));
                self.fail(e);
            }
        }
        self.columns = self
            .kind
            .columns()
            .iter()
            .map(|c| names.iter().position(|n| n == c))
            .collect();
        let missing: Vec<&str> = self
            .kind
            .columns()
            .iter()
            .zip(&self.columns)
            .filter(|(_, p)| p.is_none())
            .map(|(c, _)| *c)
            .collect();
        for column in missing {
            let optional =
                column == "class_ref" && self.kind == Kind::Roster && self.fixed_class.is_some();
            if !optional {
                let e = header_error(format!(
                    "missing column {column}: a {} file has the columns {}",
                    self.kind.id(),
                    self.kind.columns().join(",")
                ));
                self.fail(e);
            }
        }
        self.header_ok = self.total_errors == errors_before;
    }

    fn get(&self, record: &csv::StringRecord, column: &str) -> String {
        self.kind
            .columns()
            .iter()
            .position(|c| *c == column)
            .and_then(|i| self.columns.get(i).copied().flatten())
            .and_then(|i| record.get(i))
            // An exported cell's spreadsheet guard (`'=…`) comes off: it imports as written.
            .map_or_else(String::new, |cell| csv_cell::unescape(cell).into_owned())
    }

    fn into_failure(self, checked: Checked) -> ImportFailure {
        ImportFailure::Invalid {
            errors: self.errors,
            total: self.total_errors,
            bad_lines: self.bad_lines,
            checked,
        }
    }

    /// The first pass: the row's shape and every field that can be checked without the
    /// database. The second pass checks the rest (references) and writes.
    fn check(&mut self, line: u64, record: &csv::StringRecord) {
        if !self.header_ok {
            return;
        }
        if record.len() != self.width {
            self.fail(LineError {
                line,
                field: "row".into(),
                message: format!("has {} fields, the header has {}", record.len(), self.width),
            });
            return;
        }
        // Every cell is checked for NUL here, once for all kinds: no text field takes one.
        let nul: Vec<(String, String)> = record
            .iter()
            .enumerate()
            .filter_map(|(i, cell)| {
                let message = crate::domain::fields::refuse_nul(cell).err()?;
                let column = self.columns.iter().position(|c| *c == Some(i)).map_or_else(
                    || format!("column {}", i + 1),
                    |k| self.kind.columns()[k].to_string(),
                );
                Some((column, message))
            })
            .collect();
        if !nul.is_empty() {
            for (field, message) in nul {
                self.fail(LineError {
                    line,
                    field,
                    message,
                });
            }
            return;
        }
        let one = |result: Result<(), ServiceError>| match result {
            Err(ServiceError::Field { field, message }) => FieldErrors(vec![(field, message)]),
            Err(ServiceError::Refused(message)) => FieldErrors(vec![("row", message)]),
            _ => FieldErrors::default(),
        };
        let errors = match self.kind {
            Kind::TitlePlan => self.course_fields(record).parse().err().unwrap_or_default(),
            Kind::Trainers => self
                .trainer_fields(record)
                .parse()
                .err()
                .unwrap_or_default(),
            Kind::Classes => self
                .class_fields(record)
                .parse(true)
                .err()
                .unwrap_or_default(),
            Kind::Roster => {
                let mut errors = FieldErrors::default();
                if self.fixed_class.is_none()
                    && let Err(m) = parse_code(&self.get(record, "class_ref"), 64)
                {
                    errors.add("class_ref", m);
                }
                if let Err(e) = self.enrollment_fields(record).parse() {
                    errors.0.extend(e.0);
                }
                errors
            }
            Kind::CodePool => one(codes::parse_pool_row(&self.pairs(record)).map(drop)),
            Kind::Codes => one(codes::parse_code_row(&self.pairs(record)).map(drop)),
            Kind::Vouchers => one(vouchers::parse_row(&self.pairs(record)).map(drop)),
            Kind::SurveyResponses => {
                one(surveys::parse_response_row(&self.pairs(record)).map(drop))
            }
        };
        self.fail_fields(line, errors);
    }

    /// `(column, value)` in the order of `kind.columns()`.
    fn pairs(&self, record: &csv::StringRecord) -> Vec<(&'static str, String)> {
        self.kind
            .columns()
            .iter()
            .map(|c| (*c, self.get(record, c)))
            .collect()
    }

    fn course_fields(&self, r: &csv::StringRecord) -> CourseFields {
        CourseFields {
            course_code: self.get(r, "course_code"),
            title: self.get(r, "title"),
            duration_days: self.get(r, "duration_days"),
            fundamentals: self.get(r, "fundamentals"),
            solution_area: self.get(r, "solution_area"),
            content: self.get(r, "content"),
            courseware_version: self.get(r, "courseware_version"),
        }
    }

    fn trainer_fields(&self, r: &csv::StringRecord) -> TrainerFields {
        TrainerFields {
            name: self.get(r, "name"),
            email: self.get(r, "email"),
            mct_id: self.get(r, "mct_id"),
            mct_valid_until: self.get(r, "mct_valid_until"),
            affiliated: self.get(r, "affiliated"),
        }
    }

    fn class_fields(&self, r: &csv::StringRecord) -> ClassFields {
        ClassFields {
            class_ref: self.get(r, "class_ref"),
            course_code: self.get(r, "course_code"),
            mct_id: self.get(r, "mct_id"),
            start_date: self.get(r, "start_date"),
            end_date: self.get(r, "end_date"),
            modality: self.get(r, "modality"),
            status: self.get(r, "status"),
            ..Default::default()
        }
    }

    fn enrollment_fields(&self, r: &csv::StringRecord) -> EnrollmentFields {
        EnrollmentFields {
            learner_name: self.get(r, "learner_name"),
            learner_email: self.get(r, "learner_email"),
            attended: self.get(r, "attended"),
        }
    }

    async fn row(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        line: u64,
        record: &csv::StringRecord,
    ) -> Result<(), ImportFailure> {
        if !self.header_ok {
            // Without a usable header no row can be read.
            return Ok(());
        }
        self.summary.rows += 1;
        if record.len() != self.width {
            self.fail(LineError {
                line,
                field: "row".into(),
                message: format!("has {} fields, the header has {}", record.len(), self.width),
            });
            return Ok(());
        }
        let result = match self.kind {
            Kind::TitlePlan => self.title_plan_row(tx, actor, record).await,
            Kind::Trainers => self.trainer_row(tx, actor, record).await,
            Kind::Classes => self.class_row(tx, actor, record).await,
            Kind::Roster => self.roster_row(tx, actor, record).await,
            Kind::CodePool | Kind::Codes | Kind::SurveyResponses | Kind::Vouchers => {
                let row = self.pairs(record);
                let outcome = match self.kind {
                    Kind::CodePool => codes::import_pool_row(tx, actor, &row).await,
                    Kind::Codes => codes::import_code_row(tx, actor, &row).await,
                    Kind::Vouchers => vouchers::import_row(tx, actor, &row).await,
                    _ => surveys::import_response_row(tx, actor, &row).await,
                };
                outcome.map_err(RowError::from)
            }
        };
        match result {
            Ok(Outcome::Created(())) => self.summary.created += 1,
            Ok(Outcome::Updated(())) => self.summary.updated += 1,
            Ok(Outcome::Unchanged(())) => self.summary.unchanged += 1,
            Err(RowError::Fields(errors)) => self.fail_fields(line, errors),
            Err(RowError::Service(ServiceError::Field { field, message })) => {
                self.fail(LineError {
                    line,
                    field: field.into(),
                    message,
                })
            }
            Err(RowError::Service(ServiceError::Refused(message))) => self.fail(LineError {
                line,
                field: "row".into(),
                message,
            }),
            Err(RowError::Service(e)) => return Err(e.into()),
        }
        Ok(())
    }

    async fn title_plan_row(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        r: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = self.course_fields(r).parse()?;
        let existing = course_svc::by_code(tx, &input.course_code).await?;
        Ok(unit(
            course_svc::write(tx, actor, "import", existing, &input).await?,
        ))
    }

    async fn trainer_row(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        r: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = self.trainer_fields(r).parse()?;
        let existing = trainer_svc::by_mct_id(tx, &input.mct_id).await?;
        Ok(unit(
            trainer_svc::write(tx, actor, "import", existing, &input, None).await?,
        ))
    }

    async fn class_row(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        r: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = self.class_fields(r).parse(true)?;
        let existing = class_svc::by_ref(tx, &input.class_ref).await?;
        let named = self.names(tx, &input).await?;
        let via = Via::Import(&self.by);
        let outcome = class_svc::write(tx, actor, via, existing, &input, named).await?;
        self.classes.remove(&input.class_ref);
        Ok(unit(outcome))
    }

    async fn roster_row(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        r: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let mut errors = FieldErrors::default();
        let class = match self.class_of_row(tx, r).await {
            Ok(class) => Some(class),
            Err(RowError::Fields(e)) => {
                errors.0.extend(e.0);
                None
            }
            Err(e) => return Err(e),
        };
        let input = match self.enrollment_fields(r).parse() {
            Ok(input) => input,
            Err(e) => {
                errors.0.extend(e.0);
                return Err(RowError::Fields(errors));
            }
        };
        let Some(class) = class else {
            return Err(RowError::Fields(errors));
        };
        // Loading the roster of a class recorded as confirmed (history being brought in)
        // is allowed; the ledger marks each such line as an amendment, with the reason
        // typed on the class page or the import page, or else one naming the import.
        let (action, reason) = if class_svc::status(&class).is_closed() {
            let typed = self
                .fixed_class
                .as_ref()
                .and_then(|f| f.reason.clone())
                .or_else(|| self.by.reason().map(str::to_string));
            (
                "amend",
                Some(typed.unwrap_or_else(|| IMPORT_AMENDMENT.to_string())),
            )
        } else {
            ("import", self.by.reason().map(str::to_string))
        };
        let key = (class.id, input.key.as_str().to_string());
        if self.pending_keys.contains(&key) {
            // The same learner twice in one file: the second row updates the first.
            self.flush(tx, actor).await?;
        }
        let roster = self.roster_of(tx, actor, class.id).await?;
        match roster.get(input.key.as_str()).cloned() {
            Some(existing) => {
                let outcome = rosters::write(
                    tx,
                    actor,
                    action,
                    &class,
                    Some(existing),
                    &input,
                    reason.as_deref(),
                )
                .await?;
                let line = outcome.model().clone();
                self.roster_of(tx, actor, class.id)
                    .await?
                    .insert(line.email_key.clone(), line);
                Ok(unit(outcome))
            }
            None => {
                if input.attended {
                    rosters::check_tick(&class)?;
                }
                self.pending_keys.insert(key);
                self.pending.push(NewLine {
                    class_id: class.id,
                    input,
                    action,
                    reason,
                });
                if self.pending.len() >= BATCH_ROWS / 2 {
                    self.flush(tx, actor).await?;
                }
                Ok(Outcome::Created(()))
            }
        }
    }

    /// Inserts the learners waiting in `pending` and puts them in the roster cache.
    async fn flush(&mut self, tx: &Recorder, actor: &Actor) -> Result<(), ServiceError> {
        let lines = std::mem::take(&mut self.pending);
        self.pending_keys.clear();
        let inserted = rosters::insert_many(tx, actor, lines).await?;
        if let Some((class_id, roster)) = &mut self.roster {
            for line in inserted.into_iter().filter(|l| l.class_id == *class_id) {
                roster.insert(line.email_key.clone(), line);
            }
        }
        Ok(())
    }

    /// The roster of the class being imported, loaded once per class: roster files list
    /// a class's learners together, so this replaces a lookup per row.
    async fn roster_of(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        class_id: i64,
    ) -> Result<&mut HashMap<String, enrollments::Model>, ServiceError> {
        if self.roster.as_ref().map(|(id, _)| *id) != Some(class_id) {
            // Learners still waiting belong in the database before a roster is read.
            self.flush(tx, actor).await?;
            let lines = class_svc::roster(tx, class_id).await?;
            let by_email = lines
                .into_iter()
                .map(|l| (l.email_key.clone(), l))
                .collect();
            self.roster = Some((class_id, by_email));
        }
        Ok(&mut self.roster.as_mut().expect("loaded above").1)
    }

    /// The course and MCT a class row names, cached for the import (a Title Plan and an
    /// MCT list are small; the cache is emptied if a file names very many).
    async fn names(
        &mut self,
        tx: &impl ConnectionTrait,
        input: &ClassInput,
    ) -> Result<(courses::Model, trainers::Model), RowError> {
        if self.courses.len() >= CLASS_CACHE || self.trainers.len() >= CLASS_CACHE {
            self.courses.clear();
            self.trainers.clear();
        }
        let course = match self.courses.get(&input.course_code) {
            Some(course) => course.clone(),
            None => {
                let course = class_svc::course_named(tx, &input.course_code).await?;
                self.courses
                    .insert(input.course_code.clone(), course.clone());
                course
            }
        };
        let trainer = match self.trainers.get(&input.mct_id) {
            Some(trainer) => trainer.clone(),
            None => {
                let trainer = class_svc::trainer_named(tx, &input.mct_id).await?;
                self.trainers.insert(input.mct_id.clone(), trainer.clone());
                trainer
            }
        };
        Ok((course, trainer))
    }

    async fn class_of_row(
        &mut self,
        tx: &impl ConnectionTrait,
        r: &csv::StringRecord,
    ) -> Result<classes::Model, RowError> {
        let raw = self.get(r, "class_ref");
        if let Some(ClassRoster { class: fixed, .. }) = &self.fixed_class {
            if raw.trim().is_empty()
                || parse_code(&raw, 64).as_deref() == Ok(fixed.class_ref.as_str())
            {
                return Ok(fixed.clone());
            }
            return Err(ServiceError::field(
                "class_ref",
                format!("{} is not this class ({})", raw.trim(), fixed.class_ref),
            )
            .into());
        }
        let class_ref = parse_code(&raw, 64).map_err(|m| ServiceError::field("class_ref", m))?;
        if let Some(class) = self.classes.get(&class_ref) {
            return Ok(class.clone());
        }
        let class = class_svc::by_ref(tx, &class_ref)
            .await?
            .ok_or_else(|| ServiceError::field("class_ref", format!("no class {class_ref}")))?;
        if self.classes.len() >= CLASS_CACHE {
            self.classes.clear();
        }
        self.classes.insert(class_ref, class.clone());
        Ok(class)
    }
}

fn unit<M>(outcome: Outcome<M>) -> Outcome<()> {
    match outcome {
        Outcome::Created(_) => Outcome::Created(()),
        Outcome::Updated(_) => Outcome::Updated(()),
        Outcome::Unchanged(_) => Outcome::Unchanged(()),
    }
}

enum RowError {
    Fields(FieldErrors),
    Service(ServiceError),
}

impl From<FieldErrors> for RowError {
    fn from(e: FieldErrors) -> Self {
        RowError::Fields(e)
    }
}

impl From<ServiceError> for RowError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Field { field, message } => {
                let mut errors = FieldErrors::default();
                errors.add(field, message);
                RowError::Fields(errors)
            }
            other => RowError::Service(other),
        }
    }
}

impl From<sea_orm::DbErr> for RowError {
    fn from(e: sea_orm::DbErr) -> Self {
        RowError::Service(e.into())
    }
}
