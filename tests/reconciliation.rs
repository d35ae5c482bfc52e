//! Reconciliation with Partner Center (issue 17 item 1): Microsoft's downloads read
//! through a column mapping, compared month by month and item by item with the app's
//! line items, and the support-case packet for what Microsoft lacks.
use axum::http::StatusCode;
use entity::reconciliation_lines;
use sea_orm::{EntityTrait, PaginatorTrait};
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::settings::{self, OrgSettings};

use crate::fixtures;
use crate::imports::{Part, catalog, ledger, post_multipart};
use crate::support::{Client, TestApp, TestResponse};

/// March 2026: C-1 (confirmed, in person) with codes MS-1..MS-3 redeemed and Ana's and
/// Ben's responses; C-2 (confirmed, recorded) with RX-1 redeemed, which earns nothing;
/// voucher order PO-1 of 2 fundamentals exams. The org/location ID is 4711-0042.
async fn march(app: &TestApp) {
    catalog(app).await;
    fixtures::class(
        app,
        (
            "C-1",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            "confirmed",
        ),
    )
    .await;
    fixtures::class(
        app,
        (
            "C-2",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-05",
            "recorded",
            "confirmed",
        ),
    )
    .await;
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Ana,ana@example.com,true\nC-1,Ben,ben@example.com,true\nC-1,Cid,cid@example.com,true\n\
         C-2,Dee,dee@example.com,true\n",
    )
    .await
    .unwrap();
    fixtures::import(
        app,
        Kind::Codes,
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on\n\
         C-1,ana@example.com,MS-1,2026-03-05,2026-03-10\n\
         C-1,ben@example.com,MS-2,2026-03-05,2026-03-11\n\
         C-1,cid@example.com,MS-3,2026-03-05,2026-03-31\n\
         C-2,dee@example.com,RX-1,2026-03-05,2026-03-12\n",
    )
    .await
    .unwrap();
    fixtures::import(
        app,
        Kind::Vouchers,
        "purchased_on,exam_code,level,quantity,order_ref\n2026-03-04,AZ-900,fundamentals,2,PO-1\n",
    )
    .await
    .unwrap();
    fixtures::import(
        app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\n\
         C-1,ana@example.com,2026-03-06,5,5,5,5,5\n\
         C-1,ben@example.com,2026-03-06,4,4,4,4,4\n",
    )
    .await
    .unwrap();
    let admin = app.create_user(Role::Admin, "owner@example.com").await;
    settings::update(
        app.db(),
        &Actor::User(admin),
        &OrgSettings {
            organization_name: "Contoso Learning".into(),
            partner_location_id: "4711-0042".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

/// Microsoft's courseware download, as the preset expects it: MS-1 as here, MS-3 a day
/// later (in April), RX-1 (a recorded class's code) and ZZ-9 (not ours); MS-2 missing.
const COURSEWARE: &str = "\
Completion Date,Achievement Code,Course Number,Points,Country
3/10/2026,MS-1,AZ-104,1,DE
4/1/2026,ms-3,AZ-104,1,DE
3/12/2026,RX-1,AZ-104,1,DE
3/15/2026,ZZ-9,AZ-104,1,FR
";

fn token_of(page: &TestResponse) -> String {
    let at = page
        .body
        .find("name=\"token\" value=\"")
        .expect("the editor carries the upload's token")
        + "name=\"token\" value=\"".len();
    page.body[at..at + 64].to_string()
}

async fn upload(client: &mut Client<'_>, figure: &str, name: &str, csv: &str) -> TestResponse {
    post_multipart(
        client,
        "/reconciliation/upload",
        &[
            Part::Text("figure", figure),
            Part::File("file", name, csv.as_bytes()),
        ],
    )
    .await
}

async fn microsoft_lines(app: &TestApp) -> u64 {
    reconciliation_lines::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

async fn the_courseware_download_is_compared_item_by_item_and_the_gap_packed(app: TestApp) {
    march(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let editor = upload(
        &mut coordinator,
        "courseware",
        "completions.csv",
        COURSEWARE,
    )
    .await;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.body);
    editor
        .assert_contains("completions.csv")
        .assert_contains("The mapping <strong>Partner Center: courseware completions</strong> fits")
        .assert_contains("<th scope=\"col\">Country</th>")
        .assert_contains("<td>ZZ-9</td>");
    let token = token_of(&editor);
    let entries = ledger(&app).await.len();
    let done = coordinator
        .post(
            "/reconciliation/import",
            &[
                ("token", &token),
                ("col_date", "Completion Date"),
                ("col_code", "Achievement Code"),
                ("col_course_code", "Course Number"),
                ("col_points", "Points"),
                ("date_format", "mm/dd/yyyy"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(microsoft_lines(&app).await, 4);
    let added = ledger(&app).await;
    assert_eq!(added.len(), entries + 1);
    let entry = added.last().unwrap();
    assert_eq!(
        (entry.entity_type.as_str(), entry.action.as_str()),
        ("reconciliation_import", "import")
    );
    assert!(entry.changes.contains("\"lines\":4"), "{}", entry.changes);

    // The same token cannot be imported twice.
    let again = coordinator
        .post(
            "/reconciliation/import",
            &[("token", &token), ("col_date", "Completion Date")],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(microsoft_lines(&app).await, 4);

    // Month by month: March has MS-1, MS-2, MS-3 here (6 points) and MS-1, RX-1, ZZ-9 there.
    let overview = coordinator.get("/reconciliation").await;
    overview
        .assert_contains("1 of 2 months differ")
        .assert_contains("href=\"/reconciliation/courseware/2026-03\"");
    let month = coordinator.get("/reconciliation/courseware/2026-03").await;
    assert_eq!(month.status, StatusCode::OK);
    let missing_there = section(&month.body, "ours-h");
    assert!(
        missing_there.contains("MS-2") && !missing_there.contains("MS-1"),
        "{missing_there}"
    );
    let missing_here = section(&month.body, "theirs-h");
    assert!(
        missing_here.contains("RX-1")
            && missing_here.contains("which earns no credit here: recorded delivery"),
        "{missing_here}"
    );
    assert!(missing_here.contains("ZZ-9") && missing_here.contains("not a code this app issued"));
    let moved = section(&month.body, "moved-h");
    assert!(
        moved.contains("MS-3") && moved.contains("2026-03-31") && moved.contains("2026-04-01"),
        "{moved}"
    );

    let csv = coordinator
        .get("/reconciliation/courseware/2026-03/packet.csv")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.body,
        "org_location_id,category,transaction_date,units\n4711-0042,Achievement codes,2026-03-11,1\n"
    );
    let text = coordinator
        .get("/reconciliation/courseware/2026-03/packet.txt")
        .await;
    text.assert_contains("Partner: Contoso Learning")
        .assert_contains("Org/location ID: 4711-0042")
        .assert_contains("Category: Achievement codes")
        .assert_contains("Number of units missing: 1")
        .assert_contains("Dates of the missing transactions: 2026-03-11");

    // The dashboard says so too.
    let dashboard = coordinator.get("/").await;
    dashboard.assert_contains("Partner Center").assert_contains(
        "Courseware completions (achievement codes): <strong>1</strong> of 2 months differ",
    );
}
db_test!(the_courseware_download_is_compared_item_by_item_and_the_gap_packed);

/// The text of the section whose heading has `id`.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.find(&format!("id=\"{id}\"")).expect("the section");
    let end = body[start..].find("</section>").unwrap() + start;
    &body[start..end]
}

/// A download with columns of its own: the editor guesses what it can, the mapping is
/// completed by hand and saved, and the next file with that header starts from it.
async fn a_file_with_its_own_columns_is_mapped_by_hand_and_the_mapping_saved(app: TestApp) {
    march(&app).await;
    let mut admin = app.client_as(Role::Admin).await;
    let file = "Txn Date;PO;Exam;Qty\n04/03/2026;PO-1;AZ-900;2\n";
    let file = file.replace(';', ",");
    let editor = upload(&mut admin, "exams", "exams.csv", &file).await;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.body);
    editor.assert_contains("No saved mapping fits this header");
    // The date column is guessed by its name.
    assert!(
        editor.body.contains("<option value=\"Txn Date\" selected>"),
        "{}",
        editor.body
    );
    let token = token_of(&editor);

    // Without an order reference the mapping does not fit: the field is named.
    let refused = admin
        .post(
            "/reconciliation/import",
            &[
                ("token", &token),
                ("col_date", "Txn Date"),
                ("date_format", "dd/mm/yyyy"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("order_ref: choose the file&#39;s column for it");
    assert_eq!(microsoft_lines(&app).await, 0);

    let fields = [
        ("token", token.as_str()),
        ("col_date", "Txn Date"),
        ("col_order_ref", "PO"),
        ("col_course_code", "Exam"),
        ("col_units", "Qty"),
        ("date_format", "dd/mm/yyyy"),
        ("save_as", "Our exam export"),
    ];
    let done = admin.post("/reconciliation/import", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let actions: Vec<(String, String)> = ledger(&app)
        .await
        .iter()
        .rev()
        .take(2)
        .map(|e| (e.entity_type.clone(), e.action.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            ("reconciliation_import".to_string(), "import".to_string()),
            ("reconciliation_mapping".to_string(), "create".to_string()),
        ]
    );
    // PO-1: 2 units on 2026-03-04 on both sides.
    let overview = admin.get("/reconciliation").await;
    overview.assert_contains("Every month's total matches");
    let month = admin.get("/reconciliation/exams/2026-03").await;
    assert!(section(&month.body, "ours-h").contains("Microsoft has every item"));

    let next = upload(&mut admin, "exams", "exams-april.csv", &file).await;
    next.assert_contains("The mapping <strong>Our exam export</strong> fits");
    assert!(
        next.body.contains("<option value=\"PO\" selected>"),
        "{}",
        next.body
    );
}
db_test!(a_file_with_its_own_columns_is_mapped_by_hand_and_the_mapping_saved);

async fn a_bad_line_refuses_the_whole_file_naming_each_line(app: TestApp) {
    march(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let bad = "Completion Date,Achievement Code,Course Number,Points\n\
               3/10/2026,MS-1,AZ-104,1\n\
               2026-03-11,MS-2,AZ-104,1\n\
               3/12/2026,,AZ-104,1\n\
               3/13/2026,MS-3,AZ-104,1.25\n";
    let editor = upload(&mut coordinator, "courseware", "bad.csv", bad).await;
    let token = token_of(&editor);
    let entries = ledger(&app).await.len();
    let refused = coordinator
        .post(
            "/reconciliation/import",
            &[
                ("token", &token),
                ("col_date", "Completion Date"),
                ("col_code", "Achievement Code"),
                ("col_points", "Points"),
                ("date_format", "mm/dd/yyyy"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains("Nothing was imported: 3 bad lines.")
        .assert_contains("line 3: date: &#34;2026-03-11&#34; is not a date written mm/dd/yyyy")
        .assert_contains("line 4: code: is empty")
        .assert_contains("line 5: points: ");
    assert_eq!(microsoft_lines(&app).await, 0);
    assert_eq!(ledger(&app).await.len(), entries);

    // Not a CSV with a header, or no download chosen: named on the upload form.
    let empty = upload(&mut coordinator, "courseware", "empty.csv", "\n").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    empty.assert_contains("is empty: its first line must name the columns");
    let unnamed = upload(&mut coordinator, "", "c.csv", COURSEWARE).await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    unnamed.assert_contains("Choose which of Microsoft");
}
db_test!(a_bad_line_refuses_the_whole_file_naming_each_line);

async fn a_newer_download_replaces_the_months_it_covers(app: TestApp) {
    march(&app).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let import = async |client: &mut Client<'_>, csv: &str| {
        let editor = upload(client, "courseware", "c.csv", csv).await;
        let token = token_of(&editor);
        client
            .post(
                "/reconciliation/import",
                &[
                    ("token", &token),
                    ("col_date", "Completion Date"),
                    ("col_code", "Achievement Code"),
                    ("date_format", "mm/dd/yyyy"),
                ],
            )
            .await
    };
    import(&mut coordinator, COURSEWARE).await;
    assert_eq!(microsoft_lines(&app).await, 4);
    let march_only = "Completion Date,Achievement Code\n3/10/2026,MS-1\n3/11/2026,MS-2\n";
    let done = import(&mut coordinator, march_only).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = coordinator.get("/reconciliation").await;
    page.assert_contains(
        "2 lines from 2026-03-10 to 2026-03-11 imported, replacing 3 earlier lines of those months",
    );
    // April's MS-3 stays; March is the new file's.
    assert_eq!(microsoft_lines(&app).await, 3);
    let month = coordinator.get("/reconciliation/courseware/2026-03").await;
    let missing_there = section(&month.body, "ours-h");
    assert!(!missing_there.contains("MS-2"), "{missing_there}");
    assert!(section(&month.body, "moved-h").contains("MS-3"));
}
db_test!(a_newer_download_replaces_the_months_it_covers);

/// Surveys match by the learner's e-mail and the date; Microsoft's file leaves no e-mail
/// address in the database.
async fn surveys_match_by_e_mail_and_date_and_keep_no_address(app: TestApp) {
    march(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    let refused = upload(&mut viewer, "surveys", "s.csv", "a\n").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut coordinator = app.client_as(Role::Coordinator).await;
    let surveys = "Survey Date,Learner Email,Course Number,Points\n\
                   3/6/2026,ANA@example.com,AZ-104,1\n\
                   3/9/2026,ben@example.com,AZ-104,1\n\
                   3/8/2026,zed@example.com,AZ-104,1\n";
    let editor = upload(&mut coordinator, "surveys", "surveys.csv", surveys).await;
    let token = token_of(&editor);
    let done = coordinator
        .post(
            "/reconciliation/import",
            &[
                ("token", &token),
                ("col_date", "Survey Date"),
                ("col_learner_email", "Learner Email"),
                ("col_course_code", "Course Number"),
                ("col_points", "Points"),
                ("date_format", "mm/dd/yyyy"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    for line in reconciliation_lines::Entity::find()
        .all(app.db())
        .await
        .unwrap()
    {
        assert!(
            !line.item_key.contains('@') && line.item.is_empty(),
            "{line:?}"
        );
    }
    let month = viewer.get("/reconciliation/surveys/2026-03").await;
    assert_eq!(month.status, StatusCode::OK);
    assert!(section(&month.body, "ours-h").contains("Microsoft has every item"));
    let moved = section(&month.body, "moved-h");
    assert!(
        moved.contains("2026-03-06") && moved.contains("2026-03-09"),
        "{moved}"
    );
    let missing_here = section(&month.body, "theirs-h");
    assert!(
        missing_here.contains("2026-03-08") && missing_here.contains("a learner"),
        "{missing_here}"
    );
    assert!(!month.body.contains("zed@example.com"));
}
db_test!(surveys_match_by_e_mail_and_date_and_keep_no_address);

/// The monthly download from a script: a mapping by name, all lines or none, and the
/// months side by side with an exit code saying whether any differs.
async fn the_command_line_imports_a_download_through_a_named_mapping(app: TestApp) {
    use std::process::ExitCode;
    use tsp_ledger::cli::{self, Command, ReconcileCommand};
    use tsp_ledger::domain::reconciliation::Figure;
    march(&app).await;
    let (_dir, path) = crate::imports::temp_file("completions.csv", COURSEWARE.as_bytes());
    let run = |mapping: &str| {
        cli::run(
            Command::Reconcile(ReconcileCommand::Import {
                figure: Figure::Courseware,
                mapping: mapping.to_string(),
                file: path.clone(),
            }),
            crate::imports::cli_config(&app),
        )
    };
    assert_eq!(run("Our own mapping").await.unwrap(), ExitCode::FAILURE);
    assert_eq!(microsoft_lines(&app).await, 0);
    assert_eq!(
        run("Partner Center: courseware completions").await.unwrap(),
        ExitCode::SUCCESS
    );
    assert_eq!(microsoft_lines(&app).await, 4);
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (entry.actor.as_str(), entry.entity_type.as_str()),
        ("cli", "reconciliation_import")
    );
    // April has MS-3 there and nothing here.
    let status = cli::run(
        Command::Reconcile(ReconcileCommand::Status),
        crate::imports::cli_config(&app),
    )
    .await
    .unwrap();
    assert_eq!(status, ExitCode::FAILURE);
}
db_test!(the_command_line_imports_a_download_through_a_named_mapping);
