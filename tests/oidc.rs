//! Sign-in with an OpenID provider (issue 13 item 2), end to end against a real one:
//! panva's certified `oidc-provider` from npm (tests/oidc-provider, installed by
//! `.ci/run`), started per test on a free port. The browser's trip through the provider
//! is made with reqwest; the app is the real router. Without Node.js or the installed
//! package the tests skip with a printed reason, except under CI, where that fails.
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use axum::http::StatusCode;
use serde_json::json;
use tsp_ledger::auth::oidc::{COOKIE, Flow};
use tsp_ledger::auth::session;
use tsp_ledger::domain::role::Role;

use crate::support::{Client, PASSWORD, SECRET, TestApp, TestResponse};

const CLIENT_ID: &str = "tsp-ledger-test";
const CLIENT_SECRET: &str = "a-client-secret-of-the-test-provider";

struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-provider")
}

impl Provider {
    /// `accounts`: login → claims. `None` (printed) when the provider cannot run here.
    fn start(accounts: serde_json::Value, token_clock_offset_seconds: i64) -> Option<Provider> {
        let dir = provider_dir();
        let missing = if !dir.join("node_modules/oidc-provider").is_dir() {
            Some("tests/oidc-provider has no node_modules (run `npm ci` there)".to_string())
        } else if Command::new("node").arg("--version").output().is_err() {
            Some("there is no `node` on PATH".to_string())
        } else {
            None
        };
        if let Some(reason) = missing {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but the OpenID provider cannot run: {reason}");
            }
            eprintln!("skipping: the OpenID provider cannot run: {reason}");
            return None;
        }
        let redirect = format!(
            "{}/auth/oidc/callback",
            crate::support::test_config("sqlite::memory:", &dir)
                .server
                .public_url
                .trim_end_matches('/')
        );
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", redirect)
            .env("ACCOUNTS", accounts.to_string())
            .env(
                "TOKEN_CLOCK_OFFSET_SECONDS",
                token_clock_offset_seconds.to_string(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let issuer = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("ISSUER ") {
                        break url.to_string();
                    }
                }
                _ => panic!("the OpenID provider stopped before it was ready"),
            }
        };
        // Keep reading: a closed pipe would end the provider at its next line of output.
        std::thread::spawn(move || lines.for_each(drop));
        Some(Provider { child, issuer })
    }

    /// The app configured to sign in through this provider.
    fn app_for(&self, app: &TestApp) -> TestApp {
        let issuer = self.issuer.clone();
        app.reconfigured(|config| {
            config.oidc.issuer = issuer;
            config.oidc.client_id = CLIENT_ID.into();
            config.oidc.client_secret = CLIENT_SECRET.into();
        })
    }
}

fn verified(email: &str) -> serde_json::Value {
    json!({"email": email, "email_verified": true, "name": "Test Person"})
}

/// Starts a sign-in at the app, as `client`; returns the provider URL it sent us to.
async fn start(client: &mut Client<'_>, next: &str) -> String {
    let response = client.get(&format!("/auth/oidc/start?next={next}")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert!(
        client.cookies.contains_key(COOKIE),
        "the unfinished sign-in travels in a cookie"
    );
    response.location().unwrap().to_string()
}

/// The browser's trip through the provider: its login page, as `login`; returns the
/// app's callback path and query the provider sends the browser back to.
async fn through_provider(provider: &Provider, authorize_url: &str, login: &str) -> String {
    assert!(
        authorize_url.starts_with(&provider.issuer),
        "{authorize_url}"
    );
    for parameter in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
    ] {
        assert!(
            authorize_url.contains(parameter),
            "{parameter} in {authorize_url}"
        );
    }
    let browser = crate::support::http_client()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = reqwest::Url::parse(&provider.issuer).unwrap();
    let follow = |response: reqwest::Response| {
        assert!(
            response.status().is_redirection(),
            "the provider answered {}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap();
        base.join(location).unwrap()
    };
    let interaction = follow(browser.get(authorize_url).send().await.unwrap());
    let login_page = browser.get(interaction.clone()).send().await.unwrap();
    assert!(login_page.text().await.unwrap().contains("name=\"login\""));
    let resume = follow(
        browser
            .post(format!("{interaction}/login"))
            .form(&[("login", login)])
            .send()
            .await
            .unwrap(),
    );
    let callback = follow(browser.get(resume).send().await.unwrap());
    assert_eq!(callback.path(), "/auth/oidc/callback", "{callback}");
    format!("{}?{}", callback.path(), callback.query().unwrap_or(""))
}

async fn signed_in_user(app: &TestApp, client: &Client<'_>) -> Option<i64> {
    let cookie = client.cookies.get(session::COOKIE)?;
    session::load(app.db(), &app.state.sessions, cookie)
        .await
        .unwrap()
        .map(|(_, user)| user.id)
}

async fn sessions_of(app: &TestApp, user_id: i64) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    entity::sessions::Entity::find()
        .filter(entity::sessions::Column::UserId.eq(user_id))
        .count(app.db())
        .await
        .unwrap()
}

