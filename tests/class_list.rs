//! The class list's orders, learner counts and learner/location search (issue 16 item 3):
//! every sort in both directions pages through ties without skipping or repeating a
//! class, the counts are the rosters' (kept by triggers, whatever writes), and a roster
//! change shows on the next view of a cached page.
use std::collections::HashMap;

use axum::http::StatusCode;
use entity::{classes, courses, trainers};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::catalog::{linked_cells, unescape};
use crate::fixtures;
use crate::support::{Client, TestApp};

const STATUSES: [&str; 4] = ["scheduled", "delivered", "confirmed", "cancelled"];
const CLASSES: i64 = 120;

/// Learners on class number `i`: 0 to 4, so many classes share a count.
fn learners_of(i: i64) -> i64 {
    i % 5
}

/// 120 classes over three courses, three MCTs (two of them named alike) and four
/// statuses, starting on one of ten days, with 0-4 learners each: every sort key has
/// ties. Refs are numbered out of step with the ids (`S-000` is not the first class).
async fn seed(app: &TestApp) {
    for code in ["AZ-104", "DP-100", "SC-200"] {
        fixtures::course(app, code, 4, "infrastructure").await;
    }
    let valid = fixtures::today_plus(3650);
    for (name, id) in [
        ("Ana Alves", "MCT-1"),
        ("Bruno Barros", "MCT-3"),
        ("Ana Alves", "MCT-2"),
    ] {
        fixtures::trainer(app, name, id, valid, None).await;
    }
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    let first = fixtures::date("2025-01-01");
    for i in 0..CLASSES {
        let class_ref = format!("S-{:03}", (i * 37) % CLASSES);
        let start = first + chrono::Duration::days(i * 7 % 10);
        let course = ["SC-200", "AZ-104", "DP-100"][(i % 3) as usize];
        let mct = ["MCT-2", "MCT-1", "MCT-3"][((i / 2) % 3) as usize];
        let status = STATUSES[(i % 4) as usize];
        csv.push_str(&format!(
            "{class_ref},{course},{mct},{start},{start},in_person,{status}\n"
        ));
        for k in 0..learners_of(i) {
            let attended = k == 0 && status != "cancelled";
            roster.push_str(&format!(
                "{class_ref},Learner {k},L{k}@Example.com,{attended}\n"
            ));
        }
    }
    fixtures::import(app, Kind::Classes, &csv).await.unwrap();
    fixtures::import(app, Kind::Roster, &roster).await.unwrap();
}

/// A seeded class with every value the list sorts by.
#[derive(Clone)]
struct Sortable {
    class_ref: String,
    id: i64,
    start: chrono::NaiveDate,
    status: String,
    course_code: String,
    mct_name: String,
    mct_id: i64,
    learners: i64,
}

async fn sortables(app: &TestApp) -> Vec<Sortable> {
    let courses: HashMap<i64, String> = courses::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.course_code))
        .collect();
    let mcts: HashMap<i64, String> = trainers::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    classes::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            // The ref was numbered (i * 37) % 120: 37 * 13 = 481 = 1 (mod 120).
            let n: i64 = c.class_ref[2..].parse().unwrap();
            let i = n * 13 % CLASSES;
            Sortable {
                id: c.id,
                start: c.start_date,
                status: c.status.id().to_string(),
                course_code: courses[&c.course_id].clone(),
                mct_name: mcts[&c.trainer_id].clone(),
                mct_id: c.trainer_id,
                learners: learners_of(i),
                class_ref: c.class_ref,
            }
        })
        .collect()
}

/// The refs in the order `key` and `dir` promise: every column of the order in that
/// direction, ties broken as documented.
fn expected(rows: &[Sortable], key: &str, desc: bool) -> Vec<String> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        let by_date = (a.start, a.id).cmp(&(b.start, b.id));
        let ordering = match key {
            "date" => by_date,
            "ref" => a.class_ref.cmp(&b.class_ref),
            "status" => a.status.cmp(&b.status).then(by_date),
            "course" => a.course_code.cmp(&b.course_code).then(by_date),
            "mct" => (&a.mct_name, a.mct_id)
                .cmp(&(&b.mct_name, b.mct_id))
                .then(by_date),
            "learners" => (a.learners, a.id).cmp(&(b.learners, b.id)),
            other => panic!("no sort {other}"),
        };
        if desc { ordering.reverse() } else { ordering }
    });
    rows.into_iter().map(|r| r.class_ref).collect()
}

/// The target of the `Next page` link, unescaped.
fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(unescape(&body[start..end]))
}

