//! Evidence packs (issue 17 item 5): a KPI figure's, a class's and a recording's ZIP
//! verifies with `tsp-ledger ledger verify --pack` alone; a pack altered in any part fails
//! naming what; a subject whose entries came after the last checkpoint gets a fresh one.
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::process::ExitCode;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{achievement_codes, ledger_checkpoints, ledger_entries};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tower::ServiceExt;
use tsp_ledger::cli::{Cli, Command, LedgerCommand, verify_pack};
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::checkpoint::{self, Checkpoint};
use tsp_ledger::ledger::pack::{self, Manifest, PackEntry};
use tsp_ledger::services::imports::Kind;

use crate::fixtures;
use crate::support::{Client, TestApp};

/// A download's status, content type and bytes (the client keeps only text).
async fn download(client: &Client<'_>, path: &str) -> (StatusCode, String, Vec<u8>) {
    let cookie = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = client.app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, kind, bytes.to_vec())
}

async fn pack_of(app: &TestApp, role: Role, path: &str) -> Vec<u8> {
    let client = app.client_as(role).await;
    let (status, kind, bytes) = download(&client, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(kind, "application/zip", "{path}");
    bytes
}

fn files(zip: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = vec![];
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

fn rezip(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn manifest(zip: &[u8]) -> Manifest {
    serde_json::from_slice(&files(zip)[pack::MANIFEST]).unwrap()
}

fn entries(zip: &[u8]) -> Vec<PackEntry> {
    String::from_utf8(files(zip)[pack::LEDGER].clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The deployment's public key (the partner publishes it), made on first use.
fn trusted_key(app: &TestApp) -> String {
    let key = checkpoint::key(&app.state.config).unwrap();
    hex::encode(key.verifying_key().to_bytes())
}

/// What `tsp-ledger ledger verify --pack FILE [--key KEY]` answers: it is given the file
/// and the key only — no configuration, no database.
fn cli_verify(zip: &[u8], key: Option<&str>) -> ExitCode {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pack.zip");
    std::fs::write(&file, zip).unwrap();
    verify_pack(&file, key)
}

async fn checkpoints(app: &TestApp) -> u64 {
    ledger_checkpoints::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

async fn head(app: &TestApp) -> i64 {
    entity::ledger_head::Entity::find_by_id(1)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .last_id
}

async fn a_figures_pack_holds_its_line_items_and_verifies_alone(app: TestApp) {
    crate::kpi::seed(&app).await;
    let query = "as_of=2026-11-22&figure=courseware";
    assert_eq!(checkpoints(&app).await, 0);
    let zip = pack_of(&app, Role::Viewer, &format!("/kpi/evidence.zip?{query}")).await;
    let head_then = head(&app).await;
    // No checkpoint covered the figure's entries: one was signed for the pack.
    assert_eq!(checkpoints(&app).await, 1);
    let key = trusted_key(&app);
    assert_eq!(cli_verify(&zip, None), ExitCode::SUCCESS);
    assert_eq!(cli_verify(&zip, Some(&key)), ExitCode::SUCCESS);
    let check = pack::verify(&zip, Some(&key));
    assert!(check.is_valid(), "{:?}", check.problems);
    // The same lines as the CSV download of the figure.
    let viewer = app.client_as(Role::Viewer).await;
    let (_, _, csv) = download(&viewer, &format!("/kpi/lines.csv?{query}")).await;
    let all = files(&zip);
    assert_eq!(all[pack::LINE_ITEMS], csv);
    assert_eq!(check.line_items, 4);
    // The entries behind it: each redeemed code's, its class's and its course's.
    let m = manifest(&zip);
    assert_eq!(m.subject.kind, "kpi-figure");
    let ac1 = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq("AC-1"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let slice = entries(&zip);
    let behind: Vec<&PackEntry> = slice.iter().filter(|e| e.behind).collect();
    assert_eq!(
        behind.iter().map(|e| e.id).collect::<Vec<_>>(),
        m.entries,
        "the manifest lists the marked entries"
    );
    let ac1_id = ac1.id.to_string();
    assert!(
        behind
            .iter()
            .any(|e| e.entity_type == "achievement_code" && e.entity_id == ac1_id),
        "AC-1's entries"
    );
    for kind in ["class", "course"] {
        assert!(behind.iter().any(|e| e.entity_type == kind), "{kind}");
    }
    // An unredeemed code (AC-6) is no line of the figure, so not behind it.
    let ac6 = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq("AC-6"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !behind
            .iter()
            .any(|e| e.entity_type == "achievement_code" && e.entity_id == ac6.id.to_string())
    );
    // The run from the first of them to the checkpoint's head, nothing before it.
    let document = String::from_utf8(all[pack::CHECKPOINT].clone()).unwrap();
    let cp = Checkpoint::parse(&document).unwrap();
    assert_eq!(slice.first().unwrap().id, m.entries[0]);
    assert_eq!(slice.last().unwrap().id, cp.entry_id);
    assert_eq!(cp.entry_id, head_then);
    assert_eq!(slice.len() as i64, cp.entry_id - m.entries[0] + 1);
    // A second pack of the same figure uses the stored checkpoint.
    pack_of(
        &app,
        Role::Coordinator,
        &format!("/kpi/evidence.zip?{query}"),
    )
    .await;
    assert_eq!(checkpoints(&app).await, 1);
    // A bad parameter is named.
    let (status, _, body) = download(&viewer, "/kpi/evidence.zip?figure=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("figure"));
}
db_test!(a_figures_pack_holds_its_line_items_and_verifies_alone);

async fn a_class_and_a_recording_pack_verify_and_name_no_learner(app: TestApp) {
    let s = crate::recordings::setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let recording = crate::recordings::create_recording(&mut coordinator, "C-R").await;
    let key = trusted_key(&app);
    let class_zip = pack_of(
        &app,
        Role::Coordinator,
        &format!("/classes/{}/evidence.zip", s.class.id),
    )
    .await;
    let recording_zip = pack_of(
        &app,
        Role::Viewer,
        &format!("/recordings/{recording}/evidence.zip"),
    )
    .await;
    // The presenting MCT may have their own class's and recording's packs.
    let mct = app.client_for(s.presenter).await;
    for path in [
        format!("/classes/{}/evidence.zip", s.class.id),
        format!("/recordings/{recording}/evidence.zip"),
    ] {
        assert_eq!(download(&mct, &path).await.0, StatusCode::OK, "{path}");
    }
    for zip in [&class_zip, &recording_zip] {
        assert_eq!(cli_verify(zip, Some(&key)), ExitCode::SUCCESS);
        for (name, bytes) in files(zip) {
            let text = String::from_utf8_lossy(&bytes);
            for personal in ["Ada Lovelace", "ada@example.com", "Grace Hopper"] {
                assert!(!text.contains(personal), "{personal} in {name}");
            }
        }
    }
    let class_lines = String::from_utf8(files(&class_zip)[pack::LINE_ITEMS].clone()).unwrap();
    assert!(class_lines.starts_with("line,item,subject,date,detail\n"));
    assert_eq!(class_lines.matches("roster,").count(), 2, "{class_lines}");
    assert!(class_lines.contains(",enrollment "), "{class_lines}");
    let m = manifest(&class_zip);
    assert_eq!(
        (m.subject.kind.as_str(), m.subject.id.as_str()),
        ("class", "C-R")
    );
    let class_entries = entries(&class_zip);
    for e in class_entries.iter().filter(|e| e.behind) {
        let parent = format!("class:{}", s.class.id);
        assert!(
            (e.entity_type == "class" && e.entity_id == s.class.id.to_string())
                || e.parent.as_deref() == Some(parent.as_str()),
            "{e:?}"
        );
    }
    // The course and the MCT were written before the class: no part of its pack.
    assert!(m.first_entry > 1, "{}", m.first_entry);
    let recording_lines =
        String::from_utf8(files(&recording_zip)[pack::LINE_ITEMS].clone()).unwrap();
    // Three consent subjects: the MCT and both learners, each asked.
    assert_eq!(
        recording_lines.matches("consent,").count(),
        3,
        "{recording_lines}"
    );
    assert!(recording_lines.contains("requested"), "{recording_lines}");
    let behind: Vec<PackEntry> = entries(&recording_zip)
        .into_iter()
        .filter(|e| e.behind)
        .collect();
    assert!(behind.iter().any(|e| e.entity_type == "recording"));
    assert!(behind.iter().any(|e| e.entity_type == "recording_consent"));
}
db_test!(a_class_and_a_recording_pack_verify_and_name_no_learner);

/// The class's pack, its files, and the trusted key.
async fn class_pack(app: &TestApp) -> (Vec<u8>, BTreeMap<String, Vec<u8>>, String) {
    let s = crate::recordings::setup(app, true).await;
    let zip = pack_of(
        app,
        Role::Coordinator,
        &format!("/classes/{}/evidence.zip", s.class.id),
    )
    .await;
    let all = files(&zip);
    (zip, all, trusted_key(app))
}

fn problems(files: &BTreeMap<String, Vec<u8>>, key: &str) -> Vec<String> {
    let zip = rezip(files);
    let found = pack::verify(&zip, Some(key)).problems;
    assert_eq!(cli_verify(&zip, Some(key)), ExitCode::from(5), "{found:?}");
    found
}

#[track_caller]
fn names(found: &[String], expected: &str) {
    assert!(
        found.iter().any(|p| p.contains(expected)),
        "expected a problem naming {expected:?}, found {found:?}"
    );
}

async fn a_pack_altered_in_any_part_fails_naming_what(app: TestApp) {
    let (zip, good, key) = class_pack(&app).await;
    let again = rezip(&good);
    assert!(
        pack::verify(&again, Some(&key)).is_valid(),
        "re-zipped as it was"
    );
    assert_eq!(cli_verify(&again, Some(&key)), ExitCode::SUCCESS);
    let lines: Vec<String> = String::from_utf8(good[pack::LEDGER].clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let slice = entries(&zip);
    assert!(slice.len() >= 3, "{}", slice.len());
    // One byte of an entry changed.
    let target = &slice[1];
    let mut altered = good.clone();
    let mut changed = lines.clone();
    changed[1] = changed[1].replacen(
        &format!("\"action\":\"{}\"", target.action),
        &format!("\"action\":\"{}X\"", target.action),
        1,
    );
    assert_ne!(changed[1], lines[1]);
    altered.insert(
        pack::LEDGER.into(),
        (changed.join("\n") + "\n").into_bytes(),
    );
    let found = problems(&altered, &key);
    names(&found, "ledger.jsonl was changed");
    names(
        &found,
        &format!(
            "entry {} was altered: its hash does not match its contents",
            target.id
        ),
    );
    // An entry removed from the slice.
    let mut removed = good.clone();
    let mut fewer = lines.clone();
    fewer.remove(1);
    removed.insert(pack::LEDGER.into(), (fewer.join("\n") + "\n").into_bytes());
    names(
        &problems(&removed, &key),
        &format!("entry {} is missing from the slice", target.id),
    );
    // A forged checkpoint: the head re-signed by someone else's key.
    let mut forged = good.clone();
    let cp = Checkpoint::parse(std::str::from_utf8(&good[pack::CHECKPOINT]).unwrap()).unwrap();
    let other = checkpoint::signing_key(&[42; 32]);
    let fake = Checkpoint::sign(&other, cp.entry_id, &cp.hash, cp.at);
    forged.insert(pack::CHECKPOINT.into(), fake.document().into_bytes());
    let found = problems(&forged, &key);
    names(&found, "checkpoint.txt was changed");
    names(&found, "not by the key you trust");
    names(
        &found,
        "manifest.json is not signed by the checkpoint's key",
    );
    // … or altered to cover another head: its signature fails.
    let mut moved = good.clone();
    let document = String::from_utf8(good[pack::CHECKPOINT].clone())
        .unwrap()
        .replace(
            &format!("entry: {}", cp.entry_id),
            &format!("entry: {}", cp.entry_id + 1),
        );
    moved.insert(pack::CHECKPOINT.into(), document.into_bytes());
    names(&problems(&moved, &key), "bad signature");
    // A changed line item.
    let mut edited = good.clone();
    let csv = String::from_utf8(good[pack::LINE_ITEMS].clone()).unwrap();
    edited.insert(
        pack::LINE_ITEMS.into(),
        csv.replacen("attended", "did not attend", 1).into_bytes(),
    );
    assert_eq!(
        problems(&edited, &key),
        ["line-items.csv was changed: its SHA-256 differs from the one in manifest.json"]
    );
    // Not a pack at all.
    assert_eq!(cli_verify(b"PK but not really", None), ExitCode::from(5));
}
db_test!(a_pack_altered_in_any_part_fails_naming_what);

async fn a_subject_written_after_the_last_checkpoint_gets_a_fresh_one(app: TestApp) {
    let s = crate::recordings::setup(&app, true).await;
    let key = checkpoint::key(&app.state.config).unwrap();
    let stored = checkpoint::write(app.db(), &key).await.unwrap();
    let path = format!("/classes/{}/evidence.zip", s.class.id);
    // Covered: the stored checkpoint is the pack's.
    let zip = pack_of(&app, Role::Coordinator, &path).await;
    assert_eq!(checkpoints(&app).await, 1);
    assert_eq!(
        String::from_utf8(files(&zip)[pack::CHECKPOINT].clone()).unwrap(),
        stored.document
    );
    assert_eq!(manifest(&zip).last_entry, stored.entry_id);
    // A learner added since: the stored checkpoint cannot prove that entry.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-R,Alan Turing,alan@example.com,true\n",
    )
    .await
    .unwrap();
    let added = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("enrollment"))
        .filter(ledger_entries::Column::Id.gt(stored.entry_id))
        .one(app.db())
        .await
        .unwrap()
        .expect("the new learner's entry");
    let zip = pack_of(&app, Role::Coordinator, &path).await;
    assert_eq!(checkpoints(&app).await, 2);
    let m = manifest(&zip);
    assert!(m.last_entry >= added.id && m.last_entry > stored.entry_id);
    assert!(m.entries.contains(&added.id));
    assert_eq!(
        cli_verify(&zip, Some(&trusted_key(&app))),
        ExitCode::SUCCESS
    );
}
db_test!(a_subject_written_after_the_last_checkpoint_gets_a_fresh_one);

/// The command line: `--pack` needs nothing else, `--key` only with it, and a pack is not
/// mixed with a checkpoint file.
#[test]
fn the_pack_command_line() {
    let parsed =
        Cli::command_from(["ledger", "verify", "--pack", "p.zip", "--key", "abcd"]).unwrap();
    assert!(matches!(
        parsed,
        Command::Ledger(LedgerCommand::Verify {
            pack: Some(_),
            key: Some(_),
            checkpoint: None
        })
    ));
    assert!(Cli::command_from(["ledger", "verify", "--key", "abcd"]).is_err());
    assert!(
        Cli::command_from([
            "ledger",
            "verify",
            "--pack",
            "p.zip",
            "--checkpoint",
            "c.txt"
        ])
        .is_err()
    );
    // A missing file is named, with its own exit code.
    assert_eq!(
        verify_pack(std::path::Path::new("/nonexistent/pack.zip"), None),
        ExitCode::from(2)
    );
}
