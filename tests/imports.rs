//! CSV imports (SPEC §7): every kind, all-or-nothing validation with line numbers,
//! idempotent re-imports, the classes lifecycle, the web page and the CLI.
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{classes, courses, enrollments, ledger_entries, trainers};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tsp_ledger::cli::{self, Command};
use tsp_ledger::config::Config;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::{self, ImportFailure, Kind, LineError, Summary};

use crate::fixtures;
use crate::support::{Backend, Client, TestApp, TestResponse, form_encode};
use tsp_ledger::domain::catalog::Content;
use tsp_ledger::domain::delivery::ClassStatus;

// ---------------------------------------------------------------------------------------
// Helpers shared with rosters.rs and exports.rs
// ---------------------------------------------------------------------------------------

/// One part of a `multipart/form-data` body.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    /// Field name, file name, content.
    File(&'a str, &'a str, &'a [u8]),
}

const BOUNDARY: &str = "----tsp-ledger-test-boundary-7MA4YWxkTrZu0gW";

pub fn multipart_body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File(name, file_name, content) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(content);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts a multipart form with the CSRF token in the query string, as the upload forms do.
pub async fn post_multipart(
    client: &mut Client<'_>,
    path: &str,
    parts: &[Part<'_>],
) -> TestResponse {
    let token = client.csrf();
    let separator = if path.contains('?') { '&' } else { '?' };
    let uri = format!("{path}{separator}{}", form_encode(&[("_csrf", &token)]));
    send_multipart(client, &uri, parts).await
}

/// Posts a multipart form to exactly `uri` (no token added).
pub async fn send_multipart(
    client: &mut Client<'_>,
    uri: &str,
    parts: &[Part<'_>],
) -> TestResponse {
    let request = Request::post(uri)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart_body(parts)))
        .unwrap();
    client.send(request).await
}

/// Row counts of every table an import writes, and of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub courses: u64,
    pub trainers: u64,
    pub classes: u64,
    pub enrollments: u64,
    pub ledger: u64,
}

pub async fn counts(app: &TestApp) -> Counts {
    let db = app.db();
    Counts {
        courses: courses::Entity::find().count(db).await.unwrap(),
        trainers: trainers::Entity::find().count(db).await.unwrap(),
        classes: classes::Entity::find().count(db).await.unwrap(),
        enrollments: enrollments::Entity::find().count(db).await.unwrap(),
        ledger: ledger_entries::Entity::find().count(db).await.unwrap(),
    }
}

/// Every ledger entry, oldest first.
pub async fn ledger(app: &TestApp) -> Vec<ledger_entries::Model> {
    let entries = ledger_entries::Entity::find()
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    crate::support::with_reasons(app.db(), entries).await
}

/// Ledger entries added after the first `skip`.
pub async fn ledger_since(app: &TestApp, skip: u64) -> Vec<ledger_entries::Model> {
    ledger(app).await.into_iter().skip(skip as usize).collect()
}

/// The course AZ-104 (4 days, infrastructure) and the MCT `MCT-1` (Ana Trainer, good
/// standing until the end of 2030) that the classes in these tests use.
pub async fn catalog(app: &TestApp) {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(
        app,
        "Ana Trainer",
        "MCT-1",
        fixtures::date("2030-12-31"),
        None,
    )
    .await;
}

/// A class of AZ-104 by MCT-1, 2026-03-02 → 2026-03-05, in person, in `status`.
pub async fn class_in(app: &TestApp, class_ref: &str, status: &str) -> classes::Model {
    fixtures::class(
        app,
        (
            class_ref,
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            status,
        ),
    )
    .await
}

/// The CLI's configuration for this test's database. On PostgreSQL the harness's config
/// holds only the server URL (the schema is set on the app's pool), so the schema is put
/// into the URL as a startup option, or the CLI would write to the `public` schema.
pub fn cli_config(app: &TestApp) -> Config {
    let mut config = app.state.config.clone();
    if let Backend::Postgres { schema, .. } = &app.backend {
        let separator = if config.database.url.contains('?') {
            '&'
        } else {
            '?'
        };
        config.database.url = format!(
            "{}{separator}options%5Bsearch_path%5D={schema}",
            config.database.url
        );
    }
    config
}

/// A file in the test's own temporary directory.
pub fn temp_file(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

/// The report of an import that must have failed validation, as displayed.
#[track_caller]
pub(crate) fn invalid(result: Result<Summary, ImportFailure>) -> (Vec<String>, u64, u64) {
    match result {
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
            ..
        }) => (
            errors.iter().map(ToString::to_string).collect(),
            total,
            bad_lines,
        ),
        Err(ImportFailure::Failed(e)) => panic!("expected a validation report, got {e}"),
        Ok(summary) => panic!("expected a validation report, the import succeeded: {summary}"),
    }
}

pub(crate) fn summary(rows: u64, created: u64, updated: u64, unchanged: u64) -> Summary {
    Summary {
        rows,
        created,
        updated,
        unchanged,
        ..Summary::default()
    }
}

async fn enrollment(app: &TestApp, class_id: i64, email_key: &str) -> Option<enrollments::Model> {
    enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .filter(enrollments::Column::EmailKey.eq(email_key))
        .one(app.db())
        .await
        .unwrap()
}

const TITLE_PLAN: &str = "\
course_code,title,duration_days,fundamentals,solution_area,content,courseware_version
AZ-104,Microsoft Azure Administrator,4,false,infrastructure,official,2026-01
az-900,Microsoft Azure Fundamentals,1,true,,official,2025-11
PL-300,\"Power BI Data Analyst, with labs\",3,false,data_ai,unofficial,2026-02
";

const TRAINERS: &str = "\
name,email,mct_id,mct_valid_until,affiliated
Ana Trainer,Ana@MCT.example.com,MCT-1,2030-12-31,true
Bo Trainer,bo@mct.example.com,mct-2,2026-06-30,false
";

const CLASSES: &str = "\
class_ref,course_code,mct_id,start_date,end_date,modality,status
C-1,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,scheduled
c-2,az-900,MCT-2,2026-04-01,2026-04-01,virtual,delivered
C-3,PL-300,MCT-1,2026-05-04,2026-05-06,recorded,confirmed
";

