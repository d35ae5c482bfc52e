//! Class rosters: learners added one by one, by a pasted or uploaded CSV, or by the
//! `roster` import; read a page at a time (a class can have 100 000 learners), attendance
//! marked for the lines a page shows.
use std::collections::HashSet;

use entity::{classes, enrollments};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Outcome, Search, ServiceError, classes as class_svc, lower_like};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::{Email, parse_name};
use crate::domain::delivery::{OnceStarted, amendment_reason, check_started};
use crate::domain::fields::{FieldErrors, parse_bool, parse_text};
use crate::ledger::{Actor, Entry, Recorder, diff};

/// Learner fields the ledger must never hold (SPEC §6): only that they changed.
pub const PERSONAL_FIELDS: [&str; 2] = ["learner_name", "learner_email"];

/// Roster lines on one page of the class page.
pub const ROSTER_PAGE: u64 = 100;

/// The ids of a class's roster lines, as a subquery: a per-class query filters by it
/// instead of binding one parameter per learner (which no backend allows at 100 000).
pub(crate) fn ids_of_class(class_id: i64) -> sea_orm::sea_query::SelectStatement {
    enrollments::Entity::find()
        .select_only()
        .column(enrollments::Column::Id)
        .filter(enrollments::Column::ClassId.eq(class_id))
        .into_query()
}

/// Roster lines whose learner's name or e-mail contains `search` (any case): the roster's
/// "Find a learner", the class list's learner filter and the learners search.
pub(crate) fn matching(search: &Search) -> Condition {
    Condition::any()
        .add(lower_like(
            enrollments::Column::LearnerName,
            search.contains(),
        ))
        .add(enrollments::Column::EmailKey.like(search.contains()))
}

/// `select` as a subquery that PostgreSQL runs once, on its own, before the query around
/// it (`OFFSET 0` keeps its planner from merging the two). A "contains" search over every
/// roster line is then one pass over the table (about 0.3 s at a million lines); merged,
/// it was probed once per class or learner walked, 5 s when nothing matched. SQLite runs
/// such an `IN (…)` list once anyway (and wants no `OFFSET` without a `LIMIT`).
pub(crate) fn run_first(
    select: sea_orm::Select<enrollments::Entity>,
    backend: sea_orm::DbBackend,
) -> sea_orm::sea_query::SelectStatement {
    match backend {
        sea_orm::DbBackend::Postgres => select.offset(0).into_query(),
        _ => select.into_query(),
    }
}

/// One page of a class's roster, by name, and the whole roster's counts.
#[derive(Debug, Clone)]
pub struct RosterPage {
    pub lines: Vec<enrollments::Model>,
    /// Lines matching the search (every line without one).
    pub matching: u64,
    pub learners: u64,
    pub attended: u64,
}

/// Page `page` (1-based) of the roster of `class_id`, only the learners whose name or
/// e-mail contains `search` when there is one.
pub async fn page(
    db: &impl ConnectionTrait,
    class_id: i64,
    search: Option<&Search>,
    page: u64,
) -> Result<RosterPage, ServiceError> {
    use enrollments::Column as C;
    let of_class = Condition::all().add(C::ClassId.eq(class_id));
    let matches = match search {
        Some(search) => of_class.clone().add(matching(search)),
        None => of_class.clone(),
    };
    let lines = enrollments::Entity::find()
        .filter(matches.clone())
        .order_by_asc(C::LearnerName)
        .order_by_asc(C::Id)
        .offset(page.saturating_sub(1).saturating_mul(ROSTER_PAGE))
        .limit(ROSTER_PAGE)
        .all(db)
        .await?;
    let matching = enrollments::Entity::find()
        .filter(matches)
        .count(db)
        .await?;
    // Without a search every line matches: no second count of the same rows.
    let learners = match search {
        Some(_) => {
            enrollments::Entity::find()
                .filter(of_class)
                .count(db)
                .await?
        }
        None => matching,
    };
    Ok(RosterPage {
        lines,
        matching,
        learners,
        attended: attended(db, class_id).await?,
    })
}

