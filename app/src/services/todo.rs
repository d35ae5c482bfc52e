//! What needs doing (issue 16 item 2): the To do page's lists and the dashboard's card,
//! read from the record as it is now. Each list is counted in full and shows its first
//! [`SHOWN`] rows; the nudges that go with them are `todo::nudges`.
use chrono::NaiveDate;
use entity::{
    achievement_codes, classes, courses, enrollments, notices, outbox_messages, trainers,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
};

use super::ServiceError;
use super::classes::ClassRow;
use super::recordings::RecordingDetail;
use crate::domain::catalog::Content;
use crate::domain::delivery::ClassStatus;
use crate::domain::outbox::OutboxStatus;
use crate::domain::todo::{ConfirmationChase, Nudges, chased_if_ended_by, confirmation_chase};

pub mod nudges;

/// Rows shown per list (the count says how many there are in all).
pub const SHOWN: u64 = 50;

/// One list of the page: how many records are concerned, and the first of them.
#[derive(Debug)]
pub struct Section<T> {
    pub total: u64,
    pub rows: Vec<T>,
}

impl<T> Section<T> {
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many rows are shown.
    pub fn shown(&self) -> u64 {
        self.rows.len() as u64
    }
}

/// A delivered class waiting for its MCT's confirmation.
pub struct Unconfirmed {
    pub row: ClassRow,
    pub days_since_end: i64,
    pub chase: ConfirmationChase,
    /// The MCT was reminded (the nudge went out).
    pub reminded: bool,
}

/// An MCT whose good standing ends within [`crate::domain::policy::STANDING_WARNING_DAYS`].
pub struct StandingEnding {
    pub trainer: trainers::Model,
    pub days_left: i64,
    /// Their classes (not cancelled) that end after their standing does.
    pub classes_after: u64,
}

/// An issued code not redeemed in time.
pub struct Unredeemed {
    pub code: achievement_codes::Model,
    pub learner_name: String,
    pub class_id: i64,
    pub class_ref: String,
    pub reminded: bool,
}

/// Everything the To do page lists, as of `today`.
pub struct Todo {
    /// Classes that have ended but are still `scheduled`: delivered, or cancelled?
    pub past_scheduled: Section<ClassRow>,
    /// Delivered classes past the reminder delay, not confirmed.
    pub unconfirmed: Section<Unconfirmed>,
    /// Classes of official content whose MCT's standing ends before they do (rule 1).
    pub standing_breaks: Section<ClassRow>,
    pub standing_ending: Section<StandingEnding>,
    pub unredeemed_codes: Section<Unredeemed>,
    /// Published recordings with a revoked consent, and overdue takedowns (rules 3, 6).
    pub recordings: Vec<RecordingDetail>,
    pub failed_emails: Section<outbox_messages::Model>,
}

impl Todo {
    /// How many things need doing, in all.
    pub fn total(&self) -> u64 {
        self.past_scheduled.total
            + self.unconfirmed.total
            + self.standing_breaks.total
            + self.standing_ending.total
            + self.unredeemed_codes.total
            + self.recordings.len() as u64
            + self.failed_emails.total
    }
}

/// The To do lists as of `today`.
pub async fn overview(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    n: &Nudges,
) -> Result<Todo, ServiceError> {
    let past_scheduled = class_section(db, past_scheduled(today), SHOWN).await?;
    let unconfirmed = class_section(db, unconfirmed(today, n), SHOWN).await?;
    let reminded = sent(
        db,
        nudges::CONFIRMATION_REMINDER,
        unconfirmed.rows.iter().map(|r| class_subject(r.class.id)),
    )
    .await?;
    let unconfirmed = Section {
        total: unconfirmed.total,
        rows: unconfirmed
            .rows
            .into_iter()
            .map(|row| Unconfirmed {
                days_since_end: (today - row.class.end_date).num_days(),
                chase: confirmation_chase(row.class.end_date, today, n),
                reminded: reminded.contains(&class_subject(row.class.id)),
                row,
            })
            .collect(),
    };
    let standing_breaks = class_section(db, standing_breaks(None), SHOWN).await?;
    let standing_ending = standing_ending(db, today).await?;
    let unredeemed_codes = unredeemed(db, today, n).await?;
    let recordings = super::recordings::list(db, None)
        .await?
        .into_iter()
        .filter(|r| r.attention())
        .collect();
    let failed = failed_emails();
    let failed_emails = Section {
        total: failed.clone().count(db).await?,
        rows: failed
            .order_by_desc(outbox_messages::Column::Id)
            .limit(SHOWN)
            .all(db)
            .await?,
    };
    Ok(Todo {
        past_scheduled,
        unconfirmed,
        standing_breaks,
        standing_ending,
        unredeemed_codes,
        recordings,
        failed_emails,
    })
}

