//! Evidence packs (issue 17 item 5): one ZIP holding a subject's line items, the run of
//! ledger entries behind them up to a signed checkpoint, and that checkpoint, so that a
//! third party checks it with `tsp-ledger ledger verify --pack FILE` alone — no database,
//! no configuration. Writing and checking are pure over bytes; the service gathers.
//!
//! The files:
//!
//! - `README.txt` — what the pack is and how to check it;
//! - `manifest.json` — the subject, when the pack was made, the SHA-256 of every other
//!   file, the slice's first and last entry, and the ids of the entries behind the subject;
//! - `manifest.sig` — an Ed25519 signature of the manifest by the checkpoint's key (the
//!   line items are tied to the partner's key through the manifest's hashes);
//! - `line-items.csv` — the subject's lines;
//! - `ledger.jsonl` — one entry a line with every field its hash covers, `behind` marking
//!   the entries behind the subject (the others only link them to the checkpoint);
//! - `checkpoint.txt` — the signed checkpoint document, whose head ends the slice.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write};

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use entity::ledger_entries;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::checkpoint::{Checkpoint, key_id};
use super::{GENESIS_HASH, entry_hash, format_at};

pub const FORMAT: &str = "tsp-ledger evidence pack";
pub const VERSION: u32 = 1;
pub const README: &str = "README.txt";
pub const MANIFEST: &str = "manifest.json";
pub const MANIFEST_SIGNATURE: &str = "manifest.sig";
pub const LINE_ITEMS: &str = "line-items.csv";
pub const LEDGER: &str = "ledger.jsonl";
pub const CHECKPOINT: &str = "checkpoint.txt";

/// What the manifest's signature covers before the manifest's bytes: a checkpoint's
/// signed text starts otherwise, so neither can pass for the other.
const SIGNING_CONTEXT: &[u8] = b"tsp-ledger evidence pack manifest\n";

/// A file larger than this (uncompressed) is refused when reading a pack.
const MAX_FILE: u64 = 2 << 30;

/// One ledger entry as the pack carries it: every field its hash covers, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackEntry {
    pub id: i64,
    /// As hashed: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub at: String,
    pub actor: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    /// The stored JSON text, byte for byte (the hash covers the text).
    pub changes: String,
    /// Entries written before texts were kept beside the chain carry their reason here.
    pub reason: Option<String>,
    pub parent: Option<String>,
    pub prev_hash: String,
    /// The salted hashes of the texts kept beside the chain (the words are not carried).
    pub texts: Option<String>,
    pub hash: String,
    /// One of the entries behind the pack's subject.
    pub behind: bool,
}

impl PackEntry {
    pub fn of(entry: &ledger_entries::Model, behind: bool) -> PackEntry {
        PackEntry {
            id: entry.id,
            at: format_at(entry.at),
            actor: entry.actor.clone(),
            entity_type: entry.entity_type.clone(),
            entity_id: entry.entity_id.clone(),
            action: entry.action.clone(),
            changes: entry.changes.clone(),
            reason: entry.reason.clone(),
            parent: entry.parent.clone(),
            prev_hash: entry.prev_hash.clone(),
            texts: entry.texts.clone(),
            hash: entry.hash.clone(),
            behind,
        }
    }

    fn model(&self) -> Result<ledger_entries::Model, String> {
        let at = DateTime::parse_from_rfc3339(&self.at)
            .map_err(|_| format!("entry {}'s time {:?} is not a time", self.id, self.at))?
            .with_timezone(&Utc);
        Ok(ledger_entries::Model {
            id: self.id,
            at,
            actor: self.actor.clone(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id.clone(),
            action: self.action.clone(),
            changes: self.changes.clone(),
            reason: self.reason.clone(),
            parent: self.parent.clone(),
            prev_hash: self.prev_hash.clone(),
            texts: self.texts.clone(),
            hash: self.hash.clone(),
        })
    }
}

/// What the pack is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// `kpi-figure`, `class` or `recording`.
    pub kind: String,
    /// The figure's query (`as_of=…&figure=…`), the class reference, the recording's id.
    pub id: String,
    /// As a person reads it.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub subject: Subject,
    pub created_at: String,
    /// SHA-256 (hex) of every file of the pack but the manifest and its signature.
    pub files: BTreeMap<String, String>,
    /// The slice: its first and last entry (the last is the checkpoint's head).
    pub first_entry: i64,
    pub last_entry: i64,
    /// The entries behind the subject, ascending.
    pub entries: Vec<i64>,
}

