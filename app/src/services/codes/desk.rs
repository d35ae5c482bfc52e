//! The codes desk: finding an issued code (by code, learner or class), sending a learner
//! their code again, and what the pool holds and when it runs out.
use super::*;
use crate::services::{Search, lower_like};
use sea_orm::ExprTrait;

/// Issued codes matching `search`: a code or class ref starting with it, or a learner
/// whose name or e-mail contains it. Every issued code without a search.
fn matching(search: Option<&Search>) -> Condition {
    let mut condition = Condition::all().add(achievement_codes::Column::EnrollmentId.is_not_null());
    if let Some(search) = search {
        let (from, to) = search.upper_prefix_range();
        let classes = classes::Entity::find()
            .select_only()
            .column(classes::Column::Id)
            .filter(classes::Column::ClassRef.gte(from.clone()))
            .filter(classes::Column::ClassRef.lt(to.clone()))
            .into_query();
        let learners = enrollments::Entity::find()
            .select_only()
            .column(enrollments::Column::Id)
            .filter(
                Condition::any()
                    .add(lower_like(
                        enrollments::Column::LearnerName,
                        search.contains(),
                    ))
                    .add(enrollments::Column::EmailKey.like(search.contains()))
                    .add(enrollments::Column::ClassId.in_subquery(classes)),
            )
            .into_query();
        condition = condition.add(
            Condition::any()
                .add(
                    achievement_codes::Column::Code
                        .gte(from)
                        .and(achievement_codes::Column::Code.lt(to)),
                )
                .add(achievement_codes::Column::EnrollmentId.in_subquery(learners)),
        );
    }
    condition
}

/// Issued codes matching `search`, newest first: `limit` of them after skipping `offset`.
pub async fn issued(
    db: &impl ConnectionTrait,
    search: Option<&Search>,
    offset: u64,
    limit: u64,
) -> Result<Vec<IssuedCode>, ServiceError> {
    let codes = achievement_codes::Entity::find()
        .filter(matching(search))
        .order_by_desc(achievement_codes::Column::IssuedOn)
        .order_by_desc(achievement_codes::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    with_learners(db, codes).await
}

/// How many issued codes match `search`.
pub async fn issued_count(
    db: &impl ConnectionTrait,
    search: Option<&Search>,
) -> Result<u64, ServiceError> {
    Ok(achievement_codes::Entity::find()
        .filter(matching(search))
        .count(db)
        .await?)
}

/// What the pool holds on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFacts {
    /// Codes that can be handed out (unassigned, not expired).
    pub available: u64,
    /// The first date one of them expires, if any has an expiry.
    pub next_expiry: Option<NaiveDate>,
    /// Of them, how many expire within [`EXPIRING_DAYS`] days.
    pub expiring: u64,
    /// Unassigned codes already expired (no longer handed out).
    pub expired: u64,
}

/// "Expiring soon" on the codes page: within this many days.
pub const EXPIRING_DAYS: i64 = 30;

pub async fn pool_facts(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<PoolFacts, ServiceError> {
    use achievement_codes::Column as C;
    let available = pool_size(db, today).await?;
    let next_expiry = achievement_codes::Entity::find()
        .filter(available_on(today))
        .filter(C::ExpiresOn.is_not_null())
        .order_by_asc(C::ExpiresOn)
        .one(db)
        .await?
        .and_then(|c| c.expires_on);
    let expiring = achievement_codes::Entity::find()
        .filter(available_on(today))
        .filter(C::ExpiresOn.lte(today + chrono::Duration::days(EXPIRING_DAYS)))
        .count(db)
        .await?;
    let expired = achievement_codes::Entity::find()
        .filter(C::EnrollmentId.is_null())
        .filter(C::ExpiresOn.lt(today))
        .count(db)
        .await?;
    Ok(PoolFacts {
        available,
        next_expiry,
        expiring,
        expired,
    })
}

/// Sends the learner holding code `code_id` their code again, with a new link (the old
/// one stops working): for a learner who lost the e-mail, or whose address was corrected
/// on the roster. Returns the address it went to. One ledger entry (`resend`).
pub async fn resend(
    db: &DatabaseConnection,
    actor: &Actor,
    code_id: i64,
    links: CodeLinks<'_>,
) -> Result<String, ServiceError> {
    let tx = Recorder::begin(db, actor).await?;
    let before = achievement_codes::Entity::find_by_id(code_id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let Some(enrollment_id) = before.enrollment_id else {
        return Err(ServiceError::Refused(format!(
            "{} is in the pool: it has not been issued to anyone",
            before.code
        )));
    };
    let learner = enrollments::Entity::find_by_id(enrollment_id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if erasure::is_placeholder_email(&learner.email_key) {
        return Err(ServiceError::Refused(format!(
            "the learner holding {} was erased: there is nobody to send it to",
            before.code
        )));
    }
    let class = class_svc::get(&tx, learner.class_id).await?;
    let course = course_svc::get(&tx, class.course_id).await?;
    let token = crate::auth::random_token();
    let now = clock::now();
    let mut active: achievement_codes::ActiveModel = before.clone().into();
    active.token_hash = Set(Some(crate::auth::token_hash(&token)));
    active.emailed_at = Set(Some(now));
    active.updated_at = Set(now);
    let code = active.update(&tx).await?;
    let email = links.email(&learner, &code, &token, (&class, &course))?;
    mail::enqueue(&tx, email).await?;
    let entry = Entry::new("achievement_code", code.id, "resend")
        .changes(changes(Some(&before), &code))
        .parent("class", class.id);
    tx.record(entry).await?;
    tx.commit().await?;
    Ok(learner.learner_email)
}
