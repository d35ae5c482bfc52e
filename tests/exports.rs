//! CSV exports: the filtered class list (web and CLI) and a class roster.
use axum::http::{StatusCode, header};
use tsp_ledger::cli::{self, Command};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::fixtures;
use crate::imports::cli_config;
use crate::support::{TestApp, TestResponse};

const CLASS_HEADER: [&str; 14] = [
    "class_ref",
    "course_code",
    "course_title",
    "solution_area",
    "duration_category",
    "content",
    "mct_id",
    "mct_name",
    "start_date",
    "end_date",
    "modality",
    "status",
    "learners",
    "attended",
];

const C3: [&str; 14] = [
    "C-3",
    "AZ-104",
    "Course AZ-104",
    "infrastructure",
    "three_days_or_more",
    "official",
    "MCT-1",
    "Ana Trainer",
    "2026-05-04",
    "2026-05-07",
    "in_person",
    "confirmed",
    "3",
    "2",
];

const C4: [&str; 14] = [
    "C-4",
    "AZ-900",
    "Azure Fundamentals, the basics",
    "",
    "fundamentals",
    "unofficial",
    "MCT-2",
    "Bo \"Bob\" Trainer",
    "2026-06-01",
    "2026-06-01",
    "virtual",
    "confirmed",
    "0",
    "0",
];

/// Two courses, two MCTs (MCT-2 linked to `trainer_user`), five classes in every status,
/// three learners on C-3 of whom two attended.
async fn deliveries(app: &TestApp, trainer_user: Option<i64>) {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::import(
        app,
        Kind::TitlePlan,
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n\
         AZ-900,\"Azure Fundamentals, the basics\",1,true,,unofficial,2026-01\n",
    )
    .await
    .unwrap();
    fixtures::trainer(
        app,
        "Ana Trainer",
        "MCT-1",
        fixtures::date("2030-12-31"),
        None,
    )
    .await;
    fixtures::trainer(
        app,
        "Bo \"Bob\" Trainer",
        "MCT-2",
        fixtures::date("2030-12-31"),
        trainer_user,
    )
    .await;
    for row in [
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            "scheduled",
        ),
        (
            "C-2",
            "AZ-104",
            "MCT-2",
            "2026-04-06",
            "2026-04-09",
            "virtual",
            "delivered",
        ),
        (
            "C-3",
            "AZ-104",
            "MCT-1",
            "2026-05-04",
            "2026-05-07",
            "in_person",
            "confirmed",
        ),
        (
            "C-4",
            "AZ-900",
            "MCT-2",
            "2026-06-01",
            "2026-06-01",
            "virtual",
            "confirmed",
        ),
        (
            "C-5",
            "AZ-900",
            "MCT-1",
            "2026-07-01",
            "2026-07-01",
            "virtual",
            "cancelled",
        ),
    ] {
        fixtures::class(app, row).await;
    }
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-3,Ana,ana@example.com,true\n\
         C-3,Ben,ben@example.com,false\n\
         C-3,Cy,cy@example.com,true\n",
    )
    .await
    .unwrap();
}

/// Header and rows of a CSV text.
fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn strings(row: &[&str]) -> Vec<String> {
    row.iter().map(|s| s.to_string()).collect()
}

/// The class refs of a class export, checking it is a CSV download with the right header.
#[track_caller]
fn refs(response: &TestResponse) -> Vec<String> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"classes-")
    );
    let (header, rows) = parse(&response.body);
    assert_eq!(header, CLASS_HEADER);
    rows.into_iter().map(|r| r[0].clone()).collect()
}

