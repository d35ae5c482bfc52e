//! A readable, filterable ledger (issue 16 item 7): the ledger page filters by who, what
//! (kind of record, one record and its parts, action) and when, in SQL, kept in its
//! links; bad filters are named; the same entries download as CSV, streamed, spreadsheet
//! safe, naming learners only by enrollment; records' histories name people and show
//! `field: before → after`.
use axum::http::StatusCode;
use sea_orm::EntityTrait;
use serde_json::json;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::{self, Actor, Entry};
use tsp_ledger::services::imports::Kind;

use crate::fixtures;
use crate::imports::{catalog, class_in};
use crate::support::{Client, TestApp, TestResponse};

/// The ledger table's entry rows (`<tr><td>` and the id), in page order.
fn entry_ids(page: &TestResponse) -> Vec<i64> {
    let table = &page.body[page
        .body
        .find(r#"<table class="ledger">"#)
        .expect("the ledger table")..];
    table
        .match_indices("<tr><td>")
        .filter_map(|(at, m)| {
            let rest = &table[at + m.len()..];
            rest[..rest.find('<')?].parse().ok()
        })
        .collect()
}

async fn append(app: &TestApp, actor: Actor, entry: Entry) -> i64 {
    let tx = tsp_ledger::db::begin_write(app.db()).await.unwrap();
    let model = ledger::append(&tx, &actor, entry).await.unwrap();
    tx.commit().await.unwrap();
    model.id
}

/// `n` course imports by the command line, in one transaction.
async fn cli_imports(app: &TestApp, n: usize) -> Vec<i64> {
    let tx = ledger::Recorder::begin(app.db(), &Actor::Cli)
        .await
        .unwrap();
    let mut ids = vec![];
    for i in 0..n {
        let entry = Entry::new("course", 1000 + i, "import")
            .changes(json!({"title": {"before": null, "after": format!("Course {i}")}}));
        ids.push(tx.record(entry).await.unwrap().id);
    }
    tx.commit().await.unwrap();
    ids
}

async fn get(client: &mut Client<'_>, query: &str) -> TestResponse {
    let page = client.get(&format!("/admin/ledger?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
    page
}

async fn the_ledger_filters_by_who_what_and_when_and_keeps_the_filters_in_its_links(app: TestApp) {
    let ana = app.create_user(Role::Coordinator, "ana@example.com").await;
    let mut admin = app.client_as(Role::Admin).await;
    let class_update = append(
        &app,
        Actor::User(ana),
        Entry::new("class", 42, "update")
            .changes(json!({"status": {"before": "delivered", "after": "confirmed"}})),
    )
    .await;
    let roster_line = append(
        &app,
        Actor::User(ana),
        Entry::new("enrollment", 77, "create")
            .parent("class", 42)
            .changes(json!({"learner_name": {"changed": true}})),
    )
    .await;
    let other_class = append(&app, Actor::User(ana), Entry::new("class", 43, "update")).await;
    let consent = append(
        &app,
        Actor::Learner(9),
        Entry::new("recording_consent", 3, "grant").parent("recording", 5),
    )
    .await;
    let sent = append(
        &app,
        Actor::System,
        Entry::new("outbox_message", 11, "sent"),
    )
    .await;
    let imports = cli_imports(&app, 60).await;

    // Who: an account, a learner, the app itself.
    let page = get(&mut admin, &format!("who=user:{ana}")).await;
    assert_eq!(entry_ids(&page), [other_class, roster_line, class_update]);
    page.assert_contains(&format!(r#"<option value="user:{ana}" selected>"#))
        .assert_contains("status: delivered → confirmed")
        .assert_contains("learner_name changed");
    let page = get(&mut admin, "who=learner").await;
    assert_eq!(entry_ids(&page), [consent]);
    page.assert_contains("a learner (enrollment 9)");
    // One learner, followed from an entry: the select shows who it is.
    let page = get(&mut admin, "who=learner:9").await;
    assert_eq!(entry_ids(&page), [consent]);
    page.assert_contains(r#"<option value="learner:9" selected>a learner (enrollment 9)</option>"#);
    assert_eq!(entry_ids(&get(&mut admin, "who=system").await), [sent]);

    // What: a kind of record; one record and its parts (as on its History); an action.
    assert_eq!(
        entry_ids(&get(&mut admin, "entity=class").await),
        [other_class, class_update]
    );
    let page = get(&mut admin, "entity=class&id=42").await;
    assert_eq!(entry_ids(&page), [roster_line, class_update]);
    page.assert_contains(r#"<option value="class" selected>Class</option>"#)
        .assert_contains(r#"value="42""#);
    assert_eq!(entry_ids(&get(&mut admin, "action=sent").await), [sent]);
    assert_eq!(
        entry_ids(&get(&mut admin, "entity=recording&id=5&who=learner").await),
        [consent]
    );

    // When: days in UTC, both ends included.
    let today = chrono::Utc::now().date_naive();
    let all = entry_ids(&get(&mut admin, &format!("from={today}&to={today}")).await);
    assert_eq!(all.len(), 50, "a full page");
    let tomorrow = today.succ_opt().unwrap();
    let yesterday = today.pred_opt().unwrap();
    for query in [format!("from={tomorrow}"), format!("to={yesterday}")] {
        let page = get(&mut admin, &query).await;
        assert!(entry_ids(&page).is_empty(), "{query}");
        page.assert_contains("No entry matches these filters.");
    }

    // Combined, over two pages: the next page's link keeps every filter, and so does the
    // way back and the CSV link.
    let query = format!("who=cli&entity=course&action=import&from={today}");
    let first = get(&mut admin, &query).await;
    let newest_first: Vec<i64> = imports.iter().rev().copied().collect();
    assert_eq!(entry_ids(&first), newest_first[..50]);
    let older = format!(
        "/admin/ledger?who=cli&#38;entity=course&#38;action=import&#38;from={today}&#38;before={}",
        newest_first[49]
    );
    first
        .assert_contains(&format!(r#"href="{older}""#))
        .assert_contains(&format!(
            r#"href="/admin/ledger.csv?who=cli&#38;entity=course&#38;action=import&#38;from={today}""#
        ));
    let second = get(
        &mut admin,
        &older.replace("&#38;", "&").replace("/admin/ledger?", ""),
    )
    .await;
    assert_eq!(entry_ids(&second), newest_first[50..]);
    assert!(!second.body.contains("Older entries"));
    second.assert_contains(&format!(
        r#"href="/admin/ledger?who=cli&#38;entity=course&#38;action=import&#38;from={today}">« Newest entries"#
    ));

    // Bad filters: each named under its field, and no entries shown for a filter that
    // could not be applied.
    let bad = admin
        .get("/admin/ledger?who=nobody&entity=Class!&id=7&action=UPDATE&from=2026-02-30&to=soon")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    for field in ["who", "entity", "action", "from", "to"] {
        bad.assert_contains(&format!(r#"<p class="field-error" id="{field}-error">"#));
    }
    bad.assert_contains("must be a date YYYY-MM-DD, not &#34;2026-02-30&#34;")
        .assert_contains("Fix the filters above to see entries.");
    assert!(entry_ids(&bad).is_empty());
    let reversed = admin
        .get(&format!("/admin/ledger?from={today}&to={yesterday}"))
        .await;
    assert_eq!(reversed.status, StatusCode::BAD_REQUEST);
    reversed.assert_contains(&format!("must be on or after the From date ({today})"));
    let lone_id = admin.get("/admin/ledger?id=42").await;
    assert_eq!(lone_id.status, StatusCode::BAD_REQUEST);
    lone_id.assert_contains(r#"<p class="field-error" id="id-error">needs the kind of record"#);
}
db_test!(the_ledger_filters_by_who_what_and_when_and_keeps_the_filters_in_its_links);

async fn the_ledger_csv_has_the_pages_entries_spreadsheet_safe_and_names_no_learner(app: TestApp) {
    // A roster imported by the command line: its entries record that names and e-mails
    // were set, never the values.
    catalog(&app).await;
    class_in(&app, "C-1", "delivered").await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Zoë Secret,zoe.secret@example.com,true\n",
    )
    .await
    .unwrap();
    let ana = app.create_user(Role::Coordinator, "ana@example.com").await;
    let lockout = append(
        &app,
        Actor::System,
        Entry::new("login", "=cmd|' /C calc'!A0", "lockout")
            .changes(json!({"note": {"before": null, "after": "+1 day"}})),
    )
    .await;
    let by_learner = append(
        &app,
        Actor::Learner(9),
        Entry::new("recording_consent", 3, "grant"),
    )
    .await;
    let by_ana = append(
        &app,
        Actor::User(ana),
        Entry::new("class", 1, "update")
            .changes(json!({"status": {"before": "delivered", "after": "confirmed"}, "location": {"before": null, "after": "Room 4"}})),
    )
    .await;
    // More than one page of the export's reads (1000 entries a query).
    let imports = cli_imports(&app, 1205).await;
    let mut admin = app.client_as(Role::Admin).await;

    let parse = |body: &str| -> Vec<csv::StringRecord> {
        csv::Reader::from_reader(body.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect()
    };
    let everything = admin.get("/admin/ledger.csv").await;
    assert_eq!(everything.status, StatusCode::OK);
    assert_eq!(
        everything.headers["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = everything.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"ledger-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert!(
        everything
            .body
            .starts_with("id,at,actor,actor_name,entity,entity_id,action,changes,hash\n"),
        "{}",
        &everything.body[..200]
    );
    let rows = parse(&everything.body);
    let stored = entity::ledger_entries::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(rows.len(), stored.len(), "every entry, once");
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Learners only by enrollment: no name or e-mail anywhere in the file.
    let lower = everything.body.to_lowercase();
    assert!(
        !lower.contains("zoë") && !lower.contains("zoe.secret"),
        "no learner named"
    );
    let row = |id: i64| {
        rows.iter()
            .find(|r| r[0] == id.to_string())
            .unwrap()
            .clone()
    };
    let learner = row(by_learner);
    assert_eq!(
        (&learner[2], &learner[3]),
        ("learner:9", "a learner (enrollment 9)")
    );
    let named = row(by_ana);
    assert_eq!(&named[2], format!("user:{ana}").as_str());
    assert!(named[3].ends_with("(ana@example.com)"), "{:?}", &named[3]);
    assert_eq!((&named[4], &named[5], &named[6]), ("class", "1", "update"));
    assert_eq!(&named[7], "location: Room 4; status: delivered → confirmed");
    let hash = stored.iter().find(|e| e.id == by_ana).unwrap().hash.clone();
    assert_eq!(&named[8], hash.as_str());
    // A cell a spreadsheet would run as a formula gets a leading apostrophe.
    let formula = row(lockout);
    assert_eq!(&formula[5], "'=cmd|' /C calc'!A0");
    assert_eq!(&formula[3], "the app itself");
    assert!(
        rows.iter().any(|r| r[7].contains("learner_name changed")),
        "a roster line's entry says the name was set, without it"
    );

    // The page's filters, the same way: only the command line's course imports.
    let filtered = admin
        .get("/admin/ledger.csv?who=cli&entity=course&action=import")
        .await;
    assert_eq!(filtered.status, StatusCode::OK);
    let rows = parse(&filtered.body);
    // The 1205 above and the catalog's course, imported by the command line too.
    let mut expected: Vec<String> = stored
        .iter()
        .filter(|e| e.actor == "cli" && e.entity_type == "course" && e.action == "import")
        .map(|e| e.id.to_string())
        .collect();
    expected.reverse();
    assert_eq!(expected.len(), imports.len() + 1);
    let got: Vec<String> = rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(got, expected);
    assert!(
        rows.iter()
            .all(|r| &r[3] == "the command line (local operator)")
    );

    // A bad filter is refused before the download starts, naming the field.
    let bad = admin.get("/admin/ledger.csv?to=2026-13-01").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("to must be a date YYYY-MM-DD");
    // Admins only.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    assert_eq!(
        coordinator.get("/admin/ledger.csv").await.status,
        StatusCode::FORBIDDEN
    );
}
db_test!(the_ledger_csv_has_the_pages_entries_spreadsheet_safe_and_names_no_learner);

async fn a_recordings_history_names_people_and_shows_before_and_after(app: TestApp) {
    catalog(&app).await;
    let cora = app.create_user(Role::Coordinator, "cora@example.com").await;
    let fields = |title: &str| tsp_ledger::services::recordings::RecordingFields {
        title: title.into(),
        course_code: "AZ-104".into(),
        mct_id: "MCT-1".into(),
        source_class_ref: String::new(),
        courseware_version: String::new(),
        location: "https://videos.example.com/r".into(),
    };
    let recording = tsp_ledger::services::recordings::create(
        app.db(),
        &Actor::User(cora),
        &fields("Azure admin, day 1").parse().unwrap(),
        "http://ledger.example/consent",
    )
    .await
    .unwrap();
    tsp_ledger::services::recordings::update(
        app.db(),
        &Actor::User(cora),
        recording.id,
        &fields("Azure administration, day 1").parse().unwrap(),
        "http://ledger.example/consent",
    )
    .await
    .unwrap();
    let mut coordinator = app.client_for(cora).await;
    let page = coordinator
        .get(&format!("/recordings/{}", recording.id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let history = &page.body[page.body.find(r#"id="history-h""#).unwrap()..];
    for needle in [
        "<td>Coordinator cora (cora@example.com)</td>",
        "<li>title: Azure admin, day 1 → Azure administration, day 1</li>",
    ] {
        assert!(history.contains(needle), "{needle} in:\n{history}");
    }
    assert!(!history.contains(&format!("user:{cora}")), "{history}");
}
db_test!(a_recordings_history_names_people_and_shows_before_and_after);
