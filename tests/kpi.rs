//! SPEC §4 end to end: records imported as a TSP would, the GROUP BY queries, the report.
use serde_json::{Value, json};
use tsp_ledger::domain::kpi::DESIGNATION_2025;
use tsp_ledger::domain::outbox::MessageKind;
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::kpi;

use crate::fixtures::{self, date};
use crate::support::TestApp;
use tsp_ledger::domain::delivery::Modality;

const TITLE_PLAN: &str =
    "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version
F-900,Fundamentals,1,true,infrastructure,official,1
S-2,Short security,2,false,security,official,1
L-4,Long security,4,false,security,official,1
U-3,Our own,3,false,data_ai,unofficial,1
N-3,No area,3,false,,official,1
";

/// K1..K3, K8: eligible. K4 recorded, K5 unofficial, K6 unconfirmed, K7 cancelled,
/// K9 ended before the window.
const CLASSES: &str = "class_ref,course_code,mct_id,start_date,end_date,modality,status
K1,L-4,MCT-1,2026-03-02,2026-03-05,in_person,confirmed
K2,S-2,MCT-1,2026-04-01,2026-04-02,virtual,confirmed
K3,F-900,MCT-1,2026-05-04,2026-05-04,virtual,confirmed
K4,L-4,MCT-1,2026-06-01,2026-06-04,recorded,confirmed
K5,U-3,MCT-1,2026-06-08,2026-06-10,in_person,confirmed
K6,L-4,MCT-1,2026-07-06,2026-07-09,in_person,delivered
K7,L-4,MCT-1,2026-08-03,2026-08-06,in_person,cancelled
K8,N-3,MCT-1,2026-09-07,2026-09-09,in_person,confirmed
K9,L-4,MCT-1,2025-10-13,2025-10-16,in_person,confirmed
";

pub(crate) async fn seed(app: &TestApp) {
    fixtures::import(app, Kind::TitlePlan, TITLE_PLAN)
        .await
        .unwrap();
    fixtures::trainer(app, "Ana Alves", "MCT-1", date("2030-01-01"), None).await;
    fixtures::import(app, Kind::Classes, CLASSES).await.unwrap();
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    for class in ["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9"] {
        // Nobody attends a cancelled class (rule 7).
        let attended = class != "K7";
        for n in 1..=3 {
            roster.push_str(&format!(
                "{class},Learner {n},l{n}@{class}.example.com,{attended}\n"
            ));
        }
    }
    fixtures::import(app, Kind::Roster, &roster).await.unwrap();
    let codes = "class_ref,learner_email,achievement_code,issued_on,redeemed_on
K1,l1@k1.example.com,AC-1,2026-03-06,2026-03-10
K1,l2@k1.example.com,AC-2,2026-03-06,2026-10-31
K1,l3@k1.example.com,AC-3,2026-03-06,2026-11-02
K2,l1@k2.example.com,AC-4,2026-04-03,2026-04-20
K3,l1@k3.example.com,AC-5,2026-05-05,2026-05-06
K3,l2@k3.example.com,AC-6,2026-05-05,
K4,l1@k4.example.com,AC-7,2026-06-05,2026-06-20
K5,l1@k5.example.com,AC-8,2026-06-11,2026-06-20
";
    fixtures::import(app, Kind::Codes, codes).await.unwrap();
    let responses = "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
K1,l1@k1.example.com,2026-03-06,5,5,4,,
K1,l2@k1.example.com,2026-03-07,,,,,
K2,l1@k2.example.com,2026-04-03,4,4,4,4,4
K3,l1@k3.example.com,2026-05-05,1,1,1,1,1
K4,l1@k4.example.com,2026-06-05,5,5,5,5,5
K6,l1@k6.example.com,2026-07-10,3,3,3,3,3
K8,l1@k8.example.com,2026-09-10,5,4,,,
K9,l1@k9.example.com,2025-10-20,2,2,2,2,2
";
    fixtures::import(app, Kind::SurveyResponses, responses)
        .await
        .unwrap();
    let vouchers = "purchased_on,exam_code,level,quantity,order_ref
2026-01-15,AZ-900,fundamentals,30,PO-1
2026-02-01,AZ-104,advanced,12,PO-2
2025-10-31,AZ-104,advanced,99,PO-0
";
    fixtures::import(app, Kind::Vouchers, vouchers)
        .await
        .unwrap();
}