async fn reset_mails(app: &TestApp) -> u64 {
    use entity::outbox_messages::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    Entity::find()
        .filter(Column::Kind.eq("password_reset"))
        .count(app.db())
        .await
        .unwrap()
}

fn assert_refused(response: &TestResponse, status: StatusCode, message: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    response.assert_contains(message);
    assert!(
        response.body.contains("<form") || response.body.contains("href=\"/auth/oidc/start"),
        "the sign-in page again, to start over"
    );
}

/// A provider where login `ada` is the verified ada@example.com (tokens minted with the
/// token endpoint's clock shifted by `token_clock_offset_seconds`), the app signing in
/// through it, and Ada's invited account there.
async fn ada_at_provider(
    app: &TestApp,
    role: Role,
    token_clock_offset_seconds: i64,
) -> Option<(Provider, TestApp, i64)> {
    let provider = Provider::start(
        json!({"ada": verified("Ada@Example.com")}),
        token_clock_offset_seconds,
    )?;
    let app = provider.app_for(app);
    let ada = app.create_user(role, "ada@example.com").await;
    Some((provider, app, ada))
}

async fn an_invited_user_signs_in_with_the_provider(app: TestApp) {
    let Some((provider, app, ada)) = ada_at_provider(&app, Role::Coordinator, 0).await else {
        return;
    };
    let mut client = app.anonymous();
    let login_page = client.get("/login").await;
    login_page.assert_contains("Sign in with Microsoft");
    let authorize = start(&mut client, "/classes").await;
    let callback = through_provider(&provider, &authorize, "ada").await;
    let response = client.get(&callback).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        Some("/classes"),
        "back to the page asked for"
    );
    assert_eq!(signed_in_user(&app, &client).await, Some(ada));
    assert!(
        !client.cookies.contains_key(COOKIE),
        "the flow cookie is spent"
    );
    client.get("/classes").await.assert_contains("Classes");

    // The same callback again (a replayed URL): the flow is gone, nothing signs in.
    let mut other = app.anonymous();
    let replay = other.get(&callback).await;
    assert_refused(
        &replay,
        StatusCode::BAD_REQUEST,
        "started in another browser",
    );
    assert_eq!(signed_in_user(&app, &other).await, None);
}
db_test!(an_invited_user_signs_in_with_the_provider);

async fn a_callback_in_another_browser_is_refused(app: TestApp) {
    let Some((provider, app, ada)) = ada_at_provider(&app, Role::Trainer, 0).await else {
        return;
    };
    let mut victim = app.anonymous();
    let authorize = start(&mut victim, "/").await;
    let callback = through_provider(&provider, &authorize, "ada").await;
    // An attacker's browser (login CSRF: making someone else's session its own).
    let mut attacker = app.anonymous();
    let response = attacker.get(&callback).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "started in another browser",
    );
    assert_eq!(sessions_of(&app, ada).await, 0);
    // A flow cookie of this browser whose state is not the callback's.
    let _ = start(&mut attacker, "/").await;
    let response = attacker.get(&callback).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "started in another browser",
    );
    assert_eq!(sessions_of(&app, ada).await, 0);
}
db_test!(a_callback_in_another_browser_is_refused);

