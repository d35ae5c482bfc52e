//! Organisation-wide settings (SPEC §1: admins edit them): the organisation's name and
//! the designation anniversary that places the renewal window (SPEC §4).
use entity::org_settings;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Outcome, ServiceError};
use crate::clock;
use crate::db::begin_write;
use crate::domain::fields::{FieldErrors, parse_optional_text};
use crate::domain::kpi::parse_anniversary;
use crate::ledger::{self, Actor, Entry, diff};

/// The ledger's name for the settings row.
pub const ENTITY: &str = "org_settings";
const ROW_ID: i64 = 1;

/// The settings in force; a new installation has no name and no anniversary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSettings {
    pub organization_name: String,
    /// Month and day.
    pub anniversary: Option<(u32, u32)>,
}

/// The settings form (month and day as typed; both blank clears the anniversary).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsFields {
    pub organization_name: String,
    pub anniversary_month: String,
    pub anniversary_day: String,
}

impl SettingsFields {
    pub fn parse(&self) -> Result<OrgSettings, FieldErrors> {
        let mut e = FieldErrors::default();
        let organization_name = e
            .check(
                "organization_name",
                parse_optional_text(&self.organization_name, 120),
            )
            .flatten()
            .unwrap_or_default();
        let blank =
            self.anniversary_month.trim().is_empty() && self.anniversary_day.trim().is_empty();
        let anniversary = if blank {
            None
        } else {
            match parse_anniversary(&self.anniversary_month, &self.anniversary_day) {
                Ok(a) => Some(a),
                Err((field, message)) => {
                    e.add(field, message);
                    None
                }
            }
        };
        if e.is_empty() {
            Ok(OrgSettings {
                organization_name,
                anniversary,
            })
        } else {
            Err(e)
        }
    }

    pub fn of(s: &OrgSettings) -> SettingsFields {
        SettingsFields {
            organization_name: s.organization_name.clone(),
            anniversary_month: s.anniversary.map(|a| a.0.to_string()).unwrap_or_default(),
            anniversary_day: s.anniversary.map(|a| a.1.to_string()).unwrap_or_default(),
        }
    }
}

fn from_row(row: Option<org_settings::Model>) -> OrgSettings {
    let Some(row) = row else {
        return OrgSettings::default();
    };
    let anniversary = match (row.anniversary_month, row.anniversary_day) {
        (Some(m), Some(d)) => Some((m as u32, d as u32)),
        _ => None,
    };
    OrgSettings {
        organization_name: row.organization_name,
        anniversary,
    }
}

fn snapshot(s: &OrgSettings) -> Value {
    json!({
        "organization_name": s.organization_name,
        "anniversary": s.anniversary.map(|(m, d)| format!("{m:02}-{d:02}")),
    })
}

pub async fn get(db: &impl ConnectionTrait) -> Result<OrgSettings, ServiceError> {
    Ok(from_row(
        org_settings::Entity::find_by_id(ROW_ID).one(db).await?,
    ))
}

/// Saves `new` and records what changed; saving the same values changes nothing.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    new: &OrgSettings,
) -> Result<Outcome<OrgSettings>, ServiceError> {
    let tx = begin_write(db).await?;
    let row = org_settings::Entity::find_by_id(ROW_ID).one(&tx).await?;
    let exists = row.is_some();
    let old = from_row(row);
    if exists && old == *new {
        return Ok(Outcome::Unchanged(old));
    }
    let model = org_settings::ActiveModel {
        id: Set(ROW_ID),
        organization_name: Set(new.organization_name.clone()),
        anniversary_month: Set(new.anniversary.map(|a| a.0 as i16)),
        anniversary_day: Set(new.anniversary.map(|a| a.1 as i16)),
        updated_at: Set(clock::now()),
    };
    if exists {
        model.update(&tx).await?;
    } else {
        model.insert(&tx).await?;
    }
    let changes = diff(&snapshot(&old), &snapshot(new), &[]);
    ledger::append(
        &tx,
        actor,
        Entry::new(ENTITY, ROW_ID, "update").changes(changes),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Updated(new.clone()))
}
