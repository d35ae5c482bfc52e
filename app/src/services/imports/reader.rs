//! Reading the CSV on a blocking thread, in batches, with line numbers that count
//! quoted line breaks and a named line for an unclosed quote.
use std::io::Read;

use tokio::sync::mpsc;

use super::{BATCH_ROWS, ImportFailure, LineError};
use crate::services::ServiceError;

pub(super) enum Chunk {
    Header(Vec<String>),
    Rows(Vec<(u64, csv::StringRecord)>),
    /// A line the CSV reader could not read at all (bad UTF-8, broken quoting).
    Unreadable(LineError),
}

pub(super) fn unreadable(e: std::io::Error) -> ImportFailure {
    ImportFailure::Failed(ServiceError::Other(
        anyhow::Error::from(e).context("opening the file to import"),
    ))
}

/// Parses `source` on a blocking thread, handing on batches of rows.
pub(super) fn read_in_background<R: Read + Send + 'static>(
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
