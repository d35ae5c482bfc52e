//! Learners across classes (issue 16 item 4): a search by name or e-mail with one line per
//! learner, and a learner's page — every class they are on, with attendance, achievement
//! code, survey response and recording consents.
//!
//! A learner is every roster line with their e-mail (`enrollments.email_key`, compared
//! case-insensitively, as the roster and erasure do). Their page's address names one of
//! those lines by id, never the e-mail: addresses end up in logs, browser history and
//! shared links, and an id says nothing about the person.
//!
//! Staff (admin, coordinator, viewer) see every class. A trainer sees only the classes
//! they teach: a learner of none of them does not exist for them (not found, as for a
//! class of another MCT), and a learner of one of them shows only those classes.
use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    achievement_codes, classes, courses, enrollments, recording_consents, recordings,
    survey_invitations, survey_responses, trainers,
};
use sea_orm::sea_query::{
    Alias, Expr, JoinType, Order, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

use super::{Search, ServiceError, rosters, trainers as trainer_svc};
use crate::domain::role::{Caller, Role};

/// Learners (search lines) or classes (a learner's page) per page.
pub const PAGE: u64 = 50;

/// Whose roster lines a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Everyone,
    /// The classes of this MCT.
    Mct(i64),
    /// A trainer whose sign-in is linked to no MCT record yet: no classes.
    Nobody,
}

async fn scope_of(db: &impl ConnectionTrait, caller: &Caller) -> Result<Scope, ServiceError> {
    if caller.role.may_read_records() {
        return Ok(Scope::Everyone);
    }
    if caller.role != Role::Trainer {
        return Err(ServiceError::Forbidden);
    }
    Ok(match trainer_svc::of_user(db, caller.id).await? {
        Some(t) => Scope::Mct(t.id),
        None => Scope::Nobody,
    })
}

/// The ids of the classes `scope` sees, as a subquery (`None`: every class).
fn classes_of(scope: Scope) -> Option<SelectStatement> {
    let trainer_id = match scope {
        Scope::Everyone => return None,
        Scope::Mct(id) => id,
        Scope::Nobody => 0,
    };
    Some(
        classes::Entity::find()
            .select_only()
            .column(classes::Column::Id)
            .filter(classes::Column::TrainerId.eq(trainer_id))
            .into_query(),
    )
}

/// One line of the search: a learner, with the classes of theirs the caller sees.
#[derive(Debug, Clone)]
pub struct LearnerLine {
    /// Their latest roster line (by class start): their page's address, and the name and
    /// e-mail shown.
    pub enrollment_id: i64,
    pub name: String,
    pub email: String,
    pub classes: u64,
    pub latest: classes::Model,
}

#[derive(Debug, Clone)]
pub struct LearnerLines {
    pub lines: Vec<LearnerLine>,
    /// The next page starts after this roster line's learner, when there is one.
    pub next: Option<i64>,
}

