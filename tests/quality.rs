//! Quality reports (issue 16 item 5): survey results by MCT, course and solution area over
//! a period, the trend by month, the comments (page, class page, CSV), the import's
//! optional `comment` column, and an MCT's own view.
use axum::http::StatusCode;
use entity::survey_responses;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::{ImportFailure, Kind};

use crate::fixtures;
use crate::support::TestApp;

const CLASSES: &str = "class_ref,course_code,mct_id,start_date,end_date,modality,status
C-1,AZ-104,MCT-A,2026-01-12,2026-01-15,in_person,confirmed
C-2,SC-200,MCT-A,2026-02-02,2026-02-05,virtual,delivered
C-3,AZ-104,MCT-B,2026-03-02,2026-03-05,recorded,confirmed
C-4,NOC-1,MCT-B,2026-03-09,2026-03-09,in_person,cancelled
C-5,NOC-1,MCT-B,2025-12-10,2025-12-10,in_person,confirmed
C-6,NOC-1,MCT-A,2026-03-20,2026-03-20,in_person,delivered
";

const ROSTER: &str = "class_ref,learner_name,learner_email,attended
C-1,Lena One,l1@example.com,true
C-1,Lars Two,l2@example.com,true
C-1,Lea Three,l3@example.com,true
C-1,Leo Four,l4@example.com,false
C-2,Mia One,m1@example.com,true
C-2,Max Two,m2@example.com,true
C-2,Mo Three,m3@example.com,false
C-3,Nina One,n1@example.com,true
C-3,Noah Two,n2@example.com,true
C-3,Nils Three,n3@example.com,true
C-5,Olga One,o1@example.com,true
";

/// Leo (C-1) answered without being marked as attending; C-5 ended before the period
/// although its answer came in January; Noah left every question blank.
const RESPONSES: &str = "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5,comment
C-1,l1@example.com,2026-01-16,5,4,,5,5,Great labs
C-1,l2@example.com,2026-01-17,4,4,3,4,4,
C-1,l4@example.com,2026-01-20,3,,,,3,\"Could not stay,
sorry\"
C-2,m1@example.com,2026-02-06,5,5,5,5,5,Excellent
C-3,n1@example.com,2026-03-06,2,3,,,2,\"=HYPERLINK(\"\"x\"\")\"
C-3,n2@example.com,2026-03-07,,,,,,
C-5,o1@example.com,2026-01-05,1,1,1,1,1,Old comment
";

const Q1_2026: &str = "from=2026-01-01&to=2026-03-31";

/// The data set above; returns the user id of MCT-A's sign-in (Ana).
async fn seed(app: &TestApp) -> i64 {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::course(app, "SC-200", 4, "security").await;
    fixtures::course(app, "NOC-1", 1, "").await;
    let ana = app.create_user(Role::Trainer, "ana@example.com").await;
    fixtures::trainer(
        app,
        "Ana Alder",
        "MCT-A",
        fixtures::today_plus(365),
        Some(ana),
    )
    .await;
    fixtures::trainer(app, "Ben Birch", "MCT-B", fixtures::today_plus(365), None).await;
    fixtures::import(app, Kind::Classes, CLASSES).await.unwrap();
    fixtures::import(app, Kind::Roster, ROSTER).await.unwrap();
    fixtures::import(app, Kind::SurveyResponses, RESPONSES)
        .await
        .unwrap();
    ana
}

/// The text of the table row whose header cell holds `name`: its cells' text, each
/// trimmed, joined by `|`.
fn row(body: &str, name: &str) -> String {
    let at = body
        .find(&format!(">{name}<"))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{body}"));
    let start = body[..at].rfind("<tr").unwrap();
    let end = at + body[at..].find("</tr>").unwrap();
    cells(&body[start..end])
}

fn cells(html: &str) -> String {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' => {
                in_tag = false;
                if tag.starts_with("/td") || tag.starts_with("/th") {
                    out.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
                    text.clear();
                }
            }
            c if in_tag => tag.push(c),
            c => text.push(c),
        }
    }
    out.join("|")
}

