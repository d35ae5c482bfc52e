//! Classes: the filtered list and its export, the form, the detail page with roster,
//! lifecycle actions and history. One file per job; what several of them use is here.
mod form;
mod list;
mod roster;
mod show;

use serde::Deserialize;

pub use form::{create, edit, new, update};
pub use list::{ListQuery, PAGE_SIZE, export, list};
pub use roster::{add_learner, attendance, import_roster, remove_learner, roster_csv};
pub use show::{change_status, confirm, show};

use crate::domain::delivery::{OnceStarted, check_started};
use crate::domain::role::Role;
use crate::services::classes::{self as svc, ClassFilter, ClassRow};
use crate::services::trainers as trainer_svc;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;

/// Applies who is asking: a trainer's list holds only their own classes. `None` means
/// the trainer has no MCT record yet, so they have no classes.
pub(crate) async fn scoped(
    state: &AppState,
    user: &CurrentUser,
    mut filter: ClassFilter,
) -> Result<Option<ClassFilter>, AppError> {
    if user.role == Role::Trainer {
        match trainer_svc::of_user(&state.db, user.id).await? {
            Some(t) => filter.trainer_id = Some(t.id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

/// A class as a line of the list; the class page shows its head from it too.
pub struct ListRow {
    pub id: i64,
    pub class_ref: String,
    pub course_code: String,
    pub course_title: String,
    pub trainer: String,
    pub dates: String,
    pub modality: &'static str,
    pub status: String,
    pub status_label: &'static str,
    /// Roster lines, and those ticked as attending once attendance is taken (the class
    /// has started and is not cancelled).
    pub learners: u64,
    pub attended: Option<u64>,
}

impl ListRow {
    fn of(row: &ClassRow) -> ListRow {
        let c = &row.class;
        let dates = svc::date_range(c.start_date, c.end_date);
        ListRow {
            id: c.id,
            class_ref: c.class_ref.clone(),
            course_code: row.course.course_code.clone(),
            course_title: row.course.title.clone(),
            trainer: row.trainer.name.clone(),
            dates,
            modality: c.modality.label(),
            status: c.status.to_string(),
            status_label: c.status.label(),
            learners: row.learners,
            attended: check_started(
                OnceStarted::TickAttendance,
                c.status,
                c.start_date,
                crate::clock::now().date_naive(),
            )
            .is_ok()
            .then_some(row.attended),
        }
    }
}

use crate::services::pickers::{Options, course_options, trainer_options};

fn enum_options<T: Copy, const N: usize>(
    all: [T; N],
    id: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Options {
    all.iter()
        .map(|v| (id(*v).to_string(), label(*v).to_string()))
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReasonForm {
    reason: String,
}
