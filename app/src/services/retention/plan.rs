//! What retention will erase next, and when: counts and dates per category, never a
//! name (the admin page and `tsp-ledger retention plan`).
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    classes, enrollments, outbox_messages, recording_consents, recordings, retention_runs, sessions,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::files::{spool_dirs, spooled};
use super::{day_after, kept_evidence, learner_lines, old_emails, old_sessions};
use crate::config::Config;
use crate::domain::erasure::PLACEHOLDER_EMAIL_PATTERN;
use crate::domain::outbox::OutboxStatus;
use crate::domain::plural::count;
use crate::domain::recording::RecordingStatus;
use crate::domain::retention::{self as rule, days_text, months_text};
use crate::services::ServiceError;

/// One category: its setting, what is due now and what falls due next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub name: &'static str,
    /// The setting it follows (`retention.learner_months`).
    pub setting: &'static str,
    /// How long it is kept: "24 months after the class ended", "for ever".
    pub kept: String,
    /// How many are due now (erased by the next run, up to the batch).
    pub due_now: u64,
    /// What is due now, in words (empty when nothing is).
    pub due_text: String,
    /// The next day something falls due, and how many then.
    pub next_on: Option<NaiveDate>,
    pub next_count: u64,
    pub next_text: String,
}

impl Category {
    /// Whether the category is erased at all (its setting is not 0).
    pub fn setting_on(&self) -> bool {
        !self.kept.starts_with("for ever")
    }

    fn kept_for_ever(name: &'static str, setting: &'static str) -> Category {
        Category {
            name,
            setting,
            kept: "for ever (0)".into(),
            due_now: 0,
            due_text: String::new(),
            next_on: None,
            next_count: 0,
            next_text: String::new(),
        }
    }

    fn new(name: &'static str, setting: &'static str, kept: String) -> Category {
        Category {
            kept,
            ..Category::kept_for_ever(name, setting)
        }
    }
}

/// Retention's settings in force and each category's plan on `now`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub today: NaiveDate,
    pub batch_size: i64,
    pub categories: Vec<Category>,
    pub last_run: Option<retention_runs::Model>,
}

/// The end of `date` (UTC): a timestamp at or before it falls on `date` or earlier.
fn end_of(date: NaiveDate) -> DateTime<Utc> {
    day_after(date) - chrono::Duration::microseconds(1)
}

