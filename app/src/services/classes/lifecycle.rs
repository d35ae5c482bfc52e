//! A class's lifecycle after it is logged: status changes (SPEC §3 rule 1) and the
//! MCT's confirmation of the delivery they taught.
use chrono::NaiveDate;
use entity::{classes, enrollments};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::json;

use super::{date_range, get, parts, visible_class};
use crate::clock;
use crate::db::begin_write;
use crate::domain::delivery::{
    Acting, ClassStatus, Confirmer, OnceStarted, StatusChange, check_started, check_status_dates,
    confirmer,
};
use crate::domain::policy::check_trainer_standing;
use crate::domain::role::Caller;
use crate::ledger::{self, Actor, Entry};
use crate::mail::{self, Message, messages::DeliveryConfirmationRequest};
use crate::services::ServiceError;

/// Coordinators: the class took place, or will not. Marking it delivered e-mails its
/// MCT a link to `class_link` (the class page, where they sign in and confirm).
pub async fn change_status(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    change: StatusChange,
    today: NaiveDate,
    class_link: &str,
) -> Result<classes::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let class = get(&tx, id).await?;
    let to = class.status.apply(change).map_err(ServiceError::Refused)?;
    check_status_dates(to, class.start_date, class.end_date, today)
        .map_err(|u| ServiceError::Refused(u.message))?;
    check_attendance_stays_true(&tx, class.id, to, class.start_date, today).await?;
    let action = match change {
        StatusChange::MarkDelivered => "deliver",
        StatusChange::Cancel => "cancel",
        StatusChange::Confirm => "confirm",
    };
    let class = set_status(&tx, actor, class, to, action, None).await?;
    if change == StatusChange::MarkDelivered {
        let (course, trainer) = parts(&tx, &class).await?;
        let request = DeliveryConfirmationRequest {
            trainer_name: trainer.name.clone(),
            class_ref: class.class_ref.clone(),
            course_code: course.course_code,
            course_title: course.title,
            dates: date_range(class.start_date, class.end_date),
            link: class_link.to_string(),
        };
        let email = request
            .to(&trainer.email, Some(format!("class:{}", class.id)))
            .map_err(mail::render_error)?;
        mail::enqueue(&tx, email).await?;
    }
    tx.commit().await?;
    Ok(class)
}

/// Rule 7 seen from the roster: learners ticked as attending mean the class has started
/// and was not cancelled, so it cannot be cancelled or moved to start after today.
pub(super) async fn check_attendance_stays_true(
    tx: &impl ConnectionTrait,
    class_id: i64,
    status: ClassStatus,
    start: NaiveDate,
    today: NaiveDate,
) -> Result<(), ServiceError> {
    let Err(why) = check_started(OnceStarted::TickAttendance, status, start, today) else {
        return Ok(());
    };
    let present = enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .filter(enrollments::Column::Attended.eq(true))
        .count(tx)
        .await?;
    if present > 0 {
        return Err(ServiceError::Refused(format!(
            "{present} learners are ticked as attending, but {why} (untick them first)"
        )));
    }
    Ok(())
}

async fn set_status(
    tx: &impl ConnectionTrait,
    actor: &Actor,
    class: classes::Model,
    to: ClassStatus,
    action: &'static str,
    reason: Option<String>,
) -> Result<classes::Model, ServiceError> {
    let from = class.status;
    let mut active: classes::ActiveModel = class.into();
    active.status = Set(to);
    let now = clock::now();
    if to == ClassStatus::Confirmed {
        active.confirmed_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    let class = active.update(tx).await?;
    let mut entry = Entry::new("class", class.id, action)
        .changes(json!({"status": {"before": from, "after": to.id()}}));
    if let Some(reason) = reason {
        entry = entry.reason(reason);
    }
    ledger::append(tx, actor, entry).await?;
    Ok(class)
}

/// The class's own MCT confirms the delivery, or an admin on their behalf with a reason.
/// Rule 1 is checked again: the MCT's standing may have been corrected since.
pub async fn confirm(
    db: &DatabaseConnection,
    user: &Caller,
    id: i64,
    reason: &str,
) -> Result<classes::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let class = visible_class(&tx, user, id).await?;
    let (course, trainer) = parts(&tx, &class).await?;
    let own = trainer.user_id == Some(user.id);
    let who = match confirmer(Acting::User(user.role), own, reason) {
        Ok(who) => who,
        Err(Some(message)) => return Err(ServiceError::field("reason", message)),
        Err(None) => return Err(ServiceError::Forbidden),
    };
    let to = class
        .status
        .apply(StatusChange::Confirm)
        .map_err(ServiceError::Refused)?;
    check_status_dates(
        to,
        class.start_date,
        class.end_date,
        clock::now().date_naive(),
    )
    .map_err(|u| ServiceError::Refused(u.message))?;
    check_trainer_standing(
        course.content,
        &trainer.name,
        trainer.mct_valid_until,
        class.end_date,
    )
    .map_err(ServiceError::Refused)?;
    let reason = match who {
        Confirmer::OwnTrainer | Confirmer::Operator => None,
        Confirmer::AdminOnBehalf(reason) => {
            Some(format!("confirmed on behalf of {}: {reason}", trainer.name))
        }
    };
    let class = set_status(&tx, &Actor::User(user.id), class, to, "confirm", reason).await?;
    tx.commit().await?;
    Ok(class)
}
