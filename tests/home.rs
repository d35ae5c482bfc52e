//! An MCT's home (issue 16 item 6): upcoming classes, deliveries to confirm, consent
//! requests; the secret, revocable calendar feed and the class assignment's `.ics`, both
//! read back with a real iCalendar parser.
use axum::http::StatusCode;
use entity::outbox_messages;
use icalendar::{Calendar, Component, DatePerhapsTime, EventLike};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tsp_ledger::domain::role::Role;

use crate::classes::class_form;
use crate::fixtures::{self, today_plus};
use crate::smtp::{self, SmtpServer};
use crate::support::{Client, TestApp};

/// AZ-104; Ana (MCT-1) signs in as a trainer; Bo (MCT-2) does not.
/// Ana: C-NEXT (in 10 days), C-NOW (under way), C-DONE (delivered, ended 2 days ago),
/// C-OFF (cancelled, in 20 days). Bo: C-BO (in 10 days).
async fn setup(app: &TestApp) -> Client<'_> {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    let ana_user = app.create_user(Role::Trainer, "ana@example.com").await;
    fixtures::trainer(app, "Ana Alves", "MCT-1", today_plus(900), Some(ana_user)).await;
    fixtures::trainer(app, "Bo Berg", "MCT-2", today_plus(900), None).await;
    let day = |n: i64| today_plus(n).to_string();
    for (r, mct, from, to, status) in [
        ("C-NEXT", "MCT-1", 10, 13, "scheduled"),
        ("C-NOW", "MCT-1", -1, 2, "delivered"),
        ("C-DONE", "MCT-1", -5, -2, "delivered"),
        ("C-OFF", "MCT-1", 20, 21, "cancelled"),
        ("C-BO", "MCT-2", 10, 13, "scheduled"),
    ] {
        fixtures::class(
            app,
            (r, "AZ-104", mct, &day(from), &day(to), "virtual", status),
        )
        .await;
    }
    app.client_for(ana_user).await
}

fn section(body: &str, heading: &str) -> String {
    let start = body
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in\n{body}"));
    let end = body[start..].find("</section>").unwrap();
    body[start..start + end].to_string()
}

async fn an_mcts_home_shows_what_is_coming_and_what_waits_for_them(app: TestApp) {
    let mut ana = setup(&app).await;
    let home = ana.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_contains("Welcome, Ana Alves")
        .assert_contains("My survey results");
    let upcoming = section(&home.body, "Upcoming classes");
    assert!(
        upcoming.contains("C-NEXT") && upcoming.contains("C-NOW"),
        "{upcoming}"
    );
    assert!(
        !upcoming.contains("C-OFF") && !upcoming.contains("C-DONE"),
        "{upcoming}"
    );
    assert!(
        upcoming.find("C-NOW").unwrap() < upcoming.find("C-NEXT").unwrap(),
        "soonest first"
    );
    let confirm = section(&home.body, "Deliveries to confirm");
    assert!(
        confirm.contains("C-DONE") && !confirm.contains("C-NOW"),
        "{confirm}"
    );
    assert!(!home.body.contains("C-BO"), "another MCT's class");

    // A trainer account linked to no MCT is told so.
    let mut unlinked = app.client_as(Role::Trainer).await;
    unlinked
        .get("/")
        .await
        .assert_contains("not linked to an MCT record yet");

    // A recording Ana presents asks for her consent: it waits on her home.
    let s = crate::recordings::setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = crate::recordings::create_recording(&mut coordinator, &s.class.class_ref).await;
    let mut rita = app.client_for(s.presenter).await;
    let home = rita.get("/").await;
    let consent = section(&home.body, "Consent requests");
    assert!(
        consent.contains(&format!("href=\"/recordings/{id}\"")),
        "{consent}"
    );
    let granted = rita
        .post(&format!("/recordings/{id}/consent"), &[("change", "grant")])
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER);
    let home = rita.get("/").await;
    assert!(!section(&home.body, "Consent requests").contains(&format!("/recordings/{id}\"")));
}
db_test!(an_mcts_home_shows_what_is_coming_and_what_waits_for_them);

fn feed_url_in(body: &str) -> String {
    let start = body.find("/calendar/").expect("a feed address");
    let rest = &body[start..];
    rest[..rest.find(".ics").unwrap() + 4].to_string()
}

fn parse(ics: &str) -> Calendar {
    ics.parse::<Calendar>()
        .unwrap_or_else(|e| panic!("{e}\n{ics}"))
}

