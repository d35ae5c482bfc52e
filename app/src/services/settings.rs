//! Organisation-wide settings (SPEC §1: admins edit them): the organisation's name and
//! the designation anniversary that places the renewal window (SPEC §4), and the
//! organisation's logo (shown with the name on pages and in e-mails: `mail::brand`), and
//! which rules profiles the dashboard shows (issue 17 item 3).
use entity::{org_logo, org_settings};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Outcome, ServiceError};
use crate::clock;
use crate::db::begin_write;
use crate::domain::brand::check_logo;
use crate::domain::fields::{FieldErrors, parse_optional_text};
use crate::domain::kpi::parse_anniversary;
use crate::domain::learning_partner::DashboardProfiles;
use crate::ledger::{self, Actor, Entry, Recorder, diff};

/// The ledger's name for the settings row.
pub const ENTITY: &str = "org_settings";
const ROW_ID: i64 = 1;

/// The settings in force; a new installation has no name and no anniversary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSettings {
    pub organization_name: String,
    /// Month and day.
    pub anniversary: Option<(u32, u32)>,
    /// The org/location ID Microsoft knows the partner by (support cases name it).
    pub partner_location_id: String,
    /// The 2025 designation, the Learning Partner program, or both.
    pub dashboard_profiles: DashboardProfiles,
}

/// The settings form (month and day as typed; both blank clears the anniversary).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsFields {
    pub organization_name: String,
    pub anniversary_month: String,
    pub anniversary_day: String,
    pub partner_location_id: String,
    /// Blank: the 2025 designation only (the default).
    pub dashboard_profiles: String,
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
        let partner_location_id = e
            .check(
                "partner_location_id",
                parse_optional_text(&self.partner_location_id, 60),
            )
            .flatten()
            .unwrap_or_default();
        let dashboard_profiles = match self.dashboard_profiles.trim() {
            "" => Some(DashboardProfiles::default()),
            raw => e.check("dashboard_profiles", raw.parse()),
        };
        if let (true, Some(dashboard_profiles)) = (e.is_empty(), dashboard_profiles) {
            Ok(OrgSettings {
                organization_name,
                anniversary,
                partner_location_id,
                dashboard_profiles,
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
            partner_location_id: s.partner_location_id.clone(),
            dashboard_profiles: s.dashboard_profiles.id().to_string(),
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
        partner_location_id: row.partner_location_id,
        dashboard_profiles: row.dashboard_profiles,
    }
}

fn snapshot(s: &OrgSettings) -> Value {
    json!({
        "organization_name": s.organization_name,
        "anniversary": s.anniversary.map(|(m, d)| format!("{m:02}-{d:02}")),
        "partner_location_id": s.partner_location_id,
        "dashboard_profiles": s.dashboard_profiles,
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
        partner_location_id: Set(new.partner_location_id.clone()),
        dashboard_profiles: Set(new.dashboard_profiles),
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

/// What the ledger keeps of a logo: its format, size and hash, never its bytes.
fn logo_summary(logo: &org_logo::Model) -> String {
    format!(
        "{}, {} KB, sha256 {}",
        logo.content_type.label(),
        logo.bytes.len().div_ceil(1024),
        &logo.sha256[..logo.sha256.len().min(12)]
    )
}

/// Sets the organisation's logo: `bytes` must be a PNG or JPEG of at most 256 KB, told by
/// its content ([`check_logo`]; a refusal is a `logo` field error and changes nothing).
/// The same file again changes nothing; a change is a ledger entry with the old and new
/// logo's format, size and hash.
pub async fn set_logo(
    db: &DatabaseConnection,
    actor: &Actor,
    bytes: Vec<u8>,
) -> Result<Outcome<()>, ServiceError> {
    let format = check_logo(&bytes).map_err(|m| ServiceError::field("logo", m))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let tx = Recorder::begin(db, actor).await?;
    let old = org_logo::Entity::find_by_id(ROW_ID).one(&tx).await?;
    if old.as_ref().is_some_and(|o| o.sha256 == sha256) {
        return Ok(Outcome::Unchanged(()));
    }
    let new = org_logo::Model {
        id: ROW_ID,
        content_type: format,
        sha256,
        bytes,
        updated_at: clock::now(),
    };
    let after = json!({"logo": logo_summary(&new)});
    let before = json!({"logo": old.as_ref().map(logo_summary)});
    let model = org_logo::ActiveModel::from(new).reset_all();
    if old.is_some() {
        model.update(&tx).await?;
    } else {
        model.insert(&tx).await?;
    }
    tx.record(Entry::new(ENTITY, ROW_ID, "update").changes(diff(&before, &after, &[])))
        .await?;
    tx.commit().await?;
    Ok(if old.is_some() {
        Outcome::Updated(())
    } else {
        Outcome::Created(())
    })
}

/// Removes the organisation's logo (pages and e-mails show the name alone again); with
/// no logo set it changes nothing.
pub async fn remove_logo(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Outcome<()>, ServiceError> {
    let tx = Recorder::begin(db, actor).await?;
    let Some(old) = org_logo::Entity::find_by_id(ROW_ID).one(&tx).await? else {
        return Ok(Outcome::Unchanged(()));
    };
    org_logo::Entity::delete_by_id(ROW_ID).exec(&tx).await?;
    let before = json!({"logo": logo_summary(&old)});
    tx.record(Entry::new(ENTITY, ROW_ID, "update").changes(diff(
        &before,
        &json!({"logo": null}),
        &[],
    )))
    .await?;
    tx.commit().await?;
    Ok(Outcome::Updated(()))
}
