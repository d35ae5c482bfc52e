//! Bad input (issue 7 item 6): every CSV importer under arbitrary bytes and arbitrary
//! rows, valid generated rows round-tripping, oversized bodies, and guessed or reused
//! tokens on every public token endpoint. Property cases use a fixed seed, so a run is
//! repeatable; a failure prints the input that caused it.
use std::future::Future;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::{ImportFailure, Kind};

use crate::fixtures;
use crate::imports::Part;
use crate::support::{PASSWORD, TestApp, form_encode};

/// Every table an import (or anything else) could write, and the ledger.
const TABLES: [&str; 13] = [
    "courses",
    "trainers",
    "classes",
    "enrollments",
    "achievement_codes",
    "survey_invitations",
    "survey_responses",
    "exam_vouchers",
    "courseware_purchases",
    "outbox_messages",
    "recordings",
    "users",
    "ledger_entries",
];

pub async fn table_counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    // One round trip: a scalar subquery per table.
    let columns: Vec<String> = TABLES
        .iter()
        .map(|t| format!("(SELECT COUNT(*) FROM {t}) AS {t}"))
        .collect();
    let row = app
        .db()
        .query_one_raw(Statement::from_string(
            app.db().get_database_backend(),
            format!("SELECT {}", columns.join(", ")),
        ))
        .await
        .unwrap()
        .unwrap();
    TABLES
        .iter()
        .map(|t| (*t, row.try_get::<i64>("", t).unwrap()))
        .collect()
}

fn count_of(counts: &[(&str, i64)], table: &str) -> i64 {
    counts.iter().find(|(t, _)| *t == table).unwrap().1
}

/// A property runner with a fixed seed and no failure files.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(7),
        ..Config::default()
    })
}

/// Runs an async check from inside the synchronous property runner.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// The records the generated rows refer to: course AZ-104, MCT-1, the delivered class
/// C-1 with the attending learner ada@example.com.
async fn reference_records(app: &TestApp) {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(
        app,
        "Ana Trainer",
        "MCT-1",
        fixtures::date("2030-12-31"),
        None,
    )
    .await;
    fixtures::class(
        app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            "delivered",
        ),
    )
    .await;
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Ada Lovelace,ada@example.com,true\n",
    )
    .await
    .unwrap();
}

/// Values that look right, nearly right, or wrong for a column.
fn plausible(column: &str) -> Vec<&'static str> {
    match column {
        "course_code" | "exam_code" => vec!["AZ-104", "az-104", "NEW-1", "A B", ""],
        "mct_id" => vec!["MCT-1", "mct-1", "MCT-X", ""],
        "class_ref" => vec!["C-1", "C-2", "c-1", "C 3", ""],
        "email" | "learner_email" => vec![
            "ada@example.com",
            "ADA@example.com",
            "new@example.com",
            "not-an-email",
            "",
        ],
        "fundamentals" | "affiliated" | "attended" => vec!["true", "false", "yes", ""],
        "duration_days" | "quantity" => vec!["1", "4", "0", "-1", "99999999999", "2.5"],
        "solution_area" => vec!["infrastructure", "security", "data_ai", "nope", ""],
        "content" => vec!["official", "unofficial", "x"],
        "modality" => vec!["in_person", "virtual", "recorded", "x"],
        "status" => vec!["scheduled", "delivered", "confirmed", "cancelled", "x"],
        "q1" | "q2" | "q3" | "q4" | "q5" => vec!["1", "5", "", "0", "6", "x"],
        "level" => vec!["fundamentals", "advanced", "x"],
        "achievement_code" => vec!["ABC123", "XYZ-9", "", "a code"],
        "order_ref" => vec!["PO-1", "PO-2", ""],
        "product_kind" => vec!["moc", "mccvl", "exam", "dvd", ""],
        "product_code" => vec!["20742B", "MCCVL-1", "a b", ""],
        "revenue_usd" => vec!["1000", "12.50", "0.001", "$5", "-1", ""],
        "courseware_version" => vec!["2026-01", "", "v2"],
        c if c.ends_with("_on") || c.ends_with("_date") || c == "mct_valid_until" => vec![
            "2026-03-02",
            "2026-03-05",
            "2026-02-30",
            "2026-3-2",
            "02/03/2026",
            "",
        ],
        _ => vec!["Zoë O'Brien, Jr.", "Ada", "", "Name \"quoted\""],
    }
}

