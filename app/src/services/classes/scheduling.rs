//! Helping a coordinator schedule: the next class ref from the numbering pattern, and
//! the MCT's other classes on overlapping dates.
use super::*;

/// The MCT's other live classes (not cancelled, not recorded) whose dates overlap
/// `class`'s (`domain::delivery::dates_overlap`, as SQL), first five by start date. None
/// for a cancelled or recorded class: it books nobody's days.
pub async fn double_bookings(
    db: &impl ConnectionTrait,
    class: &classes::Model,
) -> Result<Vec<classes::Model>, ServiceError> {
    use crate::domain::delivery::Modality;
    if class.status == ClassStatus::Cancelled || class.modality == Modality::Recorded {
        return Ok(vec![]);
    }
    use classes::Column as C;
    use sea_orm::QuerySelect;
    Ok(classes::Entity::find()
        .filter(C::TrainerId.eq(class.trainer_id))
        .filter(C::Id.ne(class.id))
        .filter(C::Status.ne(ClassStatus::Cancelled))
        .filter(C::Modality.ne(Modality::Recorded))
        .filter(C::StartDate.lte(class.end_date))
        .filter(C::EndDate.gte(class.start_date))
        .order_by_asc(C::StartDate)
        .limit(5)
        .all(db)
        .await?)
}

/// The ref proposed for a new class scheduled on `today`: the next number of `pattern`
/// (`classes.ref_pattern`) in `today`'s year. Reads the highest refs of the year's
/// prefix off the class-ref index.
pub async fn next_ref(
    db: &impl ConnectionTrait,
    pattern: &str,
    today: NaiveDate,
) -> Result<String, ServiceError> {
    use crate::domain::numbering;
    use chrono::Datelike;
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, Func};
    let prefix = numbering::prefix(pattern, today.year());
    // Zero-padded counters sort as numbers among refs of one length; a longer ref holds
    // a bigger number (or a suffix, which `next_ref` skips): the longest come first.
    let taken: Vec<String> = classes::Entity::find()
        .select_only()
        .column(classes::Column::ClassRef)
        .filter(classes::Column::ClassRef.gte(prefix.clone()))
        .filter(classes::Column::ClassRef.lt(format!("{prefix}\u{7f}")))
        .order_by_desc(Expr::expr(Func::char_length(Expr::col(
            classes::Column::ClassRef,
        ))))
        .order_by_desc(classes::Column::ClassRef)
        .limit(50)
        .into_tuple()
        .all(db)
        .await?;
    Ok(numbering::next_ref(
        pattern,
        today.year(),
        taken.iter().map(String::as_str),
    ))
}

/// E-mails a class's MCT that they teach it, with the class attached as `invite.ics`
/// (issue 16 item 6), in the transaction that assigns them. Only for a class still to
/// come or under way: a cancelled class, or one that has ended, tells nobody anything new.
pub async fn tell_assigned_trainer(
    tx: &Recorder,
    class: &classes::Model,
    course: &courses::Model,
    trainer: &trainers::Model,
    server: &crate::config::ServerConfig,
) -> Result<(), ServiceError> {
    use crate::mail::notices::{ClassAssignment, class_line};
    use crate::mail::{self, Message};
    if class.status == ClassStatus::Cancelled || class.end_date < clock::now().date_naive() {
        return Ok(());
    }
    let link = server.link(&format!("/classes/{}", class.id));
    let ics = crate::domain::calendar::render(
        &class.class_ref,
        &[crate::services::calendar::event(class, course, server)],
        clock::now(),
    );
    let email = ClassAssignment::new(
        &trainer.name,
        &class.class_ref,
        class_line(
            &class.class_ref,
            &course.course_code,
            &course.title,
            &date_range(class.start_date, class.end_date),
        ),
        class.location.as_deref(),
        link,
    )
    .to(&trainer.email, Some(format!("class:{}", class.id)))
    .map_err(mail::render_error)?
    .with_calendar(ics);
    mail::enqueue(tx, email).await?;
    Ok(())
}
