//! The partner's brand (issue 16 item 9): the organisation's logo (a PNG or JPEG of at
//! most 256 KB, told by its content; SVG refused), served to anybody with an ETag and a
//! policy of its own, removed on request; the organisation's name and logo in the header
//! of every page, on learners' pages and in every e-mail (read when it is queued, the
//! logo travelling inside the message).
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{ledger_entries, org_logo, outbox_messages};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tower::ServiceExt;
use tsp_ledger::config::MailConfig;
use tsp_ledger::domain::role::Role;
use tsp_ledger::mail::transport::Transport;
use tsp_ledger::mail::worker::Worker;
use tsp_ledger::services::imports::Kind;

use crate::fixtures;
use crate::imports::{Part, catalog, class_in, post_multipart};
use crate::smtp::{self, SmtpServer};
use crate::support::{Client, TestApp, TestResponse};

/// A PNG as far as its content goes (signature and header chunk), `len` bytes long.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x40\0\0\0\x10\x08\x06\0\0\0".to_vec();
    bytes.resize(len, 7);
    bytes
}

async fn upload(client: &mut Client<'_>, name: &str, bytes: &[u8]) -> TestResponse {
    post_multipart(
        client,
        "/admin/settings/logo",
        &[Part::File("logo", name, bytes)],
    )
    .await
}

async fn logo_rows(app: &TestApp) -> u64 {
    org_logo::Entity::find().count(app.db()).await.unwrap()
}

/// Ledger entries about the settings (the logo's among them).
async fn settings_entries(app: &TestApp) -> u64 {
    ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("org_settings"))
        .count(app.db())
        .await
        .unwrap()
}

/// The newest ledger entry about the settings (the logo is one of them).
async fn last_settings_entry(app: &TestApp) -> ledger_entries::Model {
    ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("org_settings"))
        .order_by_desc(ledger_entries::Column::Id)
        .one(app.db())
        .await
        .unwrap()
        .expect("a settings entry")
}