/// One cell: plausible for its column, or arbitrary text (commas, quotes, line breaks,
/// control characters and any Unicode included).
fn cell(column: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(plausible(column)).prop_map(str::to_string),
        1 => "[ -~]{0,12}",
        1 => "\\PC{0,8}",
        1 => proptest::collection::vec(
            proptest::sample::select(vec!['"', ',', '\n', '\r', '\u{0}', '\u{feff}', 'é', ' ', 'x']),
            0..6,
        )
        .prop_map(String::from_iter),
    ]
    .boxed()
}

fn quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// A file of `kind`: the right header (sometimes a column short or one too many),
/// then a few rows of cells, quoted properly or not at all, with either line end.
fn csv_file(kind: Kind) -> BoxedStrategy<Vec<u8>> {
    let columns: Vec<&'static str> = kind.columns().to_vec();
    let n = columns.len();
    let header = prop_oneof![
        6 => Just(columns.clone()),
        1 => Just(columns[..n - 1].to_vec()),
        1 => Just([columns.clone(), vec!["extra"]].concat()),
        1 => Just(columns.iter().rev().copied().collect::<Vec<_>>()),
    ];
    let row = |header: Vec<&'static str>| header.into_iter().map(cell).collect::<Vec<_>>();
    (header, any::<bool>(), any::<bool>(), any::<bool>())
        .prop_flat_map(move |(header, crlf, quoted, bom)| {
            (
                Just(header.clone()),
                proptest::collection::vec(row(header), 0..6),
                Just((crlf, quoted, bom)),
            )
        })
        .prop_map(|(header, rows, (crlf, quoted, bom))| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            text.push_str(&header.join(","));
            text.push_str(end);
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| if quoted { quote(c) } else { c.clone() })
                    .collect();
                text.push_str(&cells.join(","));
                text.push_str(end);
            }
            text.into_bytes()
        })
        .boxed()
}

fn any_input(kind: Kind) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        // Valid header, then arbitrary bytes.
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(move |tail| {
            let mut bytes = format!("{}\n", kind.columns().join(",")).into_bytes();
            bytes.extend(tail);
            bytes
        }),
        4 => csv_file(kind),
    ]
    .boxed()
}

/// Imports `bytes`; checks that a success wrote one ledger entry per created or
/// changed record and a refusal wrote nothing and named lines that exist.
async fn import_and_check(app: &TestApp, kind: Kind, bytes: Vec<u8>) -> Result<bool, String> {
    let before = table_counts(app).await;
    let lines = bytes
        .iter()
        .filter(|b| **b == b'\n' || **b == b'\r')
        .count() as u64
        + 1;
    let source = tsp_ledger::services::imports::Source::bytes(&bytes);
    let result = tsp_ledger::services::imports::run(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        &tsp_ledger::services::imports::ImportBy::operator(),
        kind,
        source,
        None,
        |_, _| {},
    )
    .await;
    let after = table_counts(app).await;
    match result {
        Ok(summary) => {
            let written = count_of(&after, "ledger_entries") - count_of(&before, "ledger_entries");
            if summary.rows != summary.created + summary.updated + summary.unchanged {
                return Err(format!("summary does not add up: {summary}"));
            }
            if written as u64 != summary.created + summary.updated {
                return Err(format!(
                    "{summary} but {written} ledger entries were written"
                ));
            }
            Ok(true)
        }
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
            ..
        }) => {
            if errors.is_empty() || total < errors.len() as u64 || bad_lines == 0 {
                return Err(format!(
                    "an empty or inconsistent report: {errors:?} {total} {bad_lines}"
                ));
            }
            for e in &errors {
                if e.line == 0 || e.line > lines || e.field.is_empty() || e.message.is_empty() {
                    return Err(format!("a problem naming no real line or field: {e}"));
                }
            }
            if before != after {
                return Err(format!(
                    "a refused import wrote something: {before:?} → {after:?}"
                ));
            }
            Ok(false)
        }
        Err(ImportFailure::Failed(e)) => Err(format!("an internal error, not a report: {e}")),
    }
}

