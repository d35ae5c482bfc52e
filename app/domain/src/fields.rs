//! Parsers shared by forms and CSV imports: each returns the value or a message that
//! completes "<field> …" (`must be a date YYYY-MM-DD, not "12/01/2026"`).
use chrono::NaiveDate;

/// Field-level validation messages for a form or CSV row, shown next to their inputs (or after `line N:`).
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Collects the error of a parse into the list and yields the value when it parsed.
    pub fn check<T>(&mut self, field: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.add(field, m)).ok()
    }
}

/// Characters of a refused value that a message repeats: a 1 MB cell must not become a
/// 1 MB report.
pub const SHOWN_CHARS: usize = 40;

/// A refused value as a message quotes it: `"2026-02-30"`, or its first
/// [`SHOWN_CHARS`] characters and `…`.
pub fn shown(raw: &str) -> String {
    match raw.char_indices().nth(SHOWN_CHARS) {
        None => format!("{raw:?}"),
        Some((end, _)) => format!("{:?}…", &raw[..end]),
    }
}

/// `true` or `false`, exactly as the import format writes booleans.
pub fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("must be true or false, not {}", shown(other))),
    }
}

pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required (YYYY-MM-DD)".into());
    }
    // chrono alone accepts "2026-1-5"; the spec's format is fixed-width.
    let shaped = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(date) if shaped => Ok(date),
        _ => Err(format!("must be a date YYYY-MM-DD, not {}", shown(raw))),
    }
}

pub fn parse_optional_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(raw).map(Some)
    }
}

/// Bidirectional embeddings, overrides and isolates (U+202A–202E, U+2066–2069): they
/// can make a name display (in a page, a CSV or an e-mail) as other text than it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Trimmed one-line text of 1..=`max` characters: no line breaks, no other control
/// characters (NUL included) and no bidi overrides.
pub fn parse_text(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    match text.chars().count() {
        0 => Err("is required".into()),
        n if n > max => Err(format!("must be at most {max} characters")),
        _ if text.contains(['\r', '\n']) => Err("must be one line (no line breaks)".into()),
        _ if text.chars().any(char::is_control) => {
            Err("must not contain control characters".into())
        }
        _ if text.chars().any(is_bidi_control) => {
            Err("must not contain bidirectional text controls (U+202A–202E, U+2066–2069)".into())
        }
        _ => Ok(text.to_string()),
    }
}

/// Refuses a submitted value holding a NUL character, checked where every form field
/// and CSV cell is read: no text field takes one, and PostgreSQL cannot store it.
pub fn refuse_nul(value: &str) -> Result<(), String> {
    if value.contains('\0') {
        Err("must not contain a NUL character (\\0)".into())
    } else {
        Ok(())
    }
}

/// Like [`parse_text`], but blank means none.
pub fn parse_optional_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_text(raw, max).map(Some)
    }
}

/// An identifier such as `AZ-104` or `C-2026-0142`: upper-cased, letters, digits and
/// `- _ . /` only, so that `az-104` and `AZ-104` can never be two records.
pub fn parse_code(raw: &str, max: usize) -> Result<String, String> {
    let code = raw.trim().to_uppercase();
    if code.is_empty() {
        return Err("is required".into());
    }
    if code.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
    {
        return Err(format!(
            "may hold only letters, digits and - _ . / (found {bad:?})"
        ));
    }
    Ok(code)
}

/// An `http(s)://` link, or none when blank.
pub fn parse_optional_url(raw: &str) -> Result<Option<String>, String> {
    let url = raw.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
                && url.len() <= 2000 =>
        {
            Ok(Some(url.to_string()))
        }
        _ => Err(format!(
            "must be an http:// or https:// link, not {}",
            shown(url)
        )),
    }
}

/// The longest language tag stored (RFC 5646 §4.4.1 asks for at least 35 characters).
pub const LANGUAGE_TAG_MAX: usize = 35;

