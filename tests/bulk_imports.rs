//! Imports at scale (issue 15 item 3): every kind reads what a chunk of rows refers to
//! with a few queries and writes new rows in multi-row statements, so the statements an
//! import runs grow with its chunks, not its rows; a record named twice in one file is
//! still written once, the later row updating the earlier.
use entity::{achievement_codes, exam_vouchers, survey_responses};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::{self, Kind, Summary};

use crate::fixtures;
use crate::imports::{catalog, class_in, invalid, summary};
use crate::support::TestApp;

const CLASSES: usize = 4;
const LEARNERS: usize = 250;

/// Four delivered classes `B-0`…`B-3` with 250 learners each (`b{n}@example.com`).
async fn delivered_classes(app: &TestApp) {
    catalog(app).await;
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    for c in 0..CLASSES {
        class_in(app, &format!("B-{c}"), "delivered").await;
        for l in 0..LEARNERS {
            let n = c * LEARNERS + l;
            roster.push_str(&format!("B-{c},Learner {n},b{n}@example.com,true\n"));
        }
    }
    fixtures::import(app, Kind::Roster, &roster).await.unwrap();
}

/// Runs an import on a pool of its own that counts every statement; returns the summary
/// and the count.
async fn counted_import(app: &TestApp, kind: Kind, csv: &str) -> (Summary, usize) {
    let (db, statements) = app.counted_pool().await;
    let by = imports::ImportBy::operator();
    let source = imports::Source::bytes(csv.as_bytes());
    let result = imports::run(&db, &Actor::Cli, &by, kind, source, None, |_, _| {}).await;
    db.close().await.ok();
    (
        result.unwrap(),
        statements.load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// The rows of a file of `kind` with one line per learner of [`delivered_classes`].
fn file(header: &str, row: impl Fn(usize, usize) -> String) -> String {
    let mut csv = format!("{header}\n");
    for c in 0..CLASSES {
        for l in 0..LEARNERS {
            csv.push_str(&row(c, c * LEARNERS + l));
            csv.push('\n');
        }
    }
    csv
}

async fn every_kind_runs_a_few_statements_per_chunk_not_one_per_row(app: TestApp) {
    delivered_classes(&app).await;
    let rows = (CLASSES * LEARNERS) as u64;
    // 1 000 rows are two chunks of 512: a statement per row would be 1 000 and more.
    let most = rows as usize / 10;
    let files = [
        (
            Kind::TitlePlan,
            file(
                "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version",
                |_, n| {
                    format!(
                        "BULK-{n},Course {n},{},false,security,official,2026-01",
                        1 + n % 5
                    )
                },
            ),
        ),
        (
            Kind::Trainers,
            file("name,email,mct_id,mct_valid_until,affiliated", |_, n| {
                format!("Trainer {n},t{n}@mct.example.com,MCT-B{n},2030-12-31,true")
            }),
        ),
        (
            Kind::Classes,
            file(
                "class_ref,course_code,mct_id,start_date,end_date,modality,status",
                |_, n| format!("N-{n},AZ-104,MCT-1,2026-03-02,2026-03-05,virtual,delivered"),
            ),
        ),
        (
            Kind::Roster,
            file("class_ref,learner_name,learner_email,attended", |c, n| {
                format!("B-{c},Second {n},s{n}@example.com,false")
            }),
        ),
        (
            Kind::CodePool,
            file("achievement_code", |_, n| format!("POOL-{n}")),
        ),
        (
            Kind::Codes,
            file(
                "class_ref,learner_email,achievement_code,issued_on,redeemed_on",
                |c, n| format!("B-{c},b{n}@example.com,MS-{n},2026-03-05,2026-03-06"),
            ),
        ),
        (
            Kind::SurveyResponses,
            file(
                "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5",
                |c, n| format!("B-{c},b{n}@example.com,2026-03-06,5,4,{},5,", 1 + n % 5),
            ),
        ),
        (
            Kind::Vouchers,
            file("purchased_on,exam_code,level,quantity,order_ref", |_, n| {
                format!("2026-03-06,AZ-{},advanced,2,ORD-{}", n % 3, n / 3)
            }),
        ),
        (
            Kind::Courseware,
            file(
                "purchased_on,product_kind,product_code,quantity,revenue_usd,order_ref",
                |_, n| format!("2026-03-06,moc,20742-{},3,1050.00,CM-{}", n % 3, n / 3),
            ),
        ),
    ];
    for (kind, csv) in &files {
        let (done, statements) = counted_import(&app, *kind, csv).await;
        assert_eq!(done, summary(rows, rows, 0, 0), "{kind:?}");
        assert!(
            statements <= most,
            "{kind:?}: {statements} statements for {rows} rows (at most {most})"
        );
        // The same file again: every row found by the chunk's lookups, nothing written.
        let (again, statements) = counted_import(&app, *kind, csv).await;
        assert_eq!(again, summary(rows, 0, 0, rows), "{kind:?} again");
        assert!(
            statements <= most,
            "{kind:?} again: {statements} statements for {rows} rows"
        );
    }
    let redeemed = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::RedeemedOn.is_not_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(redeemed, rows);
}
db_test!(every_kind_runs_a_few_statements_per_chunk_not_one_per_row);

async fn a_record_twice_in_one_file_is_written_once_the_later_row_updating_it(app: TestApp) {
    delivered_classes(&app).await;
    let entries_before = crate::imports::ledger(&app).await.len();
    // A code, then the same code redeemed; a pool code twice.
    let codes = "\
class_ref,learner_email,achievement_code,issued_on,redeemed_on
B-0,b1@example.com,MS-1,2026-03-05,
B-0,b2@example.com,MS-2,2026-03-05,
B-0,b1@example.com,MS-1,2026-03-05,2026-03-07
";
    assert_eq!(
        fixtures::import(&app, Kind::Codes, codes).await.unwrap(),
        summary(3, 2, 1, 0)
    );
    let ms1 = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq("MS-1"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(ms1.len(), 1);
    assert_eq!(ms1[0].redeemed_on, Some(fixtures::date("2026-03-07")));
    assert_eq!(
        crate::imports::ledger(&app).await.len(),
        entries_before + 3,
        "one entry per row"
    );
    assert_eq!(
        fixtures::import(&app, Kind::CodePool, "achievement_code\nP-1\nP-1\n")
            .await
            .unwrap(),
        summary(2, 1, 0, 1)
    );
    // A learner given two codes in one file: the second row is refused, nothing written.
    let two_codes = "\
class_ref,learner_email,achievement_code,issued_on,redeemed_on
B-1,b300@example.com,MS-300,2026-03-05,
B-1,b300@example.com,MS-301,2026-03-05,
";
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Codes, two_codes).await);
    assert_eq!(
        errors,
        [
            "line 3: achievement_code: b300@example.com already holds code MS-300 in B-1: a learner gets one code per class"
        ]
    );
    let ms300 = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq("MS-300"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(ms300, 0, "a refused file writes nothing");
    // A response, then the same learner's corrected one.
    let responses = "\
class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
B-0,b1@example.com,2026-03-06,1,1,1,1,1
B-0,b1@example.com,2026-03-07,5,4,3,2,
";
    assert_eq!(
        fixtures::import(&app, Kind::SurveyResponses, responses)
            .await
            .unwrap(),
        summary(2, 1, 1, 0)
    );
    let stored = survey_responses::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].submitted_on, stored[0].q1, stored[0].q5),
        (fixtures::date("2026-03-07"), Some(5), None)
    );
    // A purchase, then the same purchase with another quantity.
    let vouchers = "\
purchased_on,exam_code,level,quantity,order_ref
2026-03-06,AZ-104,advanced,2,ORD-1
2026-03-06,AZ-104,advanced,5,ORD-1
";
    assert_eq!(
        fixtures::import(&app, Kind::Vouchers, vouchers)
            .await
            .unwrap(),
        summary(2, 1, 1, 0)
    );
    let purchases = exam_vouchers::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(purchases.len(), 1);
    assert_eq!(purchases[0].quantity, 5);
    // Two new MCTs with one e-mail in one file: the second is refused by its line.
    let mcts = "\
name,email,mct_id,mct_valid_until,affiliated
Ana,same@mct.example.com,MCT-X1,2030-12-31,true
Bo,same@mct.example.com,MCT-X2,2030-12-31,true
";
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Trainers, mcts).await);
    assert_eq!(
        errors,
        ["line 3: email: is already used by MCT MCT-X1 (Ana)"]
    );
}
db_test!(a_record_twice_in_one_file_is_written_once_the_later_row_updating_it);
