//! Parsing account input into values that are valid by construction.

/// A lower-cased, trimmed e-mail address with one `@` and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("is required".into());
        }
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("is not a valid e-mail address".into());
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Email(email))
            }
            _ => Err("is not a valid e-mail address".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

/// A person's display name: trimmed, 1..=200 characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("is required".into()),
        n if n > 200 => Err("must be at most 200 characters".into()),
        _ => Ok(name.to_string()),
    }
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
    }
}
