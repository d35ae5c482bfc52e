//! Parsing account input into values that are valid by construction.

/// A lower-cased, trimmed e-mail address: one `local@domain` and nothing around it
/// (no display name, no `<…>`), so it is safe as an SMTP recipient and as a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Longest address (RFC 5321's path limit less its brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// What a refused form shows back in its e-mail box: never longer than an address can
/// be, so a megabyte typed in does not come back as a megabyte page.
pub fn echo_email(raw: &str) -> String {
    raw.chars().take(MAX_EMAIL_CHARS + 1).collect()
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim();
        if email.is_empty() {
            return Err("is required".into());
        }
        // Length first: nothing else looks at an overlong value (it is not lower-cased).
        if email.len() > MAX_EMAIL_CHARS {
            return Err(format!("must be at most {MAX_EMAIL_CHARS} characters"));
        }
        let email = email.to_lowercase();
        match email.split_once('@') {
            Some((local, domain)) if local_part_ok(local) && domain_ok(domain) => Ok(Email(email)),
            _ => Err("is not a valid e-mail address".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 5322 dot-atom: letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots between
/// them, at most 64 characters. (Quoted local parts are not taken.)
fn local_part_ok(local: &str) -> bool {
    local.len() <= 64
        && !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c))
        })
}

/// Two or more dot-separated labels of letters, digits and inner hyphens.
fn domain_ok(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// NIST 800-63B style: long enough, not absurdly long, no composition rules.
pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    if password != confirmation {
        return Err("and its confirmation differ".into());
    }
    Ok(())
}

/// A person's display name (a user, a learner, an MCT): trimmed, 1..=200 characters on
/// one line, without control characters or bidi overrides (it goes into e-mails).
pub fn parse_name(raw: &str) -> Result<String, String> {
    crate::fields::parse_text(raw, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_to_lower_case() {
        assert_eq!(
            Email::parse("  Ana.Lopez@Example.COM ").unwrap().as_str(),
            "ana.lopez@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "ana@x",
            "a b@x.com",
            "a@b@c.com",
            "a@.com",
            "a@b.c>",
            "<a@b.example",
            "a..b@x.example",
            ".a@x.example",
            "a.@x.example",
            "Eve<eve@evil.example>",
            "eve@evil.example, bob@x.example",
            "a@-x.example",
            "a\0@x.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn new_passwords_need_twelve_characters_and_a_matching_confirmation() {
        assert!(check_new_password("correct horse", "correct horse").is_ok());
        assert!(
            check_new_password("short", "short")
                .unwrap_err()
                .contains("12")
        );
        assert!(
            check_new_password("correct horse", "correct horsE")
                .unwrap_err()
                .contains("confirmation")
        );
        let long = "x".repeat(257);
        assert!(check_new_password(&long, &long).is_err());
        // Non-ASCII letters count as one character each.
        assert!(check_new_password("ñññññññññññ", "ñññññññññññ").is_err());
        assert!(check_new_password("ññññññññññññ", "ññññññññññññ").is_ok());
    }

    #[test]
    fn names_are_trimmed_and_required() {
        assert_eq!(
            parse_name("  Zoë O'Brien, Jr. ").unwrap(),
            "Zoë O'Brien, Jr."
        );
        assert!(parse_name("   ").is_err());
        for bad in [
            "Eve\r\nBcc: all@example.com",
            "Eve\u{202e}moc.live",
            "Eve\u{2067}x",
            "a\u{0}b",
        ] {
            assert!(parse_name(bad).is_err(), "{bad:?}");
        }
        assert!(
            Email::parse(&format!("{}@x.example", "a".repeat(300)))
                .unwrap_err()
                .contains("254")
        );
        assert_eq!(
            Email::parse("o'brien+tag@mail.example.co")
                .unwrap()
                .as_str(),
            "o'brien+tag@mail.example.co"
        );
    }
}
