//! Group commit for survey submissions (issue 15 item 2). A survey wave sends thousands
//! of answers a minute; one transaction each pays a commit, the chain head's lock and its
//! update for every answer. Here answers that arrive while a commit is running wait for
//! the next one, which takes them all (up to [`MOST_PER_COMMIT`]): each still gets its own
//! response row and its own ledger entries on the one chain, and each is answered only
//! after the commit that holds it — a thank-you page always means "stored".
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use entity::{classes, courses, enrollments, survey_invitations, survey_responses};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;
use tokio::sync::oneshot;

use super::{
    Answers, LinkState, PERSONAL_FIELDS, SurveyLink, respond_entry, response_snapshot, submit,
};
use crate::clock;
use crate::db::begin_write;
use crate::domain::survey::ResponseSource;
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::services::{ServiceError, classes as class_svc};

/// The most answers one transaction takes; the rest wait for the next.
pub const MOST_PER_COMMIT: usize = 128;

/// One learner's answer to their link.
pub(super) struct Answer {
    pub token: String,
    pub answers: Answers,
    pub comment: Option<String>,
}

struct Pending {
    answer: Answer,
    reply: oneshot::Sender<Result<SurveyLink, ServiceError>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    /// A drain task is running: it takes what is waiting before it stops.
    draining: bool,
    /// Transactions committed with answers in them (for the tests and the bench).
    commits: u64,
}

/// The queue of answers waiting for their commit; one per app.
#[derive(Default, Clone)]
pub struct Submissions {
    queue: Arc<Mutex<Queue>>,
}

impl Submissions {
    /// [`submit`], committed together with the answers that arrive meanwhile.
    pub async fn submit(
        &self,
        db: &DatabaseConnection,
        token: &str,
        answers: Answers,
        comment: Option<String>,
    ) -> Result<SurveyLink, ServiceError> {
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().expect("queue lock");
            queue.waiting.push(Pending {
                answer: Answer {
                    token: token.to_string(),
                    answers,
                    comment,
                },
                reply,
            });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            // A task of its own: a request whose client goes away must not take the
            // others' commit with it.
            tokio::spawn(drain(self.queue.clone(), db.clone()));
        }
        outcome
            .await
            .map_err(|_| ServiceError::Other(anyhow::anyhow!("the survey submission was lost")))?
    }

    /// How many transactions have committed answers so far.
    pub fn commits(&self) -> u64 {
        self.queue.lock().expect("queue lock").commits
    }
}

/// Marks the drain finished if it panics (it does so itself when the queue is empty), so
/// the next answer starts a new one.
struct Draining(Arc<Mutex<Queue>>);

impl Drop for Draining {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Ok(mut queue) = self.0.lock()
        {
            queue.draining = false;
        }
    }
}

async fn drain(queue: Arc<Mutex<Queue>>, db: DatabaseConnection) {
    let _draining = Draining(queue.clone());
    loop {
        let batch: Vec<Pending> = {
            let mut q = queue.lock().expect("queue lock");
            if q.waiting.is_empty() {
                q.draining = false;
                return;
            }
            let n = q.waiting.len().min(MOST_PER_COMMIT);
            q.waiting.drain(..n).collect()
        };
        match commit_together(&db, &batch).await {
            Ok(outcomes) => {
                queue.lock().expect("queue lock").commits += 1;
                for (pending, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = pending.reply.send(outcome);
                }
            }
            // The shared transaction is gone (nothing of it is stored): each answer on
            // its own, so one that fails fails alone and gets its own error.
            Err(_) => {
                for p in batch {
                    let Answer {
                        token,
                        answers,
                        comment,
                    } = p.answer;
                    let outcome = submit(&db, &token, answers, comment).await;
                    let _ = p.reply.send(outcome);
                }
            }
        }
    }
}

