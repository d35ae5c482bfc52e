//! Use cases: each runs in one transaction and appends its ledger entries inside it.
pub mod accounts;
pub mod sign_in;

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
            ServiceError::Db(e) => AppError::Internal(e.into()),
            ServiceError::Other(e) => AppError::Internal(e),
        }
    }
}
