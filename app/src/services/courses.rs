//! The Title Plan: courses, created by hand or by the `title-plan` import.
use entity::courses;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::keyed::{Keyed, KeyedRecord};
use super::{Outcome, Search, ServiceError, lower_like, record_write};
use crate::clock;
use crate::db::begin_write;
use crate::domain::catalog::{Content, DurationCategory, SolutionArea};
use crate::domain::fields::{FieldErrors, parse_bool, parse_code, parse_text};
use crate::ledger::{Actor, Entry, Recorder, diff};

/// A course as typed in the form or a `title-plan` CSV row (same field names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CourseFields {
    pub course_code: String,
    pub title: String,
    pub duration_days: String,
    pub fundamentals: String,
    pub solution_area: String,
    pub content: String,
    pub courseware_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CourseInput {
    pub course_code: String,
    pub title: String,
    pub duration_days: i32,
    pub fundamentals: bool,
    pub solution_area: Option<SolutionArea>,
    pub content: Content,
    pub courseware_version: String,
}

impl CourseFields {
    pub fn parse(&self) -> Result<CourseInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let course_code = e.check("course_code", parse_code(&self.course_code, 32));
        let title = e.check("title", parse_text(&self.title, 300));
        let duration_days = e.check(
            "duration_days",
            match self.duration_days.trim().parse::<i32>() {
                Ok(d) if (0..=60).contains(&d) => Ok(d),
                _ => Err(format!(
                    "must be a whole number of days from 0 to 60, not {:?}",
                    self.duration_days.trim()
                )),
            },
        );
        let fundamentals = e.check("fundamentals", parse_bool(&self.fundamentals));
        let solution_area = e.check(
            "solution_area",
            match self.solution_area.trim() {
                "" => Ok(None),
                area => area.parse::<SolutionArea>().map(Some),
            },
        );
        let content = e.check("content", self.content.trim().parse::<Content>());
        let courseware_version = e.check(
            "courseware_version",
            parse_text(&self.courseware_version, 32),
        );
        match (
            course_code,
            title,
            duration_days,
            fundamentals,
            solution_area,
            content,
            courseware_version,
        ) {
            (
                Some(course_code),
                Some(title),
                Some(duration_days),
                Some(fundamentals),
                Some(solution_area),
                Some(content),
                Some(courseware_version),
            ) => Ok(CourseInput {
                course_code,
                title,
                duration_days,
                fundamentals,
                solution_area,
                content,
                courseware_version,
            }),
            _ => Err(e),
        }
    }

    pub fn of(course: &courses::Model) -> CourseFields {
        CourseFields {
            course_code: course.course_code.clone(),
            title: course.title.clone(),
            duration_days: course.duration_days.to_string(),
            fundamentals: course.fundamentals.to_string(),
            solution_area: course
                .solution_area
                .map(|a| a.to_string())
                .unwrap_or_default(),
            content: course.content.to_string(),
            courseware_version: course.courseware_version.clone(),
        }
    }
}

/// The derived duration category of a stored course.
pub fn category(course: &courses::Model) -> DurationCategory {
    DurationCategory::of(
        course.fundamentals,
        u32::try_from(course.duration_days).unwrap_or(0),
    )
}

fn snapshot(c: &courses::Model) -> Value {
    json!({
        "course_code": c.course_code, "title": c.title, "duration_days": c.duration_days,
        "fundamentals": c.fundamentals, "solution_area": c.solution_area, "content": c.content,
        "courseware_version": c.courseware_version, "retired": c.retired,
    })
}

