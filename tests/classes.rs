//! Classes (SPEC §2, §3 rule 1): scheduling, the lifecycle, confirmation, amendments,
//! the filtered list with its pages and export, and what a trainer sees.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{classes, trainers};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::{ImportFailure, Kind};

use crate::catalog::{changes, follow, id_from_location, ledger_of, linked_cells, unescape};
use crate::fixtures;
use crate::support::{Client, TestApp, TestResponse};
use tsp_ledger::domain::delivery::ClassStatus;

// ---------------------------------------------------------------- helpers

pub(crate) fn class_form<'a>(
    class_ref: &'a str,
    course: &'a str,
    mct: &'a str,
    start: &'a str,
    end: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("class_ref", class_ref),
        ("course_code", course),
        ("mct_id", mct),
        ("start_date", start),
        ("end_date", end),
        ("modality", "in_person"),
    ]
}

async fn stored(app: &TestApp, id: i64) -> classes::Model {
    classes::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

async fn class_count(app: &TestApp) -> u64 {
    classes::Entity::find().count(app.db()).await.unwrap()
}

/// Posts a `multipart/form-data` body of text fields, the CSRF token in the query string
/// as the upload forms send it.
pub(crate) async fn post_multipart(
    client: &mut Client<'_>,
    path: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    let boundary = "tsp-test-boundary-4b1d";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let request = Request::post(format!("{path}?_csrf={}", client.csrf()))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    client.send(request).await
}

/// A signed-in trainer whose account is linked to a new MCT record in good standing.
async fn linked_trainer<'a>(
    app: &'a TestApp,
    name: &str,
    mct_id: &str,
) -> (Client<'a>, trainers::Model, i64) {
    let email = format!("{}@example.com", mct_id.to_lowercase());
    let user = app.create_user(Role::Trainer, &email).await;
    let mct = fixtures::trainer(app, name, mct_id, fixtures::today_plus(365), Some(user)).await;
    (app.client_for(user).await, mct, user)
}

fn day(offset: i64) -> String {
    fixtures::today_plus(offset).to_string()
}

/// The flash message of a page reached after a redirect, unescaped.
fn flash(page: &TestResponse) -> String {
    let marker = "<div class=\"flash flash-";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no flash message on the page:\n{}", page.body));
    let rest = &page.body[start + marker.len()..];
    let text_start = rest.find('>').unwrap() + 1;
    let text_end = rest.find("</div>").unwrap();
    format!(
        "{}: {}",
        &rest[..rest.find('"').unwrap()],
        unescape(&rest[text_start..text_end])
    )
}

// ---------------------------------------------------------------- rule 1