async fn an_id_token_with_the_wrong_nonce_is_refused(app: TestApp) {
    let Some((provider, app, ada)) = ada_at_provider(&app, Role::Coordinator, 0).await else {
        return;
    };
    let mut client = app.anonymous();
    let authorize = start(&mut client, "/").await;
    // The browser's flow expects another nonce than the one the provider was sent (as a
    // token minted for another sign-in would carry), correctly sealed otherwise.
    let now = tsp_ledger::clock::now();
    let mut flow = Flow::open(&SECRET, &client.cookies[COOKIE], now).unwrap();
    flow.nonce = "a-nonce-from-another-sign-in".into();
    client.cookies.insert(COOKIE.into(), flow.seal(&SECRET));
    let callback = through_provider(&provider, &authorize, "ada").await;
    let response = client.get(&callback).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "failed a security check",
    );
    assert_eq!(sessions_of(&app, ada).await, 0);
}
db_test!(an_id_token_with_the_wrong_nonce_is_refused);

async fn an_expired_id_token_is_refused(app: TestApp) {
    // The provider's token endpoint runs two hours behind: its ID tokens (valid an
    // hour) arrive already expired.
    let Some((provider, app, ada)) = ada_at_provider(&app, Role::Coordinator, -7200).await else {
        return;
    };
    let mut client = app.anonymous();
    let authorize = start(&mut client, "/").await;
    let callback = through_provider(&provider, &authorize, "ada").await;
    let response = client.get(&callback).await;
    assert_refused(&response, StatusCode::BAD_REQUEST, "has expired");
    assert_eq!(sessions_of(&app, ada).await, 0);
}
db_test!(an_expired_id_token_is_refused);

async fn an_unknown_or_unverified_email_signs_nobody_in(app: TestApp) {
    let accounts = json!({
        "stranger": verified("stranger@example.com"),
        "unverified": {"email": "ada@example.com", "email_verified": false},
        "gone": verified("gone@example.com"),
    });
    let Some(provider) = Provider::start(accounts, 0) else {
        return;
    };
    let app = provider.app_for(&app);
    let ada = app.create_user(Role::Coordinator, "ada@example.com").await;
    let gone = app.create_user(Role::Coordinator, "gone@example.com").await;
    tsp_ledger::services::accounts::set_active(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        gone,
        false,
    )
    .await
    .unwrap();
    let users_before = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::users::Entity::find().count(app.db()).await.unwrap()
    };
    let ledger_before = app.ledger_actions().await.len();

    for (login, status, message) in [
        (
            "stranger",
            StatusCode::FORBIDDEN,
            "No active tsp-ledger account uses stranger@example.com",
        ),
        (
            "gone",
            StatusCode::FORBIDDEN,
            "No active tsp-ledger account uses gone@example.com",
        ),
        // An unverified address is not matched, even to a real account.
        (
            "unverified",
            StatusCode::FORBIDDEN,
            "no verified e-mail address",
        ),
    ] {
        let mut client = app.anonymous();
        let authorize = start(&mut client, "/").await;
        let callback = through_provider(&provider, &authorize, login).await;
        let response = client.get(&callback).await;
        assert_refused(&response, status, message);
        assert_eq!(signed_in_user(&app, &client).await, None, "{login}");
    }
    assert_eq!(sessions_of(&app, ada).await, 0);
    assert_eq!(sessions_of(&app, gone).await, 0);
    let users_after = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::users::Entity::find().count(app.db()).await.unwrap()
    };
    assert_eq!(users_after, users_before, "no self-registration");
    assert_eq!(app.ledger_actions().await.len(), ledger_before);
}
db_test!(an_unknown_or_unverified_email_signs_nobody_in);

