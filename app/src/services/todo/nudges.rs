//! The To do page's e-mails: one pass (every few minutes, by each running server) queues
//! every nudge that has fallen due and not gone out yet. A `notices` row per nudge, written
//! in the same transaction as its e-mail, makes each go out once — whichever instance runs
//! the pass, and whatever later happens to the outbox's rows.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    achievement_codes, classes, courses, enrollments, notices, recording_consents, recordings,
    trainers, users,
};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;

use super::{class_section, class_subject, code_subject, unconfirmed, unredeemed_condition};
use crate::config::Config;
use crate::db::begin_write;
use crate::domain::delivery::ClassStatus;
use crate::domain::recording::{ConsentStatus, RecordingStatus};
use crate::domain::todo::{Nudges, chased_if_ended_by, standing_warning_due};
use crate::ledger::{Actor, Entry, Recorder};
use crate::mail::notices::{
    CodeReminder, ConfirmationOverdue, ConfirmationReminder, ConsentRevoked, StandingEnding,
    class_line,
};
use crate::mail::{self, Message, Outbox};
use crate::services::ServiceError;
use crate::services::classes::date_range;

/// The nudges' kinds, as the `notices` table names them.
pub const CONFIRMATION_REMINDER: &str = "confirmation_reminder";
pub const CONFIRMATION_OVERDUE: &str = "confirmation_overdue";
pub const CODE_REMINDER: &str = "code_reminder";
pub const STANDING_ENDING: &str = "standing_ending";
pub const CONSENT_REVOKED: &str = "consent_revoked";

/// At most this many records per kind in one pass (a first pass over years of history
/// stays one short transaction; the next pass goes on).
const PER_PASS: u64 = 500;

/// What one pass queued.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Classes whose MCT was reminded to confirm.
    pub confirmation_reminders: Vec<i64>,
    /// Classes the coordinators were told about.
    pub confirmations_overdue: Vec<i64>,
    pub code_reminders: Vec<i64>,
    /// (MCT, threshold in days) warned about.
    pub standing_warnings: Vec<(i64, i64)>,
    pub consents_revoked: Vec<i64>,
    /// E-mails queued in all.
    pub emails: u64,
}

impl Sent {
    fn is_empty(&self) -> bool {
        self.emails == 0
    }
}

/// Queues every nudge due on `today` (`now` places the MCT-then-coordinators delay).
pub async fn send_due(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Sent, ServiceError> {
    let n = config.todo.nudges();
    let tx = Recorder::lock(begin_write(db).await?, &Actor::System).await?;
    let mut sent = Sent::default();
    let mut outbox = Outbox::new();
    let coordinators = crate::services::accounts::active_coordinators(&tx).await?;
    confirmation_reminders(&tx, config, &n, today, &mut outbox, &mut sent).await?;
    confirmations_overdue(
        &tx,
        config,
        &n,
        today,
        now,
        &coordinators,
        &mut outbox,
        &mut sent,
    )
    .await?;
    code_reminders(&tx, config, &n, today, &mut outbox, &mut sent).await?;
    standing_warnings(&tx, config, today, &coordinators, &mut outbox, &mut sent).await?;
    consents_revoked(&tx, config, &coordinators, &mut outbox, &mut sent).await?;
    sent.emails = outbox.finish(&tx).await?;
    if sent.is_empty() {
        return Ok(sent);
    }
    let entry = Entry::new("todo_nudges", today, "send").changes(json!({
        "confirmation_reminders": sent.confirmation_reminders,
        "confirmations_overdue": sent.confirmations_overdue,
        "code_reminders": sent.code_reminders,
        "standing_warnings": sent.standing_warnings,
        "consents_revoked": sent.consents_revoked,
        "emails": sent.emails,
    }));
    tx.record_as(&Actor::System, entry).await?;
    tx.commit().await?;
    Ok(sent)
}

/// The `kind` nudges about the row whose id is `id_column` (their subject is
/// `<prefix>:<id>`).
fn notices_about(kind: &str, prefix: &str, id_column: &str) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(notices::Entity)
        .and_where(notices::Column::Kind.eq(kind))
        .and_where(
            Expr::col((notices::Entity, notices::Column::Subject))
                .eq(Expr::cust(format!("'{prefix}:' || {id_column}"))),
        )
        .to_owned()
}

/// Queues the message `make` writes for each of `people` (greeted by name).
async fn tell_each<M: Message>(
    tx: &Recorder,
    people: &[users::Model],
    outbox: &mut Outbox,
    related: String,
    make: impl Fn(&str) -> M,
) -> Result<(), ServiceError> {
    for person in people {
        let email = make(&person.name)
            .to(&person.email, Some(related.clone()))
            .map_err(mail::render_error)?;
        outbox.push(tx, email).await?;
    }
    Ok(())
}

/// No `kind` nudge about the row yet.
fn not_sent(kind: &str, prefix: &str, id_column: &str) -> Expr {
    Expr::exists(notices_about(kind, prefix, id_column)).not()
}

