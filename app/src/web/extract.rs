//! Extractors that state, in a handler's signature, who may call it.
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::domain::role::{Caller, Role};
use crate::web::error::AppError;

/// The signed-in user, put into the request by the session middleware.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub csrf: String,
    pub session_hash: String,
}

impl CurrentUser {
    pub fn caller(&self) -> Caller {
        Caller {
            id: self.id,
            role: self.role,
        }
    }
}

fn login_required(parts: &Parts) -> AppError {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    AppError::LoginRequired { next }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| login_required(parts))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}

/// A rule over roles; the marker types below name the groups SPEC §1 uses.
pub trait Permission: Send + Sync {
    fn allows(role: Role) -> bool;
}

/// Administrators only: users, settings, ledger.
pub struct AdminOnly;
/// Administrators and coordinators: changing records.
pub struct Editors;
/// Administrators, coordinators and viewers: reading records.
pub struct Readers;

impl Permission for AdminOnly {
    fn allows(role: Role) -> bool {
        role.may_administer()
    }
}
impl Permission for Editors {
    fn allows(role: Role) -> bool {
        role.may_edit_records()
    }
}
impl Permission for Readers {
    fn allows(role: Role) -> bool {
        role.may_read_records()
    }
}

/// A signed-in user whose role `P` allows; others get 403, anonymous users the sign-in page.
pub struct Authorized<P: Permission>(pub CurrentUser, PhantomData<P>);

pub type AdminUser = Authorized<AdminOnly>;
pub type EditorUser = Authorized<Editors>;
pub type ReaderUser = Authorized<Readers>;

impl<P: Permission> Deref for Authorized<P> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

impl<S: Send + Sync, P: Permission> FromRequestParts<S> for Authorized<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if P::allows(user.role) {
            Ok(Authorized(user, PhantomData))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Who is calling a JSON API route.
#[derive(Debug, Clone)]
pub enum ApiCaller {
    /// A signed-in user whose role may read records.
    Session(CurrentUser),
    /// An unrevoked API token (its id).
    Token(i64),
}

/// A reader of the JSON API: a signed-in session whose role may read records, or an
/// `Authorization: Bearer <secret>` naming an unrevoked API token. When the header is
/// sent it alone decides (a bad token is a 401 even with a session cookie); without it
/// the session decides, as for [`ReaderUser`] (a trainer gets 403).
///
/// Only handlers under `/api/` take this: the session middleware never reads the
/// header, so a token opens no page and passes no form's CSRF check.
pub struct ApiReader(pub ApiCaller);

/// The secret of an `Authorization: Bearer …` header; `Some(None)` for any other or
/// malformed `Authorization` header.
fn bearer_secret(parts: &Parts) -> Option<Option<String>> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let secret = value.to_str().ok().and_then(|v| {
        let (scheme, rest) = v.trim().split_once(' ')?;
        let secret = rest.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then(|| secret.to_string())
    });
    Some(secret)
}

/// A caller of the JSON API whose session role `P` allows, or any valid token.
async fn api_caller<P: Permission>(
    parts: &mut Parts,
    state: &crate::state::AppState,
) -> Result<ApiCaller, AppError> {
    match bearer_secret(parts) {
        Some(Some(secret)) => {
            match crate::services::api_tokens::authenticate(&state.db, &secret).await? {
                Some(token) => Ok(ApiCaller::Token(token.id)),
                None => Err(AppError::InvalidToken),
            }
        }
        Some(None) => Err(AppError::InvalidToken),
        None => {
            let Authorized(user, _) =
                <Authorized<P> as FromRequestParts<_>>::from_request_parts(parts, state).await?;
            Ok(ApiCaller::Session(user))
        }
    }
}

impl FromRequestParts<crate::state::AppState> for ApiReader {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ApiReader(api_caller::<Readers>(parts, state).await?))
    }
}

/// Every role: a trainer signed in reads the JSON API too, scoped to their own classes.
pub struct SignedIn;

impl Permission for SignedIn {
    fn allows(_: Role) -> bool {
        true
    }
}

/// A caller of the JSON API's class routes: any signed-in session (a trainer sees only
/// their own classes) or an unrevoked API token (every class).
pub struct ApiUser(pub ApiCaller);

impl FromRequestParts<crate::state::AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ApiUser(api_caller::<SignedIn>(parts, state).await?))
    }
}