/// Classes that ended before `today` and are still `scheduled`.
fn past_scheduled(today: NaiveDate) -> Condition {
    Condition::all()
        .add(classes::Column::Status.eq(ClassStatus::Scheduled))
        .add(classes::Column::EndDate.lt(today))
}

/// Delivered classes whose confirmation is chased (`n.confirm_reminder_days` after the end).
pub(crate) fn unconfirmed(today: NaiveDate, n: &Nudges) -> Condition {
    Condition::all()
        .add(classes::Column::Status.eq(ClassStatus::Delivered))
        .add(classes::Column::EndDate.lte(chased_if_ended_by(today, n.confirm_reminder_days)))
}

/// Rule 1 broken after the fact: classes of official content, not cancelled, ending after
/// their MCT's standing does (of one MCT, or of all).
pub fn standing_breaks(trainer_id: Option<i64>) -> Condition {
    let official = courses::Entity::find()
        .select_only()
        .column(courses::Column::Id)
        .filter(courses::Column::Content.eq(Content::Official))
        .into_query();
    let mut c = Condition::all()
        .add(classes::Column::Status.ne(ClassStatus::Cancelled))
        .add(classes::Column::CourseId.in_subquery(official))
        .add(
            sea_orm::sea_query::Expr::col((classes::Entity, classes::Column::EndDate)).gt(
                sea_orm::sea_query::Expr::col((trainers::Entity, trainers::Column::MctValidUntil)),
            ),
        );
    if let Some(id) = trainer_id {
        c = c.add(classes::Column::TrainerId.eq(id));
    }
    c
}

/// The classes matching `condition` (which may name the MCT's columns), oldest end first:
/// the count, and the first `limit` with their course and MCT.
pub async fn class_section(
    db: &impl ConnectionTrait,
    condition: Condition,
    limit: u64,
) -> Result<Section<ClassRow>, ServiceError> {
    let total = count_classes(db, condition.clone()).await?;
    let rows = ClassRow::select()
        .filter(condition)
        .order_by_asc(classes::Column::EndDate)
        .order_by_asc(classes::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(ClassRow::of)
        .collect::<Result<_, ServiceError>>()?;
    Ok(Section { total, rows })
}

async fn count_classes(
    db: &impl ConnectionTrait,
    condition: Condition,
) -> Result<u64, ServiceError> {
    Ok(classes::Entity::find()
        .join(JoinType::InnerJoin, classes::Relation::Trainer.def())
        .filter(condition)
        .count(db)
        .await?)
}

/// The dashboard card: how many records each list holds (counts only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub past_scheduled: u64,
    pub unconfirmed: u64,
    pub standing_breaks: u64,
    pub standing_ending: u64,
    pub unredeemed_codes: u64,
    pub failed_emails: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.past_scheduled
            + self.unconfirmed
            + self.standing_breaks
            + self.standing_ending
            + self.unredeemed_codes
            + self.failed_emails
    }
}

pub async fn counts(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    n: &Nudges,
) -> Result<Counts, ServiceError> {
    Ok(Counts {
        past_scheduled: count_classes(db, past_scheduled(today)).await?,
        unconfirmed: count_classes(db, unconfirmed(today, n)).await?,
        standing_breaks: count_classes(db, standing_breaks(None)).await?,
        standing_ending: super::trainers::ending_soon_query(today).count(db).await?,
        unredeemed_codes: achievement_codes::Entity::find()
            .filter(unredeemed_condition(today, n))
            .count(db)
            .await?,
        failed_emails: failed_emails().count(db).await?,
    })
}