pub async fn by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<courses::Model>, ServiceError> {
    Ok(courses::Entity::find()
        .filter(courses::Column::CourseCode.eq(code))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<courses::Model, ServiceError> {
    courses::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The one place a course's input meets its columns: a value equal to the stored one
/// stays unchanged, so `is_changed()` afterwards says whether the write changes anything.
fn assign(active: &mut courses::ActiveModel, input: &CourseInput) {
    active.course_code.set_ne(input.course_code.clone());
    active.title.set_ne(input.title.clone());
    active.duration_days.set_ne(input.duration_days);
    active.fundamentals.set_ne(input.fundamentals);
    active.solution_area.set_ne(input.solution_area);
    active.content.set_ne(input.content);
    active
        .courseware_version
        .set_ne(input.courseware_version.clone());
}

/// Writes `input` over `existing` (or as a new course) and records the change.
pub(crate) async fn write(
    tx: &Recorder,
    actor: &Actor,
    action: &'static str,
    existing: Option<courses::Model>,
    input: &CourseInput,
) -> Result<Outcome<courses::Model>, ServiceError> {
    let now = clock::now();
    let (model, before) = match existing {
        Some(old) => {
            let before = snapshot(&old);
            let mut active: courses::ActiveModel = old.clone().into();
            assign(&mut active, input);
            if !active.is_changed() {
                return Ok(Outcome::Unchanged(old));
            }
            active.updated_at = Set(now);
            (active.update(tx).await?, Some(before))
        }
        None => (new_row(input).insert(tx).await?, None),
    };
    let entry = Entry::new(ENTITY, model.id, action);
    Ok(record_write(tx, actor, entry, before, &snapshot(&model), model).await?)
}

/// The ledger's name for these records.
const ENTITY: &str = "course";

fn new_row(input: &CourseInput) -> courses::ActiveModel {
    let now = clock::now();
    let mut active = courses::ActiveModel {
        retired: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assign(&mut active, input);
    active
}

/// The `title-plan` import's record: a course by its code.
pub(crate) struct Courses;

impl KeyedRecord for Courses {
    type Active = courses::ActiveModel;
    type Input = CourseInput;
    type Key = String;
    const ENTITY: &'static str = ENTITY;

    fn key(input: &CourseInput) -> String {
        input.course_code.clone()
    }

    fn key_of(model: &courses::Model) -> String {
        model.course_code.clone()
    }

    fn id(model: &courses::Model) -> i64 {
        model.id
    }

    async fn prefetch(
        rows: &mut Keyed<String, courses::ActiveModel, ()>,
        tx: &impl ConnectionTrait,
        inputs: &[CourseInput],
    ) -> Result<(), ServiceError> {
        let codes = inputs.iter().map(|i| i.course_code.clone());
        rows.load_more(tx, courses::Column::CourseCode, codes, None)
            .await
    }

    fn unchanged(stored: &courses::Model, input: &CourseInput) -> bool {
        let mut active: courses::ActiveModel = stored.clone().into();
        assign(&mut active, input);
        !active.is_changed()
    }

    fn new_row(
        _: &Keyed<String, courses::ActiveModel, ()>,
        input: &CourseInput,
    ) -> Result<courses::ActiveModel, ServiceError> {
        Ok(new_row(input))
    }

    fn snapshot(model: &courses::Model) -> Value {
        snapshot(model)
    }

    async fn update(
        tx: &Recorder,
        actor: &Actor,
        stored: courses::Model,
        input: &CourseInput,
    ) -> Result<courses::Model, ServiceError> {
        Ok(write(tx, actor, "import", Some(stored), input)
            .await?
            .into_model())
    }
}

async fn ensure_code_free(
    tx: &impl ConnectionTrait,
    code: &str,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    match by_code(tx, code).await? {
        Some(other) if Some(other.id) != except => Err(ServiceError::field(
            "course_code",
            format!("{code} is already in the Title Plan ({})", other.title),
        )),
        _ => Ok(()),
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &CourseInput,
) -> Result<courses::Model, ServiceError> {
    let tx = begin_write(db).await?;
    ensure_code_free(&tx, &input.course_code, None).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let course = write(&tx, actor, "create", None, input).await?.into_model();
    tx.commit().await?;
    Ok(course)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &CourseInput,
) -> Result<Outcome<courses::Model>, ServiceError> {
    let tx = begin_write(db).await?;
    let old = get(&tx, id).await?;
    ensure_code_free(&tx, &input.course_code, Some(id)).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let outcome = write(&tx, actor, "update", Some(old), input).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Retires a course (it can no longer be scheduled) or brings it back.
pub async fn set_retired(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    retired: bool,
) -> Result<courses::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let old = get(&tx, id).await?;
    if old.retired == retired {
        return Ok(old);
    }
    let before = snapshot(&old);
    let mut active: courses::ActiveModel = old.into();
    active.retired = Set(retired);
    active.updated_at = Set(clock::now());
    let course = active.update(&tx).await?;
    let action = if retired { "retire" } else { "reinstate" };
    let tx = Recorder::lock(tx, actor).await?;
    tx.record_as(
        actor,
        Entry::new("course", course.id, action).changes(diff(&before, &snapshot(&course), &[])),
    )
    .await?;
    tx.commit().await?;
    Ok(course)
}

pub const LIST_LIMIT: u64 = 500;

/// Courses whose code or title contains `search` (case-insensitive), by code.
pub async fn list(
    db: &impl ConnectionTrait,
    search: &str,
    include_retired: bool,
) -> Result<Vec<courses::Model>, ServiceError> {
    let mut query = courses::Entity::find().order_by_asc(courses::Column::CourseCode);
    if let Some(search) = Search::parse(search) {
        let pattern = search.contains();
        query = query.filter(
            lower_like(courses::Column::CourseCode, pattern.clone())
                .or(lower_like(courses::Column::Title, pattern.clone())),
        );
    }
    if !include_retired {
        query = query.filter(courses::Column::Retired.eq(false));
    }
    Ok(query.limit(LIST_LIMIT).all(db).await?)
}

/// Every course that can be scheduled, for the class form's picker.
pub async fn schedulable(db: &impl ConnectionTrait) -> Result<Vec<courses::Model>, ServiceError> {
    Ok(courses::Entity::find()
        .filter(courses::Column::Retired.eq(false))
        .order_by_asc(courses::Column::CourseCode)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> CourseFields {
        CourseFields {
            course_code: "az-104".into(),
            title: "Microsoft Azure Administrator".into(),
            duration_days: "4".into(),
            fundamentals: "false".into(),
            solution_area: "infrastructure".into(),
            content: "official".into(),
            courseware_version: "2026-09".into(),
        }
    }

    #[test]
    fn course_rows_parse_into_typed_input() {
        let input = fields().parse().unwrap();
        assert_eq!(input.course_code, "AZ-104");
        assert_eq!(input.solution_area, Some(SolutionArea::Infrastructure));
        let no_area = CourseFields {
            solution_area: "".into(),
            ..fields()
        }
        .parse()
        .unwrap();
        assert_eq!(no_area.solution_area, None);
    }

    #[test]
    fn every_bad_course_field_is_named() {
        let bad = CourseFields {
            course_code: "".into(),
            duration_days: "four".into(),
            fundamentals: "yes".into(),
            solution_area: "azure".into(),
            content: "free".into(),
            ..fields()
        };
        let errors = bad.parse().unwrap_err();
        let named: Vec<_> = errors.0.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            named,
            [
                "course_code",
                "duration_days",
                "fundamentals",
                "solution_area",
                "content"
            ]
        );
    }
}
