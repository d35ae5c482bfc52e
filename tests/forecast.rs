//! The forecast to the anniversary (issue 17 item 2) end to end: records with known rates
//! imported as a TSP would, the page, the dashboard's card and the API.
use axum::http::StatusCode;
use serde_json::Value;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::settings::{self, OrgSettings};

use crate::fixtures::{self, date};
use crate::support::TestApp;

const TITLE_PLAN: &str =
    "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version
L-4,Long security,4,false,security,official,1
";

/// H1 and H2 (confirmed, ended in March 2026) have 4 attending learners each: 6 of the 8
/// redeemed their code and 4 answered the survey (each 5, 5, 4, 4, 4). P1 is scheduled
/// for July 2026 with 8 learners.
async fn seed(app: &TestApp) {
    fixtures::import(app, Kind::TitlePlan, TITLE_PLAN)
        .await
        .unwrap();
    fixtures::trainer(app, "Ana Alves", "MCT-1", date("2030-01-01"), None).await;
    fixtures::import(
        app,
        Kind::Classes,
        "class_ref,course_code,mct_id,start_date,end_date,modality,status
H1,L-4,MCT-1,2026-03-02,2026-03-05,in_person,confirmed
H2,L-4,MCT-1,2026-03-09,2026-03-12,virtual,confirmed
P1,L-4,MCT-1,2026-07-06,2026-07-09,in_person,scheduled
",
    )
    .await
    .unwrap();
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    let mut codes =
        String::from("class_ref,learner_email,achievement_code,issued_on,redeemed_on\n");
    let mut responses = String::from("class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\n");
    for (class, n) in [("H1", 0), ("H2", 1)] {
        for i in 1..=4 {
            let email = format!("l{i}@{class}.example.com");
            roster.push_str(&format!("{class},Learner {i},{email},true\n"));
            let redeemed = if n * 4 + i <= 6 { "2026-03-20" } else { "" };
            codes.push_str(&format!(
                "{class},{email},AC-{class}-{i},2026-03-13,{redeemed}\n"
            ));
            if i <= 2 {
                responses.push_str(&format!("{class},{email},2026-03-13,5,5,4,4,4\n"));
            }
        }
    }
    for i in 1..=8 {
        roster.push_str(&format!("P1,Learner {i},p{i}@p1.example.com,false\n"));
    }
    fixtures::import(app, Kind::Roster, &roster).await.unwrap();
    fixtures::import(app, Kind::Codes, &codes).await.unwrap();
    fixtures::import(app, Kind::SurveyResponses, &responses)
        .await
        .unwrap();
}