/// `README.txt`: what the pack holds and how to check it, for whoever receives it.
pub fn readme(
    subject: &Subject,
    organisation: &str,
    first: i64,
    checkpoint: &Checkpoint,
) -> String {
    format!(
        "Evidence pack: {title}
Made by {organisation} with tsp-ledger.

What it holds
- line-items.csv: the lines of {title}.
- ledger.jsonl: entries {first} to {entry} of the partner's ledger, one a line, with every
  field an entry's hash covers. Entries marked \"behind\": true are the records behind
  the lines; the others link them to the checkpoint. hash = SHA-256(prev_hash followed by
  the entry's canonical form), so changing, adding or removing any entry breaks the run.
- checkpoint.txt: the ledger's head (entry {entry}, {time}) signed with the partner's
  Ed25519 key {key}.
- manifest.json: the SHA-256 of every file; manifest.sig: its signature by the same key.
  Free texts kept beside the ledger (reasons, notes) are not included: the entries carry
  their salted hashes only. Learners are named by enrollment number, never by name.

How to check it
  tsp-ledger ledger verify --pack THIS_FILE.zip [--key PUBLIC_KEY]
needs neither the partner's database nor its settings. It checks every file against the
manifest, the signatures, each entry's hash and link up to the checkpoint, and that every
entry behind the lines is there. Compare the key it prints ({key}) with the key the
partner publishes, or pass that key with --key: a pack signed by any other key proves
nothing.
",
        title = subject.title,
        entry = checkpoint.entry_id,
        time = checkpoint.time(),
        key = key_id(&checkpoint.public_key),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn signed_manifest(manifest: &[u8]) -> Vec<u8> {
    [SIGNING_CONTEXT, manifest].concat()
}

/// The entries as `ledger.jsonl` holds them.
pub fn ledger_lines(entries: &[PackEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 512);
    for e in entries {
        serde_json::to_writer(&mut out, e).expect("an entry serializes");
        out.push(b'\n');
    }
    out
}

/// The ZIP: `files` (name, bytes) as given, the manifest listing their hashes and its
/// signature by `key` (the key that signed the checkpoint in `files`).
pub fn write(
    subject: Subject,
    created_at: DateTime<Utc>,
    slice: (i64, i64),
    behind: Vec<i64>,
    files: Vec<(&'static str, Vec<u8>)>,
    key: &SigningKey,
) -> Result<Vec<u8>, String> {
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        subject,
        created_at: created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        files: files
            .iter()
            .map(|(name, bytes)| (name.to_string(), sha256_hex(bytes)))
            .collect(),
        first_entry: slice.0,
        last_entry: slice.1,
        entries: behind,
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    manifest_bytes.push(b'\n');
    let signature = key.sign(&signed_manifest(&manifest_bytes));
    let signature_text = format!("{}\n", hex::encode(signature.to_bytes()));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    let all = [
        (MANIFEST, manifest_bytes.as_slice()),
        (MANIFEST_SIGNATURE, signature_text.as_bytes()),
    ]
    .into_iter()
    .chain(files.iter().map(|(n, b)| (*n, b.as_slice())));
    for (name, bytes) in all {
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(bytes).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// What a check of a pack found: the facts read (for the report) and every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackCheck {
    pub subject: Option<Subject>,
    /// The checkpoint's head, time and signing key (hex), when it could be read.
    pub checkpoint: Option<(i64, String, String)>,
    /// The slice's first and last entry, and how many entries it holds.
    pub slice: Option<(i64, i64, usize)>,
    /// Entries behind the subject, and line items (CSV rows after the header).
    pub behind: usize,
    pub line_items: usize,
    pub problems: Vec<String>,
}

impl PackCheck {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The signing key's short id, for comparison with the partner's published key.
    pub fn key_id(&self) -> Option<String> {
        let (_, _, key) = self.checkpoint.as_ref()?;
        let bytes: [u8; 32] = hex::decode(key).ok()?.try_into().ok()?;
        Some(key_id(&bytes))
    }
}

/// Reads every file of the ZIP, by name.
fn unzip(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("the pack is not a readable ZIP file ({e})"))?;
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let file = archive
            .by_index(i)
            .map_err(|e| format!("file {} of the ZIP cannot be read ({e})", i + 1))?;
        let name = file
            .name()
            .map_err(|e| format!("file {} of the ZIP has no readable name ({e})", i + 1))?
            .to_string();
        let mut content = Vec::new();
        file.take(MAX_FILE + 1)
            .read_to_end(&mut content)
            .map_err(|e| format!("{name} cannot be read ({e})"))?;
        if content.len() as u64 > MAX_FILE {
            return Err(format!("{name} is larger than a pack's file may be"));
        }
        if files.insert(name.clone(), content).is_some() {
            return Err(format!("the ZIP holds {name} twice"));
        }
    }
    Ok(files)
}

/// Checks a pack (the ZIP's bytes) with nothing else: every file against the manifest,
/// the manifest's signature and the checkpoint's against the checkpoint's key (and that
/// key against `trusted`, a public key in hex or its 16-character id, when given), the
/// slice's hashes and links up to the checkpoint's head, and that every entry behind the
/// subject is in it.
pub fn verify(bytes: &[u8], trusted: Option<&str>) -> PackCheck {
    let mut check = PackCheck::default();
    let files = match unzip(bytes) {
        Ok(files) => files,
        Err(e) => {
            check.problems.push(e);
            return check;
        }
    };
    let Some(manifest_bytes) = files.get(MANIFEST) else {
        check.problems.push(format!(
            "{MANIFEST} is missing: this is not an evidence pack"
        ));
        return check;
    };
    let manifest: Manifest = match serde_json::from_slice(manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            check
                .problems
                .push(format!("{MANIFEST} cannot be read ({e})"));
            return check;
        }
    };
    if manifest.format != FORMAT || manifest.version != VERSION {
        check.problems.push(format!(
            "{MANIFEST} names format {:?} version {}, not {FORMAT:?} version {VERSION}",
            manifest.format, manifest.version
        ));
        return check;
    }
    check.subject = Some(manifest.subject.clone());
    check_files(&files, &manifest, &mut check.problems);
    let key = check_checkpoint(&files, &manifest, trusted, &mut check);
    if let Some(key) = key {
        check_manifest_signature(&files, manifest_bytes, &key, &mut check.problems);
    }
    if let Some(csv) = files.get(LINE_ITEMS) {
        check.line_items = csv_rows(csv);
    }
    check_slice(&files, &manifest, &mut check);
    check
}

/// Every file the manifest lists is there with its hash; nothing else is.
fn check_files(files: &BTreeMap<String, Vec<u8>>, manifest: &Manifest, problems: &mut Vec<String>) {
    for required in [README, LINE_ITEMS, LEDGER, CHECKPOINT] {
        if !manifest.files.contains_key(required) {
            problems.push(format!("{MANIFEST} does not list {required}"));
        }
    }
    for (name, hash) in &manifest.files {
        match files.get(name) {
            None => problems.push(format!("{name} is missing from the pack")),
            Some(bytes) if !sha256_hex(bytes).eq_ignore_ascii_case(hash) => problems.push(format!(
                "{name} was changed: its SHA-256 differs from the one in {MANIFEST}"
            )),
            Some(_) => {}
        }
    }
    for name in files.keys() {
        if name != MANIFEST && name != MANIFEST_SIGNATURE && !manifest.files.contains_key(name) {
            problems.push(format!("{name} is in the pack but not in {MANIFEST}"));
        }
    }
}

/// The checkpoint reads, is signed by the key it names, and that key is the trusted one
/// when one is given. Returns the key when the signature holds.
fn check_checkpoint(
    files: &BTreeMap<String, Vec<u8>>,
    manifest: &Manifest,
    trusted: Option<&str>,
    check: &mut PackCheck,
) -> Option<VerifyingKey> {
    let problems = &mut check.problems;
    let document = files.get(CHECKPOINT)?;
    let checkpoint = match std::str::from_utf8(document)
        .map_err(|_| "it is not UTF-8 text".to_string())
        .and_then(Checkpoint::parse)
    {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("{CHECKPOINT} cannot be read: {e}"));
            return None;
        }
    };
    let public_hex = hex::encode(checkpoint.public_key);
    check.checkpoint = Some((checkpoint.entry_id, checkpoint.time(), public_hex.clone()));
    if checkpoint.entry_id != manifest.last_entry {
        problems.push(format!(
            "the checkpoint's head is entry {}, but {MANIFEST} says the slice ends at entry {}",
            checkpoint.entry_id, manifest.last_entry
        ));
    }
    let Ok(key) = VerifyingKey::from_bytes(&checkpoint.public_key) else {
        problems.push(format!(
            "{CHECKPOINT} names a public key that is not an Ed25519 key"
        ));
        return None;
    };
    if let Err(e) = checkpoint.check_signature(&key) {
        problems.push(format!("{CHECKPOINT}: {e}"));
        return None;
    }
    if let Some(trusted) = trusted.map(|t| t.trim().to_lowercase()) {
        let id = key_id(&checkpoint.public_key);
        if trusted != public_hex && trusted != id {
            problems.push(format!(
                "the checkpoint is signed by key {id}, not by the key you trust ({trusted})"
            ));
        }
    }
    Some(key)
}

