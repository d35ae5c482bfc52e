//! Recordings and their consent (SPEC §2, §3 rules 2–4): the record, its consent
//! subjects (the presenting MCT and every learner who attended the source class: only
//! they are in the recording), publication and
//! withdrawal. Learners are named by enrollment id only, here and in the ledger (SPEC §6).
//!
//! Learners added to the source class's roster after the recording was created have no
//! consent row yet: they count as "not asked" (publishing is refused naming them; a
//! published recording then needs action) until a coordinator requests their consent
//! with [`request_new_learners`].

use chrono::NaiveDate;
use entity::{classes, courses, recording_consents, recordings, trainers};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Outcome, ServiceError, classes as class_svc, courses as course_svc, trainers as trainer_svc,
};
use crate::clock;
use crate::db::begin_write;
use crate::domain::delivery::{ClassStatus, Modality};
use crate::domain::fields::{FieldErrors, parse_code, parse_optional_text, parse_text};
use crate::domain::recording::{self as rules, RecordingStatus};
use crate::domain::role::Caller;
use crate::ledger::{Actor, Entry, Recorder, diff};

mod consent;
mod detail;
use consent::request_missing;
pub use consent::{
    ConsentLink, answer_as_presenter, answer_by_link, open_link, record_paper, request_new_learners,
};
pub use detail::{Attention, RecordingDetail, SubjectLine, attention, detail, list};

/// The recording form (and its edit), as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RecordingFields {
    pub title: String,
    pub course_code: String,
    pub mct_id: String,
    /// The live class that was recorded (optional).
    pub source_class_ref: String,
    /// Blank: the course's current version.
    pub courseware_version: String,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordingInput {
    pub title: String,
    pub course_code: String,
    pub mct_id: String,
    pub source_class_ref: Option<String>,
    pub courseware_version: Option<String>,
    pub location: String,
}

impl RecordingFields {
    pub fn parse(&self) -> Result<RecordingInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let title = e.check("title", parse_text(&self.title, 200));
        let course_code = e.check("course_code", parse_code(&self.course_code, 32));
        let mct_id = e.check("mct_id", parse_code(&self.mct_id, 64));
        let source = if self.source_class_ref.trim().is_empty() {
            Some(None)
        } else {
            e.check("source_class_ref", parse_code(&self.source_class_ref, 64))
                .map(Some)
        };
        let version = e.check(
            "courseware_version",
            parse_optional_text(&self.courseware_version, 32),
        );
        let location = e.check("location", parse_text(&self.location, 500));
        match (title, course_code, mct_id, source, version, location) {
            (
                Some(title),
                Some(course_code),
                Some(mct_id),
                Some(source_class_ref),
                Some(courseware_version),
                Some(location),
            ) if e.is_empty() => Ok(RecordingInput {
                title,
                course_code,
                mct_id,
                source_class_ref,
                courseware_version,
                location,
            }),
            _ => Err(e),
        }
    }

    pub fn of(r: &RecordingDetail) -> RecordingFields {
        RecordingFields {
            title: r.recording.title.clone(),
            course_code: r.course.course_code.clone(),
            mct_id: r.trainer.mct_id.clone(),
            source_class_ref: r
                .source_class
                .as_ref()
                .map(|c| c.class_ref.clone())
                .unwrap_or_default(),
            courseware_version: r.recording.courseware_version.clone(),
            location: r.recording.location.clone(),
        }
    }
}

fn snapshot(
    r: &recordings::Model,
    course: &courses::Model,
    trainer: &trainers::Model,
    source: Option<&classes::Model>,
) -> Value {
    json!({
        "title": r.title, "course_code": course.course_code, "mct_id": trainer.mct_id,
        "source_class_ref": source.map(|c| c.class_ref.clone()),
        "courseware_version": r.courseware_version, "location": r.location, "status": r.status,
    })
}

/// The ledger text field of a paper-consent note.
pub const NOTE: &str = "note";

