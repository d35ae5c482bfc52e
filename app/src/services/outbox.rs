//! The outbox as coordinators handle it: putting a failed message back in the queue.
use entity::outbox_messages;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;

use super::ServiceError;
use crate::clock;
use crate::domain::outbox::OutboxStatus;
use crate::ledger::{Actor, Entry, Recorder};

/// Puts a failed message back in the queue (a coordinator's "retry").
pub async fn retry(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<outbox_messages::Model, ServiceError> {
    let tx = Recorder::begin(db, actor).await?;
    let message = outbox_messages::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if message.status != OutboxStatus::Failed {
        return Err(ServiceError::Refused(format!(
            "message {id} is {}, not failed",
            message.status
        )));
    }
    let now = clock::now();
    let updated = outbox_messages::Entity::update_many()
        .col_expr(outbox_messages::Column::Status, OutboxStatus::Queued.into())
        .col_expr(outbox_messages::Column::Attempts, 0.into())
        .col_expr(outbox_messages::Column::NextAttemptAt, now.into())
        .filter(outbox_messages::Column::Id.eq(id))
        .filter(outbox_messages::Column::Status.eq(OutboxStatus::Failed))
        .exec(&tx)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ServiceError::Refused(format!(
            "message {id} changed meanwhile"
        )));
    }
    tx.record(Entry::new("outbox_message", id, "retry").changes(
        json!({"status": {"before": OutboxStatus::Failed, "after": OutboxStatus::Queued}}),
    ))
    .await?;
    let message = outbox_messages::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    tx.commit().await?;
    Ok(message)
}
