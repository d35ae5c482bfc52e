//! Multipart uploads for imports: files are spooled to a temporary file as they arrive
//! (never held in memory), small text fields are kept as strings.
use std::collections::HashMap;
use std::io::Write;

use axum::extract::Multipart;

use crate::web::error::AppError;

/// The pasted-CSV text part (`csv`) may be this large (larger: upload it as a file).
const MAX_PASTED_CSV: usize = 8 * 1024 * 1024;

/// Every other text part (kind, reason, token) may be this large.
const MAX_TEXT_FIELD: usize = 4 * 1024;

/// Text parts read at most: the forms have four.
const MAX_TEXT_FIELDS: usize = 16;

pub struct Upload {
    pub fields: HashMap<String, String>,
    /// The file part named `file`, if one with content was sent.
    pub file: Option<tempfile::NamedTempFile>,
    /// The name the browser gave that file.
    pub file_name: String,
}

impl Upload {
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Reads the parts; a body over `limit` (`server.max_upload_bytes`) is refused with 413
/// and its spooled part deleted.
pub async fn read(
    mut multipart: Multipart,
    spool_dir: &std::path::Path,
    limit: usize,
) -> Result<Upload, AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            AppError::BadRequest(format!("the upload could not be read: {}", e.body_text()))
        }
    };
    let mut fields = HashMap::new();
    let mut file = None;
    let mut file_name = String::new();
    while let Some(mut part) = multipart.next_field().await.map_err(bad)? {
        let name = part.name().unwrap_or_default().to_string();
        if let Some(given) = part.file_name() {
            if name == "file" {
                file_name = given.chars().take(200).collect();
            }
            std::fs::create_dir_all(spool_dir).map_err(|e| AppError::Internal(e.into()))?;
            let mut spool = tempfile::NamedTempFile::new_in(spool_dir)
                .map_err(|e| AppError::Internal(e.into()))?;
            // Held while the upload lives, so that a starting instance sharing the data
            // dir can tell a live spool file from one a crash left behind.
            spool
                .as_file()
                .lock()
                .map_err(|e| AppError::Internal(e.into()))?;
            let mut size = 0usize;
            while let Some(chunk) = part.chunk().await.map_err(bad)? {
                size += chunk.len();
                spool
                    .write_all(&chunk)
                    .map_err(|e| AppError::Internal(e.into()))?;
            }
            if name == "file" && size > 0 {
                spool.flush().map_err(|e| AppError::Internal(e.into()))?;
                file = Some(spool);
            }
        } else {
            // Text parts are held in memory: each is capped, and so is their number.
            let shown = crate::domain::fields::shown(&name);
            if fields.len() == MAX_TEXT_FIELDS {
                return Err(AppError::BadRequest(format!(
                    "The upload has more than {MAX_TEXT_FIELDS} text fields. Nothing was imported."
                )));
            }
            let max = if name == "csv" {
                MAX_PASTED_CSV
            } else {
                MAX_TEXT_FIELD
            };
            let mut text = Vec::new();
            while let Some(chunk) = part.chunk().await.map_err(bad)? {
                if text.len() + chunk.len() > max {
                    let hint = if name == "csv" {
                        ": upload the CSV as a file"
                    } else {
                        ""
                    };
                    return Err(AppError::BadRequest(format!(
                        "The field {shown} is larger than {}{hint}. Nothing was imported.",
                        super::middleware::human_bytes(max)
                    )));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text).map_err(|_| {
                AppError::BadRequest(format!(
                    "The field {shown} is not valid UTF-8. Nothing was imported."
                ))
            })?;
            // A pasted CSV's cells are checked by the importer, line by line.
            if name != "csv"
                && let Err(message) = crate::domain::fields::refuse_nul(&text)
            {
                return Err(AppError::BadRequest(format!(
                    "The field {shown} {message}. Nothing was imported."
                )));
            }
            fields.insert(name, text);
        }
    }
    Ok(Upload {
        fields,
        file,
        file_name,
    })
}

/// Deletes spooled uploads left behind by a crash (at start: `serve`). A file whose lock
/// is taken belongs to an upload another running instance is importing and is kept.
/// Returns how many were deleted.
pub fn remove_stale_spool(spool_dir: &std::path::Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(spool_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The refusal of an upload over `server.max_upload_bytes`.
pub fn too_large(limit: usize) -> AppError {
    AppError::PayloadTooLarge(format!(
        "The upload is larger than this server accepts ({}, server.max_upload_bytes). \
         Nothing was imported: split the file, or ask an administrator to raise the limit.",
        super::middleware::human_bytes(limit)
    ))
}

/// Refuses an upload whose declared `Content-Length` is over the limit before reading
/// it; a body sent without one is cut off by [`read`] at the same limit.
pub async fn declared_size_limit(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = state.config.server.max_upload_bytes;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit).into_response();
    }
    next.run(req).await
}