/// The ledger's view of a consent row: subject by id only, never a name or e-mail. The
/// paper-consent note is free text that may name the subject: it is kept beside the
/// chain ([`Entry::text`]), never in the changes.
fn consent_snapshot(c: &recording_consents::Model) -> Value {
    json!({
        "recording_id": c.recording_id, "trainer_id": c.trainer_id,
        "enrollment_id": c.enrollment_id, "status": c.status, "method": c.method,
    })
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<recordings::Model, ServiceError> {
    recordings::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The recording if `user` may see it: staff see every one, a trainer only those they
/// present (another's does not exist for them), as with classes.
pub async fn visible(
    db: &impl ConnectionTrait,
    user: &Caller,
    id: i64,
) -> Result<recordings::Model, ServiceError> {
    let recording = get(db, id).await?;
    trainer_svc::ensure_visible(db, user, recording.trainer_id).await?;
    Ok(recording)
}

/// The source class a form names: a live class of the same course, not cancelled.
async fn source_named(
    tx: &impl ConnectionTrait,
    class_ref: &str,
    course: &courses::Model,
) -> Result<classes::Model, ServiceError> {
    let class = class_svc::by_ref(tx, class_ref)
        .await?
        .ok_or_else(|| ServiceError::field("source_class_ref", format!("no class {class_ref}")))?;
    if !class.modality.is_live() {
        return Err(ServiceError::field(
            "source_class_ref",
            format!("{class_ref} is itself recorded: the source must be a live class"),
        ));
    }
    if class.status == ClassStatus::Cancelled {
        return Err(ServiceError::field(
            "source_class_ref",
            format!("{class_ref} is cancelled: it was never delivered, so never recorded"),
        ));
    }
    if class.course_id != course.id {
        return Err(ServiceError::field(
            "source_class_ref",
            format!("{class_ref} is not a class of {}", course.course_code),
        ));
    }
    Ok(class)
}

/// A new draft recording; consent is requested from every subject at once.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &RecordingInput,
    consent_base: &str,
) -> Result<recordings::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let course = class_svc::course_named(&tx, &input.course_code).await?;
    let trainer = class_svc::trainer_named(&tx, &input.mct_id).await?;
    let source = match &input.source_class_ref {
        Some(r) => Some(source_named(&tx, r, &course).await?),
        None => None,
    };
    let now = clock::now();
    let recording = recordings::ActiveModel {
        title: Set(input.title.clone()),
        course_id: Set(course.id),
        trainer_id: Set(trainer.id),
        source_class_id: Set(source.as_ref().map(|c| c.id)),
        courseware_version: Set(input
            .courseware_version
            .clone()
            .unwrap_or_else(|| course.courseware_version.clone())),
        location: Set(input.location.clone()),
        status: Set(RecordingStatus::Draft),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let entry = Entry::new("recording", recording.id, "create").changes(diff(
        &json!({}),
        &snapshot(&recording, &course, &trainer, source.as_ref()),
        &[],
    ));
    tx.record_as(actor, entry).await?;
    request_missing(&tx, actor, &recording, consent_base).await?;
    tx.commit().await?;
    Ok(recording)
}

/// Edits a recording. The presenter cannot change (their consent is on file: record a
/// new recording instead); a source class can be named once, when there was none, and
/// its learners are then asked. A withdrawn recording is final.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &RecordingInput,
    consent_base: &str,
) -> Result<Outcome<recordings::Model>, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let old = get(&tx, id).await?;
    let old_status = old.status;
    if old_status == RecordingStatus::Withdrawn {
        return Err(ServiceError::Refused(format!(
            "{} is withdrawn: it can no longer be changed.",
            old.title
        )));
    }
    let course = class_svc::course_named(&tx, &input.course_code).await?;
    let trainer = class_svc::trainer_named(&tx, &input.mct_id).await?;
    if trainer.id != old.trainer_id {
        return Err(ServiceError::field(
            "mct_id",
            "the presenting MCT cannot change (their consent is on file): record a new recording instead",
        ));
    }
    if course.id != old.course_id && old_status != RecordingStatus::Draft {
        return Err(ServiceError::field(
            "course_code",
            "the course of a published recording cannot change",
        ));
    }
    let old_course = course_svc::get(&tx, old.course_id).await?;
    let old_source = match old.source_class_id {
        Some(c) => Some(class_svc::get(&tx, c).await?),
        None => None,
    };
    let source = match (&input.source_class_ref, &old_source) {
        (None, None) => None,
        (Some(r), Some(s)) if *r == s.class_ref => {
            if course.id != s.course_id {
                return Err(ServiceError::field(
                    "course_code",
                    format!(
                        "the source class {} is a class of another course",
                        s.class_ref
                    ),
                ));
            }
            Some(s.clone())
        }
        (Some(r), None) => Some(source_named(&tx, r, &course).await?),
        (_, Some(s)) => {
            return Err(ServiceError::field(
                "source_class_ref",
                format!(
                    "the source class ({}) cannot change once set: its learners were asked for consent",
                    s.class_ref
                ),
            ));
        }
    };
    let version = input
        .courseware_version
        .clone()
        .unwrap_or_else(|| old.courseware_version.clone());
    let unchanged = old.title == input.title
        && old.course_id == course.id
        && old.source_class_id == source.as_ref().map(|c| c.id)
        && old.courseware_version == version
        && old.location == input.location;
    if unchanged {
        return Ok(Outcome::Unchanged(old));
    }
    let before = snapshot(&old, &old_course, &trainer, old_source.as_ref());
    let mut active: recordings::ActiveModel = old.into();
    active.title = Set(input.title.clone());
    active.course_id = Set(course.id);
    active.source_class_id = Set(source.as_ref().map(|c| c.id));
    active.courseware_version = Set(version);
    active.location = Set(input.location.clone());
    active.updated_at = Set(clock::now());
    let recording = active.update(&tx).await?;
    let entry = Entry::new("recording", recording.id, "update").changes(diff(
        &before,
        &snapshot(&recording, &course, &trainer, source.as_ref()),
        &[],
    ));
    tx.record_as(actor, entry).await?;
    request_missing(&tx, actor, &recording, consent_base).await?;
    tx.commit().await?;
    Ok(Outcome::Updated(recording))
}

