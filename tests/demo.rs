//! `tsp-ledger demo`: a demo year through the import engine, only into an empty database,
//! the same data for the same seed.
use axum::http::StatusCode;
use chrono::NaiveDate;
use entity::{
    achievement_codes, classes, courses, enrollments, exam_vouchers, ledger_entries,
    survey_responses, trainers,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tsp_ledger::cli::{self, Command};
use tsp_ledger::domain::kpi::{DESIGNATION_2025, Status};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::demo::{self, DEFAULT_SEED, DemoError};
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::kpi;

use crate::imports::cli_config;
use crate::support::TestApp;

fn today() -> NaiveDate {
    tsp_ledger::clock::now().date_naive()
}

/// Every business table's row count, and the ledger's.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    courses: u64,
    trainers: u64,
    classes: u64,
    enrollments: u64,
    codes: u64,
    responses: u64,
    vouchers: u64,
    ledger: u64,
}

async fn counts(app: &TestApp) -> Counts {
    let db = app.db();
    Counts {
        courses: courses::Entity::find().count(db).await.unwrap(),
        trainers: trainers::Entity::find().count(db).await.unwrap(),
        classes: classes::Entity::find().count(db).await.unwrap(),
        enrollments: enrollments::Entity::find().count(db).await.unwrap(),
        codes: achievement_codes::Entity::find().count(db).await.unwrap(),
        responses: survey_responses::Entity::find().count(db).await.unwrap(),
        vouchers: exam_vouchers::Entity::find().count(db).await.unwrap(),
        ledger: ledger_entries::Entity::find().count(db).await.unwrap(),
    }
}

async fn classes_where(app: &TestApp, column: classes::Column, value: &str) -> u64 {
    classes::Entity::find()
        .filter(column.eq(value))
        .count(app.db())
        .await
        .unwrap()
}

async fn demo_fills_an_empty_database(app: TestApp) {
    // An administrator may exist already: accounts are not business records.
    let admin = app.create_user(Role::Admin, "admin@example.com").await;
    let before = counts(&app).await;
    let done = demo::run(app.db(), DEFAULT_SEED, today()).await.unwrap();
    let after = counts(&app).await;

    // Every kind was imported, and every created record has its one ledger entry.
    let kinds: Vec<Kind> = done.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds.len(), Kind::ALL.len());
    assert!(Kind::ALL.iter().all(|k| kinds.contains(k)), "{kinds:?}");
    let created: u64 = done.iter().map(|(_, s)| s.created).sum();
    // Microsoft's report redeems codes the codes file issued, and credits two that are
    // not this partner's; every other file only creates.
    let (_, report) = done.iter().find(|(k, _)| *k == Kind::Redemptions).unwrap();
    assert!(report.updated > 0, "{report}");
    assert_eq!(
        (report.created, report.not_ours, report.unchanged),
        (0, 2, 2)
    );
    assert!(
        done.iter()
            .filter(|(k, _)| *k != Kind::Redemptions)
            .all(|(_, s)| s.updated == 0 && s.unchanged == 0)
    );
    assert_eq!(after.ledger - before.ledger, created + report.updated);
    let verified = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert_eq!(verified.first_broken, None);

    // A mid-size TSP's year.
    assert!((35..=50).contains(&after.courses), "{after:?}");
    assert!((12..=20).contains(&after.trainers), "{after:?}");
    assert!((250..=380).contains(&after.classes), "{after:?}");
    assert!(after.enrollments > 2500, "{after:?}");
    assert!(after.responses > 1000, "{after:?}");
    // About one response in four has a comment, for the quality reports.
    let commented = survey_responses::Entity::find()
        .filter(survey_responses::Column::Comment.is_not_null())
        .count(app.db())
        .await
        .unwrap();
    assert!(
        (after.responses / 5..=after.responses / 3).contains(&commented),
        "{commented} of {after:?}"
    );
    assert!(after.vouchers > 20, "{after:?}");

    // Courses in all six areas, and some in none.
    let areas: Vec<Option<&str>> = courses::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.solution_area.map(|a| a.id()))
        .collect();
    for area in [
        "data_ai",
        "infrastructure",
        "digital_app_innovation",
        "business_applications",
        "modern_work",
        "security",
    ] {
        assert!(
            areas.iter().any(|a| a.as_deref() == Some(area)),
            "no course in {area}"
        );
    }
    assert!(areas.iter().any(Option::is_none));
    let unofficial = courses::Entity::find()
        .filter(courses::Column::Content.eq("unofficial"))
        .count(app.db())
        .await
        .unwrap();
    assert!(unofficial >= 2);

    // Live and recorded classes, in every status.
    let live = classes_where(&app, classes::Column::Modality, "in_person").await
        + classes_where(&app, classes::Column::Modality, "virtual").await;
    let recorded = classes_where(&app, classes::Column::Modality, "recorded").await;
    assert!(
        live > 200 && recorded > 10,
        "{live} live, {recorded} recorded"
    );
    assert!(recorded * 5 < live);
    for (status, least) in [
        ("confirmed", 150),
        ("delivered", 3),
        ("scheduled", 5),
        ("cancelled", 1),
    ] {
        let n = classes_where(&app, classes::Column::Status, status).await;
        assert!(n >= least, "{n} {status} classes");
    }
    let future = classes::Entity::find()
        .filter(classes::Column::StartDate.gt(today()))
        .count(app.db())
        .await
        .unwrap();
    assert!(future >= 5, "{future} classes ahead");

    // Codes issued and mostly redeemed, after the class ended; some left in the pool.
    let redeemed = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::RedeemedOn.is_not_null())
        .count(app.db())
        .await
        .unwrap();
    let issued = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::EnrollmentId.is_not_null())
        .count(app.db())
        .await
        .unwrap();
    assert!(redeemed > 1500, "{redeemed} redeemed of {issued}");
    assert!(redeemed < issued && redeemed * 100 > issued * 75);
    assert!(after.codes > issued, "no code left in the pool");

    // MCTs: one or two lapsed, one whose standing ends soon.
    let lapsed = trainers::Entity::find()
        .filter(trainers::Column::MctValidUntil.lt(today()))
        .count(app.db())
        .await
        .unwrap();
    let ending = trainers::Entity::find()
        .filter(trainers::Column::MctValidUntil.gte(today()))
        .filter(trainers::Column::MctValidUntil.lte(today() + chrono::Days::new(90)))
        .count(app.db())
        .await
        .unwrap();
    assert!(
        (1..=2).contains(&lapsed) && ending >= 1,
        "{lapsed} lapsed, {ending} ending"
    );

    // The dashboard has something to show.
    let report = kpi::report(app.db(), today(), &DESIGNATION_2025)
        .await
        .unwrap();
    assert!(report.base.courseware.points > 0.0);
    assert!(report.base.exams.points > 0.0);
    assert!(report.base.survey_score.answers > 0);
    assert!(
        report
            .solution_areas
            .iter()
            .any(|a| a.status != Status::NotStarted)
    );
    let excluded = &report.excluded.classes;
    assert!(excluded.recorded > 0 && excluded.unofficial > 0);
    let mut client = app.client_for(admin).await;
    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Security"), "{}", page.body);
}
db_test!(demo_fills_an_empty_database);