async fn mark(
    db: &impl ConnectionTrait,
    kind: &str,
    subjects: impl Iterator<Item = String>,
) -> Result<(), ServiceError> {
    let now = crate::clock::now();
    let rows: Vec<notices::ActiveModel> = subjects
        .map(|subject| notices::ActiveModel {
            kind: Set(kind.to_string()),
            subject: Set(subject),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(128) {
        notices::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn line_of(row: &super::ClassRow) -> String {
    class_line(
        &row.class.class_ref,
        &row.course.course_code,
        &row.course.title,
        &date_range(row.class.start_date, row.class.end_date),
    )
}

async fn confirmation_reminders(
    tx: &Recorder,
    config: &Config,
    n: &Nudges,
    today: NaiveDate,
    outbox: &mut Outbox,
    sent: &mut Sent,
) -> Result<(), ServiceError> {
    let due = unconfirmed(today, n).add(not_sent(CONFIRMATION_REMINDER, "class", "classes.id"));
    let rows = class_section(tx, due, PER_PASS).await?.rows;
    for row in rows.iter().take(PER_PASS as usize) {
        let email = ConfirmationReminder::new(
            &row.trainer.name,
            &row.class.class_ref,
            line_of(row),
            (today - row.class.end_date).num_days(),
            config.server.link(&format!("/classes/{}", row.class.id)),
        )
        .to(&row.trainer.email, Some(class_subject(row.class.id)))
        .map_err(mail::render_error)?;
        outbox.push(tx, email).await?;
        sent.confirmation_reminders.push(row.class.id);
    }
    mark(
        tx,
        CONFIRMATION_REMINDER,
        sent.confirmation_reminders
            .iter()
            .map(|id| class_subject(*id)),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn confirmations_overdue(
    tx: &Recorder,
    config: &Config,
    n: &Nudges,
    today: NaiveDate,
    now: DateTime<Utc>,
    coordinators: &[users::Model],
    outbox: &mut Outbox,
    sent: &mut Sent,
) -> Result<(), ServiceError> {
    if coordinators.is_empty() {
        return Ok(());
    }
    // Told only once the MCT has had their reminder for the difference of the two delays.
    let reminded_by =
        now - chrono::Duration::days(n.confirm_escalation_days - n.confirm_reminder_days);
    let reminded_long_ago = Expr::exists(
        notices_about(CONFIRMATION_REMINDER, "class", "classes.id")
            .and_where(notices::Column::CreatedAt.lte(reminded_by))
            .to_owned(),
    );
    let due = Condition::all()
        .add(classes::Column::Status.eq(ClassStatus::Delivered))
        .add(classes::Column::EndDate.lte(chased_if_ended_by(today, n.confirm_escalation_days)))
        .add(reminded_long_ago)
        .add(not_sent(CONFIRMATION_OVERDUE, "class", "classes.id"));
    let rows = class_section(tx, due, PER_PASS).await?.rows;
    if rows.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|r| format!("{} (MCT: {})", line_of(r), r.trainer.name))
        .collect();
    let link = config.server.link("/todo");
    tell_each(tx, coordinators, outbox, format!("todo:{today}"), |name| {
        ConfirmationOverdue::new(name, lines.clone(), n.confirm_escalation_days, link.clone())
    })
    .await?;
    sent.confirmations_overdue = rows.iter().map(|r| r.class.id).collect();
    mark(
        tx,
        CONFIRMATION_OVERDUE,
        sent.confirmations_overdue
            .iter()
            .map(|id| class_subject(*id)),
    )
    .await
}

async fn code_reminders(
    tx: &Recorder,
    config: &Config,
    n: &Nudges,
    today: NaiveDate,
    outbox: &mut Outbox,
    sent: &mut Sent,
) -> Result<(), ServiceError> {
    let codes = achievement_codes::Entity::find()
        .filter(unredeemed_condition(today, n))
        .filter(achievement_codes::Column::EmailedAt.is_not_null())
        .filter(not_sent(CODE_REMINDER, "code", "achievement_codes.id"))
        .order_by_asc(achievement_codes::Column::IssuedOn)
        .order_by_asc(achievement_codes::Column::Id)
        .limit(PER_PASS)
        .all(tx)
        .await?;
    if codes.is_empty() {
        return Ok(());
    }
    let learners: HashMap<i64, enrollments::Model> = enrollments::Entity::find()
        .filter(enrollments::Column::Id.is_in(codes.iter().filter_map(|c| c.enrollment_id)))
        .all(tx)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let class_courses: HashMap<i64, courses::Model> = classes::Entity::find()
        .filter(classes::Column::Id.is_in(learners.values().map(|e| e.class_id)))
        .find_also_related(courses::Entity)
        .all(tx)
        .await?
        .into_iter()
        .filter_map(|(class, course)| Some((class.id, course?)))
        .collect();
    for code in codes {
        let Some(learner) = code.enrollment_id.and_then(|id| learners.get(&id)) else {
            continue;
        };
        let Some(course) = class_courses.get(&learner.class_id) else {
            continue;
        };
        let email = CodeReminder::new(
            &learner.learner_name,
            &code.code,
            &course.course_code,
            &course.title,
            code.expires_on,
            config.codes.redeem_url.clone(),
        )
        .to(
            &learner.learner_email,
            Some(format!("enrollment:{}", learner.id)),
        )
        .map_err(mail::render_error)?;
        outbox.push(tx, email).await?;
        sent.code_reminders.push(code.id);
    }
    mark(
        tx,
        CODE_REMINDER,
        sent.code_reminders.iter().map(|id| code_subject(*id)),
    )
    .await
}

fn standing_subject(trainer: &trainers::Model, threshold: i64) -> String {
    format!(
        "trainer:{}:{}:{threshold}",
        trainer.id, trainer.mct_valid_until
    )
}

async fn standing_warnings(
    tx: &Recorder,
    config: &Config,
    today: NaiveDate,
    coordinators: &[users::Model],
    outbox: &mut Outbox,
    sent: &mut Sent,
) -> Result<(), ServiceError> {
    let ending = crate::services::trainers::ending_soon_query(today)
        .order_by_asc(trainers::Column::MctValidUntil)
        .order_by_asc(trainers::Column::Id)
        .all(tx)
        .await?;
    let due: Vec<(trainers::Model, i64)> = ending
        .into_iter()
        .filter_map(|t| standing_warning_due(t.mct_valid_until, today).map(|w| (t, w)))
        .collect();
    let already = super::sent(
        tx,
        STANDING_ENDING,
        due.iter().map(|(t, w)| standing_subject(t, *w)),
    )
    .await?;
    let due: Vec<(trainers::Model, i64)> = due
        .into_iter()
        .filter(|(t, w)| !already.contains(&standing_subject(t, *w)))
        .take(PER_PASS as usize)
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    let mut lines = vec![];
    for (trainer, _) in &due {
        let days_left = (trainer.mct_valid_until - today).num_days();
        let email = StandingEnding::to_trainer(
            &trainer.name,
            trainer.mct_valid_until,
            days_left,
            config.server.link("/"),
        )
        .to(&trainer.email, Some(format!("trainer:{}", trainer.id)))
        .map_err(mail::render_error)?;
        outbox.push(tx, email).await?;
        lines.push(format!(
            "{} (MCT ID {}): valid until {}, {days_left} days left",
            trainer.name, trainer.mct_id, trainer.mct_valid_until
        ));
    }
    let link = config.server.link("/todo");
    tell_each(tx, coordinators, outbox, format!("todo:{today}"), |name| {
        StandingEnding::to_coordinator(name, lines.clone(), link.clone())
    })
    .await?;
    sent.standing_warnings = due.iter().map(|(t, w)| (t.id, *w)).collect();
    mark(
        tx,
        STANDING_ENDING,
        due.iter().map(|(t, w)| standing_subject(t, *w)),
    )
    .await
}

async fn consents_revoked(
    tx: &Recorder,
    config: &Config,
    coordinators: &[users::Model],
    outbox: &mut Outbox,
    sent: &mut Sent,
) -> Result<(), ServiceError> {
    let published = recordings::Entity::find()
        .select_only()
        .column(recordings::Column::Id)
        .filter(recordings::Column::Status.eq(RecordingStatus::Published));
    let revoked = recording_consents::Entity::find()
        .filter(recording_consents::Column::Status.eq(ConsentStatus::Revoked))
        .filter(
            recording_consents::Column::RecordingId
                .in_subquery(sea_orm::QueryTrait::into_query(published)),
        )
        .filter(not_sent(
            CONSENT_REVOKED,
            "consent",
            "recording_consents.id",
        ))
        .order_by_asc(recording_consents::Column::Id)
        .limit(PER_PASS)
        .all(tx)
        .await?;
    for consent in &revoked {
        let recording = recordings::Entity::find_by_id(consent.recording_id)
            .one(tx)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let who = match (consent.enrollment_id, consent.trainer_id) {
            (Some(id), _) => enrollments::Entity::find_by_id(id)
                .one(tx)
                .await?
                .map(|e| format!("The learner {}", e.learner_name))
                .unwrap_or_else(|| "A learner (erased since)".into()),
            (None, Some(id)) => trainers::Entity::find_by_id(id)
                .one(tx)
                .await?
                .map(|t| format!("The presenting MCT, {}", t.name))
                .unwrap_or_else(|| "The presenting MCT".into()),
            (None, None) => "A person recorded".into(),
        };
        let link = config.server.link(&format!("/recordings/{}", recording.id));
        let related = format!("recording:{}", recording.id);
        tell_each(tx, coordinators, outbox, related, |name| {
            ConsentRevoked::new(name, &recording.title, &who, link.clone())
        })
        .await?;
        sent.consents_revoked.push(consent.id);
    }
    mark(
        tx,
        CONSENT_REVOKED,
        sent.consents_revoked
            .iter()
            .map(|id| format!("consent:{id}")),
    )
    .await
}
