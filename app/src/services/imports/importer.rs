//! One import run's state: the header's column positions, the errors so far, and the
//! lookups and pending roster lines of the write pass; each row checked, then written.
use std::collections::{HashMap, HashSet};

use entity::{classes, courses, enrollments, trainers};

use crate::services::keyed::RecordImport;
use serde::de::DeserializeOwned;

use super::*;

mod lookups;
pub(super) mod rows;

pub(super) use rows::{Rows, with_rows};

/// Recently used classes by ref: roster files list a class's learners together, so a
/// small cache saves a lookup per row without growing with the file.
const CLASS_CACHE: usize = 4096;

pub(super) struct Importer {
    kind: Kind,
    fixed_class: FixedClass,
    by: ImportBy,
    pub(super) header_seen: bool,
    header_ok: bool,
    /// Column positions, in the order of `kind.columns()` (`None`: optional and absent).
    columns: Vec<Option<usize>>,
    /// `kind.columns()` as a header record: the names rows are deserialized by.
    column_names: csv::StringRecord,
    width: usize,
    errors: Vec<LineError>,
    pub(super) total_errors: u64,
    bad_lines: u64,
    last_bad_line: u64,
    pub(super) summary: Summary,
    classes: HashMap<String, classes::Model>,
    /// Class refs the chunk names that no class has (they may be created by the chunk).
    absent_classes: HashSet<String>,
    /// The roster lines the chunk names, by (class, e-mail key); `None`: not on the roster.
    learners: HashMap<(i64, String), Option<enrollments::Model>>,
    roster: Option<(i64, HashMap<String, enrollments::Model>)>,
    /// New roster lines not inserted yet, and their (class, e-mail) keys.
    pending: Vec<NewLine>,
    pending_keys: HashSet<(i64, String)>,
    /// New classes not inserted yet (a batch: at most
    /// [`crate::services::ROWS_PER_STATEMENT`]).
    pending_classes: Vec<class_svc::NewClass>,
    /// The codes, survey responses and voucher purchases the chunk names, and their new
    /// rows waiting for the next insert.
    pub(super) codes: codes::CodeImport,
    responses: surveys::ResponseImport,
    vouchers: vouchers::VoucherImport,
    courseware: courseware::PurchaseImport,
    courses_import: RecordImport<course_svc::Courses>,
    trainers_import: RecordImport<trainer_svc::Mcts>,
    courses: HashMap<String, courses::Model>,
    trainers: HashMap<String, trainers::Model>,
}

impl Importer {
    pub(super) fn new(kind: Kind, fixed_class: FixedClass, by: ImportBy) -> Importer {
        Importer {
            kind,
            fixed_class,
            by,
            header_seen: false,
            header_ok: false,
            columns: vec![],
            column_names: csv::StringRecord::from(kind.columns().to_vec()),
            width: 0,
            errors: vec![],
            total_errors: 0,
            bad_lines: 0,
            last_bad_line: 0,
            summary: Summary::default(),
            classes: HashMap::new(),
            absent_classes: HashSet::new(),
            learners: HashMap::new(),
            roster: None,
            pending: Vec::new(),
            pending_keys: HashSet::new(),
            pending_classes: Vec::new(),
            codes: Default::default(),
            responses: Default::default(),
            vouchers: Default::default(),
            courseware: Default::default(),
            courses_import: Default::default(),
            trainers_import: Default::default(),
            courses: HashMap::new(),
            trainers: HashMap::new(),
        }
    }