async fn rule_1_refuses_scheduling_an_official_class_past_the_mcts_standing(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(
        &app,
        "Ana Alves",
        "MCT-1",
        fixtures::date("2026-03-03"),
        None,
    )
    .await;
    let mut coordinator = app.client_as(Role::Coordinator).await;

    let refused = coordinator
        .post(
            "/classes",
            &class_form("C-1", "AZ-104", "MCT-1", "2026-03-02", "2026-03-05"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains(r#"id="mct_id-error""#);
    let text = unescape(&refused.body);
    assert!(
        text.contains("Ana Alves's MCT good standing ended on 2026-03-03")
            && text.contains("before the class ends on 2026-03-05"),
        "the message names the MCT and the date:\n{text}"
    );
    assert_eq!(class_count(&app).await, 0);

    // Good standing on the last day of the class is enough.
    let ok = coordinator
        .post(
            "/classes",
            &class_form("C-1", "AZ-104", "MCT-1", "2026-03-02", "2026-03-03"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(class_count(&app).await, 1);
}
db_test!(rule_1_refuses_scheduling_an_official_class_past_the_mcts_standing);

async fn rule_1_refuses_an_edit_that_puts_the_class_past_the_mcts_standing(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(
        &app,
        "Ana Alves",
        "MCT-1",
        fixtures::date("2026-03-03"),
        None,
    )
    .await;
    fixtures::trainer(
        &app,
        "Lee Lapsed",
        "MCT-2",
        fixtures::date("2026-01-31"),
        None,
    )
    .await;
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-03",
            "in_person",
            "scheduled",
        ),
    )
    .await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let path = format!("/classes/{}", class.id);

    let longer = coordinator
        .post(
            &path,
            &class_form("C-1", "AZ-104", "MCT-1", "2026-03-02", "2026-03-04"),
        )
        .await;
    assert_eq!(longer.status, StatusCode::UNPROCESSABLE_ENTITY);
    longer.assert_contains(r#"id="mct_id-error""#);
    assert!(unescape(&longer.body).contains("Ana Alves's MCT good standing ended on 2026-03-03"));

    let other_mct = coordinator
        .post(
            &path,
            &class_form("C-1", "AZ-104", "MCT-2", "2026-03-02", "2026-03-03"),
        )
        .await;
    assert_eq!(other_mct.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unescape(&other_mct.body).contains("Lee Lapsed's MCT good standing ended on 2026-01-31")
    );

    let unchanged = stored(&app, class.id).await;
    assert_eq!(unchanged.end_date, fixtures::date("2026-03-03"));
    assert_eq!(unchanged.trainer_id, class.trainer_id);
    assert_eq!(
        ledger_of(&app, "class", class.id).await.len(),
        1,
        "import only"
    );
}
db_test!(rule_1_refuses_an_edit_that_puts_the_class_past_the_mcts_standing);

async fn rule_1_refuses_an_import_row_naming_its_line(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(
        &app,
        "Ana Alves",
        "MCT-1",
        fixtures::date("2026-03-03"),
        None,
    )
    .await;
    let csv = "class_ref,course_code,mct_id,start_date,end_date,modality,status\n\
               C-OK,AZ-104,MCT-1,2026-03-02,2026-03-03,in_person,scheduled\n\
               C-BAD,AZ-104,MCT-1,2026-03-02,2026-03-06,virtual,delivered\n";

    // Through the import page.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[("kind", "classes"), ("csv", csv)],
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.body
    );
    let text = unescape(&response.body);
    assert!(
        text.contains(
            "<li>line 3: mct_id: Ana Alves's MCT good standing ended on 2026-03-03, \
             before the class ends on 2026-03-06"
        ),
        "{text}"
    );
    assert!(!text.contains("line 2:"), "the good row is not reported");
    assert!(text.contains("Nothing was imported: 1 problem on 1 line"));
    assert_eq!(class_count(&app).await, 0, "not even the good row");

    // And as the CLI runs it.
    match fixtures::import(&app, Kind::Classes, csv).await {
        Err(ImportFailure::Invalid { errors, total, .. }) => {
            assert_eq!(total, 1);
            let line = errors[0].to_string();
            assert!(
                line.starts_with(
                    "line 3: mct_id: Ana Alves's MCT good standing ended on 2026-03-03"
                ),
                "{line}"
            );
        }
        other => panic!("expected the import to be refused, got {other:?}"),
    }
    assert_eq!(class_count(&app).await, 0);
}
db_test!(rule_1_refuses_an_import_row_naming_its_line);

async fn rule_1_refuses_confirming_once_the_mcts_standing_was_lowered(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    let (mut ana, mct, ana_user) = linked_trainer(&app, "Ana Alves", "MCT-1").await;
    let (start, end, lapsed_on) = (day(-10), day(-8), day(-9));
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &start,
            &end,
            "in_person",
            "delivered",
        ),
    )
    .await;

    // The coordinator corrects the MCT's standing on the trainers form (link kept).
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let user_id = ana_user.to_string();
    let lowered = coordinator
        .post(
            &format!("/trainers/{}", mct.id),
            &[
                ("name", "Ana Alves"),
                ("email", mct.email.as_str()),
                ("mct_id", "MCT-1"),
                ("mct_valid_until", &lapsed_on),
                ("affiliated", "true"),
                ("user_id", &user_id),
            ],
        )
        .await;
    assert_eq!(lowered.status, StatusCode::SEE_OTHER, "{}", lowered.body);

    let response = ana
        .post(&format!("/classes/{}/confirm", class.id), &[])
        .await;
    let page = follow(&mut ana, &response).await;
    let message = flash(&page);
    assert!(
        message.starts_with("error: ")
            && message.contains(&format!(
                "Ana Alves's MCT good standing ended on {lapsed_on}"
            ))
            && message.contains(&end),
        "{message}"
    );
    assert_eq!(stored(&app, class.id).await.status, ClassStatus::Delivered);

    // An admin on the MCT's behalf is refused for the same reason.
    let mut admin = app.client_as(Role::Admin).await;
    let response = admin
        .post(
            &format!("/classes/{}/confirm", class.id),
            &[("reason", "MCT on leave")],
        )
        .await;
    assert!(flash(&follow(&mut admin, &response).await).contains("good standing ended"));
    assert_eq!(stored(&app, class.id).await.status, ClassStatus::Delivered);
    assert!(
        !ledger_of(&app, "class", class.id)
            .await
            .iter()
            .any(|e| e.action == "confirm")
    );
}
db_test!(rule_1_refuses_confirming_once_the_mcts_standing_was_lowered);

async fn rule_1_does_not_apply_to_unofficial_content(app: TestApp) {
    let csv = "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n\
               ACME-1,Our own Azure bootcamp,3,false,,unofficial,v1\n";
    fixtures::import(&app, Kind::TitlePlan, csv).await.unwrap();
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    // Lee's MCT standing lapsed long ago.
    let lee_user = app.create_user(Role::Trainer, "lee@example.com").await;
    fixtures::trainer(
        &app,
        "Lee Lapsed",
        "MCT-9",
        fixtures::date("2020-01-31"),
        Some(lee_user),
    )
    .await;
    let mut lee = app.client_for(lee_user).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;

    let official = coordinator
        .post(
            "/classes",
            &class_form("C-1", "AZ-104", "MCT-9", &day(-5), &day(-3)),
        )
        .await;
    assert_eq!(official.status, StatusCode::UNPROCESSABLE_ENTITY);

    let unofficial = coordinator
        .post(
            "/classes",
            &class_form("C-2", "ACME-1", "MCT-9", &day(-5), &day(-3)),
        )
        .await;
    assert_eq!(
        unofficial.status,
        StatusCode::SEE_OTHER,
        "{}",
        unofficial.body
    );
    let id = id_from_location(&unofficial);

    // Delivered and confirmed by Lee all the same.
    let delivered = coordinator
        .post(&format!("/classes/{id}/status"), &[("change", "delivered")])
        .await;
    assert_eq!(delivered.status, StatusCode::SEE_OTHER);
    let confirmed = lee.post(&format!("/classes/{id}/confirm"), &[]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&app, id).await.status, ClassStatus::Confirmed);

    // An import of unofficial content is not refused either.
    fixtures::class(
        &app,
        (
            "C-3",
            "ACME-1",
            "MCT-9",
            "2026-03-02",
            "2026-03-05",
            "virtual",
            "confirmed",
        ),
    )
    .await;
}
db_test!(rule_1_does_not_apply_to_unofficial_content);

// ---------------------------------------------------------------- lifecycle

async fn a_coordinator_marks_a_started_class_delivered_but_not_a_future_one(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let past = fixtures::class(
        &app,
        (
            "C-PAST",
            "AZ-104",
            "MCT-1",
            &day(-3),
            &day(-1),
            "in_person",
            "scheduled",
        ),
    )
    .await;
    let today = fixtures::class(
        &app,
        (
            "C-TODAY",
            "AZ-104",
            "MCT-1",
            &day(0),
            &day(2),
            "virtual",
            "scheduled",
        ),
    )
    .await;
    let future = fixtures::class(
        &app,
        (
            "C-FUTURE",
            "AZ-104",
            "MCT-1",
            &day(7),
            &day(9),
            "in_person",
            "scheduled",
        ),
    )
    .await;
    let user = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(user).await;

    let response = coordinator
        .post(
            &format!("/classes/{}/status", past.id),
            &[("change", "delivered")],
        )
        .await;
    assert_eq!(
        response.location(),
        Some(format!("/classes/{}", past.id).as_str())
    );
    assert_eq!(
        flash(&follow(&mut coordinator, &response).await),
        "success: C-PAST is now delivered."
    );
    assert_eq!(stored(&app, past.id).await.status, ClassStatus::Delivered);
    let entry = ledger_of(&app, "class", past.id).await.pop().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str()),
        ("deliver", format!("user:{user}").as_str())
    );
    assert_eq!(
        changes(&entry),
        json!({"status": {"before": "scheduled", "after": "delivered"}})
    );

    let response = coordinator
        .post(
            &format!("/classes/{}/status", today.id),
            &[("change", "delivered")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&app, today.id).await.status, ClassStatus::Delivered);

    let response = coordinator
        .post(
            &format!("/classes/{}/status", future.id),
            &[("change", "delivered")],
        )
        .await;
    let message = flash(&follow(&mut coordinator, &response).await);
    assert!(
        message.starts_with("error: ") && message.contains("delivered only once it has started"),
        "{message}"
    );
    assert_eq!(stored(&app, future.id).await.status, ClassStatus::Scheduled);
    assert_eq!(ledger_of(&app, "class", future.id).await.len(), 1);
}
db_test!(a_coordinator_marks_a_started_class_delivered_but_not_a_future_one);

