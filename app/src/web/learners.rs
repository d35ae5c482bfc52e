//! Learners across classes: `GET /learners` (search by name or e-mail) and
//! `GET /learners/{id}` (a learner's classes, attendance, codes, surveys and consents,
//! addressed by one of their roster lines' id). Staff see every class; a trainer only
//! their own (`services::learners`).
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::clock;
use crate::domain::delivery::{OnceStarted, check_started};
use crate::domain::role::Role;
use crate::services::classes::date_range;
use crate::services::learners::{self as svc, After};
use crate::services::{Search, surveys::QUESTIONS};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, PageContext, url_encode};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    after: String,
}

/// A learner as a line of the search.
pub struct LearnerLine {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub classes: u64,
    pub latest_id: i64,
    pub latest_ref: String,
    pub latest_dates: String,
}

#[derive(Template)]
#[template(path = "learners/list.html")]
struct ListPage {
    page: Page,
    q: String,
    lines: Vec<LearnerLine>,
    next: Option<String>,
    first_page: Option<String>,
    is_trainer: bool,
}

/// `GET /learners?q=`: learners whose name or e-mail contains `q` (all of them without
/// one), 50 a page by e-mail.
pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let search = Search::parse(&query.q);
    let after = query.after.trim().parse::<i64>().ok();
    let found = svc::search(&state.db, &user.caller(), search.as_ref(), after).await?;
    let q = query.q.trim().to_string();
    let base = if q.is_empty() {
        String::new()
    } else {
        format!("q={}&", url_encode(&q))
    };
    let page = ListPage {
        page: ctx.page("Learners"),
        lines: found
            .lines
            .into_iter()
            .map(|l| LearnerLine {
                id: l.enrollment_id,
                name: l.name,
                email: l.email,
                classes: l.classes,
                latest_id: l.latest.id,
                latest_ref: l.latest.class_ref,
                latest_dates: date_range(l.latest.start_date, l.latest.end_date),
            })
            .collect(),
        next: found.next.map(|id| format!("/learners?{base}after={id}")),
        first_page: after.map(|_| format!("/learners?{}", base.trim_end_matches('&'))),
        is_trainer: user.role == Role::Trainer,
        q,
    };
    Ok(Html(page.render()?).into_response())
}

/// One class of the learner's page.
pub struct ClassLine {
    pub class_id: i64,
    pub class_ref: String,
    pub course_code: String,
    pub course_title: String,
    pub trainer: String,
    pub dates: String,
    pub status: String,
    pub status_label: &'static str,
    /// The name on this roster line when it differs from the page's.
    pub name_here: Option<String>,
    /// `Yes` / `No`, or `Not yet` before attendance is taken (a class not started, or
    /// cancelled).
    pub attendance: &'static str,
    /// Code, issued on, redeemed on (empty when not yet).
    pub code: Option<(String, String, String)>,
    /// What the survey shows: submitted on and the answers, or the invitation's state.
    pub survey: String,
    /// Recording title (with its id) and the consent in words.
    pub consents: Vec<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "learners/show.html")]
struct ShowPage {
    page: Page,
    name: String,
    email: String,
    classes: u64,
    attended: u64,
    lines: Vec<ClassLine>,
    next: Option<String>,
    first_page: Option<String>,
    is_trainer: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShowQuery {
    after: String,
}

fn answers(r: &entity::survey_responses::Model) -> String {
    let answers = [r.q1, r.q2, r.q3, r.q4, r.q5];
    let listed: Vec<String> = QUESTIONS
        .iter()
        .zip(answers)
        .map(|(q, a)| match a {
            Some(a) => format!("{} {a}", q.to_uppercase()),
            None => format!("{} –", q.to_uppercase()),
        })
        .collect();
    listed.join(", ")
}

/// `GET /learners/{id}`: the learner of roster line `id`, their classes latest first.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let after = After::decode(query.after.trim());
    let learner = svc::learner(&state.db, &user.caller(), id, after).await?;
    let today = clock::now().date_naive();
    let name = learner.line.learner_name.clone();
    let lines = learner
        .rows
        .into_iter()
        .map(|r| {
            let c = &r.class;
            let taken =
                check_started(OnceStarted::TickAttendance, c.status, c.start_date, today).is_ok();
            let survey = match (&r.response, &r.invitation) {
                (Some(response), _) => format!(
                    "Answered on {} ({}): {}",
                    response.submitted_on,
                    response.source.label(),
                    answers(response)
                ),
                (None, Some(i)) if i.cancelled_at.is_some() => "Invitation cancelled".into(),
                (None, Some(i)) => format!("Invited on {}, no answer yet", i.sent_at.date_naive()),
                (None, None) => String::new(),
            };
            ClassLine {
                class_id: c.id,
                class_ref: c.class_ref.clone(),
                course_code: r.course.course_code.clone(),
                course_title: r.course.title.clone(),
                trainer: r.trainer.name.clone(),
                dates: date_range(c.start_date, c.end_date),
                status: c.status.to_string(),
                status_label: c.status.label(),
                name_here: (r.enrollment.learner_name != name)
                    .then(|| r.enrollment.learner_name.clone()),
                attendance: match (taken, r.enrollment.attended) {
                    (_, true) => "Yes",
                    (true, false) => "No",
                    (false, false) => "Not yet",
                },
                code: r.code.as_ref().map(|code| {
                    (
                        code.code.clone(),
                        code.issued_on.map(|d| d.to_string()).unwrap_or_default(),
                        code.redeemed_on.map(|d| d.to_string()).unwrap_or_default(),
                    )
                }),
                survey,
                consents: r
                    .consents
                    .iter()
                    .map(|(consent, recording)| {
                        let how = match (consent.method, consent.changed_at) {
                            (Some(method), Some(at)) => {
                                format!(" {} on {}", method.label(), at.date_naive())
                            }
                            _ => String::new(),
                        };
                        (
                            recording.id,
                            recording.title.clone(),
                            format!("{}{how}", consent.status.label()),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let page = ShowPage {
        page: ctx.page(&format!("Learner {name}")),
        email: learner.line.learner_email.clone(),
        name,
        classes: learner.classes,
        attended: learner.attended,
        lines,
        next: learner
            .next
            .map(|a| format!("/learners/{id}?after={}", a.encode())),
        first_page: after.map(|_| format!("/learners/{id}")),
        is_trainer: user.role == Role::Trainer,
    };
    Ok(Html(page.render()?).into_response())
}