    pub(super) fn fail(&mut self, mut error: LineError) {
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

    pub(super) fn header(&mut self, names: &[String]) {
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
        let ignores_others = self.kind.ignores_other_columns();
        for name in names {
            if !ignores_others && !self.kind.columns().contains(&name.as_str()) {
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
            let read = !ignores_others || self.kind.columns().contains(&name.as_str());
            if read && !seen.insert(name.as_str()) {
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
            let optional = self.kind.optional_columns().contains(&column)
                || (column == "class_ref"
                    && self.kind == Kind::Roster
                    && self.fixed_class.is_some());
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

    /// Whether the file has `column` (an optional column may be absent).
    fn has_column(&self, column: &str) -> bool {
        self.kind
            .columns()
            .iter()
            .position(|c| *c == column)
            .is_some_and(|k| matches!(self.columns.get(k), Some(Some(_))))
    }

    fn get(&self, record: &csv::StringRecord, column: &str) -> String {
        self.kind
            .columns()
            .iter()
            .position(|c| *c == column)
            .map_or_else(String::new, |k| self.cell(record, k))
    }

    /// The cell of the kind's `k`-th column (blank when that optional column is absent).
    fn cell(&self, record: &csv::StringRecord, k: usize) -> String {
        self.columns
            .get(k)
            .copied()
            .flatten()
            .and_then(|i| record.get(i))
            // An exported cell's spreadsheet guard (`'=…`) comes off: it imports as written.
            .map_or_else(String::new, |cell| csv_cell::unescape(cell).into_owned())
    }

    pub(super) fn into_failure(self, checked: Checked) -> ImportFailure {
        ImportFailure::Invalid {
            errors: self.errors,
            total: self.total_errors,
            bad_lines: self.bad_lines,
            checked,
        }
    }

    /// The first pass: the row's shape and every field that can be checked without the
    /// database. The second pass checks the rest (references) and writes.
    pub(super) fn check(&mut self, line: u64, record: &csv::StringRecord) {
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
            .filter(|(i, _)| {
                // A column the kind ignores is not read, so it is not checked either.
                !self.kind.ignores_other_columns() || self.columns.contains(&Some(*i))
            })
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
        let errors = with_rows!(self.kind, R => R::check(self, record));
        self.fail_fields(line, errors);
    }

    /// The first-pass check of a kind whose parse reports every bad field (courses, MCTs,
    /// classes, learners).
    fn check_every_field<T: DeserializeOwned, R>(
        &self,
        record: &csv::StringRecord,
        parse: impl FnOnce(T) -> Result<R, FieldErrors>,
    ) -> FieldErrors {
        self.fields::<T>(record)
            .and_then(parse)
            .err()
            .unwrap_or_default()
    }

    /// The first-pass check of a kind reported by its first bad field (codes, vouchers,
    /// survey responses).
    fn check_first_field<T: DeserializeOwned, R>(
        &self,
        record: &csv::StringRecord,
        parse: impl FnOnce(&T) -> Result<R, ServiceError>,
    ) -> FieldErrors {
        let fields = match self.fields::<T>(record) {
            Ok(fields) => fields,
            Err(errors) => return errors,
        };
        match parse(&fields) {
            Err(ServiceError::Field { field, message }) => FieldErrors(vec![(field, message)]),
            Err(ServiceError::Refused(message)) => FieldErrors(vec![("row", message)]),
            _ => FieldErrors::default(),
        }
    }

    /// The rows of `records` that `parse` accepts (one that it refuses is reported when it
    /// is written).
    fn parsed<'r, T: DeserializeOwned, R>(
        &self,
        records: impl Iterator<Item = &'r csv::StringRecord>,
        parse: impl Fn(&T) -> Result<R, ServiceError>,
    ) -> Vec<R> {
        records
            .filter_map(|r| parse(&self.fields::<T>(r).ok()?).ok())
            .collect()
    }

    /// The row as the kind's field struct, whose field names are the kind's columns
    /// (`csv` deserializes by the header): each cell read through `cell`, so an optional
    /// column that is absent is blank and an exported cell's spreadsheet guard comes off.
    fn fields<T: DeserializeOwned>(&self, record: &csv::StringRecord) -> Result<T, FieldErrors> {
        let row: csv::StringRecord = (0..self.columns.len())
            .map(|k| self.cell(record, k))
            .collect();
        row.deserialize(Some(&self.column_names))
            .map_err(|e| FieldErrors(vec![("row", format!("cannot be read: {e}"))]))
    }

    /// Before a chunk's rows are written: what they refer to, read for all of them at once.
    pub(super) async fn prefetch(
        &mut self,
        tx: &Recorder,
        rows: &[(u64, csv::StringRecord)],
    ) -> Result<(), ImportFailure> {
        if !self.header_ok {
            return Ok(());
        }
        let width = self.width;
        let records = rows.iter().map(|(_, r)| r).filter(|r| r.len() == width);
        with_rows!(self.kind, R => R::prefetch(self, tx, records).await)?;
        Ok(())
    }

    pub(super) async fn row(
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
        let result = with_rows!(self.kind, R => R::write(self, tx, actor, record).await);
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

    pub(super) async fn roster_row(
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
        let input = match self.fields::<EnrollmentFields>(r).and_then(|f| f.parse()) {
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
        let (action, reason) = if class.status.is_closed() {
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
        let roster = self.roster_of(tx, class.id).await?;
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
                self.roster_of(tx, class.id)
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

    /// Whether class `class_ref` waits in the batch (a file naming it twice).
    pub(super) fn class_pending(&self, class_ref: &str) -> bool {
        self.pending_classes
            .iter()
            .any(|n| n.class_ref() == class_ref)
    }

    /// Queues a new class for the next multi-row insert.
    pub(super) async fn queue_class(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        new: class_svc::NewClass,
    ) -> Result<(), ServiceError> {
        self.pending_classes.push(new);
        if self.pending_classes.len() >= crate::services::ROWS_PER_STATEMENT {
            self.flush(tx, actor).await?;
        }
        Ok(())
    }

    /// Inserts every new row waiting (classes, codes, responses, purchases, learners), and
    /// puts the classes and learners in their caches.
    pub(super) async fn flush(&mut self, tx: &Recorder, actor: &Actor) -> Result<(), ServiceError> {
        self.codes.flush(tx, actor).await?;
        self.responses.flush(tx, actor).await?;
        self.vouchers.flush(tx, actor).await?;
        self.courseware.flush(tx, actor).await?;
        self.courses_import.flush(tx, actor).await?;
        self.trainers_import.flush(tx, actor).await?;
        let classes =
            class_svc::insert_many(tx, actor, std::mem::take(&mut self.pending_classes)).await?;
        for class in classes {
            self.absent_classes.remove(&class.class_ref);
            self.cache_class(class);
        }
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
}

fn unit<M>(outcome: Outcome<M>) -> Outcome<()> {
    match outcome {
        Outcome::Created(_) => Outcome::Created(()),
        Outcome::Updated(_) => Outcome::Updated(()),
        Outcome::Unchanged(_) => Outcome::Unchanged(()),
    }
}

pub(super) enum RowError {
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