async fn only_a_scheduled_class_can_be_cancelled(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let mut refs = vec![];
    for (class_ref, status) in [
        ("C-S", "scheduled"),
        ("C-D", "delivered"),
        ("C-C", "confirmed"),
        ("C-X", "cancelled"),
    ] {
        let class = fixtures::class(
            &app,
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
        .await;
        refs.push((class.id, status));
    }
    for (id, status) in refs {
        let page = coordinator.get(&format!("/classes/{id}")).await;
        assert_eq!(
            page.body.contains("Cancel class"),
            status == "scheduled",
            "the cancel button on a {status} class"
        );
        let response = coordinator
            .post(&format!("/classes/{id}/status"), &[("change", "cancelled")])
            .await;
        let message = flash(&follow(&mut coordinator, &response).await);
        if status == "scheduled" {
            assert!(message.starts_with("success: "), "{message}");
            assert_eq!(stored(&app, id).await.status, ClassStatus::Cancelled);
            let entry = ledger_of(&app, "class", id).await.pop().unwrap();
            assert_eq!(entry.action, "cancel");
        } else {
            assert_eq!(
                message,
                format!("error: a {status} class cannot be cancelled (only a scheduled one can)")
            );
            assert_eq!(stored(&app, id).await.status.id(), status);
        }
    }
}
db_test!(only_a_scheduled_class_can_be_cancelled);

async fn the_classes_own_mct_confirms_the_delivery(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    let (mut ana, _, ana_user) = linked_trainer(&app, "Ana Alves", "MCT-1").await;
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &day(-10),
            &day(-8),
            "in_person",
            "delivered",
        ),
    )
    .await;
    let scheduled = fixtures::class(
        &app,
        (
            "C-2",
            "AZ-104",
            "MCT-1",
            &day(10),
            &day(12),
            "in_person",
            "scheduled",
        ),
    )
    .await;
    let path = format!("/classes/{}", class.id);

    let page = ana.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Confirm this delivery")
        .assert_contains(&format!(r#"action="/classes/{}/confirm""#, class.id));
    assert!(
        !page.body.contains(r#"name="reason""#),
        "no reason asked of the MCT"
    );

    let response = ana.post(&format!("{path}/confirm"), &[]).await;
    assert_eq!(
        flash(&follow(&mut ana, &response).await),
        "success: C-1 is confirmed."
    );
    let confirmed = stored(&app, class.id).await;
    assert_eq!(confirmed.status, ClassStatus::Confirmed);
    assert!(confirmed.confirmed_at.is_some());
    let entry = ledger_of(&app, "class", class.id).await.pop().unwrap();
    assert_eq!(entry.action, "confirm");
    assert_eq!(entry.actor, format!("user:{ana_user}"));
    assert_eq!(entry.reason, None);

    // Not twice, and not before the class was delivered.
    let again = ana.post(&format!("{path}/confirm"), &[]).await;
    assert!(flash(&follow(&mut ana, &again).await).contains("only a delivered one can"));
    let early = ana
        .post(&format!("/classes/{}/confirm", scheduled.id), &[])
        .await;
    assert!(
        flash(&follow(&mut ana, &early).await).contains("a scheduled class cannot be confirmed")
    );
    assert_eq!(
        stored(&app, scheduled.id).await.status,
        ClassStatus::Scheduled
    );
}
db_test!(the_classes_own_mct_confirms_the_delivery);

async fn another_trainer_gets_404_for_a_class_that_is_not_theirs(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    linked_trainer(&app, "Ana Alves", "MCT-1").await;
    let (mut bruno, _, _) = linked_trainer(&app, "Bruno Barros", "MCT-2").await;
    let anas = fixtures::class(
        &app,
        (
            "C-ANA",
            "AZ-104",
            "MCT-1",
            &day(-10),
            &day(-8),
            "in_person",
            "delivered",
        ),
    )
    .await;
    let brunos = fixtures::class(
        &app,
        (
            "C-BRUNO",
            "AZ-104",
            "MCT-2",
            &day(-10),
            &day(-8),
            "in_person",
            "delivered",
        ),
    )
    .await;

    for path in [
        format!("/classes/{}", anas.id),
        format!("/classes/{}/roster.csv", anas.id),
    ] {
        let response = bruno.get(&path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!response.body.contains("C-ANA"), "{path} leaks the class");
    }
    let response = bruno
        .post(&format!("/classes/{}/confirm", anas.id), &[])
        .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(stored(&app, anas.id).await.status, ClassStatus::Delivered);
    // The same for a class id that does not exist at all.
    assert_eq!(
        bruno.get("/classes/999999").await.status,
        StatusCode::NOT_FOUND
    );
    // Bruno's own class is there.
    bruno
        .get(&format!("/classes/{}", brunos.id))
        .await
        .assert_contains("C-BRUNO");
}
db_test!(another_trainer_gets_404_for_a_class_that_is_not_theirs);

async fn a_coordinator_cannot_confirm_a_delivery(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    linked_trainer(&app, "Ana Alves", "MCT-1").await;
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &day(-10),
            &day(-8),
            "in_person",
            "delivered",
        ),
    )
    .await;
    for role in [Role::Coordinator, Role::Viewer] {
        let mut client = app.client_as(role).await;
        let page = client.get(&format!("/classes/{}", class.id)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Confirm this delivery"), "{role}");
        let response = client
            .post(
                &format!("/classes/{}/confirm", class.id),
                &[("reason", "on behalf")],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{role}");
    }
    assert_eq!(stored(&app, class.id).await.status, ClassStatus::Delivered);
}
db_test!(a_coordinator_cannot_confirm_a_delivery);

async fn an_admin_confirms_on_the_mcts_behalf_only_with_a_reason(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    linked_trainer(&app, "Ana Alves", "MCT-1").await;
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &day(-10),
            &day(-8),
            "in_person",
            "delivered",
        ),
    )
    .await;
    let admin_user = app.create_user(Role::Admin, "root@example.com").await;
    let mut admin = app.client_for(admin_user).await;
    let path = format!("/classes/{}/confirm", class.id);

    admin
        .get(&format!("/classes/{}", class.id))
        .await
        .assert_contains("You are confirming on the MCT's behalf")
        .assert_contains(r#"name="reason""#);

    let response = admin.post(&path, &[("reason", "   ")]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("reason is required when an admin confirms");
    assert_eq!(stored(&app, class.id).await.status, ClassStatus::Delivered);

    let response = admin.post(&path, &[("reason", "MCT on leave")]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&app, class.id).await.status, ClassStatus::Confirmed);
    let entry = ledger_of(&app, "class", class.id).await.pop().unwrap();
    assert_eq!(entry.action, "confirm");
    assert_eq!(entry.actor, format!("user:{admin_user}"));
    assert_eq!(
        entry.reason.as_deref(),
        Some("confirmed on behalf of Ana Alves: MCT on leave")
    );
}
db_test!(an_admin_confirms_on_the_mcts_behalf_only_with_a_reason);

async fn amending_a_confirmed_class_needs_a_reason_kept_in_the_ledger(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            "confirmed",
        ),
    )
    .await;
    let user = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(user).await;
    let path = format!("/classes/{}", class.id);
    coordinator
        .get(&format!("{path}/edit"))
        .await
        .assert_contains("Reason for the amendment");

    let mut fields = class_form("C-1", "AZ-104", "MCT-1", "2026-03-02", "2026-03-05");
    fields.push(("location", "Room 2"));
    let refused = coordinator.post(&path, &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains(r#"id="reason-error""#)
        .assert_contains("amendment");
    assert_eq!(stored(&app, class.id).await.location, None);
    let before = ledger_of(&app, "class", class.id).await.len();

    fields.push(("reason", "The venue moved us"));
    let response = coordinator.post(&path, &fields).await;
    assert_eq!(
        flash(&follow(&mut coordinator, &response).await),
        "success: C-1 amended; the reason is in its history."
    );
    let amended = stored(&app, class.id).await;
    assert_eq!(amended.location.as_deref(), Some("Room 2"));
    assert_eq!(
        amended.status,
        ClassStatus::Confirmed,
        "still a closed record"
    );
    let entries = ledger_of(&app, "class", class.id).await;
    assert_eq!(entries.len(), before + 1);
    let entry = entries.last().unwrap();
    assert_eq!(entry.action, "amend");
    assert_eq!(entry.actor, format!("user:{user}"));
    assert_eq!(entry.reason.as_deref(), Some("The venue moved us"));
    assert_eq!(
        changes(entry),
        json!({"location": {"before": null, "after": "Room 2"}})
    );
    coordinator
        .get(&path)
        .await
        .assert_contains("<td>amend</td>")
        .assert_contains("The venue moved us");
}
db_test!(amending_a_confirmed_class_needs_a_reason_kept_in_the_ledger);

// ---------------------------------------------------------------- list, pages, export

/// (ref, course, MCT, start, end, modality, status)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const TWELVE: [Row; 12] = [
    (
        "C-2025-001",
        "AZ-104",
        "MCT-1",
        "2025-01-06",
        "2025-01-09",
        "in_person",
        "confirmed",
    ),
    (
        "C-2025-002",
        "AZ-104",
        "MCT-2",
        "2025-02-03",
        "2025-02-06",
        "virtual",
        "delivered",
    ),
    (
        "C-2025-003",
        "SC-200",
        "MCT-1",
        "2025-03-03",
        "2025-03-06",
        "recorded",
        "confirmed",
    ),
    (
        "C-2025-004",
        "SC-200",
        "MCT-3",
        "2025-04-07",
        "2025-04-10",
        "in_person",
        "cancelled",
    ),
    (
        "C-2025-005",
        "DP-100",
        "MCT-2",
        "2025-05-05",
        "2025-05-08",
        "virtual",
        "confirmed",
    ),
    (
        "C-2025-006",
        "AZ-305",
        "MCT-3",
        "2025-06-02",
        "2025-06-05",
        "in_person",
        "delivered",
    ),
    (
        "K-2025-007",
        "AZ-305",
        "MCT-1",
        "2025-07-07",
        "2025-07-10",
        "virtual",
        "scheduled",
    ),
    (
        "K-2025-008",
        "DP-100",
        "MCT-3",
        "2025-08-04",
        "2025-08-07",
        "recorded",
        "scheduled",
    ),
    (
        "K-2025-009",
        "AZ-104",
        "MCT-1",
        "2025-09-01",
        "2025-09-04",
        "in_person",
        "scheduled",
    ),
    (
        "X-2025-010",
        "SC-200",
        "MCT-2",
        "2025-10-06",
        "2025-10-09",
        "virtual",
        "confirmed",
    ),
    (
        "X-2025-011",
        "DP-100",
        "MCT-1",
        "2025-11-03",
        "2025-11-03",
        "in_person",
        "cancelled",
    ),
    (
        "X-2025-012",
        "AZ-305",
        "MCT-2",
        "2025-12-01",
        "2025-12-01",
        "recorded",
        "delivered",
    ),
];

