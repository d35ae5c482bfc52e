//! Classes (deliveries): forms, the `classes` import, the lifecycle and the list.

use chrono::NaiveDate;
use entity::{classes, courses, enrollments, trainers};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Outcome, ServiceError, courses as course_svc, record_write, trainers as trainer_svc};
use crate::clock;
use crate::config::ServerConfig;
use crate::db::begin_write;
use crate::domain::delivery::{
    Acting, ClassStatus, Modality, amendment_reason, check_dates, check_schedulable,
    check_status_dates, confirmer,
};
use crate::domain::fields::{
    FieldErrors, parse_code, parse_date, parse_optional_text, parse_optional_url,
};
use crate::domain::policy::check_trainer_standing;
use crate::domain::role::{Caller, Role};
use crate::ledger::{Actor, Entry, Recorder};

mod lifecycle;
mod list;
mod scheduling;
mod sort;
use lifecycle::check_attendance_stays_true;
pub use lifecycle::{change_status, confirm};
pub use list::{
    COUNT_CAP, ClassFilter, ClassPage, ClassRow, Cursor, Direction, PageCache, Sort, SortKey, list,
    list_page,
};
pub use scheduling::{double_bookings, next_ref};

/// A class as typed in the form or a `classes` CSV row (same field names; the form
/// has no `status`, the CSV has no `location`, survey link or reason).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClassFields {
    pub class_ref: String,
    pub course_code: String,
    pub mct_id: String,
    pub start_date: String,
    pub end_date: String,
    pub modality: String,
    pub status: String,
    pub location: String,
    pub external_survey_url: String,
    /// The published recording a recorded class delivers (form only; blank: none).
    pub recording_id: String,
    /// A BCP 47 tag (`en`, `de-DE`); in an import, blank keeps what is stored.
    pub language: String,
    /// `true`: listed on the public schedule (the form's checkbox; in an import
    /// `true`/`false`, blank keeps what is stored).
    pub public: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassInput {
    pub class_ref: String,
    pub course_code: String,
    pub mct_id: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub modality: Modality,
    /// Only imports set the status; forms leave it to the lifecycle buttons.
    pub status: Option<ClassStatus>,
    /// `None` keeps what is stored (imports carry no location or survey link).
    pub location: Option<Option<String>>,
    pub external_survey_url: Option<Option<String>>,
    /// `None` keeps what is stored (imports name no recording).
    pub recording_id: Option<Option<i64>>,
    /// `None` keeps what is stored (an import's blank cell or absent column).
    pub language: Option<Option<String>>,
    pub published_schedule: Option<bool>,
}

impl ClassFields {
    /// `from_import`: the row carries a status and no location or survey link.
    pub fn parse(&self, from_import: bool) -> Result<ClassInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let class_ref = e.check("class_ref", parse_code(&self.class_ref, 64));
        let course_code = e.check("course_code", parse_code(&self.course_code, 32));
        let mct_id = e.check("mct_id", parse_code(&self.mct_id, 64));
        let start = e.check("start_date", parse_date(&self.start_date));
        let end = e.check("end_date", parse_date(&self.end_date));
        if let (Some(start), Some(end)) = (start, end) {
            e.check("end_date", check_dates(start, end));
        }
        let modality = e.check("modality", self.modality.parse::<Modality>());
        let status = if from_import {
            e.check("status", self.status.parse::<ClassStatus>())
                .map(Some)
        } else {
            Some(None)
        };
        let recording_id = if from_import {
            Some(None)
        } else if self.recording_id.trim().is_empty() {
            Some(Some(None))
        } else {
            e.check(
                "recording_id",
                self.recording_id
                    .trim()
                    .parse::<i64>()
                    .map(|id| Some(Some(id)))
                    .map_err(|_| "choose a recording from the list".to_string()),
            )
        };
        let (language, published_schedule) =
            super::schedule::parse_fields(&mut e, &self.language, &self.public, from_import);
        let (location, survey) = if from_import {
            (Some(None), Some(None))
        } else {
            (
                e.check("location", parse_optional_text(&self.location, 300))
                    .map(Some),
                e.check(
                    "external_survey_url",
                    parse_optional_url(&self.external_survey_url),
                )
                .map(Some),
            )
        };
        match (
            class_ref,
            course_code,
            mct_id,
            start,
            end,
            modality,
            status,
            location,
            survey,
        ) {
            (
                Some(class_ref),
                Some(course_code),
                Some(mct_id),
                Some(start_date),
                Some(end_date),
                Some(modality),
                Some(status),
                Some(location),
                Some(external_survey_url),
            ) if e.is_empty() => Ok(ClassInput {
                recording_id: recording_id.flatten(),
                language: language.flatten(),
                published_schedule: published_schedule.flatten(),
                class_ref,
                course_code,
                mct_id,
                start_date,
                end_date,
                modality,
                status,
                location,
                external_survey_url,
            }),
            _ => Err(e),
        }
    }

    pub fn of(
        c: &classes::Model,
        course: &courses::Model,
        trainer: &trainers::Model,
    ) -> ClassFields {
        ClassFields {
            class_ref: c.class_ref.clone(),
            course_code: course.course_code.clone(),
            mct_id: trainer.mct_id.clone(),
            start_date: c.start_date.to_string(),
            end_date: c.end_date.to_string(),
            modality: c.modality.to_string(),
            status: c.status.to_string(),
            location: c.location.clone().unwrap_or_default(),
            external_survey_url: c.external_survey_url.clone().unwrap_or_default(),
            recording_id: c.recording_id.map(|r| r.to_string()).unwrap_or_default(),
            language: c.language.clone().unwrap_or_default(),
            public: if c.published_schedule { "true" } else { "" }.into(),
            reason: String::new(),
        }
    }
}

