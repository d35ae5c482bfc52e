//! The organisation's brand as e-mails and pages show it: its name (from the settings)
//! and its logo (`org_logo`). Read where it is used — when an e-mail is queued, when a
//! page is drawn — so a change shows everywhere at once, on every instance.
use entity::org_logo;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Statement};

/// The name shown when the organisation has not set one (as before there was a setting).
pub const APP_NAME: &str = "tsp-ledger";

/// The Content-ID of the logo inside an e-mail: the HTML part shows `cid:` this, and the
/// worker attaches the logo under it when it sends the message.
pub const LOGO_CID: &str = "logo@tsp-ledger";

/// What a page or an e-mail carries of the organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brand {
    /// The organisation's name; blank until an admin sets it.
    pub name: String,
    /// The logo's SHA-256 (hex) when one is set: its version in links.
    pub logo: Option<String>,
}

impl Brand {
    /// The name and whether a logo is set: one query, without the logo's bytes.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Brand, DbErr> {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT (SELECT organization_name FROM org_settings WHERE id = 1) AS name, \
                 (SELECT sha256 FROM org_logo WHERE id = 1) AS logo",
            ))
            .await?;
        let Some(row) = row else {
            return Ok(Brand::default());
        };
        Ok(Brand {
            name: row
                .try_get::<Option<String>>("", "name")?
                .unwrap_or_default(),
            logo: row.try_get("", "logo")?,
        })
    }

    /// The organisation's name, or the app's when none is set.
    pub fn shown_name(&self) -> &str {
        if self.name.is_empty() {
            APP_NAME
        } else {
            &self.name
        }
    }

    /// The logo's address on pages, versioned so a new logo shows at once.
    pub fn logo_url(&self) -> Option<String> {
        self.logo
            .as_ref()
            .map(|sha| format!("/brand/logo?v={}", &sha[..sha.len().min(16)]))
    }
}

/// The logo with its bytes, if one is set (for `/brand/logo` and the mail worker).
pub async fn logo(db: &impl ConnectionTrait) -> Result<Option<org_logo::Model>, DbErr> {
    org_logo::Entity::find_by_id(1).one(db).await
}