/// `GET path` straight through the router, keeping the body's bytes.
async fn raw_get(
    app: &TestApp,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

fn header_of(headers: &axum::http::HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn a_logo_upload_is_checked_by_content_and_size_and_a_refusal_changes_nothing(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/admin/settings")
        .await
        .assert_contains("No logo: pages and e-mails show the name alone.");
    let ledger_before = settings_entries(&app).await;
    let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    for (name, bytes, message) in [
        (
            "logo.svg",
            &svg[..],
            "is an SVG image, which is not accepted",
        ),
        // Named .png, but text: the content decides.
        (
            "logo.png",
            b"just some text".as_slice(),
            "is not a PNG or JPEG image",
        ),
        (
            "huge.png",
            png(300 * 1024).as_slice(),
            "is 300 KB; a logo may be at most 256 KB",
        ),
        ("empty.png", b"".as_slice(), "is required"),
    ] {
        let refused = upload(&mut admin, name, bytes).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        // The message is under the field, named by it and tied to it.
        refused
            .assert_contains(r#"<p class="field-error" id="logo-error">"#)
            .assert_contains(message)
            .assert_contains(r#"aria-describedby="logo-error""#);
        assert_eq!(logo_rows(&app).await, 0, "{name}: nothing stored");
    }
    assert_eq!(
        settings_entries(&app).await,
        ledger_before,
        "nothing recorded"
    );
    // Only admins upload.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    assert_eq!(
        upload(&mut coordinator, "logo.png", &png(500)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(logo_rows(&app).await, 0);

    // A PNG of exactly 256 KB is taken; the ledger names its format, size and hash.
    let logo = png(256 * 1024);
    let saved = upload(&mut admin, "logo.png", &logo).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/admin/settings"));
    let stored = org_logo::Entity::find_by_id(1)
        .one(app.db())
        .await
        .unwrap()
        .expect("the logo is stored");
    assert_eq!(stored.bytes, logo);
    assert_eq!(stored.content_type.id(), "image/png");
    let entry = last_settings_entry(&app).await;
    assert_eq!(entry.action, "update");
    assert_eq!(
        tsp_ledger::ledger::describe_changes(&entry.changes),
        [format!(
            "logo: PNG, 256 KB, sha256 {}",
            &stored.sha256[..12]
        )]
    );
    let page = admin.get("/admin/settings").await;
    page.assert_contains("Logo saved")
        .assert_contains(&format!(
            r#"<img src="/brand/logo?v={}" alt="The current logo">"#,
            &stored.sha256[..16]
        ))
        .assert_contains("Remove the logo");
    // The same file again changes nothing.
    let again = upload(&mut admin, "same.png", &logo).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/settings")
        .await
        .assert_contains("That logo is already the one shown.");
    assert_eq!(settings_entries(&app).await, ledger_before + 1);
    // A JPEG replaces it.
    let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9".to_vec();
    assert_eq!(
        upload(&mut admin, "logo.jpg", &jpeg).await.status,
        StatusCode::SEE_OTHER
    );
    let entry = last_settings_entry(&app).await;
    let change = tsp_ledger::ledger::describe_changes(&entry.changes);
    assert!(
        change[0].starts_with("logo: PNG, 256 KB, sha256 ") && change[0].contains(" → JPEG, 1 KB"),
        "{change:?}"
    );
}
db_test!(a_logo_upload_is_checked_by_content_and_size_and_a_refusal_changes_nothing);

async fn the_logo_is_served_to_anybody_with_its_etag_and_removed_on_request(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let logo = png(2000);
    assert_eq!(
        upload(&mut admin, "logo.png", &logo).await.status,
        StatusCode::SEE_OTHER
    );
    let sha = org_logo::Entity::find_by_id(1)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .sha256;

    // Anybody (no session), the bytes as stored, typed, its hash as ETag, and a policy
    // under which nothing in it could load or run.
    let (status, headers, body) = raw_get(&app, "/brand/logo", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, logo);
    assert_eq!(header_of(&headers, header::CONTENT_TYPE), "image/png");
    assert_eq!(header_of(&headers, header::ETAG), format!("\"{sha}\""));
    assert_eq!(
        header_of(&headers, header::CONTENT_SECURITY_POLICY),
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    assert_eq!(
        header_of(&headers, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );
    assert_eq!(
        header_of(&headers, header::CACHE_CONTROL),
        "public, no-cache"
    );
    assert!(headers.get(header::SET_COOKIE).is_none(), "no session work");
    // The versioned link the pages write is cached for a year; a stale version is not.
    let versioned = format!("/brand/logo?v={}", &sha[..16]);
    let (_, headers, _) = raw_get(&app, &versioned, &[]).await;
    assert_eq!(
        header_of(&headers, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    let (_, headers, _) = raw_get(&app, "/brand/logo?v=0000000000000000", &[]).await;
    assert_eq!(
        header_of(&headers, header::CACHE_CONTROL),
        "public, no-cache"
    );
    // Revalidation: the same ETag is 304 with no body.
    let etag = format!("\"{sha}\"");
    let (status, headers, body) = raw_get(
        &app,
        "/brand/logo",
        &[(header::IF_NONE_MATCH, etag.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header_of(&headers, header::ETAG), etag);
    let (status, _, _) =
        raw_get(&app, "/brand/logo", &[(header::IF_NONE_MATCH, "\"other\"")]).await;
    assert_eq!(status, StatusCode::OK);

    // Every back-office page shows it in the header, with the organisation's name.
    admin
        .post(
            "/admin/settings",
            &[
                ("organization_name", "Contoso Learning"),
                ("anniversary_month", ""),
                ("anniversary_day", ""),
            ],
        )
        .await;
    let home = admin.get("/classes").await;
    home.assert_contains(&format!(
        r#"<img class="brand-logo" src="{versioned}" alt="">"#
    ))
    .assert_contains(r#"<span class="brand-name">Contoso Learning</span>"#)
    .assert_contains("<title>Classes · Contoso Learning</title>");

    // Removed: gone from the address and the pages; the ledger says so.
    let removed = admin.post("/admin/settings/logo/remove", &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(logo_rows(&app).await, 0);
    assert_eq!(
        raw_get(&app, "/brand/logo", &[]).await.0,
        StatusCode::NOT_FOUND
    );
    let entry = last_settings_entry(&app).await;
    assert_eq!(
        tsp_ledger::ledger::describe_changes(&entry.changes),
        [format!("logo: PNG, 2 KB, sha256 {} → —", &sha[..12])]
    );
    let page = admin.get("/admin/settings").await;
    page.assert_contains("Logo removed.")
        .assert_contains("No logo: pages and e-mails show the name alone.");
    assert!(!page.body.contains("brand-logo"), "{}", page.body);
    // Removing again changes nothing.
    let before = settings_entries(&app).await;
    admin.post("/admin/settings/logo/remove", &[]).await;
    admin
        .get("/admin/settings")
        .await
        .assert_contains("There is no logo to remove.");
    assert_eq!(settings_entries(&app).await, before);
}
db_test!(the_logo_is_served_to_anybody_with_its_etag_and_removed_on_request);

/// Class C-1 (delivered) with two attending learners and two codes in the pool.
async fn class_with_codes(app: &TestApp) -> i64 {
    catalog(app).await;
    let class = class_in(app, "C-1", "delivered").await;
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Zoë Present,zoe@example.com,true\nC-1,Omar Present,omar@example.com,true\n",
    )
    .await
    .unwrap();
    fixtures::import(app, Kind::CodePool, "achievement_code\nPOOL-1\nPOOL-2\n")
        .await
        .unwrap();
    class.id
}

async fn code_mail(app: &TestApp, to: &str) -> outbox_messages::Model {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq("achievement_code"))
        .filter(outbox_messages::Column::ToAddress.eq(to))
        .order_by_desc(outbox_messages::Column::Id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no code e-mail to {to}"))
}

async fn emails_and_learner_pages_carry_the_organisation_name_and_logo(app: TestApp) {
    let class = class_with_codes(&app).await;
    let mut admin = app.client_as(Role::Admin).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;

    // No name yet: e-mails are as they always were.
    assert_eq!(
        coordinator
            .post(&format!("/classes/{class}/codes/issue"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let before = code_mail(&app, "zoe@example.com").await;
    assert!(
        before.html_body.contains(">tsp-ledger</td>"),
        "{}",
        before.html_body
    );
    assert!(
        before.html_body.contains(
            "Sent by your Microsoft Training Services Partner's training records system."
        )
    );
    assert!(!before.html_body.contains("cid:"));
    assert!(
        !before.text_body.contains("\n-- \n"),
        "{}",
        before.text_body
    );

    // The organisation's name and logo, then a code sent again: the new e-mail carries
    // them, read as it is queued.
    admin
        .post(
            "/admin/settings",
            &[
                ("organization_name", "Contoso Learning <EU>"),
                ("anniversary_month", ""),
                ("anniversary_day", ""),
            ],
        )
        .await;
    let logo = png(1500);
    assert_eq!(
        upload(&mut admin, "logo.png", &logo).await.status,
        StatusCode::SEE_OTHER
    );
    let code = entity::achievement_codes::Entity::find()
        .filter(entity::achievement_codes::Column::Code.eq("POOL-1"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let resent = coordinator
        .post(&format!("/codes/{}/resend", code.id), &[])
        .await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER, "{}", resent.body);
    let holder = entity::enrollments::Entity::find_by_id(code.enrollment_id.unwrap())
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mail = code_mail(&app, &holder.learner_email).await;
    assert_ne!(mail.id, before.id);
    assert!(
        mail.html_body
            .contains(r#"<img src="cid:logo@tsp-ledger" alt="""#),
        "{}",
        mail.html_body
    );
    assert!(
        mail.html_body
            .contains("Contoso Learning &#60;EU&#62;</td>")
            || mail.html_body.contains("Contoso Learning &lt;EU&gt;</td>"),
        "the name is escaped in the HTML: {}",
        mail.html_body
    );
    assert!(
        mail.html_body
            .contains("<title>Your Microsoft achievement code for AZ-104</title>")
    );
    assert!(
        mail.text_body.ends_with("\n\n-- \nContoso Learning <EU>\n"),
        "{}",
        mail.text_body
    );
    // The message body is still the message: the code and the learner's link.
    assert!(mail.text_body.contains("POOL-1") && mail.html_body.contains("POOL-1"));
    let token = crate::codes::token_in(&mail.text_body);

    // Through a real SMTP server: the logo travels inside the message, under the
    // Content-ID the HTML shows, next to the HTML (multipart/related).
    if let Some(server) = SmtpServer::start(smtp::free_port()).await {
        let config = MailConfig {
            transport: tsp_ledger::config::MailTransport::Smtp,
            smtp_host: "127.0.0.1".into(),
            smtp_port: server.port,
            smtp_tls: tsp_ledger::config::SmtpTls::None,
            smtp_timeout_seconds: 5,
            retry_base_seconds: 0,
            ..app.state.config.mail.clone()
        };
        let worker = Worker::new(
            app.db().clone(),
            &config,
            Transport::from_config(&config).unwrap(),
        )
        .unwrap();
        let report = worker.drain().await.unwrap();
        assert_eq!(report.failed, 0, "{report:?}");
        let received = server.wait_for(report.sent as usize).await;
        let with_logo: Vec<&String> = received
            .iter()
            .filter(|m| m.contains(&mail.message_id))
            .collect();
        assert_eq!(with_logo.len(), 1);
        let sent = smtp::unfold_quoted_printable(with_logo[0]);
        assert!(sent.contains("multipart/related"), "{sent}");
        assert!(sent.contains("Content-ID: <logo@tsp-ledger>"), "{sent}");
        assert!(sent.contains("Content-Type: image/png"), "{sent}");
        assert!(sent.contains("Content-Disposition: inline"), "{sent}");
        // The message queued before the logo was set has none attached.
        let plain = received
            .iter()
            .find(|m| m.contains(&before.message_id))
            .expect("the first message");
        assert!(!plain.contains("Content-ID: <logo@tsp-ledger>"));
    }

    // A survey invitation and a consent request: framed the same way.
    assert_eq!(
        coordinator
            .post(&format!("/classes/{class}/surveys/send"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let recording = tsp_ledger::services::recordings::create(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        &tsp_ledger::services::recordings::RecordingFields {
            title: "Azure admin, recorded".into(),
            course_code: "AZ-104".into(),
            mct_id: "MCT-1".into(),
            source_class_ref: "C-1".into(),
            courseware_version: String::new(),
            location: "https://videos.example.com/1".into(),
        }
        .parse()
        .unwrap(),
        &app.state.link("/consent"),
    )
    .await
    .unwrap();
    assert!(recording.id > 0);
    let mut links = vec![format!("/codes/{token}")];
    for (kind, path) in [
        ("survey_invitation", "/survey/"),
        ("recording_consent", "/consent/"),
    ] {
        let mail = outbox_messages::Entity::find()
            .filter(outbox_messages::Column::Kind.eq(kind))
            .filter(outbox_messages::Column::ToAddress.eq("zoe@example.com"))
            .one(app.db())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no {kind} e-mail"));
        assert!(mail.html_body.contains("cid:logo@tsp-ledger"), "{kind}");
        assert!(
            mail.text_body.ends_with("\n-- \nContoso Learning <EU>\n"),
            "{kind}"
        );
        let start = mail.text_body.find(path).unwrap() + path.len();
        let token: String = mail.text_body[start..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        links.push(format!("{path}{token}"));
    }

    // The learner's pages (no sign-in) show the name and the logo.
    let mut learner = app.anonymous();
    for link in &links {
        let page = learner.get(link).await;
        assert_eq!(page.status, StatusCode::OK, "{link}");
        page.assert_contains(r#"<span class="brand-name">Contoso Learning &#60;EU&#62;</span>"#)
            .assert_contains(r#"<img class="brand-logo" src="/brand/logo?v="#)
            .assert_contains(" · Contoso Learning &#60;EU&#62;</title>");
    }
    learner.get(&links[0]).await.assert_contains("POOL-1");
}
db_test!(emails_and_learner_pages_carry_the_organisation_name_and_logo);

/// Page headers take the name and the logo from memory for a moment: a page view costs no
/// query for them, and the instance where the admin saves shows the change at once.
async fn page_headers_read_the_brand_once_in_a_while_and_at_once_after_a_change(app: TestApp) {
    use std::sync::atomic::Ordering;
    let (db, statements) = app.counted_pool().await;
    let cache = tsp_ledger::mail::brand::BrandCache::default();
    let count = |f: usize| statements.load(Ordering::Relaxed) - f;
    let before = statements.load(Ordering::Relaxed);
    assert_eq!(cache.get(&db).await.unwrap().name, "");
    assert_eq!(count(before), 1, "the first page reads it");
    let before = statements.load(Ordering::Relaxed);
    cache.get(&db).await.unwrap();
    assert_eq!(count(before), 0, "the next one, a moment later, does not");

    // Saved on this instance: its next page shows the new name, though the old one was
    // read a moment before.
    let mut admin = app.client_as(Role::Admin).await;
    assert!(
        !admin
            .get("/courses")
            .await
            .body
            .contains("Fabrikam Training")
    );
    let saved = admin
        .post(
            "/admin/settings",
            &[
                ("organization_name", "Fabrikam Training"),
                ("anniversary_month", ""),
                ("anniversary_day", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    admin
        .get("/courses")
        .await
        .assert_contains("Fabrikam Training");
    cache.forget();
    assert_eq!(cache.get(&db).await.unwrap().name, "Fabrikam Training");
}
db_test!(page_headers_read_the_brand_once_in_a_while_and_at_once_after_a_change);