/// Every class the list shows from `path` on, following `Next page` to the end.
async fn walk(client: &mut Client<'_>, path: &str) -> Vec<String> {
    let mut refs = vec![];
    let mut next = Some(path.to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let page = client.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let rows = linked_cells(&page.body, "/classes/");
        assert!(rows.len() <= 50, "{path}: {} rows", rows.len());
        refs.extend(rows);
        next = next_link(&page.body);
        pages += 1;
        assert!(pages < 10, "{path}: the pages never end");
    }
    refs
}

async fn every_sort_pages_through_ties_in_both_directions(app: TestApp) {
    seed(&app).await;
    let rows = sortables(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    for key in ["date", "ref", "course", "mct", "status", "learners"] {
        for (dir, desc) in [("asc", false), ("desc", true)] {
            let path = format!("/classes?sort={key}&dir={dir}");
            let listed = walk(&mut viewer, &path).await;
            assert_eq!(listed.len(), CLASSES as usize, "{path}");
            assert_eq!(listed, expected(&rows, key, desc), "{path}");
        }
    }
    // Without a direction, dates and learners come largest first, the others A to Z;
    // without a sort, newest start first as before.
    assert_eq!(
        walk(&mut viewer, "/classes?sort=learners").await,
        expected(&rows, "learners", true)
    );
    assert_eq!(
        walk(&mut viewer, "/classes?sort=mct").await,
        expected(&rows, "mct", false)
    );
    assert_eq!(
        walk(&mut viewer, "/classes").await,
        expected(&rows, "date", true)
    );

    // A filter holds on every page of a sorted list, and the column heads keep it.
    let with_learners: Vec<Sortable> = rows.iter().filter(|r| r.learners > 0).cloned().collect();
    let path = "/classes?learner=learner+0&sort=course&dir=desc";
    assert_eq!(
        walk(&mut viewer, path).await,
        expected(&with_learners, "course", true)
    );
    let page = unescape(&viewer.get(path).await.body);
    for head in [
        "/classes?learner=learner+0&sort=course&dir=asc",
        "/classes?learner=learner+0&sort=mct&dir=asc",
        "/classes?learner=learner+0&sort=learners&dir=desc",
        "/classes?learner=learner+0&sort=date&dir=desc",
    ] {
        assert!(page.contains(&format!("href=\"{head}\"")), "{head}");
    }
    assert!(page.contains("aria-sort=\"descending\""));

    // The API pages through the same order, with the counts on every class.
    let token = tsp_ledger::services::api_tokens::create(
        app.db(),
        app.create_user(Role::Admin, "api@example.com").await,
        "list",
    )
    .await
    .unwrap()
    .secret;
    let mut next = Some("/api/v1/classes?sort=learners&dir=asc".to_string());
    let mut listed = vec![];
    while let Some(path) = next {
        let request = axum::http::Request::get(&path)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = viewer.send(request).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
        let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
        for class in json["classes"].as_array().unwrap() {
            let row = rows
                .iter()
                .find(|r| r.class_ref == class["class_ref"].as_str().unwrap())
                .unwrap();
            assert_eq!(class["learners"], row.learners, "{}", row.class_ref);
            let attended = i64::from(row.learners > 0 && row.status != "cancelled");
            assert_eq!(class["attended"], attended, "{}", row.class_ref);
            listed.push(row.class_ref.clone());
        }
        next = json["next"].as_str().map(str::to_string);
    }
    assert_eq!(listed, expected(&rows, "learners", false));

    // A sort or direction that is no such thing is named, and the list keeps its order.
    let bad = viewer.get("/classes?sort=price&dir=up").await;
    assert_eq!(bad.status, StatusCode::OK);
    bad.assert_contains("Sort must be one of date, ref, course, mct, status, learners")
        .assert_contains("Direction (dir) must be one of asc, desc");
    let api = app
        .anonymous()
        .send(
            axum::http::Request::get("/api/v1/classes?sort=price")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert!(api.body.contains("sort"), "{}", api.body);
}
db_test!(every_sort_pages_through_ties_in_both_directions);

/// The HTML of the list row of class `class_ref`.
fn row_of<'a>(body: &'a str, class_ref: &str) -> &'a str {
    let start = body
        .find(&format!("\">{class_ref}</a></td>"))
        .unwrap_or_else(|| panic!("no row for {class_ref}"));
    let end = start + body[start..].find("</tr>").unwrap();
    &body[start..end]
}

