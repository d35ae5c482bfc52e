//! The outbox worker: claims due messages a batch at a time, sends them, and records
//! the outcome. Several workers (several app instances) never send the same message:
//! a claim is a lease written under `FOR UPDATE SKIP LOCKED` on PostgreSQL, or inside
//! SQLite's single write transaction.
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::outbox_messages;
use futures_util::StreamExt;
use lettre::message::Mailbox;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, QueryFilter,
};
use serde_json::json;

use super::REMOVED_BODY;
use super::transport::{SendError, Transport};
use crate::clock;
use crate::config::MailConfig;
use crate::db::{begin_write, is_postgres, statement};
use crate::domain::outbox::OutboxStatus;
use crate::ledger::{Actor, Entry, Recorder};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: u64,
    /// Failed this time, to be tried again later.
    pub retrying: u64,
    /// Failed for the last allowed time: now shown to coordinators as failed.
    pub failed: u64,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.sent += other.sent;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }

    pub fn claimed(&self) -> u64 {
        self.sent + self.retrying + self.failed
    }
}

#[derive(Clone)]
pub struct Worker {
    db: DatabaseConnection,
    transport: Transport,
    from: Mailbox,
    config: MailConfig,
}

/// The wait before attempt `attempts + 1`: base × 2^(attempts − 1), at most a day.
pub fn backoff(base_seconds: i64, attempts: i32) -> chrono::Duration {
    let factor = 1i64 << (attempts.clamp(1, 20) - 1);
    chrono::Duration::seconds((base_seconds.max(0) * factor).min(86_400))
}

