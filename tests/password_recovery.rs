//! Password recovery (issue 13 item 1): "Forgot password?", the e-mailed single-use link,
//! its throttling, the admin-sent link, and the throttled current-password check.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use entity::{ledger_entries, outbox_messages, password_resets};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use tsp_ledger::domain::role::Role;

use crate::support::{Client, PASSWORD, TestApp, TestResponse, form_encode};

const NEW: &str = "a brand new passphrase, long enough";

/// The reset mails queued so far, oldest first.
async fn reset_mails(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq("password_reset"))
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// The token of the link in a reset mail.
fn token_of(mail: &outbox_messages::Model) -> String {
    let marker = "/password/reset/";
    let start = mail.text_body.find(marker).expect("a reset link") + marker.len();
    let token = mail.text_body[start..start + 64].to_string();
    assert!(
        mail.html_body.contains(&format!("{marker}{token}")),
        "both parts carry the link"
    );
    token
}

async fn ask(client: &mut Client<'_>, email: &str) -> TestResponse {
    client.post("/password/forgot", &[("email", email)]).await
}

async fn reset(client: &mut Client<'_>, token: &str, password: &str) -> TestResponse {
    client
        .post(
            &format!("/password/reset/{token}"),
            &[
                ("new_password", password),
                ("new_password_confirmation", password),
            ],
        )
        .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.anonymous()
        .post("/login", &[("email", email), ("password", password)])
        .await
        .status
}

