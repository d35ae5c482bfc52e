//! Recordings: the list with what needs action, the form, the page with consent and
//! takedowns, and the learner's public consent page reached by the e-mailed token. One
//! file per job; what several of them use is here. The takedown handlers are in
//! `web/takedowns.rs`.
mod consent;
mod form;
mod list;
mod show;

use axum::response::Response;
use chrono::NaiveDate;

pub use consent::{consent_answer, consent_show, own_consent, paper, request_new};
pub use form::{create, edit, new, update};
pub use list::list;
pub(super) use show::{Feedback, show_page};
pub use show::{publish, show, withdraw};

use crate::clock;
use crate::domain::recording::RecordingStatus;
use crate::services::ServiceError;
use crate::services::recordings::RecordingDetail;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::page::{FlashKind, redirect_with_flash};

type Options = Vec<(String, String)>;

pub(super) fn today() -> NaiveDate {
    clock::now().date_naive()
}

/// A flag on a recording, as a small status pill.
pub struct Flag {
    pub class: &'static str,
    pub text: &'static str,
}

fn flags(r: &RecordingDetail, today: NaiveDate) -> Vec<Flag> {
    let mut out = vec![];
    if r.needs_action() {
        out.push(Flag {
            class: "status-bad",
            text: "Needs action",
        });
    }
    if r.revoked() {
        out.push(Flag {
            class: "status-bad",
            text: "Consent revoked",
        });
    } else if r.missing_consent() {
        out.push(Flag {
            class: "status-warn",
            text: "Consent missing",
        });
    }
    if r.outdated() {
        out.push(Flag {
            class: "status-warn",
            text: "Outdated",
        });
    }
    if r.takedown_overdue(today) {
        out.push(Flag {
            class: "status-bad",
            text: "Takedown overdue",
        });
    } else if r.takedown_due(today) {
        out.push(Flag {
            class: "status-warn",
            text: "Takedown due soon",
        });
    } else if r.open_takedown() {
        out.push(Flag {
            class: "status-warn",
            text: "Takedown open",
        });
    }
    out
}

fn recording_status_class(s: RecordingStatus) -> &'static str {
    match s {
        RecordingStatus::Draft => "status-off",
        RecordingStatus::Published => "status-ok",
        RecordingStatus::Withdrawn => "status-bad",
    }
}

/// The answer to an action on the recording page: back to it with the message, or with
/// the refusal.
pub(super) fn done(
    state: &AppState,
    id: i64,
    result: Result<String, ServiceError>,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    let to = format!("/recordings/{id}");
    match result {
        Ok(message) => Ok(redirect_with_flash(
            &to,
            FlashKind::Success,
            message,
            secure,
        )),
        Err(ServiceError::Refused(message)) => {
            Ok(redirect_with_flash(&to, FlashKind::Error, message, secure))
        }
        Err(e) => Err(e.into()),
    }
}
