//! Records for tests, written through the same services the app uses.
use chrono::NaiveDate;
use entity::{classes, courses, trainers};
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::{self, ImportFailure, Kind, Summary};
use tsp_ledger::services::{classes as class_svc, courses as course_svc, trainers as trainer_svc};

use crate::support::TestApp;

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Today plus `days` (negative for the past), as the app's clock sees it.
pub fn today_plus(days: i64) -> NaiveDate {
    chrono::Utc::now().date_naive() + chrono::Duration::days(days)
}

/// Imports `csv` (header included) as the CLI operator would.
pub async fn import(app: &TestApp, kind: Kind, csv: &str) -> Result<Summary, ImportFailure> {
    let source = imports::Source::bytes(csv.as_bytes());
    let by = imports::ImportBy::operator();
    imports::run(app.db(), &Actor::Cli, &by, kind, source, None, |_, _| {}).await
}

/// An official course: `days` of official duration, not fundamentals.
pub async fn course(app: &TestApp, code: &str, days: u32, area: &str) -> courses::Model {
    let csv = format!(
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n{code},Course {code},{days},false,{area},official,2026-01\n"
    );
    import(app, Kind::TitlePlan, &csv).await.unwrap();
    course_svc::by_code(app.db(), code).await.unwrap().unwrap()
}

/// An affiliated MCT in good standing until `valid_until`, optionally linked to a user.
pub async fn trainer(
    app: &TestApp,
    name: &str,
    mct_id: &str,
    valid_until: NaiveDate,
    user_id: Option<i64>,
) -> trainers::Model {
    let fields = trainer_svc::TrainerFields {
        name: name.into(),
        email: format!("{}@mct.example.com", mct_id.to_lowercase()),
        mct_id: mct_id.into(),
        mct_valid_until: valid_until.to_string(),
        affiliated: "true".into(),
    };
    trainer_svc::create(app.db(), &Actor::Cli, &fields.parse().unwrap(), user_id)
        .await
        .unwrap()
}

/// A class in any status (imports may record history), e.g. `("C-1", "AZ-104", "MCT-1",
/// "2026-03-02", "2026-03-05", "in_person", "delivered")`.
pub async fn class(
    app: &TestApp,
    row: (&str, &str, &str, &str, &str, &str, &str),
) -> classes::Model {
    let (class_ref, course, mct, start, end, modality, status) = row;
    let csv = format!(
        "class_ref,course_code,mct_id,start_date,end_date,modality,status\n{class_ref},{course},{mct},{start},{end},{modality},{status}\n"
    );
    import(app, Kind::Classes, &csv).await.unwrap();
    class_svc::by_ref(app.db(), class_ref)
        .await
        .unwrap()
        .unwrap()
}
