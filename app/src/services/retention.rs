//! Retention (GDPR storage limitation, issue 17 item 4): erases what has been kept as
//! long as `[retention]` allows, per category — learners' names and e-mails (through the
//! erasure path, [`super::erasure::erase_enrollments`]), consent evidence
//! ([`super::erasure::erase_consent_evidence`]), sent and failed e-mails, old sessions
//! and spooled files.
//!
//! A run is one write: it takes the write turn and the ledger's head (so two instances
//! never run at once), and the daily job first reads the last run's row
//! (`retention_runs`), so it runs once per UTC day whoever looks. Each erased roster line
//! and consent gets its ledger entry; the run gets one (`retention_run`, counts) when it
//! erased anything. Every category takes `now` from the caller: the server passes the
//! clock, tests move it.
use chrono::{DateTime, NaiveTime, Utc};
use entity::{
    classes, enrollments, outbox_messages, recording_consents, recordings, retention_runs, sessions,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use super::ServiceError;
use super::erasure::{self, Erased, EvidenceErased};
use crate::config::Config;
use crate::domain::erasure::PLACEHOLDER_EMAIL_PATTERN;
use crate::domain::outbox::OutboxStatus;
use crate::domain::plural::count;
use crate::domain::recording::RecordingStatus;
use crate::domain::retention::{self as rule, Periods};
use crate::ledger::{Actor, Entry, Recorder};
use crate::scrub::{self, Checkpointed};

mod files;
mod plan;

pub use files::spool_dirs;
pub use plan::{Category, Plan, plan};

/// Why a run happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The server's daily job: runs only when no run happened yet today (UTC).
    Daily,
    /// `tsp-ledger retention run`, the admin page's button: runs now.
    Now,
}

/// What a run erased.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub run_id: i64,
    pub learners: Erased,
    pub consents: EvidenceErased,
    pub emails: u64,
    pub sessions: u64,
    pub files: u64,
    /// What happened to SQLite's log after the commit (when rows were erased).
    pub disk: Option<Checkpointed>,
}

impl Report {
    fn erased_rows(&self) -> bool {
        !self.learners.enrollments.is_empty()
            || self.consents.consents > 0
            || self.emails > 0
            || self.sessions > 0
    }

    /// The counts, as stored in the run's row and its ledger entry.
    pub fn counts(&self) -> serde_json::Value {
        json!({
            "roster_lines_erased": self.learners.enrollments.len(),
            "ledger_texts_blanked": self.learners.texts_blanked + self.consents.texts_blanked,
            "consents_evidence_erased": self.consents.consents,
            "emails_deleted": self.emails,
            "sessions_deleted": self.sessions,
            "spooled_files_deleted": self.files,
        })
    }

    /// What the run did, in a sentence or two (the page's flash, the CLI's last line).
    pub fn summary(&self) -> String {
        let mut out = format!(
            "Retention run: {} erased ({} blanked), {} erased; {}, {} and {} deleted.",
            count(
                self.learners.enrollments.len() as u64,
                "learner's roster line",
                "learners' roster lines"
            ),
            count(
                (self.learners.texts_blanked + self.consents.texts_blanked) as u64,
                "ledger text",
                "ledger texts"
            ),
            count(
                self.consents.consents as u64,
                "consent's evidence",
                "consents' evidence"
            ),
            count(self.emails, "e-mail", "e-mails"),
            count(self.sessions, "session", "sessions"),
            count(self.files, "spooled file", "spooled files"),
        );
        out.push_str(match self.disk {
            Some(Checkpointed::Truncated) => {
                " On disk: deleted data is zeroed and the write-ahead log was emptied."
            }
            Some(Checkpointed::Busy) => {
                " On disk: the write-ahead log could not be emptied yet (a reader held it)."
            }
            Some(Checkpointed::NotSqlite) => {
                " On disk: PostgreSQL keeps old row versions until VACUUM reclaims them."
            }
            None => "",
        });
        out
    }
}

/// The first instant of the day after `date` (UTC): a timestamp on or after it is later
/// than every time of `date`.
fn day_after(date: chrono::NaiveDate) -> DateTime<Utc> {
    date.succ_opt()
        .unwrap_or(date)
        .and_time(NaiveTime::MIN)
        .and_utc()
}

/// Roster lines (not yet erased) of classes that ended on or before `last_end`.
fn learner_lines(last_end: chrono::NaiveDate) -> Condition {
    Condition::all()
        .add(
            enrollments::Column::ClassId.in_subquery(
                Query::select()
                    .column(classes::Column::Id)
                    .from(classes::Entity)
                    .and_where(classes::Column::EndDate.lte(last_end))
                    .to_owned(),
            ),
        )
        .add(enrollments::Column::EmailKey.not_like(PLACEHOLDER_EMAIL_PATTERN))
}

