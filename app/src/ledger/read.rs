//! Reading the ledger as people do: who acted, by name; each change as
//! `field: before → after`; and the ledger page's filters (who, what, when), applied in
//! SQL under the page's keyset (entry id, newest first).
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use entity::ledger_entries;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Deserialize;

use crate::domain::fields::{FieldErrors, parse_optional_date, shown};

/// Who acted in each of `actors` (the ledger's `user:2`, `learner:7`, `cli`, `system`), as
/// a person reads it: an account by its name and e-mail (one query for them all), a
/// learner by enrollment only (the ledger never names learners), the command line, the
/// app itself. An actor not understood is shown as stored.
pub async fn actor_names<'a>(
    db: &impl ConnectionTrait,
    actors: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, DbErr> {
    let actors: Vec<&str> = actors.into_iter().collect();
    let mut user_ids: Vec<i64> = actors
        .iter()
        .filter_map(|a| a.strip_prefix("user:")?.parse().ok())
        .collect();
    user_ids.sort_unstable();
    user_ids.dedup();
    let users: HashMap<i64, entity::users::Model> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        entity::users::Entity::find()
            .filter(entity::users::Column::Id.is_in(user_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect()
    };
    Ok(actors
        .into_iter()
        .map(|raw| {
            let shown = match raw.split_once(':') {
                Some(("user", id)) => id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| users.get(&id))
                    .map_or_else(|| raw.to_string(), |u| format!("{} ({})", u.name, u.email)),
                Some(("learner", id)) => format!("a learner (enrollment {id})"),
                _ if raw == "cli" => "the command line (local operator)".to_string(),
                _ if raw == "system" => "the app itself".to_string(),
                _ => raw.to_string(),
            };
            (raw.to_string(), shown)
        })
        .collect())
}

/// A ledger entry's `{"field": {"before": …, "after": …}}` as lines a person reads:
/// `status: delivered → confirmed`, `learner_name changed`, `class_ref: C-1` (new).
pub fn describe_changes(changes: &str) -> Vec<String> {
    use serde_json::Value;
    let shown = |v: &Value| match v {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(changes) else {
        return vec![changes.to_string()];
    };
    fields
        .iter()
        .map(
            |(field, change)| match (change.get("before"), change.get("after")) {
                (Some(Value::Null), Some(after)) => format!("{field}: {}", shown(after)),
                (Some(before), Some(after)) => {
                    format!("{field}: {} → {}", shown(before), shown(after))
                }
                _ if change.get("changed").is_some() => format!("{field} changed"),
                _ => format!("{field}: {}", shown(change)),
            },
        )
        .collect()
}

/// The kinds of record the ledger names, for the page's filter (its ids are the
/// `entity_type` the services write). A kind added later can still be typed into the
/// address: [`FilterFields::parse`] takes any well-formed one.
pub const ENTITY_TYPES: &[(&str, &str)] = &[
    ("achievement_code", "Achievement code"),
    ("api_token", "API token"),
    ("class", "Class"),
    ("course", "Course"),
    ("enrollment", "Enrollment (roster line)"),
    ("exam_voucher", "Exam voucher purchase"),
    ("login", "Sign-in lock (client address)"),
    ("org_settings", "Settings"),
    ("outbox_message", "E-mail"),
    ("reconciliation_import", "Partner Center download imported"),
    ("reconciliation_mapping", "Partner Center column mapping"),
    ("recording", "Recording"),
    ("recording_consent", "Recording consent"),
    ("survey_invitation", "Survey invitation"),
    ("survey_response", "Survey response"),
    ("takedown", "Takedown"),
    ("takedown_notice", "Overdue-takedown notice"),
    ("trainer", "MCT"),
    ("user", "Account"),
];

/// Who acted, as the filter chooses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// An account (`user:<id>`).
    User(i64),
    /// A learner: one enrollment, or any.
    Learner(Option<i64>),
    /// The command line (`cli`).
    Cli,
    /// The app itself (`system`).
    System,
}

impl Who {
    /// The filter's value (`user:2`, `learner`, `learner:7`, `cli`, `system`).
    pub fn id(self) -> String {
        match self {
            Who::User(id) => format!("user:{id}"),
            Who::Learner(Some(id)) => format!("learner:{id}"),
            Who::Learner(None) => "learner".into(),
            Who::Cli => "cli".into(),
            Who::System => "system".into(),
        }
    }

