//! Scale-out (issue 7 item 4): two app instances — two processes, as on two machines —
//! on one PostgreSQL schema, with requests going to either (no sticky routing).
//! PostgreSQL only: skipped with a reason without TEST_DATABASE_URL, a failure under CI.
use std::collections::BTreeMap;
use std::time::Duration;

use entity::{login_throttle, outbox_messages};
use sea_orm::{EntityTrait, QueryOrder};
use tsp_ledger::domain::role::Role;
use tsp_ledger::mail::{self, Email};

use crate::child::ChildServer;
use crate::imports::cli_config;
use crate::smtp::{self, SmtpServer};
use crate::support::{PASSWORD, TestApp};
use tsp_ledger::domain::outbox::MessageKind;
use tsp_ledger::domain::outbox::OutboxStatus;

/// A browser that keeps its cookies itself (for every instance alike) and does not
/// follow redirects.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: crate::support::http_client()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let request = self.http.get(url);
        self.send(request).await
    }

    async fn post(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.http.post(url).form(fields);
        self.send(request).await
    }

    /// The `_csrf` token of the form on the page at `url`.
    async fn form_token(&mut self, url: &str) -> String {
        let page = self.get(url).await;
        let marker = r#"name="_csrf" value=""#;
        let start = page.body.find(marker).expect("a form") + marker.len();
        page.body[start..start + page.body[start..].find('"').unwrap()].to_string()
    }

    /// Signs in with the form of `form_from`, posted to `post_to`.
    async fn sign_in(&mut self, form_from: &str, post_to: &str, email: &str, pw: &str) -> Page {
        let token = self.form_token(&format!("{form_from}/login")).await;
        let fields = [
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", pw),
        ];
        self.post(&format!("{post_to}/login"), &fields).await
    }
}