async fn the_provider_refusing_or_unreachable_is_a_clear_message(app: TestApp) {
    // Nothing listens on port 9 of this machine.
    let down = app.reconfigured(|config| {
        config.oidc.issuer = "http://127.0.0.1:9".into();
        config.oidc.client_id = CLIENT_ID.into();
        config.oidc.client_secret = CLIENT_SECRET.into();
    });
    let mut client = down.anonymous();
    let response = client.get("/auth/oidc/start?next=/classes").await;
    assert_refused(
        &response,
        StatusCode::BAD_GATEWAY,
        "cannot be reached right now",
    );
    assert!(!client.cookies.contains_key(COOKIE));

    // The provider sends the browser back with an error (the user cancelled); its text
    // comes in the URL, so it is shown escaped and shortened.
    let _ = client.get("/login").await;
    let long = "x".repeat(500);
    let response = client
        .get(&format!(
            "/auth/oidc/callback?error=access_denied&error_description=%3Cb%3Ecancelled%3C%2Fb%3E{long}"
        ))
        .await;
    assert_refused(
        &response,
        StatusCode::FORBIDDEN,
        "refused the sign-in: &#60;b&#62;cancelled",
    );
    assert!(
        !response.body.contains(&long),
        "the provider's text is shortened"
    );

    // Without a provider configured the routes do not exist.
    let mut plain = app.anonymous();
    assert_eq!(
        plain.get("/auth/oidc/start").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        plain.get("/auth/oidc/callback?code=x&state=y").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!plain.get("/login").await.body.contains("/auth/oidc/start"));
}
db_test!(the_provider_refusing_or_unreachable_is_a_clear_message);

async fn password_sign_in_off_leaves_only_the_break_glass_admin(app: TestApp) {
    let root = app.create_user(Role::Admin, "root@example.com").await;
    let coordinator = app
        .create_user(Role::Coordinator, "coord@example.com")
        .await;
    let other_admin = app.create_user(Role::Admin, "admin2@example.com").await;
    let app = app.reconfigured(|config| {
        config.oidc.issuer = "http://127.0.0.1:9".into();
        config.oidc.client_id = CLIENT_ID.into();
        config.oidc.client_secret = CLIENT_SECRET.into();
        config.oidc.password_sign_in = false;
        config.oidc.break_glass = vec!["Root@example.com".into()];
    });
    let mut client = app.anonymous();
    let page = client.get("/login").await;
    page.assert_contains("Emergency administrator sign-in");
    page.assert_contains("href=\"/auth/oidc/start?next=/\"");

    for email in [
        "coord@example.com",
        "admin2@example.com",
        "nobody@example.com",
    ] {
        let mut client = app.anonymous();
        let _ = client.get("/login").await;
        let response = client
            .post("/login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        response.assert_contains("Password sign-in is turned off for this account");
        assert_eq!(signed_in_user(&app, &client).await, None, "{email}");
    }
    assert_eq!(sessions_of(&app, coordinator).await, 0);
    assert_eq!(sessions_of(&app, other_admin).await, 0);

    let mut client = app.anonymous();
    let _ = client.get("/login").await;
    let response = client
        .post(
            "/login",
            &[("email", "root@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(signed_in_user(&app, &client).await, Some(root));

    // A reset link would not help a single-sign-on account: none is sent or offered.
    let mut anonymous = app.anonymous();
    let _ = anonymous.get("/password/forgot").await;
    let response = anonymous
        .post("/password/forgot", &[("email", "coord@example.com")])
        .await;
    assert!(response.status.is_redirection() || response.status.is_success());
    assert_eq!(
        reset_mails(&app).await,
        0,
        "no reset link for a single-sign-on account"
    );
    client
        .get("/admin/users")
        .await
        .assert_contains("coord@example.com");
    let response = client
        .post(&format!("/admin/users/{coordinator}/reset-link"), &[])
        .await;
    let page = if response.status == StatusCode::SEE_OTHER {
        client.get(response.location().unwrap()).await
    } else {
        response
    };
    page.assert_contains("Password sign-in is turned off for coord@example.com");
}
db_test!(password_sign_in_off_leaves_only_the_break_glass_admin);