/// One transaction for the whole batch: each answer's outcome, or the database error that
/// ended it. A refusal (an unknown, answered or expired link) writes nothing and does not
/// touch the others.
async fn commit_together(
    db: &DatabaseConnection,
    batch: &[Pending],
) -> Result<Vec<Result<SurveyLink, ServiceError>>, ServiceError> {
    let tx = Recorder::lock(begin_write(db).await?, &Actor::System).await?;
    let answers: Vec<&Answer> = batch.iter().map(|p| &p.answer).collect();
    let outcomes = submit_all_on(&tx, &answers, clock::now()).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// What the links of a batch lead to, read with one query per table for the whole batch
/// (a round trip per statement is what a PostgreSQL submission paid for).
struct Links {
    by_hash: HashMap<String, survey_invitations::Model>,
    enrollments: HashMap<i64, enrollments::Model>,
    answered: HashSet<i64>,
    classes: HashMap<i64, classes::Model>,
    courses: HashMap<i64, courses::Model>,
}

impl Links {
    async fn load(tx: &Recorder, hashes: Vec<String>) -> Result<Links, ServiceError> {
        // A cancelled link (the learner was erased) is as unknown as a mistyped one.
        let invitations = survey_invitations::Entity::find()
            .filter(survey_invitations::Column::TokenHash.is_in(hashes))
            .filter(survey_invitations::Column::CancelledAt.is_null())
            .all(tx)
            .await?;
        let enrollment_ids: Vec<i64> = invitations.iter().map(|i| i.enrollment_id).collect();
        let enrollments: HashMap<i64, enrollments::Model> = enrollments::Entity::find()
            .filter(enrollments::Column::Id.is_in(enrollment_ids.clone()))
            .all(tx)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let answered: HashSet<i64> = survey_responses::Entity::find()
            .select_only()
            .column(survey_responses::Column::EnrollmentId)
            .filter(survey_responses::Column::EnrollmentId.is_in(enrollment_ids))
            .into_tuple::<i64>()
            .all(tx)
            .await?
            .into_iter()
            .collect();
        let class_ids: HashSet<i64> = enrollments.values().map(|e| e.class_id).collect();
        let classes: HashMap<i64, classes::Model> = classes::Entity::find()
            .filter(classes::Column::Id.is_in(class_ids))
            .all(tx)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let course_ids: HashSet<i64> = classes.values().map(|c| c.course_id).collect();
        let courses = courses::Entity::find()
            .filter(courses::Column::Id.is_in(course_ids))
            .all(tx)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        Ok(Links {
            by_hash: invitations
                .into_iter()
                .map(|i| (i.token_hash.clone(), i))
                .collect(),
            enrollments,
            answered,
            classes,
            courses,
        })
    }
}

/// Stores every answer of `batch` whose link is open, in the transaction `tx` holds with
/// the chain lock: one response and two ledger entries each (the response, the
/// invitation answered), exactly as one submission alone writes them. Returns each
/// answer's outcome in order; a link answered twice in one batch is answered once.
pub(super) async fn submit_all_on(
    tx: &Recorder,
    batch: &[impl std::borrow::Borrow<Answer>],
    now: DateTime<Utc>,
) -> Result<Vec<Result<SurveyLink, ServiceError>>, ServiceError> {
    let hashes: Vec<Option<String>> = batch
        .iter()
        .map(|a| {
            let token = &a.borrow().token;
            crate::auth::is_token_shaped(token).then(|| crate::auth::token_hash(token))
        })
        .collect();
    let links = Links::load(tx, hashes.iter().flatten().cloned().collect()).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut stored: Vec<(
        survey_responses::ActiveModel,
        &survey_invitations::Model,
        i64,
    )> = Vec::new();
    let mut answered_now: HashSet<i64> = HashSet::new();
    for (answer, hash) in batch.iter().map(|a| a.borrow()).zip(&hashes) {
        let Some(invitation) = hash.as_ref().and_then(|h| links.by_hash.get(h)) else {
            outcomes.push(Err(ServiceError::NotFound));
            continue;
        };
        let found = links
            .enrollments
            .get(&invitation.enrollment_id)
            .and_then(|e| {
                let class = links.classes.get(&e.class_id)?;
                Some((e, class, links.courses.get(&class.course_id)?))
            });
        let Some((enrollment, class, course)) = found else {
            outcomes.push(Err(ServiceError::NotFound));
            continue;
        };
        let state = if invitation.responded_at.is_some()
            || links.answered.contains(&enrollment.id)
            || answered_now.contains(&enrollment.id)
        {
            LinkState::Answered
        } else if invitation.expires_at <= now {
            LinkState::Expired
        } else {
            LinkState::Open
        };
        outcomes.push(Ok(SurveyLink {
            state: state.clone(),
            course_title: course.title.clone(),
            dates: class_svc::date_range(class.start_date, class.end_date),
        }));
        if state != LinkState::Open {
            continue;
        }
        answered_now.insert(enrollment.id);
        let [q1, q2, q3, q4, q5] = answer.answers;
        let response = survey_responses::ActiveModel {
            enrollment_id: Set(enrollment.id),
            invitation_id: Set(Some(invitation.id)),
            q1: Set(q1),
            q2: Set(q2),
            q3: Set(q3),
            q4: Set(q4),
            q5: Set(q5),
            comment: Set(answer.comment.clone()),
            submitted_on: Set(now.date_naive()),
            source: Set(ResponseSource::Web),
            created_at: Set(now),
            ..Default::default()
        };
        stored.push((response, invitation, class.id));
    }
    if stored.is_empty() {
        return Ok(outcomes);
    }
    let rows = stored.iter().map(|(r, _, _)| r.clone()).collect();
    let by_learner = crate::services::insert_returning_by(tx, rows, |r| r.enrollment_id).await?;
    survey_invitations::Entity::update_many()
        .col_expr(survey_invitations::Column::RespondedAt, Some(now).into())
        .filter(survey_invitations::Column::Id.is_in(stored.iter().map(|(_, i, _)| i.id)))
        .exec(tx)
        .await?;
    for (_, invitation, class_id) in &stored {
        let response = crate::services::inserted(&by_learner, &invitation.enrollment_id)?;
        let actor = Actor::Learner(invitation.enrollment_id);
        tx.record_as(
            &actor,
            Entry::new("survey_response", response.id, "create")
                .changes(diff(
                    &json!({}),
                    &response_snapshot(response),
                    &PERSONAL_FIELDS,
                ))
                .parent("class", class_id),
        )
        .await?;
        tx.record_as(&actor, respond_entry(invitation, now, *class_id))
            .await?;
    }
    Ok(outcomes)
}