    fn parse(raw: &str) -> Result<Who, String> {
        let number = |n: &str| n.parse::<i64>().ok().filter(|n| *n > 0);
        let who = match raw.split_once(':') {
            None => match raw {
                "cli" => Some(Who::Cli),
                "system" => Some(Who::System),
                "learner" => Some(Who::Learner(None)),
                _ => None,
            },
            Some(("user", n)) => number(n).map(Who::User),
            Some(("learner", n)) => number(n).map(|n| Who::Learner(Some(n))),
            Some(_) => None,
        };
        who.ok_or_else(|| {
            format!(
                "must be an account (user:<id>), a learner (learner or learner:<enrollment>), cli or system, not {}",
                shown(raw)
            )
        })
    }
}

/// What the ledger page and its CSV show: every field optional, all of them combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub who: Option<Who>,
    pub entity_type: Option<String>,
    /// With `entity_type`: that record and its parts (a class and its roster lines), as
    /// on the record's own History.
    pub entity_id: Option<String>,
    pub action: Option<String>,
    /// From this day (UTC), inclusive.
    pub from: Option<NaiveDate>,
    /// Up to this day (UTC), inclusive.
    pub to: Option<NaiveDate>,
}

/// The filter as typed into the page's form (and carried in its links).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FilterFields {
    pub who: String,
    pub entity: String,
    pub id: String,
    pub action: String,
    pub from: String,
    pub to: String,
}

/// An entity type or an action: a lowercase word of letters, digits and `_`.
fn parse_word(raw: &str) -> Result<Option<String>, String> {
    let word = raw.trim();
    if word.is_empty() {
        return Ok(None);
    }
    let well_formed = word.len() <= 64
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if well_formed {
        Ok(Some(word.to_string()))
    } else {
        Err(format!(
            "must be a word of lowercase letters, digits and _ (at most 64), not {}",
            shown(word)
        ))
    }
}