async fn the_class_export_holds_exactly_the_filtered_classes(app: TestApp) {
    deliveries(&app, None).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;

    let confirmed = coordinator
        .get("/classes/export.csv?status=confirmed")
        .await;
    assert_eq!(refs(&confirmed), ["C-4", "C-3"], "newest first, as listed");
    let (_, rows) = parse(&confirmed.body);
    assert_eq!(rows, [strings(&C4), strings(&C3)]);

    for (query, expected) in [
        ("", vec!["C-5", "C-4", "C-3", "C-2", "C-1"]),
        ("?status=confirmed&from=2026-05-10", vec!["C-4"]),
        ("?from=2026-04-01&to=2026-06-01", vec!["C-4", "C-3", "C-2"]),
        ("?modality=virtual&status=", vec!["C-5", "C-4", "C-2"]),
        ("?q=az-900", vec!["C-5", "C-4"]),
        ("?area=infrastructure&status=scheduled", vec!["C-1"]),
        ("?status=cancelled&modality=in_person", vec![]),
    ] {
        let response = coordinator
            .get(&format!("/classes/export.csv{query}"))
            .await;
        assert_eq!(refs(&response), expected, "{query}");
    }

    // The list page's export link carries its filters.
    coordinator
        .get("/classes?status=confirmed&modality=virtual")
        .await
        .assert_contains("/classes/export.csv?status=confirmed&#38;modality=virtual");

    // A filter that cannot be used is refused, not ignored.
    let response = coordinator.get("/classes/export.csv?status=done").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    // Viewers read everything a coordinator reads; a stranger is sent to sign in.
    let mut viewer = app.client_as(Role::Viewer).await;
    assert_eq!(
        refs(&viewer.get("/classes/export.csv?status=confirmed").await),
        ["C-4", "C-3"]
    );
    let anonymous = app.anonymous().get("/classes/export.csv").await;
    assert_ne!(anonymous.status, StatusCode::OK);
    assert!(!anonymous.body.contains("C-3"));
}
db_test!(the_class_export_holds_exactly_the_filtered_classes);

async fn a_trainer_exports_only_their_own_classes(app: TestApp) {
    let user = app.create_user(Role::Trainer, "bo@example.com").await;
    deliveries(&app, Some(user)).await;
    let mut trainer = app.client_for(user).await;
    assert_eq!(
        refs(&trainer.get("/classes/export.csv").await),
        ["C-4", "C-2"]
    );
    let ana = tsp_ledger::services::trainers::by_mct_id(app.db(), "MCT-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        refs(
            &trainer
                .get(&format!("/classes/export.csv?mct={}", ana.id))
                .await
        ),
        ["C-4", "C-2"],
        "asking for another MCT's classes does not widen the export"
    );
    // Another trainer's roster does not exist for them.
    let c3 = tsp_ledger::services::classes::by_ref(app.db(), "C-3")
        .await
        .unwrap()
        .unwrap();
    let response = trainer.get(&format!("/classes/{}/roster.csv", c3.id)).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(!response.body.contains("ana@example.com"));
}
db_test!(a_trainer_exports_only_their_own_classes);

async fn the_class_export_walks_every_page(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(
        &app,
        "Ana Trainer",
        "MCT-1",
        fixtures::date("2030-12-31"),
        None,
    )
    .await;
    // More than one export page (1,000 rows), all on the same day so only the id
    // orders them across the page boundary.
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    for i in 0..1003 {
        csv.push_str(&format!(
            "C-{i:04},AZ-104,MCT-1,2026-03-02,2026-03-05,virtual,scheduled\n"
        ));
    }
    let summary = fixtures::import(&app, Kind::Classes, &csv).await.unwrap();
    assert_eq!(summary.created, 1003);
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let mut got = refs(&coordinator.get("/classes/export.csv").await);
    assert_eq!(got.len(), 1003);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 1003, "no class twice");
    assert_eq!((got[0].as_str(), got[1002].as_str()), ("C-0000", "C-1002"));
}
db_test!(the_class_export_walks_every_page);

