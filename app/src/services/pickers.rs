//! The catalog as picker options (the class list's course and MCT filters), read once and
//! kept until either table changes: without it every list request loads every course and
//! every MCT. A change is seen from the tables themselves (row count and newest
//! `updated_at`), so a write by another instance invalidates it too.
use std::sync::Arc;

use entity::{courses, trainers};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};

use super::ServiceError;

/// `(value, label)` pairs for a `<select>`.
pub type Options = Vec<(String, String)>;

/// Courses as picker options, labelled `AZ-104 — Azure Administrator`, valued by `value`.
pub fn course_options(list: &[courses::Model], value: fn(&courses::Model) -> String) -> Options {
    list.iter()
        .map(|c| (value(c), format!("{} — {}", c.course_code, c.title)))
        .collect()
}

/// MCTs as picker options, labelled `Ana Trainer (MCT-1)`, valued by `value`.
pub fn trainer_options(list: &[trainers::Model], value: fn(&trainers::Model) -> String) -> Options {
    list.iter()
        .map(|t| (value(t), format!("{} ({})", t.name, t.mct_id)))
        .collect()
}

/// The course options (every course, retired ones too, as a filter may name them) and the
/// MCT options, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pickers {
    pub courses: Arc<Options>,
    pub mcts: Arc<Options>,
}

/// What the cached options were read from: each table's row count and newest change.
type Stamp = (i64, String, i64, String);

#[derive(Default)]
pub struct PickerCache {
    cached: tokio::sync::RwLock<Option<(Stamp, Pickers)>>,
}

impl PickerCache {
    pub async fn pickers(&self, db: &impl ConnectionTrait) -> Result<Pickers, ServiceError> {
        let now = stamp(db).await?;
        if let Some((stamp, pickers)) = self.cached.read().await.as_ref()
            && *stamp == now
        {
            return Ok(pickers.clone());
        }
        let pickers = Pickers {
            courses: Arc::new(course_options(
                &courses::Entity::find()
                    .order_by_asc(courses::Column::CourseCode)
                    .all(db)
                    .await?,
                |c| c.id.to_string(),
            )),
            mcts: Arc::new(trainer_options(&super::trainers::all(db).await?, |t| {
                t.id.to_string()
            })),
        };
        // Stamped with what was read before the load: a change landing in between makes
        // the next request load again.
        *self.cached.write().await = Some((now, pickers.clone()));
        Ok(pickers)
    }
}

/// One row, four aggregates: cheap on a catalog of any size.
async fn stamp(db: &impl ConnectionTrait) -> Result<Stamp, ServiceError> {
    let sql = "SELECT (SELECT COUNT(*) FROM courses) AS courses, \
        (SELECT COALESCE(CAST(MAX(updated_at) AS TEXT), '') FROM courses) AS courses_changed, \
        (SELECT COUNT(*) FROM trainers) AS trainers, \
        (SELECT COALESCE(CAST(MAX(updated_at) AS TEXT), '') FROM trainers) AS trainers_changed";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| ServiceError::Other(anyhow::anyhow!("the picker stamp returned no row")))?;
    Ok((
        row.try_get("", "courses")?,
        row.try_get("", "courses_changed")?,
        row.try_get("", "trainers")?,
        row.try_get("", "trainers_changed")?,
    ))
}