/// Learners whose name (on any of their roster lines) or e-mail contains `search` (every
/// learner without one), by e-mail, a page of [`PAGE`] after the learner of roster line
/// `after`. Two statements of one page each, whatever the number of learners: the page
/// of learners grouped by e-mail with their latest line's id, then those lines.
pub async fn search(
    db: &impl ConnectionTrait,
    caller: &Caller,
    search: Option<&Search>,
    after: Option<i64>,
) -> Result<LearnerLines, ServiceError> {
    use enrollments::Column as E;
    let scope = scope_of(db, caller).await?;
    let empty = LearnerLines {
        lines: vec![],
        next: None,
    };
    if scope == Scope::Nobody {
        return Ok(empty);
    }
    let after_key = match after {
        Some(id) => enrollments::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|e| e.email_key),
        None => None,
    };
    let (e, e2, c2) = (Alias::new("e"), Alias::new("e2"), Alias::new("c2"));
    // The learner's latest line the caller sees (latest class start, then newest class).
    let mut latest = Query::select();
    latest
        .column((e2.clone(), E::Id))
        .from_as(enrollments::Entity, e2.clone())
        .join_as(
            JoinType::InnerJoin,
            classes::Entity,
            c2.clone(),
            Expr::col((c2.clone(), classes::Column::Id)).equals((e2.clone(), E::ClassId)),
        )
        .and_where(Expr::col((e2.clone(), E::EmailKey)).equals((e.clone(), E::EmailKey)))
        .order_by((c2.clone(), classes::Column::StartDate), Order::Desc)
        .order_by((c2.clone(), classes::Column::Id), Order::Desc)
        .limit(1);
    let mut page = Query::select();
    page.expr_as(Expr::col((e.clone(), E::EmailKey)), Alias::new("email_key"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("classes"))
        .from_as(enrollments::Entity, e.clone());
    if let Some(visible) = classes_of(scope) {
        latest.and_where(Expr::col((e2.clone(), E::ClassId)).in_subquery(visible.clone()));
        page.and_where(Expr::col((e.clone(), E::ClassId)).in_subquery(visible));
    }
    page.expr_as(
        Expr::SubQuery(None, Box::new(latest.into_sub_query_statement())),
        Alias::new("latest"),
    );
    if let Some(search) = search {
        let mut matching = enrollments::Entity::find()
            .select_only()
            .column(E::EmailKey)
            .filter(rosters::matching(search));
        if let Some(visible) = classes_of(scope) {
            matching = matching.filter(E::ClassId.in_subquery(visible));
        }
        let matching = rosters::run_first(matching, db.get_database_backend());
        page.and_where(Expr::col((e.clone(), E::EmailKey)).in_subquery(matching));
    }
    if let Some(key) = after_key {
        page.and_where(Expr::col((e.clone(), E::EmailKey)).gt(key));
    }
    page.group_by_col((e.clone(), E::EmailKey))
        .order_by((e.clone(), E::EmailKey), Order::Asc)
        .limit(PAGE + 1);
    let found = db
        .query_all_raw(db.get_database_backend().build(&page))
        .await?;
    let mut keys: Vec<(i64, u64)> = Vec::with_capacity(found.len());
    for row in &found {
        let latest: Option<i64> = row.try_get("", "latest")?;
        let classes: i64 = row.try_get("", "classes")?;
        if let Some(latest) = latest {
            keys.push((latest, u64::try_from(classes).unwrap_or(0)));
        }
    }
    let more = keys.len() as u64 > PAGE;
    keys.truncate(PAGE as usize);
    if keys.is_empty() {
        return Ok(empty);
    }
    let ids: Vec<i64> = keys.iter().map(|(id, _)| *id).collect();
    let lines: HashMap<i64, enrollments::Model> = enrollments::Entity::find()
        .filter(E::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let class_ids: Vec<i64> = lines.values().map(|e| e.class_id).collect();
    let classes: HashMap<i64, classes::Model> = classes::Entity::find()
        .filter(classes::Column::Id.is_in(class_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let lines: Vec<LearnerLine> = keys
        .into_iter()
        .filter_map(|(id, count)| {
            let line = lines.get(&id)?;
            Some(LearnerLine {
                enrollment_id: id,
                name: line.learner_name.clone(),
                email: line.learner_email.clone(),
                classes: count,
                latest: classes.get(&line.class_id)?.clone(),
            })
        })
        .collect();
    let next = if more {
        lines.last().map(|l| l.enrollment_id)
    } else {
        None
    };
    Ok(LearnerLines { lines, next })
}

/// Where a page of a learner's classes starts: after this class (start date, id), in
/// the page's order (latest start first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub start_date: NaiveDate,
    pub class_id: i64,
}

impl After {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.start_date, self.class_id)
    }

    pub fn decode(raw: &str) -> Option<After> {
        let (date, id) = raw.split_once('_')?;
        Some(After {
            start_date: date.parse().ok()?,
            class_id: id.parse().ok()?,
        })
    }
}

/// One of a learner's classes, with what the learner has on it.
#[derive(Debug, Clone)]
pub struct LearnerClass {
    pub enrollment: enrollments::Model,
    pub class: classes::Model,
    pub course: courses::Model,
    pub trainer: trainers::Model,
    pub code: Option<achievement_codes::Model>,
    pub invitation: Option<survey_invitations::Model>,
    pub response: Option<survey_responses::Model>,
    /// Their consent on each recording made of the class.
    pub consents: Vec<(recording_consents::Model, recordings::Model)>,
}

#[derive(Debug, Clone)]
pub struct Learner {
    /// The roster line the page was opened by (its name and e-mail head the page).
    pub line: enrollments::Model,
    /// The learner's classes the caller sees, and on how many they attended.
    pub classes: u64,
    pub attended: u64,
    /// A page of them, latest start first.
    pub rows: Vec<LearnerClass>,
    pub next: Option<After>,
}