/// Two servers on the test's schema, started side by side.
async fn two_instances(app: &TestApp, settings: &[(&str, String)]) -> (ChildServer, ChildServer) {
    let url = cli_config(app).database.url;
    tokio::join!(
        ChildServer::start("instance A", &url, settings),
        ChildServer::start("instance B", &url, settings)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_sign_in_throttling_are_shared_by_two_instances() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    app.create_user(Role::Coordinator, "cora@example.com").await;
    app.create_user(Role::Viewer, "vic@example.com").await;
    let (a, b) = two_instances(&app, &[]).await;
    let (a, b) = (a.base.clone(), b.base.clone());

    // Signed in with A's form posted to B (the CSRF token of one instance is good on
    // the other: they share security.secret_key).
    let mut cora = Browser::new();
    let signed_in = cora.sign_in(&a, &b, "cora@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = cora.cookies["tsp_session"].clone();
    // The session works on either, request after request, as a round-robin balancer sends.
    for base in [&a, &b, &a, &b] {
        let home = cora.get(&format!("{base}/")).await;
        assert_eq!(home.status, 200, "{base}: {}", home.body);
        assert!(home.body.contains("Coordinator cora"), "{base}");
    }
    // A form from B's page is accepted by A, and A's change is seen on B.
    let token = cora.form_token(&format!("{b}/courses/new")).await;
    let created = cora
        .post(
            &format!("{a}/courses"),
            &[
                ("_csrf", token.as_str()),
                ("course_code", "AZ-305"),
                ("title", "Designing Azure Infrastructure Solutions"),
                ("duration_days", "4"),
                ("solution_area", "infrastructure"),
                ("content", "official"),
                ("courseware_version", "2026-09"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert!(
        cora.get(&format!("{b}/courses"))
            .await
            .body
            .contains("AZ-305")
    );
    // Signing out on B ends the session on A too.
    let token = cora.form_token(&format!("{b}/account")).await;
    let out = cora
        .post(&format!("{b}/logout"), &[("_csrf", token.as_str())])
        .await;
    assert_eq!(out.status, 303);
    assert!(!cora.cookies.contains_key("tsp_session"));
    let mut stale = Browser::new();
    stale.cookies = cora.cookies.clone();
    stale.cookies.insert("tsp_session".into(), session);
    let after = stale.get(&format!("{a}/")).await;
    assert_eq!(after.status, 303);
    assert!(after.location.unwrap().starts_with("/login"));

    // Sign-in failures count on both: three on A and three on B make the sixth failure
    // in a row, which locks the account everywhere (five are free).
    let mut attacker = Browser::new();
    for base in [&a, &a, &a, &b, &b, &b] {
        let failed = attacker
            .sign_in(base, base, "vic@example.com", "not the password at all")
            .await;
        assert_eq!(failed.status, 422);
        assert!(failed.body.contains("The e-mail or password is wrong"));
    }
    for base in [&a, &b] {
        let owner = Browser::new()
            .sign_in(base, base, "vic@example.com", PASSWORD)
            .await;
        assert_eq!(owner.status, 422, "{base}");
        assert!(
            owner.body.contains("Too many failed attempts"),
            "{base}: {}",
            owner.body
        );
    }
    let counter = login_throttle::Entity::find_by_id(tsp_ledger::auth::throttle::account_key(
        "vic@example.com",
    ))
    .one(app.db())
    .await
    .unwrap()
    .unwrap();
    assert_eq!(counter.consecutive_failures, 6);
    assert!(counter.locked_until.is_some());
    let lockouts = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(_, action, _)| action == "lockout")
        .count();
    assert_eq!(lockouts, 1);
    let verification = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert!(verification.is_valid(), "{:?}", verification.first_broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_drain_the_outbox_exactly_once() {
    const MESSAGES: usize = 150;
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let Some(smtp_server) = SmtpServer::start(smtp::free_port()).await else {
        return;
    };
    for n in 0..MESSAGES {
        let email = Email {
            kind: MessageKind::DeliveryConfirmation,
            to: format!("learner{n}@example.com"),
            subject: format!("Message {n}"),
            text: format!("Hello {n}"),
            html: format!("<p>Hello {n}</p>"),
            related: None,
            calendar: None,
        };
        mail::enqueue(app.db(), email).await.unwrap();
    }
    // Small batches, so the two workers take turns claiming from the same queue.
    let settings = [
        ("mail.transport", "smtp".to_string()),
        ("mail.smtp_host", "127.0.0.1".to_string()),
        ("mail.smtp_port", smtp_server.port.to_string()),
        ("mail.batch_size", "5".to_string()),
        ("mail.smtp_connections", "4".to_string()),
        ("mail.poll_seconds", "1".to_string()),
        ("mail.retry_base_seconds", "1".to_string()),
    ];
    let (_a, _b) = two_instances(&app, &settings).await;

    let mut sent = vec![];
    for _ in 0..1800 {
        sent = outbox_messages::Entity::find()
            .order_by_asc(outbox_messages::Column::Id)
            .all(app.db())
            .await
            .unwrap();
        if sent.iter().all(|m| m.status == OutboxStatus::Sent) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sent.iter()
            .all(|m| m.status == OutboxStatus::Sent && m.attempts == 1),
        "every message sent at the first attempt: {:?}",
        sent.iter()
            .filter(|m| m.status != OutboxStatus::Sent || m.attempts != 1)
            .collect::<Vec<_>>()
    );
    let received = smtp_server.wait_for(MESSAGES).await;
    let mut arrivals = BTreeMap::<String, usize>::new();
    for m in &received {
        *arrivals.entry(smtp::message_id(m).unwrap()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> =
        sent.iter().map(|m| (m.message_id.clone(), 1)).collect();
    assert_eq!(arrivals.len(), MESSAGES);
    assert_eq!(arrivals, expected, "each message arrives exactly once");
    // Both workers wrote to the one ledger chain: one entry per message, chain intact.
    let ledgered = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(t, a, _)| t == "outbox_message" && a == "sent")
        .count();
    assert_eq!(ledgered, MESSAGES);
    let verification = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert!(verification.is_valid(), "{:?}", verification.first_broken);
}

/// Every instance runs the reminder task; two running it at the same moment queue each
/// due reminder once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_queue_each_survey_reminder_once() {
    const LEARNERS: usize = 40;
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    crate::faults::invited_learners(&app, LEARNERS).await;
    // The invitations went out 8 days ago: a first reminder is due for each.
    let eight_days_ago = tsp_ledger::clock::now() - chrono::Duration::days(8);
    entity::survey_invitations::Entity::update_many()
        .col_expr(
            entity::survey_invitations::Column::SentAt,
            eight_days_ago.into(),
        )
        .exec(app.db())
        .await
        .unwrap();
    let url = cli_config(&app).database.url;
    let mut instances = vec![];
    for _ in 0..2 {
        let db = tsp_ledger::db::connect_url(&url, 2, 5000, None)
            .await
            .unwrap();
        instances.push(app.instance(db));
    }
    let (a, b) = tokio::join!(
        tsp_ledger::server::queue_due_reminders(&instances[0].state),
        tsp_ledger::server::queue_due_reminders(&instances[1].state)
    );
    assert_eq!(a.unwrap() + b.unwrap(), LEARNERS as u64);
    let reminders = outbox_messages::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == MessageKind::SurveyReminder)
        .count();
    assert_eq!(reminders, LEARNERS);
    let invitations = entity::survey_invitations::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert!(invitations.iter().all(|i| i.reminders_sent == 1));
    let verification = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert!(verification.is_valid(), "{:?}", verification.first_broken);
}
