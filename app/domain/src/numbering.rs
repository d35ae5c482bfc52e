//! Class refs numbered from a pattern such as `C-{YYYY}-{NNNN}`: `{YYYY}` is the year, the
//! final `{N…}` a counter zero-padded to as many digits as it has `N`s, counting up from
//! the highest ref of the same prefix.

/// Refuses a pattern that would not make class refs: it ends with one `{N…}` counter, may
/// hold one `{YYYY}`, and is otherwise upper-case letters, digits and `- _ . /`.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let Some((prefix, counter)) = split(pattern) else {
        return Err(format!(
            "{pattern:?} must end with a counter such as {{NNNN}}"
        ));
    };
    if counter == 0 || counter > 9 {
        return Err(format!("{pattern:?}: the counter has 1 to 9 N"));
    }
    let rest = prefix.replacen("{YYYY}", "", 1);
    if let Some(bad) = rest
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || "-_./".contains(*c)))
    {
        return Err(format!(
            "{pattern:?} may hold {{YYYY}}, a final {{NNNN}}, upper-case letters, digits and - _ . / (not {bad:?})"
        ));
    }
    Ok(())
}

/// The pattern before its counter, and the counter's width (`None`: no final counter).
fn split(pattern: &str) -> Option<(&str, usize)> {
    let body = pattern.strip_suffix('}')?;
    let open = body.rfind('{')?;
    let ns = &body[open + 1..];
    ns.chars()
        .all(|c| c == 'N')
        .then_some((&pattern[..open], ns.len()))
}

/// What every ref of `year` starts with (the pattern is checked).
pub fn prefix(pattern: &str, year: i32) -> String {
    let (prefix, _) = split(pattern).unwrap_or((pattern, 0));
    prefix.replacen("{YYYY}", &format!("{year:04}"), 1)
}

/// The next ref of `year`: one above the highest counter among `taken` refs with the
/// year's prefix and only digits after it (1 when there is none).
pub fn next_ref<'a>(pattern: &str, year: i32, taken: impl IntoIterator<Item = &'a str>) -> String {
    let width = split(pattern).map_or(4, |(_, w)| w);
    let prefix = prefix(pattern, year);
    let highest = taken
        .into_iter()
        .filter_map(|r| r.strip_prefix(prefix.as_str()))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:0width$}", highest + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_refs_count_up_within_their_year_and_prefix() {
        let pattern = "C-{YYYY}-{NNNN}";
        assert_eq!(check_pattern(pattern), Ok(()));
        assert_eq!(prefix(pattern, 2026), "C-2026-");
        assert_eq!(next_ref(pattern, 2026, []), "C-2026-0001");
        let taken = [
            "C-2026-0007",
            "C-2026-0012",
            "C-2025-0099",
            "C-2026-0013-B",
            "X-1",
        ];
        assert_eq!(next_ref(pattern, 2026, taken), "C-2026-0013");
        assert_eq!(next_ref(pattern, 2025, taken), "C-2025-0100");
        // Past the counter's width, the number grows rather than wrap.
        assert_eq!(next_ref("K{NN}", 2026, ["K99"]), "K100");
    }

    #[test]
    fn a_ref_pattern_without_a_final_counter_or_with_other_characters_is_refused() {
        for bad in [
            "C-{YYYY}",
            "C-{NNNN}-X",
            "c-{NNNN}",
            "C {NNNN}",
            "C-{}",
            "C-{NNNNNNNNNN}",
        ] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
        assert_eq!(check_pattern("TSP/{YYYY}/{NNN}"), Ok(()));
    }
}
