//! Administrator pages: users and the ledger (filtered, and as CSV).
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use entity::{ledger_entries, users};
use sea_orm::EntityTrait;
use serde::Deserialize;

use super::page::{
    FieldErrors, FlashKind, Page, PageContext, csv_download, redirect_with_flash, streamed,
    url_encode,
};
use crate::domain::account::{Email, check_new_password, parse_name};
use crate::domain::role::Role;
use crate::ledger::read::FilterFields;
use crate::ledger::{self, Actor};
use crate::services::{ServiceError, accounts};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::AdminUser;

/// The administrator's pages, in the order the `/admin` page lists them: the main
/// navigation shows one "Admin" entry for all of them (`page::nav_for`).
pub const ADMIN_PAGES: &[(&str, &str, &str)] = &[
    (
        "/admin/users",
        "Users",
        "Accounts and their roles; deactivate one, or e-mail a password reset link.",
    ),
    (
        "/admin/ledger",
        "Ledger",
        "Every change, by whom and when: filter it, download it as CSV, verify the chain, sign checkpoints.",
    ),
    (
        "/admin/tokens",
        "API tokens",
        "Tokens that let other systems read the KPI report and the classes.",
    ),
    (
        "/admin/settings",
        "Settings",
        "The organisation's name and logo, the designation anniversary, and the rules profiles the dashboard shows.",
    ),
    (
        "/admin/erasure",
        "Erasure",
        "Erase a learner on request: their name, e-mail and links, everywhere.",
    ),
    (
        "/admin/retention",
        "Retention",
        "How long personal data is kept, and what will be erased next and when.",
    ),
];

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    page: Page,
    pages: &'static [(&'static str, &'static str, &'static str)],
}

/// `GET /admin`: the administrator's pages.
pub async fn index(ctx: PageContext, _admin: AdminUser) -> Result<Response, AppError> {
    let page = IndexPage {
        page: ctx.page("Administration"),
        pages: ADMIN_PAGES,
    };
    Ok(Html(page.render()?).into_response())
}

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub role_label: &'static str,
    pub active: bool,
    pub is_me: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: Page,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
}

fn role_options() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.id(), r.label())).collect()
}

