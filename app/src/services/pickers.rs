//! The catalog as picker options (the class list's course and MCT filters), read once and
//! kept until either table changes: without it every list request loads every course and
//! every MCT. A change is seen from the tables' [`Versions`], so a write by another
//! instance, or by plain SQL, invalidates it too.
use std::sync::Arc;

use entity::{courses, trainers};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use super::ServiceError;
use super::versions::Versions;

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

/// What the cached options were read at: the courses' and the MCTs' versions.
type Stamp = (i64, i64);

#[derive(Default)]
pub struct PickerCache {
    cached: tokio::sync::RwLock<Option<(Stamp, Pickers)>>,
}

impl PickerCache {
    /// The options, read again when `versions` (read by the caller for its whole
    /// request) differ from those they were read at.
    pub async fn pickers(
        &self,
        db: &impl ConnectionTrait,
        versions: Versions,
    ) -> Result<Pickers, ServiceError> {
        let now = (versions.courses, versions.trainers);
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
