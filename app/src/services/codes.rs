//! Achievement codes: the pool, issuing to attending learners, redemption (SPEC §2).
//!
//! A code is in the pool while `enrollment_id` is NULL. Issuing gives each attending
//! learner of a class one pool code (oldest first), all or nothing, queues the e-mail
//! with a link to the learner's page (only the token's hash is stored) and records one
//! ledger entry per code. The ledger names learners by enrollment id only.
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{achievement_codes, classes, enrollments};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Outcome, ServiceError, classes as class_svc, courses as course_svc};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::Email;
use crate::domain::delivery::{Modality, OnceStarted, check_started};
use crate::domain::erasure;
use crate::domain::fields::{parse_code, parse_date, parse_optional_date};
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::mail::messages::AchievementCodeEmail;
use crate::mail::{self, Message};

mod desk;
mod import;
pub use desk::{EXPIRING_DAYS, PoolFacts, issued, issued_count, pool_facts, resend};
pub(crate) use import::{
    CodeImport, CodeRow, PoolRow, RedemptionRow, import_code_row, import_pool_row,
    import_redemption_row, parse_code_row, parse_pool_row, parse_redemption_row,
};

/// Longest code accepted (Microsoft's are far shorter).
const CODE_MAX: usize = 64;

/// The ledger's view of a code: no learner name or e-mail, only the enrollment id.
fn snapshot(c: &achievement_codes::Model) -> Value {
    json!({
        "code": c.code,
        "enrollment_id": c.enrollment_id,
        "issued_on": c.issued_on.map(|d| d.to_string()),
        "redeemed_on": c.redeemed_on.map(|d| d.to_string()),
        "emailed_at": c.emailed_at.map(|t| t.to_rfc3339()),
    })
}

fn changes(before: Option<&achievement_codes::Model>, after: &achievement_codes::Model) -> Value {
    diff(
        &before.map(snapshot).unwrap_or_else(|| json!({})),
        &snapshot(after),
        &[],
    )
}

/// Pool codes that can still be handed out on `today` (unassigned, not expired).
fn available_on(today: NaiveDate) -> Condition {
    Condition::all()
        .add(achievement_codes::Column::EnrollmentId.is_null())
        .add(
            Condition::any()
                .add(achievement_codes::Column::ExpiresOn.is_null())
                .add(achievement_codes::Column::ExpiresOn.gte(today)),
        )
}

/// How many codes the pool holds that can still be handed out.
pub async fn pool_size(db: &impl ConnectionTrait, today: NaiveDate) -> Result<u64, ServiceError> {
    Ok(achievement_codes::Entity::find()
        .filter(available_on(today))
        .count(db)
        .await?)
}

pub async fn by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<achievement_codes::Model>, ServiceError> {
    Ok(achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq(code))
        .one(db)
        .await?)
}

/// The codes issued to learners of `class_id`, by enrollment id.
pub async fn of_class(
    db: &impl ConnectionTrait,
    class_id: i64,
) -> Result<HashMap<i64, achievement_codes::Model>, ServiceError> {
    Ok(achievement_codes::Entity::find()
        .filter(
            achievement_codes::Column::EnrollmentId
                .in_subquery(super::rosters::ids_of_class(class_id)),
        )
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| c.enrollment_id.map(|e| (e, c)))
        .collect())
}

/// Gives every attending learner of the class who has no code yet one pool code, oldest
/// first, and e-mails it with a link `{page_base}/{token}`. All or nothing: when the pool
/// is too small nothing is issued. Returns how many codes were issued.
/// Where an achievement-code e-mail points: the learner's own code page (under
/// `page_base`, `/codes` of the app) and Microsoft Learn's redemption page.
#[derive(Debug, Clone, Copy)]
pub struct CodeLinks<'a> {
    pub page_base: &'a str,
    pub redeem_url: &'a str,
}

