//! Asking for consent and recording the answers: by a learner's personal link, by the
//! presenting MCT, or on paper; and asking learners added to the roster later.
use std::collections::HashSet;

use entity::{recording_consents, recordings};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use serde_json::json;

use super::{NOTE, consent_snapshot, get, visible};
use crate::clock;
use crate::db::begin_write;
use crate::domain::fields::parse_text;
use crate::domain::recording::{ConsentChange, ConsentMethod, ConsentStatus, RecordingStatus};
use crate::domain::role::{Caller, Role};
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::mail::messages::RecordingConsentRequest;
use crate::mail::{self, Message};
use crate::services::{
    ServiceError, classes as class_svc, courses as course_svc, trainers as trainer_svc,
};

/// Creates a consent row for every subject not asked yet: the presenting MCT, and each
/// learner who attended the source class (who gets an e-mail with a link to
/// `{consent_base}/<token>`). A learner who was absent is not in the recording.
/// Returns how many learners were asked.
pub(super) async fn request_missing(
    tx: &Recorder,
    actor: &Actor,
    recording: &recordings::Model,
    consent_base: &str,
) -> Result<usize, ServiceError> {
    let existing = recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.eq(recording.id))
        .all(tx)
        .await?;
    let now = clock::now();
    let new_row = |trainer_id: Option<i64>, enrollment_id: Option<i64>, token_hash| {
        recording_consents::ActiveModel {
            recording_id: Set(recording.id),
            trainer_id: Set(trainer_id),
            enrollment_id: Set(enrollment_id),
            status: Set(ConsentStatus::Requested),
            method: Set(None),
            note: Set(None),
            token_hash: Set(token_hash),
            changed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    };
    if !existing
        .iter()
        .any(|c| c.trainer_id == Some(recording.trainer_id))
    {
        let row = new_row(Some(recording.trainer_id), None, None)
            .insert(tx)
            .await?;
        let entry = Entry::new("recording_consent", row.id, "request")
            .changes(diff(&json!({}), &consent_snapshot(&row), &[]))
            .parent("recording", recording.id);
        tx.record_as(actor, entry).await?;
    }
    let Some(class_id) = recording.source_class_id else {
        return Ok(0);
    };
    let asked: HashSet<i64> = existing.iter().filter_map(|c| c.enrollment_id).collect();
    let class = class_svc::get(tx, class_id).await?;
    let course = course_svc::get(tx, recording.course_id).await?;
    let trainer = trainer_svc::get(tx, recording.trainer_id).await?;
    let dates = class_svc::date_range(class.start_date, class.end_date);
    let learners: Vec<_> = class_svc::roster(tx, class_id)
        .await?
        .into_iter()
        .filter(|l| l.attended && !asked.contains(&l.id))
        .map(|l| (l, crate::auth::random_token()))
        .collect();
    let rows = learners
        .iter()
        .map(|(l, token)| new_row(None, Some(l.id), Some(crate::auth::token_hash(token))))
        .collect();
    let by_learner = crate::services::insert_returning_by(tx, rows, |c| c.enrollment_id).await?;
    let mut outbox = mail::Outbox::new();
    for (learner, token) in learners {
        let row = crate::services::inserted(&by_learner, &Some(learner.id))?;
        let email = RecordingConsentRequest {
            learner_name: learner.learner_name.clone(),
            recording_title: recording.title.clone(),
            course_code: course.course_code.clone(),
            course_title: course.title.clone(),
            dates: dates.clone(),
            presenter: trainer.name.clone(),
            link: format!("{}/{token}", consent_base.trim_end_matches('/')),
        }
        .to(
            &learner.learner_email,
            Some(format!("recording:{}", recording.id)),
        )
        .map_err(mail::render_error)?;
        outbox.push(tx, email).await?;
        let entry = Entry::new("recording_consent", row.id, "request")
            .changes(diff(&json!({}), &consent_snapshot(row), &[]))
            .parent("recording", recording.id);
        tx.record_as(actor, entry).await?;
    }
    Ok(outbox.finish(tx).await? as usize)
}

/// Asks the learners added to the source class's roster since the recording was
/// created. Returns how many were asked.
pub async fn request_new_learners(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    consent_base: &str,
) -> Result<usize, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let recording = get(&tx, id).await?;
    if recording.status == RecordingStatus::Withdrawn {
        return Err(ServiceError::Refused(format!(
            "{} is withdrawn: no consent is needed any more.",
            recording.title
        )));
    }
    let n = request_missing(&tx, actor, &recording, consent_base).await?;
    tx.commit().await?;
    Ok(n)
}

