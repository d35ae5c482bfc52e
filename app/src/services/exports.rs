//! CSV exports: the filtered class list, a class roster and the filtered ledger. Rows are
//! sent on in chunks as they are read, so a million-class export never sits in memory.
use sea_orm::ConnectionTrait;
use tokio::sync::mpsc;

use super::classes::{self as class_svc, ClassFilter, Cursor, Sort};
use super::{ServiceError, courses as course_svc};
use crate::domain::csv_cell;

const PAGE: u64 = 1000;

pub const CLASS_COLUMNS: [&str; 14] = [
    "class_ref",
    "course_code",
    "course_title",
    "solution_area",
    "duration_category",
    "content",
    "mct_id",
    "mct_name",
    "start_date",
    "end_date",
    "modality",
    "status",
    "learners",
    "attended",
];

/// The roster columns are the `roster` import's, so an export can be edited and imported.
pub const ROSTER_COLUMNS: [&str; 4] = ["class_ref", "learner_name", "learner_email", "attended"];

/// The ledger export's columns: who acted as stored and by name as the ledger page shows
/// it (a learner only by enrollment), and the changes as `field: before → after; …`.
/// Reasons and notes are left out: they are free text an erasure must be able to blank.
pub const LEDGER_COLUMNS: [&str; 9] = [
    "id",
    "at",
    "actor",
    "actor_name",
    "entity",
    "entity_id",
    "action",
    "changes",
    "hash",
];

/// Writes one row of any CSV export, each cell made spreadsheet-safe
/// ([`csv_cell::escape`]: a cell starting with `= + - @`, tab or CR gets a leading `'`).
/// Every export writes its rows through here.
pub fn write_row<W: std::io::Write, T: AsRef<str>>(
    writer: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = T>,
) -> csv::Result<()> {
    for cell in cells {
        writer.write_field(csv_cell::escape(cell.as_ref()).as_bytes())?;
    }
    writer.write_record(None::<&[u8]>)
}

fn chunk_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().from_writer(Vec::with_capacity(64 * 1024))
}

fn take(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
    writer
        .into_inner()
        .map_err(|e| ServiceError::Other(anyhow::anyhow!("csv: {e}")))
}

fn csv_err(e: csv::Error) -> ServiceError {
    ServiceError::Other(e.into())
}

/// Rows per page of a keyset-paged export ([`stream_pages`]).
pub const PAGE_ROWS: u64 = 2000;

/// Sends a keyset-paged export as CSV chunks: the header, then each page `page(after)`
/// gives (at most [`PAGE_ROWS`] rows with ids above `after`), until a short page. Stops
/// quietly when the receiver is gone (the download was cancelled).
pub async fn stream_pages<T, R, S, Page>(
    columns: &[&str],
    mut page: impl FnMut(i64) -> Page,
    record: impl Fn(&T) -> R,
    id: impl Fn(&T) -> i64,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<(), ServiceError>
where
    Page: std::future::Future<Output = Result<Vec<T>, ServiceError>>,
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut after = 0;
    let mut header = true;
    loop {
        let rows = page(after).await?;
        let mut writer = chunk_writer();
        if std::mem::take(&mut header) {
            write_row(&mut writer, columns).map_err(csv_err)?;
        }
        for row in &rows {
            write_row(&mut writer, record(row)).map_err(csv_err)?;
        }
        if out.send(take(writer)?).await.is_err() {
            return Ok(());
        }
        match rows.last() {
            Some(last) if rows.len() as u64 == PAGE_ROWS => after = id(last),
            _ => return Ok(()),
        }
    }
}

/// Sends the classes matching `filter` as CSV chunks, in list order (`sort`). Stops
/// quietly when the receiver is gone (the download was cancelled).
pub async fn classes(
    db: &impl ConnectionTrait,
    filter: &ClassFilter,
    sort: Sort,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<(), ServiceError> {
    let mut writer = chunk_writer();
    write_row(&mut writer, CLASS_COLUMNS).map_err(csv_err)?;
    let mut after: Option<Cursor> = None;
    loop {
        let page = class_svc::list_page(db, filter, sort, after.as_ref(), PAGE).await?;
        for row in &page.rows {
            let (learners, attended) = (row.learners, row.attended);
            write_row(
                &mut writer,
                [
                    row.class.class_ref.as_str(),
                    &row.course.course_code,
                    &row.course.title,
                    row.course.solution_area.map_or("", |a| a.id()),
                    course_svc::category(&row.course).id(),
                    row.course.content.id(),
                    &row.trainer.mct_id,
                    &row.trainer.name,
                    &row.class.start_date.to_string(),
                    &row.class.end_date.to_string(),
                    row.class.modality.id(),
                    row.class.status.id(),
                    &learners.to_string(),
                    &attended.to_string(),
                ],
            )
            .map_err(csv_err)?;
        }
        if out
            .send(take(std::mem::replace(&mut writer, chunk_writer()))?)
            .await
            .is_err()
        {
            return Ok(());
        }
        match page.next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(()),
        }
    }
}

/// The roster of one class as CSV, in the `roster` import's format.
pub async fn roster(db: &impl ConnectionTrait, class_id: i64) -> Result<Vec<u8>, ServiceError> {
    let class = class_svc::get(db, class_id).await?;
    let mut writer = chunk_writer();
    write_row(&mut writer, ROSTER_COLUMNS).map_err(csv_err)?;
    for line in class_svc::roster(db, class_id).await? {
        write_row(
            &mut writer,
            [
                class.class_ref.as_str(),
                &line.learner_name,
                &line.learner_email,
                if line.attended { "true" } else { "false" },
            ],
        )
        .map_err(csv_err)?;
    }
    take(writer)
}

/// Sends the ledger entries matching `filter` as CSV chunks, newest first, [`PAGE`]
/// entries a query (by entry id, so a ledger of millions never sits in memory, and
/// entries appended meanwhile are not mixed in). Stops quietly when the receiver is gone.
pub async fn ledger(
    db: &impl ConnectionTrait,
    filter: &crate::ledger::read::Filter,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<(), ServiceError> {
    use crate::ledger;
    let mut writer = chunk_writer();
    write_row(&mut writer, LEDGER_COLUMNS).map_err(csv_err)?;
    let mut before = None;
    loop {
        let entries = ledger::read::page(db, filter, before, PAGE).await?;
        let names = ledger::actor_names(db, entries.iter().map(|e| e.actor.as_str())).await?;
        for e in &entries {
            write_row(
                &mut writer,
                [
                    e.id.to_string().as_str(),
                    &e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                    &e.actor,
                    names.get(&e.actor).map_or(e.actor.as_str(), String::as_str),
                    &e.entity_type,
                    &e.entity_id,
                    &e.action,
                    &ledger::describe_changes(&e.changes).join("; "),
                    &e.hash,
                ],
            )
            .map_err(csv_err)?;
        }
        if out
            .send(take(std::mem::replace(&mut writer, chunk_writer()))?)
            .await
            .is_err()
        {
            return Ok(());
        }
        match entries.last() {
            Some(last) if entries.len() as u64 == PAGE => before = Some(last.id),
            _ => return Ok(()),
        }
    }
}
