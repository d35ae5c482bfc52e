//! Survey figures: pages and actions.
//!
//! The learner's pages (`/survey/{token}`) need no sign-in: the unguessable token is the
//! key, and the page shows the course title and class dates only.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::classes;
use serde::Deserialize;

use super::page::{FieldErrors, FlashKind, Page, PageContext, redirect_with_flash};
use crate::ledger::Actor;
use crate::services::ServiceError;
use crate::services::surveys::{
    self as svc, Answers, LinkState, MAX_COMMENT_CHARS, QUESTIONS, SurveyLink,
};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};

/// One question's average on the class page.
pub struct QuestionFigure {
    pub number: usize,
    pub wording: String,
    pub answers: i64,
    /// 2 decimals, or `—` without answers.
    pub average: String,
}

/// Survey figures on the class page (rendered by `templates/classes/_surveys.html`).
#[derive(Default)]
pub struct ClassSurveys {
    pub class_id: i64,
    pub invitations: u64,
    pub responses: u64,
    /// Responses ÷ invitations, or `—`.
    pub rate: String,
    pub questions: Vec<QuestionFigure>,
    /// The class's MTM survey link, or empty.
    pub mtm_url: String,
    /// The user may send invitations, and the class is delivered or confirmed.
    pub may_send: bool,
    /// The learners' newest comments (never their names), and how many there are.
    pub comments: Vec<crate::services::quality::Comment>,
    pub comment_count: u64,
}

/// What the class page shows of this feature for `class`, as `user` may see it.
pub async fn for_class(
    state: &AppState,
    user: &CurrentUser,
    class: &classes::Model,
) -> Result<ClassSurveys, AppError> {
    let figures = svc::class_figures(&state.db, class.id).await?;
    let questions = figures
        .answers
        .iter()
        .enumerate()
        .map(|(i, (count, sum))| QuestionFigure {
            number: i + 1,
            wording: wording(state, i),
            answers: *count,
            average: svc::average_2dp(*sum, *count),
        })
        .collect();
    let (comments, comment_count) = crate::web::quality::for_class(state, class.id).await?;
    Ok(ClassSurveys {
        class_id: class.id,
        invitations: figures.invitations,
        responses: figures.responses,
        rate: svc::rate_percent(figures.responses, figures.invitations),
        questions,
        mtm_url: class.external_survey_url.clone().unwrap_or_default(),
        may_send: user.role.may_edit_records() && svc::may_send(class),
        comments,
        comment_count,
    })
}

fn wording(state: &AppState, i: usize) -> String {
    state
        .config
        .surveys
        .questions
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("Question {}", i + 1))
}

/// `POST /classes/{id}/surveys/send`: invites the attending learners not yet invited.
pub async fn send(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    let to = format!("/classes/{id}#surveys");
    let result = svc::send_invitations(
        &state.db,
        &Actor::User(user.id),
        &state.config.surveys,
        id,
        &state.link(""),
        &state.secret,
    )
    .await;
    match result {
        Ok(n) => {
            let text = if n == 1 {
                "1 invitation queued".to_string()
            } else {
                format!("{n} invitations queued")
            };
            Ok(redirect_with_flash(&to, FlashKind::Success, text, secure))
        }
        Err(ServiceError::Refused(message)) => {
            Ok(redirect_with_flash(&to, FlashKind::Error, message, secure))
        }
        Err(e) => Err(e.into()),
    }
}

/// One question on the learner's page, with the value chosen so far.
pub struct QuestionField {
    pub name: &'static str,
    pub number: usize,
    pub wording: String,
    /// `""` (no answer) or `1`..`5`, as submitted.
    pub value: String,
}

#[derive(Template)]
#[template(path = "surveys/form.html")]
struct FormPage {
    page: Page,
    token: String,
    course_title: String,
    dates: String,
    questions: Vec<QuestionField>,
    comment: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "surveys/done.html")]