const ROSTER: &str = "\
class_ref,learner_name,learner_email,attended
C-1,Lea Learner,lea@example.com,true
C-1,Max Learner,Max@Example.com,false
C-2,Lea Learner,LEA@example.com,false
";

// ---------------------------------------------------------------------------------------
// Every kind
// ---------------------------------------------------------------------------------------

async fn each_import_kind_creates_its_records_and_reports_the_counts(app: TestApp) {
    let db = app.db();
    assert_eq!(
        fixtures::import(&app, Kind::TitlePlan, TITLE_PLAN)
            .await
            .unwrap(),
        summary(3, 3, 0, 0)
    );
    let az900 = tsp_ledger::services::courses::by_code(db, "AZ-900")
        .await
        .unwrap()
        .expect("course codes are upper-cased");
    assert_eq!(
        (
            az900.title.as_str(),
            az900.duration_days,
            az900.fundamentals,
            az900.solution_area.map(|v| v.id()),
            az900.content.id(),
            az900.courseware_version.as_str()
        ),
        (
            "Microsoft Azure Fundamentals",
            1,
            true,
            None,
            "official",
            "2025-11"
        )
    );
    let pl300 = tsp_ledger::services::courses::by_code(db, "PL-300")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pl300.title, "Power BI Data Analyst, with labs");
    assert_eq!(pl300.content, Content::Unofficial);

    assert_eq!(
        fixtures::import(&app, Kind::Trainers, TRAINERS)
            .await
            .unwrap(),
        summary(2, 2, 0, 0)
    );
    let bo = tsp_ledger::services::trainers::by_mct_id(db, "MCT-2")
        .await
        .unwrap()
        .expect("MCT IDs are upper-cased");
    assert_eq!(
        (
            bo.name.as_str(),
            bo.email.as_str(),
            bo.mct_valid_until,
            bo.affiliated
        ),
        (
            "Bo Trainer",
            "bo@mct.example.com",
            fixtures::date("2026-06-30"),
            false
        )
    );

    assert_eq!(
        fixtures::import(&app, Kind::Classes, CLASSES)
            .await
            .unwrap(),
        summary(3, 3, 0, 0)
    );
    let c2 = tsp_ledger::services::classes::by_ref(db, "C-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.course_id, az900.id);
    assert_eq!(c2.trainer_id, bo.id);
    assert_eq!((c2.modality.id(), c2.status.id()), ("virtual", "delivered"));
    let c3 = tsp_ledger::services::classes::by_ref(db, "C-3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c3.status, ClassStatus::Confirmed);
    assert!(
        c3.confirmed_at.is_some(),
        "a class imported as confirmed records when"
    );

    assert_eq!(
        fixtures::import(&app, Kind::Roster, ROSTER).await.unwrap(),
        summary(3, 3, 0, 0)
    );
    let c1 = tsp_ledger::services::classes::by_ref(db, "C-1")
        .await
        .unwrap()
        .unwrap();
    let max = enrollment(&app, c1.id, "max@example.com").await.unwrap();
    assert_eq!(
        (
            max.learner_name.as_str(),
            max.learner_email.as_str(),
            max.attended
        ),
        ("Max Learner", "Max@Example.com", false)
    );
    assert!(
        enrollment(&app, c1.id, "lea@example.com")
            .await
            .unwrap()
            .attended
    );
    // The same learner may be on two classes.
    assert!(
        !enrollment(&app, c2.id, "lea@example.com")
            .await
            .unwrap()
            .attended
    );

    // One ledger entry per record, recorded as an import by the CLI operator.
    let actions = app.ledger_actions().await;
    let count = |entity: &str| {
        actions
            .iter()
            .filter(|(e, a, actor)| e == entity && a == "import" && actor == "cli")
            .count()
    };
    assert_eq!(
        (
            count("course"),
            count("trainer"),
            count("class"),
            count("enrollment")
        ),
        (3, 2, 3, 3),
        "{actions:?}"
    );
    assert_eq!(
        counts(&app).await,
        Counts {
            courses: 3,
            trainers: 2,
            classes: 3,
            enrollments: 3,
            ledger: 11
        }
    );
}
db_test!(each_import_kind_creates_its_records_and_reports_the_counts);

// ---------------------------------------------------------------------------------------
// All or nothing, with line numbers
// ---------------------------------------------------------------------------------------

async fn one_bad_row_among_5000_is_named_and_nothing_is_written(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "delivered").await;
    // Something already on the roster, which the failed import must not touch either.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Learner 17,learner17@example.com,true\n",
    )
    .await
    .unwrap();
    let before = counts(&app).await;
    let ledger_before = ledger(&app).await;

    let mut csv = String::from("class_ref,learner_name,learner_email,attended\n");
    for i in 0..5000 {
        let email = if i == 2500 {
            "learner2500.example.com".to_string()
        } else {
            format!("learner{i}@example.com")
        };
        csv.push_str(&format!(
            "C-1,Learner {i},{email},{}\n",
            if i % 2 == 0 { "true" } else { "false" }
        ));
    }
    let result = fixtures::import(&app, Kind::Roster, &csv).await;
    match &result {
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
            ..
        }) => {
            assert_eq!(
                errors,
                &vec![LineError {
                    line: 2502,
                    field: "learner_email".into(),
                    message: "is not a valid e-mail address".into(),
                }]
            );
            assert_eq!((*total, *bad_lines), (1, 1));
        }
        other => panic!("expected one bad line, got {other:?}"),
    }
    let (errors, _, _) = invalid(result);
    assert_eq!(
        errors,
        ["line 2502: learner_email: is not a valid e-mail address"]
    );

    // Nothing written: no learners, no change to the one already there, no ledger entry.
    assert_eq!(counts(&app).await, before);
    assert_eq!(ledger(&app).await, ledger_before);
    let kept = enrollment(&app, class.id, "learner17@example.com")
        .await
        .unwrap();
    assert!(kept.attended, "row 17 of the failed file said false");
    assert!(
        enrollment(&app, class.id, "learner0@example.com")
            .await
            .is_none()
    );

    // The corrected file goes in whole.
    let fixed = csv.replace("learner2500.example.com", "learner2500@example.com");
    assert_eq!(
        fixtures::import(&app, Kind::Roster, &fixed).await.unwrap(),
        summary(5000, 4999, 1, 0),
        "learner 17 is updated"
    );
    assert_eq!(counts(&app).await.enrollments, 5000);
}
db_test!(one_bad_row_among_5000_is_named_and_nothing_is_written);

