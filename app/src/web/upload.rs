//! Multipart uploads for imports: files are spooled to a temporary file as they arrive
//! (never held in memory), small text fields are kept as strings.
use std::collections::HashMap;
use std::io::Write;

use axum::extract::Multipart;

use crate::error::AppError;

/// Text fields larger than this are refused (pasted CSV goes in a file part instead).
const MAX_TEXT_FIELD: usize = 8 * 1024 * 1024;

pub struct Upload {
    pub fields: HashMap<String, String>,
    /// The file part named `file`, if one with content was sent.
    pub file: Option<tempfile::NamedTempFile>,
}

impl Upload {
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

pub async fn read(
    mut multipart: Multipart,
    spool_dir: &std::path::Path,
) -> Result<Upload, AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("the upload could not be read: {}", e.body_text()))
    };
    let mut fields = HashMap::new();
    let mut file = None;
    while let Some(mut part) = multipart.next_field().await.map_err(bad)? {
        let name = part.name().unwrap_or_default().to_string();
        if part.file_name().is_some() {
            std::fs::create_dir_all(spool_dir).map_err(|e| AppError::Internal(e.into()))?;
            let mut spool = tempfile::NamedTempFile::new_in(spool_dir)
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
            let mut text = Vec::new();
            while let Some(chunk) = part.chunk().await.map_err(bad)? {
                if text.len() + chunk.len() > MAX_TEXT_FIELD {
                    return Err(AppError::BadRequest(format!(
                        "{name} is too large: upload the CSV as a file"
                    )));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| AppError::BadRequest(format!("{name} is not valid UTF-8")))?;
            fields.insert(name, text);
        }
    }
    Ok(Upload { fields, file })
}
