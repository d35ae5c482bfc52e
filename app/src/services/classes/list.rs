//! The class list: its filter, the search, keyset pages in any of its orders (`sort.rs`),
//! the names and roster counts shown beside each row, and the cache of its pages.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use entity::{classes, courses, enrollments, roster_counts, trainers};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

pub use super::sort::{Cursor, Direction, Sort, SortKey};

use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::{ClassStatus, Modality};
use crate::services::versions::Versions;
use crate::services::{Search, ServiceError, lower_like, rosters};

/// The class list's filters (all optional; combined with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClassFilter {
    pub status: Option<ClassStatus>,
    pub modality: Option<Modality>,
    pub course_id: Option<i64>,
    pub trainer_id: Option<i64>,
    pub area: Option<SolutionArea>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Class ref prefix, course code or title, MCT name, e-mail or ID.
    pub search: String,
    /// Classes with a learner whose name or e-mail contains this.
    pub learner: String,
    /// Classes whose location contains this.
    pub location: String,
}

impl ClassFilter {
    async fn condition(&self, db: &impl ConnectionTrait) -> Result<Condition, ServiceError> {
        let mut c = Condition::all();
        if let Some(s) = self.status {
            c = c.add(classes::Column::Status.eq(s));
        }
        if let Some(m) = self.modality {
            c = c.add(classes::Column::Modality.eq(m));
        }
        if let Some(id) = self.course_id {
            c = c.add(classes::Column::CourseId.eq(id));
        }
        if let Some(id) = self.trainer_id {
            c = c.add(classes::Column::TrainerId.eq(id));
        }
        if let Some(area) = self.area {
            let in_area = courses::Entity::find()
                .select_only()
                .column(courses::Column::Id)
                .filter(courses::Column::SolutionArea.eq(area))
                .into_query();
            c = c.add(classes::Column::CourseId.in_subquery(in_area));
        }
        if let Some(from) = self.from {
            c = c.add(classes::Column::StartDate.gte(from));
        }
        if let Some(to) = self.to {
            c = c.add(classes::Column::StartDate.lte(to));
        }
        if let Some(search) = Search::parse(&self.search) {
            c = c.add(search_condition(db, &search).await?);
        }
        if let Some(learner) = Search::parse(&self.learner) {
            // One pass over the roster lines, in the database: no index serves a
            // "contains" (and a learner's e-mail is matched anywhere, as on the roster).
            let with_learner = enrollments::Entity::find()
                .select_only()
                .column(enrollments::Column::ClassId)
                .filter(rosters::matching(&learner));
            c = c.add(
                classes::Column::Id
                    .in_subquery(rosters::run_first(with_learner, db.get_database_backend())),
            );
        }
        if let Some(location) = Search::parse(&self.location) {
            c = c.add(lower_like(
                (classes::Entity, classes::Column::Location),
                location.contains(),
            ));
        }
        Ok(c)
    }
}

/// Free text matches a class whose ref starts with it, or whose course (code, title) or
/// MCT (name, e-mail, MCT ID) contains it. Each of the three is an index lookup; when all
/// three together find few classes, the list filters on exactly those ids (a rare ref is
/// found at once), otherwise on the three conditions while walking the list in order
/// (a common course fills a page after a few thousand rows).
async fn search_condition(
    db: &impl ConnectionTrait,
    search: &Search,
) -> Result<Condition, ServiceError> {
    let pattern = search.contains();
    let (ref_from, ref_to) = search.upper_prefix_range();
    let course_ids: Vec<i64> = courses::Entity::find()
        .select_only()
        .column(courses::Column::Id)
        .filter(
            lower_like(courses::Column::CourseCode, pattern.clone())
                .or(lower_like(courses::Column::Title, pattern.clone())),
        )
        .into_tuple()
        .all(db)
        .await?;
    let trainer_ids: Vec<i64> = trainers::Entity::find()
        .select_only()
        .column(trainers::Column::Id)
        .filter(
            lower_like(trainers::Column::Name, pattern.clone())
                .or(trainers::Column::Email.like(pattern.clone()))
                .or(lower_like(trainers::Column::MctId, pattern)),
        )
        .into_tuple()
        .all(db)
        .await?;
    let branches = [
        Some(
            classes::Column::ClassRef
                .gte(ref_from)
                .and(classes::Column::ClassRef.lt(ref_to)),
        ),
        (!course_ids.is_empty()).then(|| classes::Column::CourseId.is_in(course_ids)),
        (!trainer_ids.is_empty()).then(|| classes::Column::TrainerId.is_in(trainer_ids)),
    ];
    // Counted first (one row back each): fetching thousands of ids only to learn that
    // there are too many cost more than the list itself.
    for branch in branches.iter().flatten() {
        let condition = Condition::all().add(branch.clone());
        if capped_count(db, condition, FEW_MATCHES as u64).await? > FEW_MATCHES as u64 {
            let any = branches
                .into_iter()
                .flatten()
                .fold(Condition::any(), |c, b| c.add(b));
            return Ok(any);
        }
    }
    let mut ids: Vec<i64> = Vec::new();
    for branch in branches.iter().flatten() {
        let found: Vec<i64> = classes::Entity::find()
            .select_only()
            .column(classes::Column::Id)
            .filter(branch.clone())
            .into_tuple()
            .all(db)
            .await?;
        ids.extend(found);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Condition::all().add(classes::Column::Id.is_in(ids)))
}