async fn known_and_unknown_addresses_get_the_same_answer_and_only_a_known_one_a_mail(app: TestApp) {
    app.create_user(Role::Coordinator, "known@example.com")
        .await;
    let gone = app.create_user(Role::Viewer, "gone@example.com").await;
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .post(
            &format!("/admin/users/{gone}/active"),
            &[("active", "false")],
        )
        .await;

    let mut browser = app.anonymous();
    browser
        .get("/login")
        .await
        .assert_contains(r#"<a href="/password/forgot">Forgot password?</a>"#);
    browser
        .get("/password/forgot")
        .await
        .assert_contains(r#"<label for="email">E-mail</label>"#);

    let known = ask(&mut browser, "Known@Example.com").await;
    let unknown = ask(&mut browser, "nobody@example.com").await;
    let deactivated = ask(&mut browser, "gone@example.com").await;
    assert_eq!(known.status, StatusCode::OK);
    known.assert_contains("Check your e-mail");
    for (other, email) in [
        (&unknown, "nobody@example.com"),
        (&deactivated, "gone@example.com"),
    ] {
        assert_eq!(other.status, known.status);
        assert_eq!(
            other.body.replace(email, "known@example.com"),
            known.body,
            "the same page for {email}"
        );
        assert_eq!(other.set_cookies(), known.set_cookies());
    }
    let mails = reset_mails(&app).await;
    assert_eq!(mails.len(), 1, "only the known, active account gets a mail");
    assert_eq!(mails[0].to_address, "known@example.com");
    assert!(!mails[0].text_body.contains("administrator sent"));

    // A malformed address is named as such (that says nothing about accounts).
    let bad = ask(&mut browser, "not an address").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains(r#"aria-describedby="email-error""#)
        .assert_contains(r#"id="email-error""#);

    // A post without the form's token is refused, as on every public form.
    let forged = browser
        .post_raw("/password/forgot", &[("email", "known@example.com")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(reset_mails(&app).await.len(), 1);
}
db_test!(known_and_unknown_addresses_get_the_same_answer_and_only_a_known_one_a_mail);

async fn a_reset_link_works_once_sets_the_password_and_ends_every_session(app: TestApp) {
    let id = app.create_user(Role::Trainer, "tess@example.com").await;
    let mut laptop = app.client_for(id).await;
    let mut phone = app.client_for(id).await;
    assert_eq!(laptop.get("/account").await.status, StatusCode::OK);

    // Someone has locked tess's sign-in by guessing (for a good while).
    for _ in 0..6 {
        sign_in(&app, "tess@example.com", "guess guess guess").await;
    }
    let key = tsp_ledger::auth::throttle::account_key("tess@example.com");
    let lock = entity::login_throttle::Entity::find_by_id(key)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut lock: entity::login_throttle::ActiveModel = lock.into();
    lock.locked_until = Set(Some(tsp_ledger::clock::now() + Duration::minutes(15)));
    lock.update(app.db()).await.unwrap();
    assert_eq!(
        sign_in(&app, "tess@example.com", PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut browser = app.anonymous();
    ask(&mut browser, "tess@example.com").await;
    let mail = reset_mails(&app).await.remove(0);
    let token = token_of(&mail);
    // Stored only as its hash.
    let row = password_resets::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.token_hash, tsp_ledger::auth::token_hash(&token));
    assert_ne!(row.token_hash, token);
    assert_eq!(row.expires_at - row.created_at, Duration::minutes(30));
    assert_eq!(row.requested_by, None);

    let mut owner = app.anonymous();
    owner
        .get(&format!("/password/reset/{token}"))
        .await
        .assert_contains("Choose a new password")
        .assert_contains("tess@example.com");
    // The rules of /account/password: at least 12 characters, confirmed.
    let short = reset(&mut owner, &token, "short").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    short
        .assert_contains("at least 12 characters")
        .assert_contains(r#"aria-describedby="new_password-error""#);
    let response = reset(&mut owner, &token, NEW).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/login"));
    owner
        .get("/login")
        .await
        .assert_contains("Sign in with the new password");

    // Every session ended; the new password works at once (the owner's reset ends the
    // account's sign-in lock), the old one does not.
    assert_eq!(laptop.get("/account").await.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/account").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in(&app, "tess@example.com", PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        sign_in(&app, "tess@example.com", NEW).await,
        StatusCode::SEE_OTHER
    );

    // Spent: the link is no link any more, for a page or a post.
    assert_eq!(
        owner.get(&format!("/password/reset/{token}")).await.status,
        StatusCode::NOT_FOUND
    );
    let again = reset(&mut app.anonymous(), &token, "another long passphrase").await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        sign_in(&app, "tess@example.com", NEW).await,
        StatusCode::SEE_OTHER
    );

    // One ledger entry for the reset, by the user; no entry holds a secret.
    let actions = app.ledger_actions().await;
    let resets: Vec<_> = actions
        .iter()
        .filter(|(_, a, _)| a == "reset_password")
        .collect();
    assert_eq!(
        resets,
        vec![&(
            "user".to_string(),
            "reset_password".to_string(),
            format!("user:{id}")
        )]
    );
    assert!(actions.contains(&("user".into(), "send_password_reset".into(), "system".into())));
    for entry in ledger_entries::Entity::find().all(app.db()).await.unwrap() {
        for secret in [token.as_str(), row.token_hash.as_str(), NEW, PASSWORD] {
            assert!(!entry.changes.contains(secret), "{}", entry.changes);
        }
    }

    // Once sent, the mail's stored body no longer holds the link.
    let stub = tsp_ledger::config::MailConfig {
        transport: tsp_ledger::config::MailTransport::Stub,
        ..app.state.config.mail.clone()
    };
    let transport = tsp_ledger::mail::transport::Transport::from_config(&stub).unwrap();
    let worker = tsp_ledger::mail::worker::Worker::new(app.db().clone(), &stub, transport).unwrap();
    assert_eq!(worker.drain().await.unwrap().sent, 1);
    let sent = reset_mails(&app).await.remove(0);
    assert_eq!(sent.text_body, tsp_ledger::mail::REMOVED_BODY);
    assert!(!sent.html_body.contains(&token));
}
db_test!(a_reset_link_works_once_sets_the_password_and_ends_every_session);

async fn reset_links_expire_and_a_newer_link_supersedes_older_ones(app: TestApp) {
    let id = app.create_user(Role::Viewer, "vic@example.com").await;
    let mut browser = app.anonymous();
    ask(&mut browser, "vic@example.com").await;
    ask(&mut browser, "vic@example.com").await;
    let mails = reset_mails(&app).await;
    let (first, second) = (token_of(&mails[0]), token_of(&mails[1]));
    assert_eq!(
        browser
            .get(&format!("/password/reset/{first}"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "superseded"
    );
    assert_eq!(
        reset(&mut browser, &first, NEW).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser
            .get(&format!("/password/reset/{second}"))
            .await
            .status,
        StatusCode::OK
    );

    // Thirty minutes later the link is dead (the clock cannot be pinned: move the row).
    let row = password_resets::Entity::find()
        .filter(password_resets::Column::UserId.eq(id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut expired: password_resets::ActiveModel = row.clone().into();
    expired.expires_at = Set(tsp_ledger::clock::now() - Duration::seconds(1));
    expired.update(app.db()).await.unwrap();
    assert_eq!(
        browser
            .get(&format!("/password/reset/{second}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reset(&mut browser, &second, NEW).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sign_in(&app, "vic@example.com", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );

    // A live link of an account deactivated since is dead too.
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .post(&format!("/admin/users/{id}/reset-link"), &[])
        .await;
    let third = token_of(reset_mails(&app).await.last().unwrap());
    admin
        .post(&format!("/admin/users/{id}/active"), &[("active", "false")])
        .await;
    assert_eq!(
        browser
            .get(&format!("/password/reset/{third}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
db_test!(reset_links_expire_and_a_newer_link_supersedes_older_ones);

async fn reset_requests_are_throttled_per_account_and_per_address(app: TestApp) {
    app.create_user(Role::Coordinator, "cora@example.com").await;
    app.create_user(Role::Coordinator, "carl@example.com").await;
    let mut browser = app.anonymous();
    let first = ask(&mut browser, "cora@example.com").await;
    for _ in 0..4 {
        let response = ask(&mut browser, "cora@example.com").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body, first.body, "the same answer when throttled");
    }
    assert_eq!(
        reset_mails(&app).await.len(),
        3,
        "three links an hour per account"
    );

    // One address asking for many accounts runs out too, after 4 × 3 requests an hour
    // (3 so far: refused requests do not count): the known address asked for next gets
    // nothing.
    for i in 0..9 {
        ask(&mut browser, &format!("guess{i}@example.com")).await;
    }
    let response = ask(&mut browser, "carl@example.com").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(reset_mails(&app).await.len(), 3);

    // From another address (behind a trusted proxy) carl gets his link.
    let mut config = app.state.config.clone();
    config.server.trust_forwarded_for = true;
    let state = tsp_ledger::AppState::new(config, app.state.db.clone(), crate::support::SECRET);
    let router = tsp_ledger::router(state);
    let nonce = tsp_ledger::auth::random_token();
    let csrf = tsp_ledger::auth::csrf::anonymous_token(&crate::support::SECRET, &nonce);
    let request = Request::post("/password/forgot")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::COOKIE,
            format!("{}={nonce}", tsp_ledger::auth::csrf::NONCE_COOKIE),
        )
        .header("x-forwarded-for", "198.51.100.7")
        .body(Body::from(form_encode(&[
            ("_csrf", &csrf),
            ("email", "carl@example.com"),
        ])))
        .unwrap();
    use tower::ServiceExt;
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mails = reset_mails(&app).await;
    assert_eq!(mails.len(), 4);
    assert_eq!(mails[3].to_address, "carl@example.com");
}
db_test!(reset_requests_are_throttled_per_account_and_per_address);

async fn an_admin_sends_a_reset_link_from_the_users_page(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let admin_id = entity::users::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .id;
    let id = app.create_user(Role::Trainer, "tina@example.com").await;
    admin
        .get("/admin/users")
        .await
        .assert_contains(&format!(r#"action="/admin/users/{id}/reset-link""#))
        .assert_contains("Send password reset link");
    let response = admin
        .post(&format!("/admin/users/{id}/reset-link"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/users")
        .await
        .assert_contains("A password reset link was e-mailed to tina@example.com");
    let mails = reset_mails(&app).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to_address, "tina@example.com");
    assert!(mails[0].text_body.contains("An administrator sent you"));
    let row = password_resets::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.requested_by, Some(admin_id));
    assert!(app.ledger_actions().await.contains(&(
        "user".into(),
        "send_password_reset".into(),
        format!("user:{admin_id}")
    )));
    // The link works like a self-service one.
    let token = token_of(&mails[0]);
    let response = reset(&mut app.anonymous(), &token, NEW).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in(&app, "tina@example.com", NEW).await,
        StatusCode::SEE_OTHER
    );

    // A deactivated account gets no link: the admin is told why.
    admin
        .post(&format!("/admin/users/{id}/active"), &[("active", "false")])
        .await;
    let response = admin
        .post(&format!("/admin/users/{id}/reset-link"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/users")
        .await
        .assert_contains("reactivate the account before sending a reset link");
    assert_eq!(reset_mails(&app).await.len(), 1);

    // Other roles may not.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let response = coordinator
        .post(&format!("/admin/users/{admin_id}/reset-link"), &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(reset_mails(&app).await.len(), 1);
}
db_test!(an_admin_sends_a_reset_link_from_the_users_page);

async fn the_current_password_check_is_throttled_like_sign_in(app: TestApp) {
    let id = app.create_user(Role::Viewer, "val@example.com").await;
    let mut val = app.client_for(id).await;
    let change = |current: &'static str| {
        [
            ("current_password", current),
            ("new_password", NEW),
            ("new_password_confirmation", NEW),
        ]
    };
    for _ in 0..6 {
        let response = val
            .post("/account/password", &change("guess guess guess"))
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Locked now: even the right current password is not checked.
    let response = val.post("/account/password", &change(PASSWORD)).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("too many failed attempts")
        .assert_contains(r#"aria-describedby="current_password-error""#);
    assert!(app.ledger_actions().await.contains(&(
        "user".into(),
        "lockout".into(),
        "system".into()
    )));
    // The same counters as signing in: the account's sign-in is paused too.
    let response = app
        .anonymous()
        .post(
            "/login",
            &[("email", "val@example.com"), ("password", PASSWORD)],
        )
        .await;
    response.assert_contains("Too many failed attempts");
    assert_eq!(
        sign_in(&app, "val@example.com", NEW).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the password did not change"
    );

    // When the lock ends, the right password changes it and resets the run.
    let key = app
        .end_lock(tsp_ledger::auth::throttle::account_key("val@example.com"))
        .await;
    let response = val.post("/account/password", &change(PASSWORD)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let row = entity::login_throttle::Entity::find_by_id(key)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.consecutive_failures, 0);
}
db_test!(the_current_password_check_is_throttled_like_sign_in);
