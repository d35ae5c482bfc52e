//! The `survey-responses` import: responses collected outside the app, one CSV row each;
//! what a chunk of rows names is read with a few queries, new responses inserted a
//! multi-row statement at a time. The `comment` column is optional: a file without it
//! leaves the comments stored (e.g. given on the survey page) as they are.
use std::collections::HashMap;

use entity::{survey_invitations, survey_responses};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Answers, MAX_COMMENT_CHARS, PERSONAL_FIELDS, QUESTIONS, answers_of, parse_answer,
    record_responded, response_snapshot,
};
use crate::clock;
use crate::domain::account::Email;
use crate::domain::fields::{parse_code, parse_date};
use crate::domain::survey::ResponseSource;
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::services::keyed::Keyed;
use crate::services::{Outcome, ServiceError};

/// A `survey-responses` CSV row as read (the field names are its columns).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResponseFields {
    class_ref: String,
    learner_email: String,
    submitted_on: String,
    q1: String,
    q2: String,
    q3: String,
    q4: String,
    q5: String,
    /// Optional column: the learner's free-text comment (blank: none).
    comment: String,
}

/// A `survey-responses` row as checked without the database (before an import locks).
pub(crate) struct ResponseRow {
    pub(crate) class_ref: String,
    pub(crate) key: Email,
    submitted_on: chrono::NaiveDate,
    answers: Answers,
    /// Trimmed; `None` when blank.
    comment: Option<String>,
}

pub(crate) fn parse_response_row(row: &ResponseFields) -> Result<ResponseRow, ServiceError> {
    let class_ref =
        parse_code(&row.class_ref, 64).map_err(|m| ServiceError::field("class_ref", m))?;
    let key =
        Email::parse(&row.learner_email).map_err(|m| ServiceError::field("learner_email", m))?;
    let submitted_on =
        parse_date(&row.submitted_on).map_err(|m| ServiceError::field("submitted_on", m))?;
    let cells = [&row.q1, &row.q2, &row.q3, &row.q4, &row.q5];
    let mut answers: Answers = [None; 5];
    for (i, (q, cell)) in QUESTIONS.iter().zip(cells).enumerate() {
        answers[i] = parse_answer(cell).map_err(|m| ServiceError::field(q, m))?;
    }
    let comment = row.comment.trim();
    let chars = comment.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(ServiceError::field(
            "comment",
            format!("must be at most {MAX_COMMENT_CHARS} characters, not {chars}"),
        ));
    }
    Ok(ResponseRow {
        class_ref,
        key,
        submitted_on,
        answers,
        comment: (!comment.is_empty()).then(|| comment.to_string()),
    })
}

/// The responses and open invitations of the learners an import's chunk names, read for
/// the whole chunk, and its new responses waiting for the next multi-row insert (each
/// with its class, its entry's parent).
pub(crate) struct ResponseImport {
    responses: Keyed<i64, survey_responses::ActiveModel, i64>,
    /// Invitations not answered yet, by enrollment id.
    open: HashMap<i64, survey_invitations::Model>,
}

impl Default for ResponseImport {
    fn default() -> Self {
        ResponseImport {
            responses: Keyed::new(|r: &survey_responses::Model| r.enrollment_id),
            open: HashMap::new(),
        }
    }
}

impl ResponseImport {
    /// Reads the responses and open invitations of the learners `enrollment_ids`.
    pub(crate) async fn prefetch(
        &mut self,
        tx: &Recorder,
        enrollment_ids: &[i64],
    ) -> Result<(), ServiceError> {
        self.responses
            .load(
                tx,
                survey_responses::Column::EnrollmentId,
                enrollment_ids.iter().copied(),
            )
            .await?;
        self.open.clear();
        for chunk in enrollment_ids.chunks(crate::services::keyed::KEYS_PER_QUERY) {
            let open = survey_invitations::Entity::find()
                .filter(survey_invitations::Column::EnrollmentId.is_in(chunk.iter().copied()))
                .filter(survey_invitations::Column::RespondedAt.is_null())
                .all(tx)
                .await?;
            self.open
                .extend(open.into_iter().map(|i| (i.enrollment_id, i)));
        }
        Ok(())
    }