impl CodeLinks<'_> {
    /// The code e-mail to `learner` holding `code` (its page reached with `token`).
    fn email(
        &self,
        learner: &enrollments::Model,
        code: &achievement_codes::Model,
        token: &str,
        (class, course): (&classes::Model, &entity::courses::Model),
    ) -> Result<mail::Email, ServiceError> {
        AchievementCodeEmail {
            learner_name: learner.learner_name.clone(),
            code: code.code.clone(),
            course_code: course.course_code.clone(),
            course_title: course.title.clone(),
            dates: class_svc::date_range(class.start_date, class.end_date),
            link: format!("{}/{token}", self.page_base.trim_end_matches('/')),
            redeem_url: self.redeem_url.to_string(),
        }
        .to(&learner.learner_email, Some(format!("class:{}", class.id)))
        .map_err(|e| mail::render_error(e).into())
    }
}

pub async fn issue(
    db: &DatabaseConnection,
    actor: &Actor,
    class_id: i64,
    today: NaiveDate,
    links: CodeLinks<'_>,
) -> Result<usize, ServiceError> {
    let tx = begin_write(db).await?;
    // The chain head is locked first: concurrent issues are serialized, so two classes
    // can never be handed the same pool code.
    let tx = Recorder::lock(tx, actor).await?;
    let class = class_svc::get(&tx, class_id).await?;
    check_started(
        OnceStarted::IssueCodes,
        class.status,
        class.start_date,
        today,
    )
    .map_err(|m| ServiceError::Refused(format!("{}: {m}.", class.class_ref)))?;
    let course = course_svc::get(&tx, class.course_id).await?;
    let issued = of_class(&tx, class.id).await?;
    let waiting: Vec<enrollments::Model> = class_svc::roster(&tx, class.id)
        .await?
        .into_iter()
        // An erased learner has no address to send a code to (SPEC §6).
        .filter(|e| {
            e.attended
                && !issued.contains_key(&e.id)
                && !erasure::is_placeholder_email(&e.email_key)
        })
        .collect();
    if waiting.is_empty() {
        return Ok(0);
    }
    let pool = achievement_codes::Entity::find()
        .filter(available_on(today))
        .order_by_asc(achievement_codes::Column::CreatedAt)
        .order_by_asc(achievement_codes::Column::Id)
        .limit(waiting.len() as u64)
        .all(&tx)
        .await?;
    if pool.len() < waiting.len() {
        return Err(ServiceError::Refused(format!(
            "{} attending learners need a code but the pool holds only {}: nothing was issued. Import more codes into the pool first.",
            waiting.len(),
            pool.len()
        )));
    }
    let now = clock::now();
    let mut outbox = mail::Outbox::new();
    let pairs: Vec<(&enrollments::Model, achievement_codes::Model)> =
        waiting.iter().zip(pool).collect();
    for chunk in pairs.chunks(super::ROWS_PER_STATEMENT) {
        let issued: Vec<(String, achievement_codes::Model)> = chunk
            .iter()
            .map(|(learner, code)| {
                let token = crate::auth::random_token();
                let issued = achievement_codes::Model {
                    enrollment_id: Some(learner.id),
                    issued_on: Some(today),
                    token_hash: Some(crate::auth::token_hash(&token)),
                    emailed_at: Some(now),
                    updated_at: now,
                    ..code.clone()
                };
                (token, issued)
            })
            .collect();
        assign_issued(&tx, issued.iter().map(|(_, code)| code), today, now).await?;
        for ((learner, before), (token, code)) in chunk.iter().zip(&issued) {
            let email = links.email(learner, code, token, (&class, &course))?;
            outbox.push(&tx, email).await?;
            let entry = Entry::new("achievement_code", code.id, "issue")
                .changes(changes(Some(before), code))
                .parent("class", class.id);
            tx.record_as(actor, entry).await?;
        }
    }
    outbox.finish(&tx).await?;
    tx.commit().await?;
    Ok(waiting.len())
}