async fn every_bad_row_of_a_classes_file_is_reported_with_its_line(app: TestApp) {
    catalog(&app).await;
    let before = counts(&app).await;
    let csv = "\
class_ref,course_code,mct_id,start_date,end_date,modality,status
C-OK,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,scheduled
C-DATE,AZ-104,MCT-1,2026-03-32,2026-03-05,in_person,scheduled
C-ENUM,AZ-104,MCT-1,2026-03-02,2026-03-05,hybrid,scheduled
C-FEW,AZ-104,MCT-1,2026-03-02
C-STATUS,AZ-104,MCT-1,2026-03-02,2026-03-05,virtual,done
C-COURSE,XX-999,MCT-1,2026-03-02,2026-03-05,virtual,scheduled
C-MCT,AZ-104,MCT-404,2026-03-02,2026-03-05,virtual,scheduled
C-ORDER,AZ-104,MCT-1,2026-03-05,2026-03-02,virtual,scheduled
C-MANY,AZ-104,MCT-1,2026-03-02,2026-03-05,virtual,scheduled,extra
C-OK2,AZ-104,MCT-1,2026-03-09,2026-03-12,virtual,scheduled
";
    let (errors, total, bad_lines) = invalid(fixtures::import(&app, Kind::Classes, csv).await);
    assert_eq!(
        errors,
        [
            r#"line 3: start_date: must be a date YYYY-MM-DD, not "2026-03-32""#,
            r#"line 4: modality: must be one of in_person, virtual, recorded, not "hybrid""#,
            "line 5: row: has 4 fields, the header has 7",
            r#"line 6: status: must be one of scheduled, delivered, confirmed, cancelled, not "done""#,
            "line 9: end_date: must be on or after the start date (2026-03-05)",
            "line 10: row: has 8 fields, the header has 7",
        ]
    );
    assert_eq!((total, bad_lines), (6, 6));
    assert_eq!(counts(&app).await, before, "the good rows were not written");

    // Once the format is right, what the rows refer to is checked, every line of it.
    let refs: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| [0, 1, 6, 7, 10].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let (errors, total, bad_lines) = invalid(fixtures::import(&app, Kind::Classes, &refs).await);
    assert_eq!(
        errors,
        [
            "line 3: course_code: no course XX-999 in the Title Plan",
            "line 4: mct_id: no MCT with ID MCT-404",
        ]
    );
    assert_eq!((total, bad_lines), (2, 2));
    assert_eq!(counts(&app).await, before, "the good rows were not written");
}
db_test!(every_bad_row_of_a_classes_file_is_reported_with_its_line);

async fn a_long_report_is_cut_but_counts_every_problem(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    let before = counts(&app).await;
    let mut csv = String::from("class_ref,learner_name,learner_email,attended\n");
    for i in 0..1500 {
        csv.push_str(&format!(
            "C-1,Learner {i},learner{i}-at-example.com,sometimes\n"
        ));
    }
    let (errors, total, bad_lines) = invalid(fixtures::import(&app, Kind::Roster, &csv).await);
    assert_eq!(errors.len(), imports::MAX_REPORTED_ERRORS);
    assert_eq!((total, bad_lines), (3000, 1500));
    assert_eq!(
        errors[..2],
        [
            "line 2: learner_email: is not a valid e-mail address",
            r#"line 2: attended: must be true or false, not "sometimes""#,
        ]
    );
    assert!(
        errors[999].starts_with("line 501: attended: "),
        "{}",
        errors[999]
    );
    assert_eq!(counts(&app).await, before);

    // The page says the list is cut.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "roster"),
            Part::File("file", "roster.csv", csv.as_bytes()),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains(
        "Nothing was imported: 3000 problems on 1500 lines (the first 1000 are listed).",
    );
}
db_test!(a_long_report_is_cut_but_counts_every_problem);

async fn line_numbers_count_the_lines_inside_quoted_fields(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    let before = counts(&app).await;
    // A quoted name spanning two lines moves every later line number on by one; a bad
    // record spanning lines is named by the line it starts on.
    let csv = "\
class_ref,learner_name,learner_email,attended
C-1,Ana,ana@example.com,true
C-1,\"Multi
Line\",multi@example.com,false
NOPE,Ben,ben@example.com,false
C-1,Cy,not-an-email,false
C-1,Di,di@example.com
C-1,\"Ed \"\"the
dev\"\"\",ed@,yes
C-1,Fay,fay@example.com,false
,Gus,gus@example.com,maybe
";
    // (A name is one line, so the two spanning lines are refused too, issue 13.)
    let (errors, total, bad_lines) = invalid(fixtures::import(&app, Kind::Roster, csv).await);
    assert_eq!(
        errors,
        [
            "line 3: learner_name: must be one line (no line breaks)",
            "line 6: learner_email: is not a valid e-mail address",
            "line 7: row: has 3 fields, the header has 4",
            "line 8: learner_name: must be one line (no line breaks)",
            "line 8: learner_email: is not a valid e-mail address",
            r#"line 8: attended: must be true or false, not "yes""#,
            "line 11: class_ref: is required",
            r#"line 11: attended: must be true or false, not "maybe""#,
        ]
    );
    assert_eq!((total, bad_lines), (8, 5));
    assert_eq!(counts(&app).await, before);
    // With the format put right, the unknown class is named by the line it is on.
    let refs = csv
        .replace("not-an-email", "cy@example.com")
        .replace("C-1,Di,di@example.com\n", "C-1,Di,di@example.com,true\n")
        .replace("ed@,yes", "ed@example.com,true")
        .replace(
            ",Gus,gus@example.com,maybe",
            "C-1,Gus,gus@example.com,false",
        )
        .replace("\"Multi\nLine\"", "Multi Line")
        .replace("\"Ed \"\"the\ndev\"\"\"", "\"Ed \"\"the dev\"\"\"");
    let (errors, total, bad_lines) = invalid(fixtures::import(&app, Kind::Roster, &refs).await);
    assert_eq!(errors, ["line 4: class_ref: no class NOPE"]);
    assert_eq!((total, bad_lines), (1, 1));
    assert_eq!(counts(&app).await, before);
}
db_test!(line_numbers_count_the_lines_inside_quoted_fields);

