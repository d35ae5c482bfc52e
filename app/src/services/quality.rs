//! Quality reports (issue 16 item 5): survey results per MCT, course or solution area
//! over a period, their trend by month, and the learners' comments.
//!
//! The database adds up (one GROUP BY group and month over the period's classes, their
//! learners and responses; never a row per learner in memory); `domain::quality::report`
//! makes the figures, and states the rules (which classes, what the rate divides by).
//! Comments come newest first a bounded page at a time, with their class, course and MCT
//! but never the learner's name or e-mail.
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, QueryResult, Value};
use tokio::sync::mpsc;

use super::kpi::{literal, month_of, rows};
use super::{ServiceError, trainers as trainer_svc};
use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::ClassStatus;
use crate::domain::quality::{
    self, Answered, Figures, GroupFigures, Month, MonthFigures, Period, QUESTIONS, Report, Row,
    Tally,
};
use crate::domain::role::{Caller, Role};

tsp_domain::id_enum!(
    /// What a quality report groups classes by.
    GroupBy {
        Trainer = "trainer" / "MCT",
        Course = "course" / "Course",
        Area = "area" / "Solution area",
    }
);

/// One group of a report: an MCT, a course, or a solution area (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    Trainer(i64),
    Course(i64),
    Area(Option<SolutionArea>),
}

/// The `group=` value of courses without a solution area.
pub const NO_AREA: &str = "none";

impl GroupKey {
    /// As the `group=` parameter writes it: the MCT's or course's id, or the area's id.
    pub fn param(&self) -> String {
        match self {
            GroupKey::Trainer(id) | GroupKey::Course(id) => id.to_string(),
            GroupKey::Area(area) => area.map_or(NO_AREA, |a| a.id()).to_string(),
        }
    }

    /// A `group=` value of a report grouped `by`.
    pub fn parse(by: GroupBy, raw: &str) -> Result<GroupKey, String> {
        let raw = raw.trim();
        let id = || {
            let what = if by == GroupBy::Trainer {
                "an MCT"
            } else {
                "a course"
            };
            raw.parse::<i64>().map_err(|_| {
                format!(
                    "must be the id of {what}, not {}",
                    crate::domain::fields::shown(raw)
                )
            })
        };
        Ok(match by {
            GroupBy::Trainer => GroupKey::Trainer(id()?),
            GroupBy::Course => GroupKey::Course(id()?),
            GroupBy::Area if raw == NO_AREA => GroupKey::Area(None),
            GroupBy::Area => GroupKey::Area(Some(raw.parse()?)),
        })
    }
}

/// A group as the report names it; groups sort by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    pub name: String,
    /// The MCT ID, the course code, or the area's id (empty for no area).
    pub code: String,
    pub key: GroupKey,
}

/// Which classes a report covers: those of `period`, grouped `by`, optionally one group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub by: GroupBy,
    pub period: Period,
    pub group: Option<GroupKey>,
}

/// `selection` as `caller` may see it: a trainer sees only their own figures and
/// comments (grouped by MCT, their own group, whatever they asked for). `None`: a trainer
/// whose sign-in has no MCT record, who has no classes.
pub async fn scoped(
    db: &impl ConnectionTrait,
    caller: &Caller,
    selection: Selection,
) -> Result<Option<Selection>, ServiceError> {
    if caller.role.may_read_records() {
        return Ok(Some(selection));
    }
    debug_assert_eq!(caller.role, Role::Trainer);
    Ok(trainer_svc::of_user(db, caller.id)
        .await?
        .map(|t| Selection {
            by: GroupBy::Trainer,
            group: Some(GroupKey::Trainer(t.id)),
            ..selection
        }))
}