/// Applies `change` to one consent row and records it with how it was given.
async fn change_consent(
    tx: &Recorder,
    actor: &Actor,
    consent: recording_consents::Model,
    change: ConsentChange,
    method: ConsentMethod,
    note: Option<String>,
) -> Result<recording_consents::Model, ServiceError> {
    let recording = get(tx, consent.recording_id).await?;
    if recording.status == RecordingStatus::Withdrawn {
        return Err(ServiceError::Refused(
            "This recording is withdrawn: it is no longer used, so there is nothing to change."
                .into(),
        ));
    }
    let to = consent
        .status
        .apply(change)
        .map_err(ServiceError::Refused)?;
    let before = consent_snapshot(&consent);
    let before_note = consent.note.clone();
    let now = clock::now();
    let mut active: recording_consents::ActiveModel = consent.into();
    active.status = Set(to);
    active.method = Set(Some(method));
    active.note = Set(note);
    active.changed_at = Set(Some(now));
    active.updated_at = Set(now);
    let consent = active.update(tx).await?;
    let mut changes = diff(&before, &consent_snapshot(&consent), &[]);
    if consent.note != before_note {
        changes["note"] = json!({"changed": true});
    }
    if change == ConsentChange::Revoke && recording.status == RecordingStatus::Published {
        // Rule 3: the published recording now needs action.
        changes["recording_needs_action"] = json!(true);
    }
    let action = match change {
        ConsentChange::Grant => "grant",
        ConsentChange::Decline => "decline",
        ConsentChange::Revoke => "revoke",
    };
    let mut entry = Entry::new("recording_consent", consent.id, action)
        .changes(changes)
        .reason(format!("given {}", method.label()))
        .parent("recording", recording.id);
    if let Some(note) = &consent.note {
        entry = entry.text(NOTE, note.clone());
    }
    tx.record_as(actor, entry).await?;
    Ok(consent)
}

/// What a learner's consent page shows: the recording and their own answer, nothing of
/// anyone else.
#[derive(Debug, Clone)]
pub struct ConsentLink {
    pub recording_title: String,
    pub course_code: String,
    pub course_title: String,
    pub dates: String,
    pub presenter: String,
    pub status: ConsentStatus,
    pub recording_status: RecordingStatus,
}

async fn consent_by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<recording_consents::Model, ServiceError> {
    // Tokens are 64 hex digits: anything else cannot match, so skip the lookup.
    if !crate::auth::is_token_shaped(token) {
        return Err(ServiceError::NotFound);
    }
    recording_consents::Entity::find()
        .filter(recording_consents::Column::TokenHash.eq(crate::auth::token_hash(token)))
        .one(db)
        .await?
        .filter(|c| c.enrollment_id.is_some())
        .ok_or(ServiceError::NotFound)
}

async fn link_view(
    db: &impl ConnectionTrait,
    consent: &recording_consents::Model,
) -> Result<ConsentLink, ServiceError> {
    let recording = get(db, consent.recording_id).await?;
    let course = course_svc::get(db, recording.course_id).await?;
    let trainer = trainer_svc::get(db, recording.trainer_id).await?;
    let dates = match recording.source_class_id {
        Some(id) => {
            let c = class_svc::get(db, id).await?;
            class_svc::date_range(c.start_date, c.end_date)
        }
        None => String::new(),
    };
    Ok(ConsentLink {
        recording_title: recording.title.clone(),
        course_code: course.course_code,
        course_title: course.title,
        dates,
        presenter: trainer.name,
        status: consent.status,
        recording_status: recording.status,
    })
}

/// The consent page behind `token` (unknown or cancelled → `NotFound`).
pub async fn open_link(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<ConsentLink, ServiceError> {
    let consent = consent_by_token(db, token).await?;
    link_view(db, &consent).await
}

/// The learner's answer through their link; the ledger names them `learner:<enrollment>`.
pub async fn answer_by_link(
    db: &DatabaseConnection,
    token: &str,
    change: ConsentChange,
) -> Result<ConsentLink, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, &Actor::System).await?;
    let consent = consent_by_token(&tx, token).await?;
    let actor = Actor::Learner(consent.enrollment_id.expect("learner rows only"));
    let consent =
        change_consent(&tx, &actor, consent, change, ConsentMethod::EmailLink, None).await?;
    let view = link_view(&tx, &consent).await?;
    tx.commit().await?;
    Ok(view)
}

/// The presenting MCT (signed in as the trainer linked to them) grants or revokes their
/// own consent. Anyone else: 404 for another trainer, 403 for other roles.
pub async fn answer_as_presenter(
    db: &DatabaseConnection,
    user: &Caller,
    recording_id: i64,
    change: ConsentChange,
) -> Result<recording_consents::Model, ServiceError> {
    if user.role != Role::Trainer {
        return Err(ServiceError::Forbidden);
    }
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, &Actor::User(user.id)).await?;
    let recording = visible(&tx, user, recording_id).await?;
    let consent = recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.eq(recording.id))
        .filter(recording_consents::Column::TrainerId.eq(recording.trainer_id))
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let consent = change_consent(
        &tx,
        &Actor::User(user.id),
        consent,
        change,
        ConsentMethod::InApp,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(consent)
}

/// A coordinator records consent given (or declined, or revoked) on paper, with a
/// required note of where the paper is kept. A subject not asked yet is asked first.
pub async fn record_paper(
    db: &DatabaseConnection,
    actor: &Actor,
    recording_id: i64,
    consent_id: i64,
    change: ConsentChange,
    note: &str,
) -> Result<recording_consents::Model, ServiceError> {
    let note = parse_text(note, 300).map_err(|m| {
        ServiceError::field(
            "note",
            if note.trim().is_empty() {
                "say where the signed paper is kept (e.g. \"binder 2026-Q4, page 12\")".into()
            } else {
                m
            },
        )
    })?;
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let consent = recording_consents::Entity::find_by_id(consent_id)
        .filter(recording_consents::Column::RecordingId.eq(recording_id))
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let consent = change_consent(
        &tx,
        actor,
        consent,
        change,
        ConsentMethod::Paper,
        Some(note),
    )
    .await?;
    tx.commit().await?;
    Ok(consent)
}