async fn every_importer_takes_arbitrary_bytes_and_rows_without_harm(app: TestApp) {
    reference_records(&app).await;
    for kind in Kind::ALL {
        let mut runner = runner(64);
        let outcomes = std::cell::Cell::new((0u32, 0u32));
        let result = runner.run(&any_input(kind), |bytes| {
            let imported =
                block_on(import_and_check(&app, kind, bytes)).map_err(TestCaseError::fail)?;
            let (ok, refused) = outcomes.get();
            outcomes.set(if imported {
                (ok + 1, refused)
            } else {
                (ok, refused + 1)
            });
            Ok(())
        });
        if let Err(e) = result {
            panic!("import {}: {e}", kind.id());
        }
        // The generator reaches both outcomes, so both branches were checked.
        let (ok, refused) = outcomes.get();
        eprintln!("import {}: {ok} imported, {refused} refused", kind.id());
        assert!(
            ok > 0 && refused > 0,
            "{}: {ok} imported, {refused} refused",
            kind.id()
        );
    }
    // Whatever was written, the chain still verifies.
    let verification = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert!(verification.first_broken.is_none(), "{verification:?}");
}
db_test!(every_importer_takes_arbitrary_bytes_and_rows_without_harm);

/// A valid row's variable parts; keys are made unique by the caller.
#[derive(Debug, Clone)]
struct Valid {
    text: String,
    number: u32,
    flag: bool,
    pick: usize,
    day: u32,
    answers: [Option<u8>; 5],
}

fn valid() -> impl Strategy<Value = Valid> {
    (
        // Names and titles: any printable text, kept clear of the edges' whitespace.
        "[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 ,.'\"-]{0,30}[A-Za-zÀ-ÿ0-9.]",
        1..10u32,
        any::<bool>(),
        0..4usize,
        0..360u32,
        proptest::array::uniform5(proptest::option::of(1..=5u8)),
    )
        .prop_map(|(text, number, flag, pick, day, answers)| Valid {
            text,
            number,
            flag,
            pick,
            day,
            answers,
        })
}

fn date_plus(days: u32) -> String {
    (fixtures::date("2025-01-01") + chrono::Duration::days(days.into())).to_string()
}