/// The classes of `s` with their course (`co`), MCT (`t`) and `joins`: the `FROM … WHERE`
/// the report and its comments are read from, and its values.
fn classes_of(s: &Selection, joins: &str) -> (String, Vec<Value>) {
    let took_place: Vec<String> = ClassStatus::ALL
        .into_iter()
        .filter(|st| st.took_place())
        .map(|st| literal(st.id()))
        .collect();
    let mut sql = format!(
        "FROM classes cl JOIN courses co ON co.id = cl.course_id \
         JOIN trainers t ON t.id = cl.trainer_id {joins} \
         WHERE cl.status IN ({}) AND cl.end_date >= ? AND cl.end_date <= ?",
        took_place.join(", ")
    );
    let mut values = vec![Value::from(s.period.from()), Value::from(s.period.to())];
    match s.group {
        None => {}
        Some(GroupKey::Trainer(id)) => {
            sql.push_str(" AND cl.trainer_id = ?");
            values.push(Value::from(id));
        }
        Some(GroupKey::Course(id)) => {
            sql.push_str(" AND cl.course_id = ?");
            values.push(Value::from(id));
        }
        Some(GroupKey::Area(None)) => sql.push_str(" AND co.solution_area IS NULL"),
        Some(GroupKey::Area(Some(area))) => {
            sql.push_str(" AND co.solution_area = ?");
            values.push(Value::from(area.id()));
        }
    }
    (sql, values)
}

/// The group columns (`gid`, `gname`, `gcode`) of a report grouped `by`.
fn group_columns(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Trainer => "cl.trainer_id AS gid, t.name AS gname, t.mct_id AS gcode",
        GroupBy::Course => "cl.course_id AS gid, co.title AS gname, co.course_code AS gcode",
        GroupBy::Area => {
            "CAST(0 AS BIGINT) AS gid, CAST('' AS TEXT) AS gname, co.solution_area AS gcode"
        }
    }
}

fn group_of(by: GroupBy, row: &QueryResult) -> Result<Group, ServiceError> {
    let id: i64 = row.try_get("", "gid")?;
    let code: Option<String> = row.try_get("", "gcode")?;
    Ok(match by {
        GroupBy::Trainer | GroupBy::Course => Group {
            name: row.try_get("", "gname")?,
            code: code.unwrap_or_default(),
            key: if by == GroupBy::Trainer {
                GroupKey::Trainer(id)
            } else {
                GroupKey::Course(id)
            },
        },
        GroupBy::Area => {
            let area = match code.as_deref() {
                None | Some("") => None,
                Some(id) => Some(id.parse::<SolutionArea>().map_err(|e| {
                    ServiceError::Other(anyhow::anyhow!("stored solution area {e}"))
                })?),
            };
            Group {
                name: area.map_or("No solution area", |a| a.label()).to_string(),
                code: area.map_or("", |a| a.id()).to_string(),
                key: GroupKey::Area(area),
            }
        }
    })
}

fn tally_of(row: &QueryResult) -> Result<Tally, ServiceError> {
    let n = |column: &str| -> Result<i64, ServiceError> {
        Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
    };
    let mut answers = [Answered::default(); QUESTIONS];
    for (q, a) in answers.iter_mut().enumerate() {
        *a = Answered {
            count: n(&format!("n{}", q + 1))?,
            sum: n(&format!("s{}", q + 1))?,
        };
    }
    Ok(Tally {
        classes: n("classes")?,
        learners: n("learners")?,
        responses: n("responses")?,
        answers,
    })
}

/// The report of `s`: each group's figures and trend, and all of them together. One
/// query, grouped by group and month (a row per group and month, never per learner).
pub async fn report(
    db: &impl ConnectionTrait,
    s: &Selection,
) -> Result<Report<Group>, ServiceError> {
    let (from, values) = classes_of(
        s,
        "LEFT JOIN enrollments e ON e.class_id = cl.id \
         LEFT JOIN survey_responses r ON r.enrollment_id = e.id",
    );
    let questions: Vec<String> = (1..=QUESTIONS)
        .map(|q| format!("COUNT(r.q{q}) AS n{q}, SUM(r.q{q}) AS s{q}"))
        .collect();
    // A learner could answer when marked as attending, or when they did answer.
    let sql = format!(
        "SELECT {group}, {month} AS month, COUNT(DISTINCT cl.id) AS classes, \
         SUM(CASE WHEN e.attended OR r.id IS NOT NULL THEN 1 ELSE 0 END) AS learners, \
         COUNT(r.id) AS responses, {questions} {from} GROUP BY 1, 2, 3, 4",
        group = group_columns(s.by),
        month = month_of("cl.end_date"),
        questions = questions.join(", "),
    );
    let mut found = Vec::new();
    for row in rows(db, &sql, values).await? {
        let month: String = row.try_get("", "month")?;
        let month = Month::parse(&month)
            .ok_or_else(|| ServiceError::Other(anyhow::anyhow!("month {month:?}")))?;
        found.push(Row {
            group: group_of(s.by, &row)?,
            month,
            tally: tally_of(&row)?,
        });
    }
    Ok(quality::report(&s.period, found))
}

