//! Exam voucher purchases (SPEC §2, §4, §7): the forms, the `vouchers` import keyed by
//! (order_ref, exam_code), the totals and exam points on the list, and the ledger.
use axum::http::StatusCode;
use entity::{exam_vouchers, ledger_entries};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tsp_ledger::domain::catalog::Level;
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::{ImportFailure, Kind};
use tsp_ledger::services::vouchers as svc;

use crate::fixtures;
use crate::support::TestApp;

const HEADER: &str = "purchased_on,exam_code,level,quantity,order_ref\n";

async fn all(app: &TestApp) -> Vec<exam_vouchers::Model> {
    exam_vouchers::Entity::find()
        .order_by_asc(exam_vouchers::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn voucher_entries(app: &TestApp) -> Vec<ledger_entries::Model> {
    ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("exam_voucher"))
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

fn changes(entry: &ledger_entries::Model) -> serde_json::Value {
    serde_json::from_str(&entry.changes).unwrap()
}

async fn the_voucher_form_creates_and_edits_with_field_errors(app: TestApp) {
    let mut client = app.client_as(Role::Coordinator).await;
    client
        .get("/vouchers/new")
        .await
        .assert_contains("name=\"order_ref\"");

    // Every bad field is named; nothing is written.
    let bad = client
        .post(
            "/vouchers",
            &[
                ("purchased_on", "03/02/2026"),
                ("exam_code", "AZ 104"),
                ("level", "expert"),
                ("quantity", "0"),
                ("order_ref", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("purchased_on-error")
        .assert_contains("exam_code-error")
        .assert_contains("level-error")
        .assert_contains("quantity-error")
        .assert_contains("order_ref-error");
    let too_many = client
        .post(
            "/vouchers",
            &[
                ("purchased_on", "2026-03-02"),
                ("exam_code", "AZ-104"),
                ("level", "advanced"),
                ("quantity", "100001"),
                ("order_ref", "PO-1"),
            ],
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    too_many.assert_contains("quantity-error");
    assert!(all(&app).await.is_empty());
    assert!(voucher_entries(&app).await.is_empty());

    let created = client
        .post(
            "/vouchers",
            &[
                ("purchased_on", "2026-03-02"),
                ("exam_code", "az-104"),
                ("level", "advanced"),
                ("quantity", "20"),
                ("order_ref", " PO-1 "),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), Some("/vouchers"));
    let rows = all(&app).await;
    assert_eq!(rows.len(), 1);
    let v = &rows[0];
    assert_eq!(
        (
            v.purchased_on.to_string().as_str(),
            v.exam_code.as_str(),
            v.level.id(),
            v.quantity,
            v.order_ref.as_str()
        ),
        ("2026-03-02", "AZ-104", "advanced", 20, "PO-1")
    );

    // The same exam on the same order again is refused on the form.
    let twice = client
        .post(
            "/vouchers",
            &[
                ("purchased_on", "2026-03-05"),
                ("exam_code", "AZ-104"),
                ("level", "advanced"),
                ("quantity", "5"),
                ("order_ref", "PO-1"),
            ],
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    twice.assert_contains("order_ref-error");
    assert_eq!(all(&app).await.len(), 1);

    // Edit: the form shows the stored values; a bad edit writes nothing.
    let path = format!("/vouchers/{}", v.id);
    client.get(&path).await.assert_contains("value=\"PO-1\"");
    let before = ledger_count(&app).await;
    let bad_edit = client
        .post(
            &path,
            &[
                ("purchased_on", "2026-03-02"),
                ("exam_code", "AZ-104"),
                ("level", "advanced"),
                ("quantity", "many"),
                ("order_ref", "PO-1"),
            ],
        )
        .await;
    assert_eq!(bad_edit.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad_edit.assert_contains("quantity-error");
    assert_eq!(ledger_count(&app).await, before);
    assert_eq!(all(&app).await[0].quantity, 20);

    let saved = client
        .post(
            &path,
            &[
                ("purchased_on", "2026-03-02"),
                ("exam_code", "AZ-104"),
                ("level", "fundamentals"),
                ("quantity", "30"),
                ("order_ref", "PO-1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let v = &all(&app).await[0];
    assert_eq!((v.level.id(), v.quantity), ("fundamentals", 30));
    // Saving the same values again changes nothing and records nothing.
    let before = ledger_count(&app).await;
    let same = client
        .post(
            &path,
            &[
                ("purchased_on", "2026-03-02"),
                ("exam_code", "AZ-104"),
                ("level", "fundamentals"),
                ("quantity", "30"),
                ("order_ref", "PO-1"),
            ],
        )
        .await;
    assert_eq!(same.status, StatusCode::SEE_OTHER);
    assert_eq!(ledger_count(&app).await, before);

    // Ledger: create then update, by the user, with the changed fields.
    let entries = voucher_entries(&app).await;
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "update"]);
    assert!(entries.iter().all(|e| e.entity_id == v.id.to_string()));
    assert!(
        entries[0].actor.starts_with("user:"),
        "{}",
        entries[0].actor
    );
    let update = changes(&entries[1]);
    assert!(update.get("level").is_some(), "{update}");
    assert!(update.get("quantity").is_some(), "{update}");
    assert!(update.get("order_ref").is_none(), "{update}");

    assert_eq!(
        client.get("/vouchers/999999").await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(the_voucher_form_creates_and_edits_with_field_errors);

async fn the_vouchers_import_creates_updates_and_skips_unchanged_rows(app: TestApp) {
    let file = format!(
        "{HEADER}2026-01-10,AZ-104,advanced,100,PO-7\n2026-01-10,AZ-900,fundamentals,40,PO-7\n2026-02-01,AZ-104,advanced,60,PO-8\n"
    );
    let summary = fixtures::import(&app, Kind::Vouchers, &file).await.unwrap();
    assert_eq!(
        (
            summary.rows,
            summary.created,
            summary.updated,
            summary.unchanged
        ),
        (3, 3, 0, 0)
    );
    assert_eq!(voucher_entries(&app).await.len(), 3);

    // The same file again changes nothing.
    let before = ledger_count(&app).await;
    let again = fixtures::import(&app, Kind::Vouchers, &file).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(ledger_count(&app).await, before);

    // A changed quantity updates the line keyed by (order_ref, exam_code); a new exam on
    // an existing order is a new line.
    let changed = format!(
        "{HEADER}2026-01-10,az-104,advanced,120,PO-7\n2026-01-10,AZ-900,fundamentals,40,PO-7\n2026-01-10,SC-900,fundamentals,60,PO-7\n"
    );
    let summary = fixtures::import(&app, Kind::Vouchers, &changed)
        .await
        .unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.unchanged),
        (1, 1, 1)
    );
    let rows = all(&app).await;
    assert_eq!(rows.len(), 4);
    let az104 = rows
        .iter()
        .find(|v| v.order_ref == "PO-7" && v.exam_code == "AZ-104")
        .unwrap();
    assert_eq!(az104.quantity, 120);
    let entries = voucher_entries(&app).await;
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["import", "import", "import", "import", "import"]);
    assert!(entries.iter().all(|e| e.actor == "cli"));
    let update = entries
        .iter()
        .find(|e| e.entity_id == az104.id.to_string() && changes(e).get("exam_code").is_none())
        .unwrap();
    assert_eq!(
        changes(update)["quantity"],
        serde_json::json!({"before": 100, "after": 120})
    );

    // Totals over a window: the KPI counts units by purchase date.
    let totals = svc::totals(app.db(), None, None).await.unwrap();
    assert_eq!(
        totals
            .iter()
            .map(|t| (t.level, t.units, t.half_points))
            .collect::<Vec<_>>(),
        [(Level::Fundamentals, 100, 100), (Level::Advanced, 180, 360)]
    );
    let january = svc::totals(
        app.db(),
        Some(fixtures::date("2026-01-01")),
        Some(fixtures::date("2026-01-31")),
    )
    .await
    .unwrap();
    assert_eq!(
        january.iter().map(|t| t.units).collect::<Vec<_>>(),
        [100, 120]
    );
}
db_test!(the_vouchers_import_creates_updates_and_skips_unchanged_rows);

async fn a_vouchers_file_with_a_bad_row_writes_nothing(app: TestApp) {
    fixtures::import(
        &app,
        Kind::Vouchers,
        &format!("{HEADER}2026-01-10,AZ-104,advanced,100,PO-7\n"),
    )
    .await
    .unwrap();
    let before = (all(&app).await, ledger_count(&app).await);
    let file = format!(
        "{HEADER}2026-01-10,AZ-104,advanced,1,PO-7\n2026-1-10,AZ-305,advanced,5,PO-9\n2026-01-11,AZ-305,expert,5,PO-9\n2026-01-11,AZ-305,advanced,0,PO-9\n2026-01-11,AZ-305,advanced,5,\n2026-01-11,AZ 305,advanced,5,PO-9\n2026-01-12,DP-900,fundamentals,7,PO-10\n"
    );
    let Err(ImportFailure::Invalid {
        errors,
        total,
        bad_lines,
        ..
    }) = fixtures::import(&app, Kind::Vouchers, &file).await
    else {
        panic!("expected a validation report");
    };
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!((total, bad_lines), (5, 5), "{lines:?}");
    assert!(
        lines[0].starts_with("line 3: purchased_on: must be a date"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("line 4: level: must be one of fundamentals, advanced"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("line 5: quantity: must be a whole number"),
        "{lines:?}"
    );
    assert_eq!(lines[3], "line 6: order_ref: is required");
    assert!(lines[4].starts_with("line 7: exam_code: "), "{lines:?}");
    // Nothing of the file was written, not even its good rows.
    assert_eq!((all(&app).await, ledger_count(&app).await), before);

    // A file with the wrong header is refused on line 1.
    let Err(ImportFailure::Invalid { errors, .. }) = fixtures::import(
        &app,
        Kind::Vouchers,
        "purchased_on,exam_code,level,quantity\n2026-01-10,AZ-104,advanced,1\n",
    )
    .await
    else {
        panic!("expected a header error");
    };
    assert_eq!(errors[0].line, 1);
    assert!(errors[0].message.contains("order_ref"), "{errors:?}");
}
db_test!(a_vouchers_file_with_a_bad_row_writes_nothing);

async fn the_list_shows_purchases_newest_first_with_points_per_level(app: TestApp) {
    fixtures::import(
        &app,
        Kind::Vouchers,
        &format!(
            "{HEADER}2026-01-10,AZ-104,advanced,100,PO-7\n2026-03-01,AZ-900,fundamentals,100,PO-8\n2026-02-01,AZ-305,advanced,60,PO-9\n2026-02-02,SC-900,fundamentals,1,PO-9\n"
        ),
    )
    .await
    .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get("/vouchers").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("160 advanced units = 160 points")
        .assert_contains("101 fundamentals units = 50.5 points")
        .assert_contains("<strong>210.5</strong>");
    let body = &page.body;
    let order: Vec<usize> = ["AZ-900", "SC-900", "AZ-305", "AZ-104"]
        .iter()
        .map(|code| {
            body.find(&format!("<td>{code}</td>"))
                .unwrap_or_else(|| panic!("{code}"))
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first: {order:?}"
    );
    // Viewers read; they are offered neither the form nor the import.
    assert!(!body.contains("/vouchers/new"));
    assert!(!body.contains("/imports?kind=vouchers"));
    assert!(body.contains("href=\"/vouchers\""), "nav item");

    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get("/vouchers").await;
    page.assert_contains("/imports?kind=vouchers")
        .assert_contains("/vouchers/new");
    let imports = coordinator.get("/imports?kind=vouchers").await;
    assert_eq!(imports.status, StatusCode::OK);
    imports.assert_contains("Exam vouchers");
}
db_test!(the_list_shows_purchases_newest_first_with_points_per_level);
