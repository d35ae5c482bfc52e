//! Courseware Marketplace purchases (the Learning Partner program): the list with units
//! and revenue, new and edit forms.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::courseware_purchases;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::domain::learning_partner::{LEARNING_PARTNER, ProductKind, units_text, usd_text};
use crate::ledger::Actor;
use crate::services::Outcome;
use crate::services::courseware::{self as svc, PurchaseFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{EditorUser, ReaderUser};

pub struct PurchaseRow {
    pub id: i64,
    pub purchased_on: String,
    pub product_kind: &'static str,
    pub product_code: String,
    pub quantity: i32,
    pub units: String,
    pub revenue: String,
    pub order_ref: String,
}

impl PurchaseRow {
    fn of(p: &courseware_purchases::Model) -> PurchaseRow {
        PurchaseRow {
            id: p.id,
            purchased_on: p.purchased_on.to_string(),
            product_kind: p.product_kind.label(),
            product_code: p.product_code.clone(),
            quantity: p.quantity,
            units: units_text(LEARNING_PARTNER.half_units(p.product_kind, p.quantity.into())),
            revenue: usd_text(p.revenue_cents),
            order_ref: p.order_ref.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "courseware/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<PurchaseRow>,
    may_edit: bool,
    limited: bool,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
) -> Result<Response, AppError> {
    let found = svc::list(&state.db).await?;
    let page = ListPage {
        page: ctx.page("Courseware purchases"),
        limited: found.len() as u64 == svc::LIST_LIMIT,
        rows: found.iter().map(PurchaseRow::of).collect(),
        may_edit: user.role.may_edit_records(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "courseware/form.html")]
struct FormPage {
    page: Page,
    /// `None` while creating.
    purchase: Option<PurchaseRow>,
    form: PurchaseFields,
    errors: FieldErrors,
    kinds: Vec<(String, String)>,
}

fn form_page(
    ctx: &PageContext,
    purchase: Option<PurchaseRow>,
    form: PurchaseFields,
    errors: FieldErrors,
) -> FormPage {
    let title = match &purchase {
        Some(p) => format!("Courseware {} on {}", p.product_code, p.order_ref),
        None => "Record a courseware purchase".to_string(),
    };
    FormPage {
        page: ctx.page(&title),
        purchase,
        form,
        errors,
        kinds: ProductKind::ALL
            .iter()
            .map(|k| (k.id().to_string(), k.label().to_string()))
            .collect(),
    }
}

fn render(page: FormPage, status: StatusCode) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn new(ctx: PageContext, _user: EditorUser) -> Result<Response, AppError> {
    let form = PurchaseFields {
        purchased_on: crate::clock::now().date_naive().to_string(),
        product_kind: ProductKind::Moc.id().into(),
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
    Form(form): Form<PurchaseFields>,
) -> Result<Response, AppError> {
    let errors = match form.parse() {
        Ok(input) => match svc::create(&state.db, &Actor::User(user.id), &input).await {
            Ok(p) => {
                return Ok(redirect_with_flash(
                    "/courseware",
                    FlashKind::Success,
                    format!(
                        "{} kits of {} recorded (order {}, {}).",
                        p.quantity,
                        p.product_code,
                        p.order_ref,
                        usd_text(p.revenue_cents)
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
    let purchase = svc::get(&state.db, id).await?;
    render(
        form_page(
            &ctx,
            Some(PurchaseRow::of(&purchase)),
            PurchaseFields::of(&purchase),
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
    Form(form): Form<PurchaseFields>,
) -> Result<Response, AppError> {
    let purchase = svc::get(&state.db, id).await?;
    let errors = match form.parse() {
        Ok(input) => match svc::update(&state.db, &Actor::User(user.id), id, &input).await {
            Ok(outcome) => {
                let p = outcome.model();
                let text = match &outcome {
                    Outcome::Unchanged(_) => format!(
                        "Nothing to save: {} on {} is unchanged.",
                        p.product_code, p.order_ref
                    ),
                    _ => format!("{} on {} saved.", p.product_code, p.order_ref),
                };
                return Ok(redirect_with_flash(
                    "/courseware",
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
        form_page(&ctx, Some(PurchaseRow::of(&purchase)), form, errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
