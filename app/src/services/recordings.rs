//! Recordings and their consent (SPEC §2, §3 rules 2–4): the record, its consent
//! subjects (the presenting MCT and every learner who attended the source class: only
//! they are in the recording), publication and
//! withdrawal. Learners are named by enrollment id only, here and in the ledger (SPEC §6).
//!
//! Learners added to the source class's roster after the recording was created have no
//! consent row yet: they count as "not asked" (publishing is refused naming them; a
//! published recording then needs action) until a coordinator requests their consent
//! with [`request_new_learners`].
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{classes, courses, enrollments, recording_consents, recordings, takedowns, trainers};
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
use crate::domain::recording::{
    self as rules, ConsentChange, ConsentMethod, ConsentStatus, Presenter, RecordingStatus,
    Subject, TakedownStatus,
};
use crate::domain::role::{Caller, Role};
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::mail::{self, Message, messages::message};

message!(
    /// Asks a learner of a recorded class for their consent, with a link to their own
    /// consent page (grant, decline, later revoke).
    RecordingConsentRequest, recording_consent_request,
    kind = "recording_consent",
    text = "emails/recording_consent.txt",
    html = "emails/recording_consent.html",
    subject = |m| format!("Your consent: recording of {} ({})", m.course_code, m.dates),
    {
        learner_name: String,
        recording_title: String,
        course_code: String,
        course_title: String,
        dates: String,
        presenter: String,
        /// The learner's consent page (`/consent/<token>`), no sign-in needed.
        link: String,
    }
);

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

pub fn status(r: &recordings::Model) -> RecordingStatus {
    r.status.parse().unwrap_or(RecordingStatus::Draft)
}

