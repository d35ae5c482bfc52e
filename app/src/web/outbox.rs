//! The outbox page: what was queued, sent or failed, and retrying a failed message.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use entity::outbox_messages;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use super::page::{FlashKind, Page, PageContext, redirect_with_flash};
use crate::domain::outbox::{MessageKind, OutboxStatus};
use crate::ledger::Actor;
use crate::services::ServiceError;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{EditorUser, ReaderUser};

pub struct MessageRow {
    pub id: i64,
    pub kind: MessageKind,
    pub to: String,
    pub subject: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub when: String,
    pub error: String,
    pub related: String,
}

#[derive(Template)]
#[template(path = "outbox/list.html")]
struct OutboxPage {
    page: Page,
    status: String,
    counts: Vec<(OutboxStatus, u64)>,
    rows: Vec<MessageRow>,
    older: Option<i64>,
    may_edit: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OutboxQuery {
    status: String,
    before: Option<i64>,
}

const PAGE_SIZE: u64 = 50;

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
    Query(q): Query<OutboxQuery>,
) -> Result<Response, AppError> {
    let mut counts = Vec::new();
    for status in OutboxStatus::ALL {
        let n = outbox_messages::Entity::find()
            .filter(outbox_messages::Column::Status.eq(status))
            .count(&state.db)
            .await?;
        counts.push((status, n));
    }
    let mut query = outbox_messages::Entity::find().order_by_desc(outbox_messages::Column::Id);
    if let Ok(status) = q.status.parse::<OutboxStatus>() {
        query = query.filter(outbox_messages::Column::Status.eq(status));
    }
    if let Some(before) = q.before {
        query = query.filter(outbox_messages::Column::Id.lt(before));
    }
    let found = query.limit(PAGE_SIZE).all(&state.db).await?;
    let older = (found.len() as u64 == PAGE_SIZE)
        .then(|| found.last().map(|m| m.id))
        .flatten();
    let rows = found
        .into_iter()
        .map(|m| MessageRow {
            when: m
                .sent_at
                .unwrap_or(if m.status == OutboxStatus::Queued {
                    m.next_attempt_at
                } else {
                    m.created_at
                })
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            id: m.id,
            kind: m.kind,
            to: m.to_address,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            error: m.last_error.unwrap_or_default(),
            related: m.related.unwrap_or_default(),
        })
        .collect();
    let page = OutboxPage {
        page: ctx.page("Outbox"),
        status: q.status,
        counts,
        rows,
        older,
        may_edit: user.role.may_edit_records(),
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn retry(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    match crate::services::outbox::retry(&state.db, &Actor::User(user.id), id).await {
        Ok(m) => Ok(redirect_with_flash(
            "/outbox?status=failed",
            FlashKind::Success,
            format!("Message {} to {} is queued again.", m.id, m.to_address),
            secure,
        )),
        Err(ServiceError::Refused(message)) => Ok(redirect_with_flash(
            "/outbox",
            FlashKind::Error,
            message,
            secure,
        )),
        Err(e) => Err(e.into()),
    }
}