/// A class's learners and how many of them are ticked as attending (two counts in the
/// database, whatever the roster's size).
pub async fn counts(db: &impl ConnectionTrait, class_id: i64) -> Result<(u64, u64), ServiceError> {
    let learners = enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .count(db)
        .await?;
    Ok((learners, attended(db, class_id).await?))
}

async fn attended(db: &impl ConnectionTrait, class_id: i64) -> Result<u64, ServiceError> {
    Ok(enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .filter(enrollments::Column::Attended.eq(true))
        .count(db)
        .await?)
}

/// Which roster lines an attendance form is about: the page it showed, or all of them.
#[derive(Debug, Clone, Copy)]
pub enum Lines<'a> {
    All,
    Only(&'a HashSet<i64>),
}

/// A learner as typed in the roster form or a `roster` CSV row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EnrollmentFields {
    pub learner_name: String,
    pub learner_email: String,
    pub attended: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentInput {
    pub learner_name: String,
    /// As typed (mail goes there); [`Self::key`] compares.
    pub learner_email: String,
    pub key: Email,
    pub attended: bool,
}

impl EnrollmentFields {
    pub fn parse(&self) -> Result<EnrollmentInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = e.check("learner_name", parse_name(&self.learner_name));
        let key = e.check("learner_email", Email::parse(&self.learner_email));
        let raw_email = e.check("learner_email", parse_text(&self.learner_email, 254));
        let attended = e.check("attended", parse_bool(&self.attended));
        match (name, key, raw_email, attended) {
            (Some(learner_name), Some(key), Some(learner_email), Some(attended))
                if e.is_empty() =>
            {
                Ok(EnrollmentInput {
                    learner_name,
                    learner_email,
                    key,
                    attended,
                })
            }
            _ => Err(e),
        }
    }
}

fn snapshot(e: &enrollments::Model) -> Value {
    json!({
        "class_id": e.class_id, "learner_name": e.learner_name,
        "learner_email": e.learner_email, "attended": e.attended,
    })
}

pub async fn find(
    db: &impl ConnectionTrait,
    class_id: i64,
    key: &Email,
) -> Result<Option<enrollments::Model>, ServiceError> {
    Ok(enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .filter(enrollments::Column::EmailKey.eq(key.as_str()))
        .one(db)
        .await?)
}

/// Adds the learner to `class`, or updates `existing`, their line on the roster (the
/// caller looks it up by e-mail, compared case-insensitively).
pub(crate) async fn write(
    tx: &Recorder,
    actor: &Actor,
    action: &'static str,
    class: &classes::Model,
    existing: Option<enrollments::Model>,
    input: &EnrollmentInput,
    reason: Option<&str>,
) -> Result<Outcome<enrollments::Model>, ServiceError> {
    if input.attended && !existing.as_ref().is_some_and(|old| old.attended) {
        check_tick(class)?;
    }
    let now = clock::now();
    let (model, before) = match existing {
        Some(old) => {
            if old.learner_name == input.learner_name
                && old.learner_email == input.learner_email
                && old.attended == input.attended
            {
                return Ok(Outcome::Unchanged(old));
            }
            let before = snapshot(&old);
            let mut active: enrollments::ActiveModel = old.into();
            active.learner_name = Set(input.learner_name.clone());
            active.learner_email = Set(input.learner_email.clone());
            active.attended = Set(input.attended);
            active.updated_at = Set(now);
            (active.update(tx).await?, Some(before))
        }
        None => (new_line(class.id, input, now).insert(tx).await?, None),
    };
    record(tx, actor, action, before.as_ref(), &model, reason).await?;
    Ok(match before {
        Some(_) => Outcome::Updated(model),
        None => Outcome::Created(model),
    })
}