async fn the_roster_export_has_the_roster_import_columns(app: TestApp) {
    deliveries(&app, None).await;
    let c3 = tsp_ledger::services::classes::by_ref(app.db(), "C-3")
        .await
        .unwrap()
        .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = viewer.get(&format!("/classes/{}/roster.csv", c3.id)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"roster-C-3.csv\""
    );
    assert!(
        response
            .body
            .starts_with("class_ref,learner_name,learner_email,attended\n"),
        "{}",
        response.body
    );
    let (_, mut rows) = parse(&response.body);
    rows.sort();
    assert_eq!(
        rows,
        [
            strings(&["C-3", "Ana", "ana@example.com", "true"]),
            strings(&["C-3", "Ben", "ben@example.com", "false"]),
            strings(&["C-3", "Cy", "cy@example.com", "true"]),
        ]
    );
    // An empty roster is the header alone; an unknown class is a 404.
    let c1 = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        viewer
            .get(&format!("/classes/{}/roster.csv", c1.id))
            .await
            .body,
        "class_ref,learner_name,learner_email,attended\n"
    );
    assert_eq!(
        viewer.get("/classes/999999/roster.csv").await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(the_roster_export_has_the_roster_import_columns);

fn export(
    kind: &str,
    status: Option<&str>,
    class_ref: Option<&str>,
    output: &std::path::Path,
) -> Command {
    let output = output.to_str().unwrap();
    let mut args = vec!["export", kind, "--output", output];
    if let Some(status) = status {
        args.extend(["--status", status]);
    }
    if let Some(class_ref) = class_ref {
        args.extend(["--class", class_ref]);
    }
    tsp_ledger::cli::Cli::command_from(args).unwrap()
}

async fn the_cli_exports_classes_and_rosters_to_a_file(app: TestApp) {
    deliveries(&app, None).await;
    let dir = tempfile::tempdir().unwrap();
    let classes = dir.path().join("classes.csv");
    let code = cli::run(
        export("classes", Some("confirmed"), None, &classes),
        cli_config(&app),
    )
    .await
    .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let (header, rows) = parse(&std::fs::read_to_string(&classes).unwrap());
    assert_eq!(header, CLASS_HEADER);
    assert_eq!(rows, [strings(&C4), strings(&C3)]);

    let all = dir.path().join("all.csv");
    cli::run(export("classes", None, None, &all), cli_config(&app))
        .await
        .unwrap();
    let (_, rows) = parse(&std::fs::read_to_string(&all).unwrap());
    assert_eq!(rows.len(), 5);

    // A roster by class reference, in any case.
    let roster = dir.path().join("roster.csv");
    cli::run(
        export("roster", None, Some("c-3"), &roster),
        cli_config(&app),
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string(&roster).unwrap();
    let (header, rows) = parse(&text);
    assert_eq!(
        header,
        ["class_ref", "learner_name", "learner_email", "attended"]
    );
    assert_eq!(rows.len(), 3);
    // What the CLI exports, the CLI imports back unchanged.
    let summary = fixtures::import(&app, Kind::Roster, &text).await.unwrap();
    assert_eq!((summary.rows, summary.unchanged), (3, 3));

    // Mistakes are errors a person can act on: the parser names the allowed values…
    for (args, bad, allowed) in [
        (
            ["export", "classes", "--status", "done"],
            "'done'",
            "scheduled, delivered, confirmed, cancelled",
        ),
        (
            ["export", "learners", "--output", "x"],
            "'learners'",
            "classes, roster, kpi-lines",
        ),
    ] {
        let error = cli::Cli::command_from(args).err().unwrap();
        assert!(error.contains(bad) && error.contains(allowed), "{error}");
    }
    // …and the export names what is missing.
    for (command, message) in [
        (export("roster", None, None, &roster), "--class"),
        (
            export("roster", None, Some("C-404"), &roster),
            "no class C-404",
        ),
    ] {
        let error = cli::run(command, cli_config(&app)).await.unwrap_err();
        assert!(format!("{error:#}").contains(message), "{error:#}");
    }
}
db_test!(the_cli_exports_classes_and_rosters_to_a_file);

/// Issue 13 item 4 (OWASP "CSV Injection"): a cell a spreadsheet would read as a formula
/// is exported with a leading `'` in every export, and imports back as it was.
async fn cells_that_look_like_formulas_are_escaped_in_every_export(app: TestApp) {
    use sea_orm::ConnectionTrait;
    fixtures::import(
        &app,
        Kind::TitlePlan,
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n\
         AZ-500,+cmd,4,false,security,official,2026-01\n",
    )
    .await
    .unwrap();
    fixtures::trainer(&app, "@SUM(1)", "MCT-9", fixtures::date("2030-12-31"), None).await;
    let class = fixtures::class(
        &app,
        (
            "C-9",
            "AZ-500",
            "MCT-9",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            "scheduled",
        ),
    )
    .await;
    let names = [
        r#"=HYPERLINK("http://x","y")"#,
        "-2+3 Dee",
        "@Eve",
        "'=typed with its quote",
        "O'Brien",
    ];
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    for (n, name) in names.iter().enumerate() {
        roster.push_str(&format!(
            "C-9,\"{}\",l{n}@example.com,true\n",
            name.replace('"', "\"\"")
        ));
    }
    // A typed `'=` is kept as typed (only an export's guard is taken off): import it escaped.
    let roster = roster.replace("\"'=typed", "\"''=typed");
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    fixtures::import(
        &app,
        Kind::Vouchers,
        "purchased_on,exam_code,level,quantity,order_ref\n2026-01-15,AZ-900,fundamentals,3,=1+1\n",
    )
    .await
    .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;

    // The class list: the course title and the MCT name.
    let list = viewer.get("/classes/export.csv").await;
    let (_, rows) = parse(&list.body);
    assert_eq!(rows.len(), 1, "{}", list.body);
    assert_eq!(
        (rows[0][2].as_str(), rows[0][7].as_str()),
        ("'+cmd", "'@SUM(1)")
    );

    // The roster: every name guarded, on the web and from the CLI alike.
    let web = viewer
        .get(&format!("/classes/{}/roster.csv", class.id))
        .await
        .body;
    assert!(
        web.contains(r#""'=HYPERLINK(""http://x"",""y"")""#),
        "{web}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    cli::run(export("roster", None, Some("C-9"), &file), cli_config(&app))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text, web);
    let (_, rows) = parse(&text);
    let mut exported: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    exported.sort();
    let mut expected = vec![
        r#"'=HYPERLINK("http://x","y")"#,
        "'-2+3 Dee",
        "'@Eve",
        "''=typed with its quote",
        "O'Brien",
    ];
    expected.sort();
    assert_eq!(exported, expected);
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?}"
        );
    }
    // ... and it imports back unchanged: the names are the ones stored.
    let summary = fixtures::import(&app, Kind::Roster, &text).await.unwrap();
    assert_eq!((summary.rows, summary.unchanged), (5, 5));
    let mut stored: Vec<String> = tsp_ledger::services::classes::roster(app.db(), class.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.learner_name)
        .collect();
    stored.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(stored, want);

    // A name that starts with a tab (stored before names were trimmed) is guarded too.
    app.db()
        .execute_unprepared(
            "UPDATE enrollments SET learner_name = '\tTabbed' WHERE learner_email = 'l4@example.com'",
        )
        .await
        .unwrap();
    let (_, rows) = parse(
        &viewer
            .get(&format!("/classes/{}/roster.csv", class.id))
            .await
            .body,
    );
    assert!(rows.iter().any(|r| r[1] == "'\tTabbed"), "{rows:?}");

    // The KPI line items: a voucher's order reference.
    let lines = viewer
        .get("/kpi/lines.csv?as_of=2026-11-22&figure=exams")
        .await;
    assert_eq!(lines.status, StatusCode::OK);
    let (_, rows) = parse(&lines.body);
    assert_eq!(rows.len(), 1, "{}", lines.body);
    assert_eq!(rows[0][1], "'=1+1");
}
db_test!(cells_that_look_like_formulas_are_escaped_in_every_export);
