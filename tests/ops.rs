//! Operations (issue 7 item 5): `GET /metrics` in Prometheus text format.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use tsp_ledger::domain::outbox::OutboxStatus;
use tsp_ledger::domain::role::Role;

use crate::support::{Client, TestApp, TestResponse};
use tsp_ledger::domain::outbox::MessageKind;

const TOKEN: &str = "scrape-me-0123456789abcdef";

/// `GET path` with an `Authorization` header.
async fn get_with_auth(client: &mut Client<'_>, path: &str, authorization: &str) -> TestResponse {
    client
        .send(
            Request::get(path)
                .header(header::AUTHORIZATION, authorization)
                .body(Body::empty())
                .unwrap(),
        )
        .await
}

/// The value of the sample whose line starts with `series ` (name and labels exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

fn with_metrics_token(app: &mut TestApp, token: &str) {
    let mut config = app.state.config.clone();
    config.metrics.token = token.into();
    app.state = tsp_ledger::AppState::new(config, app.state.db.clone(), [42u8; 32]);
    app.router = tsp_ledger::router(app.state.clone());
}

fn email(to: &str) -> tsp_ledger::mail::Email {
    tsp_ledger::mail::Email {
        kind: MessageKind::DeliveryConfirmation,
        to: to.into(),
        subject: "s".into(),
        text: "t".into(),
        html: "<p>t</p>".into(),
        related: None,
        calendar: None,
    }
}