/// Up to this many classes per search branch, the list filters on their ids.
const FEW_MATCHES: usize = 5000;

/// A class with the names and the roster counts the list shows.
pub struct ClassRow {
    pub class: classes::Model,
    pub course: courses::Model,
    pub trainer: trainers::Model,
    /// Roster lines, and those ticked as attending.
    pub learners: u64,
    pub attended: u64,
}

/// What one statement reads per class for a [`ClassRow`].
type Found = (
    classes::Model,
    Option<courses::Model>,
    Option<trainers::Model>,
    Option<roster_counts::Model>,
);

impl ClassRow {
    /// Classes with their course, MCT and roster counts, in one statement (filter and
    /// order it, then [`ClassRow::of`] each row).
    pub fn select() -> sea_orm::SelectFour<
        classes::Entity,
        courses::Entity,
        trainers::Entity,
        roster_counts::Entity,
        impl sea_orm::Topology,
    > {
        classes::Entity::find()
            .find_also_related(courses::Entity)
            .find_also_related(trainers::Entity)
            .find_also(classes::Entity, roster_counts::Entity)
    }

    pub fn of((class, course, trainer, counts): Found) -> Result<ClassRow, ServiceError> {
        let counts = counts.unwrap_or(roster_counts::Model {
            class_id: class.id,
            learners: 0,
            attended: 0,
        });
        Ok(ClassRow {
            class,
            course: course.ok_or(ServiceError::NotFound)?,
            trainer: trainer.ok_or(ServiceError::NotFound)?,
            learners: u64::try_from(counts.learners).unwrap_or(0),
            attended: u64::try_from(counts.attended).unwrap_or(0),
        })
    }
}

pub struct ClassPage {
    pub rows: Vec<ClassRow>,
    pub next: Option<Cursor>,
    /// Matching classes, counted up to [`COUNT_CAP`].
    pub total: u64,
}

pub const COUNT_CAP: u64 = 1_000;

/// One page of classes matching `filter`, in `sort` order, after `after` (a cursor of
/// that sort). Counting stops at [`COUNT_CAP`] so a filter matching a million classes
/// costs no more than one matching a thousand.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ClassFilter,
    sort: Sort,
    after: Option<&Cursor>,
    page_size: u64,
) -> Result<ClassPage, ServiceError> {
    let condition = filter.condition(db).await?;
    let total = capped_count(db, condition.clone(), COUNT_CAP).await?;
    Ok(ClassPage {
        total,
        ..page_where(db, condition, sort, after, page_size).await?
    })
}

/// Pages of the class list kept under the [`Versions`] of the tables they were read
/// from: a repeat view costs the one-row read of the versions instead of a count and a
/// page of rows, and any write to classes, courses or MCTs (whoever makes it) reads the
/// page again, and so does any roster change (the rows show learner counts). Bounded: at
/// most [`CACHED_PAGES`] pages.
#[derive(Default)]
pub struct PageCache {
    pages: std::sync::Mutex<HashMap<PageKey, (Versions, Arc<ClassPage>)>>,
}

type PageKey = (ClassFilter, Sort, Option<Cursor>, u64);

/// Pages kept at most (a page of 50 rows is about 30 KiB).
const CACHED_PAGES: usize = 64;

