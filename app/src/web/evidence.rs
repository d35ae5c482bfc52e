//! Evidence packs' downloads: a KPI figure's (beside its line items), a class's and a
//! recording's, each for whoever may see the page it comes from.
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::domain::kpi::DESIGNATION_2025;
use crate::ledger::checkpoint;
use crate::services::evidence::{self as svc, Subject};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, ReaderUser};
use crate::web::line_items::LinesQuery;

/// `GET /kpi/evidence.zip?as_of=…&figure=…&area=…`: the figure of `/kpi/lines`.
pub async fn figure(
    State(state): State<AppState>,
    _user: ReaderUser,
    Query(q): Query<LinesQuery>,
) -> Result<Response, AppError> {
    download(&state, Subject::Figure(q.filter()?)).await
}

/// `GET /classes/{id}/evidence.zip`: a trainer only for their own classes.
pub async fn class(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let class = crate::services::classes::visible_class(&state.db, &user.caller(), id).await?;
    download(&state, Subject::Class(class)).await
}

/// `GET /recordings/{id}/evidence.zip`: a trainer only for the recordings they present.
pub async fn recording(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let recording = crate::services::recordings::visible(&state.db, &user.caller(), id).await?;
    download(&state, Subject::Recording(recording)).await
}

async fn download(state: &AppState, subject: Subject) -> Result<Response, AppError> {
    let key = checkpoint::key(&state.config).map_err(AppError::Internal)?;
    let pack = svc::build(&state.db, &key, &subject, &DESIGNATION_2025).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", pack.filename),
            ),
        ],
        pack.bytes,
    )
        .into_response())
}
