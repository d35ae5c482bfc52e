//! Surveys (SPEC §2, §5, §6, §7): invitations by token, the learner's page, reminders,
//! MTM imports and the class page figures.
use axum::http::StatusCode;
use chrono::Duration;
use entity::{
    classes, enrollments, ledger_entries, outbox_messages, survey_invitations, survey_responses,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::{ImportFailure, Kind};
use tsp_ledger::services::surveys as svc;

use crate::fixtures;
use crate::support::TestApp;
use tsp_ledger::domain::survey::ResponseSource;

const ROSTER: &str = "class_ref,learner_name,learner_email,attended
C-S,Ada Lovelace,Ada@Example.com,true
C-S,Grace Hopper,grace@example.com,true
C-S,Alan Turing,alan@example.com,false
C-S,Edsger Dijkstra,edsger@example.com,true
";

const NAMES: [&str; 4] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
];
const EMAILS: [&str; 4] = [
    "ada@example.com",
    "grace@example.com",
    "alan@example.com",
    "edsger@example.com",
];

/// A class of `status` with four learners, three of them attending.
async fn class_with_roster(app: &TestApp, status: &str) -> classes::Model {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(app, "Survey MCT", "MCT-S", fixtures::today_plus(365), None).await;
    let class = fixtures::class(
        app,
        (
            "C-S",
            "AZ-104",
            "MCT-S",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            status,
        ),
    )
    .await;
    fixtures::import(app, Kind::Roster, ROSTER).await.unwrap();
    class
}

async fn set_mtm(app: &TestApp, class: &classes::Model, url: &str) {
    let mut active: classes::ActiveModel = class.clone().into();
    active.external_survey_url = Set(Some(url.to_string()));
    active.update(app.db()).await.unwrap();
}

async fn outbox(app: &TestApp, kind: &str) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq(kind))
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// The `/survey/<token>` token in an e-mail's text.
fn token_in(text: &str) -> Option<String> {
    let marker = "/survey/";
    let start = text.find(marker)? + marker.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    (token.len() == 64).then_some(token)
}

