//! Achievement codes: the pool, issuing to attending learners, redemption (SPEC §2).
use sea_orm::ConnectionTrait;

use super::{Outcome, ServiceError};
use crate::ledger::{Actor, Chain};

/// One `code-pool` CSV row: `(column, value)` in the order of `Kind::columns()`. Returns what
/// the row did (the summary counts it), or the field it is wrong in.
pub(crate) async fn import_pool_row(
    _tx: &impl ConnectionTrait,
    _chain: &mut Chain,
    _actor: &Actor,
    _row: &[(&str, String)],
) -> Result<Outcome<()>, ServiceError> {
    Err(ServiceError::Refused(
        "code-pool imports are not available yet".into(),
    ))
}

/// One `codes` CSV row: `(column, value)` in the order of `Kind::columns()`. Returns what
/// the row did (the summary counts it), or the field it is wrong in.
pub(crate) async fn import_code_row(
    _tx: &impl ConnectionTrait,
    _chain: &mut Chain,
    _actor: &Actor,
    _row: &[(&str, String)],
) -> Result<Outcome<()>, ServiceError> {
    Err(ServiceError::Refused(
        "codes imports are not available yet".into(),
    ))
}