/// One learner's comment, as reports show it: with its class, course and MCT, never the
/// learner's name or e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub submitted_on: NaiveDate,
    pub text: String,
    pub class_id: i64,
    pub class_ref: String,
    pub course_code: String,
    pub course_title: String,
    pub mct_id: String,
    pub mct_name: String,
}

pub const COMMENT_COLUMNS: [&str; 7] = [
    "class_ref",
    "course_code",
    "course_title",
    "mct_id",
    "mct_name",
    "submitted_on",
    "comment",
];

impl Comment {
    pub fn record(&self) -> [String; 7] {
        [
            self.class_ref.clone(),
            self.course_code.clone(),
            self.course_title.clone(),
            self.mct_id.clone(),
            self.mct_name.clone(),
            self.submitted_on.to_string(),
            self.text.clone(),
        ]
    }

    fn of(row: &QueryResult) -> Result<Comment, ServiceError> {
        Ok(Comment {
            id: row.try_get("", "id")?,
            submitted_on: row.try_get("", "day")?,
            text: row.try_get("", "comment")?,
            class_id: row.try_get("", "class_id")?,
            class_ref: row.try_get("", "class_ref")?,
            course_code: row.try_get("", "course_code")?,
            course_title: row.try_get("", "course_title")?,
            mct_id: row.try_get("", "mct_id")?,
            mct_name: row.try_get("", "mct_name")?,
        })
    }
}

/// Where a page of comments starts: after this one (newest first: by date, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentCursor {
    pub submitted_on: NaiveDate,
    pub id: i64,
}

impl CommentCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.submitted_on, self.id)
    }

    pub fn decode(raw: &str) -> Option<CommentCursor> {
        let (day, id) = raw.trim().split_once('_')?;
        Some(CommentCursor {
            submitted_on: day.parse().ok()?,
            id: id.parse().ok()?,
        })
    }

    pub fn of(comment: &Comment) -> CommentCursor {
        CommentCursor {
            submitted_on: comment.submitted_on,
            id: comment.id,
        }
    }
}

/// Which comments: those of a report's classes, or of one class.
#[derive(Debug, Clone, Copy)]
pub enum CommentsOf {
    Selection(Selection),
    Class(i64),
}

/// The `FROM … WHERE` of the comments of `of`, and its values.
fn comments_from(of: &CommentsOf) -> (String, Vec<Value>) {
    let (mut sql, values) = match of {
        CommentsOf::Selection(s) => classes_of(
            s,
            "JOIN enrollments e ON e.class_id = cl.id \
             JOIN survey_responses r ON r.enrollment_id = e.id",
        ),
        CommentsOf::Class(id) => (
            "FROM survey_responses r JOIN enrollments e ON e.id = r.enrollment_id \
             JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id \
             JOIN trainers t ON t.id = cl.trainer_id WHERE e.class_id = ?"
                .to_string(),
            vec![Value::from(*id)],
        ),
    };
    sql.push_str(" AND r.comment IS NOT NULL AND r.comment <> ''");
    (sql, values)
}

