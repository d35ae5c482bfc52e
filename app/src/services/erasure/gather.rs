//! What an erasure finds: the roster lines it takes, with what hangs off each.
use std::collections::{HashMap, HashSet};

use entity::{
    achievement_codes, enrollments, outbox_messages, survey_invitations, survey_responses,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Found, Learners};
use crate::domain::erasure::PLACEHOLDER_EMAIL_PATTERN;
use crate::domain::outbox::OutboxStatus;
use crate::services::{ServiceError, classes as class_svc, courses as course_svc};

/// `IN` lists are bounded batches.
const CHUNK: usize = 500;

/// Messages to the learners: outbox addresses are stored as typed, so compared
/// lower-cased and (SQLite's `lower` folds ASCII only) as each roster line spelled them.
fn to_learners(keys: Vec<String>, typed: Vec<String>) -> Condition {
    Condition::any()
        .add(Expr::expr(Func::lower(Expr::col(outbox_messages::Column::ToAddress))).is_in(keys))
        .add(outbox_messages::Column::ToAddress.is_in(typed))
}

/// The roster lines `learners` names, oldest first (already-erased lines are never
/// taken again), with what hangs off each. `Learners::Email` finding none is a field
/// error; `Learners::Enrollments` finding none is an empty list.
pub(super) async fn gather(
    db: &impl ConnectionTrait,
    learners: &Learners<'_>,
) -> Result<Vec<Found>, ServiceError> {
    let not_erased = enrollments::Column::EmailKey.not_like(PLACEHOLDER_EMAIL_PATTERN);
    let lines = match learners {
        Learners::Email(key) => {
            let lines = enrollments::Entity::find()
                .filter(enrollments::Column::EmailKey.eq(key.as_str()))
                .order_by_asc(enrollments::Column::Id)
                .all(db)
                .await?;
            if lines.is_empty() {
                return Err(ServiceError::field(
                    "email",
                    "no enrollment has this e-mail address: nothing to erase",
                ));
            }
            lines
        }
        Learners::Enrollments(ids) => {
            let mut lines = vec![];
            for chunk in ids.chunks(CHUNK) {
                lines.extend(
                    enrollments::Entity::find()
                        .filter(enrollments::Column::Id.is_in(chunk.to_vec()))
                        .filter(not_erased.clone())
                        .all(db)
                        .await?,
                );
            }
            lines.sort_by_key(|e| e.id);
            lines
        }
    };
    let selected: HashSet<i64> = lines.iter().map(|e| e.id).collect();
    let mut keys: Vec<String> = lines.iter().map(|e| e.email_key.clone()).collect();
    keys.sort();
    keys.dedup();
    // A learner who keeps a roster line the erasure does not take (retention: a class
    // that ended recently) keeps the messages that name no erased class.
    let mut kept_keys: HashSet<String> = HashSet::new();
    let mut messages = vec![];
    for chunk in keys.chunks(CHUNK) {
        let typed: Vec<String> = lines
            .iter()
            .filter(|e| chunk.contains(&e.email_key))
            .map(|e| e.learner_email.clone())
            .collect();
        messages.extend(
            outbox_messages::Entity::find()
                .filter(to_learners(chunk.to_vec(), typed))
                .order_by_asc(outbox_messages::Column::Id)
                .all(db)
                .await?,
        );
        if matches!(learners, Learners::Enrollments(_)) {
            let all: Vec<(i64, String)> = enrollments::Entity::find()
                .select_only()
                .column(enrollments::Column::Id)
                .column(enrollments::Column::EmailKey)
                .filter(enrollments::Column::EmailKey.is_in(chunk.to_vec()))
                .into_tuple()
                .all(db)
                .await?;
            kept_keys.extend(
                all.into_iter()
                    .filter(|(id, _)| !selected.contains(id))
                    .map(|(_, key)| key),
            );
        }
    }
    messages.sort_by_key(|m| m.id);
    messages.dedup_by_key(|m| m.id);

    let mut found = Vec::with_capacity(lines.len());
    for enrollment in lines {
        let class = class_svc::get(db, enrollment.class_id).await?;
        let course = course_svc::get(db, class.course_id).await?;
        let code = achievement_codes::Entity::find()
            .filter(achievement_codes::Column::EnrollmentId.eq(enrollment.id))
            .one(db)
            .await?;
        let invitation = survey_invitations::Entity::find()
            .filter(survey_invitations::Column::EnrollmentId.eq(enrollment.id))
            .one(db)
            .await?;
        let response = survey_responses::Entity::find()
            .filter(survey_responses::Column::EnrollmentId.eq(enrollment.id))
            .one(db)
            .await?;
        found.push(Found {
            enrollment,
            class,
            course,
            code,
            invitation,
            response,
            unsent: vec![],
            sent: vec![],
        });
    }
    // A message belongs to its learner's enrollment in the class it names (`class:42`);
    // one that names none of the erased classes goes with the learner's first erased
    // enrollment, unless the learner keeps another roster line.
    let by_class: HashMap<(&str, String), usize> = found
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                (
                    f.enrollment.email_key.as_str(),
                    format!("class:{}", f.class.id),
                ),
                i,
            )
        })
        .collect();
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, f) in found.iter().enumerate() {
        first.entry(f.enrollment.email_key.as_str()).or_insert(i);
    }
    let mut placed: Vec<(usize, outbox_messages::Model)> = vec![];
    for message in messages {
        let lower = message.to_address.to_lowercase();
        let Some(key) = found
            .iter()
            .map(|f| &f.enrollment)
            .find(|e| e.email_key == lower || e.learner_email == message.to_address)
            .map(|e| e.email_key.as_str())
        else {
            continue;
        };
        let of_class = message
            .related
            .as_ref()
            .and_then(|r| by_class.get(&(key, r.clone())).copied());
        let i = match of_class {
            Some(i) => i,
            None if kept_keys.contains(key) => continue,
            None => first[key],
        };
        placed.push((i, message));
    }
    for (i, message) in placed {
        if message.status == OutboxStatus::Sent {
            found[i].sent.push(message);
        } else {
            found[i].unsent.push(message);
        }
    }
    Ok(found)
}
