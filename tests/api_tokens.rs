//! API bearer tokens (issue 5): an admin creates one on /admin/tokens and sees its secret
//! once; the secret opens `GET /api/v1/kpi` and nothing else; only its hash is stored;
//! revoking it closes the API to it; create and revoke are ledger entries without secrets.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{api_tokens, exam_vouchers, ledger_entries};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use tsp_ledger::domain::role::Role;

use crate::fixtures;
use crate::support::{Client, TestApp, TestResponse, form_encode};

const KPI: &str = "/api/v1/kpi?as_of=2026-11-22";

pub(crate) async fn get_bearer(
    client: &mut Client<'_>,
    path: &str,
    authorization: &str,
) -> TestResponse {
    client
        .send(
            Request::get(path)
                .header(header::AUTHORIZATION, authorization)
                .body(Body::empty())
                .unwrap(),
        )
        .await
}

/// A form post carrying `Authorization` (and whatever cookies and fields the client has).
async fn post_bearer(
    client: &mut Client<'_>,
    path: &str,
    secret: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    client
        .send(
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form_encode(fields)))
                .unwrap(),
        )
        .await
}

/// A client with no cookies at all, like `curl`.
pub(crate) fn bare(app: &TestApp) -> Client<'_> {
    let mut client = app.anonymous();
    client.cookies.clear();
    client
}

