//! CSRF, origins, redirects and response headers.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tsp_ledger::domain::role::Role;

use crate::support::{PASSWORD, TestApp, form_encode};

async fn state_changing_requests_need_the_csrf_token(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let fields = [
        ("name", "X"),
        ("email", "x@example.com"),
        ("role", "viewer"),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ];
    let response = admin.post_raw("/admin/users", &fields).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    response.assert_contains("Form expired");
    let mut with_wrong = vec![("_csrf", "0000")];
    with_wrong.extend_from_slice(&fields);
    assert_eq!(
        admin.post_raw("/admin/users", &with_wrong).await.status,
        StatusCode::FORBIDDEN
    );
    // Another user's token is no good either.
    let other = app.client_as(Role::Admin).await;
    let token = other.csrf();
    let mut with_other = vec![("_csrf", token.as_str())];
    with_other.extend_from_slice(&fields);
    assert_eq!(
        admin.post_raw("/admin/users", &with_other).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        tsp_ledger::services::accounts::count(app.db())
            .await
            .unwrap(),
        2,
        "nothing was created"
    );

    // Public forms too: the sign-in form without its token, or with another browser's.
    app.create_user(Role::Viewer, "v@example.com").await;
    let mut browser = app.anonymous();
    let creds = [("email", "v@example.com"), ("password", PASSWORD)];
    assert_eq!(
        browser.post_raw("/login", &creds).await.status,
        StatusCode::FORBIDDEN
    );
    let stranger = app.anonymous().csrf();
    let mut forged = vec![("_csrf", stranger.as_str())];
    forged.extend_from_slice(&creds);
    assert_eq!(
        browser.post_raw("/login", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        browser.post("/login", &creds).await.status,
        StatusCode::SEE_OTHER
    );
}
db_test!(state_changing_requests_need_the_csrf_token);

async fn cross_site_posts_are_refused_even_with_a_token(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let body = form_encode(&[("_csrf", &admin.csrf()), ("role", "viewer")]);
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "null"),
    ] {
        let request = Request::post("/logout")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(name, value)
            .body(Body::from(body.clone()))
            .unwrap();
        let response = admin.send(request).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{name}: {value}");
    }
    let request = Request::post("/logout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("origin", "http://127.0.0.1:8080")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(admin.send(request).await.status, StatusCode::SEE_OTHER);
}
db_test!(cross_site_posts_are_refused_even_with_a_token);

async fn sign_in_redirects_only_to_same_site_paths(app: TestApp) {
    app.create_user(Role::Viewer, "n@example.com").await;
    for (next, expected) in [
        ("/account", "/account"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
    ] {
        let mut browser = app.anonymous();
        let response = browser
            .post(
                "/login",
                &[
                    ("email", "n@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.location(), Some(expected), "next={next}");
    }
    // The sign-in page only carries a safe next into its form.
    app.anonymous()
        .get("/login?next=//evil.example")
        .await
        .assert_contains(r#"name="next" value="/""#);
}
db_test!(sign_in_redirects_only_to_same_site_paths);

async fn every_response_carries_the_security_headers(app: TestApp) {
    let mut browser = app.anonymous();
    for path in ["/login", "/nope", "/healthz", "/static/app.css"] {
        let response = browser.get(path).await;
        let h = |n: &str| {
            response
                .headers
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let csp = h("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("x-request-id").len(), 16, "{path}");
    }
    let health = browser.get("/healthz").await;
    assert_eq!(health.body, r#"{"status":"ok","database":"ok"}"#);
}
db_test!(every_response_carries_the_security_headers);

async fn oversized_bodies_are_refused(app: TestApp) {
    let mut browser = app.anonymous();
    let huge = "x".repeat(app.state.config.server.max_body_bytes + 10);
    let response = browser.post("/login", &[("email", &huge)]).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    response.assert_contains("Nothing was saved");
}
db_test!(oversized_bodies_are_refused);

async fn a_failing_write_shows_an_error_page_and_changes_nothing(app: TestApp) {
    use sea_orm::{ConnectionTrait, EntityTrait};
    let mut admin = app.client_as(Role::Admin).await;
    let target = app.create_user(Role::Viewer, "t@example.com").await;
    // Without the chain head, the ledger append inside the transaction fails.
    app.db()
        .execute_unprepared("DELETE FROM ledger_head")
        .await
        .unwrap();
    let response = admin
        .post(
            &format!("/admin/users/{target}/role"),
            &[("role", "coordinator")],
        )
        .await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    response
        .assert_contains("Something went wrong")
        .assert_contains("/static/app.css");
    let user = entity::users::Entity::find_by_id(target)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.role,
        Role::Viewer,
        "the role change was rolled back with the failed ledger write"
    );
}
db_test!(a_failing_write_shows_an_error_page_and_changes_nothing);
