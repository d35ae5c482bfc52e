//! An MCT's home (issue 16 item 6): what is coming, what waits for them, their calendar.
use chrono::NaiveDate;
use entity::{classes, courses, recording_consents, recordings, trainers};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::ServiceError;
use crate::domain::delivery::ClassStatus;
use crate::domain::recording::{ConsentStatus, RecordingStatus};

/// Rows per list on the home page.
pub const SHOWN: u64 = 20;

pub struct ClassLine {
    pub class: classes::Model,
    pub course: courses::Model,
}

pub struct TrainerHome {
    pub trainer: trainers::Model,
    /// Classes under way or to come (not cancelled), soonest first.
    pub upcoming: Vec<ClassLine>,
    /// Delivered classes that have ended: the MCT confirms them.
    pub to_confirm: Vec<ClassLine>,
    /// Recordings they present whose consent from them is still asked for.
    pub consent_requests: Vec<recordings::Model>,
    pub feed_on: bool,
}

/// The home of the MCT linked to `user_id`; `None` when the account is linked to none.
pub async fn trainer_home(
    db: &impl ConnectionTrait,
    user_id: i64,
    today: NaiveDate,
) -> Result<Option<TrainerHome>, ServiceError> {
    let Some(trainer) = super::trainers::of_user(db, user_id).await? else {
        return Ok(None);
    };
    let mine = || {
        classes::Entity::find()
            .filter(classes::Column::TrainerId.eq(trainer.id))
            .find_also_related(courses::Entity)
    };
    let lines = |found: Vec<(classes::Model, Option<courses::Model>)>| -> Vec<ClassLine> {
        found
            .into_iter()
            .filter_map(|(class, course)| {
                Some(ClassLine {
                    class,
                    course: course?,
                })
            })
            .collect()
    };
    let upcoming = lines(
        mine()
            .filter(classes::Column::EndDate.gte(today))
            .filter(classes::Column::Status.ne(ClassStatus::Cancelled))
            .order_by_asc(classes::Column::StartDate)
            .order_by_asc(classes::Column::Id)
            .limit(SHOWN)
            .all(db)
            .await?,
    );
    let to_confirm = lines(
        mine()
            .filter(classes::Column::Status.eq(ClassStatus::Delivered))
            .filter(classes::Column::EndDate.lte(today))
            .order_by_asc(classes::Column::EndDate)
            .order_by_asc(classes::Column::Id)
            .limit(SHOWN)
            .all(db)
            .await?,
    );
    let asked = recording_consents::Entity::find()
        .select_only()
        .column(recording_consents::Column::RecordingId)
        .filter(recording_consents::Column::TrainerId.eq(trainer.id))
        .filter(recording_consents::Column::Status.eq(ConsentStatus::Requested));
    let consent_requests = recordings::Entity::find()
        .filter(recordings::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(asked)))
        .filter(recordings::Column::Status.ne(RecordingStatus::Withdrawn))
        .order_by_asc(recordings::Column::Id)
        .limit(SHOWN)
        .all(db)
        .await?;
    Ok(Some(TrainerHome {
        feed_on: trainer.calendar_token_hash.is_some(),
        trainer,
        upcoming,
        to_confirm,
        consent_requests,
    }))
}