pub async fn users(
    State(state): State<AppState>,
    ctx: PageContext,
    admin: AdminUser,
) -> Result<Response, AppError> {
    let rows = accounts::list(&state.db)
        .await?
        .into_iter()
        .map(|u: users::Model| UserRow {
            role_label: u.role.label(),
            is_me: u.id == admin.id,
            created: u.created_at.format("%Y-%m-%d").to_string(),
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.to_string(),
            active: u.active,
        })
        .collect();
    let page = UsersPage {
        page: ctx.page("Users"),
        users: rows,
        roles: role_options(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewUserPage {
    page: Page,
    form: NewUserForm,
    roles: Vec<(&'static str, &'static str)>,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
pub struct NewUserForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirmation: String,
}

pub async fn new_user(ctx: PageContext, _admin: AdminUser) -> Result<Response, AppError> {
    let form = NewUserForm {
        role: Role::Coordinator.id().into(),
        ..Default::default()
    };
    let page = NewUserPage {
        page: ctx.page("Add a user"),
        form,
        roles: role_options(),
        errors: FieldErrors::default(),
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn create_user(
    State(state): State<AppState>,
    ctx: PageContext,
    admin: AdminUser,
    Form(form): Form<NewUserForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let email = errors.check("email", Email::parse(&form.email));
    let name = errors.check("name", parse_name(&form.name));
    let role = errors.check("role", form.role.parse::<Role>());
    errors.check(
        "password",
        check_new_password(&form.password, &form.password_confirmation),
    );
    if let (Some(email), Some(name), Some(role), true) = (email, name, role, errors.is_empty()) {
        let account = accounts::NewAccount {
            email,
            name,
            role,
            password: form.password.clone(),
        };
        match accounts::create(&state.db, &state.hasher, &Actor::User(admin.id), account).await {
            Ok(user) => {
                return Ok(redirect_with_flash(
                    "/admin/users",
                    FlashKind::Success,
                    format!("{} can now sign in as {}.", user.email, role.label()),
                    state.config.server.secure_cookies,
                ));
            }
            Err(ServiceError::Field { field, message }) => errors.add(field, message),
            Err(e) => return Err(e.into()),
        }
    }
    let form = NewUserForm {
        password: String::new(),
        password_confirmation: String::new(),
        ..form
    };
    let page = NewUserPage {
        page: ctx.page("Add a user"),
        form,
        roles: role_options(),
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// Refusals come back to the users page as an error message, not an error page.
fn outcome(
    state: &AppState,
    result: Result<users::Model, ServiceError>,
    done: impl FnOnce(&users::Model) -> String,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    match result {
        Ok(user) => Ok(redirect_with_flash(
            "/admin/users",
            FlashKind::Success,
            done(&user),
            secure,
        )),
        Err(ServiceError::Refused(message)) => Ok(redirect_with_flash(
            "/admin/users",
            FlashKind::Error,
            message,
            secure,
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{id}/reset-link`: e-mails the user a password reset link.
pub async fn send_reset_link(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let result =
        crate::services::password_resets::send_by_admin(&state.services(), admin.id, id).await;
    let minutes = state.config.security.reset_link_minutes.max(1);
    outcome(&state, result, |u| {
        format!(
            "A password reset link was e-mailed to {} (it works once, for {minutes} minutes).",
            u.email
        )
    })
}

pub async fn change_role(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    let role = form.role.parse::<Role>().map_err(AppError::BadRequest)?;
    let result = accounts::change_role(&state.db, &Actor::User(admin.id), id, role).await;
    outcome(&state, result, |u| {
        format!("{} is now {}.", u.email, role.label())
    })
}

#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    active: String,
}

pub async fn set_active(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AppError> {
    let active = match form.active.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(AppError::BadRequest(format!(
                "active must be true or false, not {other:?}"
            )));
        }
    };
    let result = accounts::set_active(&state.db, &Actor::User(admin.id), id, active).await;
    outcome(&state, result, |u| {
        if u.active {
            format!("{} can sign in again.", u.email)
        } else {
            format!("{} is deactivated and signed out.", u.email)
        }
    })
}

pub struct LedgerRow {
    pub id: i64,
    pub at: String,
    /// Who acted, by name ([`crate::web::history::actor_names`]), and as stored.
    pub actor: String,
    pub raw_actor: String,
    /// The ledger filtered on this entry's actor, and on its record (and its parts).
    pub by_actor: String,
    pub record: String,
    pub entity: String,
    pub action: String,
    /// `field: before → after`, one line each.
    pub changes: Vec<String>,
    pub reason: String,
}

/// A stored checkpoint as the ledger page lists it.
pub struct CheckpointRow {
    pub id: i64,
    pub entry_id: i64,
    pub at: String,
    pub hash: String,
    pub key_id: String,
    /// After "Verify": `Some(Ok)` when the ledger extends it, `Some(Err(why))` otherwise.
    pub outcome: Option<Result<(), String>>,
}

#[derive(Template)]
#[template(path = "admin/ledger.html")]
struct LedgerPage {
    page: Page,
    rows: Vec<LedgerRow>,
    /// The filters as typed, their problems, and the choices of the two selects.
    filter: FilterFields,
    errors: FieldErrors,
    who_options: Vec<(String, String)>,
    entity_options: Vec<(String, String)>,
    /// The filters' query string (blank ones left out), for the links below.
    query: String,
    older: Option<String>,
    newest: Option<String>,
    verification: Option<ledger::Verification>,
    checkpoints: Vec<CheckpointRow>,
    /// Why stored checkpoints could not be checked (no key file here).
    checkpoint_problem: Option<String>,
}

#[derive(Deserialize)]
pub struct LedgerQuery {
    before: Option<i64>,
    verify: Option<String>,
    #[serde(flatten)]
    filter: FilterFields,
}

const LEDGER_PAGE_SIZE: u64 = 50;

/// `href` with `query` and then `extra` (`before=…`) appended.
fn with_query(href: &str, query: &str, extra: &str) -> String {
    let parts: Vec<&str> = [query, extra]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        href.to_string()
    } else {
        format!("{href}?{}", parts.join("&"))
    }
}

/// The "who" select: every account, a learner, the command line, the app itself — and
/// the chosen value when it is none of those (a `learner:7` followed from an entry).
async fn who_options(state: &AppState, chosen: &str) -> Result<Vec<(String, String)>, AppError> {
    let mut options: Vec<(String, String)> = accounts::list(&state.db)
        .await?
        .into_iter()
        .map(|u| {
            (
                format!("user:{}", u.id),
                format!("{} ({})", u.name, u.email),
            )
        })
        .collect();
    for (id, label) in [
        ("learner", "a learner (any)"),
        ("cli", "the command line (local operator)"),
        ("system", "the app itself"),
    ] {
        options.push((id.into(), label.into()));
    }
    let chosen = chosen.trim();
    if !chosen.is_empty() && !options.iter().any(|(id, _)| id == chosen) {
        let names = ledger::actor_names(&state.db, [chosen]).await?;
        options.push((
            chosen.into(),
            names.get(chosen).cloned().unwrap_or_default(),
        ));
    }
    Ok(options)
}

/// The "what" select: the kinds of record the ledger names, and the chosen one.
fn entity_options(chosen: &str) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = ledger::read::ENTITY_TYPES
        .iter()
        .map(|(id, label)| (id.to_string(), label.to_string()))
        .collect();
    let chosen = chosen.trim();
    if !chosen.is_empty() && !options.iter().any(|(id, _)| id == chosen) {
        options.push((chosen.into(), chosen.into()));
    }
    options
}

pub async fn ledger_page(
    State(state): State<AppState>,
    ctx: PageContext,
    _admin: AdminUser,
    Query(q): Query<LedgerQuery>,
) -> Result<Response, AppError> {
    let (entries, errors) = match q.filter.parse() {
        Ok(filter) => (
            ledger::read::page(&state.db, &filter, q.before, LEDGER_PAGE_SIZE).await?,
            FieldErrors::default(),
        ),
        Err(errors) => (vec![], errors),
    };
    let query = q.filter.query_string();
    let older = (entries.len() as u64 == LEDGER_PAGE_SIZE)
        .then(|| entries.last().map(|e| e.id))
        .flatten()
        .map(|id| with_query("/admin/ledger", &query, &format!("before={id}")));
    let newest = q.before.map(|_| with_query("/admin/ledger", &query, ""));
    let texts = ledger::texts_of(&state.db, &entries).await?;
    let names = ledger::actor_names(&state.db, entries.iter().map(|e| e.actor.as_str())).await?;
    let rows = entries
        .into_iter()
        .map(|e: ledger_entries::Model| LedgerRow {
            id: e.id,
            at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            actor: names
                .get(&e.actor)
                .cloned()
                .unwrap_or_else(|| e.actor.clone()),
            by_actor: format!("/admin/ledger?who={}", url_encode(&e.actor)),
            raw_actor: e.actor,
            record: format!(
                "/admin/ledger?entity={}&id={}",
                url_encode(&e.entity_type),
                url_encode(&e.entity_id)
            ),
            entity: format!("{} {}", e.entity_type, e.entity_id),
            action: e.action,
            changes: ledger::describe_changes(&e.changes),
            reason: ledger::all_texts_of(&texts, e.id),
        })
        .collect();
    let verification = match q.verify.as_deref() {
        Some(_) => Some(ledger::verify(&state.db).await?),
        None => None,
    };
    let mut checkpoint_problem = None;
    let checkpoints: Vec<CheckpointRow> = match &verification {
        None => ledger::checkpoint::stored(&state.db)
            .await?
            .into_iter()
            .map(|c| CheckpointRow::of(c, None))
            .collect(),
        Some(chain) => match state.config.checkpoint_seed() {
            Ok(seed) => {
                let trusted = ledger::checkpoint::signing_key(&seed).verifying_key();
                ledger::checkpoint::check_stored(&state.db, chain, &trusted)
                    .await?
                    .into_iter()
                    .map(|c| CheckpointRow::of(c.stored, Some(c.outcome)))
                    .collect()
            }
            Err(e) => {
                checkpoint_problem = Some(format!("{e:#}"));
                ledger::checkpoint::stored(&state.db)
                    .await?
                    .into_iter()
                    .map(|c| CheckpointRow::of(c, None))
                    .collect()
            }
        },
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = LedgerPage {
        page: ctx.page("Ledger"),
        rows,
        who_options: who_options(&state, &q.filter.who).await?,
        entity_options: entity_options(&q.filter.entity),
        filter: q.filter,
        errors,
        query,
        older,
        newest,
        verification,
        checkpoints,
        checkpoint_problem,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /admin/ledger.csv`: the entries the page's filters select, all of them, streamed.
pub async fn ledger_csv(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(fields): Query<FilterFields>,
) -> Result<Response, AppError> {
    let filter = fields.parse().map_err(|errors| {
        let (field, message) = errors.0.first().cloned().unwrap_or_default();
        AppError::BadRequest(format!("{field} {message}"))
    })?;
    // Once the download has started its status cannot change: fail early instead.
    ledger::read::page(&state.db, &filter, None, 1).await?;
    let name = format!("ledger-{}.csv", crate::clock::now().format("%Y%m%d"));
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::services::exports::ledger(&db, &filter, sender).await {
            tracing::error!(error = %e, "ledger export failed part way");
        }
    });
    Ok(csv_download(&name, streamed(receiver)))
}

impl CheckpointRow {
    fn of(c: entity::ledger_checkpoints::Model, outcome: Option<Result<(), String>>) -> Self {
        let key = hex::decode(&c.public_key)
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map_or_else(|| c.public_key.clone(), |k| ledger::checkpoint::key_id(&k));
        CheckpointRow {
            id: c.id,
            entry_id: c.entry_id,
            at: c.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            hash: c.hash,
            key_id: key,
            outcome,
        }
    }
}

/// `POST /admin/ledger/checkpoints`: sign and store the head now.
pub async fn write_checkpoint(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<Response, AppError> {
    let key = crate::ledger::checkpoint::key(&state.config).map_err(AppError::Internal)?;
    let c = ledger::checkpoint::write(&state.db, &key).await?;
    Ok(redirect_with_flash(
        "/admin/ledger",
        FlashKind::Success,
        format!(
            "Checkpoint of entry {} signed and stored. Download it and keep it outside this server.",
            c.entry_id
        ),
        state.config.server.secure_cookies,
    ))
}

/// `GET /admin/ledger/checkpoints/{id}`: the signed document, as a file.
pub async fn download_checkpoint(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let c = entity::ledger_checkpoints::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let filename = format!(
        "tsp-ledger-checkpoint-{}-{}.txt",
        c.entry_id,
        c.at.format("%Y%m%dT%H%M%SZ")
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        c.document,
    )
        .into_response())
}
