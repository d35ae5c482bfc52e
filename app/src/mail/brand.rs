//! The organisation's brand as e-mails and pages show it: its name (from the settings)
//! and its logo (`org_logo`). Read where it is used — when an e-mail is queued, when a
//! page is drawn (page headers keep it for two seconds, [`BrandCache`]) — so a change
//! shows everywhere, on every instance.
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

/// The brand as page headers show it, kept for [`BrandCache::FRESH_FOR`]: a page view then
/// costs no query for it (the class list's repeat view is one read of the session and one
/// of the table versions). This instance forgets it when an admin changes the name or the
/// logo here; another instance shows the change within `FRESH_FOR`. E-mails never use it:
/// they read the brand in the transaction that queues them.
#[derive(Default)]
pub struct BrandCache {
    kept: std::sync::Mutex<Option<(std::time::Instant, Brand)>>,
}

impl BrandCache {
    pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(2);

    pub async fn get(&self, db: &impl ConnectionTrait) -> Result<Brand, DbErr> {
        if let Some((at, brand)) = self.kept.lock().expect("brand cache").as_ref()
            && at.elapsed() < Self::FRESH_FOR
        {
            return Ok(brand.clone());
        }
        let brand = Brand::load(db).await?;
        *self.kept.lock().expect("brand cache") = Some((std::time::Instant::now(), brand.clone()));
        Ok(brand)
    }

    /// After this instance changed the name or the logo: the next page reads them anew.
    pub fn forget(&self) {
        *self.kept.lock().expect("brand cache") = None;
    }
}
