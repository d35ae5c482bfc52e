//! Issue 13, items 5–7: bad input refused with a clear message and nothing written,
//! sessions and tokens that end when they should, and the small things a user meets.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
use tsp_ledger::config::MailConfig;
use tsp_ledger::domain::role::Role;
use tsp_ledger::mail::transport::Transport;
use tsp_ledger::mail::worker::Worker;
use tsp_ledger::services::imports::{ImportFailure, Kind};

use crate::bad_input::table_counts;
use crate::fixtures;
use crate::imports::{Part, catalog, class_in, post_multipart, send_multipart};
use crate::smtp::{self, SmtpServer};
use crate::support::{Client, PASSWORD, TestApp, TestResponse};
use tsp_ledger::domain::outbox::MessageKind;

/// The styled error page (templates/error.html), not a bare status line.
#[track_caller]
fn assert_styled(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{}", response.body);
    let content_type = response
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("text/html"),
        "{status}: {content_type:?}\n{}",
        response.body
    );
    response
        .assert_contains(r#"<p class="status-code">"#)
        .assert_contains(&status.as_u16().to_string());
}

async fn throttle_rows(app: &TestApp) -> u64 {
    entity::login_throttle::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

/// The page a redirect leads to (where its flash is shown).
async fn follow(client: &mut Client<'_>, response: &TestResponse) -> TestResponse {
    let to = response
        .location()
        .unwrap_or_else(|| panic!("no redirect ({}): {}", response.status, response.body))
        .to_string();
    client.get(&to).await
}

// ---- item 5: bad input --------------------------------------------------------------

async fn a_sign_in_email_is_parsed_and_capped_before_the_throttle_or_the_ledger(app: TestApp) {
    app.create_user(Role::Admin, "ada@example.com").await;
    let before = table_counts(&app).await;
    let huge = "x".repeat(1_000_000);
    let mut browser = app.anonymous();
    for _ in 0..8 {
        let response = browser
            .post("/login", &[("email", &huge), ("password", PASSWORD)])
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        response.assert_contains("The e-mail must be at most 254 characters.");
        // The box shows back no more than an address can hold.
        assert!(
            response.body.len() < 30_000,
            "{} bytes",
            response.body.len()
        );
    }
    for not_an_address in ["ada", "ada@example.com>", "<ada@example.com"] {
        let response = browser
            .post(
                "/login",
                &[("email", not_an_address), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        response.assert_contains("is not a valid e-mail address");
    }
    let response = browser.post("/password/forgot", &[("email", &huge)]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("at most 254 characters");
    assert!(
        response.body.len() < 30_000,
        "{} bytes",
        response.body.len()
    );
    assert_eq!(throttle_rows(&app).await, 0, "nothing was counted");
    assert_eq!(table_counts(&app).await, before, "nothing was written");
    // A real address still signs in.
    let response = browser
        .post(
            "/login",
            &[("email", "ADA@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
}
db_test!(a_sign_in_email_is_parsed_and_capped_before_the_throttle_or_the_ledger);

async fn a_nul_byte_in_any_field_or_cell_is_refused_with_a_message(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "delivered").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let before = table_counts(&app).await;
    let nul = |response: &TestResponse, field: &str| {
        assert_styled(response, StatusCode::BAD_REQUEST);
        response
            .assert_contains(&format!(
                "The field &#34;{field}&#34; must not contain a NUL"
            ))
            .assert_contains("Nothing was");
    };
    // Anonymous forms: sign-in and password recovery.
    let mut anonymous = app.anonymous();
    let response = anonymous
        .post(
            "/login",
            &[("email", "ada\0@example.com"), ("password", PASSWORD)],
        )
        .await;
    nul(&response, "email");
    let response = anonymous
        .post(
            "/login",
            &[("email", "ada@example.com"), ("password", "a\0b")],
        )
        .await;
    nul(&response, "password");
    let response = anonymous
        .post("/password/forgot", &[("email", "a\0@example.com")])
        .await;
    nul(&response, "email");
    // A signed-in form, a query string, an upload's text field.
    let response = coordinator
        .post(
            "/courses",
            &[
                ("course_code", "NUL-1"),
                ("title", "A\0B"),
                ("duration_days", "2"),
                ("content", "official"),
            ],
        )
        .await;
    nul(&response, "title");
    let response = coordinator.get("/classes?q=%00").await;
    nul(&response, "q");
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "roster"),
            Part::Text("reason", "why\0"),
            Part::Text(
                "csv",
                "class_ref,learner_name,learner_email,attended\nC-1,Ada,ada@example.com,true\n",
            ),
        ],
    )
    .await;
    nul(&response, "reason");
    // A CSV cell, pasted on a class page or imported: named by line and column.
    let response = post_multipart(
        &mut coordinator,
        &format!("/classes/{}/roster/import", class.id),
        &[Part::Text(
            "csv",
            "learner_name,learner_email,attended\nAda\0Lovelace,ada@example.com,true\n",
        )],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("line 2: learner_name: must not contain a NUL character");
    let Err(ImportFailure::Invalid { errors, .. }) = fixtures::import(
        &app,
        Kind::TitlePlan,
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\nX-1,Bad\0title,2,false,security,official,2026-01\n",
    )
    .await
    else {
        panic!("a NUL in a title was imported");
    };
    assert_eq!(
        errors[0].to_string(),
        "line 2: title: must not contain a NUL character (\\0)"
    );
    assert_eq!(table_counts(&app).await, before, "nothing was written");
}
db_test!(a_nul_byte_in_any_field_or_cell_is_refused_with_a_message);

async fn learner_emails_are_one_address_and_names_one_clean_line(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "delivered").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let mut admin = app.client_as(Role::Admin).await;
    let before = table_counts(&app).await;
    let add = |name: &'static str, email: &'static str| {
        [
            ("learner_name", name),
            ("learner_email", email),
            ("attended", "true"),
        ]
    };
    let path = format!("/classes/{}/roster", class.id);
    for email in [
        "a@b.c>",
        "<a@b.example",
        "a..b@x.example",
        "Eve<eve@evil.example>",
        "eve@evil.example, bob@example.com",
    ] {
        let response = coordinator.post(&path, &add("Eve", email)).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        response.assert_contains("is not a valid e-mail address");
    }
    for name in [
        "Eve\r\nBcc: everyone@example.com",
        "Eve\u{202e}moc.elpmaxe",
        "Eve\u{2066}x\u{2069}",
        "Eve\u{7}",
    ] {
        let response = coordinator.post(&path, &add(name, "eve@example.com")).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
    }
    // The same rules in a roster file, for a trainer's name and for a user's.
    let Err(ImportFailure::Invalid { errors, .. }) = fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Eve,Eve<eve@evil.example>,true\nC-1,\"Eve\r\nBcc: x\",eve@example.com,true\n",
    )
    .await
    else {
        panic!("bad learners were imported");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["learner_email", "learner_name"], "{errors:?}");
    let response = admin
        .post(
            "/admin/users",
            &[
                ("name", "Mallory\u{202e}"),
                ("email", "mallory@example.com"),
                ("role", "viewer"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(table_counts(&app).await, before, "nothing was written");
    // A plain good one still goes in.
    let response = coordinator
        .post(&path, &add("Zoë O'Brien, Jr.", "zoe.o'brien+x@example.com"))
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
}
db_test!(learner_emails_are_one_address_and_names_one_clean_line);

async fn a_page_number_or_cursor_that_overflows_is_a_400_with_a_message(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let response = admin.get("/codes?page=184467440737095517").await;
    assert_styled(&response, StatusCode::BAD_REQUEST);
    response.assert_contains("The page number must be a whole number from 1 to");
    for path in [
        "/codes?page=0",
        "/codes?page=-1",
        "/admin/ledger?before=99999999999999999999",
        "/outbox?before=99999999999999999999",
        "/kpi/lines?after=99999999999999999999",
    ] {
        let response = admin.get(path).await;
        assert_styled(&response, StatusCode::BAD_REQUEST);
    }
    assert_eq!(admin.get("/codes?page=2").await.status, StatusCode::OK);
}
db_test!(a_page_number_or_cursor_that_overflows_is_a_400_with_a_message);

async fn removing_a_learner_who_has_a_code_is_a_clear_refusal(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "delivered").await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Ada Lovelace,ada@example.com,true\nC-1,Bob Free,bob@example.com,true\n",
    )
    .await
    .unwrap();
    fixtures::import(
        &app,
        Kind::Codes,
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on\nC-1,ada@example.com,CODE1,2026-03-06,\n",
    )
    .await
    .unwrap();
    let roster = tsp_ledger::services::classes::roster(app.db(), class.id)
        .await
        .unwrap();
    let id_of = |email: &str| roster.iter().find(|l| l.email_key == email).unwrap().id;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let before = table_counts(&app).await;
    let response = coordinator
        .post(
            &format!(
                "/classes/{}/roster/{}/remove",
                class.id,
                id_of("ada@example.com")
            ),
            &[("reason", "")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    follow(&mut coordinator, &response)
        .await
        .assert_contains("Ada Lovelace was not removed: they have an achievement code");
    assert_eq!(table_counts(&app).await, before, "nothing was written");
    // A learner with nothing attached is removed as before.
    let response = coordinator
        .post(
            &format!(
                "/classes/{}/roster/{}/remove",
                class.id,
                id_of("bob@example.com")
            ),
            &[("reason", "")],
        )
        .await;
    follow(&mut coordinator, &response)
        .await
        .assert_contains("Learner removed from the roster.");
}
db_test!(removing_a_learner_who_has_a_code_is_a_clear_refusal);

async fn import_reports_quote_short_prefixes_and_name_an_unclosed_quote(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "delivered").await;
    // 20 rows of 100 KB dates: each problem quotes a short prefix only.
    let mut csv = String::from("purchased_on,exam_code,level,quantity,order_ref\n");
    let long = "9".repeat(100_000);
    for i in 0..20 {
        csv.push_str(&format!("{long},AZ-104,advanced,1,PO-{i}\n"));
    }
    let Err(ImportFailure::Invalid { errors, .. }) =
        fixtures::import(&app, Kind::Vouchers, &csv).await
    else {
        panic!("long dates were imported");
    };
    assert_eq!(errors.len(), 20);
    for e in &errors {
        assert!(e.message.len() < 200, "{} characters", e.message.len());
        assert!(e.message.contains("YYYY-MM-DD"), "{e}");
    }
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "vouchers"),
            Part::File("file", "vouchers.csv", csv.as_bytes()),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response.body.len() < 100_000,
        "a {} byte page",
        response.body.len()
    );

    // An unclosed quote is reported as such, at the line it opens.
    let Err(ImportFailure::Invalid { errors, .. }) = fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Ada,ada@example.com,true\nC-1,\"Bob,bob@example.com,true\nC-1,Cy,cy@example.com,true\n",
    )
    .await
    else {
        panic!("an unclosed quote was imported");
    };
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "line 3: row: a quoted field is not closed: a \" is missing, so the rest of the file was read as one field"
        ]
    );

    // An upload's text fields are capped.
    let before = table_counts(&app).await;
    let reason = "r".repeat(10_000);
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "roster"),
            Part::Text("reason", &reason),
            Part::Text(
                "csv",
                "class_ref,learner_name,learner_email,attended\nC-1,Ada,ada@example.com,true\n",
            ),
        ],
    )
    .await;
    assert_styled(&response, StatusCode::BAD_REQUEST);
    response.assert_contains("The field &#34;reason&#34; is larger than 4 KiB");
    assert_eq!(table_counts(&app).await, before);
}
db_test!(import_reports_quote_short_prefixes_and_name_an_unclosed_quote);

