//! What the recording pages show: a recording with its subjects' consent, the list,
//! and the recordings that need a coordinator's attention.
use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{classes, courses, enrollments, recording_consents, recordings, takedowns, trainers};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::recording::{
    self as rules, ConsentStatus, Presenter, RecordingStatus, Subject, TakedownStatus,
};
use crate::services::ServiceError;

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
        self.recording.status
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
            self.course.content,
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

    /// Rule 6.
    pub fn takedown_overdue(&self, today: NaiveDate) -> bool {
        self.takedowns
            .iter()
            .any(|t| rules::is_overdue(t.status, t.due_on, today))
    }

    pub fn takedown_due(&self, today: NaiveDate) -> bool {
        self.takedowns
            .iter()
            .any(|t| rules::is_due_soon(t.status, t.due_on, today))
    }

    pub fn open_takedown(&self) -> bool {
        self.takedowns
            .iter()
            .any(|t| t.status != TakedownStatus::Completed)
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
            // Looked up by enrollment: a recording of a class of 100 000 has 100 000 rows.
            let by_learner: HashMap<i64, &recording_consents::Model> = rows
                .iter()
                .filter_map(|c| Some((c.enrollment_id?, c)))
                .collect();
            let mut subjects = vec![];
            for c in rows.iter().filter(|c| c.trainer_id.is_some()) {
                subjects.push(SubjectLine {
                    consent: Some(c.clone()),
                    status: c.status,
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
                let consent = by_learner.get(&learner.id).map(|c| (*c).clone());
                subjects.push(SubjectLine {
                    status: consent
                        .as_ref()
                        .map_or(ConsentStatus::Requested, |c| c.status),
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
        .filter(takedowns::Column::Status.eq(TakedownStatus::Open))
        .filter(takedowns::Column::DueOn.lt(today))
        .all(db)
        .await?
        .len();
    Ok(Attention {
        recordings: all.iter().filter(|r| r.attention()).count(),
        overdue_takedowns,
    })
}