/// Three bad e-mails on `lines` of a roster file for C-1, reported as such.
async fn assert_bad_lines_named(app: &TestApp, csv: &str, lines: [u64; 3]) {
    let before = counts(app).await;
    let (errors, _, _) = invalid(fixtures::import(app, Kind::Roster, csv).await);
    let expected: Vec<String> = lines
        .iter()
        .map(|n| format!("line {n}: learner_email: is not a valid e-mail address"))
        .collect();
    assert_eq!(errors, expected, "in {csv:?}");
    assert_eq!(counts(app).await, before);
}

async fn line_numbers_count_blank_lines(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    // Blank lines are skipped, but they are still lines of the file.
    let csv = "\
class_ref,learner_name,learner_email,attended
C-1,Ana,bad-1,true

C-1,Ben,bad-2,true
C-1,Cy,cy@example.com,true


C-1,Di,bad-3,false
";
    assert_bad_lines_named(&app, csv, [2, 4, 8]).await;
}
db_test!(line_numbers_count_blank_lines);

async fn line_numbers_are_right_with_windows_line_ends(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    // Excel saves CSV with CRLF line ends.
    let csv = "class_ref,learner_name,learner_email,attended\r\n\
               C-1,Ana,bad-1,true\r\n\
               C-1,Ben,bad-2,true\r\n\
               C-1,Cy,cy@example.com,true\r\n\
               C-1,\"Di, Doe\",bad-3,false\r\n";
    assert_bad_lines_named(&app, csv, [2, 3, 5]).await;
}
db_test!(line_numbers_are_right_with_windows_line_ends);

async fn a_missing_or_unknown_header_column_is_reported_on_line_1(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    let before = counts(&app).await;
    let columns = "class_ref,learner_name,learner_email,attended";

    let (errors, total, bad_lines) = invalid(
        fixtures::import(
            &app,
            Kind::Roster,
            "class_ref,learner_name,email,attended\nC-1,Ana,ana@example.com,true\n",
        )
        .await,
    );
    assert_eq!(
        errors,
        [
            format!(
                r#"line 1: header: unknown column "email": a roster file has the columns {columns}"#
            ),
            format!(
                "line 1: header: missing column learner_email: a roster file has the columns {columns}"
            ),
        ]
    );
    assert_eq!((total, bad_lines), (2, 1), "the rows are not judged");

    let (errors, _, _) = invalid(
        fixtures::import(
            &app,
            Kind::Roster,
            "learner_name,learner_email,attended\nAna,ana@example.com,true\n",
        )
        .await,
    );
    assert_eq!(
        errors,
        [format!(
            "line 1: header: missing column class_ref: a roster file has the columns {columns}"
        )],
        "class_ref may only be left out on a class page"
    );

    let (errors, _, _) = invalid(
        fixtures::import(
            &app,
            Kind::TitlePlan,
            "course_code,title,duration_days,fundamentals,content,courseware_version\n",
        )
        .await,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 1: header: missing column solution_area"),
        "{errors:?}"
    );
    assert_eq!(counts(&app).await, before);

    // Columns in another order, and an Excel byte-order mark, are fine.
    let result = fixtures::import(
        &app,
        Kind::Roster,
        "\u{feff}learner_email,attended,class_ref,learner_name\r\nana@example.com,true,C-1,Ana\r\n",
    )
    .await;
    assert_eq!(result.unwrap(), summary(1, 1, 0, 0));
}
db_test!(a_missing_or_unknown_header_column_is_reported_on_line_1);

async fn a_repeated_header_column_is_reported_on_line_1(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    let before = counts(&app).await;
    // Which `attended` is meant? The file is ambiguous, so it is refused, not half-read.
    let result = fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended,attended\nC-1,Ana,ana@example.com,false,true\n",
    )
    .await;
    let (errors, _, _) = invalid(result);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 1: header: ") && errors[0].contains("attended"),
        "{errors:?}"
    );
    assert_eq!(counts(&app).await, before);
}
db_test!(a_repeated_header_column_is_reported_on_line_1);

async fn an_empty_file_is_refused(app: TestApp) {
    for empty in ["", "\n", "\r\n\r\n"] {
        let (errors, total, _) = invalid(fixtures::import(&app, Kind::Trainers, empty).await);
        assert_eq!(
            errors,
            [
                "line 1: header: the file is empty: expected the header name,email,mct_id,mct_valid_until,affiliated"
            ],
            "{empty:?}"
        );
        assert_eq!(total, 1);
    }
    // A header and no rows is an empty import, not an error.
    assert_eq!(
        fixtures::import(
            &app,
            Kind::Trainers,
            "name,email,mct_id,mct_valid_until,affiliated\n"
        )
        .await
        .unwrap(),
        summary(0, 0, 0, 0)
    );
    assert_eq!(counts(&app).await.ledger, 0);
}
db_test!(an_empty_file_is_refused);

async fn a_file_that_is_not_utf8_is_named_by_line(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    let before = counts(&app).await;
    // "Müller" in Latin-1, as an old spreadsheet might save it.
    let mut bytes =
        b"class_ref,learner_name,learner_email,attended\nC-1,Ana,ana@example.com,true\n".to_vec();
    bytes.extend_from_slice(b"C-1,M\xfcller,mueller@example.com,true\n");
    bytes.extend_from_slice(b"C-1,Bo,bo@example.com,true\n");
    let result = imports::run(
        app.db(),
        &Actor::Cli,
        &imports::ImportBy::operator(),
        Kind::Roster,
        imports::Source::bytes(&bytes),
        None,
        |_, _| {},
    )
    .await;
    let (errors, _, _) = invalid(result);
    assert_eq!(
        errors,
        ["line 3: row: is not valid UTF-8 (save the file as UTF-8)"]
    );
    assert_eq!(counts(&app).await, before);
}
db_test!(a_file_that_is_not_utf8_is_named_by_line);

