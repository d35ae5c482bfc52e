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