    /// Inserts the waiting responses, each with its ledger entry.
    pub(crate) async fn flush(&mut self, tx: &Recorder, actor: &Actor) -> Result<(), ServiceError> {
        for (response, class_id) in self.responses.insert_pending(tx).await? {
            record(tx, actor, None, &response, class_id).await?;
        }
        Ok(())
    }
}

async fn record(
    tx: &Recorder,
    actor: &Actor,
    before: Option<Value>,
    response: &survey_responses::Model,
    class_id: i64,
) -> Result<(), ServiceError> {
    let action = if before.is_some() {
        "import_update"
    } else {
        "import"
    };
    tx.record_as(
        actor,
        Entry::new("survey_response", response.id, action)
            .changes(diff(
                before.as_ref().unwrap_or(&json!({})),
                &response_snapshot(response),
                &PERSONAL_FIELDS,
            ))
            .parent("class", class_id),
    )
    .await?;
    Ok(())
}

/// One `survey-responses` CSV row. Returns what the row did (the summary counts it), or
/// the field it is wrong in. `comment_column`: the file has the optional `comment` column
/// (its cell then replaces the stored comment, a blank one clearing it); without it, a
/// stored comment is kept.
pub(crate) async fn import_response_row(
    tx: &Recorder,
    actor: &Actor,
    row: &ResponseFields,
    comment_column: bool,
    lookups: &mut impl crate::services::imports::Lookups,
) -> Result<Outcome<()>, ServiceError> {
    let ResponseRow {
        class_ref,
        key,
        submitted_on,
        answers,
        comment,
    } = parse_response_row(row)?;
    let class = lookups
        .class(tx, &class_ref)
        .await?
        .ok_or_else(|| ServiceError::field("class_ref", format!("no class {class_ref}")))?;
    let enrollment = lookups.learner(tx, class.id, &key).await?.ok_or_else(|| {
        ServiceError::field(
            "learner_email",
            format!("is not on the roster of {}", class.class_ref),
        )
    })?;
    let known = lookups.responses();
    if known.responses.is_pending(&enrollment.id) {
        // The same learner twice in one file: the second row updates the first.
        known.flush(tx, actor).await?;
    }
    let [q1, q2, q3, q4, q5] = answers;
    let now = clock::now();
    let outcome = match known.responses.get(&enrollment.id).cloned() {
        Some(old)
            if answers_of(&old) == answers
                && old.submitted_on == submitted_on
                && (!comment_column || old.comment == comment) =>
        {
            return Ok(Outcome::Unchanged(()));
        }
        Some(old) => {
            let before = response_snapshot(&old);
            let mut active: survey_responses::ActiveModel = old.into();
            active.q1 = Set(q1);
            active.q2 = Set(q2);
            active.q3 = Set(q3);
            active.q4 = Set(q4);
            active.q5 = Set(q5);
            active.submitted_on = Set(submitted_on);
            if comment_column {
                active.comment = Set(comment);
            }
            active.source = Set(ResponseSource::Import);
            let response = active.update(tx).await?;
            record(tx, actor, Some(before), &response, class.id).await?;
            known.responses.put(response);
            Outcome::Updated(())
        }
        None => {
            let response = survey_responses::ActiveModel {
                enrollment_id: Set(enrollment.id),
                invitation_id: Set(None),
                q1: Set(q1),
                q2: Set(q2),
                q3: Set(q3),
                q4: Set(q4),
                q5: Set(q5),
                comment: Set(comment),
                submitted_on: Set(submitted_on),
                source: Set(ResponseSource::Import),
                created_at: Set(now),
                ..Default::default()
            };
            if known.responses.queue(enrollment.id, response, class.id) {
                known.flush(tx, actor).await?;
            }
            Outcome::Created(())
        }
    };
    // An answered MTM survey stops the reminders of the learner's invitation.
    if let Some(invitation) = known.open.remove(&enrollment.id) {
        record_responded(tx, actor, invitation, now, class.id).await?;
    }
    Ok(outcome)
}
