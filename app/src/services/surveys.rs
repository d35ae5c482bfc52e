//! Surveys: invitations by token, responses, reminders, MTM results (SPEC §2).
use sea_orm::ConnectionTrait;

use super::{Outcome, ServiceError};
use crate::ledger::{Actor, Chain};

/// One `survey-responses` CSV row: `(column, value)` in the order of `Kind::columns()`. Returns what
/// the row did (the summary counts it), or the field it is wrong in.
pub(crate) async fn import_response_row(
    _tx: &impl ConnectionTrait,
    _chain: &mut Chain,
    _actor: &Actor,
    _row: &[(&str, String)],
) -> Result<Outcome<()>, ServiceError> {
    Err(ServiceError::Refused(
        "survey-responses imports are not available yet".into(),
    ))
}