async fn a_permanent_smtp_refusal_fails_the_message_at_once(app: TestApp) {
    let port = smtp::free_port();
    let Some(server) = SmtpServer::start(port).await else {
        return;
    };
    let config = MailConfig {
        transport: tsp_ledger::config::MailTransport::Smtp,
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_tls: tsp_ledger::config::SmtpTls::None,
        smtp_timeout_seconds: 5,
        retry_base_seconds: 30,
        max_attempts: 8,
        ..app.state.config.mail.clone()
    };
    for to in ["reject-me@example.com", "ada@example.com"] {
        tsp_ledger::mail::enqueue(
            app.db(),
            tsp_ledger::mail::Email {
                kind: MessageKind::DeliveryConfirmation,
                to: to.into(),
                subject: "Hello".into(),
                text: "Hello".into(),
                html: "<p>Hello</p>".into(),
                related: None,
                calendar: None,
            },
        )
        .await
        .unwrap();
    }
    let worker = Worker::new(
        app.db().clone(),
        &config,
        Transport::from_config(&config).unwrap(),
    )
    .unwrap();
    let report = worker.run_once().await.unwrap();
    assert_eq!((report.sent, report.failed, report.retrying), (1, 1, 0));
    let messages = entity::outbox_messages::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    let rejected = messages
        .iter()
        .find(|m| m.to_address == "reject-me@example.com")
        .unwrap();
    assert_eq!((rejected.status.id(), rejected.attempts), ("failed", 1));
    assert!(
        rejected.last_error.as_deref().unwrap().contains("550"),
        "{:?}",
        rejected.last_error
    );
    assert_eq!(server.wait_for(1).await.len(), 1);
    let failed = app.ledger_actions().await;
    assert!(
        failed
            .iter()
            .any(|(t, a, _)| t == "outbox_message" && a == "failed")
    );
}
db_test!(a_permanent_smtp_refusal_fails_the_message_at_once);