struct Seeded {
    sc200: i64,
    ana: trainers::Model,
    bruno: trainers::Model,
}

/// Four courses in three areas, three MCTs and the twelve classes above.
async fn seed_twelve(app: &TestApp, ana_user: Option<i64>, bruno_user: Option<i64>) -> Seeded {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    let sc200 = fixtures::course(app, "SC-200", 4, "security").await;
    fixtures::course(app, "DP-100", 4, "data_ai").await;
    let csv = "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n\
               AZ-305,Designing Microsoft Azure Infrastructure Solutions,4,false,infrastructure,official,2026-01\n";
    fixtures::import(app, Kind::TitlePlan, csv).await.unwrap();
    let valid = fixtures::today_plus(3650);
    let ana = fixtures::trainer(app, "Ana Alves", "MCT-1", valid, ana_user).await;
    let bruno = fixtures::trainer(app, "Bruno Barros", "MCT-2", valid, bruno_user).await;
    fixtures::trainer(app, "Chidi Okafor", "MCT-3", valid, None).await;
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    for (r, c, m, s, e, modality, status) in TWELVE {
        csv.push_str(&format!("{r},{c},{m},{s},{e},{modality},{status}\n"));
    }
    fixtures::import(app, Kind::Classes, &csv).await.unwrap();
    Seeded {
        sc200: sc200.id,
        ana,
        bruno,
    }
}

/// The refs of TWELVE with these numbers, newest start first (the list's order).
fn refs(numbers: &[usize]) -> Vec<String> {
    let mut out: Vec<String> = numbers
        .iter()
        .map(|n| TWELVE[n - 1].0.to_string())
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r[2..].to_string()));
    out
}

async fn listed(client: &mut Client<'_>, path: &str) -> Vec<String> {
    let page = client.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}");
    linked_cells(&page.body, "/classes/")
}