impl FilterFields {
    /// The filter, or a message per field that cannot be used (named by its field).
    pub fn parse(&self) -> Result<Filter, FieldErrors> {
        let mut e = FieldErrors::default();
        let who = match self.who.trim() {
            "" => None,
            raw => e.check("who", Who::parse(raw)),
        };
        let entity_type = e.check("entity", parse_word(&self.entity)).flatten();
        let id = self.id.trim();
        let entity_id = if id.is_empty() {
            None
        } else if id.chars().count() > 64 || id.chars().any(char::is_control) {
            e.add(
                "id",
                format!(
                    "must be a record id of at most 64 characters, not {}",
                    shown(id)
                ),
            );
            None
        } else if self.entity.trim().is_empty() {
            e.add(
                "id",
                "needs the kind of record it is (choose one under What)",
            );
            None
        } else {
            Some(id.to_string())
        };
        let action = e.check("action", parse_word(&self.action)).flatten();
        let from = e.check("from", parse_optional_date(&self.from)).flatten();
        let to = e.check("to", parse_optional_date(&self.to)).flatten();
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            e.add("to", format!("must be on or after the From date ({from})"));
        }
        if e.is_empty() {
            Ok(Filter {
                who,
                entity_type,
                entity_id,
                action,
                from,
                to,
            })
        } else {
            Err(e)
        }
    }

    /// The query string of these fields, blank ones left out (for the page's links).
    pub fn query_string(&self) -> String {
        let pairs = [
            ("who", &self.who),
            ("entity", &self.entity),
            ("id", &self.id),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| {
                let value: String = form_urlencoded::byte_serialize(v.trim().as_bytes()).collect();
                format!("{k}={value}")
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

impl Filter {
    fn condition(&self) -> Condition {
        use ledger_entries::Column;
        let mut all = Condition::all();
        if let Some(who) = self.who {
            all = all.add(match who {
                // Every `learner:<n>` (a prefix, not a range: PostgreSQL may compare text
                // by a locale's collation, which skips punctuation).
                Who::Learner(None) => Condition::all().add(Column::Actor.starts_with("learner:")),
                other => Condition::all().add(Column::Actor.eq(other.id())),
            });
        }
        if let Some(entity_type) = &self.entity_type {
            all = all.add(match &self.entity_id {
                Some(id) => Condition::any()
                    .add(
                        Condition::all()
                            .add(Column::EntityType.eq(entity_type.as_str()))
                            .add(Column::EntityId.eq(id.as_str())),
                    )
                    .add(Column::Parent.eq(format!("{entity_type}:{id}"))),
                None => Condition::all().add(Column::EntityType.eq(entity_type.as_str())),
            });
        }
        if let Some(action) = &self.action {
            all = all.add(Column::Action.eq(action.as_str()));
        }
        if let Some(from) = self.from {
            all = all.add(Column::At.gte(from.and_time(NaiveTime::MIN).and_utc()));
        }
        if let Some(to) = self.to.and_then(|d| d.succ_opt()) {
            all = all.add(Column::At.lt(to.and_time(NaiveTime::MIN).and_utc()));
        }
        all
    }
}

/// At most `limit` entries matching `filter` older than entry `before` (all when `None`),
/// newest first: one query, whatever the ledger's length.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &Filter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<ledger_entries::Model>, DbErr> {
    let mut query = ledger_entries::Entity::find()
        .filter(filter.condition())
        .order_by_desc(ledger_entries::Column::Id);
    if let Some(id) = before {
        query = query.filter(ledger_entries::Column::Id.lt(id));
    }
    query.limit(limit).all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_changes_read_as_before_and_after() {
        let lines = describe_changes(
            r#"{"status":{"before":"delivered","after":"confirmed"},"location":{"before":null,"after":"Room 4"},"learner_name":{"changed":true},"end_date":{"before":"2026-01-02","after":null}}"#,
        );
        assert_eq!(
            lines,
            // serde_json keeps object keys sorted.
            [
                "end_date: 2026-01-02 → —",
                "learner_name changed",
                "location: Room 4",
                "status: delivered → confirmed",
            ]
        );
        assert_eq!(describe_changes("not json"), ["not json"]);
    }

    fn fields(pairs: &[(&str, &str)]) -> FilterFields {
        let mut f = FilterFields::default();
        for (k, v) in pairs {
            let v = v.to_string();
            match *k {
                "who" => f.who = v,
                "entity" => f.entity = v,
                "id" => f.id = v,
                "action" => f.action = v,
                "from" => f.from = v,
                "to" => f.to = v,
                _ => unreachable!(),
            }
        }
        f
    }

    #[test]
    fn ledger_filters_parse_every_field_and_name_the_bad_ones() {
        let f = fields(&[
            ("who", "user:2"),
            ("entity", "class"),
            ("id", "42"),
            ("action", "update"),
            ("from", "2026-01-01"),
            ("to", "2026-01-31"),
        ])
        .parse()
        .unwrap();
        assert_eq!(f.who, Some(Who::User(2)));
        assert_eq!(f.entity_id.as_deref(), Some("42"));
        for (raw, who) in [
            ("cli", Who::Cli),
            ("system", Who::System),
            ("learner", Who::Learner(None)),
            ("learner:7", Who::Learner(Some(7))),
        ] {
            assert_eq!(fields(&[("who", raw)]).parse().unwrap().who, Some(who));
            assert_eq!(who.id(), raw);
        }
        assert_eq!(FilterFields::default().parse().unwrap(), Filter::default());
        for (pairs, field) in [
            (&[("who", "user:x")][..], "who"),
            (&[("who", "admin")][..], "who"),
            (&[("who", "user:0")][..], "who"),
            (&[("entity", "Class; DROP")][..], "entity"),
            (&[("id", "42")][..], "id"),
            (&[("action", "UPDATE")][..], "action"),
            (&[("from", "2026-13-01")][..], "from"),
            (&[("to", "yesterday")][..], "to"),
            (&[("from", "2026-02-01"), ("to", "2026-01-01")][..], "to"),
        ] {
            let errors = fields(pairs).parse().unwrap_err();
            assert!(errors.get(field).is_some(), "{pairs:?}: {errors:?}");
            assert_eq!(errors.0.len(), 1, "{pairs:?}: {errors:?}");
        }
    }

    #[test]
    fn ledger_filter_links_keep_every_field_and_leave_out_blank_ones() {
        let f = fields(&[("who", "user:2"), ("action", "a b"), ("to", " 2026-01-31 ")]);
        assert_eq!(f.query_string(), "who=user%3A2&action=a+b&to=2026-01-31");
        assert_eq!(FilterFields::default().query_string(), "");
    }
}