async fn the_report_counts_exactly_the_eligible_records_of_the_window(app: TestApp) {
    seed(&app).await;
    let report = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    let v: Value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        v["window"],
        json!({"start": "2025-11-01", "end": "2026-10-31"})
    );
    // Codes: K1 ×2 in the window (the third is redeemed in November), K2, K3; K3's second
    // is not redeemed; K4 (recorded) and K5 (unofficial) are excluded.
    assert_eq!(
        v["base"]["courseware"]["by_category"],
        json!({"fundamentals": {"units": 1, "points": 0.5, "capped": false},
               "two_days_or_less": {"units": 1, "points": 0.5, "capped": false},
               "three_days_or_more": {"units": 2, "points": 2.0, "capped": false}})
    );
    assert_eq!(v["base"]["courseware"]["points"], json!(3.0));
    assert_eq!(v["excluded"]["redeemed_codes"], json!(2));
    // Vouchers of the window only: 30 fundamentals (15 points) + 12 advanced.
    assert_eq!(v["base"]["exams"]["points"], json!(27.0));
    // Survey average: K1 (5+5+4, and a blank survey), K2 (20 over 5), K8 (9 over 2);
    // K3 is fundamentals, K4 recorded, K6 unconfirmed, K9 before the window.
    assert_eq!(
        v["base"]["survey_score"],
        json!({"average": 4.3, "sum": 43, "answers": 10, "surveys": 4, "threshold": 4.25, "status": "completed"})
    );
    assert_eq!(v["excluded"]["surveys"], json!(2));
    let security = &v["solution_areas"][5];
    assert_eq!(security["area"], json!("security"));
    assert_eq!(
        security["surveys"],
        json!({"two_days_or_less": 1, "three_days_or_more": 2})
    );
    assert_eq!(security["survey_points"], json!(2.5));
    assert_eq!(
        (security["sum"].clone(), security["answers"].clone()),
        (json!(34), json!(8))
    );
    assert_eq!(
        v["solution_areas"][1]["survey_points"],
        json!(0.0),
        "fundamentals surveys earn nothing"
    );
    assert_eq!(v["solution_areas"][1]["answers"], json!(0));
    assert_eq!(
        v["excluded"]["classes"],
        json!({"recorded": 1, "unconfirmed": 1, "cancelled": 1, "unofficial": 1})
    );
    assert_eq!(v["qualified"], json!(false));
    // Evaluated a year earlier, nothing of 2026 counts.
    let before = kpi::report(app.db(), date("2025-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    let b: Value = serde_json::to_value(&before).unwrap();
    assert_eq!(b["base"]["exams"]["points"], json!(99.0));
    assert_eq!(
        b["base"]["survey_score"]["answers"],
        json!(5),
        "only K9's response"
    );
}
db_test!(the_report_counts_exactly_the_eligible_records_of_the_window);

async fn the_report_lists_every_key_and_every_area_in_spec_order(app: TestApp) {
    seed(&app).await;
    let from_service = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    let text = serde_json::to_string_pretty(&from_service).unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = parsed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "as_of",
        "window",
        "base",
        "solution_areas",
        "qualified",
        "badges",
        "cloud_partner_badge",
        "excluded",
    ] {
        assert!(keys.contains(&key), "{key} missing in {keys:?}");
    }
    let areas: Vec<&str> = parsed["solution_areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["area"].as_str().unwrap())
        .collect();
    assert_eq!(
        areas,
        [
            "data_ai",
            "infrastructure",
            "digital_app_innovation",
            "business_applications",
            "modern_work",
            "security"
        ]
    );
}
db_test!(the_report_lists_every_key_and_every_area_in_spec_order);

async fn the_kpi_api_answers_readers_with_the_same_report(app: TestApp) {
    seed(&app).await;
    let mut viewer = app.client_as(tsp_ledger::domain::role::Role::Viewer).await;
    let response = viewer.get("/api/v1/kpi?as_of=2026-11-22").await;
    assert_eq!(response.status, axum::http::StatusCode::OK);
    let body: Value = serde_json::from_str(&response.body).unwrap();
    let direct = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    assert_eq!(body, serde_json::to_value(direct).unwrap());
    let bad = viewer.get("/api/v1/kpi?as_of=22/11/2026").await;
    assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
    let error: Value = serde_json::from_str(&bad.body).unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("YYYY-MM-DD"),
        "{error}"
    );
    let mut trainer = app.client_as(tsp_ledger::domain::role::Role::Trainer).await;
    assert_eq!(
        trainer.get("/api/v1/kpi").await.status,
        axum::http::StatusCode::FORBIDDEN
    );
}
db_test!(the_kpi_api_answers_readers_with_the_same_report);