async fn set_anniversary(app: &TestApp, anniversary: Option<(u32, u32)>) {
    let admin = app.create_user(Role::Admin, "owner@example.com").await;
    settings::update(
        app.db(),
        &Actor::User(admin),
        &OrgSettings {
            organization_name: "Contoso Learning".into(),
            anniversary,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn api(app: &TestApp, as_of: &str) -> Value {
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = viewer.get(&format!("/api/v1/forecast?as_of={as_of}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let answer: Value = serde_json::from_str(&response.body).unwrap();
    // The answer fits the OpenAPI description, field by field.
    let doc: Value = serde_json::from_str(tsp_ledger::web::api::OPENAPI).unwrap();
    let schema = &doc["paths"]["/api/v1/forecast"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let problems = crate::api::check(&doc, schema, &answer, "$");
    assert!(problems.is_empty(), "{problems:#?}\n{answer}");
    answer
}

fn criterion<'a>(answer: &'a Value, name: &str, area: Option<&str>) -> &'a Value {
    answer["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == name && c["area"].as_str() == area)
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
}

async fn the_forecast_applies_the_partners_own_rates_and_explains_them(app: TestApp) {
    seed(&app).await;
    set_anniversary(&app, Some((8, 1))).await;
    let answer = api(&app, "2026-06-15").await;
    assert_eq!(answer["anniversary"], "2026-08-01");
    assert_eq!(answer["window"]["start"], "2025-08-01");
    assert_eq!(answer["history_window"]["end"], "2026-05-31");
    let history = &answer["history"][0];
    assert_eq!(
        (
            &history["category"],
            &history["area"],
            &history["attendees"],
            &history["redeemed"],
            &history["responses"]
        ),
        (
            &Value::from("three_days_or_more"),
            &Value::from("security"),
            &Value::from(8),
            &Value::from(6),
            &Value::from(4)
        )
    );
    let row = &answer["pipeline"][0];
    assert_eq!(row["classes"], 1);
    assert_eq!(row["attendees"], 8);
    assert_eq!(row["redemption"]["numerator"], 6);
    assert_eq!(row["redemption"]["denominator"], 8);
    assert_eq!(row["redemption"]["basis"], "cell");
    // 8 × 6 / 8 codes and 8 × 4 / 8 surveys expected; 8 of each at most.
    assert_eq!(
        (
            row["expected_codes"].as_i64(),
            row["expected_surveys"].as_i64()
        ),
        (Some(6), Some(4))
    );
    let courseware = criterion(&answer, "courseware", None);
    assert_eq!(courseware["today"], 6.0);
    assert_eq!(courseware["stays"], 6.0);
    assert_eq!(courseware["low"], 6.0);
    assert_eq!(courseware["expected"], 12.0);
    assert_eq!(courseware["high"], 14.0);
    assert_eq!(courseware["status"], "in_progress");
    assert_eq!(
        courseware["gap"],
        "988 points short: 988 more redeemed codes of 3 days or more, or 1976 of 2 days or \
         less, or fundamentals codes can add only 300 points more (their 300-point cap)."
    );
    let points = criterion(&answer, "survey_points", Some("security"));
    assert_eq!(
        (points["stays"].as_f64(), points["expected"].as_f64()),
        (Some(4.0), Some(8.0))
    );
    // Four responses of 22 over 5 answers: 4.40, and new ones score alike.
    let score = criterion(&answer, "area_score", Some("security"));
    assert_eq!(
        (score["expected"].as_f64(), score["status"].as_str()),
        (Some(4.4), Some("completed"))
    );
    assert!(
        score["explanation"]
            .as_str()
            .unwrap()
            .contains("this area's responses of the last 12 months did (20 answers summing to 88 in 4 surveys)"),
        "{score}"
    );

    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator
        .get("/kpi/forecast?as_of=2026-06-15")
        .await
        .assert_contains("<h1>Forecast to the anniversary</h1>")
        .assert_contains("Anniversary <strong>2026-08-01</strong>")
        .assert_contains("(75.0%)")
        .assert_contains("(50.0%)")
        .assert_contains("988 points short: 988 more redeemed codes of 3 days or more");
    coordinator
        .get("/?as_of=2026-06-15")
        .await
        .assert_contains("<h2 id=\"forecast-h\">Forecast</h2>")
        .assert_contains("<td class=\"num\"><strong>12</strong></td><td class=\"num\">6 – 14</td>")
        .assert_contains("href=\"/kpi/forecast?as_of=2026-06-15\"");
}
db_test!(the_forecast_applies_the_partners_own_rates_and_explains_them);

async fn a_class_scheduled_moves_the_forecast(app: TestApp) {
    seed(&app).await;
    set_anniversary(&app, Some((8, 1))).await;
    let before = api(&app, "2026-06-15").await;
    fixtures::import(
        &app,
        Kind::Classes,
        "class_ref,course_code,mct_id,start_date,end_date,modality,status
P2,L-4,MCT-1,2026-07-13,2026-07-16,virtual,scheduled
P3,L-4,MCT-1,2026-08-03,2026-08-06,virtual,scheduled
",
    )
    .await
    .unwrap();
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    for i in 1..=4 {
        roster.push_str(&format!("P2,Learner {i},q{i}@p2.example.com,false\n"));
        roster.push_str(&format!("P3,Learner {i},q{i}@p3.example.com,false\n"));
    }
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    let after = api(&app, "2026-06-15").await;
    assert_eq!(criterion(&before, "courseware", None)["expected"], 12.0);
    // P2 ends in the window: 4 × 6 / 8 = 3 more codes. P3 ends after it: left out.
    assert_eq!(criterion(&after, "courseware", None)["expected"], 15.0);
    assert_eq!(criterion(&after, "courseware", None)["high"], 18.0);
    assert_eq!(after["pipeline"][0]["classes"], 2);
    assert_eq!(after["later_classes"], 1);
}
db_test!(a_class_scheduled_moves_the_forecast);

async fn without_an_anniversary_the_forecast_says_where_to_set_it(app: TestApp) {
    seed(&app).await;
    let answer = api(&app, "2026-06-15").await;
    assert_eq!(answer["anniversary"], Value::Null);
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/kpi/forecast?as_of=2026-06-15")
        .await
        .assert_contains("The anniversary date is not set")
        .assert_contains("<a href=\"/admin/settings\">set it in Settings</a>");
    admin
        .get("/?as_of=2026-06-15")
        .await
        .assert_contains("No forecast: the anniversary date is not set");
    let bad = admin.get("/api/v1/forecast?as_of=2026-13-01").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("as_of");
}
db_test!(without_an_anniversary_the_forecast_says_where_to_set_it);

async fn a_delivered_classs_credit_counts_low_and_is_not_expected_twice(app: TestApp) {
    seed(&app).await;
    set_anniversary(&app, Some((8, 1))).await;
    fixtures::import(
        &app,
        Kind::Classes,
        "class_ref,course_code,mct_id,start_date,end_date,modality,status
D1,L-4,MCT-1,2026-06-01,2026-06-04,in_person,delivered
",
    )
    .await
    .unwrap();
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    let mut codes =
        String::from("class_ref,learner_email,achievement_code,issued_on,redeemed_on\n");
    for i in 1..=4 {
        roster.push_str(&format!("D1,Learner {i},d{i}@d1.example.com,true\n"));
        let redeemed = if i <= 2 { "2026-06-10" } else { "" };
        codes.push_str(&format!(
            "D1,d{i}@d1.example.com,AC-D1-{i},2026-06-05,{redeemed}\n"
        ));
    }
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    fixtures::import(&app, Kind::Codes, &codes).await.unwrap();
    let answer = api(&app, "2026-06-15").await;
    let row = &answer["pipeline"][0];
    // P1's 8 learners and D1's 4 who attended; D1's 2 redeemed codes are in already.
    assert_eq!(
        (row["classes"].as_i64(), row["attendees"].as_i64()),
        (Some(2), Some(12))
    );
    assert_eq!(row["awaiting_codes"], 2);
    assert_eq!(row["expected_codes"], 12 * 6 / 8 - 2);
    let courseware = criterion(&answer, "courseware", None);
    assert_eq!(courseware["stays"], 6.0);
    assert_eq!(courseware["low"], 8.0);
    assert_eq!(courseware["expected"], 15.0);
    assert_eq!(courseware["high"], 18.0);
}
db_test!(a_delivered_classs_credit_counts_low_and_is_not_expected_twice);