/// The learner of roster line `enrollment_id` as `caller` may see them: their classes
/// (a page of [`PAGE`] after `after`) with attendance, code, survey and consents. Not
/// found when the line does not exist or is on a class the caller does not see.
pub async fn learner(
    db: &impl ConnectionTrait,
    caller: &Caller,
    enrollment_id: i64,
    after: Option<After>,
) -> Result<Learner, ServiceError> {
    use enrollments::Column as E;
    let scope = scope_of(db, caller).await?;
    let line = enrollments::Entity::find_by_id(enrollment_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let of_learner = |query: sea_orm::Select<enrollments::Entity>| {
        let query = query.filter(E::EmailKey.eq(line.email_key.as_str()));
        match classes_of(scope) {
            Some(visible) => query.filter(E::ClassId.in_subquery(visible)),
            None => query,
        }
    };
    match scope {
        Scope::Everyone => {}
        Scope::Nobody => return Err(ServiceError::NotFound),
        Scope::Mct(trainer_id) => {
            let class = classes::Entity::find_by_id(line.class_id)
                .one(db)
                .await?
                .ok_or(ServiceError::NotFound)?;
            if class.trainer_id != trainer_id {
                return Err(ServiceError::NotFound);
            }
        }
    }
    // Both counts in one statement, in the database.
    let (classes, attended): (i64, Option<i64>) = of_learner(enrollments::Entity::find())
        .select_only()
        .column_as(E::Id.count(), "classes")
        .column_as(
            Expr::cust("SUM(CASE WHEN attended THEN 1 ELSE 0 END)"),
            "attended",
        )
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, None));
    let their_classes = of_learner(enrollments::Entity::find())
        .select_only()
        .column(E::ClassId)
        .into_query();
    let mut page = classes::Entity::find().filter(classes::Column::Id.in_subquery(their_classes));
    if let Some(after) = after {
        page = page.filter(
            Expr::tuple([
                Expr::col((classes::Entity, classes::Column::StartDate)),
                Expr::col((classes::Entity, classes::Column::Id)),
            ])
            .lt(Expr::tuple([
                Expr::val(after.start_date),
                Expr::val(after.class_id),
            ])),
        );
    }
    let mut found = page
        .find_also_related(courses::Entity)
        .find_also_related(trainers::Entity)
        .order_by_desc(classes::Column::StartDate)
        .order_by_desc(classes::Column::Id)
        .limit(PAGE + 1)
        .all(db)
        .await?;
    let more = found.len() as u64 > PAGE;
    found.truncate(PAGE as usize);
    let class_ids: Vec<i64> = found.iter().map(|(c, _, _)| c.id).collect();
    let mut lines: HashMap<i64, enrollments::Model> = of_learner(enrollments::Entity::find())
        .filter(E::ClassId.is_in(class_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.class_id, e))
        .collect();
    let line_ids: Vec<i64> = lines.values().map(|e| e.id).collect();
    let mut codes: HashMap<i64, achievement_codes::Model> = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::EnrollmentId.is_in(line_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| Some((c.enrollment_id?, c)))
        .collect();
    let mut invitations: HashMap<i64, survey_invitations::Model> =
        survey_invitations::Entity::find()
            .filter(survey_invitations::Column::EnrollmentId.is_in(line_ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.enrollment_id, i))
            .collect();
    let mut responses: HashMap<i64, survey_responses::Model> = survey_responses::Entity::find()
        .filter(survey_responses::Column::EnrollmentId.is_in(line_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.enrollment_id, r))
        .collect();
    let consents = recording_consents::Entity::find()
        .filter(recording_consents::Column::EnrollmentId.is_in(line_ids))
        .order_by_asc(recording_consents::Column::Id)
        .all(db)
        .await?;
    let recording_ids: Vec<i64> = consents.iter().map(|c| c.recording_id).collect();
    let recordings: HashMap<i64, recordings::Model> = recordings::Entity::find()
        .filter(recordings::Column::Id.is_in(recording_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut consents_of: HashMap<i64, Vec<(recording_consents::Model, recordings::Model)>> =
        HashMap::new();
    for consent in consents {
        if let (Some(enrollment), Some(recording)) =
            (consent.enrollment_id, recordings.get(&consent.recording_id))
        {
            consents_of
                .entry(enrollment)
                .or_default()
                .push((consent, recording.clone()));
        }
    }
    let mut rows = Vec::with_capacity(found.len());
    for (class, course, trainer) in found {
        let Some(enrollment) = lines.remove(&class.id) else {
            continue;
        };
        let id = enrollment.id;
        rows.push(LearnerClass {
            course: course.ok_or(ServiceError::NotFound)?,
            trainer: trainer.ok_or(ServiceError::NotFound)?,
            code: codes.remove(&id),
            invitation: invitations.remove(&id),
            response: responses.remove(&id),
            consents: consents_of.remove(&id).unwrap_or_default(),
            enrollment,
            class,
        });
    }
    let next = if more {
        rows.last().map(|r| After {
            start_date: r.class.start_date,
            class_id: r.class.id,
        })
    } else {
        None
    };
    Ok(Learner {
        line,
        classes: u64::try_from(classes).unwrap_or(0),
        attended: u64::try_from(attended.unwrap_or(0)).unwrap_or(0),
        rows,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learners_page_cursor_reads_back_and_garbage_is_none() {
        let after = After {
            start_date: "2026-03-02".parse().unwrap(),
            class_id: 42,
        };
        assert_eq!(After::decode(&after.encode()), Some(after));
        for raw in ["", "42", "2026-03-02", "2026-03-02_x", "x_42"] {
            assert_eq!(After::decode(raw), None, "{raw:?}");
        }
    }
}
