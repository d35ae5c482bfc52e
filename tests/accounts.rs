//! First-run setup, sign-in, sessions, throttling and user administration.
use axum::http::StatusCode;
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use tsp_ledger::auth::session;
use tsp_ledger::domain::role::Role;

use crate::support::{PASSWORD, TestApp};

async fn setup_link_creates_the_first_admin_once(app: TestApp) {
    let token = app.state.issue_setup_token();
    let mut browser = app.anonymous();
    assert_eq!(
        browser.get("/setup/wrong-token").await.status,
        StatusCode::NOT_FOUND
    );
    browser
        .get(&format!("/setup/{token}"))
        .await
        .assert_contains("Create the administrator");

    // Bad input: every field named, nothing written.
    let response = browser
        .post(
            &format!("/setup/{token}"),
            &[
                ("name", ""),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirmation", "short"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains(r#"id="name-error""#)
        .assert_contains("is not a valid e-mail address")
        .assert_contains("at least 12 characters");
    assert_eq!(
        tsp_ledger::services::accounts::count(app.db())
            .await
            .unwrap(),
        0
    );

    let response = browser
        .post(
            &format!("/setup/{token}"),
            &[
                ("name", "Zoë Admin"),
                ("email", "Admin@Example.com"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/admin/users"));
    // Signed straight in; the users page lists the new admin with a lower-cased e-mail.
    browser
        .get("/admin/users")
        .await
        .assert_contains("admin@example.com")
        .assert_contains("Welcome!");

    // The link is spent: it is a 404 from now on, even with the right token.
    assert_eq!(
        app.anonymous().get(&format!("/setup/{token}")).await.status,
        StatusCode::NOT_FOUND
    );
    let again = app.state.issue_setup_token();
    assert_eq!(
        app.anonymous().get(&format!("/setup/{again}")).await.status,
        StatusCode::NOT_FOUND,
        "users exist"
    );
    assert!(
        app.ledger_actions()
            .await
            .contains(&("user".into(), "setup".into(), "system".into()))
    );
}
db_test!(setup_link_creates_the_first_admin_once);

async fn admin_adds_a_coordinator_who_can_sign_in(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let fields = [
        ("name", "Ana López, Jr."),
        ("email", "ana@example.com"),
        ("role", "coordinator"),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ];
    let response = admin.post("/admin/users", &fields).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    admin
        .get("/admin/users")
        .await
        .assert_contains("Ana López, Jr.")
        .assert_contains("ana@example.com can now sign in");

    // Same e-mail, other case: refused next to the field, input kept.
    let mut dup = fields;
    dup[1] = ("email", "ANA@example.com");
    let response = admin.post("/admin/users", &dup).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("is already used by another account")
        .assert_contains("Ana López, Jr.");

    let mut ana = app.anonymous();
    let response = ana
        .post(
            "/login",
            &[
                ("email", "ANA@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/account"));
    ana.get("/account").await.assert_contains("Coordinator");
    let actions = app.ledger_actions().await;
    assert!(
        actions
            .iter()
            .any(|(t, a, actor)| t == "user" && a == "create" && actor.starts_with("user:"))
    );
}
db_test!(admin_adds_a_coordinator_who_can_sign_in);

async fn sign_in_issues_a_new_server_side_session_with_safe_cookies(app: TestApp) {
    app.create_user(Role::Viewer, "vic@example.com").await;
    let mut browser = app.anonymous();
    browser
        .cookies
        .insert(session::COOKIE.into(), "planted-by-an-attacker".into());
    let response = browser
        .post(
            "/login",
            &[("email", "vic@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tsp_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http by default");
    let value = browser.cookies[session::COOKIE].clone();
    assert_ne!(value, "planted-by-an-attacker");
    assert_eq!(value.len(), 64);

    // Logout ends the session on the server: replaying the old cookie fails.
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    assert_eq!(
        browser.post("/logout", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let mut replay = app.anonymous();
    replay.cookies.insert(session::COOKIE.into(), value);
    let response = replay.get("/account").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/login?next=%2Faccount"));
}
db_test!(sign_in_issues_a_new_server_side_session_with_safe_cookies);

async fn sessions_expire_after_idle_and_absolute_limits(app: TestApp) {
    for (idle, absolute) in [
        (Duration::minutes(31), Duration::zero()),
        (Duration::zero(), Duration::hours(13)),
    ] {
        let mut client = app.client_as(Role::Viewer).await;
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
        let hash = tsp_ledger::auth::token_hash(&client.cookies[session::COOKIE]);
        let row = entity::sessions::Entity::find_by_id(hash)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let mut active: entity::sessions::ActiveModel = row.clone().into();
        active.last_seen_at = Set(row.last_seen_at - idle);
        active.expires_at = Set(row.expires_at - absolute);
        active.update(app.db()).await.unwrap();
        let response = client.get("/account").await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "idle {idle}, absolute {absolute}"
        );
        assert!(
            response
                .set_cookies()
                .iter()
                .any(|c| c.starts_with("tsp_session=;")),
            "cookie cleared"
        );
    }
}
db_test!(sessions_expire_after_idle_and_absolute_limits);

async fn secure_cookies_when_configured_for_https(mut app: TestApp) {
    let mut config = app.state.config.clone();
    config.server.secure_cookies = true;
    app.state = tsp_ledger::AppState::new(config, app.state.db.clone(), [42u8; 32]);
    app.router = tsp_ledger::router(app.state.clone());
    app.create_user(Role::Viewer, "sec@example.com").await;
    let mut browser = app.anonymous();
    let response = browser
        .post(
            "/login",
            &[("email", "sec@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert!(
        response
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("tsp_session=") && c.contains("; Secure"))
    );
}
db_test!(secure_cookies_when_configured_for_https);

async fn repeated_failures_lock_the_account_then_let_the_owner_back_in(app: TestApp) {
    let id = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut attacker = app.anonymous();
    for _ in 0..5 {
        let response = attacker
            .post(
                "/login",
                &[
                    ("email", "cora@example.com"),
                    ("password", "guess guess guess"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        response.assert_contains("The e-mail or password is wrong");
    }
    // The sixth failure starts a lock; while it lasts even the right password is refused.
    attacker
        .post(
            "/login",
            &[
                ("email", "cora@example.com"),
                ("password", "guess guess guess"),
            ],
        )
        .await;
    let response = attacker
        .post(
            "/login",
            &[("email", "cora@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("Too many failed attempts");
    let lockouts: Vec<_> = app
        .ledger_actions()
        .await
        .into_iter()
        .filter(|(_, a, _)| a == "lockout")
        .collect();
    assert_eq!(
        lockouts,
        vec![(
            "user".to_string(),
            "lockout".to_string(),
            "system".to_string()
        )]
    );

    // When the lock ends, the owner signs in and the run of failures is reset.
    let key = app
        .end_lock(tsp_ledger::auth::throttle::account_key("cora@example.com"))
        .await;
    let mut owner = app.anonymous();
    let response = owner
        .post(
            "/login",
            &[("email", "cora@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let row = entity::login_throttle::Entity::find_by_id(key)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.consecutive_failures, 0);
    assert!(id > 0);
}
db_test!(repeated_failures_lock_the_account_then_let_the_owner_back_in);

async fn one_client_guessing_many_accounts_is_throttled_too(app: TestApp) {
    app.create_user(Role::Viewer, "real@example.com").await;
    let mut attacker = app.anonymous();
    for i in 0..21 {
        attacker
            .post(
                "/login",
                &[
                    ("email", &format!("guess{i}@example.com")),
                    ("password", "guess guess guess"),
                ],
            )
            .await;
    }
    let response = attacker
        .post(
            "/login",
            &[("email", "real@example.com"), ("password", PASSWORD)],
        )
        .await;
    response.assert_contains("Too many failed attempts");
    assert!(
        app.ledger_actions()
            .await
            .iter()
            .any(|(t, a, _)| t == "login" && a == "lockout")
    );
}
db_test!(one_client_guessing_many_accounts_is_throttled_too);

async fn the_last_admin_cannot_be_demoted_or_deactivated(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let me = entity::users::Entity::find().all(app.db()).await.unwrap()[0].id;
    let response = admin
        .post(&format!("/admin/users/{me}/role"), &[("role", "viewer")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/users")
        .await
        .assert_contains("is the last active administrator");
    let response = admin
        .post(&format!("/admin/users/{me}/active"), &[("active", "false")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/users")
        .await
        .assert_contains("You cannot deactivate your own account");
    let user = entity::users::Entity::find_by_id(me)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((user.role.id(), user.active), ("admin", true));
}
db_test!(the_last_admin_cannot_be_demoted_or_deactivated);

async fn deactivation_signs_the_user_out_everywhere(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let coordinator_id = app
        .create_user(Role::Coordinator, "leaving@example.com")
        .await;
    let mut coordinator = app.client_for(coordinator_id).await;
    assert_eq!(coordinator.get("/account").await.status, StatusCode::OK);
    let response = admin
        .post(
            &format!("/admin/users/{coordinator_id}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        coordinator.get("/account").await.status,
        StatusCode::SEE_OTHER
    );
    let response = app
        .anonymous()
        .post(
            "/login",
            &[("email", "leaving@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Role change is in the ledger with before and after.
    admin
        .post(
            &format!("/admin/users/{coordinator_id}/role"),
            &[("role", "viewer")],
        )
        .await;
    let entry = tsp_ledger::ledger::recent(app.db(), None, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(entry.action, "change_role");
    assert_eq!(
        entry.changes,
        r#"{"role":{"after":"viewer","before":"coordinator"}}"#
    );
}
db_test!(deactivation_signs_the_user_out_everywhere);

async fn users_change_their_own_password(app: TestApp) {
    let id = app.create_user(Role::Trainer, "tom@example.com").await;
    let mut tom = app.client_for(id).await;
    let mut other_device = app.client_for(id).await;
    let new = "a much longer new passphrase";
    let response = tom
        .post(
            "/account/password",
            &[
                ("current_password", "wrong one!"),
                ("new_password", new),
                ("new_password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("is not your current password");
    let response = tom
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("new_password_confirmation", "short"),
            ],
        )
        .await;
    response.assert_contains("at least 12 characters");
    let response = tom
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("new_password_confirmation", new),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        tom.get("/account").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        other_device.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "other sessions end"
    );
    let ok = app
        .anonymous()
        .post("/login", &[("email", "tom@example.com"), ("password", new)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}
db_test!(users_change_their_own_password);
