//! Signed checkpoints of the chain head (SPEC §6), after Certificate Transparency's
//! signed tree heads: the head's entry id and hash, and the time, signed with an Ed25519
//! key kept outside the database. Whoever holds a checkpoint can tell whether the ledger
//! still extends it: an unkeyed chain can be cut short or rewritten and re-hashed by
//! anyone who can write to the database, a signed head cannot be forged without the key.
//!
//! The document is plain text, one `name: value` per line; the signature covers every
//! byte before the `signature:` line:
//!
//! ```text
//! tsp-ledger ledger checkpoint
//! version: 1
//! entry: 2010
//! hash: 3f1c…(64 hex)
//! time: 2026-12-15T10:00:00Z
//! public-key: 9a0e…(64 hex, Ed25519)
//! signature: 51b2…(128 hex, Ed25519 over the lines above)
//! ```
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use entity::{ledger_checkpoints, ledger_entries, ledger_head};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder,
    QuerySelect,
};

use super::{GENESIS_HASH, Verification};
use crate::clock;

const TITLE: &str = "tsp-ledger ledger checkpoint";
const VERSION: &str = "1";
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A checkpoint: the chain head at a time, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The head's entry id: the number of entries the checkpoint covers (0: empty).
    pub entry_id: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// Signs the head `entry_id`/`hash` as of `at` (kept to the second).
    pub fn sign(key: &SigningKey, entry_id: i64, hash: &str, at: DateTime<Utc>) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            entry_id,
            hash: hash.to_string(),
            at: at.trunc_subsecs(0),
            public_key: key.verifying_key().to_bytes(),
            signature: [0; 64],
        };
        checkpoint.signature = key.sign(checkpoint.signed_part().as_bytes()).to_bytes();
        checkpoint
    }

    fn signed_part(&self) -> String {
        format!(
            "{TITLE}\nversion: {VERSION}\nentry: {}\nhash: {}\ntime: {}\npublic-key: {}\n",
            self.entry_id,
            self.hash,
            self.time(),
            hex::encode(self.public_key)
        )
    }

    pub fn time(&self) -> String {
        self.at.format(TIME_FORMAT).to_string()
    }

    /// The whole document, as written to a file and stored.
    pub fn document(&self) -> String {
        format!(
            "{}signature: {}\n",
            self.signed_part(),
            hex::encode(self.signature)
        )
    }

    /// Reads a document; any other shape is refused with what is wrong.
    pub fn parse(document: &str) -> Result<Checkpoint, String> {
        let mut lines = document.trim_end_matches('\n').split('\n');
        if lines.next().map(|l| l.trim_end_matches('\r')) != Some(TITLE) {
            return Err(format!(
                "not a checkpoint: the first line must be {TITLE:?}"
            ));
        }
        let mut field = |name: &str| -> Result<String, String> {
            let line = lines
                .next()
                .ok_or_else(|| format!("the {name:?} line is missing"))?
                .trim_end_matches('\r');
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
                .map(str::to_string)
                .ok_or_else(|| format!("expected the {name:?} line, found {line:?}"))
        };
        let version = field("version")?;
        if version != VERSION {
            return Err(format!("unknown checkpoint version {version:?}"));
        }
        let entry_id: i64 = field("entry")?
            .parse()
            .map_err(|_| "entry is not a number".to_string())?;
        let hash = field("hash")?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("hash is not 64 hex characters".into());
        }
        let at = NaiveDateTime::parse_from_str(&field("time")?, TIME_FORMAT)
            .map_err(|_| "time is not YYYY-MM-DDTHH:MM:SSZ".to_string())?
            .and_utc();
        let public_key = hex::decode(field("public-key")?)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or("public-key is not 64 hex characters")?;
        let signature = hex::decode(field("signature")?)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or("signature is not 128 hex characters")?;
        if lines.any(|l| !l.trim().is_empty()) {
            return Err("unexpected lines after the signature".into());
        }
        Ok(Checkpoint {
            entry_id,
            hash: hash.to_lowercase(),
            at,
            public_key,
            signature,
        })
    }

    /// The signature is this deployment's key's, over exactly these fields.
    pub fn check_signature(&self, trusted: &VerifyingKey) -> Result<(), String> {
        if self.public_key != trusted.to_bytes() {
            return Err(format!(
                "the checkpoint of {} is signed by another key ({}), not this ledger's ({})",
                self.time(),
                key_id(&self.public_key),
                key_id(&trusted.to_bytes())
            ));
        }
        trusted
            .verify(
                self.signed_part().as_bytes(),
                &Signature::from_bytes(&self.signature),
            )
            .map_err(|_| {
                format!(
                    "the checkpoint of {} has a bad signature: it was altered or forged",
                    self.time()
                )
            })
    }
}