async fn demo_refuses_a_database_that_holds_records(app: TestApp) {
    let code = cli::run(Command::Demo { seed: DEFAULT_SEED }, cli_config(&app))
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let before = counts(&app).await;
    assert!(before.classes > 0);

    let error = cli::run(Command::Demo { seed: 2 }, cli_config(&app))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("the database is not empty (it holds ")
            && error.contains(&format!("{} classes", before.classes))
            && error.contains("only fills an empty database"),
        "{error}"
    );
    assert_eq!(counts(&app).await, before);
}
db_test!(demo_refuses_a_database_that_holds_records);

async fn one_course_is_enough_to_refuse(app: TestApp) {
    crate::fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    let before = counts(&app).await;
    match demo::run(app.db(), DEFAULT_SEED, today()).await {
        Err(DemoError::NotEmpty(held)) => assert_eq!(held, "1 course"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(counts(&app).await, before);
}
db_test!(one_course_is_enough_to_refuse);

async fn the_same_seed_gives_the_same_data(app: TestApp) {
    let seed = 42;
    demo::run(app.db(), seed, today()).await.unwrap();
    let again = demo::generate(seed, today());
    assert_eq!(again, demo::generate(seed, today()));
    assert_ne!(
        again.file(Kind::Classes),
        demo::generate(seed + 1, today()).file(Kind::Classes)
    );

    // What is in the database is what the seed generates, again.
    let column = |kind: Kind, i: usize| -> Vec<String> {
        let mut reader = csv::Reader::from_reader(again.file(kind).as_bytes());
        let mut values: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[i].to_string())
            .collect();
        values.sort();
        values
    };
    let course_codes: Vec<String> = courses::Entity::find()
        .order_by_asc(courses::Column::CourseCode)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.course_code)
        .collect();
    assert_eq!(course_codes, column(Kind::TitlePlan, 0));
    let class_refs: Vec<String> = classes::Entity::find()
        .order_by_asc(classes::Column::ClassRef)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.class_ref)
        .collect();
    assert_eq!(class_refs, column(Kind::Classes, 0));
    assert_eq!(
        enrollments::Entity::find().count(app.db()).await.unwrap() as usize,
        column(Kind::Roster, 0).len()
    );
}
db_test!(the_same_seed_gives_the_same_data);