/// The rows of a CSV download, header first.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The CSV row (as a header → cell lookup) whose first cells are `key`.
fn csv_row<'a>(rows: &'a [Vec<String>], key: &[&str]) -> impl Fn(&str) -> &'a str {
    let header = &rows[0];
    let found = rows
        .iter()
        .find(|r| r.iter().zip(key).all(|(a, b)| a == b) && r.len() >= key.len())
        .unwrap_or_else(|| panic!("no row {key:?} in {rows:?}"));
    move |column: &str| {
        let i = header.iter().position(|h| h == column).unwrap();
        found[i].as_str()
    }
}

async fn figures_by_trainer_course_and_area_are_worked_out_by_hand(app: TestApp) {
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get(&format!("/quality?by=trainer&{Q1_2026}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Ana: C-1 (4 who could answer: 3 attending and Leo, 3 responses), C-2 (2, 1) and
    // C-6 (no learners): 4 of 6 = 67 %; q1 (5+4+3+5) ÷ 4 = 4.25, q2 13 ÷ 3, q3 8 ÷ 2,
    // q4 14 ÷ 3, q5 17 ÷ 4; overall 69 ÷ 16 = 4.3125.
    assert_eq!(
        row(&page.body, "Ana Alder"),
        "Ana Alder MCT-A|3|6|4|67%|4.25|4.33|4.00|4.67|4.25|4.31"
    );
    // Ben: C-3 only (C-4 was cancelled, C-5 ended before the period): 2 of 3; a blank
    // response counts for the rate but adds no answer; q3 and q4 have none.
    assert_eq!(
        row(&page.body, "Ben Birch"),
        "Ben Birch MCT-B|1|3|2|67%|2.00|3.00|—|—|2.00|2.33"
    );
    assert_eq!(
        row(&page.body, "All"),
        "All|4|9|6|67%|3.80|4.00|4.00|4.67|3.80|4.00"
    );

    let page = viewer.get(&format!("/quality?by=course&{Q1_2026}")).await;
    // AZ-104: C-1 and C-3, 5 responses of 7; overall (44 + 7) ÷ (11 + 3) = 3.64.
    assert_eq!(
        row(&page.body, "Course AZ-104"),
        "Course AZ-104 AZ-104|2|7|5|71%|3.50|3.67|3.00|4.50|3.50|3.64"
    );
    assert_eq!(
        row(&page.body, "Course SC-200"),
        "Course SC-200 SC-200|1|2|1|50%|5.00|5.00|5.00|5.00|5.00|5.00"
    );
    // A class without learners: counted, with no rate rather than 0 %.
    assert_eq!(
        row(&page.body, "Course NOC-1"),
        "Course NOC-1 NOC-1|1|0|0|—|—|—|—|—|—|—"
    );

    let page = viewer.get(&format!("/quality?by=area&{Q1_2026}")).await;
    assert_eq!(
        row(&page.body, "Infrastructure (Azure)"),
        "Infrastructure (Azure)|2|7|5|71%|3.50|3.67|3.00|4.50|3.50|3.64"
    );
    assert_eq!(
        row(&page.body, "Security"),
        "Security|1|2|1|50%|5.00|5.00|5.00|5.00|5.00|5.00"
    );
    assert_eq!(
        row(&page.body, "No solution area"),
        "No solution area|1|0|0|—|—|—|—|—|—|—"
    );

    // The trend: each class in the month of its last day, every month listed.
    let page = viewer.get(&format!("/quality?by=trainer&{Q1_2026}")).await;
    assert_eq!(
        row(&page.body, "2026-01"),
        "2026-01|1|4|3|75%|4.00|4.00|3.00|4.50|4.00|4.00"
    );
    assert_eq!(
        row(&page.body, "2026-02"),
        "2026-02|1|2|1|50%|5.00|5.00|5.00|5.00|5.00|5.00"
    );
    assert_eq!(
        row(&page.body, "2026-03"),
        "2026-03|2|3|2|67%|2.00|3.00|—|—|2.00|2.33"
    );
    assert!(!page.body.contains(">2025-12<"));

    // One group alone: its figures and its own trend.
    let ana = tsp_ledger::services::trainers::by_mct_id(app.db(), "MCT-A")
        .await
        .unwrap()
        .unwrap();
    let page = viewer
        .get(&format!("/quality?by=trainer&{Q1_2026}&group={}", ana.id))
        .await;
    page.assert_contains("Showing <strong>Ana Alder</strong> only");
    assert!(!page.body.contains("Ben Birch"));
    assert_eq!(row(&page.body, "2026-03"), "2026-03|1|0|0|—|—|—|—|—|—|—");
}
db_test!(figures_by_trainer_course_and_area_are_worked_out_by_hand);

async fn the_period_decides_by_the_class_end_date(app: TestApp) {
    seed(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator
        .get("/quality?by=trainer&from=2026-02-01&to=2026-02-28")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        row(&page.body, "All"),
        "All|1|2|1|50%|5.00|5.00|5.00|5.00|5.00|5.00"
    );
    assert!(!page.body.contains("Ben Birch"));
    page.assert_contains("Excellent");
    assert!(!page.body.contains("Great labs"));
    // C-5 ended in December: its January answer belongs to December.
    let page = coordinator
        .get("/quality?by=trainer&from=2025-12-01&to=2025-12-31")
        .await;
    assert_eq!(
        row(&page.body, "Ben Birch"),
        "Ben Birch MCT-B|1|1|1|100%|1.00|1.00|1.00|1.00|1.00|1.00"
    );
    page.assert_contains("Old comment");
    // Without dates: the last 12 months, this one included, shown in the form.
    let page = coordinator.get("/quality").await;
    let today = tsp_ledger::clock::now().date_naive();
    let period = tsp_ledger::domain::quality::Period::last_12_months(today);
    page.assert_contains(&format!("value=\"{}\"", period.from()));
    page.assert_contains(&format!("value=\"{today}\""));
}
db_test!(the_period_decides_by_the_class_end_date);

async fn bad_dates_are_named_and_the_form_comes_back(app: TestApp) {
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer
        .get("/quality?by=course&from=2026-02-30&to=2026-03-31")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("id=\"from-error\"")
        .assert_contains("must be a date YYYY-MM-DD, not &#34;2026-02-30&#34;")
        .assert_contains("value=\"2026-02-30\"")
        .assert_contains("<form method=\"get\" action=\"/quality\"");
    assert!(!page.body.contains("Course AZ-104"));
    let page = viewer.get("/quality?from=2026-03-01&to=2026-01-31").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("id=\"to-error\"")
        .assert_contains("must not be before the start, 2026-03-01");
    let page = viewer.get("/quality?from=2020-01-01&to=2026-03-31").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("at most 60 months");
    let page = viewer.get("/quality?by=region").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("id=\"by-error\"");
    let page = viewer.get("/quality?by=area&group=atlantis").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("The group asked for: must be one of");
    // The exports refuse with the parameter named.
    let csv = viewer.get("/quality.csv?from=yesterday").await;
    assert_eq!(csv.status, StatusCode::BAD_REQUEST);
    csv.assert_contains("from must be a date");
    let csv = viewer.get("/quality/comments.csv?to=2026-13-01").await;
    assert_eq!(csv.status, StatusCode::BAD_REQUEST);
    let page = viewer.get(&format!("/quality?{Q1_2026}&after=junk")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}
db_test!(bad_dates_are_named_and_the_form_comes_back);

async fn comments_are_shown_newest_first_and_exported_safely(app: TestApp) {
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get(&format!("/quality?{Q1_2026}")).await;
    let comments = &page.body[page.body.find("id=\"comments\"").unwrap()..];
    let order: Vec<usize> = ["=HYPERLINK", "Excellent", "Could not stay", "Great labs"]
        .iter()
        .map(|c| comments.find(c).unwrap_or_else(|| panic!("{c} missing")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(comments.contains("<span class=\"count\">4</span>"));
    let c1 = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
        .await
        .unwrap()
        .unwrap();
    assert!(comments.contains(&format!("<a href=\"/classes/{}\">C-1</a>", c1.id)));
    // Never the learner: no name, no e-mail next to a comment.
    for learner in [
        "Lena One",
        "Leo Four",
        "l1@example.com",
        "Nina",
        "n1@example.com",
    ] {
        assert!(!page.body.contains(learner), "{learner} shown");
    }

    let csv = viewer
        .get(&format!("/quality/comments.csv?{Q1_2026}"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("quality-comments-trainer-2026-01-01-2026-03-31.csv")
    );
    let rows = csv_rows(&csv.body);
    assert_eq!(
        rows[0],
        [
            "class_ref",
            "course_code",
            "course_title",
            "mct_id",
            "mct_name",
            "submitted_on",
            "comment"
        ]
    );
    assert_eq!(rows.len(), 5, "{rows:?}");
    // A formula is written as text (a leading quote), as in every export.
    assert_eq!(
        rows[1],
        [
            "C-3",
            "AZ-104",
            "Course AZ-104",
            "MCT-B",
            "Ben Birch",
            "2026-03-06",
            "'=HYPERLINK(\"x\")"
        ]
    );
    assert_eq!(rows[3][6], "Could not stay,\nsorry");
    assert!(!csv.body.contains("example.com") && !csv.body.contains("Leo"));

    // The class page shows its own comments, and all of them as CSV.
    let class_page = viewer.get(&format!("/classes/{}", c1.id)).await;
    let surveys = &class_page.body[class_page.body.find("id=\"surveys\"").unwrap()..];
    assert!(surveys.contains("Great labs") && surveys.contains("Could not stay"));
    assert!(!surveys.contains("Excellent"));
    assert!(surveys.contains("Comments <span class=\"count\">2</span>"));
    let csv = viewer
        .get(&format!("/classes/{}/comments.csv", c1.id))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows = csv_rows(&csv.body);
    let texts: Vec<&str> = rows[1..].iter().map(|r| r[6].as_str()).collect();
    assert_eq!(texts, ["Could not stay,\nsorry", "Great labs"]);
}
db_test!(comments_are_shown_newest_first_and_exported_safely);

async fn comments_come_a_page_at_a_time(app: TestApp) {
    seed(&app).await;
    // 30 more commented responses on C-2, one a day.
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    let mut answers = String::from("class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5,comment\n");
    for i in 0..30 {
        roster.push_str(&format!("C-2,Extra {i},x{i}@example.com,true\n"));
        let day = fixtures::date("2026-02-10") + chrono::Duration::days(i);
        answers.push_str(&format!(
            "C-2,x{i}@example.com,{day},4,4,4,4,4,Note {i:02}\n"
        ));
    }
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    fixtures::import(&app, Kind::SurveyResponses, &answers)
        .await
        .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;
    let first = viewer.get(&format!("/quality?{Q1_2026}")).await;
    first.assert_contains("<span class=\"count\">34</span>");
    // Newest first, 25 a page: Note 29 (2026-03-11) … Note 24 and C-3's comment (both
    // 2026-03-06, the later response first) … Note 06.
    assert!(first.body.contains("Note 29") && first.body.contains("Note 06"));
    assert!(first.body.contains("HYPERLINK"));
    assert!(!first.body.contains("Note 05"));
    let marker = "href=\"/quality?";
    let next = first
        .body
        .match_indices(marker)
        .map(|(i, _)| &first.body[i + 6..])
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .find(|href| href.contains("after="))
        .expect("a link to older comments")
        .replace("&#38;", "&");
    let second = viewer.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    for shown in ["Note 05", "Note 00", "Excellent", "Great labs"] {
        second.assert_contains(shown);
    }
    assert!(!second.body.contains("Note 06") && !second.body.contains("HYPERLINK"));
    assert!(!second.body.contains("rel=\"next\">Older"));
}
db_test!(comments_come_a_page_at_a_time);

async fn the_figures_export_has_each_group_and_month(app: TestApp) {
    seed(&app).await;
    let mut admin = app.client_as(Role::Admin).await;
    let csv = admin
        .get(&format!("/quality.csv?by=trainer&{Q1_2026}"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows = csv_rows(&csv.body);
    assert_eq!(
        rows[0][..8],
        [
            "group_by",
            "group_code",
            "group_name",
            "month",
            "classes",
            "learners",
            "responses",
            "response_rate_percent"
        ]
    );
    let ana = csv_row(&rows, &["trainer", "MCT-A", "Ana Alder", "all"]);
    assert_eq!(
        [
            ana("classes"),
            ana("learners"),
            ana("responses"),
            ana("response_rate_percent")
        ],
        ["3", "6", "4", "67"]
    );
    assert_eq!(
        [
            ana("q1_answers"),
            ana("q1_average"),
            ana("overall_answers"),
            ana("overall_average")
        ],
        ["4", "4.25", "16", "4.31"]
    );
    let ben = csv_row(&rows, &["trainer", "MCT-B", "Ben Birch", "all"]);
    assert_eq!([ben("q3_answers"), ben("q3_average")], ["0", ""]);
    // A group's months with classes; all groups' every month.
    let ana_feb = csv_row(&rows, &["trainer", "MCT-A", "Ana Alder", "2026-02"]);
    assert_eq!(ana_feb("responses"), "1");
    assert!(!rows.iter().any(|r| r[1] == "MCT-B" && r[3] == "2026-01"));
    let all = csv_row(&rows, &["trainer", "all", "All", "all"]);
    assert_eq!([all("classes"), all("overall_average")], ["4", "4.00"]);
    let months: Vec<&str> = rows
        .iter()
        .filter(|r| r[1] == "all" && r[3] != "all")
        .map(|r| r[3].as_str())
        .collect();
    assert_eq!(months, ["2026-01", "2026-02", "2026-03"]);
    let area = admin.get(&format!("/quality.csv?by=area&{Q1_2026}")).await;
    let rows = csv_rows(&area.body);
    let none = csv_row(&rows, &["area", "none", "No solution area", "all"]);
    assert_eq!([none("classes"), none("response_rate_percent")], ["1", ""]);
}
db_test!(the_figures_export_has_each_group_and_month);

async fn an_mct_sees_only_their_own_results(app: TestApp) {
    let ana = seed(&app).await;
    let mut mct = app.client_for(ana).await;
    // Whatever grouping is asked for, the page is Ana's own.
    for path in [
        format!("/quality?{Q1_2026}"),
        format!("/quality?by=course&{Q1_2026}"),
        format!("/quality?by=trainer&{Q1_2026}&group=999999"),
        // A grouping the page does not offer them is not theirs to get wrong.
        format!("/quality?by=region&group=x&{Q1_2026}"),
    ] {
        let page = mct.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        page.assert_contains("My survey results")
            .assert_contains("<dd id=\"mine-responses\">4 of 6 learners</dd>")
            .assert_contains("<dd id=\"mine-rate\">67%</dd>")
            .assert_contains("<strong>4.31</strong>")
            .assert_contains("Great labs")
            .assert_contains("Excellent");
        assert_eq!(
            row(&page.body, "2026-02"),
            "2026-02|1|2|1|50%|5.00|5.00|5.00|5.00|5.00|5.00"
        );
        for other in ["Ben Birch", "HYPERLINK", "Old comment", "C-3"] {
            assert!(!page.body.contains(other), "{other} shown to Ana on {path}");
        }
    }
    let csv = mct.get(&format!("/quality.csv?by=area&{Q1_2026}")).await;
    let rows = csv_rows(&csv.body);
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[0] == "trainer" && (r[1] == "MCT-A" || r[1] == "all"))
    );
    let all = csv_row(&rows, &["trainer", "all", "All", "all"]);
    assert_eq!(all("responses"), "4");
    let csv = mct.get(&format!("/quality/comments.csv?{Q1_2026}")).await;
    assert!(csv.body.contains("Great labs") && !csv.body.contains("HYPERLINK"));
    // Another MCT's class comments: as unknown as the class.
    let c3 = tsp_ledger::services::classes::by_ref(app.db(), "C-3")
        .await
        .unwrap()
        .unwrap();
    let refused = mct.get(&format!("/classes/{}/comments.csv", c3.id)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // The summary their home page can show: the last 12 months, the latest comments.
    let wording = app.state.config.surveys.questions.clone();
    let today = fixtures::date("2026-04-15");
    let mine = tsp_ledger::services::quality::my_summary(app.db(), &wording, ana, today)
        .await
        .unwrap()
        .expect("Ana is an MCT");
    assert_eq!(mine.period.from(), fixtures::date("2025-05-01"));
    assert_eq!((mine.figures.responses, mine.comments), (4, 3));
    let latest: Vec<&str> = mine
        .latest
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        latest,
        ["Excellent", "Could not stay,\nsorry", "Great labs"]
    );
    assert_eq!(mine.trend.len(), 12);
    let viewer = app
        .create_user(Role::Viewer, "not-an-mct@example.com")
        .await;
    assert!(
        tsp_ledger::services::quality::my_summary(app.db(), &wording, viewer, today)
            .await
            .unwrap()
            .is_none()
    );
}
db_test!(an_mct_sees_only_their_own_results);

async fn comment_of(app: &TestApp, email: &str) -> Option<String> {
    let enrollment = entity::enrollments::Entity::find()
        .filter(entity::enrollments::Column::EmailKey.eq(email))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    survey_responses::Entity::find()
        .filter(survey_responses::Column::EnrollmentId.eq(enrollment.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .comment
}

async fn the_import_takes_an_optional_comment_column(app: TestApp) {
    seed(&app).await;
    assert_eq!(
        comment_of(&app, "l1@example.com").await.as_deref(),
        Some("Great labs")
    );
    // A blank cell is no comment.
    assert_eq!(comment_of(&app, "l2@example.com").await, None);
    // The same file again changes nothing.
    let again = fixtures::import(&app, Kind::SurveyResponses, RESPONSES)
        .await
        .unwrap();
    assert_eq!((again.unchanged, again.updated), (7, 0));
    // A file without the column (SPEC §7's header) keeps the comments stored, and
    // imports new responses without one.
    let without = "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
C-1,l1@example.com,2026-01-16,4,4,,5,5
C-1,l3@example.com,2026-01-18,5,5,5,5,5
";
    let summary = fixtures::import(&app, Kind::SurveyResponses, without)
        .await
        .unwrap();
    assert_eq!((summary.created, summary.updated), (1, 1));
    assert_eq!(
        comment_of(&app, "l1@example.com").await.as_deref(),
        Some("Great labs")
    );
    assert_eq!(comment_of(&app, "l3@example.com").await, None);
    // With the column, its cell replaces the comment (trimmed), or clears it when blank.
    let with = "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5,comment
C-1,l1@example.com,2026-01-16,4,4,,5,5,
C-1,l3@example.com,2026-01-18,5,5,5,5,5,  Clear and well paced  
";
    let summary = fixtures::import(&app, Kind::SurveyResponses, with)
        .await
        .unwrap();
    assert_eq!(summary.updated, 2);
    assert_eq!(comment_of(&app, "l1@example.com").await, None);
    assert_eq!(
        comment_of(&app, "l3@example.com").await.as_deref(),
        Some("Clear and well paced")
    );
    // The ledger records that a comment changed, never its words.
    let entries = entity::ledger_entries::Entity::find()
        .filter(entity::ledger_entries::Column::EntityType.eq("survey_response"))
        .all(app.db())
        .await
        .unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| !format!("{e:?}").contains("well paced"))
    );
    // Too long a comment is a line error naming the column; nothing is written.
    let long = format!(
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5,comment\nC-1,l2@example.com,2026-01-17,4,4,3,4,4,{}\n",
        "x".repeat(4001)
    );
    match fixtures::import(&app, Kind::SurveyResponses, &long).await {
        Err(ImportFailure::Invalid { errors, .. }) => {
            assert_eq!((errors[0].line, errors[0].field.as_str()), (2, "comment"));
            assert!(
                errors[0].message.contains("at most 4000 characters"),
                "{errors:?}"
            );
        }
        other => panic!("expected a line error, got {other:?}"),
    }
    assert_eq!(comment_of(&app, "l2@example.com").await, None);
}
db_test!(the_import_takes_an_optional_comment_column);