fn snapshot(c: &classes::Model, course: &courses::Model, trainer: &trainers::Model) -> Value {
    let mut snapshot = json!({
        "class_ref": c.class_ref, "course_code": course.course_code, "mct_id": trainer.mct_id,
        "start_date": c.start_date.to_string(), "end_date": c.end_date.to_string(),
        "modality": c.modality, "status": c.status, "location": c.location,
        "external_survey_url": c.external_survey_url,
    });
    // Only classes that name a recording carry the key (older entries stay as they were).
    if let Some(r) = c.recording_id {
        snapshot["recording_id"] = json!(r);
    }
    // Likewise the public schedule's fields, once a class has them.
    if let Some(language) = &c.language {
        snapshot["language"] = json!(language);
    }
    if c.published_schedule {
        snapshot["published_schedule"] = json!(true);
    }
    snapshot
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<classes::Model, ServiceError> {
    classes::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn by_ref(
    db: &impl ConnectionTrait,
    class_ref: &str,
) -> Result<Option<classes::Model>, ServiceError> {
    Ok(classes::Entity::find()
        .filter(classes::Column::ClassRef.eq(class_ref))
        .one(db)
        .await?)
}

/// Course and MCT of a stored class.
pub async fn parts(
    db: &impl ConnectionTrait,
    c: &classes::Model,
) -> Result<(courses::Model, trainers::Model), ServiceError> {
    Ok((
        course_svc::get(db, c.course_id).await?,
        trainer_svc::get(db, c.trainer_id).await?,
    ))
}

/// How a write reached the class, which decides what it may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// With the reason typed (required to amend a confirmed class).
    Form {
        reason: &'a str,
    },
    Import(&'a ImportBy),
}

/// Who runs an import: a plain value the caller builds from who is asking (rule 7).
/// The local operator (CLI) may load confirmed history; a signed-in coordinator may
/// record a class up to `delivered`; an admin may import `confirmed` rows only with a
/// reason for the whole file. A reason given is kept on every ledger entry the import
/// writes for its classes and roster lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBy {
    pub acting: Acting,
    /// The reason typed for the whole file (blank: none).
    pub reason: String,
}

impl ImportBy {
    /// `tsp-ledger import` and the demo, recorded as `cli`.
    pub fn operator() -> ImportBy {
        ImportBy {
            acting: Acting::Operator,
            reason: String::new(),
        }
    }

    /// A signed-in user on the import page, with the reason typed there.
    pub fn user(role: Role, reason: &str) -> ImportBy {
        ImportBy {
            acting: Acting::User(role),
            reason: reason.trim().to_string(),
        }
    }

    /// The reason to record, if one was given.
    pub fn reason(&self) -> Option<&str> {
        let reason = self.reason.trim();
        (!reason.is_empty()).then_some(reason)
    }
}

/// The Title Plan course a class names.
pub async fn course_named(
    tx: &impl ConnectionTrait,
    code: &str,
) -> Result<courses::Model, ServiceError> {
    course_svc::by_code(tx, code).await?.ok_or_else(|| {
        ServiceError::field("course_code", format!("no course {code} in the Title Plan"))
    })
}

/// The MCT a class names.
pub async fn trainer_named(
    tx: &impl ConnectionTrait,
    mct_id: &str,
) -> Result<trainers::Model, ServiceError> {
    trainer_svc::by_mct_id(tx, mct_id)
        .await?
        .ok_or_else(|| ServiceError::field("mct_id", format!("no MCT with ID {mct_id}")))
}

async fn names(
    tx: &impl ConnectionTrait,
    input: &ClassInput,
) -> Result<(courses::Model, trainers::Model), ServiceError> {
    Ok((
        course_named(tx, &input.course_code).await?,
        trainer_named(tx, &input.mct_id).await?,
    ))
}

/// What a checked class write puts into the columns it derives (the rest come from the
/// input as typed).
pub(crate) struct Checked {
    status: ClassStatus,
    location: Option<String>,
    survey: Option<String>,
    recording_id: Option<i64>,
    language: Option<String>,
    published_schedule: bool,
}

/// Validates `input` over `existing` (or as a new class) against the catalogue, the
/// lifecycle and rule 1: every reason the write would be refused, before anything is
/// written.
pub(crate) async fn check(
    tx: &Recorder,
    via: Via<'_>,
    existing: Option<&classes::Model>,
    input: &ClassInput,
    (course, trainer): (&courses::Model, &trainers::Model),
) -> Result<Checked, ServiceError> {
    // An import finds the class by its ref, so only a form can collide with another.
    if let Via::Form { .. } = via
        && let Some(other) = by_ref(tx, &input.class_ref).await?
        && existing.map(|c| c.id) != Some(other.id)
    {
        return Err(ServiceError::field(
            "class_ref",
            format!("{} is already used by another class", input.class_ref),
        ));
    }
    let old_status = existing.map(|c| c.status);
    let new_status = match (old_status, input.status) {
        (None, None) => ClassStatus::Scheduled,
        (None, Some(s)) => s,
        (Some(old), None) => old,
        (Some(old), Some(s)) => old
            .import_to(s)
            .map_err(|m| ServiceError::field("status", m))?,
    };
    // Rule 7: recording a class as confirmed is the MCT's act (or an admin's with a
    // reason, or the local operator's loading history); forms never set a status.
    if let Via::Import(by) = via
        && new_status == ClassStatus::Confirmed
        && old_status != Some(ClassStatus::Confirmed)
        && let Err(why) = confirmer(by.acting, false, &by.reason)
    {
        let message = match why {
            None => format!(
                "{} cannot be imported as confirmed: only the class's MCT confirms a delivery (or an admin, with a reason); import it as delivered",
                input.class_ref
            ),
            Some(_) => format!(
                "{} is confirmed: an admin importing confirmed classes gives a reason for the file (the import form's Reason field)",
                input.class_ref
            ),
        };
        return Err(ServiceError::field("status", message));
    }
    // Rule 7: the status must stay true of the dates, whichever of them changes.
    let moves = existing.is_none_or(|old| {
        old.start_date != input.start_date
            || old.end_date != input.end_date
            || old.status != new_status
    });
    let today = clock::now().date_naive();
    if moves {
        check_status_dates(new_status, input.start_date, input.end_date, today)
            .map_err(|u| ServiceError::field(u.field, u.message))?;
    }
    if let Some(old) = existing
        && moves
        && (new_status == ClassStatus::Cancelled || input.start_date > today)
    {
        let field = if new_status == ClassStatus::Cancelled {
            "status"
        } else {
            "start_date"
        };
        check_attendance_stays_true(tx, old.id, new_status, input.start_date, today)
            .await
            .map_err(|e| match e {
                ServiceError::Refused(m) => ServiceError::field(field, m),
                other => other,
            })?;
    }
    // A class already on a course that was retired since keeps it; a new one cannot.
    if existing.map(|c| c.course_id) != Some(course.id) {
        check_schedulable(&course.course_code, course.retired, new_status)
            .map_err(|m| ServiceError::field("course_code", m))?;
    }
    if new_status != ClassStatus::Cancelled {
        check_trainer_standing(
            course.content,
            &trainer.name,
            trainer.mct_valid_until,
            input.end_date,
        )
        .map_err(|m| ServiceError::field("mct_id", m))?;
    }
    let location = match (&input.location, existing) {
        (Some(l), _) => l.clone(),
        (None, Some(old)) => old.location.clone(),
        (None, None) => None,
    };
    let survey = match (&input.external_survey_url, existing) {
        (Some(u), _) => u.clone(),
        (None, Some(old)) => old.external_survey_url.clone(),
        (None, None) => None,
    };
    let recording_id = match (input.recording_id, existing) {
        (Some(r), _) => r,
        (None, Some(old)) => old.recording_id,
        (None, None) => None,
    };
    if let Some(rid) = recording_id {
        // Rule 3: a recording newly attached must be published and of this course; one
        // already attached stays (even if withdrawn since) while course and modality do.
        let kept = existing.is_some_and(|old| {
            old.recording_id == Some(rid)
                && old.course_id == course.id
                && old.modality == input.modality
        });
        if !kept {
            super::recordings::check_class_recording(tx, rid, course, input.modality).await?;
        }
    }
    Ok(Checked {
        status: new_status,
        location,
        survey,
        recording_id,
        language: (input.language.clone())
            .unwrap_or_else(|| existing.and_then(|old| old.language.clone())),
        published_schedule: (input.published_schedule)
            .unwrap_or(existing.is_some_and(|old| old.published_schedule)),
    })
}

/// The columns of `input` and `checked` on `active`: a value equal to the stored one
/// stays unchanged, so `is_changed()` afterwards says whether the write changes anything.
fn assign(
    active: &mut classes::ActiveModel,
    input: &ClassInput,
    checked: &Checked,
    (course, trainer): (&courses::Model, &trainers::Model),
) {
    active.class_ref.set_ne(input.class_ref.clone());
    active.course_id.set_ne(course.id);
    active.trainer_id.set_ne(trainer.id);
    active.start_date.set_ne(input.start_date);
    active.end_date.set_ne(input.end_date);
    active.modality.set_ne(input.modality);
    active.status.set_ne(checked.status);
    active.location.set_ne(checked.location.clone());
    active.external_survey_url.set_ne(checked.survey.clone());
    active.recording_id.set_ne(checked.recording_id);
    active.language.set_ne(checked.language.clone());
    active.published_schedule.set_ne(checked.published_schedule);
}

/// A new class, checked, waiting to be inserted with others ([`insert_many`]).
pub(crate) struct NewClass {
    active: classes::ActiveModel,
    class_ref: String,
    action: &'static str,
    reason: Option<String>,
    course: courses::Model,
    trainer: trainers::Model,
}

impl NewClass {
    pub(crate) fn class_ref(&self) -> &str {
        &self.class_ref
    }
}

/// The row and ledger action of a new class `checked` by [`check`].
pub(crate) fn new_class(
    via: Via<'_>,
    input: &ClassInput,
    checked: &Checked,
    (course, trainer): (courses::Model, trainers::Model),
) -> NewClass {
    let now = clock::now();
    let mut active = classes::ActiveModel {
        confirmed_at: Set((checked.status == ClassStatus::Confirmed).then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assign(&mut active, input, checked, (&course, &trainer));
    let (action, reason) = match via {
        Via::Import(by) => ("import", by.reason().map(str::to_string)),
        Via::Form { .. } => ("create", None),
    };
    NewClass {
        active,
        class_ref: input.class_ref.clone(),
        action,
        reason,
        course,
        trainer,
    }
}

/// Inserts new classes in one multi-row statement, each recorded as [`write`] records
/// it (an import of a million classes writes them a batch at a time).
pub(crate) async fn insert_many(
    tx: &Recorder,
    actor: &Actor,
    new: Vec<NewClass>,
) -> Result<Vec<classes::Model>, ServiceError> {
    if new.is_empty() {
        return Ok(vec![]);
    }
    let rows = new.iter().map(|n| n.active.clone()).collect();
    let by_ref = super::insert_returning_by(tx, rows, |m| m.class_ref.clone()).await?;
    for n in &new {
        let model = super::inserted(&by_ref, &n.class_ref)?;
        record_new(tx, actor, n, model.clone()).await?;
    }
    Ok(by_ref.into_values().collect())
}

async fn record_new(
    tx: &Recorder,
    actor: &Actor,
    new: &NewClass,
    model: classes::Model,
) -> Result<Outcome<classes::Model>, ServiceError> {
    let mut entry = Entry::new("class", model.id, new.action);
    if let Some(reason) = &new.reason {
        entry = entry.reason(reason.clone());
    }
    let after = snapshot(&model, &new.course, &new.trainer);
    Ok(record_write(tx, actor, entry, None, &after, model).await?)
}

/// Validates `input` ([`check`]), then writes it over `existing` (or as a new class) and
/// records the change.
pub(crate) async fn write(
    tx: &Recorder,
    actor: &Actor,
    via: Via<'_>,
    existing: Option<classes::Model>,
    input: &ClassInput,
    (course, trainer): (courses::Model, trainers::Model),
) -> Result<Outcome<classes::Model>, ServiceError> {
    let checked = check(tx, via, existing.as_ref(), input, (&course, &trainer)).await?;
    let new_status = checked.status;
    let Some(old) = existing else {
        let new = new_class(via, input, &checked, (course, trainer));
        let model = new.active.clone().insert(tx).await?;
        return record_new(tx, actor, &new, model).await;
    };
    let now = clock::now();
    let mut active: classes::ActiveModel = old.clone().into();
    assign(&mut active, input, &checked, (&course, &trainer));
    if !active.is_changed() {
        return Ok(Outcome::Unchanged(old));
    }
    let old_status = old.status;
    let reason = match via {
        Via::Form { reason } => {
            amendment_reason(old_status, reason).map_err(|m| ServiceError::field("reason", m))?
        }
        Via::Import(_) if old_status.is_closed() => {
            return Err(ServiceError::field(
                "class_ref",
                format!(
                    "{} is confirmed: amend it on its page, with a reason",
                    old.class_ref
                ),
            ));
        }
        Via::Import(by) => by.reason().map(str::to_string),
    };
    let action = match (via, old_status.is_closed()) {
        (_, true) => "amend",
        (Via::Form { .. }, false) => "update",
        (Via::Import(_), false) => "import",
    };
    let (old_course, old_trainer) = parts(tx, &old).await?;
    let before = snapshot(&old, &old_course, &old_trainer);
    if new_status == ClassStatus::Confirmed && old_status != ClassStatus::Confirmed {
        active.confirmed_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let model = active.update(tx).await?;
    let mut entry = Entry::new("class", model.id, action);
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    let after = snapshot(&model, &course, &trainer);
    Ok(record_write(tx, actor, entry, Some(before), &after, model).await?)
}

/// Schedules a class from the form; its MCT is e-mailed the assignment (with the class
/// as a calendar attachment).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &ClassInput,
    server: &ServerConfig,
) -> Result<classes::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let named = names(&tx, input).await?;
    let (course, trainer) = named.clone();
    let via = Via::Form { reason: "" };
    let class = write(&tx, actor, via, None, input, named)
        .await?
        .into_model();
    scheduling::tell_assigned_trainer(&tx, &class, &course, &trainer, server).await?;
    tx.commit().await?;
    Ok(class)
}

/// Saves the form over a class; a new MCT is e-mailed the assignment.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &ClassInput,
    reason: &str,
    server: &ServerConfig,
) -> Result<Outcome<classes::Model>, ServiceError> {
    let tx = begin_write(db).await?;
    let old = get(&tx, id).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let named = names(&tx, input).await?;
    let (course, trainer) = named.clone();
    let via = Via::Form { reason };
    let previous_trainer = old.trainer_id;
    let outcome = write(&tx, actor, via, Some(old), input, named).await?;
    if outcome.model().trainer_id != previous_trainer {
        scheduling::tell_assigned_trainer(&tx, outcome.model(), &course, &trainer, server).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// `2026-03-02` or `2026-03-02 → 2026-03-05`.
pub fn date_range(start: NaiveDate, end: NaiveDate) -> String {
    if start == end {
        start.to_string()
    } else {
        format!("{start} → {end}")
    }
}

/// The class if `user` may see it: staff see every class, a trainer only their own
/// (another trainer's class does not exist for them).
pub async fn visible_class(
    db: &impl ConnectionTrait,
    user: &Caller,
    id: i64,
) -> Result<classes::Model, ServiceError> {
    let class = get(db, id).await?;
    trainer_svc::ensure_visible(db, user, class.trainer_id).await?;
    Ok(class)
}

/// The roster of a class, by learner name.
pub async fn roster(
    db: &impl ConnectionTrait,
    class_id: i64,
) -> Result<Vec<enrollments::Model>, ServiceError> {
    Ok(enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .order_by_asc(enrollments::Column::LearnerName)
        .order_by_asc(enrollments::Column::Id)
        .all(db)
        .await?)
}