/// Up to `limit` comments of `of` after `after`, newest first.
pub async fn comments(
    db: &impl ConnectionTrait,
    of: &CommentsOf,
    after: Option<CommentCursor>,
    limit: u64,
) -> Result<Vec<Comment>, ServiceError> {
    let (from, mut values) = comments_from(of);
    let mut sql = format!(
        "SELECT r.id AS id, r.submitted_on AS day, r.comment AS comment, cl.id AS class_id, \
         cl.class_ref AS class_ref, co.course_code AS course_code, co.title AS course_title, \
         t.mct_id AS mct_id, t.name AS mct_name {from}"
    );
    if let Some(c) = after {
        sql.push_str(" AND (r.submitted_on < ? OR (r.submitted_on = ? AND r.id < ?))");
        values.extend([
            Value::from(c.submitted_on),
            Value::from(c.submitted_on),
            Value::from(c.id),
        ]);
    }
    sql.push_str(" ORDER BY r.submitted_on DESC, r.id DESC LIMIT ?");
    values.push(Value::from(limit as i64));
    rows(db, &sql, values)
        .await?
        .iter()
        .map(Comment::of)
        .collect()
}

/// How many comments `of` has.
pub async fn comment_count(
    db: &impl ConnectionTrait,
    of: &CommentsOf,
) -> Result<u64, ServiceError> {
    let (from, values) = comments_from(of);
    let found = rows(db, &format!("SELECT COUNT(*) AS n {from}"), values).await?;
    let n: i64 = match found.first() {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

/// Comments read per statement when exporting.
const EXPORT_CHUNK: u64 = 1000;

/// Sends every comment of `of` as CSV chunks (header first), newest first. Stops quietly
/// when the receiver is gone.
pub async fn comments_csv(
    db: &impl ConnectionTrait,
    of: &CommentsOf,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<(), ServiceError> {
    let mut after = None;
    let mut header = true;
    loop {
        let page = comments(db, of, after, EXPORT_CHUNK).await?;
        let mut writer = csv_writer();
        if std::mem::take(&mut header) {
            super::exports::write_row(&mut writer, COMMENT_COLUMNS).map_err(csv_err)?;
        }
        for comment in &page {
            super::exports::write_row(&mut writer, comment.record()).map_err(csv_err)?;
        }
        if out.send(into_bytes(writer)?).await.is_err() {
            return Ok(());
        }
        match page.last() {
            Some(last) if page.len() as u64 == EXPORT_CHUNK => {
                after = Some(CommentCursor::of(last));
            }
            _ => return Ok(()),
        }
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(64 * 1024))
}

fn into_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
    writer
        .into_inner()
        .map_err(|e| ServiceError::Other(anyhow::anyhow!("csv: {e}")))
}

fn csv_err(e: csv::Error) -> ServiceError {
    ServiceError::Other(e.into())
}

/// The columns of the figures export: one row per group and month (`month` is `all` for
/// the whole period), then the same for all groups together (`group_code` `all`).
pub const FIGURE_COLUMNS: [&str; 20] = [
    "group_by",
    "group_code",
    "group_name",
    "month",
    "classes",
    "learners",
    "responses",
    "response_rate_percent",
    "q1_answers",
    "q1_average",
    "q2_answers",
    "q2_average",
    "q3_answers",
    "q3_average",
    "q4_answers",
    "q4_average",
    "q5_answers",
    "q5_average",
    "overall_answers",
    "overall_average",
];

fn figure_record(by: GroupBy, code: &str, name: &str, month: &str, f: &Figures) -> Vec<String> {
    let mut cells = vec![
        by.id().to_string(),
        code.to_string(),
        name.to_string(),
        month.to_string(),
        f.classes.to_string(),
        f.learners.to_string(),
        f.responses.to_string(),
        f.rate.map(|p| p.to_string()).unwrap_or_default(),
    ];
    for q in f.questions.iter().chain(std::iter::once(&f.overall)) {
        cells.push(q.count.to_string());
        cells.push(q.average_or_blank());
    }
    cells
}

fn group_records<G>(
    by: GroupBy,
    code: &str,
    name: &str,
    g: &GroupFigures<G>,
    every_month: bool,
) -> Vec<Vec<String>> {
    let months = g
        .trend
        .iter()
        .filter(|m| every_month || m.figures.classes > 0)
        .map(|m| figure_record(by, code, name, &m.month.to_string(), &m.figures));
    std::iter::once(figure_record(by, code, name, "all", &g.figures))
        .chain(months)
        .collect()
}

/// The figures of `s` as CSV: each group's period and months with classes, then all
/// groups' period and every month of it.
pub async fn figures_csv(
    db: &impl ConnectionTrait,
    s: &Selection,
) -> Result<Vec<u8>, ServiceError> {
    let report = report(db, s).await?;
    let mut writer = csv_writer();
    let write = |writer: &mut csv::Writer<Vec<u8>>, rows: Vec<Vec<String>>| {
        rows.into_iter()
            .try_for_each(|r| super::exports::write_row(writer, r))
            .map_err(csv_err)
    };
    super::exports::write_row(&mut writer, FIGURE_COLUMNS).map_err(csv_err)?;
    for g in &report.groups {
        let rows = group_records(s.by, &group_code(&g.group), &g.group.name, g, false);
        write(&mut writer, rows)?;
    }
    write(
        &mut writer,
        group_records(s.by, "all", "All", &report.total, true),
    )?;
    into_bytes(writer)
}

/// The code a group is known by in an export: the MCT ID, course code or area id
/// (`none` for courses without an area).
pub fn group_code(g: &Group) -> String {
    match g.key {
        GroupKey::Area(None) => NO_AREA.to_string(),
        _ => g.code.clone(),
    }
}

/// One MCT's own survey results (their home page and their `/quality`): the period's
/// figures and trend, and their latest comments.
#[derive(Debug, Clone)]
pub struct MyQuality {
    pub period: Period,
    pub figures: Figures,
    pub trend: Vec<MonthFigures>,
    /// The scored questions' wording, q1..q5.
    pub wording: Vec<String>,
    /// The newest comments, or `None` where the page lists them itself.
    pub latest: Option<Vec<Comment>>,
    /// How many comments the period has.
    pub comments: u64,
}

impl MyQuality {
    /// (number, wording, answers) of each question, for a table.
    pub fn questions(&self) -> Vec<(usize, &str, Answered)> {
        self.figures
            .questions
            .iter()
            .enumerate()
            .map(|(i, a)| (i + 1, self.wording.get(i).map_or("", String::as_str), *a))
            .collect()
    }
}

/// Comments an MCT's summary shows.
pub const LATEST_COMMENTS: u64 = 5;

/// The survey results of the MCT `trainer_id` over `period`; `latest` comments with them
/// (0: none, the page lists them itself).
pub async fn of_trainer(
    db: &impl ConnectionTrait,
    wording: &[String],
    trainer_id: i64,
    period: Period,
    latest: u64,
) -> Result<MyQuality, ServiceError> {
    let s = Selection {
        by: GroupBy::Trainer,
        period,
        group: Some(GroupKey::Trainer(trainer_id)),
    };
    let report = report(db, &s).await?;
    let of = CommentsOf::Selection(s);
    let latest = if latest > 0 {
        Some(comments(db, &of, None, latest).await?)
    } else {
        None
    };
    Ok(MyQuality {
        period,
        figures: report.total.figures,
        trend: report.total.trend,
        wording: wording.to_vec(),
        latest,
        comments: comment_count(db, &of).await?,
    })
}

/// The signed-in MCT's own results of the last 12 months (this one included) with their
/// [`LATEST_COMMENTS`] newest comments, for their home page; `None` when the sign-in
/// `user_id` has no MCT record. `wording` is `config.surveys.questions`.
pub async fn my_summary(
    db: &impl ConnectionTrait,
    wording: &[String],
    user_id: i64,
    today: NaiveDate,
) -> Result<Option<MyQuality>, ServiceError> {
    let Some(trainer) = trainer_svc::of_user(db, user_id).await? else {
        return Ok(None);
    };
    Ok(Some(summary(db, wording, trainer.id, today).await?))
}

/// [`my_summary`] for a page that has already read the MCT's record.
pub async fn summary(
    db: &impl ConnectionTrait,
    wording: &[String],
    trainer_id: i64,
    today: NaiveDate,
) -> Result<MyQuality, ServiceError> {
    let period = Period::last_12_months(today);
    of_trainer(db, wording, trainer_id, period, LATEST_COMMENTS).await
}
