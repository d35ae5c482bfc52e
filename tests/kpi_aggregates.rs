//! Issue 15 item 4: the KPI read from the aggregates (kept by triggers) equals the KPI
//! scanned from the raw rows, whatever happens to the records, and `kpi verify` finds a
//! difference when the aggregates are tampered with.
use chrono::{Days, NaiveDate, Utc};
use entity::{achievement_codes, classes, courses, enrollments, survey_responses};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use std::process::ExitCode;
use tsp_ledger::cli::{Command, KpiCommand, ReportFormat};
use tsp_ledger::domain::catalog::{Content, SolutionArea};
use tsp_ledger::domain::delivery::{ClassStatus, Modality};
use tsp_ledger::domain::kpi::DESIGNATION_2025;
use tsp_ledger::domain::survey::ResponseSource;
use tsp_ledger::services::kpi::{self, Source};
use tsp_ledger::services::kpi_aggregates;

use crate::fixtures::date;
use crate::support::TestApp;

/// One change to the record, made straight in the database: the triggers must follow
/// any write, not only the services' own.
#[derive(Debug, Clone)]
enum Change {
    ClassStatus(usize, usize),
    ClassModality(usize, usize),
    ClassCourse(usize, usize),
    ClassEnd(usize, u64),
    Course {
        course: usize,
        fundamentals: bool,
        days: i32,
        official: bool,
        area: Option<usize>,
    },
    Code {
        learner: usize,
        issued: bool,
        redeemed: Option<u64>,
        expires: Option<u64>,
    },
    CodeBackToPool(usize),
    Response {
        learner: usize,
        day: u64,
        answers: [Option<i16>; 5],
    },
    ResponseDeleted(usize),
}

fn change() -> impl Strategy<Value = Change> {
    let day = 0u64..700;
    let answer = proptest::option::of(1i16..=5);
    prop_oneof![
        (0usize..9, 0usize..4).prop_map(|(c, s)| Change::ClassStatus(c, s)),
        (0usize..9, 0usize..3).prop_map(|(c, m)| Change::ClassModality(c, m)),
        (0usize..9, 0usize..5).prop_map(|(c, co)| Change::ClassCourse(c, co)),
        (0usize..9, day.clone()).prop_map(|(c, d)| Change::ClassEnd(c, d)),
        (
            0usize..5,
            any::<bool>(),
            1i32..5,
            any::<bool>(),
            proptest::option::of(0usize..6)
        )
            .prop_map(
                |(course, fundamentals, days, official, area)| Change::Course {
                    course,
                    fundamentals,
                    days,
                    official,
                    area
                }
            ),
        (
            0usize..27,
            any::<bool>(),
            proptest::option::of(day.clone()),
            proptest::option::of(day.clone())
        )
            .prop_map(|(learner, issued, redeemed, expires)| Change::Code {
                learner,
                issued,
                redeemed,
                expires
            }),
        (0usize..27).prop_map(Change::CodeBackToPool),
        (0usize..27, day, proptest::array::uniform5(answer)).prop_map(|(learner, day, answers)| {
            Change::Response {
                learner,
                day,
                answers,
            }
        }),
        (0usize..27).prop_map(Change::ResponseDeleted),
    ]
}

const FIRST_DAY: &str = "2025-06-01";

fn day(offset: u64) -> NaiveDate {
    date(FIRST_DAY) + Days::new(offset)
}

struct Ids {
    classes: Vec<i64>,
    courses: Vec<i64>,
    learners: Vec<i64>,
}

async fn ids(app: &TestApp) -> Ids {
    let db = app.db();
    let classes = classes::Entity::find()
        .order_by_asc(classes::Column::Id)
        .all(db)
        .await
        .unwrap();
    let courses = courses::Entity::find()
        .order_by_asc(courses::Column::Id)
        .all(db)
        .await
        .unwrap();
    let learners = enrollments::Entity::find()
        .order_by_asc(enrollments::Column::Id)
        .all(db)
        .await
        .unwrap();
    Ids {
        classes: classes.iter().map(|c| c.id).collect(),
        courses: courses.iter().map(|c| c.id).collect(),
        learners: learners.iter().map(|e| e.id).collect(),
    }
}

