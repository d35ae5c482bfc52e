//! Achievement codes: the class page's section, issuing, the codes page with hand
//! redemption, and the learner's own page reached by the e-mailed token.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::classes;
use serde::Deserialize;

use super::page::{FieldErrors, FlashKind, Page, PageContext, redirect_with_flash};
use crate::clock;
use crate::domain::delivery::Modality;
use crate::ledger::Actor;
use crate::services::{Search, ServiceError, codes as svc};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser, ReaderUser};

/// Issued codes per page of `/codes`.
pub const PAGE_SIZE: u64 = 100;

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// One learner holding a code, on the class page.
pub struct ClassCodeLine {
    pub learner: String,
    pub attended: bool,
    pub code: String,
    pub issued_on: String,
    pub redeemed_on: String,
}

/// Achievement codes on the class page (rendered by `templates/classes/_codes.html`).
#[derive(Default)]
pub struct ClassCodes {
    pub class_id: i64,
    pub may_edit: bool,
    /// A recorded delivery: its codes never count toward a KPI figure.
    pub no_kpi_credit: bool,
    /// The codes of the learners on the roster page shown.
    pub lines: Vec<ClassCodeLine>,
    /// Codes issued to the whole class.
    pub issued: u64,
    /// Attending learners without a code yet.
    pub waiting: u64,
    /// Codes in the pool that can be handed out.
    pub pool: u64,
}

/// What the class page shows of this feature for `class`, as `user` may see it.
/// The class page's codes section: the whole class's counts, and the codes of the
/// learners on the roster page shown (`shown`), so the section stays one page long.
pub async fn for_class(
    state: &AppState,
    user: &CurrentUser,
    class: &classes::Model,
    shown: &[entity::enrollments::Model],
) -> Result<ClassCodes, AppError> {
    let today = clock::now().date_naive();
    let figures = svc::class_figures(&state.db, class.id).await?;
    let lines = svc::codes_of(&state.db, shown)
        .await?
        .into_iter()
        .map(|(enrollment, code)| ClassCodeLine {
            learner: enrollment.learner_name.clone(),
            attended: enrollment.attended,
            code: code.code,
            issued_on: date(code.issued_on),
            redeemed_on: date(code.redeemed_on),
        })
        .collect();
    let may_edit = user.role.may_edit_records();
    Ok(ClassCodes {
        class_id: class.id,
        may_edit,
        no_kpi_credit: class.modality == Modality::Recorded,
        lines,
        issued: figures.issued,
        waiting: figures.waiting,
        pool: if may_edit {
            svc::pool_size(&state.db, today).await?
        } else {
            0
        },
    })
}