async fn class_list_filters_return_exactly_the_matching_classes(app: TestApp) {
    let seeded = seed_twelve(&app, None, None).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let (sc200, ana, bruno) = (seeded.sc200, seeded.ana.id, seeded.bruno.id);
    let cases: Vec<(String, Vec<usize>)> = vec![
        (String::new(), (1..=12).collect()),
        ("status=confirmed".into(), vec![1, 3, 5, 10]),
        ("status=scheduled".into(), vec![7, 8, 9]),
        ("modality=recorded".into(), vec![3, 8, 12]),
        ("modality=virtual".into(), vec![2, 5, 7, 10]),
        (format!("course={sc200}"), vec![3, 4, 10]),
        (format!("mct={bruno}"), vec![2, 5, 10, 12]),
        ("area=security".into(), vec![3, 4, 10]),
        ("area=infrastructure".into(), vec![1, 2, 6, 7, 9, 12]),
        ("area=data_ai".into(), vec![5, 8, 11]),
        ("area=modern_work".into(), vec![]),
        ("from=2025-04-01&to=2025-06-30".into(), vec![4, 5, 6]),
        ("from=2025-11-03".into(), vec![11, 12]),
        ("to=2025-01-06".into(), vec![1]),
        ("q=c-2025".into(), vec![1, 2, 3, 4, 5, 6]),
        ("q=K-2025".into(), vec![7, 8, 9]),
        ("q=2025-007".into(), vec![]),
        ("q=INFRASTRUCTURE+solutions".into(), vec![6, 7, 12]),
        ("q=okafor".into(), vec![4, 6, 8]),
        ("q=mct-3".into(), vec![4, 6, 8]),
        ("q=sc-200".into(), vec![3, 4, 10]),
        ("status=confirmed&area=security".into(), vec![3, 10]),
        (
            format!("mct={ana}&modality=in_person&from=2025-06-01"),
            vec![9, 11],
        ),
    ];
    for (query, expected) in cases {
        let path = format!("/classes?{query}");
        assert_eq!(listed(&mut viewer, &path).await, refs(&expected), "{path}");
    }
    viewer
        .get("/classes?status=confirmed")
        .await
        .assert_contains("4 classes match.");
    // A bad value is named, not silently dropped into an empty list.
    let bad = viewer.get("/classes?status=done&from=1/2/2025").await;
    assert_eq!(bad.status, StatusCode::OK);
    bad.assert_contains(r#"id="status-error""#)
        .assert_contains(r#"id="from-error""#);
}
db_test!(class_list_filters_return_exactly_the_matching_classes);

/// The `Next page` link's target, and whether its `&` was HTML-escaped.
fn next_page(body: &str) -> Option<(String, bool)> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    let raw = &body[start..end];
    let escaped = (raw.contains("&amp;") || raw.contains("&#38;"))
        && !raw.replace("&amp;", "").replace("&#38;", "").contains('&');
    Some((unescape(raw), escaped))
}

async fn class_list_pages_by_fifty_with_a_next_page_link(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(3650), None).await;
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    let first = fixtures::date("2025-01-01");
    for i in 0..120 {
        // Two classes a day, so the page cursor must break ties by id.
        let start = first + chrono::Duration::days(i / 2);
        csv.push_str(&format!(
            "P-{i:03},AZ-104,MCT-1,{start},{start},in_person,scheduled\n"
        ));
    }
    csv.push_str("OTHER-1,AZ-104,MCT-1,2025-03-01,2025-03-01,in_person,cancelled\n");
    fixtures::import(&app, Kind::Classes, &csv).await.unwrap();

    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page1 = coordinator.get("/classes?status=scheduled").await;
    page1.assert_contains("120 classes match.");
    let rows1 = linked_cells(&page1.body, "/classes/");
    assert_eq!(rows1.len(), 50);
    assert!(!page1.body.contains("First page"));
    let (next, escaped) = next_page(&page1.body).expect("a next-page link");
    assert!(escaped, "the & in the link's href is HTML-escaped");
    assert!(
        next.starts_with("/classes?status=scheduled&after="),
        "{next}"
    );

    let page2 = coordinator.get(&next).await;
    assert_eq!(page2.status, StatusCode::OK);
    let rows2 = linked_cells(&page2.body, "/classes/");
    assert_eq!(rows2.len(), 50);
    page2.assert_contains("First page");
    let (next, _) = next_page(&page2.body).expect("a link to page 3");

    let page3 = coordinator.get(&next).await;
    let rows3 = linked_cells(&page3.body, "/classes/");
    assert_eq!(rows3.len(), 20);
    assert!(next_page(&page3.body).is_none(), "page 3 is the last");

    // Every class exactly once, newest first, and the filter held on every page.
    let all: Vec<String> = rows1.into_iter().chain(rows2).chain(rows3).collect();
    let expected: Vec<String> = (0..120).rev().map(|i| format!("P-{i:03}")).collect();
    assert_eq!(all, expected);
}
db_test!(class_list_pages_by_fifty_with_a_next_page_link);

