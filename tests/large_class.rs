//! A class of any size (an on-demand recorded offering, a large virtual event): every
//! per-class path works at 100 000 learners on both databases, and no query binds one
//! parameter per learner.
use axum::http::StatusCode;
use entity::{achievement_codes, enrollments, outbox_messages};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use tsp_ledger::domain::outbox::MessageKind;
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::surveys;

use crate::imports::{catalog, class_in};
use crate::support::TestApp;

const LEARNERS: usize = 100_000;

/// Rows `1..=count` made by `row`, written straight into their table 2 000 per statement
/// (an import of this size is the benchmark's job).
async fn fill<A>(app: &TestApp, count: usize, row: impl Fn(usize) -> A)
where
    A: ActiveModelTrait + Send,
{
    let numbers: Vec<usize> = (1..=count).collect();
    for chunk in numbers.chunks(2_000) {
        A::Entity::insert_many(chunk.iter().map(|n| row(*n)))
            .exec_without_returning(app.db())
            .await
            .unwrap();
    }
}

/// `count` attending learners on `class_id`: `Learner 000001` … with matching e-mails.
async fn fill_roster(app: &TestApp, class_id: i64, count: usize) {
    let now = tsp_ledger::clock::now();
    fill(app, count, |n| {
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
    })
    .await;
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

    // Issuing codes reads the whole class: with a pool too small it is refused, naming
    // sizes; with a pool large enough, every attending learner gets a code and an e-mail.
    let attending = (LEARNERS - 1) as u64;
    let issue = browser.post(&format!("{page}/codes/issue"), &[]).await;
    assert_eq!(issue.status, StatusCode::SEE_OTHER, "{}", issue.body);
    let after = browser.get(&page).await;
    after.assert_contains("99999 attending learners need a code but the pool holds only 0");
    fill_pool(&app, LEARNERS).await;
    let issue = browser.post(&format!("{page}/codes/issue"), &[]).await;
    assert_eq!(issue.status, StatusCode::SEE_OTHER, "{}", issue.body);
    assert_eq!(issued_codes(&app).await, attending);
    assert_eq!(queued(&app, MessageKind::AchievementCode).await, attending);
    browser
        .get(&page)
        .await
        .assert_contains("0 attending learners without a code");

    // Survey invitations to every attending learner, then one reminder each.
    let sent = browser.post(&format!("{page}/surveys/send"), &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(queued(&app, MessageKind::SurveyInvitation).await, attending);
    let reminders = surveys::send_due_reminders(
        app.db(),
        &app.state.config.surveys,
        &app.state.link(""),
        &app.state.secret,
        chrono::Utc::now()
            + chrono::Duration::days(app.state.config.surveys.reminder_after_days + 1),
    )
    .await
    .unwrap();
    assert_eq!(reminders, attending);
    assert_eq!(queued(&app, MessageKind::SurveyReminder).await, attending);

    // A recording of the class asks every attending learner for consent; its page shows
    // the subjects a page at a time and names only the first few in its refusal.
    let id = crate::recordings::create_recording_by(&mut browser, "MCT-1", "C-BIG").await;
    let recording = format!("/recordings/{id}");
    assert_eq!(queued(&app, MessageKind::RecordingConsent).await, attending);
    let shown = browser.get(&recording).await;
    assert_eq!(shown.status, StatusCode::OK);
    shown
        .assert_contains(r#"Consent <span class="count">100000</span>"#)
        .assert_contains("Subjects 1–100 of 100000")
        .assert_contains("and 99990 more");
    assert_eq!(occurrences(&shown.body, "/paper\""), 100);
    browser
        .get(&format!("{recording}?page=1000"))
        .await
        .assert_contains("Subjects 99901–100000 of 100000");

    // Erasing one learner of the class.
    let admin = app.create_user(Role::Admin, "admin@example.com").await;
    let mut admin = app.client_for(admin).await;
    crate::erasure::erase_through_form(&mut admin, "learner050000@example.com", "GDPR at scale")
        .await
        .assert_contains("Erased 1 enrollment");

    // The roster export holds every line.
    let csv = browser.get(&format!("{page}/roster.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), LEARNERS + 1);
}

/// `count` unissued codes in the pool, valid for a year.
async fn fill_pool(app: &TestApp, count: usize) {
    let now = tsp_ledger::clock::now();
    let expires = now.date_naive() + chrono::Duration::days(365);
    fill(app, count, |n| achievement_codes::ActiveModel {
        code: Set(format!("POOL-{n:06}")),
        expires_on: Set(Some(expires)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .await;
}

async fn issued_codes(app: &TestApp) -> u64 {
    achievement_codes::Entity::find()
        .filter(achievement_codes::Column::EnrollmentId.is_not_null())
        .count(app.db())
        .await
        .unwrap()
}

async fn queued(app: &TestApp, kind: MessageKind) -> u64 {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq(kind))
        .count(app.db())
        .await
        .unwrap()
}
crate::db_test!(a_class_of_100_000_learners_works_on_every_per_class_path);
