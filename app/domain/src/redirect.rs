/// Accepts a `next=` target only when it is a path on this site: it starts with a single
/// `/`, has no scheme or authority and no backslash or control character that a browser
/// could turn into one (`//evil`, `/\evil`, `/%09/evil`).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let bytes = next.as_bytes();
    let ok = bytes.first() == Some(&b'/')
        && bytes.get(1) != Some(&b'/')
        && bytes.get(1) != Some(&b'\\')
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.to_ascii_lowercase().contains("%2f%2f")
        && !next.to_ascii_lowercase().starts_with("/%5c")
        && !next.to_ascii_lowercase().contains("%09")
        && next.len() <= 2000;
    ok.then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_next_keeps_same_site_paths_only() {
        assert_eq!(
            safe_next(Some("/classes?page=2")).as_deref(),
            Some("/classes?page=2")
        );
        assert_eq!(safe_next(Some("/")).as_deref(), Some("/"));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil",
            "javascript:alert(1)",
            "evil.example",
            "/%09/evil.example",
            "/%5cevil.example",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?} must be refused");
        }
        assert_eq!(safe_next(None), None);
    }
}
