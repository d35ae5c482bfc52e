//! Exam voucher purchases: the list with exam points per level, new and edit forms.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::exam_vouchers;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::domain::catalog::Level;
use crate::ledger::Actor;
use crate::services::Outcome;
use crate::services::vouchers::{self as svc, VoucherFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{EditorUser, ReaderUser};

pub struct VoucherRow {
    pub id: i64,
    pub purchased_on: String,
    pub exam_code: String,
    pub level: &'static str,
    pub quantity: i32,
    pub points: String,
    pub order_ref: String,
}

impl VoucherRow {
    fn of(v: &exam_vouchers::Model) -> VoucherRow {
        VoucherRow {
            id: v.id,
            purchased_on: v.purchased_on.to_string(),
            exam_code: v.exam_code.clone(),
            level: v.level.id(),
            quantity: v.quantity,
            points: svc::points_text(svc::half_points(v)),
            order_ref: v.order_ref.clone(),
        }
    }
}

/// One level's line of the totals: "160 advanced units = 160 points".
pub struct TotalRow {
    pub level: &'static str,
    pub units: i64,
    pub points: String,
}

#[derive(Template)]
#[template(path = "vouchers/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<VoucherRow>,
    totals: Vec<TotalRow>,
    total_points: String,
    may_edit: bool,
    limited: bool,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
) -> Result<Response, AppError> {
    let found = svc::list(&state.db).await?;
    let mut totals = svc::totals(&state.db, None, None).await?;
    // Advanced first, as the exam-points rule reads.
    totals.reverse();
    let total_half: i64 = totals.iter().map(|t| t.half_points).sum();
    let page = ListPage {
        page: ctx.page("Exam vouchers"),
        limited: found.len() as u64 == svc::LIST_LIMIT,
        rows: found.iter().map(VoucherRow::of).collect(),
        totals: totals
            .iter()
            .map(|t| TotalRow {
                level: t.level.id(),
                units: t.units,
                points: svc::points_text(t.half_points),
            })
            .collect(),
        total_points: svc::points_text(total_half),
        may_edit: user.role.may_edit_records(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "vouchers/form.html")]
struct FormPage {
    page: Page,
    /// `None` while creating.
    voucher: Option<VoucherRow>,
    form: VoucherFields,
    errors: FieldErrors,
    levels: Vec<(String, String)>,
}

fn form_page(
    ctx: &PageContext,
    voucher: Option<VoucherRow>,
    form: VoucherFields,
    errors: FieldErrors,
) -> FormPage {
    let title = match &voucher {
        Some(v) => format!("Vouchers {} on {}", v.exam_code, v.order_ref),
        None => "Record a voucher purchase".to_string(),
    };
    FormPage {
        page: ctx.page(&title),
        voucher,
        form,
        errors,
        levels: Level::ALL
            .iter()
            .map(|l| (l.id().to_string(), l.label().to_string()))
            .collect(),
    }
}

fn render(page: FormPage, status: StatusCode) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn new(ctx: PageContext, _user: EditorUser) -> Result<Response, AppError> {
    let form = VoucherFields {
        purchased_on: crate::clock::now().date_naive().to_string(),
        level: Level::Advanced.id().into(),
        ..Default::default()
    };
    render(
        form_page(&ctx, None, form, FieldErrors::default()),
        StatusCode::OK,
    )
}

pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Form(form): Form<VoucherFields>,
) -> Result<Response, AppError> {
    let errors = match form.parse() {
        Ok(input) => match svc::create(&state.db, &Actor::User(user.id), &input).await {
            Ok(v) => {
                return Ok(redirect_with_flash(
                    "/vouchers",
                    FlashKind::Success,
                    format!(
                        "{} {} vouchers for {} recorded (order {}).",
                        v.quantity, v.level, v.exam_code, v.order_ref
                    ),
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    render(
        form_page(&ctx, None, form, errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

pub async fn edit(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let voucher = svc::get(&state.db, id).await?;
    render(
        form_page(
            &ctx,
            Some(VoucherRow::of(&voucher)),
            VoucherFields::of(&voucher),
            FieldErrors::default(),
        ),
        StatusCode::OK,
    )
}

pub async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<VoucherFields>,
) -> Result<Response, AppError> {
    let voucher = svc::get(&state.db, id).await?;
    let errors = match form.parse() {
        Ok(input) => match svc::update(&state.db, &Actor::User(user.id), id, &input).await {
            Ok(outcome) => {
                let v = outcome.model();
                let text = match &outcome {
                    Outcome::Unchanged(_) => format!(
                        "Nothing to save: {} on {} is unchanged.",
                        v.exam_code, v.order_ref
                    ),
                    _ => format!("{} on {} saved.", v.exam_code, v.order_ref),
                };
                return Ok(redirect_with_flash(
                    "/vouchers",
                    FlashKind::Success,
                    text,
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    render(
        form_page(&ctx, Some(VoucherRow::of(&voucher)), form, errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
