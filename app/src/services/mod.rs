//! Use cases: each runs in one transaction and appends its ledger entries inside it.
pub mod accounts;
pub mod api_tokens;
pub mod calendar;
pub mod classes;
pub mod codes;
pub mod courses;
pub mod courseware;
pub mod demo;
pub mod erasure;
pub mod evidence;
pub mod exports;
pub mod forecast;
pub mod home;
pub mod imports;
mod keyed;
pub mod kpi;
pub mod kpi_aggregates;
pub mod kpi_lines;
pub mod learners;
pub mod learning_partner;
pub mod outbox;
pub mod password_resets;
pub mod pickers;
pub mod quality;
pub mod reconciliation;
pub mod recordings;
pub mod retention;
pub mod rosters;
pub mod schedule;
pub mod settings;
pub mod sign_in;
pub mod surveys;
pub mod takedowns;
pub mod todo;
pub mod trainers;
pub mod versions;
pub mod vouchers;

#[cfg(test)]
mod form_properties;

use sea_orm::{DatabaseConnection, DbErr};

use crate::auth::password::PasswordHasher;
use crate::auth::session::SessionPolicy;
use crate::auth::throttle::Throttles;
use crate::config::Config;
use sea_orm::sea_query::LikeExpr;

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

/// What the account use cases (sign-in, password changes and resets) need of the running
/// app; the web's state and the CLI hand it out, so services never see the web layer.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub db: &'a DatabaseConnection,
    pub config: &'a Config,
    pub hasher: &'a PasswordHasher,
    pub sessions: &'a SessionPolicy,
    pub throttles: &'a Throttles,
}

impl Context<'_> {
    /// An absolute link into the app, for e-mails.
    pub fn link(&self, path: &str) -> String {
        self.config.server.link(path)
    }
}

impl ServiceError {
    pub fn field(field: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Field {
            field,
            message: message.into(),
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

/// Rows per multi-row statement of a bulk write ([`insert_returning_by`], issuing codes,
/// reminders, an import's new rows): tables of up to 20 columns stay far below every
/// backend's limit on bound parameters.
pub(crate) const ROWS_PER_STATEMENT: usize = 128;

/// Inserts `rows` a multi-row statement at a time (a use case for a class of 100 000
/// learners writes 100 000 rows) and returns the inserted models by `key`, which must be
/// unique among them: RETURNING does not promise the input order.
pub(crate) async fn insert_returning_by<A, K>(
    tx: &impl sea_orm::ConnectionTrait,
    rows: Vec<A>,
    key: impl Fn(&<A::Entity as sea_orm::EntityTrait>::Model) -> K,
) -> Result<std::collections::HashMap<K, <A::Entity as sea_orm::EntityTrait>::Model>, DbErr>
where
    A: sea_orm::ActiveModelTrait + Clone,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    K: Eq + std::hash::Hash,
{
    use sea_orm::EntityTrait;
    let mut inserted = std::collections::HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        for model in A::Entity::insert_many(chunk.iter().cloned())
            .exec_with_returning(tx)
            .await?
        {
            inserted.insert(key(&model), model);
        }
    }
    Ok(inserted)
}

/// The model inserted under `key` by [`insert_returning_by`].
pub(crate) fn inserted<'a, K: Eq + std::hash::Hash, M>(
    by_key: &'a std::collections::HashMap<K, M>,
    key: &K,
) -> Result<&'a M, ServiceError> {
    by_key
        .get(key)
        .ok_or_else(|| ServiceError::Other(anyhow::anyhow!("an inserted row was not returned")))
}

/// The end of every entity's write: records `entry` with the changes from `before` (the
/// snapshot of the row as it was; `None` for a new row) to `after` (the row as written),
/// and says whether the write created or updated it.
pub(crate) async fn record_write<M>(
    tx: &crate::ledger::Recorder,
    actor: &crate::ledger::Actor,
    entry: crate::ledger::Entry,
    before: Option<serde_json::Value>,
    after: &serde_json::Value,
    model: M,
) -> Result<Outcome<M>, sea_orm::DbErr> {
    let changes = crate::ledger::diff(
        before.as_ref().unwrap_or(&serde_json::json!({})),
        after,
        &[],
    );
    tx.record_as(actor, entry.changes(changes)).await?;
    Ok(match before {
        Some(_) => Outcome::Updated(model),
        None => Outcome::Created(model),
    })
}

/// A free-text search: lower-cased, with LIKE's wildcards escaped so that `_` and `%`
/// (allowed in codes and refs) match themselves. `None` for a blank search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Lower-cased, trimmed.
    text: String,
    /// `text` with `\\`, `%` and `_` escaped by `\\`.
    escaped: String,
}

impl Search {
    pub fn parse(raw: &str) -> Option<Search> {
        let text = raw.trim().to_lowercase();
        if text.is_empty() {
            return None;
        }
        let mut escaped = String::with_capacity(text.len() + 4);
        for c in text.chars() {
            if matches!(c, '%' | '_' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        Some(Search { text, escaped })
    }

    /// Matches text containing the search (compare with a lower-cased column).
    pub fn contains(&self) -> LikeExpr {
        LikeExpr::new(format!("%{}%", self.escaped)).escape('\\')
    }

    /// The half-open range `[from, to)` of upper-cased identifiers (class refs: ASCII
    /// letters, digits and `- _ . /`, all below DEL) that start with the search, in byte
    /// order. A range, unlike `LIKE 'X%'`, is read straight off the unique index.
    pub fn upper_prefix_range(&self) -> (String, String) {
        let from = self.text.to_uppercase();
        let to = format!("{from}\u{7f}");
        (from, to)
    }
}

/// `lower(column) LIKE pattern`: case-insensitive on SQLite and PostgreSQL alike.
pub fn lower_like(
    column: impl sea_orm::sea_query::IntoColumnRef,
    pattern: LikeExpr,
) -> sea_orm::sea_query::Expr {
    use sea_orm::ExprTrait;
    use sea_orm::sea_query::{Expr, Func};
    Expr::expr(Func::lower(Expr::col(column))).like(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_escape_like_wildcards_so_they_match_themselves() {
        assert_eq!(Search::parse("  "), None);
        let search = Search::parse(" AZ_104 50%\\ ").unwrap();
        assert_eq!(search.escaped, "az\\_104 50\\%\\\\");
        assert_eq!(
            format!("{:?}", search.contains()),
            format!("{:?}", LikeExpr::new("%az\\_104 50\\%\\\\%").escape('\\'))
        );
        let (from, to) = Search::parse("c-2026").unwrap().upper_prefix_range();
        for inside in ["C-2026", "C-2026-0142", "C-2026_9", "C-2026Z"] {
            assert!(from.as_str() <= inside && inside < to.as_str(), "{inside}");
        }
        for outside in ["C-2025-0001", "C-2027", "C-202", "D-2026"] {
            assert!(
                !(from.as_str() <= outside && outside < to.as_str()),
                "{outside}"
            );
        }
    }
}