async fn set_status(
    tx: &Recorder,
    actor: &Actor,
    recording: recordings::Model,
    to: RecordingStatus,
    action: &'static str,
    reason: Option<String>,
) -> Result<recordings::Model, ServiceError> {
    let from = recording.status;
    let mut active: recordings::ActiveModel = recording.into();
    active.status = Set(to);
    active.updated_at = Set(clock::now());
    let recording = active.update(tx).await?;
    let mut entry = Entry::new("recording", recording.id, action)
        .changes(json!({"status": {"before": from, "after": to.id()}}));
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    tx.record_as(actor, entry).await?;
    Ok(recording)
}

/// Publishes a draft when rules 2 and 3 hold on `today`; otherwise refuses with every
/// reason.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    today: NaiveDate,
) -> Result<recordings::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let recording = get(&tx, id).await?;
    let detail = detail(&tx, recording.clone()).await?;
    let refusals = detail.publication_refusals(today);
    if !refusals.is_empty() {
        return Err(ServiceError::Refused(format!(
            "{} cannot be published: {}.",
            recording.title,
            refusals.join("; ")
        )));
    }
    let recording = set_status(
        &tx,
        actor,
        recording,
        RecordingStatus::Published,
        "publish",
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(recording)
}

/// Withdraws a recording by hand (a takedown's completion does it too), with a reason.
pub async fn withdraw(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<recordings::Model, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::field(
            "reason",
            "say why the recording is withdrawn",
        ));
    }
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let recording = get(&tx, id).await?;
    let to = recording.status.withdraw().map_err(ServiceError::Refused)?;
    let recording = set_status(
        &tx,
        actor,
        recording,
        to,
        "withdraw",
        Some(reason.to_string()),
    )
    .await?;
    tx.commit().await?;
    Ok(recording)
}

/// Withdraws inside a takedown's transaction (no-op when already withdrawn).
pub(crate) async fn withdraw_for_takedown(
    tx: &Recorder,
    actor: &Actor,
    recording: recordings::Model,
    reference: &str,
) -> Result<recordings::Model, ServiceError> {
    if recording.status == RecordingStatus::Withdrawn {
        return Ok(recording);
    }
    set_status(
        tx,
        actor,
        recording,
        RecordingStatus::Withdrawn,
        "withdraw",
        Some(format!("takedown {reference} completed")),
    )
    .await
}

/// Published recordings of `course_id`, for the recorded-class form.
pub async fn published_of_course(
    db: &impl ConnectionTrait,
    course_id: Option<i64>,
) -> Result<Vec<recordings::Model>, ServiceError> {
    let mut q = recordings::Entity::find()
        .filter(recordings::Column::Status.eq(RecordingStatus::Published));
    if let Some(c) = course_id {
        q = q.filter(recordings::Column::CourseId.eq(c));
    }
    Ok(q.order_by_asc(recordings::Column::Title).all(db).await?)
}

/// Rule 3 for the class form: the recording a recorded class names must be published
/// and of the class's course; a live class names none.
pub async fn check_class_recording(
    db: &impl ConnectionTrait,
    recording_id: i64,
    course: &courses::Model,
    modality: Modality,
) -> Result<recordings::Model, ServiceError> {
    if modality != Modality::Recorded {
        return Err(ServiceError::field(
            "recording_id",
            "only a recorded class delivers a recording: choose modality Recorded, or no recording",
        ));
    }
    let recording = recordings::Entity::find_by_id(recording_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::field("recording_id", format!("no recording #{recording_id}"))
        })?;
    if recording.course_id != course.id {
        return Err(ServiceError::field(
            "recording_id",
            format!(
                "{} is a recording of another course, not {}",
                recording.title, course.course_code
            ),
        ));
    }
    rules::check_backs_new_class(&recording.title, recording.status)
        .map_err(|m| ServiceError::field("recording_id", m))?;
    Ok(recording)
}

/// Recorded classes that delivered this recording.
pub async fn classes_using(
    db: &impl ConnectionTrait,
    recording_id: i64,
) -> Result<Vec<classes::Model>, ServiceError> {
    Ok(classes::Entity::find()
        .filter(classes::Column::RecordingId.eq(recording_id))
        .order_by_desc(classes::Column::StartDate)
        .all(db)
        .await?)
}