impl PageCache {
    /// [`list`], from the cache when `versions` (read by the caller before anything
    /// else of its request) are those the page was read at.
    pub async fn list(
        &self,
        db: &impl ConnectionTrait,
        versions: Versions,
        filter: &ClassFilter,
        sort: Sort,
        after: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Arc<ClassPage>, ServiceError> {
        let key = (filter.clone(), sort, after.cloned(), page_size);
        if let Some((read_at, page)) = self.pages().get(&key)
            && *read_at == versions
        {
            return Ok(page.clone());
        }
        let page = Arc::new(list(db, filter, sort, after, page_size).await?);
        let mut pages = self.pages();
        if pages.len() >= CACHED_PAGES {
            pages.retain(|_, (read_at, _)| *read_at == versions);
            if pages.len() >= CACHED_PAGES {
                pages.clear();
            }
        }
        // Kept under the versions read before the page: a change landing in between
        // makes the next request read it again.
        pages.insert(key, (versions, page.clone()));
        Ok(page)
    }

    fn pages(&self) -> std::sync::MutexGuard<'_, HashMap<PageKey, (Versions, Arc<ClassPage>)>> {
        // A panic while holding the map leaves nothing half-written in it.
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How many classes match, counted in the database up to `cap + 1`:
/// `SELECT COUNT(*) FROM (SELECT id … LIMIT cap + 1)`, one row back however many match.
async fn capped_count(
    db: &impl ConnectionTrait,
    condition: Condition,
    cap: u64,
) -> Result<u64, ServiceError> {
    use sea_orm::sea_query::{Alias, Expr, Query};
    let capped = classes::Entity::find()
        .filter(condition)
        .select_only()
        .column(classes::Column::Id)
        .limit(cap + 1)
        .into_query();
    let count = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(capped, Alias::new("capped"))
        .to_owned();
    let row = db
        .query_one_raw(db.get_database_backend().build(&count))
        .await?
        .ok_or_else(|| ServiceError::Other(anyhow::anyhow!("COUNT(*) returned no row")))?;
    Ok(u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0))
}

/// One page without the count (exports walk every page).
pub async fn list_page(
    db: &impl ConnectionTrait,
    filter: &ClassFilter,
    sort: Sort,
    after: Option<&Cursor>,
    page_size: u64,
) -> Result<ClassPage, ServiceError> {
    page_where(db, filter.condition(db).await?, sort, after, page_size).await
}

async fn page_where(
    db: &impl ConnectionTrait,
    condition: Condition,
    sort: Sort,
    after: Option<&Cursor>,
    page_size: u64,
) -> Result<ClassPage, ServiceError> {
    // The page's classes: their ids, read in list order off the sort's index, with only
    // the table the order starts in joined (any more would be read for every class the
    // walk passes, not just the page's).
    let mut page = classes::Entity::find()
        .select_only()
        .column(classes::Column::Id)
        .filter(condition);
    page = match sort.key {
        SortKey::Course => page.inner_join(courses::Entity),
        SortKey::Mct => page.inner_join(trainers::Entity),
        SortKey::Learners => page.inner_join(roster_counts::Entity),
        SortKey::Date | SortKey::Ref | SortKey::Status => page,
    };
    if let Some(cursor) = after {
        if cursor.key() != sort.key {
            return Err(ServiceError::Other(anyhow::anyhow!(
                "a {} cursor for the list sorted by {}",
                cursor.key(),
                sort.key
            )));
        }
        page = page.filter(sort.after(cursor));
    }
    for (column, order) in sort.order() {
        page = page.order_by(column, order);
    }
    let page = page.limit(page_size + 1).into_query();
    // One statement: those classes with their course, MCT and roster counts (a page
    // costs one round trip), in the same order.
    let mut query = ClassRow::select().filter(classes::Column::Id.in_subquery(page));
    for (column, order) in sort.order() {
        query = query.order_by(column, order);
    }
    let mut found = query.all(db).await?;
    let more = found.len() as u64 > page_size;
    found.truncate(page_size as usize);
    let rows: Vec<ClassRow> = found
        .into_iter()
        .map(ClassRow::of)
        .collect::<Result<_, ServiceError>>()?;
    let next = if more {
        rows.last().map(|row| Cursor::after(sort.key, row))
    } else {
        None
    };
    Ok(ClassPage {
        rows,
        next,
        total: 0,
    })
}