/// What each category will erase next, on `now`.
pub async fn plan(
    db: &impl ConnectionTrait,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Plan, ServiceError> {
    let periods = config.retention.periods();
    let today = now.date_naive();
    let mut categories = vec![];
    categories.push(match periods.learner_months {
        Some(m) => learners(db, today, m).await?,
        None => Category::kept_for_ever("Learner data", "retention.learner_months"),
    });
    categories.push(match periods.consent_months {
        Some(m) => consents(db, today, m).await?,
        None => Category::kept_for_ever("Consent evidence", "retention.consent_months"),
    });
    categories.push(match periods.email_days {
        Some(d) => emails(db, now, d).await?,
        None => Category::kept_for_ever("E-mails", "retention.email_days"),
    });
    categories.push(match periods.session_days {
        Some(d) => sign_ins(db, now, d, config.security.session_idle_minutes).await?,
        None => Category::kept_for_ever("Sessions", "retention.session_days"),
    });
    categories.push(match periods.spool_days {
        Some(d) => files(config, now, d)?,
        None => Category::kept_for_ever("Spooled files", "retention.spool_days"),
    });
    let last_run = retention_runs::Entity::find()
        .order_by_desc(retention_runs::Column::RanAt)
        .one(db)
        .await?;
    Ok(Plan {
        today,
        batch_size: config.retention.batch_size,
        categories,
        last_run,
    })
}

/// The end dates of classes with roster lines not yet erased, after `after`, first first.
async fn first_end_after(
    db: &impl ConnectionTrait,
    after: Option<NaiveDate>,
    upto: Option<NaiveDate>,
    last: bool,
) -> Result<Option<NaiveDate>, ServiceError> {
    let mut q = classes::Entity::find()
        .select_only()
        .column(classes::Column::EndDate)
        .filter(
            classes::Column::Id.in_subquery(
                Query::select()
                    .column(enrollments::Column::ClassId)
                    .from(enrollments::Entity)
                    .and_where(enrollments::Column::EmailKey.not_like(PLACEHOLDER_EMAIL_PATTERN))
                    .to_owned(),
            ),
        );
    if let Some(after) = after {
        q = q.filter(classes::Column::EndDate.gt(after));
    }
    if let Some(upto) = upto {
        q = q.filter(classes::Column::EndDate.lte(upto));
    }
    q = if last {
        q.order_by_desc(classes::Column::EndDate)
    } else {
        q.order_by_asc(classes::Column::EndDate)
    };
    Ok(q.limit(1).into_tuple::<NaiveDate>().one(db).await?)
}

fn range(first: NaiveDate, last: NaiveDate) -> String {
    if first == last {
        format!("{first}")
    } else {
        format!("{first} … {last}")
    }
}

async fn learners(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    months: u32,
) -> Result<Category, ServiceError> {
    let mut c = Category::new(
        "Learner data",
        "retention.learner_months",
        format!("{} after the class ended", months_text(months)),
    );
    let last_end = rule::last_start_due(today, months);
    let lines = |upto| {
        enrollments::Entity::find()
            .filter(learner_lines(upto))
            .count(db)
    };
    c.due_now = lines(last_end).await?;
    if c.due_now > 0 {
        let first = first_end_after(db, None, Some(last_end), false).await?;
        let last = first_end_after(db, None, Some(last_end), true).await?;
        if let (Some(first), Some(last)) = (first, last) {
            c.due_text = format!(
                "{} (classes that ended {})",
                count(c.due_now, "learner's roster line", "learners' roster lines"),
                range(first, last)
            );
        }
    }
    if let Some(first) = first_end_after(db, Some(last_end), None, false).await? {
        let on = rule::due_on(first, months);
        let upto = rule::last_start_due(on, months);
        let last = first_end_after(db, Some(last_end), Some(upto), true)
            .await?
            .unwrap_or(first);
        c.next_on = Some(on);
        c.next_count = lines(upto).await? - c.due_now;
        c.next_text = format!(
            "{} on {on} (classes that ended {})",
            count(
                c.next_count,
                "learner's roster line",
                "learners' roster lines"
            ),
            range(first, last)
        );
    }
    Ok(c)
}

async fn consents(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    months: u32,
) -> Result<Category, ServiceError> {
    let mut c = Category::new(
        "Consent evidence",
        "retention.consent_months",
        format!("{} after the recording was withdrawn", months_text(months)),
    );
    let last_withdrawn = rule::last_start_due(today, months);
    let kept = |before| {
        recording_consents::Entity::find()
            .filter(kept_evidence(before))
            .count(db)
    };
    c.due_now = kept(day_after(last_withdrawn)).await?;
    if c.due_now > 0 {
        c.due_text = format!(
            "{} (recordings withdrawn on or before {last_withdrawn})",
            count(c.due_now, "consent", "consents")
        );
    }
    let next: Option<DateTime<Utc>> = recordings::Entity::find()
        .select_only()
        .column(recordings::Column::UpdatedAt)
        .filter(recordings::Column::Status.eq(RecordingStatus::Withdrawn))
        .filter(recordings::Column::UpdatedAt.gte(day_after(last_withdrawn)))
        .filter(
            recordings::Column::Id.in_subquery(
                Query::select()
                    .column(recording_consents::Column::RecordingId)
                    .from(recording_consents::Entity)
                    .and_where(recording_consents::Column::EvidenceErasedAt.is_null())
                    .to_owned(),
            ),
        )
        .order_by_asc(recordings::Column::UpdatedAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    if let Some(withdrawn) = next {
        let withdrawn = withdrawn.date_naive();
        let on = rule::due_on(withdrawn, months);
        c.next_on = Some(on);
        c.next_count = kept(day_after(rule::last_start_due(on, months))).await? - c.due_now;
        c.next_text = format!(
            "{} on {on} (recordings withdrawn {withdrawn})",
            count(c.next_count, "consent", "consents")
        );
    }
    Ok(c)
}

async fn emails(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    days: u32,
) -> Result<Category, ServiceError> {
    let mut c = Category::new(
        "E-mails",
        "retention.email_days",
        format!("{} after sending (failed: after queuing)", days_text(days)),
    );
    let old = |at| {
        outbox_messages::Entity::find()
            .filter(old_emails(at))
            .count(db)
    };
    let cutoff = rule::days_cutoff(now, days);
    c.due_now = old(cutoff).await?;
    if c.due_now > 0 {
        c.due_text = format!(
            "{} sent or failed on or before {}",
            count(c.due_now, "e-mail", "e-mails"),
            cutoff.date_naive()
        );
    }
    let earliest = |status: OutboxStatus, column: outbox_messages::Column| {
        outbox_messages::Entity::find()
            .select_only()
            .column(column)
            .filter(outbox_messages::Column::Status.eq(status))
            .filter(column.gt(cutoff))
            .order_by_asc(column)
            .limit(1)
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(db)
    };
    let sent = earliest(OutboxStatus::Sent, outbox_messages::Column::SentAt)
        .await?
        .flatten();
    let failed = earliest(OutboxStatus::Failed, outbox_messages::Column::CreatedAt)
        .await?
        .flatten();
    if let Some(first) = [sent, failed].into_iter().flatten().min() {
        let on = rule::due_after_days(first, days).date_naive();
        c.next_on = Some(on);
        c.next_count = old(rule::days_cutoff(end_of(on), days)).await? - c.due_now;
        c.next_text = format!("{} on {on}", count(c.next_count, "e-mail", "e-mails"));
    }
    Ok(c)
}

async fn sign_ins(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    days: u32,
    idle_minutes: i64,
) -> Result<Category, ServiceError> {
    let mut c = Category::new(
        "Sessions",
        "retention.session_days",
        format!("{} after last use", days_text(days)),
    );
    let cutoff = rule::days_cutoff(now, days);
    c.due_now = sessions::Entity::find()
        .filter(old_sessions(cutoff, now, idle_minutes))
        .count(db)
        .await?;
    if c.due_now > 0 {
        c.due_text = format!(
            "{} last used on or before {}",
            count(c.due_now, "session", "sessions"),
            cutoff.date_naive()
        );
    }
    let first: Option<DateTime<Utc>> = sessions::Entity::find()
        .select_only()
        .column(sessions::Column::LastSeenAt)
        .filter(sessions::Column::LastSeenAt.gt(cutoff))
        .order_by_asc(sessions::Column::LastSeenAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    if let Some(first) = first {
        let on = rule::due_after_days(first, days).date_naive();
        let end = end_of(on);
        c.next_on = Some(on);
        c.next_count = sessions::Entity::find()
            .filter(old_sessions(
                rule::days_cutoff(end, days),
                end,
                idle_minutes,
            ))
            .count(db)
            .await?
            .saturating_sub(c.due_now);
        c.next_text = format!(
            "{} on {on}, if not used again",
            count(c.next_count, "session", "sessions")
        );
    }
    Ok(c)
}

fn files(config: &Config, now: DateTime<Utc>, days: u32) -> Result<Category, ServiceError> {
    let mut c = Category::new(
        "Spooled files",
        "retention.spool_days",
        format!("{} after they were written", days_text(days)),
    );
    let cutoff = rule::days_cutoff(now, days);
    let written: Vec<DateTime<Utc>> = spooled(&spool_dirs(config))
        .map_err(|e| ServiceError::Refused(format!("reading the spool folders failed: {e}")))?
        .into_iter()
        .map(|(_, at)| at)
        .collect();
    c.due_now = written.iter().filter(|at| **at <= cutoff).count() as u64;
    if c.due_now > 0 {
        c.due_text = format!(
            "{} written on or before {}",
            count(c.due_now, "file", "files"),
            cutoff.date_naive()
        );
    }
    if let Some(first) = written.iter().filter(|at| **at > cutoff).min() {
        let on = rule::due_after_days(*first, days).date_naive();
        let upto = rule::days_cutoff(end_of(on), days);
        c.next_on = Some(on);
        c.next_count = written
            .iter()
            .filter(|at| **at > cutoff && **at <= upto)
            .count() as u64;
        c.next_text = format!("{} on {on}", count(c.next_count, "file", "files"));
    }
    Ok(c)
}