pub fn consent_status(c: &recording_consents::Model) -> ConsentStatus {
    c.status.parse().unwrap_or(ConsentStatus::Requested)
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
    if !class_svc::modality(&class).is_live() {
        return Err(ServiceError::field(
            "source_class_ref",
            format!("{class_ref} is itself recorded: the source must be a live class"),
        ));
    }
    if class_svc::status(&class) == ClassStatus::Cancelled {
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

/// Creates a consent row for every subject not asked yet: the presenting MCT, and each
/// learner who attended the source class (who gets an e-mail with a link to
/// `{consent_base}/<token>`). A learner who was absent is not in the recording.
/// Returns how many learners were asked.
async fn request_missing(
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
            status: Set(ConsentStatus::Requested.id().to_string()),
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
    let mut count = 0;
    for learner in class_svc::roster(tx, class_id).await? {
        if !learner.attended || asked.contains(&learner.id) {
            continue;
        }
        let token = crate::auth::random_token();
        let row = new_row(
            None,
            Some(learner.id),
            Some(crate::auth::token_hash(&token)),
        )
        .insert(tx)
        .await?;
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
        mail::enqueue(tx, email).await?;
        let entry = Entry::new("recording_consent", row.id, "request")
            .changes(diff(&json!({}), &consent_snapshot(&row), &[]))
            .parent("recording", recording.id);
        tx.record_as(actor, entry).await?;
        count += 1;
    }
    Ok(count)
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
        status: Set(RecordingStatus::Draft.id().to_string()),
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
    let old_status = status(&old);
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
    if status(&recording) == RecordingStatus::Withdrawn {
        return Err(ServiceError::Refused(format!(
            "{} is withdrawn: no consent is needed any more.",
            recording.title
        )));
    }
    let n = request_missing(&tx, actor, &recording, consent_base).await?;
    tx.commit().await?;
    Ok(n)
}

/// One consent subject on the recording page.
#[derive(Debug, Clone)]
pub struct SubjectLine {
    /// `None` for a roster learner not asked yet.
    pub consent: Option<recording_consents::Model>,
    pub status: ConsentStatus,
    /// `MCT <name>` or `learner #<enrollment id>` (rules and ledger never need names).
    pub label: String,
    /// The learner's name for the page (staff only), or the MCT's.
    pub name: String,
    pub is_mct: bool,
}

/// A recording with everything its page and the list show.
#[derive(Debug, Clone)]
pub struct RecordingDetail {
    pub recording: recordings::Model,
    pub course: courses::Model,
    pub trainer: trainers::Model,
    pub source_class: Option<classes::Model>,
    pub subjects: Vec<SubjectLine>,
    pub takedowns: Vec<takedowns::Model>,
}

impl RecordingDetail {
    pub fn status(&self) -> RecordingStatus {
        status(&self.recording)
    }

    fn rule_subjects(&self) -> Vec<Subject> {
        self.subjects
            .iter()
            .map(|s| Subject {
                label: if s.consent.is_none() {
                    format!("{} (added to the roster since: not asked yet)", s.label)
                } else {
                    s.label.clone()
                },
                status: s.status,
            })
            .collect()
    }

    /// Why publishing is refused today (empty: it may be published).
    pub fn publication_refusals(&self, today: NaiveDate) -> Vec<String> {
        let presenter = Presenter {
            name: &self.trainer.name,
            affiliated: self.trainer.affiliated,
            mct_valid_until: self.trainer.mct_valid_until,
        };
        rules::publication_refusals(
            self.status(),
            course_svc::content(&self.course),
            &presenter,
            &self.rule_subjects(),
            today,
        )
    }

    pub fn granted(&self) -> usize {
        self.subjects
            .iter()
            .filter(|s| s.status == ConsentStatus::Granted)
            .count()
    }

    /// Subjects who have not granted (requested, declined, revoked, or not asked yet),
    /// on a recording that is not withdrawn.
    pub fn missing_consent(&self) -> bool {
        self.status() != RecordingStatus::Withdrawn && self.granted() < self.subjects.len()
    }

    pub fn revoked(&self) -> bool {
        self.status() != RecordingStatus::Withdrawn
            && self
                .subjects
                .iter()
                .any(|s| s.status == ConsentStatus::Revoked)
    }

    /// Rule 3: published, and someone has not granted (a revocation since publication).
    pub fn needs_action(&self) -> bool {
        let subjects: Vec<ConsentStatus> = self.subjects.iter().map(|s| s.status).collect();
        rules::needs_action(self.status(), &subjects)
    }

    /// Rule 4.
    pub fn outdated(&self) -> bool {
        self.status() != RecordingStatus::Withdrawn
            && rules::is_outdated(
                &self.recording.courseware_version,
                &self.course.courseware_version,
            )
    }

    fn takedown_status(t: &takedowns::Model) -> TakedownStatus {
        t.status.parse().unwrap_or(TakedownStatus::Open)
    }

    /// Rule 6.
    pub fn takedown_overdue(&self, today: NaiveDate) -> bool {
        self.takedowns
            .iter()
            .any(|t| rules::is_overdue(Self::takedown_status(t), t.due_on, today))
    }

    pub fn takedown_due(&self, today: NaiveDate) -> bool {
        self.takedowns
            .iter()
            .any(|t| rules::is_due_soon(Self::takedown_status(t), t.due_on, today))
    }

    pub fn open_takedown(&self) -> bool {
        self.takedowns
            .iter()
            .any(|t| Self::takedown_status(t) != TakedownStatus::Completed)
    }

    /// Anything on the "needs action" list: missing or revoked consent, outdated, an
    /// open takedown.
    pub fn attention(&self) -> bool {
        self.missing_consent() || self.revoked() || self.outdated() || self.open_takedown()
    }
}

/// Loads the details of `found` with a handful of queries for the whole batch.
async fn details(
    db: &impl ConnectionTrait,
    found: Vec<recordings::Model>,
) -> Result<Vec<RecordingDetail>, ServiceError> {
    if found.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = found.iter().map(|r| r.id).collect();
    let courses: HashMap<i64, courses::Model> = courses::Entity::find()
        .filter(courses::Column::Id.is_in(found.iter().map(|r| r.course_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let trainers: HashMap<i64, trainers::Model> = trainers::Entity::find()
        .filter(trainers::Column::Id.is_in(found.iter().map(|r| r.trainer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let class_ids: Vec<i64> = found.iter().filter_map(|r| r.source_class_id).collect();
    let classes: HashMap<i64, classes::Model> = classes::Entity::find()
        .filter(classes::Column::Id.is_in(class_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut rosters: HashMap<i64, Vec<enrollments::Model>> = HashMap::new();
    for e in enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.is_in(class_ids))
        .order_by_asc(enrollments::Column::LearnerName)
        .order_by_asc(enrollments::Column::Id)
        .all(db)
        .await?
    {
        rosters.entry(e.class_id).or_default().push(e);
    }
    let mut consents: HashMap<i64, Vec<recording_consents::Model>> = HashMap::new();
    for c in recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.is_in(ids.clone()))
        .order_by_asc(recording_consents::Column::Id)
        .all(db)
        .await?
    {
        consents.entry(c.recording_id).or_default().push(c);
    }
    let mut takedowns: HashMap<i64, Vec<takedowns::Model>> = HashMap::new();
    for t in takedowns::Entity::find()
        .filter(takedowns::Column::RecordingId.is_in(ids))
        .order_by_desc(takedowns::Column::ReceivedOn)
        .order_by_desc(takedowns::Column::Id)
        .all(db)
        .await?
    {
        takedowns.entry(t.recording_id).or_default().push(t);
    }
    found
        .into_iter()
        .map(|recording| {
            let course = courses
                .get(&recording.course_id)
                .cloned()
                .ok_or(ServiceError::NotFound)?;
            let trainer = trainers
                .get(&recording.trainer_id)
                .cloned()
                .ok_or(ServiceError::NotFound)?;
            let source_class = recording
                .source_class_id
                .and_then(|id| classes.get(&id).cloned());
            let rows = consents.remove(&recording.id).unwrap_or_default();
            let mut subjects = vec![];
            for c in rows.iter().filter(|c| c.trainer_id.is_some()) {
                subjects.push(SubjectLine {
                    consent: Some(c.clone()),
                    status: consent_status(c),
                    label: format!("MCT {}", trainer.name),
                    name: trainer.name.clone(),
                    is_mct: true,
                });
            }
            // Learners: those who attended the source class, on its roster now (a line
            // removed or marked absent is no longer a subject; its consent history stays).
            let roster = recording
                .source_class_id
                .and_then(|id| rosters.get(&id))
                .cloned()
                .unwrap_or_default();
            for learner in roster.into_iter().filter(|l| l.attended) {
                let consent = rows
                    .iter()
                    .find(|c| c.enrollment_id == Some(learner.id))
                    .cloned();
                subjects.push(SubjectLine {
                    status: consent
                        .as_ref()
                        .map(consent_status)
                        .unwrap_or(ConsentStatus::Requested),
                    consent,
                    label: format!("learner #{}", learner.id),
                    name: learner.learner_name,
                    is_mct: false,
                });
            }
            let takedowns = takedowns.remove(&recording.id).unwrap_or_default();
            Ok(RecordingDetail {
                recording,
                course,
                trainer,
                source_class,
                subjects,
                takedowns,
            })
        })
        .collect()
}

pub async fn detail(
    db: &impl ConnectionTrait,
    recording: recordings::Model,
) -> Result<RecordingDetail, ServiceError> {
    details(db, vec![recording])
        .await?
        .pop()
        .ok_or(ServiceError::NotFound)
}

/// Every recording (of `trainer_id` when given), newest first. A TSP holds hundreds of
/// recordings, not millions: the list and its flags are computed in memory.
pub async fn list(
    db: &impl ConnectionTrait,
    trainer_id: Option<i64>,
) -> Result<Vec<RecordingDetail>, ServiceError> {
    let mut query = recordings::Entity::find();
    if let Some(t) = trainer_id {
        query = query.filter(recordings::Column::TrainerId.eq(t));
    }
    let found = query
        .order_by_desc(recordings::Column::CreatedAt)
        .order_by_desc(recordings::Column::Id)
        .all(db)
        .await?;
    details(db, found).await
}

/// The dashboard's figures: recordings needing action and overdue takedowns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attention {
    pub recordings: usize,
    pub overdue_takedowns: usize,
}

pub async fn attention(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Attention, ServiceError> {
    let all = list(db, None).await?;
    let overdue_takedowns = takedowns::Entity::find()
        .filter(takedowns::Column::Status.eq(TakedownStatus::Open.id()))
        .filter(takedowns::Column::DueOn.lt(today))
        .all(db)
        .await?
        .len();
    Ok(Attention {
        recordings: all.iter().filter(|r| r.attention()).count(),
        overdue_takedowns,
    })
}

async fn set_status(
    tx: &Recorder,
    actor: &Actor,
    recording: recordings::Model,
    to: RecordingStatus,
    action: &'static str,
    reason: Option<String>,
) -> Result<recordings::Model, ServiceError> {
    let from = recording.status.clone();
    let mut active: recordings::ActiveModel = recording.into();
    active.status = Set(to.id().to_string());
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
    let to = status(&recording)
        .withdraw()
        .map_err(ServiceError::Refused)?;
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
    if status(&recording) == RecordingStatus::Withdrawn {
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
    if status(&recording) == RecordingStatus::Withdrawn {
        return Err(ServiceError::Refused(
            "This recording is withdrawn: it is no longer used, so there is nothing to change."
                .into(),
        ));
    }
    let to = consent_status(&consent)
        .apply(change)
        .map_err(ServiceError::Refused)?;
    let before = consent_snapshot(&consent);
    let before_note = consent.note.clone();
    let now = clock::now();
    let mut active: recording_consents::ActiveModel = consent.into();
    active.status = Set(to.id().to_string());
    active.method = Set(Some(method.id().to_string()));
    active.note = Set(note);
    active.changed_at = Set(Some(now));
    active.updated_at = Set(now);
    let consent = active.update(tx).await?;
    let mut changes = diff(&before, &consent_snapshot(&consent), &[]);
    if consent.note != before_note {
        changes["note"] = json!({"changed": true});
    }
    if change == ConsentChange::Revoke && status(&recording) == RecordingStatus::Published {
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
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
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
        status: consent_status(consent),
        recording_status: status(&recording),
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

/// Published recordings of `course_id`, for the recorded-class form.
pub async fn published_of_course(
    db: &impl ConnectionTrait,
    course_id: Option<i64>,
) -> Result<Vec<recordings::Model>, ServiceError> {
    let mut q = recordings::Entity::find()
        .filter(recordings::Column::Status.eq(RecordingStatus::Published.id()));
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
    rules::check_backs_new_class(&recording.title, status(&recording))
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