fn failed_emails() -> sea_orm::Select<outbox_messages::Entity> {
    outbox_messages::Entity::find().filter(outbox_messages::Column::Status.eq(OutboxStatus::Failed))
}

async fn standing_ending(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Section<StandingEnding>, ServiceError> {
    let query = super::trainers::ending_soon_query(today);
    let total = query.clone().count(db).await?;
    let shown = query
        .order_by_asc(trainers::Column::MctValidUntil)
        .order_by_asc(trainers::Column::Id)
        .limit(SHOWN)
        .all(db)
        .await?;
    // Their classes after their standing, counted for all of them in one statement.
    let after: std::collections::HashMap<i64, i64> = classes::Entity::find()
        .join(JoinType::InnerJoin, classes::Relation::Trainer.def())
        .filter(standing_breaks(None))
        .filter(classes::Column::TrainerId.is_in(shown.iter().map(|t| t.id)))
        .select_only()
        .column(classes::Column::TrainerId)
        .column_as(classes::Column::Id.count(), "n")
        .group_by(classes::Column::TrainerId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let rows = shown
        .into_iter()
        .map(|trainer| StandingEnding {
            days_left: (trainer.mct_valid_until - today).num_days(),
            classes_after: after.get(&trainer.id).copied().unwrap_or(0) as u64,
            trainer,
        })
        .collect();
    Ok(Section { total, rows })
}

/// Issued, e-mailed codes not redeemed `n.code_reminder_days` after they were issued.
pub(crate) fn unredeemed_condition(today: NaiveDate, n: &Nudges) -> Condition {
    Condition::all()
        .add(achievement_codes::Column::EnrollmentId.is_not_null())
        .add(achievement_codes::Column::RedeemedOn.is_null())
        .add(
            achievement_codes::Column::IssuedOn
                .lte(chased_if_ended_by(today, n.code_reminder_days)),
        )
}

async fn unredeemed(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    n: &Nudges,
) -> Result<Section<Unredeemed>, ServiceError> {
    let query = achievement_codes::Entity::find().filter(unredeemed_condition(today, n));
    let total = query.clone().count(db).await?;
    let codes = query
        .order_by_asc(achievement_codes::Column::IssuedOn)
        .order_by_asc(achievement_codes::Column::Id)
        .limit(SHOWN)
        .all(db)
        .await?;
    let enrollment_ids: Vec<i64> = codes.iter().filter_map(|c| c.enrollment_id).collect();
    let learners = enrollments::Entity::find()
        .filter(enrollments::Column::Id.is_in(enrollment_ids))
        .all(db)
        .await?;
    let class_ids: Vec<i64> = learners.iter().map(|e| e.class_id).collect();
    let classes_of = classes::Entity::find()
        .filter(classes::Column::Id.is_in(class_ids))
        .all(db)
        .await?;
    let reminded = sent(
        db,
        nudges::CODE_REMINDER,
        codes.iter().map(|c| code_subject(c.id)),
    )
    .await?;
    let rows = codes
        .into_iter()
        .filter_map(|code| {
            let learner = learners.iter().find(|e| Some(e.id) == code.enrollment_id)?;
            let class = classes_of.iter().find(|c| c.id == learner.class_id)?;
            Some(Unredeemed {
                learner_name: learner.learner_name.clone(),
                class_id: class.id,
                class_ref: class.class_ref.clone(),
                reminded: reminded.contains(&code_subject(code.id)),
                code,
            })
        })
        .collect();
    Ok(Section { total, rows })
}

pub(crate) fn class_subject(id: i64) -> String {
    format!("class:{id}")
}

pub(crate) fn code_subject(id: i64) -> String {
    format!("code:{id}")
}

/// Which of `subjects` already had the nudge `kind` (one query).
pub(crate) async fn sent(
    db: &impl ConnectionTrait,
    kind: &str,
    subjects: impl Iterator<Item = String>,
) -> Result<std::collections::HashSet<String>, ServiceError> {
    let subjects: Vec<String> = subjects.collect();
    if subjects.is_empty() {
        return Ok(Default::default());
    }
    Ok(notices::Entity::find()
        .select_only()
        .column(notices::Column::Subject)
        .filter(notices::Column::Kind.eq(kind))
        .filter(notices::Column::Subject.is_in(subjects))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}
