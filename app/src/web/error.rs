//! One error type for every handler: rendered as a styled page (or JSON under /api).
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::db::StorageFault;
use crate::services::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    LoginRequired { next: String },
    /// An `Authorization` header that names no live API token (unknown, revoked, malformed).
    #[error("invalid API token")]
    InvalidToken,
    #[error("{0}")]
    BadRequest(String),
    #[error("the form has expired or did not come from this site")]
    Csrf,
    #[error("{0}")]
    Conflict(String),
    /// A request body over the configured limit (`server.max_body_bytes` or
    /// `server.max_upload_bytes`).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// An error answer made outside our handlers (a framework rejection such as a
    /// malformed query, `405`, a timeout), given the site's page: its status and text.
    #[error("{1}")]
    Plain(StatusCode, String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
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

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: crate::web::page::Page,
    status: u16,
    heading: &'a str,
    message: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::InvalidToken => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Plain(status, _) => *status,
            AppError::Internal(_) if self.storage_fault().is_some() => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A full, read-only or busy database behind an internal error.
    pub fn storage_fault(&self) -> Option<StorageFault> {
        match self {
            AppError::Internal(e) => StorageFault::in_chain(e),
            _ => None,
        }
    }

    /// Internal errors go to the log (with the cause a person cannot see).
    pub fn log(&self) {
        if let AppError::Internal(e) = self {
            match self.storage_fault() {
                Some(fault @ StorageFault::Busy) => tracing::warn!(
                    error = ?e,
                    "request refused, nothing was saved: {}",
                    fault.describe()
                ),
                Some(fault) => tracing::error!(
                    error = ?e,
                    "request refused, nothing was saved: {}",
                    fault.describe()
                ),
                None => tracing::error!(error = ?e, "request failed"),
            }
        }
    }

    fn heading_and_message(&self) -> (&'static str, String) {
        match self.storage_fault() {
            Some(StorageFault::Full) => return ("The database is full", "Nothing was saved: the disk that holds the database has no space left. Tell your administrator (the error is in the server log); once space has been freed, go back and send the form again.".into()),
            Some(StorageFault::ReadOnly) => return ("The database is read-only", "Nothing was saved: the database can be read but not written at the moment. Pages can still be viewed. Tell your administrator (the error is in the server log); once writing is allowed again, go back and send the form again.".into()),
            Some(StorageFault::Busy) => return ("The database is busy", "Nothing was saved: another change (a large import, perhaps) was being written, and this one could not wait any longer for its turn. Go back and send the form again in a minute; what you typed is still in the form.".into()),
            None => {}
        }
        match self {
            AppError::NotFound => ("Page not found", "There is nothing at this address, or it is not yours to see.".into()),
            AppError::Forbidden => ("Not allowed", "Your role does not give access to this page. Ask an administrator if you need it.".into()),
            AppError::Csrf => ("Form expired", "This form has expired or was not sent from tsp-ledger. Go back, reload the page and try again.".into()),
            AppError::BadRequest(m) => ("Cannot do that", m.clone()),
            AppError::Conflict(m) => ("Conflict", m.clone()),
            AppError::PayloadTooLarge(m) => ("Too large", m.clone()),
            AppError::Plain(status, m) => {
                let heading = match *status {
                    StatusCode::NOT_FOUND => "Page not found",
                    StatusCode::UNAUTHORIZED => "Sign-in required",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::METHOD_NOT_ALLOWED => "Not available at this address",
                    StatusCode::REQUEST_TIMEOUT => "That took too long",
                    StatusCode::PAYLOAD_TOO_LARGE => "Too large",
                    s if s.is_server_error() => "Something went wrong",
                    _ => "Cannot do that",
                };
                (heading, m.clone())
            }
            AppError::LoginRequired { .. } => ("Sign-in required", "Sign in, or send an API token as `Authorization: Bearer <token>`.".into()),
            AppError::InvalidToken => ("Invalid API token", "The bearer token is unknown or has been revoked. Ask an administrator for a new one.".into()),
            AppError::Internal(_) => ("Something went wrong", "The error has been logged. Please try again; if it persists, tell your administrator.".into()),
        }
    }

    /// A page for the error, in the site's layout.
    pub fn render_page(&self, mut page: crate::web::page::Page) -> Response {
        let status = self.status();
        let (heading, message) = self.heading_and_message();
        page.title = heading.to_string();
        page.flash = None;
        let body = ErrorPage {
            page,
            status: status.as_u16(),
            heading,
            message,
        }
        .render()
        .unwrap_or_else(|_| format!("<h1>{heading}</h1>"));
        self.with_retry_after((status, Html(body)).into_response())
    }

    /// A busy database tells clients when to come back (RFC 9110 §10.2.3).
    fn with_retry_after(&self, mut response: Response) -> Response {
        if self.storage_fault() == Some(StorageFault::Busy) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
        }
        response
    }

    pub fn json(&self) -> Response {
        let (heading, message) = self.heading_and_message();
        let body = serde_json::json!({"error": heading, "message": message});
        // An API client is not sent to a sign-in page: it is told it is not signed in.
        let status = match self {
            AppError::LoginRequired { .. } => StatusCode::UNAUTHORIZED,
            _ => self.status(),
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        // RFC 6750 §3: a 401 names the scheme the client may authenticate with.
        let challenge = match self {
            AppError::LoginRequired { .. } => Some(r#"Bearer realm="tsp-ledger""#),
            AppError::InvalidToken => Some(r#"Bearer realm="tsp-ledger", error="invalid_token""#),
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(challenge),
            );
        }
        self.with_retry_after(response)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        match &self {
            AppError::LoginRequired { next } if !next.starts_with("/api/") => {
                let target = format!("/login?next={}", crate::web::page::url_encode(next));
                Redirect::to(&target).into_response()
            }
            _ => {
                let mut response = self.status().into_response();
                response
                    .extensions_mut()
                    .insert(ErrorMarker(std::sync::Arc::new(self)));
                response
            }
        }
    }
}

/// Carries the error to the outer layer, which renders HTML or JSON by path.
#[derive(Clone)]
pub struct ErrorMarker(pub std::sync::Arc<AppError>);