async fn enrollment(app: &TestApp, email: &str) -> enrollments::Model {
    enrollments::Entity::find()
        .filter(enrollments::Column::EmailKey.eq(email))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// Sends the class's invitations as a coordinator; returns the flash shown after.
async fn send(app: &TestApp, class: &classes::Model) -> String {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let response = coordinator
        .post(&format!("/classes/{}/surveys/send", class.id), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        Some(format!("/classes/{}#surveys", class.id).as_str())
    );
    let page = coordinator.get(&format!("/classes/{}", class.id)).await;
    let marker = "<div class=\"flash flash-";
    let start = page.body.find(marker).expect("a flash message") + marker.len();
    let rest = &page.body[start..];
    let text_start = rest.find('>').unwrap() + 1;
    let text_end = rest.find("</div>").unwrap();
    rest[text_start..text_end].to_string()
}

/// The tokens mailed to each learner, from the invitations in the outbox.
async fn tokens(app: &TestApp) -> Vec<(String, String)> {
    outbox(app, "survey_invitation")
        .await
        .into_iter()
        .map(|m| (m.to_address.to_lowercase(), token_in(&m.text_body).unwrap()))
        .collect()
}

async fn token_of(app: &TestApp, email: &str) -> String {
    tokens(app)
        .await
        .into_iter()
        .find(|(to, _)| to == email)
        .unwrap()
        .1
}

async fn responses(app: &TestApp) -> Vec<survey_responses::Model> {
    survey_responses::Entity::find()
        .order_by_asc(survey_responses::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn invitations_go_to_attending_learners_only(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    assert_eq!(send(&app, &class).await, "3 invitations queued");
    let mails = outbox(&app, "survey_invitation").await;
    let mut to: Vec<String> = mails.iter().map(|m| m.to_address.to_lowercase()).collect();
    to.sort();
    assert_eq!(
        to,
        ["ada@example.com", "edsger@example.com", "grace@example.com"]
    );
    let invitations = survey_invitations::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(invitations.len(), 3);
    let ledger = ledger_entries::Entity::find().all(app.db()).await.unwrap();
    for mail in &mails {
        assert_eq!(
            mail.related.as_deref(),
            Some(format!("class:{}", class.id).as_str())
        );
        assert!(
            mail.text_body.contains("http://127.0.0.1:8080/survey/"),
            "{}",
            mail.text_body
        );
        let token = token_in(&mail.text_body).expect("a /survey/<token> link");
        assert!(mail.html_body.contains(&format!("/survey/{token}")));
        // Only the token's hash is stored, nowhere the token itself.
        let hash = tsp_ledger::auth::token_hash(&token);
        let invitation = invitations.iter().find(|i| i.token_hash == hash).unwrap();
        assert_ne!(invitation.token_hash, token);
        assert_eq!(invitation.reminders_sent, 0);
        assert!(invitation.expires_at - invitation.sent_at == Duration::days(60));
        assert!(invitations.iter().all(|i| !i.token_hash.contains(&token)));
        assert!(ledger.iter().all(|e| !format!("{e:?}").contains(&token)));
    }
    let sends = ledger
        .iter()
        .filter(|e| e.entity_type == "survey_invitation" && e.action == "send")
        .count();
    assert_eq!(sends, 3);
    // Nobody is invited twice.
    assert_eq!(send(&app, &class).await, "0 invitations queued");
    assert_eq!(outbox(&app, "survey_invitation").await.len(), 3);
    // A newly attending learner is invited on the next send.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-S,Alan Turing,alan@example.com,true\n",
    )
    .await
    .unwrap();
    assert_eq!(send(&app, &class).await, "1 invitation queued");
}
db_test!(invitations_go_to_attending_learners_only);

async fn classes_not_delivered_send_nothing(app: TestApp) {
    let class = class_with_roster(&app, "scheduled").await;
    let message = send(&app, &class).await;
    assert!(message.contains("delivered"), "{message}");
    assert!(outbox(&app, "survey_invitation").await.is_empty());
    assert!(
        survey_invitations::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get(&format!("/classes/{}", class.id)).await;
    assert!(!page.body.contains("Send survey invitations"));
    let response = coordinator.post("/classes/999999/surveys/send", &[]).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}
db_test!(classes_not_delivered_send_nothing);

async fn mtm_classes_send_the_external_link(app: TestApp) {
    let class = class_with_roster(&app, "confirmed").await;
    set_mtm(&app, &class, "https://mtm.example.com/survey/XYZ").await;
    assert_eq!(send(&app, &class).await, "3 invitations queued");
    for mail in outbox(&app, "survey_invitation").await {
        assert!(
            mail.text_body
                .contains("https://mtm.example.com/survey/XYZ")
        );
        assert!(mail.text_body.contains("Metrics that Matter"));
        assert!(
            mail.html_body
                .contains(r#"href="https://mtm.example.com/survey/XYZ""#)
        );
        assert!(!mail.text_body.contains("127.0.0.1:8080/survey/"));
    }
    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator
        .get(&format!("/classes/{}", class.id))
        .await
        .assert_contains("https://mtm.example.com/survey/XYZ");
}
db_test!(mtm_classes_send_the_external_link);

async fn a_learner_answers_once_through_the_link(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    send(&app, &class).await;
    let token = token_of(&app, "ada@example.com").await;
    let path = format!("/survey/{token}");
    let mut learner = app.anonymous();
    let page = learner.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Course AZ-104")
        .assert_contains("2026-03-02 → 2026-03-05")
        .assert_contains("<fieldset")
        .assert_contains("<legend id=\"q1-legend\">1. ")
        .assert_contains(r#"<label for="q3-4">4"#)
        .assert_contains("No answer");
    // The course title and dates only: not the learner, not the class record.
    for hidden in ["Ada", "ada@example.com", "C-S", "Survey MCT", "MCT-S"] {
        assert!(!page.body.contains(hidden), "{hidden} on the public page");
    }
    let response = learner
        .post(
            &path,
            &[
                ("q1", "5"),
                ("q2", ""),
                ("q3", "3"),
                ("q4", "4"),
                ("comment", "  Loved the labs, thanks Ada's trainer  "),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.assert_contains("Thank you");
    let ada = enrollment(&app, "ada@example.com").await;
    let recorded = responses(&app).await;
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.enrollment_id, ada.id);
    assert_eq!(
        [r.q1, r.q2, r.q3, r.q4, r.q5],
        [Some(5), None, Some(3), Some(4), None]
    );
    assert_eq!(
        r.comment.as_deref(),
        Some("Loved the labs, thanks Ada's trainer")
    );
    assert_eq!(r.source, ResponseSource::Web);
    assert_eq!(r.submitted_on, chrono::Utc::now().date_naive());
    let invitation = survey_invitations::Entity::find()
        .filter(survey_invitations::Column::EnrollmentId.eq(ada.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(invitation.responded_at.is_some());
    assert_eq!(r.invitation_id, Some(invitation.id));
    let learner_entries: Vec<_> = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(_, _, actor)| *actor == format!("learner:{}", ada.id))
        .collect();
    assert!(
        learner_entries
            .iter()
            .any(|(t, a, _)| t == "survey_response" && a == "create"),
        "{learner_entries:?}"
    );

    // A second submit is refused (409) politely and changes nothing.
    let again = learner.post(&path, &[("q1", "1"), ("q2", "1")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    again
        .assert_contains("already answered")
        .assert_contains("not recorded");
    assert_eq!(responses(&app).await, recorded);
    // So is opening the link again.
    let reopened = app.anonymous().get(&path).await;
    assert_eq!(reopened.status, StatusCode::OK);
    reopened.assert_contains("already answered");
    assert!(!reopened.body.contains("<fieldset"));
}
db_test!(a_learner_answers_once_through_the_link);

async fn bad_expired_and_unknown_links(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    send(&app, &class).await;
    let token = token_of(&app, "grace@example.com").await;
    let path = format!("/survey/{token}");
    let mut learner = app.anonymous();
    learner.get(&path).await;
    // An answer outside 1..5 re-renders the form naming the question, keeping input.
    let response = learner
        .post(
            &path,
            &[("q1", "4"), ("q3", "7"), ("comment", "kept as typed")],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("Question 3: choose 1 to 5")
        .assert_contains(r#"id="q1-4" name="q1" value="4" checked"#)
        .assert_contains("kept as typed");
    assert!(responses(&app).await.is_empty());

    // Unknown tokens are not found.
    let unknown = "ab".repeat(32);
    assert_eq!(
        learner.get(&format!("/survey/{unknown}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        learner
            .post(&format!("/survey/{unknown}"), &[("q1", "5")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        learner.get("/survey/not-a-token").await.status,
        StatusCode::NOT_FOUND
    );

    // An expired link says so, politely, and takes no answers.
    let grace = enrollment(&app, "grace@example.com").await;
    let invitation = survey_invitations::Entity::find()
        .filter(survey_invitations::Column::EnrollmentId.eq(grace.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut active: survey_invitations::ActiveModel = invitation.into();
    active.expires_at = Set(chrono::Utc::now() - Duration::minutes(1));
    active.update(app.db()).await.unwrap();
    let page = learner.get(&path).await;
    assert_eq!(page.status, StatusCode::GONE);
    page.assert_contains("expired");
    let response = learner.post(&path, &[("q1", "5")]).await;
    assert_eq!(response.status, StatusCode::GONE);
    response.assert_contains("expired");
    assert!(responses(&app).await.is_empty());
}
db_test!(bad_expired_and_unknown_links);

async fn reminders_go_to_non_respondents_after_the_delay(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    send(&app, &class).await;
    // Ada answers.
    let ada_token = token_of(&app, "ada@example.com").await;
    let mut learner = app.anonymous();
    learner.get(&format!("/survey/{ada_token}")).await;
    let answered = learner
        .post(&format!("/survey/{ada_token}"), &[("q5", "5")])
        .await;
    assert_eq!(answered.status, StatusCode::OK);

    let config = &app.state.config.surveys;
    assert_eq!((config.reminder_after_days, config.max_reminders), (7, 2));
    let base = app.state.link("");
    let start = chrono::Utc::now();
    let remind = |days: i64| {
        svc::send_due_reminders(
            app.db(),
            config,
            &base,
            &app.state.secret,
            start + Duration::days(days),
        )
    };
    // Not before the delay.
    assert_eq!(remind(6).await.unwrap(), 0);
    assert!(outbox(&app, "survey_reminder").await.is_empty());
    // After it: to everyone who has not answered, once.
    assert_eq!(remind(8).await.unwrap(), 2);
    assert_eq!(remind(8).await.unwrap(), 0);
    let reminders = outbox(&app, "survey_reminder").await;
    let mut to: Vec<String> = reminders
        .iter()
        .map(|m| m.to_address.to_lowercase())
        .collect();
    to.sort();
    assert_eq!(to, ["edsger@example.com", "grace@example.com"]);
    // The reminder repeats the invitation's link, which keeps working.
    let grace_reminder = reminders
        .iter()
        .find(|m| m.to_address == "grace@example.com")
        .unwrap();
    let token = token_in(&grace_reminder.text_body).expect("a survey link");
    assert_eq!(token, token_of(&app, "grace@example.com").await);
    let page = app.anonymous().get(&format!("/survey/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("<fieldset");
    // The delay runs from the last reminder.
    assert_eq!(remind(14).await.unwrap(), 0);
    assert_eq!(remind(15).await.unwrap(), 2);
    // At most max_reminders.
    assert_eq!(remind(30).await.unwrap(), 0);
    assert_eq!(outbox(&app, "survey_reminder").await.len(), 4);
    let invitations = survey_invitations::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    let ada = enrollment(&app, "ada@example.com").await;
    for i in invitations {
        let expected = if i.enrollment_id == ada.id { 0 } else { 2 };
        assert_eq!(i.reminders_sent, expected);
    }
    let remind_entries = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(t, a, actor)| t == "survey_invitation" && a == "remind" && actor == "system")
        .count();
    assert_eq!(remind_entries, 4);
}
db_test!(reminders_go_to_non_respondents_after_the_delay);

async fn no_reminders_for_expired_links_or_import_answers(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    set_mtm(&app, &class, "https://mtm.example.com/s/1").await;
    send(&app, &class).await;
    // Grace answered the MTM survey: her result comes back by import.
    fixtures::import(
        &app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\nC-S,Grace@Example.com,2026-03-06,5,5,5,5,5\n",
    )
    .await
    .unwrap();
    let config = &app.state.config.surveys;
    let base = app.state.link("");
    let now = chrono::Utc::now();
    assert_eq!(
        svc::send_due_reminders(
            app.db(),
            config,
            &base,
            &app.state.secret,
            now + Duration::days(61)
        )
        .await
        .unwrap(),
        0,
        "expired links get no reminder"
    );
    assert_eq!(
        svc::send_due_reminders(
            app.db(),
            config,
            &base,
            &app.state.secret,
            now + Duration::days(8)
        )
        .await
        .unwrap(),
        2
    );
    let reminders = outbox(&app, "survey_reminder").await;
    assert!(
        reminders
            .iter()
            .all(|m| m.to_address != "grace@example.com")
    );
    assert!(
        reminders
            .iter()
            .all(|m| m.text_body.contains("https://mtm.example.com/s/1"))
    );
}
db_test!(no_reminders_for_expired_links_or_import_answers);

fn invalid(result: Result<tsp_ledger::services::imports::Summary, ImportFailure>) -> Vec<String> {
    match result {
        Err(ImportFailure::Invalid { errors, .. }) => {
            errors.iter().map(|e| e.to_string()).collect()
        }
        other => panic!("expected an invalid import, got {other:?}"),
    }
}

async fn survey_responses_import(app: TestApp) {
    let class = class_with_roster(&app, "confirmed").await;
    let csv = "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
c-s,ADA@example.com,2026-03-06,5,4,,3,5
C-S,edsger@example.com,2026-03-07,,,,,
";
    let summary = fixtures::import(&app, Kind::SurveyResponses, csv)
        .await
        .unwrap();
    assert_eq!((summary.created, summary.updated), (2, 0));
    let recorded = responses(&app).await;
    let ada = enrollment(&app, "ada@example.com").await;
    let r = recorded.iter().find(|r| r.enrollment_id == ada.id).unwrap();
    assert_eq!(
        [r.q1, r.q2, r.q3, r.q4, r.q5],
        [Some(5), Some(4), None, Some(3), Some(5)]
    );
    assert_eq!(r.source, ResponseSource::Import);
    assert_eq!(r.invitation_id, None);
    assert_eq!(r.submitted_on, fixtures::date("2026-03-06"));
    // A response with every question blank is still a response.
    assert_eq!(recorded.len(), 2);

    // The same file again changes nothing.
    let again = fixtures::import(&app, Kind::SurveyResponses, csv)
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2));
    assert_eq!(responses(&app).await, recorded);

    // A corrected value updates the one response, with a ledger entry.
    let before = app.ledger_actions().await.len();
    let fixed = fixtures::import(
        &app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\nC-S,ada@example.com,2026-03-06,5,4,2,3,5\n",
    )
    .await
    .unwrap();
    assert_eq!((fixed.created, fixed.updated), (0, 1));
    assert_eq!(responses(&app).await.len(), 2);
    let actions = app.ledger_actions().await;
    assert_eq!(actions.len(), before + 1);
    assert_eq!(actions.last().unwrap().0, "survey_response");

    // Bad rows are reported by line and column, and nothing of the file is written.
    let bad = "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
C-S,grace@example.com,2026-03-06,4,4,4,4,4
C-S,alan@example.com,2026-03-06,4,4,7,4,4
C-S,nobody@example.com,2026-03-06,4,,,,
C-404,grace@example.com,2026-03-06,4,,,,
C-S,edsger@example.com,06/03/2026,4,,,,
C-S,edsger@example.com,2026-03-06,x,,,,
";
    let errors = invalid(fixtures::import(&app, Kind::SurveyResponses, bad).await);
    assert_eq!(
        errors,
        [
            r#"line 3: q3: must be a whole number from 1 to 5 or empty, not "7""#,
            r#"line 6: submitted_on: must be a date YYYY-MM-DD, not "06/03/2026""#,
            r#"line 7: q1: must be a whole number from 1 to 5 or empty, not "x""#,
        ]
    );
    assert_eq!(responses(&app).await.len(), 2);
    // Once the format is right, the references are checked, every line of them.
    let refs: String = bad
        .lines()
        .enumerate()
        .filter(|(i, _)| [0, 1, 3, 4].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let errors = invalid(fixtures::import(&app, Kind::SurveyResponses, &refs).await);
    assert_eq!(
        errors,
        [
            "line 3: learner_email: is not on the roster of C-S",
            "line 4: class_ref: no class C-404",
        ]
    );
    assert_eq!(responses(&app).await.len(), 2);
    let _ = class;
}
db_test!(survey_responses_import);

async fn the_class_page_shows_rate_and_averages(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get(&format!("/classes/{}", class.id)).await;
    page.assert_contains(r#"id="surveys""#)
        .assert_contains("Send survey invitations")
        .assert_contains(r#"<dd id="survey-rate">—</dd>"#);
    send(&app, &class).await;
    // Two of three invited learners answer: q1 5 and 4, q2 4 and blank, q3 never.
    fixtures::import(
        &app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
C-S,ada@example.com,2026-03-06,5,4,,1,4
C-S,grace@example.com,2026-03-06,4,,,2,4
",
    )
    .await
    .unwrap();
    let page = coordinator.get(&format!("/classes/{}", class.id)).await;
    page.assert_contains(r#"<dd id="survey-invitations">3</dd>"#)
        .assert_contains(r#"<dd id="survey-responses">2</dd>"#)
        .assert_contains(r#"<dd id="survey-rate">67%</dd>"#);
    let average = |q: usize| {
        let marker = format!(r#"<tr id="survey-q{q}">"#);
        let row = &page.body[page.body.find(&marker).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        let start = row.find(r#"<td class="survey-average">"#).unwrap() + 27;
        row[start..row[start..].find('<').unwrap() + start].to_string()
    };
    assert_eq!(average(1), "4.50");
    assert_eq!(average(2), "4.00");
    assert_eq!(average(3), "—");
    assert_eq!(average(4), "1.50");
    assert_eq!(average(5), "4.00");
    // Readers see the figures, not the button.
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get(&format!("/classes/{}", class.id)).await;
    page.assert_contains(r#"<dd id="survey-rate">67%</dd>"#);
    assert!(!page.body.contains("Send survey invitations"));
}
db_test!(the_class_page_shows_rate_and_averages);

async fn the_ledger_never_holds_learner_personal_data(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    send(&app, &class).await;
    let token = token_of(&app, "edsger@example.com").await;
    let mut learner = app.anonymous();
    learner.get(&format!("/survey/{token}")).await;
    let comment = "Secret remark about Mr Dijkstra";
    learner
        .post(
            &format!("/survey/{token}"),
            &[("q1", "4"), ("comment", comment)],
        )
        .await;
    fixtures::import(
        &app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\nC-S,grace@example.com,2026-03-06,4,,,,\n",
    )
    .await
    .unwrap();
    svc::send_due_reminders(
        app.db(),
        &app.state.config.surveys,
        &app.state.link(""),
        &app.state.secret,
        chrono::Utc::now() + Duration::days(8),
    )
    .await
    .unwrap();
    let entries = ledger_entries::Entity::find().all(app.db()).await.unwrap();
    let survey_entries: Vec<_> = entries
        .iter()
        .filter(|e| e.entity_type.starts_with("survey_"))
        .collect();
    // 3 sends, a web answer and an import (response + invitation each), 1 reminder.
    assert_eq!(survey_entries.len(), 3 + 2 + 2 + 1);
    for e in &survey_entries {
        let text = format!("{} {} {:?} {}", e.changes, e.actor, e.reason, e.entity_id);
        for personal in NAMES.iter().chain(EMAILS.iter()) {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert!(!text.to_lowercase().contains("dijkstra"), "{text}");
        assert!(!text.contains("Secret remark"), "{text}");
    }
    // That a comment was given is recorded, not what it says.
    assert!(
        survey_entries
            .iter()
            .any(|e| e.changes.contains(r#""comment":{"changed":true}"#)),
        "{survey_entries:?}"
    );
    assert!(
        tsp_ledger::ledger::verify(app.db())
            .await
            .unwrap()
            .is_valid()
    );
}
db_test!(the_ledger_never_holds_learner_personal_data);

async fn invitations_skip_learners_who_already_answered(app: TestApp) {
    let class = class_with_roster(&app, "delivered").await;
    // Ada's answers came back from MTM before anyone was invited.
    fixtures::import(
        &app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\nC-S,ada@example.com,2026-03-06,5,5,5,5,5\n",
    )
    .await
    .unwrap();
    assert_eq!(send(&app, &class).await, "2 invitations queued");
    let mut to: Vec<String> = outbox(&app, "survey_invitation")
        .await
        .iter()
        .map(|m| m.to_address.to_lowercase())
        .collect();
    to.sort();
    assert_eq!(to, ["edsger@example.com", "grace@example.com"]);
    let ada = enrollment(&app, "ada@example.com").await;
    let invited_ada = survey_invitations::Entity::find()
        .filter(survey_invitations::Column::EnrollmentId.eq(ada.id))
        .all(app.db())
        .await
        .unwrap();
    assert!(invited_ada.is_empty());
    // Nor on the next send.
    assert_eq!(send(&app, &class).await, "0 invitations queued");
}
db_test!(invitations_skip_learners_who_already_answered);

/// Issue 15 item 2: answers that arrive together are committed together (fewer
/// transactions than answers), and each thank-you page means its answer is stored, with
/// its own ledger entries on an intact chain; a second answer on one link and an unknown
/// link in the same batch are refused alone.
async fn answers_arriving_together_share_a_commit_and_each_is_stored(app: TestApp) {
    const LEARNERS: usize = 60;
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Wave MCT", "MCT-W", fixtures::today_plus(365), None).await;
    let class = fixtures::class(
        &app,
        (
            "C-W",
            "AZ-104",
            "MCT-W",
            "2026-03-02",
            "2026-03-05",
            "virtual",
            "delivered",
        ),
    )
    .await;
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    for n in 0..LEARNERS {
        roster.push_str(&format!("C-W,Learner {n},l{n}@wave.example.com,true\n"));
    }
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    send(&app, &class).await;
    let mut paths: Vec<String> = tokens(&app)
        .await
        .into_iter()
        .map(|(_, token)| format!("/survey/{token}"))
        .collect();
    assert_eq!(paths.len(), LEARNERS);
    paths.push(paths[0].clone());
    paths.push(format!("/survey/{}", "ab".repeat(32)));
    let posts = paths.iter().map(|path| {
        let mut learner = app.anonymous();
        async move {
            learner.get(path).await;
            learner.post(path, &[("q1", "4"), ("q2", "5")]).await
        }
    });
    let answered = futures_util::future::join_all(posts).await;
    let thanked = answered
        .iter()
        .filter(|r| r.status == StatusCode::OK && r.body.contains("Thank you"))
        .count();
    assert_eq!(thanked, LEARNERS, "every distinct link thanked once");
    let first_link = [&answered[0], &answered[LEARNERS]];
    assert_eq!(
        first_link
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .count(),
        1,
        "the second answer on one link is refused"
    );
    assert_eq!(answered[LEARNERS + 1].status, StatusCode::NOT_FOUND);
    let stored = responses(&app).await;
    assert_eq!(stored.len(), LEARNERS);
    assert!(stored.iter().all(|r| r.q1 == Some(4) && r.q2 == Some(5)));
    let commits = app.state.survey_submissions.commits();
    assert!(
        commits < LEARNERS as u64,
        "{commits} commits for {LEARNERS} answers arriving together"
    );
    let created = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(t, a, _)| t == "survey_response" && a == "create")
        .count();
    assert_eq!(created, LEARNERS, "one ledger entry per stored answer");
    let chain = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert!(chain.is_valid(), "{chain:?}");
}
db_test!(answers_arriving_together_share_a_commit_and_each_is_stored);