async fn apply(db: &impl ConnectionTrait, ids: &Ids, change: &Change, serial: usize) {
    let class =
        |i: usize| classes::Entity::update_many().filter(classes::Column::Id.eq(ids.classes[i]));
    match change.clone() {
        Change::ClassStatus(c, s) => {
            class(c)
                .col_expr(classes::Column::Status, Expr::value(ClassStatus::ALL[s]))
                .exec(db)
                .await
                .unwrap();
        }
        Change::ClassModality(c, m) => {
            class(c)
                .col_expr(classes::Column::Modality, Expr::value(Modality::ALL[m]))
                .exec(db)
                .await
                .unwrap();
        }
        Change::ClassCourse(c, co) => {
            class(c)
                .col_expr(classes::Column::CourseId, Expr::value(ids.courses[co]))
                .exec(db)
                .await
                .unwrap();
        }
        Change::ClassEnd(c, d) => {
            class(c)
                .col_expr(classes::Column::StartDate, Expr::value(day(d)))
                .col_expr(classes::Column::EndDate, Expr::value(day(d)))
                .exec(db)
                .await
                .unwrap();
        }
        Change::Course {
            course,
            fundamentals,
            days,
            official,
            area,
        } => {
            let content = if official {
                Content::Official
            } else {
                Content::Unofficial
            };
            courses::Entity::update_many()
                .filter(courses::Column::Id.eq(ids.courses[course]))
                .col_expr(courses::Column::Fundamentals, Expr::value(fundamentals))
                .col_expr(courses::Column::DurationDays, Expr::value(days))
                .col_expr(courses::Column::Content, Expr::value(content))
                .col_expr(
                    courses::Column::SolutionArea,
                    Expr::value(area.map(|a| SolutionArea::ALL[a])),
                )
                .exec(db)
                .await
                .unwrap();
        }
        Change::Code {
            learner,
            issued,
            redeemed,
            expires,
        } => {
            let enrollment = ids.learners[learner];
            let issued_on = issued.then(|| day(0));
            // A code is redeemed only once issued.
            let redeemed_on = redeemed.filter(|_| issued).map(day);
            let expires_on = expires.map(day);
            let existing = achievement_codes::Entity::find()
                .filter(achievement_codes::Column::EnrollmentId.eq(enrollment))
                .one(db)
                .await
                .unwrap();
            match existing {
                Some(code) => {
                    let mut active: achievement_codes::ActiveModel = code.into();
                    active.issued_on = Set(issued_on);
                    active.redeemed_on = Set(redeemed_on);
                    active.expires_on = Set(expires_on);
                    active.update(db).await.unwrap();
                }
                None => {
                    achievement_codes::ActiveModel {
                        code: Set(format!("PROP-{serial}-{learner}")),
                        enrollment_id: Set(Some(enrollment)),
                        issued_on: Set(issued_on),
                        redeemed_on: Set(redeemed_on),
                        expires_on: Set(expires_on),
                        created_at: Set(Utc::now()),
                        updated_at: Set(Utc::now()),
                        ..Default::default()
                    }
                    .insert(db)
                    .await
                    .unwrap();
                }
            }
        }
        Change::CodeBackToPool(learner) => {
            achievement_codes::Entity::update_many()
                .filter(achievement_codes::Column::EnrollmentId.eq(ids.learners[learner]))
                .col_expr(
                    achievement_codes::Column::EnrollmentId,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    achievement_codes::Column::IssuedOn,
                    Expr::value(Option::<NaiveDate>::None),
                )
                .col_expr(
                    achievement_codes::Column::RedeemedOn,
                    Expr::value(Option::<NaiveDate>::None),
                )
                .exec(db)
                .await
                .unwrap();
        }
        Change::Response {
            learner,
            day: d,
            answers,
        } => {
            let enrollment = ids.learners[learner];
            let existing = survey_responses::Entity::find()
                .filter(survey_responses::Column::EnrollmentId.eq(enrollment))
                .one(db)
                .await
                .unwrap();
            let [q1, q2, q3, q4, q5] = answers;
            let mut active = match existing {
                Some(r) => r.into(),
                None => survey_responses::ActiveModel {
                    enrollment_id: Set(enrollment),
                    source: Set(ResponseSource::Import),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                },
            };
            active.submitted_on = Set(day(d));
            active.q1 = Set(q1);
            active.q2 = Set(q2);
            active.q3 = Set(q3);
            active.q4 = Set(q4);
            active.q5 = Set(q5);
            active.save(db).await.unwrap();
        }
        Change::ResponseDeleted(learner) => {
            survey_responses::Entity::delete_many()
                .filter(survey_responses::Column::EnrollmentId.eq(ids.learners[learner]))
                .exec(db)
                .await
                .unwrap();
        }
    }
}