/// Creates a token through the admin page and returns the secret shown on it.
pub(crate) async fn create_token(admin: &mut Client<'_>, name: &str) -> String {
    let response = admin.post("/admin/tokens", &[("name", name)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.assert_contains("it cannot be shown again");
    let marker = r#"id="secret" type="text" readonly value=""#;
    let start = response.body.find(marker).expect("the secret is shown") + marker.len();
    let end = start + response.body[start..].find('"').unwrap();
    let secret = response.body[start..end].to_string();
    assert!(
        secret.starts_with("tspl_") && secret.len() == 69,
        "{secret}"
    );
    assert!(
        response.set_cookies().iter().all(|c| !c.contains(&secret)),
        "the secret never travels in a cookie"
    );
    secret
}

async fn tokens(app: &TestApp) -> Vec<api_tokens::Model> {
    api_tokens::Entity::find()
        .order_by_asc(api_tokens::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn token_entries(app: &TestApp) -> Vec<ledger_entries::Model> {
    ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("api_token"))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

fn assert_unauthorized(response: &TestResponse) -> Value {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.body
    );
    let challenge = response
        .headers
        .get(header::WWW_AUTHENTICATE)
        .expect("a 401 names the Bearer scheme")
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert_eq!(
        response.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    serde_json::from_str(&response.body).unwrap()
}

async fn a_token_reads_the_kpi_api_and_only_its_hash_is_stored(app: TestApp) {
    fixtures::import(
        &app,
        tsp_ledger::services::imports::Kind::Vouchers,
        "purchased_on,exam_code,level,quantity,order_ref\n2026-03-02,AZ-104,advanced,10,PO-1\n",
    )
    .await
    .unwrap();
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/admin/tokens")
        .await
        .assert_contains(r#"<label for="name">Name"#)
        .assert_contains("No API tokens yet.");
    let secret = create_token(&mut admin, "  Power BI report ").await;

    // The token reads the same report a signed-in viewer gets.
    let mut viewer = app.client_as(Role::Viewer).await;
    let by_session: Value = serde_json::from_str(&viewer.get(KPI).await.body).unwrap();
    let response = get_bearer(&mut bare(&app), KPI, &format!("Bearer {secret}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let by_token: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(by_token["as_of"], "2026-11-22");
    assert_eq!(by_token, by_session);
    assert_ne!(by_token["base"], Value::Null, "{by_token}");
    // The scheme is case-insensitive (RFC 7235).
    let lower = get_bearer(&mut bare(&app), KPI, &format!("bearer {secret}")).await;
    assert_eq!(lower.status, StatusCode::OK);

    // Stored: the label, the visible start and the SHA-256; the secret is in no column.
    let stored = tokens(&app).await;
    assert_eq!(stored.len(), 1);
    let token = &stored[0];
    assert_eq!(token.name, "Power BI report");
    assert_eq!(token.prefix, &secret[..13]);
    assert_eq!(token.token_hash, tsp_ledger::auth::token_hash(&secret));
    assert!(token.revoked_at.is_none());
    assert!(token.last_used_at.is_some(), "the use is recorded");
    let random_part = &secret["tspl_".len()..];
    for column in [&token.name, &token.prefix, &token.token_hash] {
        assert!(!column.contains(random_part), "{column}");
    }
    assert!(!format!("{token:?}").contains(random_part));

    // The list shows the prefix, never the secret again.
    let list = admin.get("/admin/tokens").await;
    list.assert_contains("Power BI report")
        .assert_contains(&format!("{}…", token.prefix))
        .assert_contains("Active");
    assert!(!list.body.contains(random_part));
    assert!(!list.body.contains("cannot be shown again"));
    let admin_id = token.created_by;

    // One ledger entry, by the admin, holding neither the secret nor its hash.
    let entries = token_entries(&app).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(
        (entry.action.as_str(), entry.actor.clone()),
        ("create", format!("user:{admin_id}"))
    );
    assert_eq!(entry.entity_id, token.id.to_string());
    let changes: Value = serde_json::from_str(&entry.changes).unwrap();
    assert_eq!(changes["name"]["after"], "Power BI report");
    assert!(!entry.changes.contains(random_part));
    assert!(!entry.changes.contains(&token.token_hash));
}
db_test!(a_token_reads_the_kpi_api_and_only_its_hash_is_stored);

async fn revoked_unknown_and_malformed_tokens_get_401_with_a_bearer_challenge(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let secret = create_token(&mut admin, "Nightly export").await;
    let other = create_token(&mut admin, "Still in use").await;
    let id = tokens(&app).await[0].id;

    // No credentials at all: 401, and the client is told it may use a bearer token.
    let anonymous = assert_unauthorized(&bare(&app).get(KPI).await);
    assert_eq!(anonymous["error"], "Sign-in required");
    for garbage in [
        "Bearer tspl_0000000000000000000000000000000000000000000000000000000000000000",
        "Bearer not-a-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        &format!("Bearer {}", &secret[..secret.len() - 1]),
    ] {
        let body = assert_unauthorized(&get_bearer(&mut bare(&app), KPI, garbage).await);
        assert_eq!(body["error"], "Invalid API token", "{garbage}");
    }

    let revoked = admin.post(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.location(), Some("/admin/tokens"));
    admin
        .get("/admin/tokens")
        .await
        .assert_contains("is revoked: it no longer opens the API")
        .assert_contains("Revoked");
    let response = get_bearer(&mut bare(&app), KPI, &format!("Bearer {secret}")).await;
    let body = assert_unauthorized(&response);
    assert!(
        response
            .headers
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert!(body["message"].as_str().unwrap().contains("revoked"));
    // The header decides: a revoked token with a valid reader session is still refused.
    let mut viewer = app.client_as(Role::Viewer).await;
    assert_eq!(viewer.get(KPI).await.status, StatusCode::OK);
    assert_unauthorized(&get_bearer(&mut viewer, KPI, &format!("Bearer {secret}")).await);
    // The other token still works.
    let still = get_bearer(&mut bare(&app), KPI, &format!("Bearer {other}")).await;
    assert_eq!(still.status, StatusCode::OK);

    // Revoking again is refused with a message, and changes nothing.
    let revoked_at = tokens(&app).await[0].revoked_at.expect("revoked");
    let again = admin.post(&format!("/admin/tokens/{id}/revoke"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/tokens")
        .await
        .assert_contains("was already revoked on");
    assert_eq!(tokens(&app).await[0].revoked_at, Some(revoked_at));
    assert_eq!(
        admin.post("/admin/tokens/999999/revoke", &[]).await.status,
        StatusCode::NOT_FOUND
    );

    let entries = token_entries(&app).await;
    let actions: Vec<_> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.entity_id.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            ("create", id.to_string()),
            ("create", (id + 1).to_string()),
            ("revoke", id.to_string())
        ]
    );
    for entry in &entries {
        for s in [&secret, &other] {
            assert!(!entry.changes.contains(&s["tspl_".len()..]));
            assert!(!entry.changes.contains(&tsp_ledger::auth::token_hash(s)));
        }
    }
    assert!(
        tsp_ledger::ledger::verify(app.db())
            .await
            .unwrap()
            .is_valid()
    );
}
db_test!(revoked_unknown_and_malformed_tokens_get_401_with_a_bearer_challenge);

async fn a_token_opens_no_page_and_no_form(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let secret = create_token(&mut admin, "Read only").await;
    let bearer = format!("Bearer {secret}");
    for page in [
        "/",
        "/classes",
        "/vouchers",
        "/admin/tokens",
        "/classes/export.csv",
    ] {
        let response = get_bearer(&mut app.anonymous(), page, &bearer).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{page}");
        assert!(
            response.location().unwrap().starts_with("/login"),
            "{page}: {:?}",
            response.location()
        );
    }

    // A form with a valid (anonymous) CSRF token and a bearer token: still not signed in.
    let mut client = app.anonymous();
    let csrf = client.csrf();
    let voucher = [
        ("_csrf", csrf.as_str()),
        ("purchased_on", "2026-03-02"),
        ("exam_code", "AZ-104"),
        ("level", "advanced"),
        ("quantity", "10"),
        ("order_ref", "PO-TOKEN"),
    ];
    let response = post_bearer(&mut client, "/vouchers", &secret, &voucher).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(response.location().unwrap().starts_with("/login"));
    let response = post_bearer(
        &mut client,
        "/admin/tokens",
        &secret,
        &[("_csrf", csrf.as_str()), ("name", "Minted by a token")],
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    // Like curl: no cookies, no CSRF token: the form guard refuses it outright.
    let response = post_bearer(&mut bare(&app), "/vouchers", &secret, &voucher[1..]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let id = tokens(&app).await[0].id;
    let response = post_bearer(
        &mut bare(&app),
        &format!("/admin/tokens/{id}/revoke"),
        &secret,
        &[],
    )
    .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);

    assert_eq!(
        exam_vouchers::Entity::find().count(app.db()).await.unwrap(),
        0
    );
    let stored = tokens(&app).await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].revoked_at.is_none());
}
db_test!(a_token_opens_no_page_and_no_form);

async fn a_token_needs_a_name_of_at_most_100_characters(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let ledger_before = ledger_entries::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    for (name, message) in [
        ("", "is required"),
        ("   ", "is required"),
        (&"x".repeat(101), "must be at most 100 characters"),
    ] {
        let response = admin.post("/admin/tokens", &[("name", name)]).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        response
            .assert_contains(r#"aria-describedby="name-error""#)
            .assert_contains(&format!(
                r#"<p class="field-error" id="name-error">{message}</p>"#
            ));
        assert!(
            !response.body.contains("tspl_"),
            "no secret on a refused form"
        );
    }
    assert!(tokens(&app).await.is_empty());
    assert_eq!(
        ledger_entries::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        ledger_before
    );
    // 100 characters is fine.
    create_token(&mut admin, &"x".repeat(100)).await;
    assert_eq!(tokens(&app).await.len(), 1);
}
db_test!(a_token_needs_a_name_of_at_most_100_characters);

async fn only_admins_see_the_api_tokens_link(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    // The navigation's "Admin" entry leads to the page that lists it (issue 16 item 9).
    admin
        .get("/")
        .await
        .assert_contains(r#"<a href="/admin">Admin</a>"#);
    admin
        .get("/admin")
        .await
        .assert_contains(r#"<a href="/admin/tokens">API tokens</a>"#);
    for role in [Role::Coordinator, Role::Viewer, Role::Trainer] {
        let mut client = app.client_as(role).await;
        let home = client.get("/").await;
        assert!(!home.body.contains("/admin/tokens"), "{role}");
    }
}
db_test!(only_admins_see_the_api_tokens_link);