/// Writes `codes` as issued on `today`, e-mailed at `now`, in one statement: a `CASE` on
/// the id gives each row its own learner and token.
async fn assign_issued<'a>(
    tx: &Recorder,
    codes: impl Iterator<Item = &'a achievement_codes::Model> + Clone,
    today: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    use achievement_codes::Column as C;
    use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
    let (mut learner, mut token) = (CaseStatement::new(), CaseStatement::new());
    for code in codes.clone() {
        learner = learner.case(Expr::col(C::Id).eq(code.id), Expr::val(code.enrollment_id));
        token = token.case(
            Expr::col(C::Id).eq(code.id),
            Expr::val(code.token_hash.clone()),
        );
    }
    achievement_codes::Entity::update_many()
        .col_expr(C::EnrollmentId, learner.into())
        .col_expr(C::TokenHash, token.into())
        .col_expr(C::IssuedOn, Expr::val(Some(today)))
        .col_expr(C::EmailedAt, Expr::val(Some(now)))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.is_in(codes.map(|c| c.id)))
        .exec(tx)
        .await?;
    Ok(())
}

/// What a learner's own page shows: their code and the class it is for, nothing else.
#[derive(Debug, Clone)]
pub struct LearnerCode {
    pub code: String,
    pub course_code: String,
    pub course_title: String,
    pub dates: String,
    pub expires_on: Option<NaiveDate>,
}

