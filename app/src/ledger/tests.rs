use super::*;

fn sample() -> ledger_entries::Model {
    ledger_entries::Model {
        id: 1,
        at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc),
        actor: "user:1".into(),
        entity_type: "user".into(),
        entity_id: "2".into(),
        action: "create".into(),
        changes: r#"{"role":{"before":null,"after":"coordinator"}}"#.into(),
        reason: None,
        parent: None,
        prev_hash: GENESIS_HASH.into(),
        texts: None,
        hash: String::new(),
    }
}

#[test]
fn ledger_hash_covers_every_field_and_the_previous_hash() {
    let base = sample();
    let h = entry_hash(&base);
    assert_eq!(h.len(), 64);
    assert_eq!(h, entry_hash(&base.clone()), "deterministic");
    let variants = [
        ledger_entries::Model {
            id: 2,
            ..base.clone()
        },
        ledger_entries::Model {
            actor: "user:9".into(),
            ..base.clone()
        },
        ledger_entries::Model {
            action: "update".into(),
            ..base.clone()
        },
        ledger_entries::Model {
            entity_id: "3".into(),
            ..base.clone()
        },
        ledger_entries::Model {
            changes: "{}".into(),
            ..base.clone()
        },
        ledger_entries::Model {
            reason: Some("typo".into()),
            ..base.clone()
        },
        ledger_entries::Model {
            parent: Some("class:1".into()),
            ..base.clone()
        },
        ledger_entries::Model {
            prev_hash: "1".repeat(64),
            ..base.clone()
        },
        ledger_entries::Model {
            at: base.at + chrono::Duration::microseconds(1),
            ..base.clone()
        },
    ];
    for v in variants {
        assert_ne!(entry_hash(&v), h, "{v:?}");
    }
}

#[test]
fn version_2_commits_to_the_texts_and_never_reads_as_version_1() {
    let v1 = sample();
    let v2 = ledger_entries::Model {
        texts: Some("{}".into()),
        ..sample()
    };
    assert_ne!(entry_hash(&v1), entry_hash(&v2), "the marker is hashed");
    let parsed: Value = serde_json::from_str(&canonical(&v2)).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 10);
    assert_eq!(parsed[9], json!({"v": 2, "texts": "{}"}));
    let with_text = ledger_entries::Model {
        texts: Some(json!({"reason": text_commitment(b"salt", "why")}).to_string()),
        ..v2.clone()
    };
    assert_ne!(entry_hash(&with_text), entry_hash(&v2));
    // The salt and the words both count; a hash says nothing of the words.
    assert_ne!(
        text_commitment(b"salt", "why"),
        text_commitment(b"pepper", "why")
    );
    assert_ne!(
        text_commitment(b"salt", "why"),
        text_commitment(b"salt", "who")
    );
    assert!(!canonical(&with_text).contains("why"));
}

#[test]
fn ledger_diff_lists_changed_fields_and_hides_personal_values() {
    let before = json!({"name": "Ana", "email": "a@x.com", "attended": false, "same": 1});
    let after =
        json!({"name": "Ana B", "email": "a@x.com", "attended": true, "same": 1, "new": "v"});
    let d = diff(&before, &after, &["name", "email"]);
    assert_eq!(
        d,
        json!({"name": {"changed": true}, "attended": {"before": false, "after": true}, "new": {"before": null, "after": "v"}})
    );
}

#[test]
fn actors_are_named_as_the_spec_says() {
    assert_eq!(Actor::User(4).to_string(), "user:4");
    assert_eq!(Actor::Learner(17).to_string(), "learner:17");
    assert_eq!(Actor::Cli.to_string(), "cli");
    assert_eq!(Actor::System.to_string(), "system");
}