// ---------------------------------------------------------------------------------------
// Re-imports
// ---------------------------------------------------------------------------------------

async fn reimporting_the_same_files_changes_nothing(app: TestApp) {
    let files = [
        (Kind::TitlePlan, TITLE_PLAN, 3),
        (Kind::Trainers, TRAINERS, 2),
        (Kind::Classes, CLASSES, 3),
        (Kind::Roster, ROSTER, 3),
    ];
    for (kind, csv, rows) in files {
        assert_eq!(
            fixtures::import(&app, kind, csv).await.unwrap(),
            summary(rows, rows, 0, 0),
            "{kind:?}"
        );
    }
    let before = counts(&app).await;
    let ledger_before = ledger(&app).await;
    for (kind, csv, rows) in files {
        assert_eq!(
            fixtures::import(&app, kind, csv).await.unwrap(),
            summary(rows, 0, 0, rows),
            "{kind:?} a second time"
        );
    }
    assert_eq!(counts(&app).await, before);
    assert_eq!(ledger(&app).await, ledger_before, "no new ledger entries");
}
db_test!(reimporting_the_same_files_changes_nothing);

async fn a_changed_row_is_counted_as_updated_with_a_ledger_entry(app: TestApp) {
    fixtures::import(&app, Kind::Trainers, TRAINERS)
        .await
        .unwrap();
    let seen = counts(&app).await.ledger;
    let changed = TRAINERS.replace("mct-2,2026-06-30,false", "mct-2,2027-06-30,false");
    assert_eq!(
        fixtures::import(&app, Kind::Trainers, &changed)
            .await
            .unwrap(),
        summary(2, 0, 1, 1)
    );
    let new = ledger_since(&app, seen).await;
    assert_eq!(new.len(), 1, "{new:?}");
    let bo = tsp_ledger::services::trainers::by_mct_id(app.db(), "MCT-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bo.mct_valid_until, fixtures::date("2027-06-30"));
    assert_eq!(
        (
            new[0].entity_type.as_str(),
            new[0].entity_id.clone(),
            new[0].action.as_str()
        ),
        ("trainer", bo.id.to_string(), "import")
    );
    let changes: serde_json::Value = serde_json::from_str(&new[0].changes).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"mct_valid_until": {"before": "2026-06-30", "after": "2027-06-30"}})
    );

    // A class keyed by its reference, in any case: its new end date.
    fixtures::import(&app, Kind::TitlePlan, TITLE_PLAN)
        .await
        .unwrap();
    fixtures::import(&app, Kind::Classes, CLASSES)
        .await
        .unwrap();
    let seen = counts(&app).await.ledger;
    let changed = CLASSES.replace(
        "C-1,AZ-104,MCT-1,2026-03-02,2026-03-05",
        "c-1,AZ-104,MCT-1,2026-03-02,2026-03-06",
    );
    assert_ne!(changed, CLASSES);
    assert_eq!(
        fixtures::import(&app, Kind::Classes, &changed)
            .await
            .unwrap(),
        summary(3, 0, 1, 2)
    );
    let new = ledger_since(&app, seen).await;
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0].entity_type.as_str(), new[0].action.as_str()),
        ("class", "import")
    );
    let changes: serde_json::Value = serde_json::from_str(&new[0].changes).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"end_date": {"before": "2026-03-05", "after": "2026-03-06"}})
    );

    // A roster line: matched by e-mail whatever its case; the attendance changes.
    fixtures::import(&app, Kind::Roster, ROSTER).await.unwrap();
    let seen = counts(&app).await.ledger;
    let changed = ROSTER.replace(
        "C-1,Max Learner,Max@Example.com,false",
        "C-1,Max Learner,Max@Example.com,true",
    );
    assert_ne!(changed, ROSTER);
    assert_eq!(
        fixtures::import(&app, Kind::Roster, &changed)
            .await
            .unwrap(),
        summary(3, 0, 1, 2)
    );
    let new = ledger_since(&app, seen).await;
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0].entity_type.as_str(), new[0].action.as_str()),
        ("enrollment", "import")
    );
    let changes: serde_json::Value = serde_json::from_str(&new[0].changes).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({"attended": {"before": false, "after": true}})
    );
    // The e-mail in another case is the same learner: their line is updated, not doubled.
    let recased = changed.replace("Max@Example.com", "max@example.COM");
    assert_eq!(
        fixtures::import(&app, Kind::Roster, &recased)
            .await
            .unwrap(),
        summary(3, 0, 1, 2)
    );
    assert_eq!(counts(&app).await.enrollments, 3);
}
db_test!(a_changed_row_is_counted_as_updated_with_a_ledger_entry);

async fn a_learner_twice_in_one_file_stays_one_roster_line(app: TestApp) {
    catalog(&app).await;
    let c1 = class_in(&app, "C-1", "scheduled").await;
    let c2 = class_in(&app, "C-2", "scheduled").await;
    let before = counts(&app).await;
    // The same learner twice for C-1 (e-mail in another case), with C-2 lines between.
    let csv = "\
class_ref,learner_name,learner_email,attended
C-1,Ana,ana@example.com,false
C-2,Ana,ana@example.com,false
C-2,Ben,ben@example.com,true
C-1,Ana López,ANA@example.com,true
";
    match fixtures::import(&app, Kind::Roster, csv).await {
        // Either the later line updates the earlier one…
        Ok(result) => {
            assert_eq!(result, summary(4, 3, 1, 0));
            let lines = enrollments::Entity::find()
                .filter(enrollments::Column::ClassId.eq(c1.id))
                .all(app.db())
                .await
                .unwrap();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(
                (lines[0].learner_name.as_str(), lines[0].attended),
                ("Ana López", true)
            );
            assert_eq!(counts(&app).await.enrollments, before.enrollments + 3);
            assert!(enrollment(&app, c2.id, "ben@example.com").await.is_some());
        }
        // …or the file is refused naming the repeated line; never a database error.
        Err(ImportFailure::Invalid { errors, .. }) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(
                (errors[0].line, errors[0].field.as_str()),
                (5, "learner_email")
            );
            assert_eq!(counts(&app).await, before);
        }
        Err(ImportFailure::Failed(e)) => panic!("a repeated learner broke the import: {e}"),
    }
}
db_test!(a_learner_twice_in_one_file_stays_one_roster_line);

