//! Surveys: invitations by token, responses, reminders, MTM results (SPEC §2).
//!
//! Learners are never named in the ledger (SPEC §6): entries carry enrollment ids, and
//! of the free-text comment only that one was given.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{classes, enrollments, survey_invitations, survey_responses};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait,
};
use serde_json::{Value, json};

use super::{ServiceError, classes as class_svc};
use crate::clock;
use crate::config::SurveysConfig;
use crate::db::begin_write;
use crate::domain::erasure;
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::mail::survey_messages::{SurveyInvitation, SurveyReminder};
use crate::mail::{self, Message};

mod import;
mod submissions;

pub(crate) use import::{ResponseImport, ResponseRow, import_response_row, parse_response_row};
pub use submissions::Submissions;

/// Response fields the ledger records only as "changed" (free text may name people).
pub const PERSONAL_FIELDS: [&str; 1] = ["comment"];

/// Longest comment accepted from the survey page.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// The query columns of the five scored questions, in their fixed order.
pub const QUESTIONS: [&str; 5] = ["q1", "q2", "q3", "q4", "q5"];

/// Answers to q1..q5: each 1..=5 or unanswered.
pub type Answers = [Option<i16>; 5];

/// One answer as typed: empty means unanswered, otherwise a whole number 1 to 5.
pub fn parse_answer(raw: &str) -> Result<Option<i16>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i16>() {
        Ok(n) if (1..=5).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "must be a whole number from 1 to 5 or empty, not {raw:?}"
        )),
    }
}

/// Whether invitations may go out for a class in this status.
pub fn may_send(class: &classes::Model) -> bool {
    class.status.took_place()
}

/// The learner's link for `token` under the app's public URL `link_base` (what
/// `AppState::link("")` gives, e.g. `https://ledger.example`).
pub fn survey_link(link_base: &str, token: &str) -> String {
    format!("{}/survey/{token}", link_base.trim_end_matches('/'))
}

fn invitation_snapshot(i: &survey_invitations::Model) -> Value {
    json!({
        "enrollment_id": i.enrollment_id,
        "sent_at": i.sent_at.to_rfc3339(),
        "expires_at": i.expires_at.to_rfc3339(),
        "reminders_sent": i.reminders_sent,
        "last_reminder_at": i.last_reminder_at.map(|t| t.to_rfc3339()),
        "responded_at": i.responded_at.map(|t| t.to_rfc3339()),
    })
}

fn response_snapshot(r: &survey_responses::Model) -> Value {
    let mut v = json!({
        "enrollment_id": r.enrollment_id,
        "invitation_id": r.invitation_id,
        "q1": r.q1, "q2": r.q2, "q3": r.q3, "q4": r.q4, "q5": r.q5,
        "submitted_on": r.submitted_on.to_string(),
        "source": r.source,
    });
    // Only the presence of a comment, never its text, reaches the ledger (`diff`
    // records a personal field as `{"changed": true}`).
    if let Some(comment) = &r.comment {
        v["comment"] = json!(comment);
    }
    v
}

fn answers_of(r: &survey_responses::Model) -> Answers {
    [r.q1, r.q2, r.q3, r.q4, r.q5]
}

/// What a class's invitation e-mail links to, and whether that is the MTM survey.
struct Target<'a> {
    course_title: String,
    dates: String,
    external: Option<&'a str>,
}

async fn target<'a>(
    db: &impl ConnectionTrait,
    class: &'a classes::Model,
) -> Result<Target<'a>, ServiceError> {
    let (course, _) = class_svc::parts(db, class).await?;
    Ok(Target {
        course_title: course.title,
        dates: class_svc::date_range(class.start_date, class.end_date),
        external: class
            .external_survey_url
            .as_deref()
            .filter(|u| !u.trim().is_empty()),
    })
}

/// The purpose a survey link's token is derived for.
pub const SURVEY_TOKEN: &str = "survey-invitation";