/// `POST /classes/{id}/codes/issue`: one pool code to every attending learner without one.
pub async fn issue(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let today = clock::now().date_naive();
    let base = state.link("/codes");
    let secure = state.config.server.secure_cookies;
    let to = format!("/classes/{id}#codes");
    let links = svc::CodeLinks {
        page_base: &base,
        redeem_url: &state.config.codes.redeem_url,
    };
    match svc::issue(&state.db, &Actor::User(user.id), id, today, links).await {
        Ok(0) => Ok(redirect_with_flash(
            &to,
            FlashKind::Success,
            "Every attending learner already has a code: nothing to issue.",
            secure,
        )),
        Ok(n) => Ok(redirect_with_flash(
            &to,
            FlashKind::Success,
            format!(
                "{n} achievement code{} issued and e-mailed.",
                if n == 1 { "" } else { "s" }
            ),
            secure,
        )),
        Err(ServiceError::Refused(message)) => {
            Ok(redirect_with_flash(&to, FlashKind::Error, message, secure))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "codes/learner.html")]
struct LearnerPage {
    page: Page,
    code: svc::LearnerCode,
    expires_on: String,
    redeem_url: String,
}

/// `GET /codes/{token}`: the learner's own code, no sign-in. An unknown token is a 404.
pub async fn learner_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let code = svc::by_token(&state.db, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = LearnerPage {
        page: ctx.page("Your achievement code"),
        expires_on: date(code.expires_on),
        redeem_url: state.config.codes.redeem_url.clone(),
        code,
    };
    Ok(Html(page.render()?).into_response())
}

/// One issued code on the codes page.
struct ListLine {
    id: i64,
    class_id: i64,
    class_ref: String,
    learner: String,
    code: String,
    issued_on: String,
    redeemed_on: String,
    no_kpi_credit: bool,
}

#[derive(Template)]
#[template(path = "codes/list.html")]
struct ListPage {
    page: Page,
    pool: u64,
    /// The pool's first expiry date ("" when no code has one), how many codes expire
    /// within `expiring_days`, and how many expired unused.
    next_expiry: String,
    expiring: u64,
    expired: u64,
    expiring_days: i64,
    /// The search typed (code, class ref, learner name or e-mail).
    q: String,
    issued: u64,
    lines: Vec<ListLine>,
    may_edit: bool,
    today: String,
    /// 1-based page number and the neighbours' links.
    number: u64,
    newer: Option<u64>,
    older: Option<u64>,
    /// The code whose redemption form was refused, its message and the typed date.
    error_id: i64,
    errors: FieldErrors,
    typed: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    page: String,
    q: String,
}

/// What a failed redemption sends back to the list.
#[derive(Default)]
struct RedeemFeedback {
    id: i64,
    errors: FieldErrors,
    typed: String,
}

async fn list_page(
    state: &AppState,
    ctx: &PageContext,
    user: &CurrentUser,
    (number, q): (u64, &str),
    feedback: RedeemFeedback,
    status: StatusCode,
) -> Result<Response, AppError> {
    let today = clock::now().date_naive();
    let number = number.max(1);
    let search = Search::parse(q);
    let issued = svc::issued_count(&state.db, search.as_ref()).await?;
    // `page_number` bounds `number`, so the offset fits the database's integers.
    let lines = svc::issued(
        &state.db,
        search.as_ref(),
        (number - 1) * PAGE_SIZE,
        PAGE_SIZE,
    )
    .await?
    .into_iter()
    .map(|c| ListLine {
        id: c.code.id,
        class_id: c.class.id,
        no_kpi_credit: !c.kpi_credit(),
        class_ref: c.class.class_ref,
        learner: c.learner_name,
        code: c.code.code,
        issued_on: date(c.code.issued_on),
        redeemed_on: date(c.code.redeemed_on),
    })
    .collect();
    let pool = svc::pool_facts(&state.db, today).await?;
    let page = ListPage {
        page: ctx.page("Achievement codes"),
        pool: pool.available,
        next_expiry: date(pool.next_expiry),
        expiring: pool.expiring,
        expired: pool.expired,
        expiring_days: svc::EXPIRING_DAYS,
        q: q.to_string(),
        issued,
        lines,
        may_edit: user.role.may_edit_records(),
        today: today.to_string(),
        number,
        newer: (number > 1).then(|| number - 1),
        older: (number.saturating_mul(PAGE_SIZE) < issued).then(|| number + 1),
        error_id: feedback.id,
        errors: feedback.errors,
        typed: feedback.typed,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /codes`: the pool and the issued codes, newest first.
pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let number = super::page::page_number(&query.page, PAGE_SIZE)?;
    list_page(
        &state,
        &ctx,
        &user,
        (number, &query.q),
        RedeemFeedback::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /codes/{id}/resend`: sends the learner their code again, with a new link.
pub async fn resend(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let base = state.link("/codes");
    let links = svc::CodeLinks {
        page_base: &base,
        redeem_url: &state.config.codes.redeem_url,
    };
    let secure = state.config.server.secure_cookies;
    match svc::resend(&state.db, &Actor::User(user.id), id, links).await {
        Ok(to) => Ok(redirect_with_flash(
            "/codes",
            FlashKind::Success,
            format!("Code sent again to {to}, with a new link (the old one no longer works)."),
            secure,
        )),
        Err(ServiceError::Refused(message)) => Ok(redirect_with_flash(
            "/codes",
            FlashKind::Error,
            message,
            secure,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RedeemForm {
    redeemed_on: String,
}

/// `POST /codes/{id}/redeem`: records by hand the date the learner redeemed the code.
pub async fn redeem(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<RedeemForm>,
) -> Result<Response, AppError> {
    let today = clock::now().date_naive();
    let secure = state.config.server.secure_cookies;
    match svc::redeem(
        &state.db,
        &Actor::User(user.id),
        id,
        &form.redeemed_on,
        today,
    )
    .await
    {
        Ok(code) => Ok(redirect_with_flash(
            "/codes",
            FlashKind::Success,
            format!(
                "{} is recorded as redeemed on {}.",
                code.code,
                date(code.redeemed_on)
            ),
            secure,
        )),
        Err(ServiceError::Refused(message)) => Ok(redirect_with_flash(
            "/codes",
            FlashKind::Error,
            message,
            secure,
        )),
        Err(ServiceError::Field { field, message }) => {
            let feedback = RedeemFeedback {
                id,
                errors: FieldErrors(vec![(field, message)]),
                typed: form.redeemed_on,
            };
            list_page(
                &state,
                &ctx,
                &user,
                (1, ""),
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