/// A valid file of `rows` for `kind`, keys unique to `case`; `C-1` holds learners
/// `l{case}-{i}@example.com` before codes and survey responses are imported for them.
fn valid_file(kind: Kind, case: usize, rows: &[Valid]) -> String {
    let areas = ["infrastructure", "security", "data_ai", "modern_work"];
    let mut text = format!("{}\n", kind.columns().join(","));
    for (i, v) in rows.iter().enumerate() {
        let q = quote(&v.text);
        let key = format!("K{case}-{i}");
        let learner = format!("l{case}-{i}@example.com");
        let line = match kind {
            Kind::TitlePlan => format!(
                "{key},{q},{},{},{},{},2026-{:02}",
                v.number,
                v.flag,
                areas[v.pick],
                if v.flag { "official" } else { "unofficial" },
                v.number
            ),
            Kind::Trainers => format!(
                "{q},mct{case}x{i}@example.com,{key},{},{}",
                date_plus(v.day + 400),
                v.flag
            ),
            Kind::Classes => format!(
                "{key},AZ-104,MCT-1,{},{},{},{},{},{}",
                date_plus(v.day),
                date_plus(v.day + v.number % 5),
                ["in_person", "virtual"][v.pick % 2],
                ["scheduled", "delivered", "confirmed", "cancelled"][v.pick],
                ["en", "de-DE", "", "zh-Hant-TW"][v.pick],
                if v.pick == 2 {
                    String::new()
                } else {
                    v.flag.to_string()
                }
            ),
            Kind::Roster => format!("C-1,{q},{learner},{}", v.flag),
            Kind::CodePool => format!(
                "{},{}",
                key.replace('-', "X"),
                if v.flag {
                    date_plus(v.day + 30)
                } else {
                    String::new()
                }
            ),
            Kind::Codes => format!(
                "C-1,{learner},CODE{case}X{i},2026-03-06,{}",
                if v.flag { "2026-03-20" } else { "" }
            ),
            Kind::SurveyResponses => {
                let answers: Vec<String> = v
                    .answers
                    .iter()
                    .map(|a| a.map(|n| n.to_string()).unwrap_or_default())
                    .collect();
                // The optional comment column: the row's text, or none.
                let comment = if v.flag { q.as_str() } else { "" };
                format!("C-1,{learner},2026-03-06,{},{comment}", answers.join(","))
            }
            Kind::Vouchers => format!(
                "{},AZ-{},{},{},{key}",
                date_plus(v.day),
                100 + v.number,
                ["fundamentals", "advanced"][v.pick % 2],
                v.number
            ),
            Kind::Courseware => format!(
                "{},{},{}-{i},{},{}.{:02},{key}",
                date_plus(v.day),
                ["moc", "mccvl", "exam", "labs"][v.pick],
                ["20742B", "MCCVL", "MCP", "LAB"][v.pick],
                v.number,
                v.number * 100,
                v.day % 100
            ),
            // The codes issued by the `codes` file `valid_rows_round_trip` loads first.
            Kind::Redemptions => format!(
                "CODE{case}X{i},2026-03-{:02},{}",
                7 + v.number % 20,
                if v.flag { learner.as_str() } else { "" }
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

async fn valid_rows_round_trip(
    app: &TestApp,
    kind: Kind,
    case: usize,
    rows: &[Valid],
) -> Result<(), String> {
    if matches!(
        kind,
        Kind::Codes | Kind::SurveyResponses | Kind::Redemptions
    ) {
        let learners = valid_file(Kind::Roster, case, rows);
        fixtures::import(app, Kind::Roster, &learners)
            .await
            .map_err(|e| format!("roster for {}: {e:?}", kind.id()))?;
    }
    if kind == Kind::Redemptions {
        // Codes issued, not yet redeemed: the report's rows redeem them.
        let mut issued = format!("{}\n", Kind::Codes.columns().join(","));
        for i in 0..rows.len() {
            issued.push_str(&format!(
                "C-1,l{case}-{i}@example.com,CODE{case}X{i},2026-03-06,\n"
            ));
        }
        fixtures::import(app, Kind::Codes, &issued)
            .await
            .map_err(|e| format!("codes for redemptions: {e:?}"))?;
    }
    let file = valid_file(kind, case, rows);
    let n = rows.len() as u64;
    let ledger = |c: &[(&str, i64)]| count_of(c, "ledger_entries");
    let before = table_counts(app).await;
    let first = fixtures::import(app, kind, &file)
        .await
        .map_err(|e| format!("{file}\n{e:?}"))?;
    let middle = table_counts(app).await;
    if first.rows != n || first.created + first.updated != n {
        return Err(format!("{file}\nfirst import: {first}"));
    }
    if (ledger(&middle) - ledger(&before)) as u64 != n {
        return Err(format!("{file}\nnot one ledger entry per row"));
    }
    let again = fixtures::import(app, kind, &file)
        .await
        .map_err(|e| format!("{file}\nagain: {e:?}"))?;
    if again.unchanged != n || table_counts(app).await != middle {
        return Err(format!(
            "{file}\nthe same file again changed something: {again}"
        ));
    }
    // What was stored reads back as written.
    match kind {
        Kind::TitlePlan => {
            for (i, v) in rows.iter().enumerate() {
                let c = tsp_ledger::services::courses::by_code(app.db(), &format!("K{case}-{i}"))
                    .await
                    .unwrap()
                    .ok_or("course missing")?;
                if c.title != v.text
                    || c.duration_days != v.number as i32
                    || c.fundamentals != v.flag
                {
                    return Err(format!("{file}\nstored as {c:?}"));
                }
            }
        }
        Kind::Classes => {
            for (i, v) in rows.iter().enumerate() {
                let c = tsp_ledger::services::classes::by_ref(app.db(), &format!("K{case}-{i}"))
                    .await
                    .unwrap()
                    .ok_or("class missing")?;
                let language = ["en", "de-DE", "", "zh-Hant-TW"][v.pick];
                if c.language.as_deref().unwrap_or("") != language
                    || c.published_schedule != (v.flag && v.pick != 2)
                {
                    return Err(format!("{file}\nstored as {c:?}"));
                }
            }
        }
        Kind::Roster => {
            let class = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
                .await
                .unwrap()
                .unwrap();
            let export = tsp_ledger::services::exports::roster(app.db(), class.id)
                .await
                .unwrap();
            let mut reader = csv::Reader::from_reader(export.as_slice());
            let exported: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            for (i, v) in rows.iter().enumerate() {
                let email = format!("l{case}-{i}@example.com");
                let found = exported.iter().any(|r| {
                    r.iter().any(|c| c == email)
                        && r.iter().any(|c| c == v.text)
                        && r.iter().any(|c| c == v.flag.to_string())
                });
                if !found {
                    return Err(format!("{file}\nnot in the export: {email}"));
                }
            }
        }
        Kind::SurveyResponses => {
            let stored = entity::survey_responses::Entity::find()
                .all(app.db())
                .await
                .unwrap();
            for v in rows {
                let answers = v.answers.map(|a| a.map(i32::from));
                let comment = v.flag.then(|| v.text.clone());
                if !stored.iter().any(|r| {
                    [r.q1, r.q2, r.q3, r.q4, r.q5].map(|q| q.map(|x| x as i32)) == answers
                        && r.comment == comment
                }) {
                    return Err(format!(
                        "{file}\nanswers {answers:?} with comment {comment:?} not stored"
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

async fn valid_generated_rows_of_every_kind_round_trip(app: TestApp) {
    reference_records(&app).await;
    let case = std::cell::Cell::new(0usize);
    for kind in Kind::ALL {
        let mut runner = runner(12);
        let result = runner.run(&proptest::collection::vec(valid(), 1..5), |rows| {
            case.set(case.get() + 1);
            block_on(valid_rows_round_trip(&app, kind, case.get(), &rows))
                .map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            panic!("import {}: {e}", kind.id());
        }
    }
}
db_test!(valid_generated_rows_of_every_kind_round_trip);

async fn a_form_over_the_body_limit_is_refused_with_413_and_writes_nothing(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let before = table_counts(&app).await;
    let limit = app.state.config.server.max_body_bytes;
    let title = "x".repeat(limit);
    let response = coordinator
        .post(
            "/courses",
            &[
                ("course_code", "BIG-1"),
                ("title", &title),
                ("duration_days", "2"),
                ("content", "official"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    response
        .assert_contains("larger than this server accepts (2 MiB)")
        .assert_contains("Nothing was saved");
    // The same without a Content-Length (streamed): refused the same way.
    let token = coordinator.csrf();
    let body = form_encode(&[
        ("_csrf", &token),
        ("course_code", "BIG-2"),
        ("title", &title),
    ]);
    let stream = futures_stream(body.into_bytes());
    let request = Request::post("/courses")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(stream)
        .unwrap();
    let streamed = coordinator.send(request).await;
    assert_eq!(streamed.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A public form too.
    let huge = "x".repeat(limit + 10);
    let response = app
        .anonymous()
        .post("/login", &[("email", &huge), ("password", PASSWORD)])
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(table_counts(&app).await, before);
    // Just under the limit is an ordinary (refused: the title is too long) form.
    let fits = "x".repeat(limit / 2);
    let response = coordinator
        .post("/courses", &[("course_code", "FIT-1"), ("title", &fits)])
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(table_counts(&app).await, before);
}
db_test!(a_form_over_the_body_limit_is_refused_with_413_and_writes_nothing);

/// A body sent in chunks without a `Content-Length`.
fn futures_stream(bytes: Vec<u8>) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn an_upload_over_its_limit_is_refused_with_a_clear_message(mut app: TestApp) {
    let mut config = app.state.config.clone();
    config.server.max_upload_bytes = 64 * 1024;
    app.state = tsp_ledger::AppState::new(config, app.state.db.clone(), [42u8; 32]);
    app.router = tsp_ledger::router(app.state.clone());
    reference_records(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let before = table_counts(&app).await;
    let mut csv = String::from("name,email,mct_id,mct_valid_until,affiliated\n");
    let mut i = 0;
    while csv.len() <= 64 * 1024 {
        i += 1;
        csv.push_str(&format!(
            "T {i},t{i}@example.com,MCT-B{i},2030-01-01,true\n"
        ));
    }
    let body = crate::imports::multipart_body(&[
        Part::Text("kind", "trainers"),
        Part::File("file", "big.csv", csv.as_bytes()),
    ]);
    let token = coordinator.csrf();
    let query = form_encode(&[("_csrf", &token)]);
    // Declared size over the limit: refused before reading.
    let request = Request::post(format!("/imports?{query}"))
        .header(header::CONTENT_TYPE, post_multipart_content_type(&body))
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.clone()))
        .unwrap();
    let response = coordinator.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    response
        .assert_contains("larger than this server accepts (64 KiB, server.max_upload_bytes)")
        .assert_contains("Nothing was imported");
    // Streamed without a Content-Length: cut off at the limit, the same message.
    let class = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
        .await
        .unwrap()
        .unwrap();
    for path in [
        "/imports".to_string(),
        format!("/classes/{}/roster/import", class.id),
    ] {
        let content_type = post_multipart_content_type(&body);
        let request = Request::post(format!("{path}?{query}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(futures_stream(body.clone()))
            .unwrap();
        let response = coordinator.send(request).await;
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        response.assert_contains("Nothing was imported");
    }
    assert_eq!(table_counts(&app).await, before);
    // No spooled file is left behind.
    let spool = app.state.config.data.dir.join("uploads");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
db_test!(an_upload_over_its_limit_is_refused_with_a_clear_message);

/// The `Content-Type` of a body made by `multipart_body` (its boundary is its first line).
fn post_multipart_content_type(body: &[u8]) -> String {
    let first = body.split(|b| *b == b'\r').next().unwrap();
    let boundary = String::from_utf8_lossy(&first[2..]).into_owned();
    format!("multipart/form-data; boundary={boundary}")
}

async fn public_token_endpoints_refuse_guessed_and_spent_tokens(app: TestApp) {
    // /setup/{token}: a guessed token is refused; once used, the real one is too, for a
    // post as much as a page, and no second administrator appears.
    let token = app.state.issue_setup_token();
    let fields = |email: &'static str| {
        [
            ("name", "Eve"),
            ("email", email),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ]
    };
    let mut eve = app.anonymous();
    let guessed = "0".repeat(64);
    let response = eve
        .post(&format!("/setup/{guessed}"), &fields("eve@example.com"))
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let mut owner = app.anonymous();
    let response = owner
        .post(&format!("/setup/{token}"), &fields("owner@example.com"))
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let response = eve
        .post(&format!("/setup/{token}"), &fields("eve@example.com"))
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND, "a spent setup link");
    assert_eq!(
        tsp_ledger::services::accounts::count(app.db())
            .await
            .unwrap(),
        1
    );

    // /password/reset/{token}: a real link changed by one character, upper-cased, cut
    // short or lengthened is no link; once used, the real one is none either.
    let mut browser = app.anonymous();
    browser
        .post("/password/forgot", &[("email", "owner@example.com")])
        .await;
    let mail = entity::outbox_messages::Entity::find()
        .filter(entity::outbox_messages::Column::Kind.eq("password_reset"))
        .one(app.db())
        .await
        .unwrap()
        .expect("a reset mail");
    let start = mail.text_body.find("/password/reset/").unwrap() + "/password/reset/".len();
    let reset = mail.text_body[start..start + 64].to_string();
    let new = [
        ("new_password", "a long enough new password"),
        ("new_password_confirmation", "a long enough new password"),
    ];
    for v in [
        format!(
            "{}{}",
            &reset[..63],
            if reset.ends_with('0') { "1" } else { "0" }
        ),
        reset.to_uppercase(),
        reset[..32].to_string(),
        format!("{reset}0"),
    ] {
        let path = format!("/password/reset/{v}");
        assert_eq!(
            eve.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
        assert_eq!(
            eve.post(&path, &new).await.status,
            StatusCode::NOT_FOUND,
            "POST {path}"
        );
    }
    let path = format!("/password/reset/{reset}");
    assert_eq!(
        browser.post(&path, &new).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        eve.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "a spent reset link"
    );
    assert_eq!(
        eve.post(&path, &new).await.status,
        StatusCode::NOT_FOUND,
        "a spent reset link"
    );

    // The learner links: a real one with one character changed, upper-cased, cut short
    // or lengthened is no link at all.
    reference_records(&app).await;
    let before = table_counts(&app).await;
    let real = "0123456789abcdef".repeat(4);
    let variants = [
        format!("{}0", &real[..63]),
        real.to_uppercase(),
        real[..32].to_string(),
        format!("{real}0"),
        "%2e%2e".to_string(),
    ];
    let mut anonymous = app.anonymous();
    for path in ["/codes", "/survey", "/consent", "/password/reset"] {
        for v in &variants {
            let page = anonymous.get(&format!("{path}/{v}")).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {path}/{v}");
        }
    }
    for (path, fields) in [
        ("/survey", vec![("q1", "5")]),
        ("/consent", vec![("change", "grant")]),
        ("/consent", vec![("change", "revoke")]),
        (
            "/password/reset",
            vec![
                ("new_password", "a long enough new password"),
                ("new_password_confirmation", "a long enough new password"),
            ],
        ),
    ] {
        for v in &variants {
            let response = anonymous.post(&format!("{path}/{v}"), &fields).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "POST {path}/{v}");
        }
    }
    assert_eq!(table_counts(&app).await, before, "guesses wrote nothing");
}
db_test!(public_token_endpoints_refuse_guessed_and_spent_tokens);
