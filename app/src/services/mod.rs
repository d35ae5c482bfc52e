//! Use cases: each runs in one transaction and appends its ledger entries inside it.
pub mod accounts;
pub mod classes;
pub mod courses;
pub mod exports;
pub mod imports;
pub mod rosters;
pub mod sign_in;
pub mod trainers;

use sea_orm::DbErr;

/// What a use case can refuse, in words a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input for one field (re-render the form with the message next to it).
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    /// The role may not do this at all.
    #[error("forbidden")]
    Forbidden,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn field(field: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for crate::error::AppError {
    fn from(e: ServiceError) -> Self {
        use crate::error::AppError;
        match e {
            ServiceError::Field { .. } | ServiceError::Refused(_) => {
                AppError::BadRequest(e.to_string())
            }
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Forbidden => AppError::Forbidden,
            ServiceError::Db(e) => AppError::Internal(e.into()),
            ServiceError::Other(e) => AppError::Internal(e),
        }
    }
}

/// What a write did to one record (imports count these).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<M> {
    Created(M),
    Updated(M),
    Unchanged(M),
}

impl<M> Outcome<M> {
    pub fn into_model(self) -> M {
        match self {
            Outcome::Created(m) | Outcome::Updated(m) | Outcome::Unchanged(m) => m,
        }
    }

    pub fn model(&self) -> &M {
        match self {
            Outcome::Created(m) | Outcome::Updated(m) | Outcome::Unchanged(m) => m,
        }
    }
}

/// `%text%` lower-cased with LIKE's wildcards escaped away, or none for a blank search.
pub fn like_pattern(search: &str) -> Option<String> {
    let search = search.trim().to_lowercase();
    if search.is_empty() {
        return None;
    }
    let cleaned: String = search
        .chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect();
    Some(format!("%{cleaned}%"))
}

/// `lower(column) LIKE pattern`: case-insensitive on SQLite and PostgreSQL alike.
pub fn lower_like(
    column: impl sea_orm::sea_query::IntoColumnRef,
    pattern: &str,
) -> sea_orm::sea_query::Expr {
    use sea_orm::ExprTrait;
    use sea_orm::sea_query::{Expr, Func};
    Expr::expr(Func::lower(Expr::col(column))).like(pattern)
}