/// A language as a BCP 47 tag (RFC 5646), or none when blank: `en`, `de-DE`,
/// `zh-Hant-TW`, `es-419`. The tag must be well formed (language of 2–3 letters, then
/// optionally a 4-letter script, a region of 2 letters or 3 digits, variants, extensions
/// and a private-use part); it comes back in its canonical case (`de-DE`, `zh-Hant`).
/// `_` is not accepted for `-`: the tag is published as typed.
pub fn parse_optional_language(raw: &str) -> Result<Option<String>, String> {
    let tag = raw.trim();
    if tag.is_empty() {
        return Ok(None);
    }
    let refused = || {
        format!(
            "must be a language tag such as en, de-DE or pt-BR (BCP 47), not {}",
            shown(tag)
        )
    };
    if tag.len() > LANGUAGE_TAG_MAX || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(refused());
    }
    let subtags: Vec<&str> = tag.split('-').collect();
    let alpha = |s: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
    };
    let (first, rest) = subtags.split_first().ok_or_else(refused)?;
    if !alpha(first, 2..=3) {
        return Err(refused());
    }
    let mut out = vec![first.to_ascii_lowercase()];
    // Position in the tag: 0 extlang, 1 script, 2 region, 3 variants, 4 extensions, 5 private use.
    let mut stage = 0;
    let mut extlangs = 0;
    let mut i = 0;
    while i < rest.len() {
        let s = rest[i];
        let lower = s.to_ascii_lowercase();
        if s.is_empty() {
            return Err(refused());
        }
        if stage == 0 && alpha(s, 3..=3) && extlangs < 3 {
            extlangs += 1;
            out.push(lower);
        } else if stage <= 1 && alpha(s, 4..=4) {
            stage = 2;
            out.push(format!("{}{}", &s[..1].to_ascii_uppercase(), &lower[1..]));
        } else if stage <= 2
            && (alpha(s, 2..=2) || (s.len() == 3 && s.chars().all(|c| c.is_ascii_digit())))
        {
            stage = 3;
            out.push(s.to_ascii_uppercase());
        } else if stage <= 3
            && ((5..=8).contains(&s.len())
                || (s.len() == 4 && s.starts_with(|c: char| c.is_ascii_digit())))
        {
            stage = 3;
            out.push(lower);
        } else if s.len() == 1 {
            // An extension (`u-ca-gregory`) or the private use part (`x-…`): a singleton
            // followed by at least one subtag.
            let private = lower == "x";
            let min = if private { 1 } else { 2 };
            let mut j = i + 1;
            while j < rest.len()
                && (min..=8).contains(&rest[j].len())
                && (private || rest[j].len() > 1)
            {
                j += 1;
            }
            if j == i + 1 {
                return Err(refused());
            }
            out.push(lower);
            out.extend(rest[i + 1..j].iter().map(|s| s.to_ascii_lowercase()));
            i = j;
            stage = if private { 6 } else { 4 };
            if private && i < rest.len() {
                return Err(refused());
            }
            continue;
        } else {
            return Err(refused());
        }
        if stage == 0 && out.len() > 1 + extlangs {
            stage = 1;
        }
        i += 1;
    }
    Ok(Some(out.join("-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_exactly_true_or_false() {
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool(" false "), Ok(false));
        for bad in ["yes", "1", "TRUE", ""] {
            assert!(
                parse_bool(bad).unwrap_err().contains("true or false"),
                "{bad}"
            );
        }
    }

    #[test]
    fn dates_are_fixed_width_iso() {
        assert_eq!(parse_date("2026-02-28").unwrap().to_string(), "2026-02-28");
        for bad in ["2026-2-28", "28/02/2026", "2026-02-30", "2026-02-28T00:00"] {
            assert!(parse_date(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
        assert_eq!(parse_optional_date("  "), Ok(None));
    }

    #[test]
    fn codes_are_upper_cased_and_restricted() {
        assert_eq!(parse_code(" az-104 ", 32).unwrap(), "AZ-104");
        assert!(parse_code("AZ 104", 32).unwrap_err().contains("' '"));
        assert!(parse_code("", 32).is_err());
        assert!(parse_code(&"A".repeat(33), 32).is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            parse_text("  Zoë O'Brien, Jr. ", 200).unwrap(),
            "Zoë O'Brien, Jr."
        );
        assert!(parse_text("a\u{0}b", 200).is_err());
        assert!(parse_text(&"é".repeat(201), 200).is_err());
        assert_eq!(parse_optional_text("", 10), Ok(None));
        for bad in [
            "Eve\r\nBcc: x",
            "Eve\u{202e}gpj.exe",
            "Eve\u{2066}x",
            "a\u{7}b",
        ] {
            assert!(parse_text(bad, 200).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refused_values_are_quoted_short() {
        assert_eq!(shown("2026-02-30"), "\"2026-02-30\"");
        let long = "9".repeat(1_000_000);
        let message = parse_date(&long).unwrap_err();
        assert!(message.len() < 100, "{}", message.len());
        assert!(message.ends_with('…'), "{message}");
        assert!(refuse_nul("a\0b").unwrap_err().contains("NUL"));
        assert!(refuse_nul("ab").is_ok());
    }

    #[test]
    fn survey_links_must_be_web_links() {
        assert_eq!(
            parse_optional_url("https://mtm.example/s/1")
                .unwrap()
                .as_deref(),
            Some("https://mtm.example/s/1")
        );
        assert_eq!(parse_optional_url(""), Ok(None));
        assert!(parse_optional_url("javascript:alert(1)").is_err());
        assert!(parse_optional_url("https://").is_err());
    }
    #[test]
    fn rule_a_class_language_is_a_well_formed_bcp47_tag() {
        let ok = |raw: &str| parse_optional_language(raw).unwrap();
        assert_eq!(ok(""), None);
        assert_eq!(ok("  "), None);
        assert_eq!(ok("en"), Some("en".into()));
        assert_eq!(ok(" de-de "), Some("de-DE".into()));
        assert_eq!(ok("pt-BR"), Some("pt-BR".into()));
        assert_eq!(ok("zh-hant-tw"), Some("zh-Hant-TW".into()));
        assert_eq!(ok("es-419"), Some("es-419".into()));
        assert_eq!(ok("sl-rozaj-biske"), Some("sl-rozaj-biske".into()));
        assert_eq!(ok("de-CH-1901"), Some("de-CH-1901".into()));
        assert_eq!(ok("zh-yue-HK"), Some("zh-yue-HK".into()));
        assert_eq!(ok("en-US-u-ca-gregory"), Some("en-US-u-ca-gregory".into()));
        assert_eq!(ok("en-x-internal"), Some("en-x-internal".into()));
        for bad in [
            "english",
            "e",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "de-DE-DE",
            "en-US-x",
            "en-u",
            "fr-123456789",
            "en US",
            "12",
            "de-Latn-Latn",
            "en-<script>",
            &"a".repeat(40),
        ] {
            let e = parse_optional_language(bad).expect_err(bad);
            assert!(e.starts_with("must be a language tag"), "{bad}: {e}");
        }
    }
}
