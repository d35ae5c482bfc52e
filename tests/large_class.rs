//! A class of any size (an on-demand recorded offering, a large virtual event): every
//! per-class path works at 100 000 learners on both databases, and no query binds one
//! parameter per learner.
use axum::http::StatusCode;
use entity::enrollments;
use sea_orm::{ActiveValue::Set, EntityTrait};
use tsp_ledger::domain::role::Role;

use crate::imports::{catalog, class_in};
use crate::support::TestApp;

const LEARNERS: usize = 100_000;

/// `count` attending learners on `class_id`, written straight into the table (an import
/// of this size is the benchmark's job): `Learner 000001` … with matching e-mails.
async fn fill_roster(app: &TestApp, class_id: i64, count: usize) {
    let now = tsp_ledger::clock::now();
    for chunk in (1..=count).collect::<Vec<_>>().chunks(2_000) {
        let rows = chunk.iter().map(|n| {
            let email = format!("learner{n:06}@example.com");
            enrollments::ActiveModel {
                class_id: Set(class_id),
                learner_name: Set(format!("Learner {n:06}")),
                learner_email: Set(email.clone()),
                email_key: Set(email),
                attended: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        });
        enrollments::Entity::insert_many(rows)
            .exec(app.db())
            .await
            .unwrap();
    }
}

/// The enrollment ids the page's attendance form says it shows.
fn shown_ids(body: &str) -> Vec<String> {
    let marker = r#"name="shown" value=""#;
    body.match_indices(marker)
        .map(|(at, _)| {
            let rest = &body[at + marker.len()..];
            rest[..rest.find('"').expect("a closing quote")].to_string()
        })
        .collect()
}

fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

async fn a_class_of_100_000_learners_works_on_every_per_class_path(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-BIG", "delivered").await;
    fill_roster(&app, class.id, LEARNERS).await;
    let coordinator = app
        .create_user(Role::Coordinator, "coordinator@example.com")
        .await;
    let mut browser = app.client_for(coordinator).await;
    let page = format!("/classes/{}", class.id);

    // The page: the whole class in figures, the roster one page at a time.
    let first = browser.get(&page).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    first
        .assert_contains(r#"Roster <span class="count">100000</span>"#)
        .assert_contains("100000 attended")
        .assert_contains("Learners 1–100 of 100000, by name.")
        .assert_contains("Learner 000100")
        .assert_contains("100000 attending learners without a code");
    assert!(!first.body.contains("Learner 000101"));
    assert_eq!(occurrences(&first.body, r#"name="shown""#), 100);

    let last = browser.get(&format!("{page}?page=1000")).await;
    assert_eq!(last.status, StatusCode::OK);
    last.assert_contains("Learners 99901–100000 of 100000")
        .assert_contains("Learner 100000");
    assert!(!last.body.contains("Next »"));

    let found = browser.get(&format!("{page}?q=LEARNER077777")).await;
    assert_eq!(found.status, StatusCode::OK);
    found.assert_contains("learner077777@example.com");
    assert_eq!(occurrences(&found.body, r#"name="shown""#), 1);

    // Attendance from one page changes that page's lines only: the first is unticked.
    let shown = shown_ids(&first.body);
    let mut fields: Vec<(&str, &str)> = shown.iter().map(|id| ("shown", id.as_str())).collect();
    fields.extend(shown.iter().skip(1).map(|id| ("attended", id.as_str())));
    let saved = browser.post(&format!("{page}/attendance"), &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    browser.get(&page).await.assert_contains("99999 attended");

    // Issuing codes reads the whole class: with an empty pool it is refused, naming sizes.
    let issue = browser.post(&format!("{page}/codes/issue"), &[]).await;
    assert_eq!(issue.status, StatusCode::SEE_OTHER, "{}", issue.body);
    let after = browser.get(&page).await;
    after.assert_contains("99999 attending learners need a code but the pool holds only 0");

    // The roster export holds every line.
    let csv = browser.get(&format!("{page}/roster.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), LEARNERS + 1);
}
crate::db_test!(a_class_of_100_000_learners_works_on_every_per_class_path);