/// Invites every attending learner of the class who has no invitation yet and has not
/// answered already (a response imported from MTM counts), and queues their e-mails,
/// all in one transaction. Returns how many were invited.
pub async fn send_invitations(
    db: &DatabaseConnection,
    actor: &Actor,
    config: &SurveysConfig,
    class_id: i64,
    link_base: &str,
    secret: &[u8; 32],
) -> Result<u64, ServiceError> {
    let tx = begin_write(db).await?;
    let class = class_svc::get(&tx, class_id).await?;
    if !may_send(&class) {
        return Err(ServiceError::Refused(format!(
            "Survey invitations go out once the class is delivered; {} is {}.",
            class.class_ref, class.status
        )));
    }
    let target = target(&tx, &class).await?;
    let invited = survey_invitations::Entity::find()
        .select_only()
        .column(survey_invitations::Column::EnrollmentId)
        .filter(
            survey_invitations::Column::EnrollmentId
                .in_subquery(super::rosters::ids_of_class(class.id)),
        );
    let learners = enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class.id))
        .filter(enrollments::Column::Attended.eq(true))
        .filter(enrollments::Column::Id.not_in_subquery(invited.into_query()))
        .filter(
            enrollments::Column::Id.not_in_subquery(
                survey_responses::Entity::find()
                    .select_only()
                    .column(survey_responses::Column::EnrollmentId)
                    .filter(
                        survey_responses::Column::EnrollmentId
                            .in_subquery(super::rosters::ids_of_class(class.id)),
                    )
                    .into_query(),
            ),
        )
        // An erased learner has no address to write to (SPEC §6).
        .filter(enrollments::Column::EmailKey.not_like(erasure::PLACEHOLDER_EMAIL_PATTERN))
        .all(&tx)
        .await?;
    let now = clock::now();
    let expires_at = now + Duration::days(config.valid_days);
    let tx = Recorder::lock(tx, actor).await?;
    let rows = learners
        .iter()
        .map(|learner| {
            let token = crate::auth::derived_token(secret, SURVEY_TOKEN, learner.id);
            survey_invitations::ActiveModel {
                enrollment_id: Set(learner.id),
                token_hash: Set(crate::auth::token_hash(&token)),
                sent_at: Set(now),
                expires_at: Set(expires_at),
                reminders_sent: Set(0),
                last_reminder_at: Set(None),
                responded_at: Set(None),
                cancelled_at: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    let by_learner = super::insert_returning_by(&tx, rows, |i| i.enrollment_id).await?;
    let mut outbox = mail::Outbox::new();
    for learner in learners {
        let token = crate::auth::derived_token(secret, SURVEY_TOKEN, learner.id);
        let invitation = super::inserted(&by_learner, &learner.id)?;
        let mut changes = diff(&json!({}), &invitation_snapshot(invitation), &[]);
        changes["link"] = json!({"after": if target.external.is_some() { "mtm" } else { "token" }});
        tx.record_as(
            actor,
            Entry::new("survey_invitation", invitation.id, "send")
                .changes(changes)
                .parent("class", class.id),
        )
        .await?;
        let message = SurveyInvitation {
            learner_name: learner.learner_name.clone(),
            course_title: target.course_title.clone(),
            dates: target.dates.clone(),
            link: target
                .external
                .map(str::to_string)
                .unwrap_or_else(|| survey_link(link_base, &token)),
            external: target.external.is_some(),
            valid_until: expires_at.date_naive().to_string(),
        };
        let email = message
            .to(&learner.learner_email, Some(format!("class:{}", class.id)))
            .map_err(mail::render_error)?;
        outbox.push(&tx, email).await?;
    }
    let count = outbox.finish(&tx).await?;
    tx.commit().await?;
    Ok(count)
}

/// Queues a reminder for every invitation that is unanswered, unexpired, has had fewer
/// than `max_reminders` reminders and was last mailed `reminder_after_days` ago or
/// more; one transaction. Returns how many reminders were queued.
///
/// A reminder repeats the invitation's link: the token is derived from the server
/// secret (see [`crate::auth::derived_token`]), so it is computed again, never stored.
/// An MTM class's reminder carries the MTM link. `link_base` is the app's public URL
/// (`AppState::link("")`).
pub async fn send_due_reminders(
    db: &DatabaseConnection,
    config: &SurveysConfig,
    link_base: &str,
    secret: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    let tx = begin_write(db).await?;
    // The chain head first: every instance runs this task, and on PostgreSQL the lock
    // makes a second instance read the due list only after the first has committed its
    // reminders (otherwise both would find, and remind, the same learners).
    let tx = Recorder::lock(tx, &Actor::System).await?;
    let cutoff = now - Duration::days(config.reminder_after_days);
    let due = survey_invitations::Entity::find()
        .filter(survey_invitations::Column::RespondedAt.is_null())
        .filter(survey_invitations::Column::CancelledAt.is_null())
        .filter(survey_invitations::Column::ExpiresAt.gt(now))
        .filter(survey_invitations::Column::RemindersSent.lt(config.max_reminders))
        .filter(
            sea_orm::Condition::any()
                .add(survey_invitations::Column::LastReminderAt.lte(cutoff))
                .add(
                    sea_orm::Condition::all()
                        .add(survey_invitations::Column::LastReminderAt.is_null())
                        .add(survey_invitations::Column::SentAt.lte(cutoff)),
                ),
        )
        .filter(
            survey_invitations::Column::EnrollmentId.not_in_subquery(
                survey_responses::Entity::find()
                    .select_only()
                    .column(survey_responses::Column::EnrollmentId)
                    .into_query(),
            ),
        )
        .all(&tx)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut outbox = mail::Outbox::new();
    let mut class_cache: Option<(classes::Model, String, String)> = None;
    use sea_orm::sea_query::ExprTrait;
    // A few hundred at a time: their learners in one query, their counts in one update.
    for chunk in due.chunks(super::ROWS_PER_STATEMENT) {
        let ids: Vec<i64> = chunk.iter().map(|i| i.id).collect();
        let learners: HashMap<i64, enrollments::Model> = enrollments::Entity::find()
            .filter(enrollments::Column::Id.is_in(chunk.iter().map(|i| i.enrollment_id)))
            .all(&tx)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        survey_invitations::Entity::update_many()
            .col_expr(
                survey_invitations::Column::RemindersSent,
                Expr::col(survey_invitations::Column::RemindersSent).add(1),
            )
            .col_expr(survey_invitations::Column::LastReminderAt, Some(now).into())
            .filter(survey_invitations::Column::Id.is_in(ids))
            .filter(
                survey_invitations::Column::EnrollmentId
                    .is_in(learners.keys().copied().collect::<Vec<_>>()),
            )
            .exec(&tx)
            .await?;
        for invitation in chunk {
            let Some(learner) = learners.get(&invitation.enrollment_id) else {
                continue;
            };
            if class_cache.as_ref().map(|c| c.0.id) != Some(learner.class_id) {
                let class = class_svc::get(&tx, learner.class_id).await?;
                let t = target(&tx, &class).await?;
                class_cache = Some((class.clone(), t.course_title, t.dates));
            }
            let (class, course_title, dates) = class_cache.as_ref().expect("filled above");
            let external = class
                .external_survey_url
                .as_deref()
                .filter(|u| !u.trim().is_empty());
            let link = match external {
                Some(url) => url.to_string(),
                None => survey_link(
                    link_base,
                    &crate::auth::derived_token(secret, SURVEY_TOKEN, invitation.enrollment_id),
                ),
            };
            let updated = survey_invitations::Model {
                reminders_sent: invitation.reminders_sent + 1,
                last_reminder_at: Some(now),
                ..invitation.clone()
            };
            tx.record_as(
                &Actor::System,
                Entry::new("survey_invitation", updated.id, "remind")
                    .changes(diff(
                        &invitation_snapshot(invitation),
                        &invitation_snapshot(&updated),
                        &[],
                    ))
                    .parent("class", class.id),
            )
            .await?;
            let message = SurveyReminder {
                learner_name: learner.learner_name.clone(),
                course_title: course_title.clone(),
                dates: dates.clone(),
                link,
                external: external.is_some(),
                valid_until: updated.expires_at.date_naive().to_string(),
            };
            let email = message
                .to(&learner.learner_email, Some(format!("class:{}", class.id)))
                .map_err(mail::render_error)?;
            outbox.push(&tx, email).await?;
        }
    }
    let count = outbox.finish(&tx).await?;
    tx.commit().await?;
    Ok(count)
}

/// Where a survey link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Answered,
    Expired,
}

/// What the public survey page may show: the course title and the class dates only.
#[derive(Debug, Clone)]
pub struct SurveyLink {
    pub state: LinkState,
    pub course_title: String,
    pub dates: String,
}

async fn invitation_by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<survey_invitations::Model, ServiceError> {
    // Only a well-formed token is looked up (hex, 64 characters).
    if !crate::auth::is_token_shaped(token) {
        return Err(ServiceError::NotFound);
    }
    // A cancelled link (the learner was erased) is as unknown as a mistyped one.
    survey_invitations::Entity::find()
        .filter(survey_invitations::Column::TokenHash.eq(crate::auth::token_hash(token)))
        .filter(survey_invitations::Column::CancelledAt.is_null())
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

async fn link_state(
    db: &impl ConnectionTrait,
    invitation: &survey_invitations::Model,
    now: DateTime<Utc>,
) -> Result<(LinkState, enrollments::Model), ServiceError> {
    let enrollment = enrollments::Entity::find_by_id(invitation.enrollment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let answered = invitation.responded_at.is_some()
        || survey_responses::Entity::find()
            .filter(survey_responses::Column::EnrollmentId.eq(enrollment.id))
            .count(db)
            .await?
            > 0;
    let state = if answered {
        LinkState::Answered
    } else if invitation.expires_at <= now {
        LinkState::Expired
    } else {
        LinkState::Open
    };
    Ok((state, enrollment))
}

/// The survey behind `token` (unknown → `NotFound`).
pub async fn open(db: &DatabaseConnection, token: &str) -> Result<SurveyLink, ServiceError> {
    let invitation = invitation_by_token(db, token).await?;
    let (state, enrollment) = link_state(db, &invitation, clock::now()).await?;
    let class = class_svc::get(db, enrollment.class_id).await?;
    let t = target(db, &class).await?;
    Ok(SurveyLink {
        state,
        course_title: t.course_title,
        dates: t.dates,
    })
}

/// Records the learner's answers given through the link: one response per invitation.
/// An answered or expired link changes nothing and says so in the returned state.
/// Several at once are better sent through [`Submissions`], which commits them together.
pub async fn submit(
    db: &DatabaseConnection,
    token: &str,
    answers: Answers,
    comment: Option<String>,
) -> Result<SurveyLink, ServiceError> {
    let tx = begin_write(db).await?;
    // The chain lock first: it serializes writers, so two submits of one link cannot
    // both find it unanswered (PostgreSQL `FOR UPDATE`; SQLite `BEGIN IMMEDIATE`).
    let tx = Recorder::lock(tx, &Actor::System).await?;
    let answer = submissions::Answer {
        token: token.to_string(),
        answers,
        comment,
    };
    let link = submissions::submit_all_on(&tx, std::slice::from_ref(&answer), clock::now())
        .await?
        .pop()
        .expect("one outcome per answer")?;
    tx.commit().await?;
    Ok(link)
}

/// The ledger entry of `invitation` answered at `now`.
fn respond_entry(
    invitation: &survey_invitations::Model,
    now: DateTime<Utc>,
    class_id: i64,
) -> Entry {
    let responded = survey_invitations::Model {
        responded_at: Some(now),
        ..invitation.clone()
    };
    Entry::new("survey_invitation", invitation.id, "respond")
        .changes(diff(
            &invitation_snapshot(invitation),
            &invitation_snapshot(&responded),
            &[],
        ))
        .parent("class", class_id)
}

async fn record_responded(
    tx: &Recorder,
    actor: &Actor,
    invitation: survey_invitations::Model,
    now: DateTime<Utc>,
    class_id: i64,
) -> Result<(), ServiceError> {
    let entry = respond_entry(&invitation, now, class_id);
    let mut active: survey_invitations::ActiveModel = invitation.into();
    active.responded_at = Set(Some(now));
    active.update(tx).await?;
    tx.record_as(actor, entry).await?;
    Ok(())
}

/// A class's survey figures: exact integer sums, averaged only for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassFigures {
    pub invitations: u64,
    pub responses: u64,
    /// Per question: (number of answers, sum of answers).
    pub answers: [(i64, i64); 5],
}

#[derive(Debug, FromQueryResult)]
struct Sums {
    responses: i64,
    n1: i64,
    s1: Option<i64>,
    n2: i64,
    s2: Option<i64>,
    n3: i64,
    s3: Option<i64>,
    n4: i64,
    s4: Option<i64>,
    n5: i64,
    s5: Option<i64>,
}

pub async fn class_figures(
    db: &impl ConnectionTrait,
    class_id: i64,
) -> Result<ClassFigures, ServiceError> {
    use survey_responses::Column as C;
    let invitations = survey_invitations::Entity::find()
        .filter(
            survey_invitations::Column::EnrollmentId
                .in_subquery(super::rosters::ids_of_class(class_id)),
        )
        .count(db)
        .await?;
    let sums = survey_responses::Entity::find()
        .select_only()
        .column_as(C::Id.count(), "responses")
        .column_as(C::Q1.count(), "n1")
        .column_as(C::Q1.sum(), "s1")
        .column_as(C::Q2.count(), "n2")
        .column_as(C::Q2.sum(), "s2")
        .column_as(C::Q3.count(), "n3")
        .column_as(C::Q3.sum(), "s3")
        .column_as(C::Q4.count(), "n4")
        .column_as(C::Q4.sum(), "s4")
        .column_as(C::Q5.count(), "n5")
        .column_as(C::Q5.sum(), "s5")
        .filter(C::EnrollmentId.in_subquery(super::rosters::ids_of_class(class_id)))
        .into_model::<Sums>()
        .one(db)
        .await?;
    let Some(s) = sums else {
        return Ok(ClassFigures {
            invitations,
            ..Default::default()
        });
    };
    Ok(ClassFigures {
        invitations,
        responses: s.responses.max(0) as u64,
        answers: [
            (s.n1, s.s1.unwrap_or(0)),
            (s.n2, s.s2.unwrap_or(0)),
            (s.n3, s.s3.unwrap_or(0)),
            (s.n4, s.s4.unwrap_or(0)),
            (s.n5, s.s5.unwrap_or(0)),
        ],
    })
}

/// Averages and rates as shown: the quality report's rules (`domain::quality`).
pub use crate::domain::quality::{average_2dp, rate_percent};

#[cfg(test)]
mod tests;