fn check_manifest_signature(
    files: &BTreeMap<String, Vec<u8>>,
    manifest: &[u8],
    key: &VerifyingKey,
    problems: &mut Vec<String>,
) {
    let signature = files
        .get(MANIFEST_SIGNATURE)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| hex::decode(s.trim()).ok())
        .and_then(|s| <[u8; 64]>::try_from(s).ok());
    let Some(signature) = signature else {
        problems.push(format!(
            "{MANIFEST_SIGNATURE} is missing or not 128 hex characters"
        ));
        return;
    };
    if key
        .verify(
            &signed_manifest(manifest),
            &Signature::from_bytes(&signature),
        )
        .is_err()
    {
        problems.push(format!(
            "{MANIFEST} is not signed by the checkpoint's key: the manifest was altered, or the checkpoint is not the one the pack was made with"
        ));
    }
}

fn csv_rows(csv: &[u8]) -> usize {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv)
        .records()
        .count()
}

/// The slice: one entry a line, consecutive ids, each hash recomputed and linked to the
/// one before, ending at the checkpoint's head with its hash; the entries behind the
/// subject are in it and marked as the manifest lists them.
fn check_slice(files: &BTreeMap<String, Vec<u8>>, manifest: &Manifest, check: &mut PackCheck) {
    let Some(jsonl) = files.get(LEDGER) else {
        return;
    };
    let problems = &mut check.problems;
    let mut previous: Option<PackEntry> = None;
    let mut first = None;
    let mut count = 0usize;
    let mut marked = BTreeSet::new();
    for (n, line) in jsonl.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: PackEntry = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{LEDGER} line {} is not an entry ({e})", n + 1));
                return;
            }
        };
        count += 1;
        first.get_or_insert(entry.id);
        if let Some(problem) = link_problem(previous.as_ref(), &entry) {
            problems.push(problem);
            return;
        }
        if entry.behind {
            marked.insert(entry.id);
        }
        previous = Some(entry);
    }
    let (Some(first), Some(last)) = (first, previous) else {
        problems.push(format!("{LEDGER} holds no entries"));
        return;
    };
    check.slice = Some((first, last.id, count));
    check.behind = marked.len();
    if first != manifest.first_entry || last.id != manifest.last_entry {
        problems.push(format!(
            "{LEDGER} holds entries {first}–{}, but {MANIFEST} says {}–{}",
            last.id, manifest.first_entry, manifest.last_entry
        ));
    }
    if let Some((head, _, _)) = &check.checkpoint {
        let checkpoint = files
            .get(CHECKPOINT)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| Checkpoint::parse(d).ok());
        if last.id != *head {
            problems.push(format!(
                "the slice ends at entry {}, but the checkpoint covers entry {head}: the entries between are missing",
                last.id
            ));
        } else if checkpoint.is_some_and(|c| c.hash != last.hash) {
            problems.push(format!(
                "entry {head}'s hash differs from the checkpoint's: the slice is not the ledger the checkpoint signed"
            ));
        }
    }
    let listed: BTreeSet<i64> = manifest.entries.iter().copied().collect();
    for id in listed.difference(&marked) {
        problems.push(if (first..=last.id).contains(id) {
            format!("entry {id} is behind the subject in {MANIFEST} but not marked so in {LEDGER}")
        } else {
            format!(
                "entry {id}, behind the subject, is not in the slice ({first}–{})",
                last.id
            )
        });
    }
    for id in marked.difference(&listed) {
        problems.push(format!(
            "entry {id} is marked as behind the subject in {LEDGER} but {MANIFEST} does not list it"
        ));
    }
}