async fn the_dashboard_shows_the_standing_as_of_a_chosen_date(app: TestApp) {
    use tsp_ledger::domain::role::Role;
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get("/?as_of=2026-11-22").await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    page.assert_contains("window 2025-11-01 – 2026-10-31")
        .assert_contains("Not qualified yet")
        .assert_contains("Courseware points")
        .assert_contains("<strong>3</strong> <span class=\"muted\">of 1000</span>")
        .assert_contains("<strong>27</strong> <span class=\"muted\">of 200</span>")
        .assert_contains("<strong>4.30</strong>")
        .assert_contains("1 cancelled · 1 unofficial content · 1 recorded · 1 not yet confirmed")
        .assert_contains("Security");
    let bad = viewer.get("/?as_of=yesterday").await;
    bad.assert_contains("showing today instead");
    let mut trainer = app.client_as(Role::Trainer).await;
    let home = trainer.get("/").await;
    assert_eq!(home.status, axum::http::StatusCode::OK);
    assert!(
        !home.body.contains("Courseware points"),
        "trainers see their classes, not the KPI"
    );
}
db_test!(the_dashboard_shows_the_standing_as_of_a_chosen_date);

async fn the_dashboard_shows_months_potential_what_leaves_and_mcts(app: TestApp) {
    use tsp_ledger::domain::role::Role;
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get("/?as_of=2026-11-22").await;
    // The chart's table: March has AC-1 (a 4-day course, 1 point) and K1's two surveys;
    // January the 30 fundamentals vouchers (15 points); K3 is fundamentals: its survey
    // counts as a response, its code as 0.5.
    page.assert_contains("<svg class=\"chart\"")
        .assert_contains("<td>November 2025</td><td class=\"num\">0</td><td class=\"num\">0</td>")
        .assert_contains("<td>January 2026</td><td class=\"num\">15</td><td class=\"num\">0</td>")
        .assert_contains("<td>March 2026</td><td class=\"num\">1</td><td class=\"num\">2</td>")
        .assert_contains("<td>May 2026</td><td class=\"num\">0.5</td><td class=\"num\">1</td>")
        .assert_contains("<td>October 2026</td><td class=\"num\">1</td><td class=\"num\">0</td>");
    // Potential: AC-6 issued to K3, not redeemed; K6 delivered but not confirmed, with one
    // response waiting on it.
    page.assert_contains("<strong>1</strong> codes, up to 0.5 courseware points")
        .assert_contains("<strong>1</strong> classes; confirming them would count 0 redeemed codes (0 points) and 1 surveys");
    page.assert_contains("<strong>1</strong> in good standing on 2026-11-22; 0 lapsed");
    // What leaves next: in March 2027 the window starts with March 2026.
    let later = viewer.get("/?as_of=2027-03-15").await;
    later.assert_contains(
        "On 2027-04-01, March 2026 drops out of the window, taking <strong>1</strong> courseware points, \
         <strong>0</strong> exam points and <strong>2</strong> surveys",
    );
    // Ana's standing has lapsed by 2030-06-01.
    viewer
        .get("/?as_of=2030-06-01")
        .await
        .assert_contains("<strong>0</strong> in good standing on 2030-06-01; 1 lapsed");
}
db_test!(the_dashboard_shows_months_potential_what_leaves_and_mcts);

