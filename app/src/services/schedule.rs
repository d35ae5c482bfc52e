//! The public schedule (issue 17 item 6): the classes a coordinator listed on it, as JSON
//! and as iCalendar, for a partner's website or Microsoft's scheduler to read without
//! signing in. Only what a prospective learner needs: course, dates, modality, language,
//! location and the class ref — never the roster, the MCT or anything internal.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{classes, courses};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ServiceError;
use super::calendar::public_event;
use crate::config::ServerConfig;
use crate::domain::calendar::{self, Event};
use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::{ClassStatus, Modality};
use crate::domain::fields::{FieldErrors, parse_bool, parse_optional_language};

/// A class's public-schedule fields as typed (`language`, `public`), each `None` when it
/// did not parse (its message is in `e`) and `Some(None)` to keep what is stored: an
/// import's blank cell or absent column. In the form a blank language clears it and an
/// unticked box (absent) takes the class off the schedule.
pub(crate) fn parse_fields(
    e: &mut FieldErrors,
    language: &str,
    public: &str,
    from_import: bool,
) -> (Option<Option<Option<String>>>, Option<Option<bool>>) {
    let language = match language.trim() {
        "" if from_import => Some(None),
        raw => e.check("language", parse_optional_language(raw)).map(Some),
    };
    let public = match public.trim() {
        "" if from_import => Some(None),
        "" => Some(Some(false)),
        raw => e.check("public", parse_bool(raw)).map(Some),
    };
    (language, public)
}

/// The most classes the feed lists (the soonest first).
pub const SCHEDULE_LIMIT: u64 = 1_000;

/// One class as the public feed lists it: every field here is public by choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledClass {
    pub class_ref: String,
    pub course_code: String,
    pub course_title: String,
    /// The solution area's id (`infrastructure`, …), or none.
    pub solution_area: Option<SolutionArea>,
    pub solution_area_label: Option<&'static str>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The modality's id (`in_person`, `virtual`, …).
    pub modality: Modality,
    pub modality_label: &'static str,
    /// A BCP 47 tag (`en`, `de-DE`), or none.
    pub language: Option<String>,
    pub location: Option<String>,
}

/// The listed classes, as read once for either format.
pub struct Schedule {
    found: Vec<(classes::Model, courses::Model)>,
}

/// The feed's JSON document.
#[derive(Debug, Serialize)]
pub struct ScheduleDocument<'a> {
    pub generated_at: DateTime<Utc>,
    pub classes: &'a [ScheduledClass],
}

/// The classes on the public schedule on `today`: listed (`published_schedule`), not
/// cancelled, ending today or later; the soonest first, at most [`SCHEDULE_LIMIT`].
pub async fn listed(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Schedule, ServiceError> {
    let rows = classes::Entity::find()
        .filter(classes::Column::PublishedSchedule.eq(true))
        .filter(classes::Column::Status.ne(ClassStatus::Cancelled))
        .filter(classes::Column::EndDate.gte(today))
        .find_also_related(courses::Entity)
        .order_by_asc(classes::Column::StartDate)
        .order_by_asc(classes::Column::Id)
        .limit(SCHEDULE_LIMIT)
        .all(db)
        .await?;
    let found = rows
        .into_iter()
        .filter_map(|(class, course)| Some((class, course?)))
        .collect();
    Ok(Schedule { found })
}

impl Schedule {
    /// The classes as the JSON lists them.
    pub fn classes(&self) -> Vec<ScheduledClass> {
        self.found
            .iter()
            .map(|(class, course)| ScheduledClass {
                class_ref: class.class_ref.clone(),
                course_code: course.course_code.clone(),
                course_title: course.title.clone(),
                solution_area: course.solution_area,
                solution_area_label: course.solution_area.map(|a| a.label()),
                start_date: class.start_date,
                end_date: class.end_date,
                modality: class.modality,
                modality_label: class.modality.label(),
                language: class.language.clone(),
                location: class.location.clone(),
            })
            .collect()
    }

    /// `{"generated_at": …, "classes": [ … ]}`.
    pub fn json(&self, now: DateTime<Utc>) -> String {
        let classes = self.classes();
        serde_json::to_string(&ScheduleDocument {
            generated_at: now,
            classes: &classes,
        })
        .unwrap_or_else(|_| "{}".into())
    }

    /// One all-day event per class, without links into the app.
    pub fn ics(&self, server: &ServerConfig, now: DateTime<Utc>) -> String {
        let events: Vec<Event> = self
            .found
            .iter()
            .map(|(class, course)| public_event(class, course, server))
            .collect();
        calendar::render("Class schedule", &events, now)
    }

    /// A weak validator of what the feed says (the bodies differ by their time stamp
    /// only): it changes when a class is listed, unlisted or changed in any way.
    pub fn etag(&self, format: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(format.as_bytes());
        for ((class, _), public) in self.found.iter().zip(self.classes()) {
            hash.update(class.id.to_le_bytes());
            hash.update(class.updated_at.timestamp_micros().to_le_bytes());
            hash.update(serde_json::to_vec(&public).unwrap_or_default());
        }
        format!("W/\"{}\"", &hex::encode(hash.finalize())[..32])
    }
}