async fn the_list_counts_learners_and_searches_by_learner_and_location(app: TestApp) {
    crate::imports::catalog(&app).await;
    let soon = fixtures::today_plus(30).to_string();
    let csv = format!(
        "class_ref,course_code,mct_id,start_date,end_date,modality,status\n\
         C-PAST,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,delivered\n\
         C-SOON,AZ-104,MCT-1,{soon},{soon},virtual,scheduled\n\
         C-NONE,AZ-104,MCT-1,2026-04-01,2026-04-02,in_person,confirmed\n"
    );
    fixtures::import(&app, Kind::Classes, &csv).await.unwrap();
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-PAST,Ada Lovelace,Ada@Example.com,true\n\
         C-PAST,Edsger Dijkstra,edsger@example.com,false\n\
         C-PAST,Grace Hopper,grace@navy.example.com,true\n\
         C-SOON,Ada Lovelace,ada@example.com,false\n\
         C-SOON,Alan Turing,alan@example.com,false\n",
    )
    .await
    .unwrap();
    app.db()
        .execute_unprepared(
            "UPDATE classes SET location = 'Lisbon, Room 2' WHERE class_ref = 'C-PAST'; \
             UPDATE classes SET location = 'Porto' WHERE class_ref = 'C-NONE'",
        )
        .await
        .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;
    let list = viewer.get("/classes").await;
    // Attended shows once attendance is taken (the class has started); a class to come
    // shows its roster size only.
    let past = row_of(&list.body, "C-PAST");
    assert!(
        past.contains(">3 <span class=\"muted small\">· 2 attended</span>"),
        "{past}"
    );
    let soon_row = row_of(&list.body, "C-SOON");
    assert!(soon_row.contains(">2</td>"), "{soon_row}");
    assert!(!soon_row.contains("attended"), "{soon_row}");
    assert!(row_of(&list.body, "C-NONE").contains(">0 <span"));

    let listed = |body: &str| {
        let mut refs = linked_cells(body, "/classes/");
        refs.sort();
        refs
    };
    for (query, expect) in [
        ("learner=ADA", vec!["C-PAST", "C-SOON"]),
        ("learner=lovelace", vec!["C-PAST", "C-SOON"]),
        ("learner=navy.example", vec!["C-PAST"]),
        ("learner=turing", vec!["C-SOON"]),
        ("learner=100%25", vec![]),
        ("location=lisbon", vec!["C-PAST"]),
        ("location=ROOM+2", vec!["C-PAST"]),
        ("location=o", vec!["C-NONE", "C-PAST"]),
        ("learner=ada&location=porto", vec![]),
        ("learner=ada&status=scheduled", vec!["C-SOON"]),
    ] {
        let page = viewer.get(&format!("/classes?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert_eq!(listed(&page.body), expect, "{query}");
    }
    viewer
        .get("/classes?learner=nobody")
        .await
        .assert_contains("0 classes match.");
    // The export holds what the list shows.
    let csv = viewer.get("/classes/export.csv?location=lisbon").await;
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    assert!(csv.body.contains("C-PAST"));
}
db_test!(the_list_counts_learners_and_searches_by_learner_and_location);

/// Every class's stored counts against a count of its roster lines.
async fn assert_counts_match_the_rosters(app: &TestApp) {
    let backend = app.db().get_database_backend();
    let rows = app
        .db()
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT c.class_ref AS class_ref, \
             (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id) AS learners, \
             (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id AND e.attended) AS attended, \
             r.learners AS stored_learners, r.attended AS stored_attended \
             FROM classes c LEFT JOIN roster_counts r ON r.class_id = c.id",
        ))
        .await
        .unwrap();
    for row in rows {
        let class_ref: String = row.try_get("", "class_ref").unwrap();
        let counted: (i64, i64) = (
            row.try_get("", "learners").unwrap(),
            row.try_get("", "attended").unwrap(),
        );
        let stored: (Option<i64>, Option<i64>) = (
            row.try_get("", "stored_learners").unwrap(),
            row.try_get("", "stored_attended").unwrap(),
        );
        assert_eq!(
            stored,
            (Some(counted.0), Some(counted.1)),
            "{class_ref}: stored vs counted"
        );
    }
    let orphans = app
        .db()
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM roster_counts WHERE class_id NOT IN (SELECT id FROM classes)",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(orphans, 0, "counts of classes that are gone");
}