impl Worker {
    pub fn new(
        db: DatabaseConnection,
        config: &MailConfig,
        transport: Transport,
    ) -> anyhow::Result<Worker> {
        let from = config
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from {:?}: {e}", config.from))?;
        Ok(Worker {
            db,
            transport,
            from,
            config: config.clone(),
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Claims due messages: queued, due, and not held by a live lease.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: DateTime<Utc>,
    ) -> Result<Vec<outbox_messages::Model>, DbErr> {
        // PostgreSQL: rows another worker holds are skipped, not waited for. SQLite: the
        // write transaction already admits one claimer at a time.
        let skip_locked = if is_postgres(&self.db) {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        // The entity's own columns, never `*`: the row must be exactly what the entity
        // reads, whatever columns a later migration adds to the table.
        let returning = outbox_messages::Column::iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE outbox_messages SET lease_until = ? WHERE id IN (\
             SELECT id FROM outbox_messages WHERE status = ? AND next_attempt_at <= ? \
             AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id \
             LIMIT ?{skip_locked}) RETURNING {returning}"
        );
        let values = vec![
            lease.into(),
            OutboxStatus::Queued.into(),
            now.into(),
            now.into(),
            (self.config.batch_size as i64).into(),
        ];
        let stmt = statement(self.db.get_database_backend(), &sql, values);
        let tx = begin_write(&self.db).await?;
        let claimed = outbox_messages::Model::find_by_statement(stmt)
            .all(&tx)
            .await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Claims one batch, sends it, and records every outcome in one transaction.
    pub async fn run_once(&self) -> Result<Report, DbErr> {
        let now = clock::now();
        let lease = now + chrono::Duration::seconds(self.config.lease_seconds);
        let claimed = self.claim(now, lease).await?;
        if claimed.is_empty() {
            return Ok(Report::default());
        }
        // The organisation's logo, read once for the batch when a message shows it.
        let logo = if claimed.iter().any(super::transport::shows_logo) {
            super::brand::logo(&self.db).await?
        } else {
            None
        };
        let logo = logo.as_ref();
        // Several messages at once over the transport's connection pool: one SMTP
        // exchange waits on the network more than it works.
        let outcomes: Vec<_> = futures_util::stream::iter(claimed)
            .map(|message| async move {
                let result = self.transport.send(&self.from, &message, logo).await;
                if let Err(e) = &result {
                    tracing::warn!(message = message.id, kind = %message.kind, error = %e, "sending failed");
                }
                (message, result)
            })
            .buffer_unordered(self.config.smtp_connections.max(1) as usize)
            .collect()
            .await;
        self.record(outcomes, lease).await
    }

    async fn record(
        &self,
        outcomes: Vec<(outbox_messages::Model, Result<(), SendError>)>,
        lease: DateTime<Utc>,
    ) -> Result<Report, DbErr> {
        let tx = begin_write(&self.db).await?;
        let tx = Recorder::lock(tx, &Actor::System).await?;
        let mut report = Report::default();
        let now = clock::now();
        let mut emptied = false;
        for (message, result) in outcomes {
            let attempts = message.attempts + 1;
            let mut update = outbox_messages::ActiveModel {
                attempts: Set(attempts),
                lease_until: Set(None),
                ..Default::default()
            };
            let entry = match result {
                Ok(()) => {
                    report.sent += 1;
                    update.status = Set(OutboxStatus::Sent);
                    update.sent_at = Set(Some(now));
                    update.last_error = Set(None);
                    if super::messages::carries_personal_link(message.kind) {
                        update.text_body = Set(REMOVED_BODY.to_string());
                        update.html_body = Set(REMOVED_BODY.to_string());
                        emptied = true;
                    }
                    Some(
                        Entry::new("outbox_message", message.id, "sent")
                            .changes(json!({"kind": message.kind, "attempts": attempts})),
                    )
                }
                Err(error) if error.permanent || attempts >= self.config.max_attempts => {
                    report.failed += 1;
                    let error = error.message;
                    update.status = Set(OutboxStatus::Failed);
                    update.last_error = Set(Some(error.clone()));
                    Some(Entry::new("outbox_message", message.id, "failed").changes(
                        json!({"kind": message.kind, "attempts": attempts, "error": error}),
                    ))
                }
                Err(error) => {
                    report.retrying += 1;
                    update.next_attempt_at =
                        Set(now + backoff(self.config.retry_base_seconds, attempts));
                    update.last_error = Set(Some(error.message));
                    None
                }
            };
            // Only the holder of the lease may record: a worker whose lease ran out and
            // whose message was claimed again must not overwrite the newer outcome.
            let done = outbox_messages::Entity::update_many()
                .set(update)
                .filter(outbox_messages::Column::Id.eq(message.id))
                .filter(outbox_messages::Column::LeaseUntil.eq(lease))
                .exec(&tx)
                .await?;
            if let (1, Some(entry)) = (done.rows_affected, entry) {
                tx.record_as(&Actor::System, entry).await?;
            }
        }
        tx.commit().await?;
        if emptied {
            // The bodies' old bytes are zeroed in the database file (secure_delete), but
            // their page images, links and all, are still in SQLite's log: empty it.
            crate::scrub::checkpoint_wal(&self.db).await?;
        }
        Ok(report)
    }

    /// Sends until nothing is due (for `tsp-ledger outbox send` and tests).
    pub async fn drain(&self) -> Result<Report, DbErr> {
        let mut total = Report::default();
        loop {
            let report = self.run_once().await?;
            if report.claimed() == 0 {
                return Ok(total);
            }
            total.add(report);
            if report.sent == 0
                && report.retrying + report.failed > 0
                && self.config.retry_base_seconds > 0
            {
                // Everything failed and the retries are in the future: stop here.
                return Ok(total);
            }
        }
    }

    /// The background task inside `serve`: send what is due, then wait a little.
    pub async fn run_forever(self) {
        let idle = Duration::from_secs(self.config.poll_seconds.max(1));
        loop {
            match self.run_once().await {
                Ok(report) if report.claimed() > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox worker: database error"),
            }
            tokio::time::sleep(idle).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_back_off_exponentially_up_to_a_day() {
        assert_eq!(backoff(30, 1).num_seconds(), 30);
        assert_eq!(backoff(30, 2).num_seconds(), 60);
        assert_eq!(backoff(30, 5).num_seconds(), 480);
        assert_eq!(backoff(30, 19).num_seconds(), 86_400);
        assert_eq!(backoff(0, 3).num_seconds(), 0);
    }
}