// ---- item 6: sessions and tokens -------------------------------------------------------

/// The KPI API's answer to `Authorization: Bearer <secret>` from a client without cookies.
async fn bearer_status(app: &TestApp, secret: &str) -> StatusCode {
    let mut curl = app.anonymous();
    curl.cookies.clear();
    let request = Request::get("/api/v1/kpi?as_of=2026-11-22")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .body(Body::empty())
        .unwrap();
    curl.send(request).await.status
}

async fn a_deactivated_administrators_api_tokens_stop_at_once(app: TestApp) {
    let owner = app.create_user(Role::Admin, "owner@example.com").await;
    let mut other = app.client_as(Role::Admin).await;
    let created = tsp_ledger::services::api_tokens::create(app.db(), owner, "Power BI")
        .await
        .unwrap();
    let kpi = || bearer_status(&app, &created.secret);
    assert_eq!(kpi().await, StatusCode::OK);
    let response = other
        .post(
            &format!("/admin/users/{owner}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(kpi().await, StatusCode::UNAUTHORIZED);
    other
        .post(
            &format!("/admin/users/{owner}/active"),
            &[("active", "true")],
        )
        .await;
    assert_eq!(kpi().await, StatusCode::OK, "back with its owner");
}
db_test!(a_deactivated_administrators_api_tokens_stop_at_once);

async fn idle_expiry_counts_from_the_last_request_to_the_second(app: TestApp) {
    let id = app.create_user(Role::Viewer, "vera@example.com").await;
    let mut vera = app.client_for(id).await;
    let session = entity::sessions::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    // Last seen 40 s ago: this request is the newest use, and idle time counts from it.
    let earlier = tsp_ledger::clock::now() - Duration::seconds(40);
    entity::sessions::ActiveModel {
        id_hash: Set(session.id_hash.clone()),
        last_seen_at: Set(earlier),
        ..Default::default()
    }
    .update(app.db())
    .await
    .unwrap();
    assert_eq!(vera.get("/").await.status, StatusCode::OK);
    let seen = entity::sessions::Entity::find_by_id(session.id_hash.clone())
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .last_seen_at;
    let lag = tsp_ledger::clock::now() - seen;
    assert!(lag < Duration::seconds(2), "last seen {lag} ago");
    // Idle for the whole period less a second: still signed in; the whole period: not.
    let idle = Duration::minutes(app.state.config.security.session_idle_minutes);
    for (ago, signed_in) in [(idle - Duration::seconds(2), true), (idle, false)] {
        entity::sessions::ActiveModel {
            id_hash: Set(session.id_hash.clone()),
            last_seen_at: Set(tsp_ledger::clock::now() - ago),
            ..Default::default()
        }
        .update(app.db())
        .await
        .ok();
        let response = vera.get("/account").await;
        assert_eq!(response.status == StatusCode::OK, signed_in, "{ago}");
    }
}
db_test!(idle_expiry_counts_from_the_last_request_to_the_second);

async fn spooled_uploads_left_by_a_crash_are_deleted_at_start(app: TestApp) {
    let spool = app.state.config.data.dir.join("uploads");
    std::fs::create_dir_all(&spool).unwrap();
    let stale = spool.join(".tmpCRASHED");
    std::fs::write(&stale, "class_ref,learner_name\n").unwrap();
    // An upload another instance is importing right now holds its file's lock.
    let live = spool.join(".tmpLIVE");
    let held = std::fs::File::create(&live).unwrap();
    held.lock().unwrap();
    let listener = tsp_ledger::server::bind("127.0.0.1:0").await.unwrap();
    tsp_ledger::server::serve_until(app.state.clone(), listener, async {})
        .await
        .unwrap();
    assert!(!stale.exists(), "the crashed upload's spool file is gone");
    assert!(live.exists(), "a live upload's file is kept");
    drop(held);
}
db_test!(spooled_uploads_left_by_a_crash_are_deleted_at_start);

// ---- item 7: the small things a user meets ---------------------------------------------

async fn pasted_csv_stays_in_its_box_after_a_refusal(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "delivered").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let csv =
        "class_ref,learner_name,learner_email,attended\nC-404,Ada Lovelace,ada@example.com,true";
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[Part::Text("kind", "roster"), Part::Text("csv", csv)],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains(&format!(r#"name="csv" rows="8">{csv}</textarea>"#));
    let csv = "learner_name,learner_email,attended\nAda Lovelace,not-an-address,true";
    let response = post_multipart(
        &mut coordinator,
        &format!("/classes/{}/roster/import", class.id),
        &[Part::Text("csv", csv)],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains(&format!(">{csv}</textarea>"));
}
db_test!(pasted_csv_stays_in_its_box_after_a_refusal);

async fn a_page_shown_after_a_refused_post_reloads_without_a_405(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    for (path, to) in [
        ("/account/password", "/account"),
        ("/classes/5/roster", "/classes/5"),
        ("/classes/5/roster/import", "/classes/5"),
        ("/codes/5/redeem", "/codes"),
        ("/recordings/5/withdraw", "/recordings/5"),
        ("/recordings/5/takedowns", "/recordings/5"),
        ("/recordings/5/consents/7/paper", "/recordings/5"),
    ] {
        let response = coordinator.get(path).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(response.location(), Some(to), "GET {path}");
    }
    // Any other POST-only address: a 405 in the site's page, not a bare status.
    let response = coordinator.get("/logout").await;
    assert_styled(&response, StatusCode::METHOD_NOT_ALLOWED);
    response.assert_contains("does not take a GET request");
}
db_test!(a_page_shown_after_a_refused_post_reloads_without_a_405);

async fn an_upload_form_keeps_its_csrf_token_out_of_the_url(app: TestApp) {
    catalog(&app).await;
    let class = class_in(&app, "C-1", "delivered").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    for path in ["/imports".to_string(), format!("/classes/{}", class.id)] {
        let page = coordinator.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("_csrf="), "{path}: a token in a URL");
    }
    let token = coordinator.csrf();
    let bad = "class_ref,learner_name,learner_email,attended\nC-404,Ada,ada@example.com,true";
    for path in [
        "/imports".to_string(),
        format!("/classes/{}/roster/import", class.id),
    ] {
        // The token as the first part, as the form sends it: accepted.
        let response = send_multipart(
            &mut coordinator,
            &path,
            &[
                Part::Text("_csrf", &token),
                Part::Text("kind", "roster"),
                Part::Text("csv", bad),
            ],
        )
        .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        // None, or a wrong one: refused.
        for parts in [
            vec![Part::Text("kind", "roster"), Part::Text("csv", bad)],
            vec![Part::Text("_csrf", "x"), Part::Text("csv", bad)],
        ] {
            let response = send_multipart(&mut coordinator, &path, &parts).await;
            assert_styled(&response, StatusCode::FORBIDDEN);
        }
    }
}
db_test!(an_upload_form_keeps_its_csrf_token_out_of_the_url);

async fn counts_of_one_are_singular(app: TestApp) {
    catalog(&app).await;
    class_in(&app, "C-1", "delivered").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator
        .get("/classes")
        .await
        .assert_contains("1 class matches.");
    let response = post_multipart(
        &mut coordinator,
        "/imports",
        &[
            Part::Text("kind", "roster"),
            Part::Text(
                "csv",
                "class_ref,learner_name,learner_email,attended\nC-1,Ada,ada@example.com,maybe",
            ),
        ],
    )
    .await;
    response.assert_contains("Nothing was imported: 1 problem on 1 line.");
}
db_test!(counts_of_one_are_singular);

/// Customer-facing text never cites the specification (`SPEC §4`, `rule 5`).
#[test]
fn no_page_or_message_cites_the_specification() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
    let mut stack = vec![root];
    let mut found = vec![];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.contains("SPEC") || line.contains('§') || line.contains("(rule ") {
                    found.push(format!("{}:{}: {line}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
    let credit = tsp_ledger::domain::recording::NO_KPI_CREDIT;
    assert!(!credit.contains("rule"), "{credit}");
}

async fn a_draft_recording_offers_no_withdraw(app: TestApp) {
    let s = crate::recordings::setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = crate::recordings::create_recording(&mut coordinator, &s.class.class_ref).await;
    let page = coordinator.get(&format!("/recordings/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains(&format!("/recordings/{id}/withdraw")),
        "a draft offers Withdraw"
    );
}
db_test!(a_draft_recording_offers_no_withdraw);

async fn every_error_page_is_the_styled_one(app: TestApp) {
    let mut anonymous = app.anonymous();
    let response = anonymous.get("/metrics").await;
    assert_styled(&response, StatusCode::UNAUTHORIZED);
    assert!(response.headers.contains_key(header::WWW_AUTHENTICATE));
    response.assert_contains("sign in as one");
    let mut viewer = app.client_as(Role::Viewer).await;
    assert_styled(&viewer.get("/metrics").await, StatusCode::FORBIDDEN);
    assert_styled(
        &anonymous.get("/static/nope.css").await,
        StatusCode::NOT_FOUND,
    );
    assert_styled(&anonymous.get("/no/such/page").await, StatusCode::NOT_FOUND);
    let mut admin = app.client_as(Role::Admin).await;
    assert_styled(
        &admin.get("/admin/ledger?before=x").await,
        StatusCode::BAD_REQUEST,
    );
    // Under /api/ errors stay JSON.
    let response = anonymous.get("/api/v1/kpi?as_of=x").await;
    assert!(
        response
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{:?}",
        response.headers
    );
    // The admin still gets Prometheus text.
    let response = admin.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    response.assert_contains("tsp_ledger_build_info");
}
db_test!(every_error_page_is_the_styled_one);

/// A handler that panics answers the styled 500 page (the panic goes to the log, never to
/// the page), instead of dropping the connection.
async fn a_handler_that_panics_answers_the_styled_500(app: TestApp) {
    use tower::ServiceExt;
    let routes = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if true {
                panic!("secret detail of the failure");
            }
        }),
    );
    let router = tsp_ledger::web::with_outer_layers(routes, app.state.clone());
    let response = router
        .oneshot(
            axum::http::Request::get("/boom")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let response = crate::support::TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    assert_styled(&response, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !response.body.contains("secret detail"),
        "{}",
        response.body
    );
}
db_test!(a_handler_that_panics_answers_the_styled_500);