/// What is wrong with `entry` after `previous` (none: the first of the slice).
fn link_problem(previous: Option<&PackEntry>, entry: &PackEntry) -> Option<String> {
    let id = entry.id;
    match previous {
        Some(p) if id != p.id + 1 => {
            return Some(format!(
                "entry {} is missing from the slice (after entry {} comes {id})",
                p.id + 1,
                p.id
            ));
        }
        Some(p) if entry.prev_hash != p.hash => {
            return Some(format!(
                "entry {id} does not follow entry {}: prev_hash differs",
                p.id
            ));
        }
        None if id == 1 && entry.prev_hash != GENESIS_HASH => {
            return Some("entry 1 does not start from the genesis hash".into());
        }
        _ => {}
    }
    let model = match entry.model() {
        Ok(m) => m,
        Err(e) => return Some(e),
    };
    if entry_hash(&model) != entry.hash {
        return Some(format!(
            "entry {id} was altered: its hash does not match its contents"
        ));
    }
    if let Some(texts) = &entry.texts
        && !matches!(
            serde_json::from_str::<serde_json::Value>(texts),
            Ok(serde_json::Value::Object(_))
        )
    {
        return Some(format!("entry {id}'s text commitments are not valid"));
    }
    None
}

#[cfg(test)]
mod tests;
