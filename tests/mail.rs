//! The outbox (SPEC §5): queued with the change, sent once by the worker, never lost.
use axum::http::StatusCode;
use entity::outbox_messages;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait, QueryOrder};
use tsp_ledger::config::MailConfig;
use tsp_ledger::domain::role::Role;
use tsp_ledger::mail::transport::Transport;
use tsp_ledger::mail::worker::Worker;
use tsp_ledger::mail::{self, Email};

use crate::fixtures;
use crate::smtp::{self, SmtpServer};
use crate::support::TestApp;
use tsp_ledger::domain::outbox::MessageKind;
use tsp_ledger::domain::outbox::OutboxStatus;
use tsp_ledger::domain::survey::ResponseSource;

fn email(n: usize) -> Email {
    Email {
        kind: MessageKind::DeliveryConfirmation,
        to: format!("learner{n}@example.com"),
        subject: format!("Message {n}"),
        text: format!("Hello {n}"),
        html: format!("<p>Hello {n}</p>"),
        related: None,
        calendar: None,
    }
}

async fn queue(app: &TestApp, count: usize) {
    for n in 0..count {
        mail::enqueue(app.db(), email(n)).await.unwrap();
    }
}

async fn messages(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// SMTP to `port` on loopback, retrying at once (no backoff), at most `attempts` times.
pub(crate) fn smtp_config(app: &TestApp, port: u16, attempts: i32) -> MailConfig {
    MailConfig {
        transport: tsp_ledger::config::MailTransport::Smtp,
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_tls: tsp_ledger::config::SmtpTls::None,
        smtp_timeout_seconds: 5,
        retry_base_seconds: 0,
        max_attempts: attempts,
        ..app.state.config.mail.clone()
    }
}

pub(crate) fn worker(app: &TestApp, config: &MailConfig) -> Worker {
    let transport = Transport::from_config(config).unwrap();
    Worker::new(app.db().clone(), config, transport).unwrap()
}

async fn an_email_is_queued_exactly_when_its_change_commits(app: TestApp) {
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    let ana = fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let past = fixtures::today_plus(-10).to_string();
    let future = fixtures::today_plus(10).to_string();
    let held = fixtures::class(
        &app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            &past,
            &past,
            "virtual",
            "scheduled",
        ),
    )
    .await;
    let later = fixtures::class(
        &app,
        (
            "C-2",
            "AZ-104",
            "MCT-1",
            &future,
            &future,
            "virtual",
            "scheduled",
        ),
    )
    .await;
    let mut coordinator = app.client_as(Role::Coordinator).await;

    // Refused (the class has not started): no change, no e-mail.
    let refused = coordinator
        .post(
            &format!("/classes/{}/status", later.id),
            &[("change", "delivered")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(messages(&app).await.is_empty());

    // Marking a class delivered queues the confirmation request to its MCT.
    let done = coordinator
        .post(
            &format!("/classes/{}/status", held.id),
            &[("change", "delivered")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let queued = messages(&app).await;
    assert_eq!(queued.len(), 1);
    let m = &queued[0];
    assert_eq!(
        (m.kind.id(), m.to_address.as_str(), m.status.id()),
        ("delivery_confirmation", ana.email.as_str(), "queued")
    );
    let link = format!("{}/classes/{}", app.state.config.server.public_url, held.id);
    assert!(m.text_body.contains(&link), "{}", m.text_body);
    assert!(
        m.html_body.contains(&format!("href=\"{link}\"")),
        "{}",
        m.html_body
    );

    // A transaction that rolls back leaves no message behind.
    let tx = tsp_ledger::db::begin_write(app.db()).await.unwrap();
    mail::enqueue(&tx, email(1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(messages(&app).await.len(), 1);
}
db_test!(an_email_is_queued_exactly_when_its_change_commits);

async fn the_worker_sends_text_and_html_with_the_queued_message_id(app: TestApp) {
    queue(&app, 1).await;
    let worker = worker(
        &app,
        &MailConfig {
            transport: tsp_ledger::config::MailTransport::Stub,
            ..app.state.config.mail.clone()
        },
    );
    let report = worker.drain().await.unwrap();
    assert_eq!(report.sent, 1);
    let sent = worker.transport().stub_messages();
    assert_eq!(sent.len(), 1);
    let stored = &messages(&app).await[0];
    assert_eq!(
        smtp::message_id(&sent[0]).as_deref(),
        Some(stored.message_id.as_str())
    );
    assert!(sent[0].contains("multipart/alternative"), "{}", sent[0]);
    assert!(sent[0].contains("text/plain") && sent[0].contains("text/html"));
    assert_eq!(stored.status, OutboxStatus::Sent);
    assert!(stored.sent_at.is_some() && stored.lease_until.is_none());
    let actions = app.ledger_actions().await;
    assert!(
        actions.contains(&("outbox_message".into(), "sent".into(), "system".into())),
        "{actions:?}"
    );
    // Nothing is sent twice.
    assert_eq!(worker.drain().await.unwrap().claimed(), 0);
}
db_test!(the_worker_sends_text_and_html_with_the_queued_message_id);

async fn two_workers_never_send_the_same_message(app: TestApp) {
    queue(&app, 60).await;
    let config = MailConfig {
        transport: tsp_ledger::config::MailTransport::Stub,
        batch_size: 7,
        ..app.state.config.mail.clone()
    };
    let (a, b) = (worker(&app, &config), worker(&app, &config));
    let (ra, rb) = tokio::join!(a.drain(), b.drain());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 60, "{ra:?} {rb:?}");
    let mut ids: Vec<String> = a
        .transport()
        .stub_messages()
        .iter()
        .chain(b.transport().stub_messages().iter())
        .map(|m| smtp::message_id(m).unwrap())
        .collect();
    assert_eq!(ids.len(), 60);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60, "a message was sent twice");
    assert!(
        messages(&app)
            .await
            .iter()
            .all(|m| m.status == OutboxStatus::Sent && m.attempts == 1)
    );
}
db_test!(two_workers_never_send_the_same_message);

/// Waits (up to a minute: the machine is shared) until `done` holds for the outbox.
async fn wait_for_outbox(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[outbox_messages::Model]) -> bool,
) -> Vec<outbox_messages::Model> {
    for _ in 0..600 {
        let all = messages(app).await;
        if done(&all) {
            return all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: not within a minute: {:#?}", messages(app).await);
}

/// The SMTP server goes away while mail is being queued (issue 7, faults): the background
/// worker tries, records the error and backs off; once the server is back on the same
/// port, every message arrives, each exactly once.
async fn with_the_smtp_server_down_nothing_is_lost_and_everything_arrives_once(app: TestApp) {
    const DOWN: usize = 20;
    let port = smtp::free_port();
    let Some(server) = SmtpServer::start(port).await else {
        return;
    };
    let config = MailConfig {
        retry_base_seconds: 1,
        poll_seconds: 1,
        batch_size: 8,
        ..smtp_config(&app, port, 10)
    };
    let worker = worker(&app, &config);

    // Up: a first message goes straight through.
    queue(&app, 1).await;
    assert_eq!(worker.drain().await.unwrap().sent, 1);
    let before: Vec<String> = server
        .wait_for(1)
        .await
        .iter()
        .map(|m| smtp::message_id(m).unwrap())
        .collect();
    assert_eq!(before, [messages(&app).await[0].message_id.clone()]);

    // Down: messages queued meanwhile stay queued; the worker (the server's background
    // task) tries each, records why it failed, and waits longer before each new try.
    drop(server);
    for n in 1..=DOWN {
        mail::enqueue(app.db(), email(n)).await.unwrap();
    }
    let background = tokio::spawn(worker.clone().run_forever());
    let waiting = wait_for_outbox(&app, "a second failed attempt for each", |all| {
        all[1..].iter().all(|m| m.attempts >= 2)
    })
    .await;
    for m in &waiting[1..] {
        assert_eq!(m.status, OutboxStatus::Queued, "{m:?}");
        assert!(m.attempts < config.max_attempts, "{m:?}");
        assert!(
            m.last_error.as_deref().is_some_and(|e| e.contains("SMTP")),
            "{:?}",
            m.last_error
        );
        assert!(m.sent_at.is_none());
    }

    // Back on the same port: the worker delivers everything by itself.
    let server = SmtpServer::start(port)
        .await
        .expect("aiosmtpd was there a moment ago");
    let sent = wait_for_outbox(&app, "every message sent", |all| {
        all.iter().all(|m| m.status == OutboxStatus::Sent)
    })
    .await;
    let received = server.wait_for(DOWN).await;
    background.abort();
    let mut arrivals = std::collections::BTreeMap::<String, usize>::new();
    for m in &received {
        *arrivals.entry(smtp::message_id(m).unwrap()).or_default() += 1;
    }
    let expected: std::collections::BTreeMap<String, usize> = sent[1..]
        .iter()
        .map(|m| (m.message_id.clone(), 1))
        .collect();
    assert_eq!(
        arrivals, expected,
        "each queued message arrives exactly once"
    );
    assert!(received.iter().any(|m| m.contains("Subject: Message 7")));
    let ledgered = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(t, a, _)| t == "outbox_message" && a == "sent")
        .count();
    assert_eq!(ledgered, DOWN + 1);
    assert_eq!(worker.drain().await.unwrap().claimed(), 0);
}
db_test!(with_the_smtp_server_down_nothing_is_lost_and_everything_arrives_once);

async fn a_message_failing_every_attempt_is_shown_as_failed_and_can_be_retried(app: TestApp) {
    let config = smtp_config(&app, smtp::free_port(), 2);
    queue(&app, 1).await;
    let worker = worker(&app, &config);
    assert_eq!(worker.run_once().await.unwrap().retrying, 1);
    assert_eq!(worker.run_once().await.unwrap().failed, 1);
    let failed = messages(&app).await.remove(0);
    assert_eq!((failed.status.id(), failed.attempts), ("failed", 2));
    assert_eq!(
        worker.run_once().await.unwrap().claimed(),
        0,
        "failed messages wait for a person"
    );

    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get("/outbox?status=failed").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("learner0@example.com")
        .assert_contains("SMTP");
    assert!(!page.body.contains("/retry"), "viewers see no retry button");
    let refused = viewer
        .post(&format!("/outbox/{}/retry", failed.id), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get("/outbox?status=failed").await;
    page.assert_contains(&format!("/outbox/{}/retry", failed.id));
    let done = coordinator
        .post(&format!("/outbox/{}/retry", failed.id), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let again = messages(&app).await.remove(0);
    assert_eq!((again.status.id(), again.attempts), ("queued", 0));
    let actions = app.ledger_actions().await;
    assert!(
        actions
            .iter()
            .any(|(t, a, _)| t == "outbox_message" && a == "failed"),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|(t, a, _)| t == "outbox_message" && a == "retry"),
        "{actions:?}"
    );
    // Retrying a message that is not failed is refused.
    let twice = coordinator
        .post(&format!("/outbox/{}/retry", failed.id), &[])
        .await;
    assert_eq!(twice.status, StatusCode::SEE_OTHER);
    assert_eq!(messages(&app).await.remove(0).status, OutboxStatus::Queued);
    let stub = MailConfig {
        transport: tsp_ledger::config::MailTransport::Stub,
        ..app.state.config.mail.clone()
    };
    assert_eq!(self::worker(&app, &stub).drain().await.unwrap().sent, 1);
}
db_test!(a_message_failing_every_attempt_is_shown_as_failed_and_can_be_retried);

async fn a_crashed_workers_claim_comes_back_when_its_lease_ends(app: TestApp) {
    queue(&app, 1).await;
    let stub = MailConfig {
        transport: tsp_ledger::config::MailTransport::Stub,
        ..app.state.config.mail.clone()
    };
    let worker = worker(&app, &stub);
    let held = messages(&app).await.remove(0);
    let mut claim: outbox_messages::ActiveModel = held.clone().into();
    claim.lease_until = Set(Some(chrono::Utc::now() + chrono::Duration::hours(1)));
    claim.update(app.db()).await.unwrap();
    assert_eq!(
        worker.run_once().await.unwrap().claimed(),
        0,
        "a live lease is respected"
    );
    let mut expired: outbox_messages::ActiveModel = held.into();
    expired.lease_until = Set(Some(chrono::Utc::now() - chrono::Duration::seconds(1)));
    expired.update(app.db()).await.unwrap();
    assert_eq!(worker.run_once().await.unwrap().sent, 1);
    assert_eq!(
        outbox_messages::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        1
    );
}
db_test!(a_crashed_workers_claim_comes_back_when_its_lease_ends);

async fn a_survey_email_through_real_smtp_leads_to_a_recorded_response(app: TestApp) {
    let Some(smtp_server) = SmtpServer::start(smtp::free_port()).await else {
        return;
    };
    // The real app server on a free port; e-mailed links point at it.
    let listener = tsp_ledger::server::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let http = tokio::spawn(tsp_ledger::server::serve(app.state.clone(), listener));

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
            "virtual",
            "delivered",
        ),
    )
    .await;
    fixtures::import(
        &app,
        tsp_ledger::services::imports::Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Zoë Ørsted,zoe@example.com,true\n",
    )
    .await
    .unwrap();
    let invited = tsp_ledger::services::surveys::send_invitations(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        &app.state.config.surveys,
        class.id,
        &base,
        &app.state.secret,
    )
    .await
    .unwrap();
    assert_eq!(invited, 1);

    let port = smtp_server.port;
    let report = worker(&app, &smtp_config(&app, port, 3))
        .drain()
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let received = smtp_server.wait_for(1).await;
    assert_eq!(received.len(), 1);
    // Once sent, the stored copy no longer carries the learner's link.
    let stored = messages(&app).await.remove(0);
    assert_eq!(stored.status, OutboxStatus::Sent);
    assert!(!stored.text_body.contains("/survey/") && !stored.html_body.contains("/survey/"));
    let body = smtp::unfold_quoted_printable(&received[0]);
    assert!(body.contains("To: zoe@example.com"), "{body}");
    let prefix = format!("{base}/survey/");
    let start = body.find(&prefix).expect("a survey link in the e-mail") + prefix.len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64);

    // The learner follows the link in a browser and answers.
    let browser = crate::support::http_client()
        .cookie_store(true)
        .build()
        .unwrap();
    let link = format!("{prefix}{token}");
    let form = browser.get(&link).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    let marker = r#"name="_csrf" value=""#;
    let at = html.find(marker).expect("a CSRF token") + marker.len();
    let csrf = html[at..at + html[at..].find('"').unwrap()].to_string();
    let answered = browser
        .post(&link)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("q1", "5"),
            ("q2", "4"),
            ("q5", "5"),
            ("comment", "Great labs"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let responses = entity::survey_responses::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(responses.len(), 1);
    let r = &responses[0];
    assert_eq!(
        (r.q1, r.q2, r.q3, r.q4, r.q5),
        (Some(5), Some(4), None, None, Some(5))
    );
    assert_eq!(r.source, ResponseSource::Web);
    http.abort();
}
db_test!(a_survey_email_through_real_smtp_leads_to_a_recorded_response);

async fn the_file_transport_writes_one_eml_per_message(app: TestApp) {
    queue(&app, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let config = MailConfig {
        transport: tsp_ledger::config::MailTransport::File,
        file_dir: dir.path().to_path_buf(),
        ..app.state.config.mail.clone()
    };
    assert_eq!(worker(&app, &config).drain().await.unwrap().sent, 2);
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    let ids: Vec<String> = messages(&app)
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    for (file, id) in files.iter().zip(&ids) {
        assert_eq!(smtp::message_id(file).as_deref(), Some(id.as_str()));
        assert!(file.contains("text/plain") && file.contains("text/html"));
    }
}
db_test!(the_file_transport_writes_one_eml_per_message);

async fn outbox_send_drains_the_queue_and_says_so(app: TestApp) {
    use tsp_ledger::cli::{Command, OutboxCommand};
    queue(&app, 3).await;
    let mut config = crate::imports::cli_config(&app);
    config.mail.transport = tsp_ledger::config::MailTransport::Stub;
    let code = tsp_ledger::cli::run(Command::Outbox(OutboxCommand::Send), config.clone())
        .await
        .unwrap();
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::SUCCESS)
    );
    assert!(
        messages(&app)
            .await
            .iter()
            .all(|m| m.status == OutboxStatus::Sent)
    );
    // With the SMTP server unreachable, the command fails and the message stays queued.
    queue(&app, 1).await;
    let down = MailConfig {
        transport: tsp_ledger::config::MailTransport::Smtp,
        smtp_port: smtp::free_port(),
        smtp_tls: tsp_ledger::config::SmtpTls::None,
        ..config.mail.clone()
    };
    let code = tsp_ledger::cli::run(
        Command::Outbox(OutboxCommand::Send),
        tsp_ledger::config::Config {
            mail: down,
            ..config
        },
    )
    .await
    .unwrap();
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::FAILURE)
    );
    assert_eq!(
        messages(&app)
            .await
            .iter()
            .filter(|m| m.status == OutboxStatus::Queued)
            .count(),
        1
    );
}
db_test!(outbox_send_drains_the_queue_and_says_so);

/// Each message type says whether its body carries a personal link: a kind that does is
/// emptied once sent, one that does not is kept for the outbox page.
async fn a_sent_message_keeps_its_body_unless_it_carries_a_personal_link(app: TestApp) {
    mail::enqueue(app.db(), email(0)).await.unwrap();
    mail::enqueue(
        app.db(),
        Email {
            kind: MessageKind::SurveyInvitation,
            ..email(1)
        },
    )
    .await
    .unwrap();
    let stub = MailConfig {
        transport: tsp_ledger::config::MailTransport::Stub,
        ..app.state.config.mail.clone()
    };
    assert_eq!(worker(&app, &stub).drain().await.unwrap().sent, 2);
    let stored = messages(&app).await;
    assert_eq!(stored[0].text_body, "Hello 0");
    // As queued: in the frame with the organisation's name (none set: the app's).
    let framed = email(0).framed(&mail::Brand::default()).unwrap();
    assert_eq!(stored[0].html_body, framed.html);
    assert!(stored[0].html_body.contains("<p>Hello 0</p>"));
    assert_eq!(stored[1].text_body, mail::REMOVED_BODY);
    assert_eq!(stored[1].html_body, mail::REMOVED_BODY);
}
db_test!(a_sent_message_keeps_its_body_unless_it_carries_a_personal_link);