// ---------------------------------------------------------------------------------------
// The classes lifecycle
// ---------------------------------------------------------------------------------------

const CLASS_HEADER: &str = "class_ref,course_code,mct_id,start_date,end_date,modality,status\n";

async fn a_classes_import_cannot_move_a_status_backwards(app: TestApp) {
    catalog(&app).await;
    let delivered = class_in(&app, "C-1", "delivered").await;
    let confirmed = class_in(&app, "C-2", "confirmed").await;
    let before = counts(&app).await;
    let csv = format!(
        "{CLASS_HEADER}C-1,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,scheduled\n\
         C-2,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,scheduled\n\
         C-2,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,delivered\n"
    );
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Classes, &csv).await);
    assert_eq!(
        errors,
        [
            "line 2: status: cannot go from delivered back to scheduled",
            "line 3: status: cannot go from confirmed back to scheduled",
            "line 4: status: cannot go from confirmed back to delivered",
        ]
    );
    assert_eq!(counts(&app).await, before);
    let db = app.db();
    for (class, status) in [(delivered, "delivered"), (confirmed, "confirmed")] {
        let now = tsp_ledger::services::classes::get(db, class.id)
            .await
            .unwrap();
        assert_eq!(now.status.id(), status);
    }

    // Forwards, several steps at once, is history being recorded: allowed.
    let forwards =
        format!("{CLASS_HEADER}C-1,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,confirmed\n");
    assert_eq!(
        fixtures::import(&app, Kind::Classes, &forwards)
            .await
            .unwrap(),
        summary(1, 0, 1, 0)
    );
}
db_test!(a_classes_import_cannot_move_a_status_backwards);

async fn a_classes_row_changing_a_confirmed_class_is_refused(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "confirmed").await;
    let before = counts(&app).await;

    let moved =
        format!("{CLASS_HEADER}C-1,AZ-104,MCT-1,2026-03-02,2026-03-06,in_person,confirmed\n");
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Classes, &moved).await);
    assert_eq!(
        errors,
        ["line 2: class_ref: C-1 is confirmed: amend it on its page, with a reason"]
    );
    assert_eq!(counts(&app).await, before);
    let now = tsp_ledger::services::classes::get(app.db(), class.id)
        .await
        .unwrap();
    assert_eq!(now, class, "the confirmed class is untouched");

    // The same row again is no change, so a re-import of the whole history still works.
    let same =
        format!("{CLASS_HEADER}c-1,az-104,mct-1,2026-03-02,2026-03-05,in_person,confirmed\n");
    assert_eq!(
        fixtures::import(&app, Kind::Classes, &same).await.unwrap(),
        summary(1, 0, 0, 1)
    );
    assert_eq!(counts(&app).await, before);
}
db_test!(a_classes_row_changing_a_confirmed_class_is_refused);

// ---------------------------------------------------------------------------------------
// The import page
// ---------------------------------------------------------------------------------------

async fn the_import_page_takes_an_uploaded_file_and_reports_a_summary(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator
        .get("/imports")
        .await
        .assert_contains("name,email,mct_id,mct_valid_until,affiliated");

    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "trainers"),
            Part::File("file", "mcts.csv", TRAINERS.as_bytes()),
            Part::Text("csv", ""),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), Some("/imports?kind=trainers"));
    coordinator
        .get("/imports?kind=trainers")
        .await
        .assert_contains("Trainers (MCTs) imported: 2 rows: 2 created, 0 updated, 0 unchanged.");
    assert_eq!(counts(&app).await.trainers, 2);
    // The spooled upload is gone once imported.
    let spool = app.state.config.data.dir.join("uploads");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let actor = app.ledger_actions().await.last().unwrap().2.clone();
    assert!(
        actor.starts_with("user:"),
        "the signed-in user imported: {actor}"
    );

    // Pasted text works the same; the same file again changes nothing.
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[Part::Text("kind", "trainers"), Part::Text("csv", TRAINERS)],
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    coordinator
        .get("/imports?kind=trainers")
        .await
        .assert_contains("2 rows: 0 created, 0 updated, 2 unchanged.");

    // No kind, an unknown kind, or nothing to import: 422 saying what is missing.
    for (parts, message) in [
        (
            vec![Part::File("file", "mcts.csv", TRAINERS.as_bytes())],
            "Choose what the file holds.",
        ),
        (
            vec![
                Part::Text("kind", "payments"),
                Part::File("file", "mcts.csv", TRAINERS.as_bytes()),
            ],
            "Choose what the file holds.",
        ),
        (
            vec![
                Part::Text("kind", "trainers"),
                Part::File("file", "empty.csv", b""),
            ],
            "Choose a CSV file or paste its text.",
        ),
    ] {
        let response = post_multipart(&mut coordinator, "/imports", &parts).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        response.assert_contains(message);
    }

    // Without the CSRF token, or as a viewer: refused, nothing written.
    let before = counts(&app).await;
    let title_plan = [
        Part::Text("kind", "title-plan"),
        Part::File("file", "tp.csv", TITLE_PLAN.as_bytes()),
    ];
    let response = send_multipart(&mut coordinator, "/imports", &title_plan).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = post_multipart(&mut viewer, "/imports", &title_plan).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(counts(&app).await.courses, before.courses);
}
db_test!(the_import_page_takes_an_uploaded_file_and_reports_a_summary);