async fn metrics_count_requests_by_route_template_and_never_name_a_raw_path(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let secret = "ab".repeat(32);
    let mut learner = app.anonymous();
    for _ in 0..3 {
        assert_eq!(
            learner.get(&format!("/survey/{secret}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        learner.get(&format!("/no-such-page/{secret}")).await.status,
        StatusCode::NOT_FOUND
    );
    admin.get("/courses").await;
    admin.get("/courses").await;
    // A form refused by the CSRF guard is still counted under its route.
    let refused = admin.post_raw("/admin/users", &[("name", "x")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Three e-mails waiting: one fresh, one retrying after a failed attempt, one failed.
    let db = app.db();
    tsp_ledger::mail::enqueue(db, email("a@example.com"))
        .await
        .unwrap();
    let retrying: entity::outbox_messages::ActiveModel =
        tsp_ledger::mail::enqueue(db, email("b@example.com"))
            .await
            .unwrap()
            .into();
    let mut retrying = retrying;
    retrying.attempts = Set(2);
    retrying.update(db).await.unwrap();
    let mut failed: entity::outbox_messages::ActiveModel =
        tsp_ledger::mail::enqueue(db, email("c@example.com"))
            .await
            .unwrap()
            .into();
    failed.status = Set(OutboxStatus::Failed);
    failed.attempts = Set(8);
    failed.update(db).await.unwrap();
    let mut sent: entity::outbox_messages::ActiveModel =
        tsp_ledger::mail::enqueue(db, email("d@example.com"))
            .await
            .unwrap()
            .into();
    sent.status = Set(OutboxStatus::Sent);
    sent.update(db).await.unwrap();

    let response = admin.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = &response.body;
    let survey = r#"method="GET",route="/survey/{token}",status="4xx""#;
    assert_eq!(
        sample(text, &format!("tsp_ledger_http_requests_total{{{survey}}}")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            text,
            &format!("tsp_ledger_http_request_duration_seconds_count{{{survey}}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            text,
            &format!("tsp_ledger_http_request_duration_seconds_bucket{{{survey},le=\"+Inf\"}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            text,
            r#"tsp_ledger_http_requests_total{method="GET",route="unmatched",status="4xx"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            text,
            r#"tsp_ledger_http_requests_total{method="GET",route="/courses",status="2xx"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            text,
            r#"tsp_ledger_http_requests_total{method="POST",route="/admin/users",status="4xx"}"#
        ),
        Some(1.0)
    );
    // Histogram buckets never decrease.
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "tsp_ledger_http_request_duration_seconds_bucket{{{survey}"
            ))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), tsp_ledger::metrics::BUCKETS.len() + 1);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    // Tokens in paths never become labels.
    assert!(
        !text.contains(&secret),
        "a raw path leaked into the metrics"
    );
    assert!(!text.contains("no-such-page"));

    assert_eq!(
        sample(text, r#"tsp_ledger_outbox_messages{status="queued"}"#),
        Some(2.0)
    );
    assert_eq!(
        sample(text, r#"tsp_ledger_outbox_messages{status="failed"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(text, "tsp_ledger_outbox_retrying_messages"),
        Some(1.0)
    );
    assert_eq!(sample(text, "tsp_ledger_outbox_failed_messages"), Some(1.0));
    assert_eq!(sample(text, "tsp_ledger_database_up"), Some(1.0));
    assert!(sample(text, "tsp_ledger_uptime_seconds").unwrap() >= 0.0);
    assert!(sample(text, "tsp_ledger_process_start_time_seconds").unwrap() > 1.7e9);
    // Every sample line is `name{labels} value` or `name value` under a TYPE line.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(series.starts_with("tsp_ledger_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }

    // The scrape itself is counted by the next one.
    let again = admin.get("/metrics").await.body;
    assert_eq!(
        sample(
            &again,
            r#"tsp_ledger_http_requests_total{method="GET",route="/metrics",status="2xx"}"#
        ),
        Some(1.0)
    );
}
db_test!(metrics_count_requests_by_route_template_and_never_name_a_raw_path);

async fn metrics_are_for_admins_or_the_configured_token(mut app: TestApp) {
    // Without a token configured, only a signed-in admin scrapes.
    let mut anonymous = app.anonymous();
    let response = anonymous.get("/metrics").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(
        response.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert!(!response.body.contains("tsp_ledger"), "{}", response.body);
    for role in [Role::Coordinator, Role::Trainer, Role::Viewer] {
        let response = app.client_as(role).await.get("/metrics").await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{role:?}");
        assert!(!response.body.contains("tsp_ledger"));
    }
    let mut admin = app.client_as(Role::Admin).await;
    assert_eq!(admin.get("/metrics").await.status, StatusCode::OK);
    // No token configured: no bearer token opens it, not even an empty-looking one.
    for auth in ["Bearer ", "Bearer x", &format!("Bearer {TOKEN}")] {
        let response = get_with_auth(&mut anonymous, "/metrics", auth).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{auth}");
    }

    with_metrics_token(&mut app, TOKEN);
    let mut scraper = app.anonymous();
    let response = get_with_auth(&mut scraper, "/metrics", &format!("Bearer {TOKEN}")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body.contains("tsp_ledger_database_up 1"));
    assert_eq!(
        get_with_auth(&mut scraper, "/metrics", &format!("bearer   {TOKEN}  "))
            .await
            .status,
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    let near_misses = [
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        format!("Bearer {TOKEN}0"),
        format!("Bearer {}", TOKEN.to_uppercase()),
        format!("Basic {TOKEN}"),
        TOKEN.to_string(),
        "Bearer".to_string(),
    ];
    for auth in &near_misses {
        let response = get_with_auth(&mut scraper, "/metrics", auth).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{auth}");
        assert!(!response.body.contains("tsp_ledger"));
    }
    // When a header is sent it alone decides: an admin's session does not rescue a
    // wrong token.
    let mut admin = app.client_as(Role::Admin).await;
    assert_eq!(
        get_with_auth(&mut admin, "/metrics", "Bearer wrong-token-0000000000")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(admin.get("/metrics").await.status, StatusCode::OK);
    // The token opens /metrics only: no page, no API.
    let page = get_with_auth(&mut scraper, "/admin/users", &format!("Bearer {TOKEN}")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let api = get_with_auth(&mut scraper, "/api/v1/kpi", &format!("Bearer {TOKEN}")).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
}
db_test!(metrics_are_for_admins_or_the_configured_token);

#[test]
fn a_short_metrics_token_is_refused_at_start() {
    let env = |v: &str| vec![("TSP_LEDGER__METRICS__TOKEN".to_string(), v.to_string())];
    let err = tsp_ledger::config::Config::load_from(
        std::path::Path::new("/nonexistent"),
        None,
        &env("short"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("metrics.token"), "{err}");
    let ok = tsp_ledger::config::Config::load_from(
        std::path::Path::new("/nonexistent"),
        None,
        &env(TOKEN),
    )
    .unwrap();
    assert_eq!(ok.metrics.token, TOKEN);
}