fn new_line(
    class_id: i64,
    input: &EnrollmentInput,
    now: chrono::DateTime<chrono::Utc>,
) -> enrollments::ActiveModel {
    enrollments::ActiveModel {
        class_id: Set(class_id),
        learner_name: Set(input.learner_name.clone()),
        learner_email: Set(input.learner_email.clone()),
        email_key: Set(input.key.as_str().to_string()),
        attended: Set(input.attended),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Appends the ledger entry for a roster line written from `before` to `model`.
async fn record(
    tx: &Recorder,
    actor: &Actor,
    action: &'static str,
    before: Option<&Value>,
    model: &enrollments::Model,
    reason: Option<&str>,
) -> Result<(), ServiceError> {
    let changes = diff(
        before.unwrap_or(&json!({})),
        &snapshot(model),
        &PERSONAL_FIELDS,
    );
    let mut entry = Entry::new("enrollment", model.id, action)
        .changes(changes)
        .parent("class", model.class_id);
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    tx.record_as(actor, entry).await?;
    Ok(())
}

/// Rule 7: a learner is ticked as attending only once the class has started, never on a
/// cancelled class.
pub(crate) fn check_tick(class: &classes::Model) -> Result<(), ServiceError> {
    check_started(
        OnceStarted::TickAttendance,
        class.status,
        class.start_date,
        clock::now().date_naive(),
    )
    .map_err(|m| ServiceError::field("attended", m))
}

/// A learner an import adds to a class, waiting to be inserted with others.
pub(crate) struct NewLine {
    pub class_id: i64,
    pub input: EnrollmentInput,
    pub action: &'static str,
    pub reason: Option<String>,
}

/// Inserts new roster lines in one statement (an import adds a million: one round trip
/// per line would dominate) and records each in the ledger, in the order given.
pub(crate) async fn insert_many(
    tx: &Recorder,
    actor: &Actor,
    lines: Vec<NewLine>,
) -> Result<Vec<enrollments::Model>, ServiceError> {
    if lines.is_empty() {
        return Ok(vec![]);
    }
    let now = clock::now();
    let rows = lines
        .iter()
        .map(|l| new_line(l.class_id, &l.input, now))
        .collect();
    let by_key =
        super::insert_returning_by(tx, rows, |m| (m.class_id, m.email_key.clone())).await?;
    for line in &lines {
        let key = (line.class_id, line.input.key.as_str().to_string());
        let model = super::inserted(&by_key, &key)?;
        record(tx, actor, line.action, None, model, line.reason.as_deref()).await?;
    }
    Ok(by_key.into_values().collect())
}

/// The reason to record for a roster change: required once the class is confirmed.
fn roster_reason(class: &classes::Model, reason: &str) -> Result<Option<String>, ServiceError> {
    amendment_reason(class.status, reason).map_err(|m| ServiceError::field("reason", m))
}

pub async fn add(
    db: &DatabaseConnection,
    actor: &Actor,
    class_id: i64,
    input: &EnrollmentInput,
    reason: &str,
) -> Result<enrollments::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let class = class_svc::get(&tx, class_id).await?;
    let reason = roster_reason(&class, reason)?;
    if find(&tx, class.id, &input.key).await?.is_some() {
        return Err(ServiceError::field(
            "learner_email",
            format!("{} is already on this roster", input.learner_email),
        ));
    }
    let tx = Recorder::lock(tx, actor).await?;
    let enrollment = write(&tx, actor, "create", &class, None, input, reason.as_deref())
        .await?
        .into_model();
    tx.commit().await?;
    Ok(enrollment)
}

pub async fn remove(
    db: &DatabaseConnection,
    actor: &Actor,
    class_id: i64,
    enrollment_id: i64,
    reason: &str,
) -> Result<(), ServiceError> {
    let tx = begin_write(db).await?;
    let class = class_svc::get(&tx, class_id).await?;
    let reason = roster_reason(&class, reason)?;
    let enrollment = enrollments::Entity::find_by_id(enrollment_id)
        .filter(enrollments::Column::ClassId.eq(class_id))
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    refuse_if_referenced(&tx, &enrollment).await?;
    let changes = diff(&snapshot(&enrollment), &json!({}), &PERSONAL_FIELDS);
    let id = enrollment.id;
    enrollment.delete(&tx).await?;
    let mut entry = Entry::new("enrollment", id, "delete")
        .changes(changes)
        .parent("class", class.id);
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    let tx = Recorder::lock(tx, actor).await?;
    tx.record_as(actor, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// A roster line that an achievement code, a survey invitation or a survey response
/// belongs to stays: those records (and the KPI figures they make) need it. Refused
/// with what holds it and what to do instead.
async fn refuse_if_referenced(
    db: &impl ConnectionTrait,
    enrollment: &enrollments::Model,
) -> Result<(), ServiceError> {
    use entity::{achievement_codes, survey_invitations, survey_responses};
    use sea_orm::PaginatorTrait;
    let id = enrollment.id;
    let mut held = vec![];
    if achievement_codes::Entity::find()
        .filter(achievement_codes::Column::EnrollmentId.eq(id))
        .count(db)
        .await?
        > 0
    {
        held.push("an achievement code");
    }
    if survey_invitations::Entity::find()
        .filter(survey_invitations::Column::EnrollmentId.eq(id))
        .count(db)
        .await?
        > 0
    {
        held.push("a survey invitation");
    }
    if survey_responses::Entity::find()
        .filter(survey_responses::Column::EnrollmentId.eq(id))
        .count(db)
        .await?
        > 0
    {
        held.push("a survey response");
    }
    if held.is_empty() {
        return Ok(());
    }
    Err(ServiceError::Refused(format!(
        "{} was not removed: they have {} on this class, which stay with their roster line. \
         To remove their name and e-mail, an administrator can erase the learner (Erasure).",
        enrollment.learner_name,
        held.join(" and ")
    )))
}

/// Marks exactly the learners in `attended` as present and everyone else as absent.
/// Returns how many lines changed.
pub async fn set_attendance(
    db: &DatabaseConnection,
    actor: &Actor,
    class_id: i64,
    lines: Lines<'_>,
    attended: &HashSet<i64>,
    reason: &str,
) -> Result<usize, ServiceError> {
    let tx = begin_write(db).await?;
    let class = class_svc::get(&tx, class_id).await?;
    let reason = roster_reason(&class, reason)?;
    let roster = match lines {
        Lines::All => class_svc::roster(&tx, class_id).await?,
        Lines::Only(ids) if ids.len() as u64 > ROSTER_PAGE => {
            return Err(ServiceError::Refused(format!(
                "Attendance was not saved: a form holds at most {ROSTER_PAGE} learners."
            )));
        }
        Lines::Only(ids) => {
            enrollments::Entity::find()
                .filter(enrollments::Column::ClassId.eq(class_id))
                .filter(enrollments::Column::Id.is_in(ids.iter().copied()))
                .all(&tx)
                .await?
        }
    };
    if roster
        .iter()
        .any(|line| !line.attended && attended.contains(&line.id))
    {
        // Refused before anything is written, for the whole form.
        check_tick(&class).map_err(|e| match e {
            ServiceError::Field { message, .. } => {
                ServiceError::Refused(format!("Attendance was not saved: {message}."))
            }
            other => other,
        })?;
    }
    let tx = Recorder::lock(tx, actor).await?;
    let mut changed = 0;
    for line in roster {
        let present = attended.contains(&line.id);
        if line.attended == present {
            continue;
        }
        let input = EnrollmentInput {
            learner_name: line.learner_name.clone(),
            learner_email: line.learner_email.clone(),
            key: Email::parse(&line.email_key)
                .map_err(|m| ServiceError::Other(anyhow::anyhow!(m)))?,
            attended: present,
        };
        write(
            &tx,
            actor,
            "attendance",
            &class,
            Some(line),
            &input,
            reason.as_deref(),
        )
        .await?;
        changed += 1;
    }
    tx.commit().await?;
    Ok(changed)
}