async fn the_renewal_window_follows_the_anniversary_setting(app: TestApp) {
    use tsp_ledger::domain::role::Role;
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/?as_of=2026-11-22")
        .await
        .assert_contains("The anniversary date is not set: <a href=\"/admin/settings\">");
    let bad = admin
        .post(
            "/admin/settings",
            &[
                ("organization_name", "Contoso Learning"),
                ("anniversary_month", "2"),
                ("anniversary_day", "30"),
            ],
        )
        .await;
    assert_eq!(bad.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("id=\"anniversary_day-error\"")
        .assert_contains("must be a day of that month");
    assert!(
        !app.ledger_actions()
            .await
            .iter()
            .any(|(entity, _, _)| entity == "org_settings"),
        "a refused form writes nothing"
    );
    let saved = admin
        .post(
            "/admin/settings",
            &[
                ("organization_name", "Contoso Learning"),
                ("anniversary_month", "12"),
                ("anniversary_day", "31"),
            ],
        )
        .await;
    assert_eq!(saved.location(), Some("/admin/settings"));
    let settings = tsp_ledger::services::settings::get(app.db()).await.unwrap();
    assert_eq!(settings.anniversary, Some((12, 31)));
    let entries: Vec<_> = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(entity, _, _)| entity == "org_settings")
        .collect();
    assert_eq!(entries.len(), 1);
    // Saving the same values again records nothing.
    admin
        .post(
            "/admin/settings",
            &[
                ("organization_name", "Contoso Learning"),
                ("anniversary_month", "12"),
                ("anniversary_day", "31"),
            ],
        )
        .await;
    assert_eq!(
        app.ledger_actions()
            .await
            .iter()
            .filter(|(entity, _, _)| entity == "org_settings")
            .count(),
        1
    );
    let mut viewer = app.client_as(Role::Viewer).await;
    viewer
        .get("/?as_of=2026-11-22")
        .await
        .assert_contains("Contoso Learning")
        .assert_contains(
            "The renewal window opens in 9 days (30 days before the anniversary on 2026-12-31).",
        );
    viewer.get("/?as_of=2026-12-20").await.assert_contains(
        "The renewal window is open: 11 days left, until the anniversary on 2026-12-31.",
    );
    viewer
        .get("/?as_of=2026-12-31")
        .await
        .assert_contains("The renewal window closes today (2026-12-31).");
}
db_test!(the_renewal_window_follows_the_anniversary_setting);

