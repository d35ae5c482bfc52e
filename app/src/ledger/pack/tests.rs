use super::*;
use crate::ledger::checkpoint::signing_key;

/// A chain of `n` entries from the genesis, as the ledger writes them.
fn chain(n: i64) -> Vec<ledger_entries::Model> {
    let mut prev = GENESIS_HASH.to_string();
    (1..=n)
        .map(|id| {
            let mut e = ledger_entries::Model {
                id,
                at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456Z")
                    .unwrap()
                    .with_timezone(&Utc)
                    + chrono::Duration::seconds(id),
                actor: "user:1".into(),
                entity_type: if id % 2 == 0 { "class" } else { "course" }.into(),
                entity_id: id.to_string(),
                action: "create".into(),
                changes: format!(r#"{{"n":{{"before":null,"after":{id}}}}}"#),
                reason: None,
                parent: None,
                prev_hash: prev.clone(),
                texts: Some("{}".into()),
                hash: String::new(),
            };
            e.hash = entry_hash(&e);
            prev = e.hash.clone();
            e
        })
        .collect()
}

struct Made {
    key: SigningKey,
    entries: Vec<PackEntry>,
    checkpoint: Checkpoint,
    line_items: Vec<u8>,
}

/// Entries 3..=8 of a chain of 8, entries 4 and 6 behind the subject.
fn made() -> Made {
    let key = signing_key(&[7; 32]);
    let all = chain(8);
    let entries: Vec<PackEntry> = all[2..]
        .iter()
        .map(|e| PackEntry::of(e, [4, 6].contains(&e.id)))
        .collect();
    let checkpoint = Checkpoint::sign(&key, 8, &all[7].hash, Utc::now());
    Made {
        key,
        entries,
        checkpoint,
        line_items: b"line,item\ncode,ABC-1\ncode,ABC-2\n".to_vec(),
    }
}

fn subject() -> Subject {
    Subject {
        kind: "class".into(),
        id: "C-1".into(),
        title: "Class C-1".into(),
    }
}

fn zip_of(m: &Made) -> Vec<u8> {
    write(
        subject(),
        Utc::now(),
        (m.entries[0].id, m.entries.last().unwrap().id),
        vec![4, 6],
        vec![
            (
                README,
                readme(&subject(), "Contoso", 3, &m.checkpoint).into_bytes(),
            ),
            (LINE_ITEMS, m.line_items.clone()),
            (LEDGER, ledger_lines(&m.entries)),
            (CHECKPOINT, m.checkpoint.document().into_bytes()),
        ],
        &m.key,
    )
    .unwrap()
}

fn problems(m: &Made) -> Vec<String> {
    verify(&zip_of(m), None).problems
}

#[test]
fn a_pack_verifies_with_nothing_else_and_says_what_it_holds() {
    let m = made();
    let check = verify(&zip_of(&m), None);
    assert_eq!(check.problems, Vec::<String>::new());
    assert_eq!(check.slice, Some((3, 8, 6)));
    assert_eq!(check.behind, 2);
    assert_eq!(check.line_items, 2);
    assert_eq!(check.key_id().unwrap(), key_id(&m.checkpoint.public_key));
    // The trusted key, whole or by its id, is accepted.
    let public = hex::encode(m.checkpoint.public_key);
    assert!(verify(&zip_of(&m), Some(&public)).is_valid());
    assert!(verify(&zip_of(&m), Some(&check.key_id().unwrap())).is_valid());
}

#[test]
fn a_changed_entry_is_named() {
    let mut m = made();
    m.entries[2].actor = "user:2".into();
    let found = problems(&m);
    assert!(
        found.contains(&"entry 5 was altered: its hash does not match its contents".into()),
        "{found:?}"
    );
}

#[test]
fn a_removed_entry_is_named() {
    let mut m = made();
    m.entries.remove(2);
    let found = problems(&m);
    assert!(
        found.contains(&"entry 5 is missing from the slice (after entry 4 comes 6)".into()),
        "{found:?}"
    );
    // The last one gone: the slice stops short of the checkpoint.
    let mut m = made();
    m.entries.pop();
    let found = problems(&m);
    assert!(
        found
            .iter()
            .any(|p| p.contains("the checkpoint covers entry 8")),
        "{found:?}"
    );
}

#[test]
fn an_entry_behind_the_subject_left_out_is_named() {
    let mut m = made();
    m.entries.drain(..2); // entries 3 and 4: the slice starts at 5
    let found = problems(&m);
    assert!(
        found.contains(&"entry 4, behind the subject, is not in the slice (5–8)".into()),
        "{found:?}"
    );
}

#[test]
fn a_forged_or_foreign_checkpoint_is_named() {
    // Another key signs everything anew: sound signatures, but not the trusted key.
    let mut m = made();
    let trusted = hex::encode(m.checkpoint.public_key);
    m.key = signing_key(&[9; 32]);
    m.checkpoint = Checkpoint::sign(&m.key, 8, &m.checkpoint.hash, m.checkpoint.at);
    let check = verify(&zip_of(&m), Some(&trusted));
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
    assert!(check.problems[0].contains("not by the key you trust"));
    assert_ne!(check.key_id().unwrap(), trusted[..16]);
    // The checkpoint's head changed after signing: its signature fails.
    let mut m = made();
    let document = m
        .checkpoint
        .document()
        .replace(&m.checkpoint.hash, &m.entries.last().unwrap().prev_hash);
    let bytes = write(
        subject(),
        Utc::now(),
        (3, 8),
        vec![4, 6],
        vec![
            (README, b"r".to_vec()),
            (LINE_ITEMS, std::mem::take(&mut m.line_items)),
            (LEDGER, ledger_lines(&m.entries)),
            (CHECKPOINT, document.into_bytes()),
        ],
        &m.key,
    )
    .unwrap();
    let found = verify(&bytes, None).problems;
    assert!(
        found.iter().any(|p| p.contains("bad signature")),
        "{found:?}"
    );
}

#[test]
fn a_changed_line_item_or_manifest_is_named() {
    let m = made();
    let good = zip_of(&m);
    // Re-zip with one file replaced, the manifest and its signature kept.
    let replace = |name: &str, with: &[u8]| {
        let files = unzip(&good).unwrap();
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, bytes) in files {
            zip.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(if n == name { with } else { &bytes })
                .unwrap();
        }
        verify(&zip.finish().unwrap().into_inner(), None).problems
    };
    assert_eq!(
        replace(LINE_ITEMS, b"line,item\ncode,ABC-9\ncode,ABC-2\n"),
        vec!["line-items.csv was changed: its SHA-256 differs from the one in manifest.json"]
    );
    // The manifest re-hashed to match: its signature no longer holds.
    let files = unzip(&good).unwrap();
    let forged = String::from_utf8(files[MANIFEST].clone())
        .unwrap()
        .replace(&sha256_hex(&m.line_items), &sha256_hex(b"line,item\n"));
    let found = replace(MANIFEST, forged.as_bytes());
    assert!(
        found
            .iter()
            .any(|p| p.contains("not signed by the checkpoint's key")),
        "{found:?}"
    );
    assert!(!verify(b"not a zip", None).is_valid());
}
