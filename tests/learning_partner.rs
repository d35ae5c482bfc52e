//! Issue 17 item 3: the older Learning Partner program as a second rules profile —
//! Courseware Marketplace purchases by form and import (with their ledger entries), the
//! dashboard's section at the thresholds, its line items and CSV, the JSON API, and the
//! administrator's choice of the profiles the dashboard shows.
use axum::http::StatusCode;
use entity::{courseware_purchases, ledger_entries};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use tsp_ledger::domain::learning_partner::{DashboardProfiles, ProductKind};
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::{ImportFailure, Kind};
use tsp_ledger::services::settings;

use crate::fixtures::{self, date};
use crate::support::TestApp;

const HEADER: &str = "purchased_on,product_kind,product_code,quantity,revenue_usd,order_ref\n";

async fn purchases(app: &TestApp) -> Vec<courseware_purchases::Model> {
    courseware_purchases::Entity::find()
        .order_by_asc(courseware_purchases::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn purchase_entries(app: &TestApp) -> Vec<ledger_entries::Model> {
    ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("courseware_purchase"))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn ledger_count(app: &TestApp) -> u64 {
    ledger_entries::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

/// Sets the anniversary and the profiles shown, as an administrator would.
async fn configure(app: &TestApp, anniversary: Option<(u32, u32)>, shown: DashboardProfiles) {
    settings::update(
        app.db(),
        &Actor::Cli,
        &settings::OrgSettings {
            organization_name: "Contoso Learning".into(),
            anniversary,
            dashboard_profiles: shown,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn api(app: &TestApp, as_of: &str) -> Value {
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = viewer
        .get(&format!("/api/v1/learning-partner?as_of={as_of}"))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

fn form<'a>(
    purchased_on: &'a str,
    kind: &'a str,
    code: &'a str,
    quantity: &'a str,
    revenue: &'a str,
    order: &'a str,
) -> [(&'static str, &'a str); 6] {
    [
        ("purchased_on", purchased_on),
        ("product_kind", kind),
        ("product_code", code),
        ("quantity", quantity),
        ("revenue_usd", revenue),
        ("order_ref", order),
    ]
}

async fn the_courseware_form_and_import_record_purchases_in_the_ledger(app: TestApp) {
    let mut client = app.client_as(Role::Coordinator).await;
    client
        .get("/courseware/new")
        .await
        .assert_contains("name=\"revenue_usd\"")
        .assert_contains("Course Certificate Voucher (MCCVL)");

    // Every bad field is named; nothing is written.
    let bad = client
        .post(
            "/courseware",
            &form("03/02/2026", "dvd", "20742 B", "0", "$1,000", ""),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "purchased_on",
        "product_kind",
        "product_code",
        "quantity",
        "revenue_usd",
        "order_ref",
    ] {
        bad.assert_contains(&format!("{field}-error"));
    }
    bad.assert_contains("US dollars");
    assert!(purchases(&app).await.is_empty());
    assert!(purchase_entries(&app).await.is_empty());

    let created = client
        .post(
            "/courseware",
            &form("2026-03-02", "moc", "20742b", "12", "4200.5", " CM-1 "),
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), Some("/courseware"));
    let rows = purchases(&app).await;
    assert_eq!(rows.len(), 1);
    let p = &rows[0];
    assert_eq!(
        (
            p.purchased_on,
            p.product_kind,
            p.product_code.as_str(),
            p.quantity,
            p.revenue_cents,
            p.order_ref.as_str()
        ),
        (
            date("2026-03-02"),
            ProductKind::Moc,
            "20742B",
            12,
            420_050,
            "CM-1"
        )
    );
    // The same product on the same order again is refused on the form.
    let twice = client
        .post(
            "/courseware",
            &form("2026-03-05", "moc", "20742B", "5", "10", "CM-1"),
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    twice.assert_contains("order_ref-error");

    // Edit: the stored values are shown; a change is an update entry.
    let path = format!("/courseware/{}", p.id);
    client
        .get(&path)
        .await
        .assert_contains("value=\"4200.50\"")
        .assert_contains("Worth <strong>12</strong> KPI units");
    let saved = client
        .post(
            &path,
            &form("2026-03-02", "mccvl", "20742B", "12", "4200.5", "CM-1"),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let before = ledger_count(&app).await;
    let same = client
        .post(
            &path,
            &form("2026-03-02", "mccvl", "20742B", "12", "4200.50", "CM-1"),
        )
        .await;
    assert_eq!(same.status, StatusCode::SEE_OTHER);
    assert_eq!(ledger_count(&app).await, before, "nothing changed");

    // The import: new lines are created, the stored one (same key) updated.
    let csv = format!(
        "{HEADER}2026-03-02,mccvl,20742B,14,4900,CM-1\n2026-03-09,exam,MCP-EXAM,20,3300.00,CM-2\n2026-03-09,labs,LABS-1,5,249.95,CM-2\n"
    );
    let summary = fixtures::import(&app, Kind::Courseware, &csv)
        .await
        .unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (2, 1, 0)
    );
    // The same file again changes nothing.
    let before = ledger_count(&app).await;
    let again = fixtures::import(&app, Kind::Courseware, &csv)
        .await
        .unwrap();
    assert_eq!(again.unchanged, 3);
    assert_eq!(ledger_count(&app).await, before);

    let entries = purchase_entries(&app).await;
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "update", "import", "import", "import"]);
    assert!(
        entries[0].actor.starts_with("user:"),
        "{}",
        entries[0].actor
    );
    assert_eq!(entries[2].actor, "cli");
    let update: Value = serde_json::from_str(&entries[1].changes).unwrap();
    assert!(update.get("product_kind").is_some(), "{update}");
    assert!(update.get("revenue_usd").is_none(), "{update}");
    let imported: Value = serde_json::from_str(&entries[2].changes).unwrap();
    assert!(imported.get("quantity").is_some(), "{imported}");

    // Readers see the list with units and revenue; only editors get the forms.
    let mut viewer = app.client_as(Role::Viewer).await;
    viewer
        .get("/courseware")
        .await
        .assert_contains("LABS-1")
        .assert_contains("$3,300.00")
        .assert_contains("<td class=\"num\">7</td>");
    assert_eq!(
        viewer.get("/courseware/new").await.status,
        StatusCode::FORBIDDEN
    );
}
db_test!(the_courseware_form_and_import_record_purchases_in_the_ledger);

async fn a_bad_courseware_import_changes_nothing_and_names_each_line(app: TestApp) {
    let before = ledger_count(&app).await;
    let csv = format!(
        "{HEADER}2026-03-02,moc,20742B,10,1000,CM-1\n2026-03-02,moc,20743B,10,12.345,CM-1\n2026-03-02,dvd,20744B,10,10,CM-1\n2026-03-02,moc,20745B,-1,10,CM-1\n"
    );
    let Err(ImportFailure::Invalid { errors, .. }) =
        fixtures::import(&app, Kind::Courseware, &csv).await
    else {
        panic!("a file with bad rows is refused");
    };
    let named: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(
        named,
        [(3, "revenue_usd"), (4, "product_kind"), (5, "quantity")]
    );
    assert!(
        errors[0].message.contains("at most 2 decimals"),
        "{errors:?}"
    );
    assert!(errors[1].message.contains("mccvl"), "{errors:?}");
    assert!(purchases(&app).await.is_empty(), "nothing half-written");
    assert_eq!(ledger_count(&app).await, before);
    // A missing column is named in the header.
    let Err(ImportFailure::Invalid { errors, .. }) = fixtures::import(
        &app,
        Kind::Courseware,
        "purchased_on,product_kind,product_code,quantity,order_ref\n2026-03-02,moc,X,1,CM-9\n",
    )
    .await
    else {
        panic!("a file without revenue is refused");
    };
    assert_eq!(errors[0].line, 1);
    assert!(errors[0].message.contains("revenue_usd"), "{errors:?}");
}
db_test!(a_bad_courseware_import_changes_nothing_and_names_each_line);

/// Three MCTs in good standing through 2027, one lapsing on 2026-01-31.
async fn mcts(app: &TestApp) {
    for (name, id) in [("Ada", "MCT-A"), ("Bo", "MCT-B"), ("Cy", "MCT-C")] {
        fixtures::trainer(app, name, id, date("2027-12-31"), None).await;
    }
    fixtures::trainer(app, "Lapsing", "MCT-L", date("2026-01-31"), None).await;
}

async fn the_dashboard_shows_the_level_and_what_is_missing_at_each_threshold(app: TestApp) {
    configure(&app, Some((8, 15)), DashboardProfiles::Both).await;
    mcts(&app).await;
    // The period for the anniversary on 15 August 2026: 2025-08-01 … 2026-07-31.
    let csv = format!(
        "{HEADER}2025-07-31,moc,BEFORE,1000,100000,CM-0\n\
         2025-08-01,moc,20742B,4999,499999.99,CM-1\n\
         2026-07-31,mccvl,MCCVL-1,1,0,CM-2\n\
         2026-08-01,moc,AFTER,1000,100000,CM-3\n"
    );
    fixtures::import(&app, Kind::Courseware, &csv)
        .await
        .unwrap();

    // At the deadline: 3 MCTs, 4 999.5 units, $499 999.99: Silver, each Gold need short.
    let mut client = app.client_as(Role::Coordinator).await;
    let page = client.get("/?as_of=2026-07-31").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Learning Partner program")
        .assert_contains("Level attained: <strong>Silver</strong>")
        .assert_contains("Period 2025-08-01 – 2026-07-31")
        .assert_contains("<strong>4999.5</strong>")
        .assert_contains("<strong>$499,999.99</strong>")
        .assert_contains("1 MCT for Gold")
        .assert_contains("0.5 for Gold")
        .assert_contains("$0.01 for Gold")
        .assert_contains("not tracked")
        .assert_contains("/learning-partner/lines?as_of=2026-07-31");
    let report = api(&app, "2026-07-31").await;
    assert_eq!(report["level"], "silver");
    assert_eq!(report["next_level"], "gold");
    assert_eq!(report["mcts"]["value"], 3.0);
    assert_eq!(report["units"]["value"], 4999.5);
    assert_eq!(report["units"]["missing_for_next_level"], 0.5);
    assert_eq!(report["revenue_cents"], 49_999_999);
    assert_eq!(report["revenue_usd"]["missing_for_next_level"], 0.01);
    assert_eq!(report["revenue_usd"]["thresholds"]["gold"], 500000.0);
    assert_eq!(report["period"]["closed"], true);
    assert_eq!(report["purchases"]["lines"], 2);
    // Between the deadline and the anniversary, the same closed period is shown, and the
    // purchase after it does not count.
    let later = api(&app, "2026-08-10").await;
    assert_eq!(later["units"]["value"], 4999.5);
    assert_eq!(later["period"]["anniversary"], "2026-08-15");
    assert_eq!(later["period"]["mcts_on"], "2026-07-31");
    // Before the deadline: progress so far (the MCCVL kit of 2026-07-31 is not in yet),
    // and the MCT lapsing on 2026-01-31 still counts on 2026-01-31.
    let early = api(&app, "2026-01-31").await;
    assert_eq!(early["units"]["value"], 4999.0);
    assert_eq!(early["period"]["closed"], false);
    assert_eq!(early["mcts"]["value"], 4.0);
    assert_eq!(early["level"], "silver", "no revenue yet for Gold: {early}");
    client
        .get("/?as_of=2026-01-31")
        .await
        .assert_contains("Progress so far, to 2026-01-31");

    // One more MCCVL kit and a cent of revenue: 5 000 units and $500 000, still 3 MCTs.
    let more = format!("{HEADER}2026-07-31,mccvl,MCCVL-1,2,0.01,CM-2\n");
    fixtures::import(&app, Kind::Courseware, &more)
        .await
        .unwrap();
    let report = api(&app, "2026-07-31").await;
    assert_eq!(
        (
            &report["level"],
            &report["units"]["value"],
            &report["revenue_cents"]
        ),
        (
            &Value::from("silver"),
            &Value::from(5000.0),
            &Value::from(50_000_000)
        )
    );
    assert_eq!(report["mcts"]["missing_for_next_level"], 1.0);
    assert_eq!(report["units"]["missing_for_next_level"], 0.0);
    // The fourth MCT makes Gold: nothing above it.
    fixtures::trainer(&app, "Di", "MCT-D", date("2027-12-31"), None).await;
    let report = api(&app, "2026-07-31").await;
    assert_eq!(report["level"], "gold");
    assert_eq!(report["next_level"], Value::Null);
    assert_eq!(report["units"]["missing_for_next_level"], Value::Null);
    assert_eq!(report["exam_requirements"], "not_tracked");
    client
        .get("/?as_of=2026-07-31")
        .await
        .assert_contains("Level attained: <strong>Gold</strong>, the highest level");

    // Revenue-only purchases add revenue and no units.
    let exams = format!("{HEADER}2026-02-01,exam,MCP-EXAM,300,49500,CM-4\n");
    fixtures::import(&app, Kind::Courseware, &exams)
        .await
        .unwrap();
    let report = api(&app, "2026-07-31").await;
    assert_eq!(report["units"]["value"], 5000.0);
    assert_eq!(report["revenue_cents"], 54_950_000);

    // Without an anniversary: the twelve complete months before the as-of date, said so.
    configure(&app, None, DashboardProfiles::Both).await;
    let report = api(&app, "2026-08-10").await;
    assert_eq!(report["period"]["start"], "2025-08-01");
    assert_eq!(report["period"]["end"], "2026-07-31");
    assert_eq!(report["period"]["anniversary"], Value::Null);
    client
        .get("/?as_of=2026-08-10")
        .await
        .assert_contains("No anniversary is set");

    // The answer has the shape the API description documents.
    let doc: Value = serde_json::from_str(include_str!("../app/src/web/openapi.json")).unwrap();
    let schema = &doc["components"]["schemas"]["LearningPartnerReport"];
    let problems = crate::api::check(&doc, schema, &report, "$");
    assert!(problems.is_empty(), "{problems:#?}\n{report}");
}
db_test!(the_dashboard_shows_the_level_and_what_is_missing_at_each_threshold);

async fn the_line_items_and_csv_add_up_to_the_dashboard(app: TestApp) {
    configure(&app, Some((8, 15)), DashboardProfiles::Both).await;
    let csv = format!(
        "{HEADER}2025-09-01,moc,20742B,10,3500,CM-1\n\
         2025-09-01,mccvl,MCCVL-1,3,297.03,CM-1\n\
         2025-10-01,labs,LABS-1,2,99.98,=HYPERLINK(1)\n\
         2026-08-01,moc,AFTER,50,1000,CM-3\n"
    );
    fixtures::import(&app, Kind::Courseware, &csv)
        .await
        .unwrap();
    let report = api(&app, "2026-07-31").await;
    assert_eq!(report["units"]["value"], 11.5);
    assert_eq!(report["revenue_cents"], 389_701);

    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get("/learning-partner/lines?as_of=2026-07-31").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("<strong>3</strong> (15 kits)")
        .assert_contains("<strong>11.5</strong>")
        .assert_contains("<strong>$3,897.01</strong>")
        .assert_contains("lines.csv?as_of=2026-07-31");
    assert!(!page.body.contains("AFTER"), "outside the period");

    let download = viewer
        .get("/learning-partner/lines.csv?as_of=2026-07-31")
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("learning-partner-2026-07-31.csv")
    );
    let mut reader = csv::Reader::from_reader(download.body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        tsp_ledger::services::learning_partner::COLUMNS.map(String::from)
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let (mut half_units, mut cents) = (0i64, 0i64);
    for row in &rows {
        half_units += (row[5].parse::<f64>().unwrap() * 2.0) as i64;
        cents += tsp_ledger::domain::learning_partner::parse_usd(&row[6]).unwrap();
    }
    assert_eq!((half_units, cents), (23, 389_701), "the CSV adds up");
    // A cell a spreadsheet would run is defused.
    assert_eq!(&rows[2][1], "'=HYPERLINK(1)");
    assert_eq!(&rows[1][3], "mccvl");
    assert_eq!(&rows[1][5], "1.5");

    // A bad date is a 400 naming the parameter.
    let bad = viewer
        .get("/learning-partner/lines.csv?as_of=yesterday")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("as_of");
}
db_test!(the_line_items_and_csv_add_up_to_the_dashboard);

async fn the_settings_choice_hides_and_shows_each_profile(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/admin/settings")
        .await
        .assert_contains("name=\"dashboard_profiles\"")
        .assert_contains("Learning Partner program");
    // By default the 2025 designation only.
    let page = admin.get("/?as_of=2026-07-31").await;
    page.assert_contains("Base criteria");
    assert!(!page.body.contains("lp-h"), "no Learning Partner section");

    let post = |profiles: &'static str| {
        [
            ("organization_name", "Contoso"),
            ("anniversary_month", "8"),
            ("anniversary_day", "15"),
            ("dashboard_profiles", profiles),
        ]
    };
    let saved = admin
        .post("/admin/settings", &post("learning_partner"))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = admin.get("/?as_of=2026-07-31").await;
    page.assert_contains("Learning Partner program");
    assert!(!page.body.contains("Base criteria"), "2025 profile hidden");
    assert!(
        !page.body.contains("Not qualified yet"),
        "2025 verdict hidden"
    );

    admin.post("/admin/settings", &post("both")).await;
    let page = admin.get("/?as_of=2026-07-31").await;
    page.assert_contains("Learning Partner program")
        .assert_contains("Base criteria");

    admin
        .post("/admin/settings", &post("designation_2025"))
        .await;
    let page = admin.get("/?as_of=2026-07-31").await;
    page.assert_contains("Base criteria");
    assert!(!page.body.contains("lp-h"));

    // Each change is a ledger entry naming the setting; a bad value changes nothing.
    let changes: Vec<Value> = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("org_settings"))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(&e.changes).unwrap())
        .filter(|c: &Value| c.get("dashboard_profiles").is_some())
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    let before = ledger_count(&app).await;
    let bad = admin.post("/admin/settings", &post("everything")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("dashboard_profiles-error")
        .assert_contains("designation_2025, learning_partner, both");
    assert_eq!(ledger_count(&app).await, before);
    assert_eq!(
        settings::get(app.db()).await.unwrap().dashboard_profiles,
        DashboardProfiles::Designation2025
    );
}
db_test!(the_settings_choice_hides_and_shows_each_profile);

/// The new vocabulary columns refuse values outside their lists on both databases, and
/// the migration's lists are the domain's.
async fn the_learning_partner_vocabularies_are_guarded(app: TestApp) {
    use migration::m20261224_000001_learning_partner::VOCABULARIES;
    use sea_orm::ConnectionTrait;
    let ids = |all: &[&'static str]| all.to_vec();
    let kinds: Vec<&str> = ProductKind::ALL.iter().map(|k| k.id()).collect();
    let shown: Vec<&str> = DashboardProfiles::ALL.iter().map(|k| k.id()).collect();
    assert_eq!(ids(VOCABULARIES[0].2), kinds);
    assert_eq!(ids(VOCABULARIES[1].2), shown);
    let db = app.db();
    let insert = |kind: &str| {
        format!(
            "INSERT INTO courseware_purchases (purchased_on, product_kind, product_code, quantity, \
                 revenue_cents, order_ref, created_at, updated_at) VALUES ('2026-03-02', '{kind}', 'X', 1, 0, \
                 'CM-{kind}', '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z')"
        )
    };
    let refused = db.execute_unprepared(&insert("dvd")).await.unwrap_err();
    assert!(refused.to_string().contains("product_kind"), "{refused}");
    db.execute_unprepared(&insert("labs")).await.unwrap();
    configure(&app, None, DashboardProfiles::Both).await;
    let bad = db
        .execute_unprepared("UPDATE org_settings SET dashboard_profiles = 'all'")
        .await;
    assert!(bad.is_err());
}
db_test!(the_learning_partner_vocabularies_are_guarded);