async fn a_bad_upload_lists_every_bad_line_and_writes_nothing(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "scheduled").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let before = counts(&app).await;
    let csv = "\
class_ref,learner_name,learner_email,attended
C-1,Ana,ana@example.com,true
C-404,Ben,ben@example.com,false
C-1,Cy,cy-at-example.com,false
C-1,Di
";
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "roster"),
            Part::File("file", "roster.csv", csv.as_bytes()),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("Nothing was imported: 2 problems on 2 lines")
        .assert_contains("<li>line 4: learner_email: is not a valid e-mail address</li>")
        .assert_contains("<li>line 5: row: has 2 fields, the header has 4</li>")
        .assert_contains("checked once they are fixed");
    assert!(
        !response.body.contains("line 2:"),
        "the good line is not listed"
    );
    assert_eq!(counts(&app).await, before);

    // The format put right: the unknown class is reported, and still nothing is written.
    let refs = "\
class_ref,learner_name,learner_email,attended
C-1,Ana,ana@example.com,true
C-404,Ben,ben@example.com,false
";
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "roster"),
            Part::File("file", "roster.csv", refs.as_bytes()),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("Nothing was imported: 1 problem on 1 line")
        .assert_contains("<li>line 3: class_ref: no class C-404</li>");
    assert!(!response.body.contains("checked once they are fixed"));
    assert_eq!(counts(&app).await, before);
}
db_test!(a_bad_upload_lists_every_bad_line_and_writes_nothing);

// ---------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------

async fn the_cli_imports_a_good_file_and_fails_on_a_bad_one(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "scheduled").await;
    let (_dir, good) = temp_file(
        "roster.csv",
        ROSTER
            .replace("C-2", "C-1")
            .replace("LEA@", "zoe@")
            .as_bytes(),
    );
    let code = cli::run(
        Command::Import {
            kind: "roster".parse().unwrap(),
            file: good.clone(),
        },
        cli_config(&app),
    )
    .await
    .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(counts(&app).await.enrollments, 3);
    assert!(
        enrollment(&app, class.id, "zoe@example.com")
            .await
            .is_some()
    );
    assert_eq!(
        app.ledger_actions().await.last().unwrap(),
        &(
            "enrollment".to_string(),
            "import".to_string(),
            "cli".to_string()
        )
    );

    let before = counts(&app).await;
    let (_dir2, bad) = temp_file(
        "bad.csv",
        b"class_ref,learner_name,learner_email,attended\nC-1,New,new@example.com,true\nC-1,Bad,bad,true\n",
    );
    let code = cli::run(
        Command::Import {
            kind: "roster".parse().unwrap(),
            file: bad,
        },
        cli_config(&app),
    )
    .await
    .unwrap();
    assert_eq!(code, std::process::ExitCode::FAILURE);
    assert_eq!(counts(&app).await, before);

    // An unknown kind is refused by the parser, naming every kind there is.
    let unknown = cli::Cli::command_from(["import", "codes-and-things", "x.csv"])
        .err()
        .unwrap();
    for kind in tsp_ledger::services::imports::Kind::ALL {
        assert!(unknown.contains(kind.id()), "{kind:?} in {unknown}");
    }
    assert!(unknown.contains("codes-and-things"), "{unknown}");
    drop(good);
    let missing = cli::run(
        Command::Import {
            kind: "roster".parse().unwrap(),
            file: PathBuf::from("/nonexistent/roster.csv"),
        },
        cli_config(&app),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{missing:#}").contains("/nonexistent/roster.csv"),
        "{missing:#}"
    );
    assert_eq!(counts(&app).await, before);
}
db_test!(the_cli_imports_a_good_file_and_fails_on_a_bad_one);

/// On PostgreSQL a big import refreshes its table's statistics as it goes, so its own
/// lookups keep using the indexes (statistics taken on an empty table say "scan it", and
/// a million-row roster import then turned quadratic).
async fn a_big_import_keeps_postgres_statistics_current(app: TestApp) {
    use sea_orm::ConnectionTrait;
    if !matches!(app.backend, Backend::Postgres { .. }) {
        return;
    }
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana", "MCT-1", fixtures::date("2030-01-01"), None).await;
    let mut classes =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    for c in 0..15 {
        classes.push_str(&format!(
            "S-{c},AZ-104,MCT-1,2026-03-02,2026-03-05,virtual,scheduled\n"
        ));
    }
    fixtures::import(&app, Kind::Classes, &classes)
        .await
        .unwrap();
    app.db()
        .execute_unprepared("ANALYZE enrollments")
        .await
        .unwrap();
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    for i in 0..15_000 {
        roster.push_str(&format!(
            "S-{},Learner {i},l{i}@example.com,false\n",
            i / 1000
        ));
    }
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    let row = app
        .db()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT reltuples::bigint AS n FROM pg_class \
             WHERE relname = 'enrollments' AND relnamespace = current_schema()::regnamespace",
        ))
        .await
        .unwrap()
        .unwrap();
    let estimated: i64 = row.try_get("", "n").unwrap();
    assert!(estimated >= 10_000, "statistics say {estimated} rows");
}
db_test!(a_big_import_keeps_postgres_statistics_current);

// ---------------------------------------------------------------------------------------
// Rule 7: who may import what a class's dates make true
// ---------------------------------------------------------------------------------------

fn day(offset: i64) -> String {
    fixtures::today_plus(offset).to_string()
}