async fn a_trainer_lists_only_their_own_classes(app: TestApp) {
    let ana_user = app.create_user(Role::Trainer, "ana@example.com").await;
    let bruno_user = app.create_user(Role::Trainer, "bruno@example.com").await;
    let seeded = seed_twelve(&app, Some(ana_user), Some(bruno_user)).await;
    let mut ana = app.client_for(ana_user).await;
    let anas = refs(&[1, 3, 7, 9, 11]);

    let page = ana.get("/classes").await;
    page.assert_contains("My classes");
    assert_eq!(linked_cells(&page.body, "/classes/"), anas);
    assert!(
        !page.body.contains(r#"name="mct""#),
        "no MCT picker for a trainer"
    );
    // Asking for another MCT's classes still shows only hers.
    let bruno = seeded.bruno.id;
    assert_eq!(
        listed(&mut ana, &format!("/classes?mct={bruno}")).await,
        anas
    );
    assert_eq!(
        listed(&mut ana, "/classes?q=bruno").await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(&mut ana, "/classes?status=confirmed").await,
        refs(&[1, 3])
    );

    let export = ana.get(&format!("/classes/export.csv?mct={bruno}")).await;
    assert_eq!(export.status, StatusCode::OK);
    let exported: Vec<&str> = export
        .body
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(exported, anas);

    let mut bruno_client = app.client_for(bruno_user).await;
    assert_eq!(
        listed(&mut bruno_client, "/classes").await,
        refs(&[2, 5, 10, 12])
    );
}
db_test!(a_trainer_lists_only_their_own_classes);

async fn an_unlinked_trainer_is_told_to_get_linked(app: TestApp) {
    seed_twelve(&app, None, None).await;
    let mut trainer = app.client_as(Role::Trainer).await;
    let page = trainer.get("/classes").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Your sign-in is not linked to an MCT record yet");
    assert!(linked_cells(&page.body, "/classes/").is_empty());
    assert!(!page.body.contains("Export CSV"));
    // The export holds nothing of anyone else's either.
    let export = trainer.get("/classes/export.csv").await;
    assert!(
        export.status == StatusCode::NOT_FOUND
            || (export.status == StatusCode::OK && export.body.lines().count() == 1),
        "{}: {}",
        export.status,
        export.body
    );
    for (class_ref, ..) in TWELVE {
        assert!(!export.body.contains(class_ref));
    }
}
db_test!(an_unlinked_trainer_is_told_to_get_linked);

async fn the_class_page_shows_its_roster_and_history(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let user = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(user).await;
    let mut fields = class_form("c-2026-0142", "AZ-104", "MCT-1", "2026-03-02", "2026-03-05");
    fields.push(("location", "Lisbon, room 4"));
    let created = coordinator.post("/classes", &fields).await;
    let id = id_from_location(&created);
    assert_eq!(
        flash(&follow(&mut coordinator, &created).await),
        "success: C-2026-0142 scheduled."
    );
    let added = coordinator
        .post(
            &format!("/classes/{id}/roster"),
            &[
                ("learner_name", "Zoë Learner"),
                ("learner_email", "Zoe@Example.com"),
                ("attended", "true"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);

    let page = coordinator.get(&format!("/classes/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    let roster =
        &body[body.find(r#"id="roster-h""#).unwrap()..body.find(r#"id="history-h""#).unwrap()];
    // The learner's name links to their page (issue 16 item 4).
    assert!(roster.contains(">Zoë Learner</a></td>"), "{roster}");
    assert!(roster.contains("<td>Zoe@Example.com</td>"), "{roster}");
    assert!(roster.contains(r#"<span class="count">1</span>"#));
    assert!(roster.contains("1 attended"));
    page.assert_contains("Lisbon, room 4")
        .assert_contains("3 days or more")
        .assert_contains("Infrastructure (Azure)");

    let history = &body[body.find(r#"id="history-h""#).unwrap()..];
    let enrollment_id = entity::enrollments::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .id;
    for needle in [
        "<td>create</td>".to_string(),
        format!("<td>enrollment {enrollment_id} create</td>"),
        // The person, by name (issue 16 item 7), not `user:{user}`.
        "<td>Coordinator cora (cora@example.com)</td>".to_string(),
    ] {
        assert!(history.contains(&needle), "{needle} in:\n{history}");
    }
    // Newest first: the roster line above the class's creation.
    assert!(history.find("enrollment").unwrap() < history.find("<td>create</td>").unwrap());
    // The ledger keeps only that a learner's name and e-mail were set, never the values.
    let entries = ledger_of(&app, "enrollment", enrollment_id).await;
    assert_eq!(entries.len(), 1);
    assert!(
        !entries[0]
            .changes
            .to_lowercase()
            .contains("zoe@example.com")
    );
    assert!(!history.to_lowercase().contains("zoe@example.com"));
}
db_test!(the_class_page_shows_its_roster_and_history);

async fn the_class_export_holds_exactly_the_filtered_rows(app: TestApp) {
    seed_twelve(&app, None, None).await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-2025-003,Zoë Learner,zoe@example.com,true\n\
         C-2025-003,Yann Learner,yann@example.com,false\n",
    )
    .await
    .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;

    let export = viewer.get("/classes/export.csv?status=confirmed").await;
    assert_eq!(export.status, StatusCode::OK);
    let header = |name: header::HeaderName| {
        export
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(header(header::CONTENT_TYPE).starts_with("text/csv"));
    assert!(header(header::CONTENT_DISPOSITION).starts_with("attachment; filename=\"classes-"));
    let lines: Vec<&str> = export.body.lines().collect();
    assert_eq!(
        lines[0],
        "class_ref,course_code,course_title,solution_area,duration_category,content,mct_id,\
         mct_name,start_date,end_date,modality,status,learners,attended"
    );
    let exported: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(exported, refs(&[1, 3, 5, 10]));
    assert!(lines.contains(
        &"C-2025-003,SC-200,Course SC-200,security,three_days_or_more,official,MCT-1,Ana Alves,\
          2025-03-03,2025-03-06,recorded,confirmed,2,1"
    ));

    let both = viewer
        .get("/classes/export.csv?status=confirmed&area=security")
        .await;
    let exported: Vec<&str> = both
        .body
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(exported, refs(&[3, 10]));

    // The list page's export link carries its filters.
    let list = viewer.get("/classes?status=confirmed&q=c-2025").await;
    assert!(
        unescape(&list.body).contains(r#"href="/classes/export.csv?status=confirmed&q=c-2025""#),
        "{}",
        list.body
    );

    let bad = viewer.get("/classes/export.csv?status=done").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
db_test!(the_class_export_holds_exactly_the_filtered_rows);

/// `parse_code` allows `_` in class refs and course codes, so the list's search must
/// find them (LIKE's `_` wildcard is escaped).
async fn class_search_finds_refs_and_codes_with_underscores(app: TestApp) {
    fixtures::course(&app, "AZ_104", 4, "infrastructure").await;
    fixtures::course(&app, "AZ-204", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    for (class_ref, course) in [("C_2026_01", "AZ_104"), ("C-2026-02", "AZ-204")] {
        fixtures::class(
            &app,
            (
                class_ref,
                course,
                "MCT-1",
                "2026-03-02",
                "2026-03-05",
                "in_person",
                "scheduled",
            ),
        )
        .await;
    }
    let mut viewer = app.client_as(Role::Viewer).await;
    assert_eq!(
        listed(&mut viewer, "/classes?q=c_2026").await,
        ["C_2026_01"]
    );
    assert_eq!(
        listed(&mut viewer, "/classes?q=az_104").await,
        ["C_2026_01"]
    );
}

db_test!(class_search_finds_refs_and_codes_with_underscores);

/// A search matching many classes walks the list in order; one matching few lists
/// exactly those. Both must give the same answers.
async fn free_text_search_is_right_for_common_and_rare_terms(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::course(&app, "SC-200", 4, "security").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(3650), None).await;
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    for i in 0..5_100 {
        let day = 1 + i % 28;
        csv.push_str(&format!(
            "C-{i:05},AZ-104,MCT-1,2025-03-{day:02},2025-03-{day:02},virtual,scheduled\n"
        ));
    }
    csv.push_str("RARE-1,SC-200,MCT-1,2024-01-10,2024-01-10,virtual,scheduled\n");
    fixtures::import(&app, Kind::Classes, &csv).await.unwrap();

    let mut viewer = app.client_as(Role::Viewer).await;
    let common = viewer.get("/classes?q=az-104").await;
    common.assert_contains("More than 1000 classes match");
    let rows = linked_cells(&common.body, "/classes/");
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r.starts_with("C-")), "{rows:?}");
    // Newest start first: the page begins on 2025-03-28.
    assert!(common.body.find("2025-03-28").is_some());
    assert_eq!(listed(&mut viewer, "/classes?q=rare").await, ["RARE-1"]);
    assert_eq!(listed(&mut viewer, "/classes?q=sc-200").await, ["RARE-1"]);
    let refs = viewer.get("/classes?q=C-0500").await;
    refs.assert_contains("10 classes match");
}
db_test!(free_text_search_is_right_for_common_and_rare_terms);

// ---------------------------------------------------------------- rule 7

/// The courseware points of the KPI report whose window ends with this month.
async fn courseware_points(app: &TestApp) -> serde_json::Value {
    let as_of = fixtures::today_plus(35);
    let report = tsp_ledger::services::kpi::report(
        app.db(),
        as_of,
        &tsp_ledger::domain::kpi::DESIGNATION_2025,
    )
    .await
    .unwrap();
    serde_json::to_value(&report).unwrap()["base"]["courseware"]["points"].clone()
}

async fn rule_7_an_amendment_cannot_move_a_delivery_past_today(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let confirmed = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &day(-10),
            &day(-7),
            "in_person",
            "confirmed",
        ),
    )
    .await;
    let delivered = fixtures::class(
        &app,
        (
            "C-2",
            "AZ-104",
            "MCT-1",
            &day(-3),
            &day(-1),
            "virtual",
            "delivered",
        ),
    )
    .await;
    // A redeemed code of the confirmed class counts toward the KPI.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Lea,lea@example.com,true\n",
    )
    .await
    .unwrap();
    let codes = format!(
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on\nC-1,lea@example.com,AC-1,{},{}\n",
        day(-7),
        day(-6)
    );
    fixtures::import(&app, Kind::Codes, &codes).await.unwrap();
    assert_eq!(courseware_points(&app).await, json!(1.0));
    let user = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(user).await;

    // Moving the confirmed class to next month, reason given: refused on the end date.
    let path = format!("/classes/{}", confirmed.id);
    let (start, end) = (day(41), day(44));
    let mut fields = class_form("C-1", "AZ-104", "MCT-1", &start, &end);
    fields.push(("reason", "The customer postponed"));
    let ledger_before = ledger_of(&app, "class", confirmed.id).await.len();
    let refused = coordinator.post(&path, &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains(r#"id="end_date-error""#)
        .assert_contains("a class is confirmed only once it has ended");
    assert_eq!(stored(&app, confirmed.id).await, confirmed);
    assert_eq!(
        ledger_of(&app, "class", confirmed.id).await.len(),
        ledger_before
    );
    assert_eq!(courseware_points(&app).await, json!(1.0), "KPI unchanged");

    // A delivered class cannot move to start tomorrow either.
    let (start, end) = (day(1), day(2));
    let fields = class_form("C-2", "AZ-104", "MCT-1", &start, &end);
    let refused = coordinator
        .post(&format!("/classes/{}", delivered.id), &fields)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains(r#"id="start_date-error""#)
        .assert_contains("a class is delivered only once it has started");
    assert_eq!(stored(&app, delivered.id).await, delivered);

    // Within the past, an amendment of the dates is fine.
    let (start, end) = (day(-11), day(-8));
    let mut fields = class_form("C-1", "AZ-104", "MCT-1", &start, &end);
    fields.push(("reason", "The dates were off by one"));
    let response = coordinator.post(&path, &fields).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        stored(&app, confirmed.id).await.start_date,
        fixtures::today_plus(-11)
    );
}
db_test!(rule_7_an_amendment_cannot_move_a_delivery_past_today);

async fn rule_7_a_delivery_is_confirmed_only_once_the_class_has_ended(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    let (mut ana, _, _) = linked_trainer(&app, "Ana Alves", "MCT-1").await;
    let running = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &day(-1),
            &day(1),
            "in_person",
            "delivered",
        ),
    )
    .await;
    let path = format!("/classes/{}", running.id);
    let page = ana.get(&path).await;
    assert!(
        !page.body.contains("Confirm this delivery"),
        "no confirm button before the last day"
    );
    let response = ana.post(&format!("{path}/confirm"), &[]).await;
    let message = flash(&follow(&mut ana, &response).await);
    assert!(
        message.starts_with("error: ")
            && message.contains("a class is confirmed only once it has ended"),
        "{message}"
    );
    let mut admin = app.client_as(Role::Admin).await;
    let response = admin
        .post(&format!("{path}/confirm"), &[("reason", "MCT on leave")])
        .await;
    assert!(
        flash(&follow(&mut admin, &response).await)
            .contains("a class is confirmed only once it has ended")
    );
    assert_eq!(
        stored(&app, running.id).await.status,
        ClassStatus::Delivered
    );

    // On its last day it has ended: the MCT confirms after the last session.
    let last_day = fixtures::class(
        &app,
        (
            "C-2",
            "AZ-104",
            "MCT-1",
            &day(-2),
            &day(0),
            "in_person",
            "delivered",
        ),
    )
    .await;
    let path = format!("/classes/{}", last_day.id);
    ana.get(&path)
        .await
        .assert_contains("Confirm this delivery");
    let response = ana.post(&format!("{path}/confirm"), &[]).await;
    assert_eq!(
        flash(&follow(&mut ana, &response).await),
        "success: C-2 is confirmed."
    );
}
db_test!(rule_7_a_delivery_is_confirmed_only_once_the_class_has_ended);

async fn rule_7_a_class_with_attendance_is_neither_cancelled_nor_moved_to_the_future(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let class = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &day(-2),
            &day(0),
            "in_person",
            "scheduled",
        ),
    )
    .await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Lea,lea@example.com,true\n",
    )
    .await
    .unwrap();
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let path = format!("/classes/{}", class.id);
    let response = coordinator
        .post(&format!("{path}/status"), &[("change", "cancelled")])
        .await;
    let message = flash(&follow(&mut coordinator, &response).await);
    assert!(
        message.contains("1 learners are ticked as attending, but the class is cancelled"),
        "{message}"
    );
    let (start, end) = (day(5), day(7));
    let refused = coordinator
        .post(&path, &class_form("C-1", "AZ-104", "MCT-1", &start, &end))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains(r#"id="start_date-error""#)
        .assert_contains("1 learners are ticked as attending");
    assert_eq!(stored(&app, class.id).await, class);
}
db_test!(rule_7_a_class_with_attendance_is_neither_cancelled_nor_moved_to_the_future);

/// The list's course and MCT pickers are kept between requests and read again when the
/// catalog changes: a new course, a renamed MCT and a removed course show on the next view.
async fn the_class_list_pickers_follow_every_catalog_change(app: TestApp) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ModelTrait};
    crate::imports::catalog(&app).await;
    let mct = tsp_ledger::services::trainers::by_mct_id(app.db(), "MCT-1")
        .await
        .unwrap()
        .unwrap();
    let id = app
        .create_user(Role::Coordinator, "coordinator@example.com")
        .await;
    let mut browser = app.client_for(id).await;
    let list = browser.get("/classes").await;
    list.assert_contains("AZ-104 — ")
        .assert_contains("Ana Trainer (MCT-1)");
    assert!(!list.body.contains("SC-900"));

    let added = fixtures::course(&app, "SC-900", 1, "security").await;
    browser.get("/classes").await.assert_contains("SC-900 — ");

    let mut renamed: trainers::ActiveModel = mct.into();
    renamed.name = Set("Ana Renamed".into());
    renamed.updated_at = Set(tsp_ledger::clock::now() + chrono::Duration::seconds(1));
    renamed.update(app.db()).await.unwrap();
    let list = browser.get("/classes").await;
    list.assert_contains("Ana Renamed (MCT-1)");
    assert!(!list.body.contains("Ana Trainer (MCT-1)"));

    added.delete(app.db()).await.unwrap();
    assert!(!browser.get("/classes").await.body.contains("SC-900"));
}
crate::db_test!(the_class_list_pickers_follow_every_catalog_change);

/// A repeat view of a list page is served from the page cache (the session and one
/// single-row read of the table versions), and every change to a class, course or MCT,
/// made by any path, plain SQL included, shows on the next view.
async fn the_class_list_pages_are_cached_until_a_class_course_or_mct_changes(app: TestApp) {
    use sea_orm::ConnectionTrait;
    use std::sync::atomic::Ordering;
    crate::imports::catalog(&app).await;
    crate::imports::class_in(&app, "C-1", "scheduled").await;
    let (db, statements) = app.counted_pool().await;
    let server = app.instance(db);
    let id = app
        .create_user(Role::Coordinator, "coordinator@example.com")
        .await;
    let mut browser = server.client_for(id).await;
    let before = statements.load(Ordering::Relaxed);
    browser.get("/classes").await.assert_contains("C-1");
    let first = statements.load(Ordering::Relaxed) - before;
    let before = statements.load(Ordering::Relaxed);
    browser.get("/classes").await.assert_contains("C-1");
    let repeat = statements.load(Ordering::Relaxed) - before;
    assert!(
        repeat <= 3 && repeat < first,
        "a repeat view ran {repeat} statements (the first {first})"
    );
    // Changes behind the app's back, one table at a time.
    for (sql, shown) in [
        ("UPDATE classes SET class_ref = 'C-1-MOVED'", "C-1-MOVED"),
        (
            "UPDATE courses SET title = 'Azure Administrator Renamed'",
            "Azure Administrator Renamed",
        ),
        ("UPDATE trainers SET name = 'Ana Renamed'", "Ana Renamed"),
    ] {
        app.db().execute_unprepared(sql).await.unwrap();
        browser.get("/classes").await.assert_contains(shown);
    }
    crate::imports::class_in(&app, "C-2", "scheduled").await;
    browser.get("/classes").await.assert_contains("C-2");
    app.db()
        .execute_unprepared("DELETE FROM classes WHERE class_ref = 'C-2'")
        .await
        .unwrap();
    assert!(!browser.get("/classes").await.body.contains("C-2"));
}
crate::db_test!(the_class_list_pages_are_cached_until_a_class_course_or_mct_changes);

/// A new class's ref is proposed from `classes.ref_pattern` (the year's next number), a
/// ref left blank is numbered on save, and "Copy this class" starts the form from another
/// class with the next ref.
async fn new_classes_are_numbered_from_the_pattern_and_can_be_copied(app: TestApp) {
    use chrono::Datelike;
    crate::imports::catalog(&app).await;
    let year = tsp_ledger::clock::now().date_naive().year();
    let user = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(user).await;
    coordinator
        .get("/classes/new")
        .await
        .assert_contains(&format!("value=\"C-{year}-0001\""));
    let mut fields = class_form("", "AZ-104", "MCT-1", "2026-03-02", "2026-03-05");
    fields.push(("location", "Lisbon, room 4"));
    let created = coordinator.post("/classes", &fields).await;
    let id = crate::catalog::id_from_location(&created);
    assert_eq!(stored(&app, id).await.class_ref, format!("C-{year}-0001"));
    let copy = coordinator.get(&format!("/classes/new?copy={id}")).await;
    copy.assert_contains(&format!("value=\"C-{year}-0002\""))
        .assert_contains("value=\"Lisbon, room 4\"")
        .assert_contains("value=\"2026-03-02\"");
    coordinator
        .get(&format!("/classes/{id}"))
        .await
        .assert_contains(&format!("href=\"/classes/new?copy={id}\""));
    // Another pattern, set in the configuration.
    let other = app.reconfigured(|c| c.classes.ref_pattern = "TSP/{YYYY}/{NNN}".into());
    let mut coordinator = other.client_for(user).await;
    coordinator
        .get("/classes/new")
        .await
        .assert_contains(&format!("value=\"TSP/{year}/001\""));
}
db_test!(new_classes_are_numbered_from_the_pattern_and_can_be_copied);

/// Saving a class whose MCT is booked on another live class on overlapping dates saves it
/// and warns, naming the other class; dates that do not overlap are a plain success.
async fn an_mct_booked_on_overlapping_classes_is_a_warning(app: TestApp) {
    crate::imports::catalog(&app).await;
    crate::imports::class_in(&app, "C-1", "scheduled").await;
    let user = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(user).await;
    let created = coordinator
        .post(
            "/classes",
            &class_form("C-2", "AZ-104", "MCT-1", "2026-03-05", "2026-03-06"),
        )
        .await;
    let page = crate::catalog::follow(&mut coordinator, &created).await;
    assert_eq!(
        flash(&page),
        "warning: C-2 scheduled. Check the MCT: Ana Trainer is also booked on C-1 (2026-03-02 → 2026-03-05) on overlapping dates."
    );
    assert!(class_count(&app).await >= 2, "saved all the same");
    // Not overlapping: a plain success.
    let created = coordinator
        .post(
            "/classes",
            &class_form("C-3", "AZ-104", "MCT-1", "2026-03-09", "2026-03-10"),
        )
        .await;
    let page = crate::catalog::follow(&mut coordinator, &created).await;
    assert_eq!(flash(&page), "success: C-3 scheduled.");
}
db_test!(an_mct_booked_on_overlapping_classes_is_a_warning);