/// `GET path` as a viewer, parsed as CSV rows (header first).
async fn csv_rows(app: &TestApp, path: &str) -> Vec<Vec<String>> {
    let mut viewer = app.client_as(tsp_ledger::domain::role::Role::Viewer).await;
    let response = viewer.get(path).await;
    assert_eq!(response.status, axum::http::StatusCode::OK, "{path}");
    csv::Reader::from_reader(response.body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn row(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

async fn every_figure_traces_to_its_line_items(app: TestApp) {
    seed(&app).await;
    let q = "/kpi/lines.csv?as_of=2026-11-22";
    // Courseware: the four eligible redemptions of the window; 0.5 + 0.5 + 1 + 1 = 3 points,
    // the report's figure.
    assert_eq!(
        csv_rows(&app, &format!("{q}&figure=courseware")).await,
        [
            row(&[
                "code",
                "AC-1",
                "2026-03-10",
                "K1",
                "L-4",
                "three_days_or_more",
                "security",
                "1",
                "1",
                "",
                "",
                ""
            ]),
            row(&[
                "code",
                "AC-2",
                "2026-10-31",
                "K1",
                "L-4",
                "three_days_or_more",
                "security",
                "1",
                "1",
                "",
                "",
                ""
            ]),
            row(&[
                "code",
                "AC-4",
                "2026-04-20",
                "K2",
                "S-2",
                "two_days_or_less",
                "security",
                "1",
                "0.5",
                "",
                "",
                ""
            ]),
            row(&[
                "code",
                "AC-5",
                "2026-05-06",
                "K3",
                "F-900",
                "fundamentals",
                "infrastructure",
                "1",
                "0.5",
                "",
                "",
                ""
            ]),
        ]
    );
    // Exams: 30 fundamentals (15 points) and 12 advanced; PO-0 is before the window.
    assert_eq!(
        csv_rows(&app, &format!("{q}&figure=exams")).await,
        [
            row(&[
                "voucher",
                "PO-1",
                "2026-01-15",
                "",
                "AZ-900",
                "fundamentals",
                "",
                "30",
                "15",
                "",
                "",
                ""
            ]),
            row(&[
                "voucher",
                "PO-2",
                "2026-02-01",
                "",
                "AZ-104",
                "advanced",
                "",
                "12",
                "12",
                "",
                "",
                ""
            ]),
        ]
    );
    // Security's responses: 1 + 1 + 0.5 = 2.5 survey points, 34 over 8 answers, as reported.
    let security = csv_rows(&app, &format!("{q}&figure=surveys&area=security")).await;
    let fields: Vec<_> = security
        .iter()
        .map(|r| (r[3].as_str(), r[8].as_str(), r[9].as_str(), r[10].as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("K1", "1", "3", "14"),
            ("K1", "1", "0", "0"),
            ("K2", "0.5", "5", "20")
        ]
    );
    // What was left out names its reason.
    let excluded = csv_rows(&app, &format!("{q}&figure=excluded-codes")).await;
    let reasons: Vec<_> = excluded
        .iter()
        .map(|r| (r[1].as_str(), r[11].as_str()))
        .collect();
    assert_eq!(reasons, [("AC-7", "recorded"), ("AC-8", "unofficial")]);
    let excluded = csv_rows(&app, &format!("{q}&figure=excluded-surveys")).await;
    let reasons: Vec<_> = excluded
        .iter()
        .map(|r| (r[3].as_str(), r[11].as_str()))
        .collect();
    assert_eq!(reasons, [("K4", "recorded"), ("K6", "unconfirmed")]);

    // The page shows the same lines and totals, and the dashboard links to it.
    let mut viewer = app.client_as(tsp_ledger::domain::role::Role::Viewer).await;
    viewer
        .get("/?as_of=2026-11-22")
        .await
        .assert_contains("href=\"/kpi/lines?as_of=2026-11-22&#38;figure=courseware\"")
        .assert_contains(
            "href=\"/kpi/lines?as_of=2026-11-22&#38;figure=surveys&#38;area=security\"",
        )
        .assert_contains("href=\"/kpi/lines?as_of=2026-11-22&amp;figure=excluded-codes\"");
    viewer
        .get("/kpi/lines?as_of=2026-11-22&figure=surveys&area=security")
        .await
        .assert_contains("<dt>Lines</dt><dd><strong>3</strong>")
        .assert_contains("<dt>Points before caps</dt><dd><strong>2.5</strong>")
        .assert_contains(
            "href=\"/kpi/lines.csv?as_of=2026-11-22&#38;figure=surveys&#38;area=security\"",
        );
    let bad = viewer.get("/kpi/lines?figure=everything").await;
    assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
    bad.assert_contains("figure must be one of courseware");
}
db_test!(every_figure_traces_to_its_line_items);

async fn line_items_page_by_page_and_from_the_cli(app: TestApp) {
    use tsp_ledger::cli::{self, Command};
    seed(&app).await;
    // 230 more redemptions on K1's course: three pages of 100.
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    let mut codes =
        String::from("class_ref,learner_email,achievement_code,issued_on,redeemed_on\n");
    for n in 0..230 {
        roster.push_str(&format!("K8,Extra {n},x{n}@k8.example.com,true\n"));
        codes.push_str(&format!(
            "K8,x{n}@k8.example.com,XC-{n:03},2026-09-10,2026-09-20\n"
        ));
    }
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    fixtures::import(&app, Kind::Codes, &codes).await.unwrap();
    let mut viewer = app.client_as(tsp_ledger::domain::role::Role::Viewer).await;
    let mut path = "/kpi/lines?as_of=2026-11-22&figure=courseware".to_string();
    let mut seen = 0;
    for _ in 0..3 {
        let page = viewer.get(&path).await;
        page.assert_contains("<dt>Lines</dt><dd><strong>234</strong>");
        seen += page.body.matches("<tr>\n    <td>code</td>").count();
        match page.body.split("&amp;after=").nth(1) {
            Some(rest) => {
                let after: String = rest.chars().take_while(char::is_ascii_digit).collect();
                path = format!("/kpi/lines?as_of=2026-11-22&figure=courseware&after={after}");
            }
            None => break,
        }
    }
    assert_eq!(seen, 234, "every line once over the pages");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lines.csv");
    let code = cli::run(
        Command::Export(tsp_ledger::cli::ExportArgs {
            kind: tsp_ledger::cli::ExportKind::KpiLines,
            as_of: Some("2026-11-22".into()),
            figure: "courseware".parse().unwrap(),
            area: None,
            class_ref: None,
            status: None,
            from: None,
            to: None,
            output: Some(out.clone()),
        }),
        crate::imports::cli_config(&app),
    )
    .await
    .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("line,item,date,class_ref,course_code,category,solution_area,units,points,answers,answer_sum,excluded_because\n"));
    assert_eq!(text.lines().count(), 1 + 234);
    // Three-day codes count 1 point each: 3 + 230 = 233, the report's figure.
    let report = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    assert_eq!(report.base.courseware.points, 233.0);
    let bad = cli::Cli::command_from(["export", "kpi-lines", "--area", "cloud"])
        .err()
        .unwrap();
    assert!(bad.contains("--area") && bad.contains("data_ai"), "{bad}");
    drop(out);
}
db_test!(line_items_page_by_page_and_from_the_cli);

async fn the_dashboard_is_cached_until_the_ledger_moves(app: TestApp) {
    use sea_orm::ConnectionTrait;
    use tsp_ledger::domain::role::Role;
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let exam_points = |n: &str| format!("<strong>{n}</strong> <span class=\"muted\">of 200</span>");
    viewer
        .get("/?as_of=2026-11-22")
        .await
        .assert_contains(&exam_points("27"));
    // A row written behind the app's back (no ledger entry) is not seen: the cached
    // standing is served while the ledger head is unchanged.
    app.db()
        .execute_unprepared(
            "INSERT INTO exam_vouchers (purchased_on, exam_code, level, quantity, order_ref, created_at, updated_at) \
             VALUES ('2026-06-01', 'SC-200', 'advanced', 100, 'PO-SQL', '2026-06-01 00:00:00+00:00', '2026-06-01 00:00:00+00:00')",
        )
        .await
        .unwrap();
    viewer
        .get("/?as_of=2026-11-22")
        .await
        .assert_contains(&exam_points("27"));
    // Any change made through the app appends to the ledger, and the next view is fresh.
    fixtures::import(
        &app,
        Kind::Vouchers,
        "purchased_on,exam_code,level,quantity,order_ref\n2026-07-01,AZ-305,advanced,3,PO-3\n",
    )
    .await
    .unwrap();
    viewer
        .get("/?as_of=2026-11-22")
        .await
        .assert_contains(&exam_points("130"));
    let api = viewer.get("/api/v1/kpi?as_of=2026-11-22").await;
    let body: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(body["base"]["exams"]["points"], json!(130.0));
}
db_test!(the_dashboard_is_cached_until_the_ledger_moves);

async fn rule_5_recorded_deliveries_issue_codes_and_send_surveys_but_never_count(app: TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use tsp_ledger::domain::role::Role;
    seed(&app).await;
    let before = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    let k4 = entity::classes::Entity::find()
        .filter(entity::classes::Column::ClassRef.eq("K4"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k4.modality, Modality::Recorded);
    fixtures::import(&app, Kind::CodePool, "achievement_code\nPOOL-1\nPOOL-2\n")
        .await
        .unwrap();
    let mut coordinator = app.client_as(Role::Coordinator).await;
    // Codes for the two learners of the recorded class who have none yet, and surveys.
    let issued = coordinator
        .post(&format!("/classes/{}/codes/issue", k4.id), &[])
        .await;
    assert_eq!(issued.status, axum::http::StatusCode::SEE_OTHER);
    let sent = coordinator
        .post(&format!("/classes/{}/surveys/send", k4.id), &[])
        .await;
    assert_eq!(sent.status, axum::http::StatusCode::SEE_OTHER);
    let kinds: Vec<MessageKind> = entity::outbox_messages::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == MessageKind::AchievementCode)
            .count(),
        2
    );
    assert!(kinds.contains(&MessageKind::SurveyInvitation));
    // A learner redeems one in the window: it is counted as excluded, never as points.
    fixtures::import(
        &app,
        Kind::Codes,
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on\nK4,l2@k4.example.com,POOL-1,2026-06-05,2026-06-21\n",
    )
    .await
    .unwrap();
    let after = kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
        .await
        .unwrap();
    assert_eq!(after.base, before.base, "no KPI figure moves");
    assert_eq!(after.solution_areas, before.solution_areas);
    assert_eq!(
        after.excluded.redeemed_codes,
        before.excluded.redeemed_codes + 1
    );
}
db_test!(rule_5_recorded_deliveries_issue_codes_and_send_surveys_but_never_count);

/// The KPI queries' CASE expressions are rendered from the domain rules: the database's
/// reason and category equal `domain::kpi::exclusion` and `DurationCategory::of` for
/// every status × content × modality × duration combination.
async fn the_sql_rules_equal_the_domain_rules_for_every_combination(app: TestApp) {
    use entity::{classes, courses};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement};
    use tsp_ledger::domain::catalog::{Content, DurationCategory, SolutionArea};
    use tsp_ledger::domain::delivery::{ClassStatus, Modality};
    use tsp_ledger::domain::kpi::exclusion;

    let trainer = fixtures::trainer(&app, "Mia", "MCT-1", date("2030-01-01"), None).await;
    let now = tsp_ledger::clock::now();
    let mut expected = std::collections::HashMap::new();
    let mut n = 0;
    for content in Content::ALL {
        for fundamentals in [false, true] {
            for days in 0..=4u32 {
                n += 1;
                let course = courses::ActiveModel {
                    course_code: Set(format!("X-{n}")),
                    title: Set(format!("Course {n}")),
                    duration_days: Set(days as i32),
                    fundamentals: Set(fundamentals),
                    solution_area: Set(Some(SolutionArea::Security)),
                    content: Set(content),
                    courseware_version: Set("1".into()),
                    retired: Set(false),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(app.db())
                .await
                .unwrap();
                for status in ClassStatus::ALL {
                    for modality in Modality::ALL {
                        let class = classes::ActiveModel {
                            class_ref: Set(format!("C-{n}-{status}-{modality}").to_uppercase()),
                            course_id: Set(course.id),
                            trainer_id: Set(trainer.id),
                            start_date: Set(date("2026-05-04")),
                            end_date: Set(date("2026-05-04")),
                            modality: Set(modality),
                            status: Set(status),
                            created_at: Set(now),
                            updated_at: Set(now),
                            ..Default::default()
                        }
                        .insert(app.db())
                        .await
                        .unwrap();
                        let reason =
                            exclusion(status, content, modality).map_or(kpi::ELIGIBLE, |r| r.id());
                        let category = DurationCategory::of(fundamentals, days).id();
                        expected.insert(class.id, (reason, category));
                    }
                }
            }
        }
    }
    let sql = format!(
        "SELECT cl.id AS id, {} AS reason, {} AS category FROM classes cl \
         JOIN courses co ON co.id = cl.course_id",
        kpi::exclusion_sql(),
        kpi::category_sql()
    );
    let rows = app
        .db()
        .query_all_raw(Statement::from_string(app.db().get_database_backend(), sql))
        .await
        .unwrap();
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows.len(), 2 * 2 * 5 * 4 * 3);
    for row in rows {
        let id: i64 = row.try_get("", "id").unwrap();
        let got = (
            row.try_get::<String>("", "reason").unwrap(),
            row.try_get::<String>("", "category").unwrap(),
        );
        let (reason, category) = expected[&id];
        assert_eq!(
            (got.0.as_str(), got.1.as_str()),
            (reason, category),
            "class {id}"
        );
    }
}
db_test!(the_sql_rules_equal_the_domain_rules_for_every_combination);