async fn the_calendar_feed_is_secret_revocable_and_reads_as_icalendar(app: TestApp) {
    let mut ana = setup(&app).await;
    let made = ana.post("/calendar/feed", &[]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let path = feed_url_in(&made.body);
    assert!(
        !ana.get("/").await.body.contains(&path),
        "the address is shown once"
    );

    let mut anyone = app.anonymous();
    let feed = anyone.get(&path).await;
    assert_eq!(feed.status, StatusCode::OK);
    let calendar = parse(&feed.body);
    let mut events: Vec<(String, DatePerhapsTime, DatePerhapsTime, String)> = calendar
        .events()
        .map(|e| {
            (
                e.get_summary().unwrap().to_string(),
                e.get_start().unwrap(),
                e.get_end().unwrap(),
                e.property_value("STATUS").unwrap().to_string(),
            )
        })
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let date = |n: i64| DatePerhapsTime::Date(today_plus(n));
    assert_eq!(
        events,
        [
            (
                "AZ-104 Course AZ-104 (C-DONE)".into(),
                date(-5),
                date(-1),
                "CONFIRMED".into()
            ),
            (
                "AZ-104 Course AZ-104 (C-NEXT)".into(),
                date(10),
                date(14),
                "CONFIRMED".into()
            ),
            (
                "AZ-104 Course AZ-104 (C-NOW)".into(),
                date(-1),
                date(3),
                "CONFIRMED".into()
            ),
            (
                "AZ-104 Course AZ-104 (C-OFF)".into(),
                date(20),
                date(22),
                "CANCELLED".into()
            ),
        ],
        "Ana's classes only, each day of each class, the end exclusive"
    );
    assert!(!feed.body.contains("C-BO"));

    // A new address stops the old one; turning the feed off stops the new one.
    let again = ana.post("/calendar/feed", &[]).await;
    let newer = feed_url_in(&again.body);
    assert_ne!(newer, path);
    assert_eq!(anyone.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(anyone.get(&newer).await.status, StatusCode::OK);
    let off = ana.post("/calendar/feed/revoke", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(anyone.get(&newer).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        anyone.get("/calendar/nonsense.ics").await.status,
        StatusCode::NOT_FOUND
    );
    // Only an MCT has a feed.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    assert_eq!(
        coordinator.post("/calendar/feed", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    // The ledger says the address changed, never what it is.
    let entries = app.ledger_actions().await;
    assert!(
        entries
            .iter()
            .any(|(_, action, _)| action == "calendar_feed_new")
    );
    assert!(
        entries
            .iter()
            .any(|(_, action, _)| action == "calendar_feed_revoke")
    );
}
db_test!(the_calendar_feed_is_secret_revocable_and_reads_as_icalendar);

async fn assignments(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq("class_assignment"))
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn assigning_a_class_emails_its_mct_with_the_class_as_a_calendar_attachment(app: TestApp) {
    let port = smtp::free_port();
    let Some(server) = SmtpServer::start(port).await else {
        return;
    };
    setup(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let (from, to) = (today_plus(30).to_string(), today_plus(31).to_string());
    let mut form = class_form("C-NEW", "AZ-104", "MCT-1", &from, &to);
    form.push(("location", "Leeds, Room 4; 2nd floor"));
    let created = coordinator.post("/classes", &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let mail = assignments(&app).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to_address, "mct-1@mct.example.com");
    assert_eq!(mail[0].subject, "You are teaching C-NEW");
    let calendar = parse(mail[0].calendar.as_deref().expect("an .ics attached"));
    let event = calendar.events().next().expect("one event");
    assert_eq!(
        event.get_start(),
        Some(DatePerhapsTime::Date(today_plus(30)))
    );
    assert_eq!(event.get_end(), Some(DatePerhapsTime::Date(today_plus(32))));
    assert!(event.get_summary().unwrap().contains("C-NEW"));
    assert!(event.get_location().unwrap().contains("Leeds"));

    // Saved again with the same MCT: nobody is told again; given to Bo: Bo is.
    let id = crate::catalog::id_from_location(&created);
    let mut form = class_form("C-NEW", "AZ-104", "MCT-1", &from, &to);
    form.push(("location", "Leeds, Room 5"));
    coordinator.post(&format!("/classes/{id}"), &form).await;
    assert_eq!(assignments(&app).await.len(), 1);
    let form = class_form("C-NEW", "AZ-104", "MCT-2", &from, &to);
    coordinator.post(&format!("/classes/{id}"), &form).await;
    let mail = assignments(&app).await;
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[1].to_address, "mct-2@mct.example.com");

    // Through a real SMTP server: the calendar rides along as invite.ics.
    let config = crate::mail::smtp_config(&app, port, 3);
    crate::mail::worker(&app, &config).drain().await.unwrap();
    let received = server.wait_for(2).await;
    let to_ana = received
        .iter()
        .find(|m| m.contains("Subject: You are teaching C-NEW") && m.contains("To: mct-1@"))
        .expect("Ana's assignment arrived");
    assert!(to_ana.contains("multipart/mixed"), "{to_ana}");
    assert!(to_ana.contains("text/calendar"), "{to_ana}");
    assert!(to_ana.contains("invite.ics"), "{to_ana}");
}
db_test!(assigning_a_class_emails_its_mct_with_the_class_as_a_calendar_attachment);