/// A key's short name for messages: the first 16 hex characters of the public key.
pub fn key_id(public_key: &[u8; 32]) -> String {
    hex::encode(&public_key[..8])
}

/// The signing key from its 32-byte seed (the key file's contents).
pub fn signing_key(seed: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(seed)
}

/// Signs the current head and stores the checkpoint. It is not a ledger entry (that
/// would move the head it signs).
pub async fn write(
    db: &sea_orm::DatabaseConnection,
    key: &SigningKey,
) -> Result<ledger_checkpoints::Model, DbErr> {
    // A write like any other: it waits its turn, and the head it signs cannot move
    // between reading and storing.
    let tx = crate::db::begin_write(db).await?;
    let head = ledger_head::Entity::find_by_id(1)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(|| DbErr::Custom("ledger head row is missing".into()))?;
    let checkpoint = Checkpoint::sign(key, head.last_id, &head.last_hash, clock::now());
    let stored = ledger_checkpoints::ActiveModel {
        entry_id: Set(checkpoint.entry_id),
        hash: Set(checkpoint.hash.clone()),
        at: Set(checkpoint.at),
        public_key: Set(hex::encode(checkpoint.public_key)),
        document: Set(checkpoint.document()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    Ok(stored)
}

/// Whether the ledger (whose chain `chain` verified) still extends `checkpoint`: entry
/// `entry_id` is there with exactly the signed hash. With the chain valid from genesis
/// that proves every entry up to it. `Err` names what is missing or different.
pub async fn extends(
    db: &impl ConnectionTrait,
    chain: &Verification,
    checkpoint: &Checkpoint,
) -> Result<Result<(), String>, DbErr> {
    let n = checkpoint.entry_id;
    let when = checkpoint.time();
    if n == 0 {
        return Ok(if checkpoint.hash == GENESIS_HASH {
            Ok(())
        } else {
            Err(format!(
                "the checkpoint of {when} names entry 0 with a hash other than the genesis hash"
            ))
        });
    }
    let entry = ledger_entries::Entity::find_by_id(n).one(db).await?;
    let have = ledger_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .map_or(0, |h| h.last_id);
    Ok(match entry {
        None => Err(format!(
            "entry {n} is missing (the checkpoint of {when} covers {n} entries, the ledger has {have})"
        )),
        Some(e) if e.hash != checkpoint.hash => Err(format!(
            "entry {n} differs from the checkpoint of {when}: the ledger was rewritten at or before entry {n}"
        )),
        Some(_) => match &chain.first_broken {
            Some((id, _)) if *id <= n => Err(format!(
                "entry {id} does not verify, so the checkpoint of {when} (entry {n}) is not proven"
            )),
            _ => Ok(()),
        },
    })
}

/// One stored checkpoint, checked.
#[derive(Debug, Clone)]
pub struct Checked {
    pub stored: ledger_checkpoints::Model,
    /// `Ok` when signed by this ledger's key and extended by the ledger.
    pub outcome: Result<(), String>,
}

/// Every stored checkpoint, newest first.
pub async fn stored(db: &impl ConnectionTrait) -> Result<Vec<ledger_checkpoints::Model>, DbErr> {
    ledger_checkpoints::Entity::find()
        .order_by_desc(ledger_checkpoints::Column::Id)
        .all(db)
        .await
}

/// Checks a document against the trusted key and the ledger.
pub async fn check_document(
    db: &impl ConnectionTrait,
    chain: &Verification,
    trusted: &VerifyingKey,
    document: &str,
) -> Result<Result<(), String>, DbErr> {
    let checkpoint = match Checkpoint::parse(document) {
        Ok(c) => c,
        Err(e) => return Ok(Err(format!("the checkpoint cannot be read: {e}"))),
    };
    if let Err(e) = checkpoint.check_signature(trusted) {
        return Ok(Err(e));
    }
    extends(db, chain, &checkpoint).await
}

/// Every stored checkpoint checked against the ledger, newest first.
pub async fn check_stored(
    db: &impl ConnectionTrait,
    chain: &Verification,
    trusted: &VerifyingKey,
) -> Result<Vec<Checked>, DbErr> {
    let mut out = vec![];
    for stored in stored(db).await? {
        let outcome = check_document(db, chain, trusted, &stored.document).await?;
        out.push(Checked { stored, outcome });
    }
    Ok(out)
}

/// The checkpoint signing key (from its file, generated on first use).
pub fn key(config: &crate::config::Config) -> anyhow::Result<SigningKey> {
    let seed = config.load_or_create_checkpoint_seed()?;
    Ok(signing_key(&seed))
}

/// Writes a checkpoint when the newest stored one is older than `every` (or none is).
pub async fn write_if_due(
    db: &sea_orm::DatabaseConnection,
    key: &SigningKey,
    every: chrono::Duration,
) -> Result<Option<entity::ledger_checkpoints::Model>, sea_orm::DbErr> {
    let newest = stored(db).await?.into_iter().next();
    if newest.is_some_and(|c| clock::now() - c.at < every) {
        return Ok(None);
    }
    write(db, key).await.map(Some)
}

/// After a successful import (web or CLI): a checkpoint of the new head. The import has
/// committed already, so a failure here is logged, not reported as the import's.
pub async fn write_after_import(
    db: &sea_orm::DatabaseConnection,
    config: &crate::config::Config,
) -> Option<entity::ledger_checkpoints::Model> {
    let written = match key(config) {
        Ok(key) => write(db, &key).await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match written {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "writing the ledger checkpoint after an import failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (SigningKey, Checkpoint) {
        let key = signing_key(&[7; 32]);
        let at = DateTime::parse_from_rfc3339("2026-12-15T10:00:00.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let cp = Checkpoint::sign(&key, 2010, &"ab".repeat(32), at);
        (key, cp)
    }

    #[test]
    fn a_checkpoint_reads_back_and_verifies() {
        let (key, cp) = sample();
        let doc = cp.document();
        assert!(doc.starts_with("tsp-ledger ledger checkpoint\nversion: 1\nentry: 2010\n"));
        assert!(doc.contains("time: 2026-12-15T10:00:00Z\n"));
        let back = Checkpoint::parse(&doc).unwrap();
        assert_eq!(back, cp);
        back.check_signature(&key.verifying_key()).unwrap();
    }

    #[test]
    fn an_altered_or_foreign_checkpoint_is_refused() {
        let (key, cp) = sample();
        let doc = cp.document();
        for altered in [
            doc.replace("entry: 2010", "entry: 2000"),
            doc.replace(&"ab".repeat(32), &"cd".repeat(32)),
            doc.replace("10:00:00Z", "11:00:00Z"),
        ] {
            let parsed = Checkpoint::parse(&altered).unwrap();
            let err = parsed.check_signature(&key.verifying_key()).unwrap_err();
            assert!(err.contains("bad signature"), "{err}");
        }
        // Signed by someone else's key: refused even though the signature is sound.
        let other = signing_key(&[9; 32]);
        let forged = Checkpoint::sign(&other, 2010, &cp.hash, cp.at);
        let err = forged.check_signature(&key.verifying_key()).unwrap_err();
        assert!(err.contains("signed by another key"), "{err}");
        for bad in [
            "",
            "hello",
            &doc.replace("version: 1", "version: 9"),
            &format!("{doc}more\n"),
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