struct DonePage {
    page: Page,
    course_title: String,
    dates: String,
    /// `thanks`, `answered` or `expired`.
    outcome: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    q1: String,
    q2: String,
    q3: String,
    q4: String,
    q5: String,
    comment: String,
}

impl AnswerForm {
    fn raw(&self) -> [&str; 5] {
        [&self.q1, &self.q2, &self.q3, &self.q4, &self.q5]
    }
}

fn form_page(
    state: &AppState,
    ctx: &PageContext,
    token: &str,
    link: &SurveyLink,
    form: &AnswerForm,
    errors: FieldErrors,
) -> Result<String, AppError> {
    let questions = QUESTIONS
        .iter()
        .zip(form.raw())
        .enumerate()
        .map(|(i, (name, value))| QuestionField {
            name,
            number: i + 1,
            wording: wording(state, i),
            value: value.trim().to_string(),
        })
        .collect();
    Ok(FormPage {
        page: ctx.page("Course survey"),
        token: token.to_string(),
        course_title: link.course_title.clone(),
        dates: link.dates.clone(),
        questions,
        comment: form.comment.clone(),
        errors,
    }
    .render()?)
}

fn done_page(ctx: &PageContext, link: &SurveyLink, outcome: &'static str) -> Response {
    let (title, status) = match outcome {
        "expired" => ("Survey link expired", StatusCode::GONE),
        "answered" => ("Already answered", StatusCode::OK),
        // A second submission: refused, and the page says nothing new was recorded.
        "refused" => ("Already answered", StatusCode::CONFLICT),
        _ => ("Thank you", StatusCode::OK),
    };
    let page = DonePage {
        page: ctx.page(title),
        course_title: link.course_title.clone(),
        dates: link.dates.clone(),
        outcome,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `GET /survey/{token}`: the questions, or why they cannot be answered any more.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let link = svc::open(&state.db, &token).await?;
    Ok(match link.state {
        LinkState::Open => {
            let html = form_page(
                &state,
                &ctx,
                &token,
                &link,
                &AnswerForm::default(),
                FieldErrors::default(),
            )?;
            Html(html).into_response()
        }
        LinkState::Answered => done_page(&ctx, &link, "answered"),
        LinkState::Expired => done_page(&ctx, &link, "expired"),
    })
}

/// Answers as submitted, or a message per wrong question.
fn parse_answers(form: &AnswerForm) -> Result<(Answers, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut answers: Answers = [None; 5];
    for (i, (name, raw)) in QUESTIONS.iter().zip(form.raw()).enumerate() {
        match svc::parse_answer(raw) {
            Ok(a) => answers[i] = a,
            Err(_) => errors.add(
                name,
                format!("Question {}: choose 1 to 5, or No answer.", i + 1),
            ),
        }
    }
    let comment = form.comment.trim();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        errors.add(
            "comment",
            format!("The comment may be at most {MAX_COMMENT_CHARS} characters."),
        );
    }
    if errors.is_empty() {
        let comment = (!comment.is_empty()).then(|| comment.to_string());
        Ok((answers, comment))
    } else {
        Err(errors)
    }
}

/// `POST /survey/{token}`: records the answers once.
pub async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let (answers, comment) = match parse_answers(&form) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let link = svc::open(&state.db, &token).await?;
            if link.state != LinkState::Open {
                return Ok(done_page(
                    &ctx,
                    &link,
                    if link.state == LinkState::Answered {
                        "refused"
                    } else {
                        "expired"
                    },
                ));
            }
            let html = form_page(&state, &ctx, &token, &link, &form, errors)?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
        }
    };
    let link = state
        .survey_submissions
        .submit(&state.db, &token, answers, comment)
        .await?;
    Ok(match link.state {
        LinkState::Open => done_page(&ctx, &link, "thanks"),
        LinkState::Answered => done_page(&ctx, &link, "refused"),
        LinkState::Expired => done_page(&ctx, &link, "expired"),
    })
}
