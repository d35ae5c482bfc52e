//! What needs doing (issue 16 item 2): the To do page, the dashboard's card, the nudges
//! (each e-mailed once, through a real SMTP server) and the warning on saving an MCT.
use axum::http::StatusCode;
use chrono::Duration;
use entity::outbox_messages;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::codes::{self, CodeLinks};
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::todo::nudges;

use crate::fixtures::{self, today_plus};
use crate::smtp::{self, SmtpServer};
use crate::support::TestApp;

struct Setup {
    past: i64,
    unconfirmed: i64,
    breaks: i64,
    coded: i64,
    ben: i64,
}

/// AZ-104 (official); Ana (MCT-1, valid for years) and Ben (MCT-2, valid 20 more days);
/// - C-PAST: ended 8 days ago, still scheduled;
/// - C-UNCONF: delivered, ended 6 days ago, not confirmed;
/// - C-BREAK: Ben's, in 30 days, scheduled while he was valid, then his date moved back;
/// - C-CODE: confirmed, 3 weeks ago, its one learner's code issued 20 days ago, unredeemed;
/// - one failed e-mail.
async fn setup(app: &TestApp) -> Setup {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(app, "Ana Alves", "MCT-1", today_plus(900), None).await;
    let ben = fixtures::trainer(app, "Ben Brown", "MCT-2", today_plus(400), None).await;
    let day = |n: i64| today_plus(n).to_string();
    let class = |r: &'static str, mct: &'static str, from: i64, to: i64, status: &'static str| {
        let (from, to) = (day(from), day(to));
        async move {
            fixtures::class(app, (r, "AZ-104", mct, &from, &to, "in_person", status))
                .await
                .id
        }
    };
    let past = class("C-PAST", "MCT-1", -10, -8, "scheduled").await;
    let unconfirmed = class("C-UNCONF", "MCT-1", -9, -6, "delivered").await;
    let breaks = class("C-BREAK", "MCT-2", 30, 33, "scheduled").await;
    let coded = class("C-CODE", "MCT-1", -25, -22, "confirmed").await;
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-CODE,Lena Learner,lena@example.com,true\n",
    )
    .await
    .unwrap();
    fixtures::import(app, Kind::CodePool, "achievement_code\nCODE-0001\n")
        .await
        .unwrap();
    let links = CodeLinks {
        page_base: "https://ledger.example/codes",
        redeem_url: "https://learn.example/redeem",
    };
    codes::issue(app.db(), &Actor::Cli, coded, today_plus(-20), links)
        .await
        .unwrap();
    // Ben's renewal was recorded wrongly: valid until 20 days from now.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let saved = coordinator
        .post(
            &format!("/trainers/{}", ben.id),
            &[
                ("name", "Ben Brown"),
                ("email", "mct-2@mct.example.com"),
                ("mct_id", "MCT-2"),
                ("mct_valid_until", &day(20)),
                ("affiliated", "true"),
                ("user_id", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = coordinator.get(&format!("/trainers/{}", ben.id)).await;
    page.assert_contains("Ben Brown saved.")
        .assert_contains(&format!(
            "good standing ends on {}, before these classes of official content end: C-BREAK (ends {})",
            day(20),
            day(33)
        ));
    app.db()
        .execute_unprepared(
            "INSERT INTO outbox_messages (kind, to_address, subject, text_body, html_body, message_id, \
             status, attempts, next_attempt_at, created_at) VALUES ('password_reset', 'gone@example.com', \
             'Reset', '', '', '<x@y>', 'failed', 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        )
        .await
        .unwrap();
    Setup {
        past,
        unconfirmed,
        breaks,
        coded,
        ben: ben.id,
    }
}

async fn the_to_do_page_lists_what_needs_doing_with_links_to_the_records(app: TestApp) {
    let s = setup(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get("/todo").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for (class, why) in [
        (s.past, "Past classes still scheduled"),
        (
            s.unconfirmed,
            "Deliveries waiting for their MCT's confirmation",
        ),
        (s.breaks, "Classes whose MCT's standing ends first"),
        (s.coded, "Codes not redeemed after 14 days"),
    ] {
        page.assert_contains(&format!("href=\"/classes/{class}\""))
            .assert_contains(why);
    }
    page.assert_contains(&format!("href=\"/trainers/{}\"", s.ben))
        .assert_contains("MCT standing ending within 90 days")
        .assert_contains("CODE-0001")
        .assert_contains("Lena Learner")
        .assert_contains("gone@example.com")
        .assert_contains("reminder due");
    // Not listed where it does not belong: the confirmed-in-time and future classes.
    let section = |title: &str| {
        let start = page.body.find(title).unwrap();
        let end = page.body[start..].find("</section>").unwrap();
        page.body[start..start + end].to_string()
    };
    assert!(!section("Past classes still scheduled").contains("C-UNCONF"));
    assert!(!section("Past classes still scheduled").contains("C-BREAK"));
    assert!(section("Deliveries waiting").contains("C-UNCONF"));
    assert!(
        !section("Deliveries waiting").contains("C-CODE"),
        "confirmed"
    );

    let dashboard = coordinator.get("/").await;
    dashboard
        .assert_contains("<strong>1</strong> past class still scheduled")
        .assert_contains("<strong>1</strong> delivery to be confirmed")
        .assert_contains("<strong>1</strong> class outlasting their MCT's standing")
        .assert_contains("<strong>1</strong> MCT standing ending within 90 days")
        .assert_contains("<strong>1</strong> code not redeemed")
        .assert_contains("<strong>1</strong> failed e-mail")
        .assert_contains("href=\"/todo\"");

    // Readers only: an MCT has their own home, anonymous visitors sign in.
    let mut viewer = app.client_as(Role::Viewer).await;
    assert_eq!(viewer.get("/todo").await.status, StatusCode::OK);
    let mut trainer = app.client_as(Role::Trainer).await;
    assert_eq!(trainer.get("/todo").await.status, StatusCode::FORBIDDEN);
}
db_test!(the_to_do_page_lists_what_needs_doing_with_links_to_the_records);

async fn outbox(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

fn to_and_subject(m: &outbox_messages::Model) -> (String, String) {
    (m.to_address.clone(), m.subject.clone())
}

async fn coordinator_emails(app: &TestApp) -> Vec<String> {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::users::Entity::find()
        .filter(entity::users::Column::Role.eq(Role::Coordinator))
        .order_by_asc(entity::users::Column::Id)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect()
}

async fn nudges_are_emailed_once_each_through_a_real_smtp_server(app: TestApp) {
    let port = smtp::free_port();
    let Some(server) = SmtpServer::start(port).await else {
        return;
    };
    setup(&app).await;
    app.create_user(Role::Coordinator, "cora@example.com").await;
    let before = outbox(&app).await.len();
    let config = &app.state.config;
    let today = today_plus(0);
    let now = tsp_ledger::clock::now();

    let sent = nudges::send_due(app.db(), config, today, now)
        .await
        .unwrap();
    assert_eq!(sent.confirmation_reminders.len(), 1, "{sent:?}");
    assert_eq!(sent.code_reminders.len(), 1, "{sent:?}");
    assert_eq!(
        sent.standing_warnings.len(),
        1,
        "Ben, 20 days left: {sent:?}"
    );
    assert_eq!(
        sent.standing_warnings[0].1, 30,
        "the nearest threshold reached"
    );
    assert!(
        sent.confirmations_overdue.is_empty(),
        "the MCT was only just reminded"
    );
    let queued: Vec<_> = outbox(&app).await[before..]
        .iter()
        .map(to_and_subject)
        .collect();
    let coordinators = coordinator_emails(&app).await;
    assert_eq!(coordinators.len(), 2, "the one who saved Ben, and Cora");
    let mut expected: Vec<(String, String)> = vec![
        (
            "mct-1@mct.example.com".into(),
            "Reminder: please confirm your delivery of C-UNCONF".into(),
        ),
        (
            "lena@example.com".into(),
            "Reminder: redeem your Microsoft achievement code for AZ-104".into(),
        ),
        (
            "mct-2@mct.example.com".into(),
            "MCT good standing ending: Ben Brown, 20 days left".into(),
        ),
    ];
    for c in &coordinators {
        expected.push((c.clone(), "MCT good standing ending: 1 MCT".into()));
    }
    assert_eq!(queued, expected);

    // Sent once: the same pass again, even on another instance, queues nothing.
    let again = nudges::send_due(app.db(), config, today, now)
        .await
        .unwrap();
    assert_eq!(again.emails, 0, "{again:?}");
    let other = app.instance(app.db().clone());
    let again = nudges::send_due(other.db(), config, today, now)
        .await
        .unwrap();
    assert_eq!(again.emails, 0, "{again:?}");

    // Eight days later: coordinators hear of the class its MCT still has not confirmed, and
    // Ben's 15-day warning is due; the code reminder is not sent again.
    let later = nudges::send_due(
        app.db(),
        config,
        today + Duration::days(8),
        now + Duration::days(8),
    )
    .await
    .unwrap();
    assert_eq!(later.confirmations_overdue.len(), 1, "{later:?}");
    assert!(later.confirmation_reminders.is_empty() && later.code_reminders.is_empty());
    assert_eq!(later.standing_warnings.len(), 1);
    assert_eq!(later.standing_warnings[0].1, 15);
    let latest: Vec<_> = outbox(&app).await[before + expected.len()..]
        .iter()
        .map(to_and_subject)
        .collect();
    assert!(
        latest.contains(&(
            "cora@example.com".into(),
            "1 delivery still unconfirmed".into()
        )),
        "{latest:?}"
    );

    // Through the real SMTP server, the learner's reminder carries the code and the link.
    let mail = crate::mail::smtp_config(&app, port, 3);
    let worker = crate::mail::worker(&app, &mail);
    let queued = outbox(&app)
        .await
        .iter()
        .filter(|m| m.status == tsp_ledger::domain::outbox::OutboxStatus::Queued)
        .count();
    let report = worker.drain().await.unwrap();
    assert_eq!(report.sent as usize, queued);
    let received = server.wait_for(report.sent as usize).await;
    let to_lena = received
        .iter()
        .find(|m| m.contains("To: lena@example.com") && m.contains("Subject: Reminder: redeem"))
        .map(|m| smtp::unfold_quoted_printable(m))
        .expect("the learner's reminder arrived");
    assert!(to_lena.contains("CODE-0001"), "{to_lena}");
    assert!(
        to_lena.contains("https://learn.microsoft.com/training/redeem"),
        "{to_lena}"
    );
    assert!(
        received
            .iter()
            .any(|m| m.contains("To: mct-1@mct.example.com")
                && smtp::unfold_quoted_printable(m).contains("/classes/"))
    );
    // The code sits in the reminder only until it is sent (a personal message).
    let stored = outbox(&app).await;
    let reminder = stored
        .iter()
        .find(|m| m.to_address == "lena@example.com")
        .unwrap();
    assert!(!reminder.text_body.contains("CODE-0001"));
}
db_test!(nudges_are_emailed_once_each_through_a_real_smtp_server);