/// The counts follow every way a roster changes — imports, the roster forms, erasure,
/// plain SQL — and a cached list page shows the change on the next view.
async fn learner_counts_follow_every_roster_change_and_the_cache_sees_them(app: TestApp) {
    use std::sync::atomic::Ordering;
    crate::imports::catalog(&app).await;
    let c1 = crate::imports::class_in(&app, "C-1", "delivered").await;
    let c2 = crate::imports::class_in(&app, "C-2", "scheduled").await;
    let (db, statements) = app.counted_pool().await;
    let server = app.instance(db);
    let id = app
        .create_user(Role::Coordinator, "coordinator@example.com")
        .await;
    let mut browser = server.client_for(id).await;
    let count_of = |body: &str, class_ref: &str| -> String {
        let row = row_of(body, class_ref);
        let marker = "<td class=\"num nowrap\">";
        let cell = &row[row.rfind(marker).unwrap() + marker.len()..];
        cell[..cell.find(['<', ' ']).unwrap()].to_string()
    };
    let list = browser.get("/classes").await;
    assert_eq!(count_of(&list.body, "C-1"), "0");
    let before = statements.load(Ordering::Relaxed);
    browser.get("/classes").await;
    let repeat = statements.load(Ordering::Relaxed) - before;
    assert!(repeat <= 3, "a repeat view ran {repeat} statements");

    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Ada Lovelace,ada@example.com,true\nC-1,Alan Turing,alan@example.com,false\n\
         C-2,Grace Hopper,grace@example.com,false\n",
    )
    .await
    .unwrap();
    let list = browser.get("/classes").await;
    assert_eq!(count_of(&list.body, "C-1"), "2");
    assert_eq!(count_of(&list.body, "C-2"), "1");
    assert_counts_match_the_rosters(&app).await;

    // The roster form adds one; the attendance form ticks one; removing takes one away.
    let added = browser
        .post(
            &format!("/classes/{}/roster", c2.id),
            &[
                ("learner_name", "Edsger Dijkstra"),
                ("learner_email", "edsger@example.com"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(count_of(&browser.get("/classes").await.body, "C-2"), "2");
    let roster = tsp_ledger::services::classes::roster(app.db(), c1.id)
        .await
        .unwrap();
    let alan = roster
        .iter()
        .find(|e| e.email_key == "alan@example.com")
        .unwrap();
    let ticked = browser
        .post(
            &format!("/classes/{}/attendance", c1.id),
            &[
                ("shown", &roster[0].id.to_string()),
                ("shown", &roster[1].id.to_string()),
                ("attended", &roster[0].id.to_string()),
                ("attended", &roster[1].id.to_string()),
            ],
        )
        .await;
    assert_eq!(ticked.status, StatusCode::SEE_OTHER, "{}", ticked.body);
    assert!(row_of(&browser.get("/classes").await.body, "C-1").contains("· 2 attended"));
    assert_counts_match_the_rosters(&app).await;
    let removed = browser
        .post(
            &format!("/classes/{}/roster/{}/remove", c1.id, alan.id),
            &[],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(count_of(&browser.get("/classes").await.body, "C-1"), "1");

    // Erasure rewrites names and e-mails: the counts stay.
    tsp_ledger::services::erasure::erase(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        "grace@example.com",
        "the learner asked",
        "true",
    )
    .await
    .unwrap();
    assert_counts_match_the_rosters(&app).await;

    // Plain SQL behind the app's back: a line moved to another class, lines deleted, a
    // class deleted, a class added.
    for sql in [
        "UPDATE enrollments SET class_id = (SELECT id FROM classes WHERE class_ref = 'C-1') \
         WHERE email_key = 'edsger@example.com'",
        "UPDATE enrollments SET attended = (1 = 0)",
    ] {
        app.db().execute_unprepared(sql).await.unwrap();
        assert_counts_match_the_rosters(&app).await;
    }
    let list = browser.get("/classes").await;
    assert_eq!(count_of(&list.body, "C-1"), "2");
    assert_eq!(count_of(&list.body, "C-2"), "1");
    assert!(!row_of(&list.body, "C-1").contains("· 2 attended"));
    app.db()
        .execute_unprepared(&format!(
            "DELETE FROM enrollments WHERE class_id = {}",
            c2.id
        ))
        .await
        .unwrap();
    assert_eq!(count_of(&browser.get("/classes").await.body, "C-2"), "0");
    app.db()
        .execute_unprepared("DELETE FROM classes WHERE class_ref = 'C-2'")
        .await
        .unwrap();
    crate::imports::class_in(&app, "C-3", "scheduled").await;
    assert_eq!(count_of(&browser.get("/classes").await.body, "C-3"), "0");
    assert_counts_match_the_rosters(&app).await;
}
db_test!(learner_counts_follow_every_roster_change_and_the_cache_sees_them);