/// The dashboard's whole standing, both ways, on dates before, inside and after the
/// changes' span.
async fn both_paths_agree(app: &TestApp) -> Result<(), TestCaseError> {
    for as_of in ["2025-09-15", "2026-03-01", "2026-11-22", "2027-06-30"] {
        let as_of = date(as_of);
        let from_aggregates = kpi::standing(app.db(), as_of, &DESIGNATION_2025, Source::Aggregates)
            .await
            .unwrap();
        let from_rows = kpi::standing(app.db(), as_of, &DESIGNATION_2025, Source::RawRows)
            .await
            .unwrap();
        prop_assert_eq!(from_aggregates, from_rows, "as of {}", as_of);
    }
    let differences = kpi_aggregates::verify(app.db()).await.unwrap();
    prop_assert!(differences.is_empty(), "kpi verify: {}", differences[0]);
    Ok(())
}

async fn kpi_aggregates_and_the_raw_rows_agree_on_random_histories(app: TestApp) {
    crate::kpi::seed(&app).await;
    let ids = ids(&app).await;
    assert_eq!(
        (ids.classes.len(), ids.courses.len(), ids.learners.len()),
        (9, 5, 27)
    );
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let serial = std::sync::atomic::AtomicUsize::new(0);
    let outcome = runner.run(&proptest::collection::vec(change(), 1..16), |changes| {
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                for change in &changes {
                    let n = serial.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    apply(app.db(), &ids, change, n).await;
                }
                both_paths_agree(&app).await
            })
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
db_test!(kpi_aggregates_and_the_raw_rows_agree_on_random_histories);

async fn kpi_cli(app: &TestApp, command: KpiCommand) -> ExitCode {
    let command = Command::Kpi {
        aggregates: Some(command),
        as_of: None,
        format: ReportFormat::Json,
    };
    tsp_ledger::cli::run(command, crate::imports::cli_config(app))
        .await
        .unwrap()
}

/// `kpi verify` names the first difference; `kpi rebuild` mends it.
async fn kpi_verify_names_a_tampered_aggregate_and_rebuild_mends_it(app: TestApp) {
    crate::kpi::seed(&app).await;
    assert_eq!(kpi_aggregates::verify(app.db()).await.unwrap(), vec![]);
    let before = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    app.db()
        .execute_unprepared(
            "UPDATE kpi_buckets SET n = n + 7 WHERE kind = 'code' AND period = '2026-03' AND reason = 'eligible'",
        )
        .await
        .unwrap();
    let found = kpi_aggregates::verify(app.db()).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].to_string(),
        "kpi_buckets code 2026-03 three_days_or_more security eligible: \
         stored n=8 answers=0 answer_sum=0, the raw rows give n=1 answers=0 answer_sum=0"
    );
    assert_eq!(kpi_cli(&app, KpiCommand::Verify).await, ExitCode::FAILURE);
    assert_eq!(kpi_cli(&app, KpiCommand::Rebuild).await, ExitCode::SUCCESS);
    assert_eq!(kpi_aggregates::verify(app.db()).await.unwrap(), vec![]);
    assert_eq!(kpi_cli(&app, KpiCommand::Verify).await, ExitCode::SUCCESS);
    let after = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    assert_eq!(before, after);
}
db_test!(kpi_verify_names_a_tampered_aggregate_and_rebuild_mends_it);
