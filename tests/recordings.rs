//! Recordings (issue 6 items 1–5): consent by e-mail link, in-app and on paper; rules 2–6;
//! takedowns and their daily notice; the list, the dashboard card and the class form.
use axum::http::StatusCode;
use entity::{classes, outbox_messages, recording_consents, recordings};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::{takedowns, trainers as trainer_svc};

use crate::catalog::{changes, follow, id_from_location, ledger_of, unescape};
use crate::fixtures;
use crate::support::{Client, TestApp, TestResponse};
use tsp_ledger::domain::outbox::OutboxStatus;
use tsp_ledger::domain::recording::ConsentStatus;
use tsp_ledger::domain::recording::RecordingStatus;
use tsp_ledger::domain::recording::TakedownStatus;

/// The page's flash message (unescaped).
fn flash(page: &TestResponse) -> String {
    let marker = "<div class=\"flash flash-";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no flash message on the page:\n{}", page.body));
    let rest = &page.body[start + marker.len()..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    unescape(&text[..text.find("</div>").unwrap()])
}

async fn outbox(app: &TestApp, kind: &str) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq(kind))
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// The `/consent/<token>` token in an e-mail's text.
fn token_in(text: &str) -> String {
    let marker = "/consent/";
    let start = text.find(marker).expect("a consent link") + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

async fn consents(app: &TestApp, recording: i64) -> Vec<recording_consents::Model> {
    recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.eq(recording))
        .order_by_asc(recording_consents::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn recording(app: &TestApp, id: i64) -> recordings::Model {
    recordings::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// AZ-104 with a live class C-R (two learners) taught by MCT-R, who signs in as a
/// trainer (`presenter`, their user id). `affiliated` decides rule 2.
pub struct Setup {
    pub presenter: i64,
    pub class: classes::Model,
}

pub async fn setup(app: &TestApp, affiliated: bool) -> Setup {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    let presenter = app
        .create_user(Role::Trainer, "presenter@example.com")
        .await;
    let fields = trainer_svc::TrainerFields {
        name: "Rita Presenter".into(),
        email: "mct-r@mct.example.com".into(),
        mct_id: "MCT-R".into(),
        mct_valid_until: fixtures::today_plus(365).to_string(),
        affiliated: affiliated.to_string(),
    };
    trainer_svc::create(
        app.db(),
        &Actor::Cli,
        &fields.parse().unwrap(),
        Some(presenter),
    )
    .await
    .unwrap();
    let class = fixtures::class(
        app,
        (
            "C-R",
            "AZ-104",
            "MCT-R",
            "2026-03-02",
            "2026-03-05",
            "virtual",
            "confirmed",
        ),
    )
    .await;
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-R,Ada Lovelace,ada@example.com,true\nC-R,Grace Hopper,grace@example.com,true\n",
    )
    .await
    .unwrap();
    Setup { presenter, class }
}

pub async fn create_recording(coordinator: &mut Client<'_>, source: &str) -> i64 {
    create_recording_by(coordinator, "MCT-R", source).await
}

/// A recording of AZ-104 presented by `mct_id`, made from class `source`: its id.
pub async fn create_recording_by(coordinator: &mut Client<'_>, mct_id: &str, source: &str) -> i64 {
    let response = coordinator
        .post(
            "/recordings",
            &[
                ("title", "AZ-104 March cohort"),
                ("course_code", "AZ-104"),
                ("mct_id", mct_id),
                ("source_class_ref", source),
                ("courseware_version", ""),
                ("location", "https://videos.example.com/az104-march"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    id_from_location(&response)
}

/// Everyone grants (learners by link, the MCT in-app) and the coordinator publishes.
async fn publish_with_everyone_granting(app: &TestApp, s: &Setup, id: i64) {
    for message in outbox(app, "recording_consent").await {
        let token = token_in(&message.text_body);
        let mut learner = app.anonymous();
        learner.get(&format!("/consent/{token}")).await;
        let r = learner
            .post(&format!("/consent/{token}"), &[("change", "grant")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let mut mct = app.client_for(s.presenter).await;
    let r = mct
        .post(&format!("/recordings/{id}/consent"), &[("change", "grant")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let r = coordinator
        .post(&format!("/recordings/{id}/publish"), &[])
        .await;
    assert!(
        flash(&follow(&mut coordinator, &r).await).contains("is published"),
        "publishing with every consent granted"
    );
}

async fn rule_3_publishing_waits_for_every_subject_and_consent_comes_three_ways(app: TestApp) {
    let s = setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "c-r").await;
    let r = recording(&app, id).await;
    assert_eq!(r.status, RecordingStatus::Draft);
    assert_eq!(
        r.courseware_version, "2026-01",
        "blank: the course's version"
    );
    assert_eq!(r.source_class_id, Some(s.class.id));

    // Subjects: the MCT and both learners, learners by enrollment id only.
    let rows = consents(&app, id).await;
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|c| c.status == ConsentStatus::Requested));
    let roster = tsp_ledger::services::classes::roster(app.db(), s.class.id)
        .await
        .unwrap();
    let learner_rows: Vec<_> = rows.iter().filter(|c| c.enrollment_id.is_some()).collect();
    assert_eq!(learner_rows.len(), 2);
    assert!(learner_rows.iter().all(|c| c.token_hash.is_some()));
    // Two e-mails, one per learner, each with its own link; the token is stored hashed.
    let mails = outbox(&app, "recording_consent").await;
    assert_eq!(mails.len(), 2);
    let mut to: Vec<_> = mails.iter().map(|m| m.to_address.as_str()).collect();
    to.sort();
    assert_eq!(to, ["ada@example.com", "grace@example.com"]);
    let ada_mail = mails
        .iter()
        .find(|m| m.to_address == "ada@example.com")
        .unwrap();
    assert!(ada_mail.text_body.contains("Ada Lovelace"));
    let ada_token = token_in(&ada_mail.text_body);
    assert_eq!(ada_token.len(), 64);
    assert!(
        rows.iter()
            .all(|c| c.token_hash.as_deref() != Some(&ada_token))
    );
    // The ledger never names learners.
    for entry in tsp_ledger::ledger::history(app.db(), "recording", id, 100)
        .await
        .unwrap()
    {
        assert!(
            !entry.changes.contains("Ada") && !entry.changes.contains("ada@"),
            "{}",
            entry.changes
        );
    }

    // Publishing is refused, naming who has not granted.
    let response = coordinator
        .post(&format!("/recordings/{id}/publish"), &[])
        .await;
    let message = flash(&follow(&mut coordinator, &response).await);
    assert!(message.contains("cannot be published"), "{message}");
    assert!(
        message.contains("MCT Rita Presenter (requested)"),
        "{message}"
    );
    let ada = roster
        .iter()
        .find(|e| e.learner_name == "Ada Lovelace")
        .unwrap();
    let grace = roster
        .iter()
        .find(|e| e.learner_name == "Grace Hopper")
        .unwrap();
    assert!(
        message.contains(&format!("learner #{} (requested)", ada.id)),
        "{message}"
    );
    assert_eq!(recording(&app, id).await.status, RecordingStatus::Draft);

    // 1. Ada grants through her link (anonymous, no sign-in).
    let mut learner = app.anonymous();
    let page = learner.get(&format!("/consent/{ada_token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("What is recorded")
        .assert_contains("How it will be used")
        .assert_contains("AZ-104 March cohort");
    let page = learner
        .post(&format!("/consent/{ada_token}"), &[("change", "grant")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("your consent is recorded")
        .assert_contains("Revoke my consent");
    let ada_row = consents(&app, id)
        .await
        .into_iter()
        .find(|c| c.enrollment_id == Some(ada.id))
        .unwrap();
    assert_eq!(ada_row.status, ConsentStatus::Granted);
    assert_eq!(ada_row.method.map(|v| v.id()), Some("email_link"));
    let grant = ledger_of(&app, "recording_consent", ada_row.id).await;
    let grant = grant.last().unwrap();
    assert_eq!(grant.action, "grant");
    assert_eq!(grant.actor, format!("learner:{}", ada.id));
    assert_eq!(
        grant.parent.as_deref(),
        Some(format!("recording:{id}").as_str())
    );
    assert_eq!(changes(grant)["method"]["after"], "email_link");

    // 2. Grace's consent on paper: the note of where the paper is is required.
    let grace_row = consents(&app, id)
        .await
        .into_iter()
        .find(|c| c.enrollment_id == Some(grace.id))
        .unwrap();
    let path = format!("/recordings/{id}/consents/{}/paper", grace_row.id);
    let refused = coordinator
        .post(&path, &[("change", "grant"), ("note", "  ")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("where the signed paper is kept");
    assert_eq!(consents(&app, id).await[2].status, ConsentStatus::Requested);
    let r = coordinator
        .post(
            &path,
            &[("change", "grant"), ("note", "Binder 2026-Q1, page 12")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let paper = ledger_of(&app, "recording_consent", grace_row.id).await;
    let paper = paper.last().unwrap();
    assert_eq!(changes(paper)["method"]["after"], "paper");
    // The note is free text: kept beside the chain, the changes say only that it changed.
    assert_eq!(changes(paper)["note"], serde_json::json!({"changed": true}));
    let texts = tsp_ledger::ledger::texts_of(app.db(), std::slice::from_ref(paper))
        .await
        .unwrap();
    assert_eq!(
        tsp_ledger::ledger::all_texts_of(&texts, paper.id),
        "note: Binder 2026-Q1, page 12; given on paper (recorded by a coordinator)"
    );
    assert!(paper.reason.as_deref().unwrap().contains("on paper"));

    // Still refused: the MCT has not granted.
    let response = coordinator
        .post(&format!("/recordings/{id}/publish"), &[])
        .await;
    let message = flash(&follow(&mut coordinator, &response).await);
    assert!(
        message.contains("MCT Rita Presenter (requested)"),
        "{message}"
    );
    assert!(!message.contains("learner #"), "{message}");

    // 3. The MCT grants in-app; a coordinator cannot answer for them.
    let r = coordinator
        .post(&format!("/recordings/{id}/consent"), &[("change", "grant")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut mct = app.client_for(s.presenter).await;
    let page = mct.get(&format!("/recordings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("You present this recording");
    let r = mct
        .post(&format!("/recordings/{id}/consent"), &[("change", "grant")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mct_row = consents(&app, id)
        .await
        .into_iter()
        .find(|c| c.trainer_id.is_some())
        .unwrap();
    assert_eq!(mct_row.status, ConsentStatus::Granted);
    assert_eq!(mct_row.method.map(|v| v.id()), Some("in_app"));
    assert_eq!(
        ledger_of(&app, "recording_consent", mct_row.id)
            .await
            .last()
            .unwrap()
            .actor,
        format!("user:{}", s.presenter)
    );

    let response = coordinator
        .post(&format!("/recordings/{id}/publish"), &[])
        .await;
    assert!(flash(&follow(&mut coordinator, &response).await).contains("is published"));
    assert_eq!(recording(&app, id).await.status, RecordingStatus::Published);
    let publish = ledger_of(&app, "recording", id).await;
    assert_eq!(publish.last().unwrap().action, "publish");
    assert!(
        tsp_ledger::ledger::verify(app.db())
            .await
            .unwrap()
            .is_valid()
    );
}
db_test!(rule_3_publishing_waits_for_every_subject_and_consent_comes_three_ways);

async fn a_learners_revocation_via_the_link_flips_a_published_recording_to_needs_action(
    app: TestApp,
) {
    let s = setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "C-R").await;
    publish_with_everyone_granting(&app, &s, id).await;
    let list = coordinator.get("/recordings?show=attention").await;
    let link = format!("href=\"/recordings/{id}\"");
    assert!(
        !list.body.contains(&link),
        "nothing to do yet:\n{}",
        list.body
    );
    let dashboard = coordinator.get("/").await;
    dashboard.assert_contains("<strong>0</strong> need action");

    let mail = outbox(&app, "recording_consent").await.remove(0);
    let token = token_in(&mail.text_body);
    let mut learner = app.anonymous();
    learner.get(&format!("/consent/{token}")).await;
    let page = learner
        .post(&format!("/consent/{token}"), &[("change", "revoke")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Your consent is revoked")
        .assert_contains("I agree");

    // In the ledger, by the learner, saying the recording now needs action.
    let row = consents(&app, id)
        .await
        .into_iter()
        .find(|c| c.token_hash.as_deref() == Some(&tsp_ledger::auth::token_hash(&token)))
        .unwrap();
    assert_eq!(row.status, ConsentStatus::Revoked);
    let entries = ledger_of(&app, "recording_consent", row.id).await;
    let revoke = entries.last().unwrap();
    assert_eq!(revoke.action, "revoke");
    assert_eq!(
        revoke.actor,
        format!("learner:{}", row.enrollment_id.unwrap())
    );
    assert_eq!(changes(revoke)["status"]["before"], "granted");
    assert_eq!(changes(revoke)["status"]["after"], "revoked");
    assert_eq!(changes(revoke)["recording_needs_action"], true);

    // Still published, but flagged on the list, its page and the dashboard.
    assert_eq!(recording(&app, id).await.status, RecordingStatus::Published);
    let list = coordinator.get("/recordings?show=attention").await;
    list.assert_contains(&link)
        .assert_contains("Needs action")
        .assert_contains("Consent revoked")
        .assert_contains("never count toward any KPI");
    let dashboard = coordinator.get("/").await;
    dashboard
        .assert_contains("<strong>1</strong> needs action")
        .assert_contains("/recordings?show=attention");
    let page = coordinator.get(&format!("/recordings/{id}")).await;
    page.assert_contains("Needs action");

    // The coordinators are told, once (issue 16 item 2), and the To do page lists it.
    let (today, now) = (fixtures::today_plus(0), tsp_ledger::clock::now());
    let config = &app.state.config;
    let sent = tsp_ledger::services::todo::nudges::send_due(app.db(), config, today, now)
        .await
        .unwrap();
    assert_eq!(sent.consents_revoked, [row.id]);
    let notices = outbox(&app, "consent_revoked").await;
    let coordinators = sea_orm::PaginatorTrait::count(
        entity::users::Entity::find().filter(entity::users::Column::Role.eq(Role::Coordinator)),
        app.db(),
    )
    .await
    .unwrap();
    assert_eq!(notices.len() as u64, coordinators, "one per coordinator");
    assert_eq!(
        notices[0].subject,
        "Consent revoked: \"AZ-104 March cohort\" needs action"
    );
    assert!(
        notices[0].text_body.contains("Ada Lovelace")
            || notices[0].text_body.contains("Grace Hopper")
    );
    assert!(notices[0].text_body.contains(&format!("/recordings/{id}")));
    let again = tsp_ledger::services::todo::nudges::send_due(app.db(), config, today, now)
        .await
        .unwrap();
    assert!(again.consents_revoked.is_empty());
    coordinator
        .get("/todo")
        .await
        .assert_contains(&link)
        .assert_contains("consent revoked after publication");
}
db_test!(a_learners_revocation_via_the_link_flips_a_published_recording_to_needs_action);

async fn rule_2_official_content_needs_an_affiliated_presenter_in_good_standing(app: TestApp) {
    let s = setup(&app, false).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "").await;
    // No source class: the MCT is the only subject, and no learner is e-mailed.
    assert_eq!(consents(&app, id).await.len(), 1);
    assert!(outbox(&app, "recording_consent").await.is_empty());
    let mut mct = app.client_for(s.presenter).await;
    mct.post(&format!("/recordings/{id}/consent"), &[("change", "grant")])
        .await;
    let response = coordinator
        .post(&format!("/recordings/{id}/publish"), &[])
        .await;
    let message = flash(&follow(&mut coordinator, &response).await);
    assert!(
        message.contains("Rita Presenter is not affiliated"),
        "{message}"
    );
    assert!(!message.contains("consent subject"), "{message}");
    assert_eq!(recording(&app, id).await.status, RecordingStatus::Draft);
    // The page says so before anyone presses Publish.
    coordinator
        .get(&format!("/recordings/{id}"))
        .await
        .assert_contains("Not publishable yet")
        .assert_contains("not affiliated");
    // Unofficial content may be recorded by any trainer.
    fixtures::import(
        &app,
        Kind::TitlePlan,
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\nAZ-104,Course AZ-104,4,false,infrastructure,unofficial,2026-01\n",
    )
    .await
    .unwrap();
    let response = coordinator
        .post(&format!("/recordings/{id}/publish"), &[])
        .await;
    assert!(flash(&follow(&mut coordinator, &response).await).contains("is published"));
}
db_test!(rule_2_official_content_needs_an_affiliated_presenter_in_good_standing);

async fn rule_4_a_recording_behind_its_courses_courseware_is_outdated(app: TestApp) {
    setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "").await;
    let list = coordinator.get("/recordings").await;
    assert!(!list.body.contains("Outdated"));
    // The Title Plan moves AZ-104 to 2026-10; the recording was made against 2026-01.
    fixtures::import(
        &app,
        Kind::TitlePlan,
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\nAZ-104,Course AZ-104,4,false,infrastructure,official,2026-10\n",
    )
    .await
    .unwrap();
    let list = coordinator.get("/recordings").await;
    list.assert_contains("Outdated")
        .assert_contains("(course: 2026-10)");
    // Re-recorded against the new version: no longer outdated.
    let r = coordinator
        .post(
            &format!("/recordings/{id}"),
            &[
                ("title", "AZ-104 March cohort"),
                ("course_code", "AZ-104"),
                ("mct_id", "MCT-R"),
                ("courseware_version", "2026-10"),
                ("location", "https://videos.example.com/az104-march"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        !coordinator
            .get("/recordings")
            .await
            .body
            .contains("Outdated")
    );
    let update = ledger_of(&app, "recording", id).await;
    assert_eq!(
        changes(update.last().unwrap())["courseware_version"]["after"],
        "2026-10"
    );
    // The presenter cannot change.
    fixtures::trainer(&app, "Other", "MCT-O", fixtures::today_plus(365), None).await;
    let r = coordinator
        .post(
            &format!("/recordings/{id}"),
            &[
                ("title", "AZ-104 March cohort"),
                ("course_code", "AZ-104"),
                ("mct_id", "MCT-O"),
                ("location", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("cannot change");
}
db_test!(rule_4_a_recording_behind_its_courses_courseware_is_outdated);

fn recorded_class(recording: &str) -> Vec<(&'static str, String)> {
    vec![
        ("class_ref", "C-REC-1".into()),
        ("course_code", "AZ-104".into()),
        ("mct_id", "MCT-R".into()),
        ("start_date", "2026-04-01".into()),
        ("end_date", "2026-04-30".into()),
        ("modality", "recorded".into()),
        ("recording_id", recording.into()),
    ]
}

async fn post_class(client: &mut Client<'_>, fields: &[(&'static str, String)]) -> TestResponse {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post("/classes", &fields).await
}

async fn rule_3_only_published_recordings_back_a_new_recorded_class(app: TestApp) {
    let s = setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "C-R").await;
    // A draft is refused.
    let r = post_class(&mut coordinator, &recorded_class(&id.to_string())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("is a draft");
    // A live class names no recording.
    let mut live = recorded_class(&id.to_string());
    live[5].1 = "virtual".into();
    publish_with_everyone_granting(&app, &s, id).await;
    let r = post_class(&mut coordinator, &live).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("only a recorded class delivers a recording");
    // Published, same course: accepted and kept on the class.
    let form = coordinator.get("/classes/new").await;
    form.assert_contains("AZ-104 — AZ-104 March cohort");
    let r = post_class(&mut coordinator, &recorded_class(&id.to_string())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let class = tsp_ledger::services::classes::by_ref(app.db(), "C-REC-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(class.recording_id, Some(id));
    coordinator
        .get(&format!("/classes/{}", class.id))
        .await
        .assert_contains(&format!(
            "<dt>Recording</dt><dd><a href=\"/recordings/{id}\">AZ-104 March cohort</a>"
        ));
    let create = ledger_of(&app, "class", class.id).await;
    assert_eq!(changes(&create[0])["recording_id"]["after"], id);

    // A takedown completed: the recording is withdrawn, the classes that used it listed.
    let r = coordinator
        .post(
            &format!("/recordings/{id}/takedowns"),
            &[
                ("reference", "CR-2026-77"),
                ("reason", "outdated"),
                ("received_on", "2026-05-01"),
                ("due_on", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("is before the date it was received");
    let r = coordinator
        .post(
            &format!("/recordings/{id}/takedowns"),
            &[
                ("reference", "CR-2026-77"),
                ("reason", "outdated"),
                ("received_on", "2026-05-01"),
                ("due_on", "2026-05-15"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let takedown = entity::takedowns::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(takedown.status, TakedownStatus::Open);
    let r = coordinator
        .post(
            &format!("/takedowns/{}/status", takedown.id),
            &[
                ("status", "completed"),
                ("notes", "removed from the portal"),
            ],
        )
        .await;
    let message = flash(&follow(&mut coordinator, &r).await);
    assert!(
        message.contains("AZ-104 March cohort is withdrawn"),
        "{message}"
    );
    assert!(message.contains("C-REC-1"), "{message}");
    assert_eq!(recording(&app, id).await.status, RecordingStatus::Withdrawn);
    let withdraw = ledger_of(&app, "recording", id).await;
    let withdraw = withdraw.last().unwrap();
    assert_eq!(withdraw.action, "withdraw");
    assert_eq!(
        withdraw.reason.as_deref(),
        Some("takedown CR-2026-77 completed")
    );
    let complete = ledger_of(&app, "takedown", takedown.id).await;
    assert_eq!(complete.last().unwrap().action, "complete");
    // The page lists the class that used it; a completed takedown is closed.
    coordinator
        .get(&format!("/recordings/{id}"))
        .await
        .assert_contains("C-REC-1");
    let r = coordinator
        .post(
            &format!("/takedowns/{}/status", takedown.id),
            &[("status", "open")],
        )
        .await;
    assert!(flash(&follow(&mut coordinator, &r).await).contains("closed"));

    // Withdrawn: it cannot back a new recorded class; the class that has it keeps it.
    let mut again = recorded_class(&id.to_string());
    again[0].1 = "C-REC-2".into();
    let r = post_class(&mut coordinator, &again).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("is withdrawn");
    assert!(
        tsp_ledger::services::classes::by_ref(app.db(), "C-REC-2")
            .await
            .unwrap()
            .is_none()
    );
    let mut edit = recorded_class(&id.to_string());
    edit[4].1 = "2026-05-02".into();
    let fields: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = coordinator
        .post(&format!("/classes/{}", class.id), &fields)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}
db_test!(rule_3_only_published_recordings_back_a_new_recorded_class);

async fn rule_6_overdue_takedowns_are_emailed_to_coordinators_once_a_day(app: TestApp) {
    setup(&app, true).await;
    let c1 = app.create_user(Role::Coordinator, "c1@example.com").await;
    app.create_user(Role::Coordinator, "c2@example.com").await;
    app.create_user(Role::Viewer, "v@example.com").await;
    let mut coordinator = app.client_for(c1).await;
    let id = create_recording(&mut coordinator, "").await;
    let today = fixtures::today_plus(0);
    let due = today - chrono::Duration::days(2);
    let input = takedowns::TakedownFields {
        reference: "CR-9".into(),
        reason: "misaligned".into(),
        received_on: (due - chrono::Duration::days(14)).to_string(),
        due_on: due.to_string(),
        notes: String::new(),
    }
    .parse()
    .unwrap();
    let takedown = takedowns::record(app.db(), &Actor::User(c1), id, &input)
        .await
        .unwrap();
    let link = "http://ledger.example/recordings";
    // On its due date it is not overdue yet: nothing is sent.
    assert_eq!(
        takedowns::queue_overdue_notices(app.db(), due, link)
            .await
            .unwrap(),
        0
    );
    // The day after: one notice per active coordinator (not the viewer), once that day.
    let day = due + chrono::Duration::days(1);
    assert_eq!(
        takedowns::queue_overdue_notices(app.db(), day, link)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        takedowns::queue_overdue_notices(app.db(), day, link)
            .await
            .unwrap(),
        0
    );
    let notices = outbox(&app, "takedown_overdue").await;
    let mut to: Vec<_> = notices.iter().map(|m| m.to_address.as_str()).collect();
    to.sort();
    assert_eq!(to, ["c1@example.com", "c2@example.com"]);
    assert!(
        notices[0].text_body.contains("CR-9"),
        "{}",
        notices[0].text_body
    );
    assert!(notices[0].text_body.contains("1 day overdue"));
    assert_eq!(notices[0].subject, "1 takedown is overdue");
    // The next day again, until handled; the dashboard shows it meanwhile.
    assert_eq!(
        takedowns::queue_overdue_notices(app.db(), today, link)
            .await
            .unwrap(),
        2
    );
    coordinator
        .get("/")
        .await
        .assert_contains("<strong>1</strong> takedown overdue");
    coordinator
        .get("/recordings")
        .await
        .assert_contains("Takedown overdue");
    // Disputed: no longer overdue, no more notices.
    takedowns::change_status(
        app.db(),
        &Actor::User(c1),
        takedown.id,
        tsp_ledger::domain::recording::TakedownStatus::Disputed,
        today,
        "we disagree",
    )
    .await
    .unwrap();
    assert_eq!(
        takedowns::queue_overdue_notices(app.db(), today + chrono::Duration::days(1), link)
            .await
            .unwrap(),
        0
    );
    coordinator
        .get("/")
        .await
        .assert_contains("<strong>0</strong> takedowns overdue");
    assert_eq!(
        recording(&app, id).await.status,
        RecordingStatus::Draft,
        "a dispute withdraws nothing"
    );
}
db_test!(rule_6_overdue_takedowns_are_emailed_to_coordinators_once_a_day);

async fn consent_links_are_personal_unguessable_and_removed_from_the_outbox_once_sent(
    app: TestApp,
) {
    setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "C-R").await;
    let mut anonymous = app.anonymous();
    let bad = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(
        anonymous.get(&format!("/consent/{bad}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anonymous.get("/consent/short").await.status,
        StatusCode::NOT_FOUND
    );
    let token = token_in(&outbox(&app, "recording_consent").await[0].text_body);
    let page = anonymous.get(&format!("/consent/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    // The page shows no other learner.
    assert!(!page.body.contains("Grace Hopper") && !page.body.contains("Ada Lovelace"));
    // A bad answer changes nothing.
    let r = anonymous
        .post(&format!("/consent/{token}"), &[("change", "maybe")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        consents(&app, id)
            .await
            .iter()
            .all(|c| c.status == ConsentStatus::Requested)
    );
    // Declined, then revoking is refused politely (nothing to revoke).
    anonymous
        .post(&format!("/consent/{token}"), &[("change", "decline")])
        .await
        .assert_contains("will not be published with you in it");
    let r = anonymous
        .post(&format!("/consent/{token}"), &[("change", "revoke")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    r.assert_contains("only granted consent can be revoked");

    // Sent: the stored body no longer holds the link.
    let report = app.state.mail_worker().unwrap().drain().await.unwrap();
    assert!(report.sent >= 2);
    for m in outbox(&app, "recording_consent").await {
        assert_eq!(m.status, OutboxStatus::Sent);
        assert!(!m.text_body.contains("/consent/"), "{}", m.text_body);
        assert!(!m.html_body.contains("/consent/"));
    }
    // A cancelled link (erasure nulls the hash) is a 404.
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    for c in consents(&app, id).await {
        let mut a: recording_consents::ActiveModel = c.into();
        a.token_hash = Set(None);
        a.update(app.db()).await.unwrap();
    }
    assert_eq!(
        anonymous.get(&format!("/consent/{token}")).await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(consent_links_are_personal_unguessable_and_removed_from_the_outbox_once_sent);

async fn new_roster_learners_block_publishing_until_asked(app: TestApp) {
    let s = setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "C-R").await;
    publish_with_everyone_granting(&app, &s, id).await;
    // A learner added to the source class afterwards: the recording needs action.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-R,Alan Turing,alan@example.com,true\n",
    )
    .await
    .unwrap();
    let page = coordinator.get(&format!("/recordings/{id}")).await;
    page.assert_contains("Needs action")
        .assert_contains("not asked yet")
        .assert_contains("Request consent from 1 new learner");
    let r = coordinator
        .post(&format!("/recordings/{id}/consents/request"), &[])
        .await;
    assert!(flash(&follow(&mut coordinator, &r).await).contains("from 1 new learner"));
    let mails = outbox(&app, "recording_consent").await;
    assert_eq!(mails.len(), 3);
    assert_eq!(mails[2].to_address, "alan@example.com");
    assert_eq!(consents(&app, id).await.len(), 4);
    // Asking again asks nobody.
    let r = coordinator
        .post(&format!("/recordings/{id}/consents/request"), &[])
        .await;
    assert!(flash(&follow(&mut coordinator, &r).await).contains("asked already"));
}
db_test!(new_roster_learners_block_publishing_until_asked);

async fn trainers_see_only_the_recordings_they_present(app: TestApp) {
    let s = setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "").await;
    let mut mct = app.client_for(s.presenter).await;
    mct.get("/recordings")
        .await
        .assert_contains("AZ-104 March cohort")
        .assert_contains("My recordings");
    let other = app.create_user(Role::Trainer, "other@example.com").await;
    fixtures::trainer(
        &app,
        "Other MCT",
        "MCT-X",
        fixtures::today_plus(365),
        Some(other),
    )
    .await;
    let mut stranger = app.client_for(other).await;
    let list = stranger.get("/recordings").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("AZ-104 March cohort"));
    assert_eq!(
        stranger.get(&format!("/recordings/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        stranger
            .post(&format!("/recordings/{id}/consent"), &[("change", "grant")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        consents(&app, id)
            .await
            .iter()
            .all(|c| c.status == ConsentStatus::Requested)
    );
    // A viewer reads, but the page offers no change.
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get(&format!("/recordings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("/publish"));
}
db_test!(trainers_see_only_the_recordings_they_present);

async fn erasing_a_learner_cancels_their_consent_link_and_keeps_the_history(app: TestApp) {
    setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "C-R").await;
    let messages = outbox(&app, "recording_consent").await;
    let link = |address: &str| {
        token_in(
            &messages
                .iter()
                .find(|m| m.to_address == address)
                .expect("a consent request to that learner")
                .text_body,
        )
    };
    let (ada, grace) = (link("ada@example.com"), link("grace@example.com"));
    let mut anonymous = app.anonymous();
    anonymous
        .post(&format!("/consent/{ada}"), &[("change", "grant")])
        .await;
    let before = consents(&app, id).await;
    tsp_ledger::services::erasure::erase(
        app.db(),
        &Actor::Cli,
        "ada@example.com",
        "REQ-77",
        "true",
    )
    .await
    .unwrap();
    assert_eq!(
        anonymous.get(&format!("/consent/{ada}")).await.status,
        StatusCode::NOT_FOUND,
        "the erased learner's link is dead"
    );
    assert_eq!(
        anonymous.get(&format!("/consent/{grace}")).await.status,
        StatusCode::OK,
        "another learner's link still works"
    );
    // The consent rows and their answers stay, by enrollment id.
    let after = consents(&app, id).await;
    let summary = |rows: &[recording_consents::Model]| {
        rows.iter()
            .map(|c| (c.enrollment_id, c.status))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&before), summary(&after));
    assert!(after.iter().any(|c| c.status == ConsentStatus::Granted));
    assert_eq!(
        after.iter().filter(|c| c.token_hash.is_none()).count(),
        before.iter().filter(|c| c.token_hash.is_none()).count() + 1
    );
}
db_test!(erasing_a_learner_cancels_their_consent_link_and_keeps_the_history);

async fn consent_is_requested_only_from_learners_who_attended(app: TestApp) {
    let s = setup(&app, true).await;
    // Alan was enrolled but absent: he is not in the recording.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-R,Alan Turing,alan@example.com,false\n",
    )
    .await
    .unwrap();
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = create_recording(&mut coordinator, "C-R").await;
    let mut to: Vec<String> = outbox(&app, "recording_consent")
        .await
        .into_iter()
        .map(|m| m.to_address)
        .collect();
    to.sort();
    assert_eq!(to, ["ada@example.com", "grace@example.com"]);
    // The MCT and the two attendees are the subjects; Alan is not "not asked yet".
    assert_eq!(consents(&app, id).await.len(), 3);
    let page = coordinator.get(&format!("/recordings/{id}")).await;
    assert!(!page.body.contains("not asked yet"), "{}", page.body);
    let r = coordinator
        .post(&format!("/recordings/{id}/consents/request"), &[])
        .await;
    assert!(flash(&follow(&mut coordinator, &r).await).contains("asked already"));
    // Everyone who attended grants: the recording can be published.
    publish_with_everyone_granting(&app, &s, id).await;
    assert_eq!(recording(&app, id).await.status, RecordingStatus::Published);
}
db_test!(consent_is_requested_only_from_learners_who_attended);