async fn rule_7_a_classes_import_records_delivered_once_started_and_confirmed_once_ended(
    app: TestApp,
) {
    catalog(&app).await;
    let before = counts(&app).await;
    // The local operator (CLI) loads history, but not a future one.
    let untrue = format!(
        "{CLASS_HEADER}C-1,AZ-104,MCT-1,{},{},virtual,confirmed\nC-2,AZ-104,MCT-1,{},{},in_person,delivered\nC-3,AZ-104,MCT-1,{},{},in_person,confirmed\n",
        day(41),
        day(44),
        day(1),
        day(3),
        day(-2),
        day(1),
    );
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Classes, &untrue).await);
    assert_eq!(
        errors,
        [
            format!(
                "line 2: end_date: a class is confirmed only once it has ended: this one ends on {}, after today ({})",
                day(44),
                day(0)
            ),
            format!(
                "line 3: start_date: a class is delivered only once it has started: this one starts on {}, after today ({})",
                day(1),
                day(0)
            ),
            format!(
                "line 4: end_date: a class is confirmed only once it has ended: this one ends on {}, after today ({})",
                day(1),
                day(0)
            ),
        ]
    );
    assert_eq!(
        counts(&app).await,
        before,
        "nothing of the file was written"
    );

    // What the dates make true is imported: a future class scheduled, a started one
    // delivered, one that ended today or before confirmed.
    let true_history = format!(
        "{CLASS_HEADER}C-1,AZ-104,MCT-1,{},{},virtual,scheduled\nC-2,AZ-104,MCT-1,{},{},in_person,delivered\nC-3,AZ-104,MCT-1,{},{},in_person,confirmed\nC-4,AZ-104,MCT-1,{},{},in_person,confirmed\n",
        day(41),
        day(44),
        day(0),
        day(3),
        day(-3),
        day(0),
        day(-30),
        day(-27),
    );
    assert_eq!(
        fixtures::import(&app, Kind::Classes, &true_history)
            .await
            .unwrap(),
        summary(4, 4, 0, 0)
    );
    // Nor can a later row move the future class forward.
    let forward = format!(
        "{CLASS_HEADER}C-1,AZ-104,MCT-1,{},{},virtual,confirmed\n",
        day(41),
        day(44)
    );
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Classes, &forward).await);
    assert!(
        errors[0].starts_with("line 2: end_date: a class is confirmed only once it has ended"),
        "{errors:?}"
    );
    let c1 = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c1.status, ClassStatus::Scheduled);
}
db_test!(rule_7_a_classes_import_records_delivered_once_started_and_confirmed_once_ended);

async fn rule_7_a_coordinator_imports_classes_up_to_delivered_never_confirmed(app: TestApp) {
    catalog(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get("/imports?kind=classes").await;
    assert!(!page.body.contains(r#"name="reason""#), "no reason field");
    page.assert_contains("confirming a delivery is its MCT");
    let before = counts(&app).await;

    // Even with a reason typed, a coordinator's file cannot confirm a delivery.
    let csv = format!(
        "{CLASS_HEADER}C-1,AZ-104,MCT-1,{},{},in_person,delivered\nC-2,AZ-104,MCT-1,{},{},in_person,confirmed\n",
        day(-10),
        day(-8),
        day(-10),
        day(-8),
    );
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "classes"),
            Part::Text("csv", &csv),
            Part::Text("reason", "the MCT said so"),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("Nothing was imported: 1 problem on 1 line")
        .assert_contains("line 3: status: C-2 cannot be imported as confirmed")
        .assert_contains("import it as delivered");
    assert_eq!(counts(&app).await, before);

    // Up to delivered is fine.
    let delivered = csv.replace("confirmed", "delivered");
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[Part::Text("kind", "classes"), Part::Text("csv", &delivered)],
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let c2 = tsp_ledger::services::classes::by_ref(app.db(), "C-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.status, ClassStatus::Delivered);

    // A second file cannot confirm it either: the import is no way around the 403 of
    // POST /classes/{id}/confirm.
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[Part::Text("kind", "classes"), Part::Text("csv", &csv)],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("line 3: status: C-2 cannot be imported as confirmed");
    let confirm = coordinator
        .post(&format!("/classes/{}/confirm", c2.id), &[("reason", "x")])
        .await;
    assert_eq!(confirm.status, StatusCode::FORBIDDEN);
    let c2 = tsp_ledger::services::classes::get(app.db(), c2.id)
        .await
        .unwrap();
    assert_eq!(c2.status, ClassStatus::Delivered);
}
db_test!(rule_7_a_coordinator_imports_classes_up_to_delivered_never_confirmed);

async fn rule_7_an_admin_imports_confirmed_history_with_a_reason_kept_on_every_entry(app: TestApp) {
    catalog(&app).await;
    let admin_user = app.create_user(Role::Admin, "root@example.com").await;
    let mut admin = app.client_for(admin_user).await;
    admin
        .get("/imports?kind=classes")
        .await
        .assert_contains(r#"<label for="reason">Reason"#)
        .assert_contains(r#"name="reason""#)
        .assert_contains("Required when a classes file holds");
    let before = counts(&app).await;
    let csv = format!(
        "{CLASS_HEADER}C-1,AZ-104,MCT-1,{},{},in_person,confirmed\nC-2,AZ-104,MCT-1,{},{},virtual,delivered\nC-3,AZ-104,MCT-1,{},{},virtual,scheduled\n",
        day(-40),
        day(-37),
        day(-10),
        day(-8),
        day(20),
        day(22),
    );
    let classes_file = |reason: &'static str| {
        vec![
            Part::Text("kind", "classes"),
            Part::Text("csv", csv.as_str()),
            Part::Text("reason", reason),
        ]
    };

    // Confirmed rows without a reason: the file is refused.
    let response = post_multipart(&mut admin, "/imports", &classes_file("  ")).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("line 2: status: C-1 is confirmed: an admin importing confirmed classes gives a reason for the file");
    assert_eq!(counts(&app).await, before);

    // With one, every ledger entry the import writes carries it.
    let reason = "History from the old LMS, confirmed by the MCTs by e-mail";
    let response = post_multipart(&mut admin, "/imports", &classes_file(reason)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let entries = ledger_since(&app, before.ledger).await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    for entry in &entries {
        assert_eq!(
            (entry.entity_type.as_str(), entry.action.as_str()),
            ("class", "import")
        );
        assert_eq!(entry.actor, format!("user:{admin_user}"));
        assert_eq!(entry.reason.as_deref(), Some(reason), "{entry:?}");
    }
    let c1 = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c1.status, ClassStatus::Confirmed);
    assert!(c1.confirmed_at.is_some());

    // A reason does not make a future class confirmed.
    let future = format!(
        "{CLASS_HEADER}C-4,AZ-104,MCT-1,{},{},virtual,confirmed\n",
        day(41),
        day(44)
    );
    let before = counts(&app).await;
    let response = post_multipart(
        &mut admin,
        "/imports",
        &[
            Part::Text("kind", "classes"),
            Part::Text("csv", &future),
            Part::Text("reason", reason),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("line 2: end_date: a class is confirmed only once it has ended");
    assert_eq!(counts(&app).await, before);
}
db_test!(rule_7_an_admin_imports_confirmed_history_with_a_reason_kept_on_every_entry);