/// The code whose learner page token is `token`, if any.
pub async fn by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<LearnerCode>, ServiceError> {
    // Tokens are 64 hex digits: anything else cannot match, so skip the lookup.
    if !crate::auth::is_token_shaped(token) {
        return Ok(None);
    }
    let Some(code) = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::TokenHash.eq(crate::auth::token_hash(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(enrollment_id) = code.enrollment_id else {
        return Ok(None);
    };
    let Some(enrollment) = enrollments::Entity::find_by_id(enrollment_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let class = class_svc::get(db, enrollment.class_id).await?;
    let course = course_svc::get(db, class.course_id).await?;
    Ok(Some(LearnerCode {
        code: code.code,
        course_code: course.course_code,
        course_title: course.title,
        dates: class_svc::date_range(class.start_date, class.end_date),
        expires_on: code.expires_on,
    }))
}

/// One issued code on the codes page.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code: achievement_codes::Model,
    pub class: classes::Model,
    pub learner_name: String,
}

impl IssuedCode {
    /// Recorded deliveries never count toward a KPI figure (SPEC §3 rule 5).
    pub fn kpi_credit(&self) -> bool {
        self.class.modality != Modality::Recorded
    }
}

/// The issued `codes` with their learners and classes (two queries), in their order.
async fn with_learners(
    db: &impl ConnectionTrait,
    codes: Vec<achievement_codes::Model>,
) -> Result<Vec<IssuedCode>, ServiceError> {
    let enrollment_ids: Vec<i64> = codes.iter().filter_map(|c| c.enrollment_id).collect();
    let learners: HashMap<i64, enrollments::Model> = if enrollment_ids.is_empty() {
        HashMap::new()
    } else {
        enrollments::Entity::find()
            .filter(enrollments::Column::Id.is_in(enrollment_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect()
    };
    let class_ids: HashSet<i64> = learners.values().map(|e| e.class_id).collect();
    let classes: HashMap<i64, classes::Model> = if class_ids.is_empty() {
        HashMap::new()
    } else {
        classes::Entity::find()
            .filter(classes::Column::Id.is_in(class_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    Ok(codes
        .into_iter()
        .filter_map(|code| {
            let learner = learners.get(&code.enrollment_id?)?;
            let class = classes.get(&learner.class_id)?.clone();
            Some(IssuedCode {
                learner_name: learner.learner_name.clone(),
                class,
                code,
            })
        })
        .collect())
}

/// How many codes have been issued.
/// `redeemed_on` is a date no later than `today` and no earlier than `issued_on`.
fn check_redeemed(
    redeemed_on: NaiveDate,
    issued_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), ServiceError> {
    if redeemed_on > today {
        return Err(ServiceError::field(
            "redeemed_on",
            format!("must not be in the future ({redeemed_on} is after {today})"),
        ));
    }
    if let Some(issued_on) = issued_on
        && redeemed_on < issued_on
    {
        return Err(ServiceError::field(
            "redeemed_on",
            format!("must not be before the code was issued on {issued_on}"),
        ));
    }
    Ok(())
}

/// Records by hand that the learner redeemed code `code_id` on `raw` (`YYYY-MM-DD`).
pub async fn redeem(
    db: &DatabaseConnection,
    actor: &Actor,
    code_id: i64,
    raw: &str,
    today: NaiveDate,
) -> Result<achievement_codes::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let code = achievement_codes::Entity::find_by_id(code_id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let Some(enrollment_id) = code.enrollment_id else {
        return Err(ServiceError::Refused(format!(
            "{} is still in the pool: only an issued code can be redeemed.",
            code.code
        )));
    };
    if let Some(on) = code.redeemed_on {
        return Err(ServiceError::Refused(format!(
            "{} was already redeemed on {on}.",
            code.code
        )));
    }
    let redeemed_on = parse_date(raw).map_err(|m| ServiceError::field("redeemed_on", m))?;
    check_redeemed(redeemed_on, code.issued_on, today)?;
    let class_id = enrollments::Entity::find_by_id(enrollment_id)
        .one(&tx)
        .await?
        .map(|e| e.class_id);
    let before = code.clone();
    let mut active: achievement_codes::ActiveModel = code.into();
    active.redeemed_on = Set(Some(redeemed_on));
    active.updated_at = Set(clock::now());
    let code = active.update(&tx).await?;
    let mut entry =
        Entry::new("achievement_code", code.id, "redeem").changes(changes(Some(&before), &code));
    if let Some(class_id) = class_id {
        entry = entry.parent("class", class_id);
    }
    let tx = Recorder::lock(tx, actor).await?;
    tx.record_as(actor, entry).await?;
    tx.commit().await?;
    Ok(code)
}

/// A class's codes in figures: how many were issued, and how many attending learners
/// have none yet (each a count in the database, whatever the class's size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCodeFigures {
    pub issued: u64,
    pub waiting: u64,
}

pub async fn class_figures(
    db: &impl ConnectionTrait,
    class_id: i64,
) -> Result<ClassCodeFigures, ServiceError> {
    let of_class = super::rosters::ids_of_class(class_id);
    let issued = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::EnrollmentId.in_subquery(of_class))
        .count(db)
        .await?;
    let attending = || {
        enrollments::Entity::find()
            .filter(enrollments::Column::ClassId.eq(class_id))
            .filter(enrollments::Column::Attended.eq(true))
    };
    let attended = attending().count(db).await?;
    let attending_with_code = achievement_codes::Entity::find()
        .filter(
            achievement_codes::Column::EnrollmentId.in_subquery(
                attending()
                    .select_only()
                    .column(enrollments::Column::Id)
                    .into_query(),
            ),
        )
        .count(db)
        .await?;
    Ok(ClassCodeFigures {
        issued,
        waiting: attended.saturating_sub(attending_with_code),
    })
}

/// The codes of the given roster lines (one page of a roster: a bounded list), in the
/// lines' order; lines without a code are left out.
pub async fn codes_of<'a>(
    db: &impl ConnectionTrait,
    lines: &'a [enrollments::Model],
) -> Result<Vec<(&'a enrollments::Model, achievement_codes::Model)>, ServiceError> {
    if lines.is_empty() {
        return Ok(vec![]);
    }
    let mut codes: HashMap<i64, achievement_codes::Model> = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::EnrollmentId.is_in(lines.iter().map(|l| l.id)))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| c.enrollment_id.map(|e| (e, c)))
        .collect();
    Ok(lines
        .iter()
        .filter_map(|line| codes.remove(&line.id).map(|code| (line, code)))
        .collect())
}
