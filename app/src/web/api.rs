//! JSON API under `/api/v1` (signed-in session or API token; errors are JSON too).
use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::clock;
use crate::domain::fields::parse_date;
use crate::domain::kpi::{DESIGNATION_2025, Report};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::ApiReader;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KpiQuery {
    as_of: String,
}

/// `GET /api/v1/kpi?as_of=YYYY-MM-DD`: SPEC §4's report (default: today, UTC).
pub async fn kpi(
    State(state): State<AppState>,
    _caller: ApiReader,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Report>, AppError> {
    let as_of = match q.as_of.trim() {
        "" => clock::now().date_naive(),
        raw => parse_date(raw).map_err(|m| AppError::BadRequest(format!("as_of {m}")))?,
    };
    let standing = state
        .kpi_cache
        .standing(&state.db, as_of, &DESIGNATION_2025)
        .await?;
    Ok(Json(standing.report.clone()))
}
