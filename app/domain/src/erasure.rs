//! Learner erasure (SPEC §6): what replaces a learner's name and e-mail, and what an
//! erasure request must carry.

/// The name every erased enrollment carries.
pub const PLACEHOLDER_NAME: &str = "Erased learner";

/// The domain of the placeholder addresses: under `.invalid`, the TLD reserved never to
/// resolve (RFC 2606), so nothing can ever be delivered there. It has a dot, so the
/// placeholder passes the app's own e-mail check (rosters re-read stored addresses).
pub const PLACEHOLDER_DOMAIN: &str = "erased.invalid";

/// A `LIKE` pattern matching every placeholder address.
pub const PLACEHOLDER_EMAIL_PATTERN: &str = "%@erased.invalid";

/// The longest reason accepted.
pub const MAX_REASON_CHARS: usize = 500;

/// *Rule — placeholder e-mail*: unique per enrollment, so the roster's "one learner per
/// class by e-mail" still holds, and undeliverable.
pub fn placeholder_email(enrollment_id: i64) -> String {
    format!("erased-{enrollment_id}@{PLACEHOLDER_DOMAIN}")
}

/// Whether `email` (as stored or typed) is an erasure placeholder.
pub fn is_placeholder_email(email: &str) -> bool {
    email
        .trim()
        .to_lowercase()
        .ends_with(&format!("@{PLACEHOLDER_DOMAIN}"))
}

/// *Rule — erasure reason*: required (the request reference), at most
/// [`MAX_REASON_CHARS`], and it must not repeat the personal data being erased — the
/// ledger keeps the reason for ever.
pub fn erasure_reason(raw: &str, personal: &[&str]) -> Result<String, String> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err("is required: give the request's reference (e.g. a ticket number)".into());
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(format!("must be at most {MAX_REASON_CHARS} characters"));
    }
    if reason.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if personal
        .iter()
        .any(|p| !p.trim().is_empty() && find_ci(reason, p.trim()).is_some())
    {
        return Err(
            "must not contain the learner's name or e-mail: the ledger keeps the reason for ever"
                .into(),
        );
    }
    Ok(reason.to_string())
}

/// *Rule — explicit confirmation*: erasure cannot be undone, so the form's confirmation
/// box must be ticked.
pub fn erasure_confirmed(raw: &str) -> Result<(), String> {
    match raw.trim() {
        "true" | "on" | "yes" => Ok(()),
        _ => Err("tick the box to confirm: erasure cannot be undone".into()),
    }
}

/// The byte range of the first case-insensitive occurrence of `needle` in `text`.
fn find_ci(text: &str, needle: &str) -> Option<(usize, usize)> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    if needle.is_empty() {
        return None;
    }
    for (start, _) in text.char_indices() {
        let mut matched = 0;
        for (i, c) in text[start..].char_indices() {
            let lower: Vec<char> = c.to_lowercase().collect();
            if needle.len() < matched + lower.len()
                || needle[matched..matched + lower.len()] != lower[..]
            {
                break;
            }
            matched += lower.len();
            if matched == needle.len() {
                return Some((start, start + i + c.len_utf8()));
            }
        }
    }
    None
}

/// *Rule — redaction*: every case-insensitive occurrence of any of `personal` in `text`
/// replaced by `placeholder`; `None` when nothing was found.
pub fn redact(text: &str, personal: &[&str], placeholder: &str) -> Option<String> {
    let mut out = text.to_string();
    let mut changed = false;
    for p in personal.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let mut rest = out.as_str();
        let mut next = String::with_capacity(out.len());
        while let Some((start, end)) = find_ci(rest, p) {
            next.push_str(&rest[..start]);
            next.push_str(placeholder);
            rest = &rest[end..];
            changed = true;
        }
        next.push_str(rest);
        out = next;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Email;

    #[test]
    fn placeholder_email_is_unique_undeliverable_and_still_a_valid_address() {
        let a = placeholder_email(7);
        assert_eq!(a, "erased-7@erased.invalid");
        assert_ne!(a, placeholder_email(8));
        assert!(a.ends_with(".invalid"));
        // The roster re-parses stored keys: the placeholder must pass.
        assert_eq!(Email::parse(&a).unwrap().as_str(), a);
        assert!(is_placeholder_email(&a));
        assert!(is_placeholder_email(" Erased-7@ERASED.invalid "));
        assert!(!is_placeholder_email("ada@example.com"));
        assert!(!is_placeholder_email("ada@erased.invalid.example.com"));
        // The LIKE pattern says the same as the function.
        assert_eq!(
            PLACEHOLDER_EMAIL_PATTERN.trim_start_matches('%'),
            format!("@{PLACEHOLDER_DOMAIN}")
        );
    }

    #[test]
    fn erasure_reason_is_required_bounded_and_free_of_the_personal_data() {
        assert!(erasure_reason("  ", &[]).unwrap_err().contains("required"));
        assert_eq!(
            erasure_reason(" GDPR-2026-17 ", &["Ada Lovelace", "ada@example.com"]),
            Ok("GDPR-2026-17".into())
        );
        assert!(erasure_reason(&"x".repeat(501), &[]).is_err());
        assert!(erasure_reason(&"x".repeat(500), &[]).is_ok());
        assert!(erasure_reason("a\u{7}b", &[]).is_err());
        for bad in ["request from ADA@example.com", "ada lovelace asked by mail"] {
            let e = erasure_reason(bad, &["Ada Lovelace", "ada@example.com"]).unwrap_err();
            assert!(e.contains("must not contain"), "{bad}: {e}");
        }
        // A blank personal value never matches everything.
        assert!(erasure_reason("ticket 1", &["", " "]).is_ok());
    }

    #[test]
    fn erasure_needs_an_explicit_confirmation() {
        assert!(erasure_confirmed("true").is_ok());
        assert!(erasure_confirmed("on").is_ok());
        for no in ["", "false", "no", "maybe"] {
            assert!(erasure_confirmed(no).is_err(), "{no}");
        }
    }

    #[test]
    fn redaction_replaces_every_occurrence_case_insensitively() {
        let personal = ["Zoë O'Brien", "zoe@example.com"];
        assert_eq!(
            redact(
                "Thanks! ZOË O'BRIEN (Zoe@Example.com), signed zoë o'brien",
                &personal,
                "[erased]"
            ),
            Some("Thanks! [erased] ([erased]), signed [erased]".into())
        );
        assert_eq!(redact("Great labs", &personal, "[erased]"), None);
        assert_eq!(redact("", &personal, "[erased]"), None);
        assert_eq!(redact("anything", &[""], "[erased]"), None);
        // Multi-byte characters around a match stay intact.
        assert_eq!(redact("→Ana←", &["ana"], "X"), Some("→X←".into()));
    }
}