/// Consents whose evidence is kept, of recordings withdrawn before `before`.
fn kept_evidence(before: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(recording_consents::Column::EvidenceErasedAt.is_null())
        .add(
            recording_consents::Column::RecordingId.in_subquery(
                Query::select()
                    .column(recordings::Column::Id)
                    .from(recordings::Entity)
                    .and_where(recordings::Column::Status.eq(RecordingStatus::Withdrawn))
                    .and_where(recordings::Column::UpdatedAt.lt(before))
                    .to_owned(),
            ),
        )
}

/// Sent e-mails sent, and failed ones queued, on or before `cutoff`.
fn old_emails(cutoff: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(outbox_messages::Column::Status.eq(OutboxStatus::Sent))
                .add(outbox_messages::Column::SentAt.lte(cutoff)),
        )
        .add(
            Condition::all()
                .add(outbox_messages::Column::Status.eq(OutboxStatus::Failed))
                .add(outbox_messages::Column::CreatedAt.lte(cutoff)),
        )
}

/// Sessions last used on or before `cutoff` that have expired by `now`.
fn old_sessions(cutoff: DateTime<Utc>, now: DateTime<Utc>, idle_minutes: i64) -> Condition {
    Condition::all()
        .add(sessions::Column::LastSeenAt.lte(cutoff))
        .add(
            Condition::any()
                .add(sessions::Column::ExpiresAt.lte(now))
                .add(
                    sessions::Column::LastSeenAt.lte(now - chrono::Duration::minutes(idle_minutes)),
                ),
        )
}

/// Runs retention at `now` (see [`Trigger`]); `None` when the daily job had nothing to
/// do (every category kept for ever, or today's run already happened).
pub async fn run(
    db: &DatabaseConnection,
    config: &Config,
    actor: &Actor,
    now: DateTime<Utc>,
    trigger: Trigger,
) -> Result<Option<Report>, ServiceError> {
    let periods: Periods = config.retention.periods();
    if trigger == Trigger::Daily && !periods.any() {
        return Ok(None);
    }
    let tx = Recorder::begin(db, actor).await?;
    if trigger == Trigger::Daily {
        let last = retention_runs::Entity::find()
            .order_by_desc(retention_runs::Column::RanAt)
            .one(&tx)
            .await?
            .map(|r| r.ran_at);
        if !rule::daily_run_due(last, now) {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    let batch = config.retention.batch_size.max(1) as u64;
    let today = now.date_naive();
    let mut report = Report::default();
    if let Some(months) = periods.learner_months {
        let ids: Vec<i64> = enrollments::Entity::find()
            .select_only()
            .column(enrollments::Column::Id)
            .filter(learner_lines(rule::last_start_due(today, months)))
            .order_by_asc(enrollments::Column::Id)
            .limit(batch)
            .into_tuple()
            .all(&tx)
            .await?;
        report.learners =
            erasure::erase_enrollments(&tx, actor, &ids, &rule::learner_reason(months), now)
                .await?;
    }
    if let Some(months) = periods.consent_months {
        let before = day_after(rule::last_start_due(today, months));
        let due = recording_consents::Entity::find()
            .filter(kept_evidence(before))
            .order_by_asc(recording_consents::Column::Id)
            .limit(batch)
            .all(&tx)
            .await?;
        report.consents =
            erasure::erase_consent_evidence(&tx, actor, due, &rule::consent_reason(months), now)
                .await?;
    }
    if let Some(days) = periods.email_days {
        report.emails = outbox_messages::Entity::delete_many()
            .filter(old_emails(rule::days_cutoff(now, days)))
            .exec(&tx)
            .await?
            .rows_affected;
    }
    if let Some(days) = periods.session_days {
        report.sessions = sessions::Entity::delete_many()
            .filter(old_sessions(
                rule::days_cutoff(now, days),
                now,
                config.security.session_idle_minutes,
            ))
            .exec(&tx)
            .await?
            .rows_affected;
    }
    if let Some(days) = periods.spool_days {
        // Deleted while the run holds the write turn: another instance's run waits.
        report.files = files::delete_older(&spool_dirs(config), rule::days_cutoff(now, days))
            .map_err(|e| ServiceError::Refused(format!("deleting spooled files failed: {e}")))?;
    }
    let counts = report.counts();
    let row = retention_runs::ActiveModel {
        ran_at: Set(now),
        actor: Set(actor.to_string()),
        summary: Set(counts.to_string()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    report.run_id = row.id;
    if report.erased_rows() || report.files > 0 {
        let changes: serde_json::Map<String, serde_json::Value> = counts
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), json!({"before": null, "after": v})))
            .collect();
        tx.record(Entry::new("retention_run", row.id, "run").changes(changes.into()))
            .await?;
    }
    tx.commit().await?;
    if report.erased_rows() {
        report.disk = Some(scrub::checkpoint_wal(db).await?);
    }
    Ok(Some(report))
}
