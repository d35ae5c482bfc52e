//! Spooled files: uploads waiting to be imported (`<data.dir>/uploads`) and e-mails the
//! file transport wrote (`.eml` in `mail.file_dir`). Files, not rows: deleted by age.
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::config::Config;

/// A spool folder and the files of it that retention handles.
#[derive(Debug, Clone)]
pub struct SpoolDir {
    pub dir: PathBuf,
    /// Only files with this extension (`None`: every file).
    pub extension: Option<&'static str>,
}

/// The folders retention sweeps: the upload spool, and the mail folder (whatever the
/// transport is now: files written under an earlier setting hold personal data too).
pub fn spool_dirs(config: &Config) -> Vec<SpoolDir> {
    vec![
        SpoolDir {
            dir: config.data.spool_dir(),
            extension: None,
        },
        SpoolDir {
            dir: config.mail.file_dir.clone(),
            extension: Some("eml"),
        },
    ]
}

/// Each spooled file with when it was last written. A missing folder has none; an
/// upload whose lock is taken is being imported and is left out.
pub fn spooled(dirs: &[SpoolDir]) -> std::io::Result<Vec<(PathBuf, DateTime<Utc>)>> {
    let mut out = vec![];
    for spool in dirs {
        let entries = match std::fs::read_dir(&spool.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if !path.is_file() || !has_extension(&path, spool.extension) {
                continue;
            }
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            if file.try_lock().is_err() {
                continue;
            }
            let written: SystemTime = file.metadata()?.modified()?;
            out.push((path, DateTime::<Utc>::from(written)));
        }
    }
    Ok(out)
}

fn has_extension(path: &Path, extension: Option<&str>) -> bool {
    extension.is_none_or(|ext| path.extension().is_some_and(|e| e == ext))
}

/// Deletes the spooled files last written on or before `cutoff`; returns how many.
pub(super) fn delete_older(dirs: &[SpoolDir], cutoff: DateTime<Utc>) -> std::io::Result<u64> {
    let mut deleted = 0;
    for (path, written) in spooled(dirs)? {
        if written <= cutoff {
            match std::fs::remove_file(&path) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(deleted)
}
