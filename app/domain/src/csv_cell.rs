//! Spreadsheet-safe CSV cells (OWASP "CSV Injection"). A cell that starts with `=`, `+`,
//! `-`, `@`, a tab or a carriage return is read by Excel, LibreOffice and Sheets as a
//! formula; every export writes such a cell with a single quote `'` in front, which those
//! programs show as text and hide. The importers take one such quote off again, so an
//! exported file imports back to the same values.
//!
//! The rule, precisely (a pair that round-trips every string):
//! - [`escape`] adds one `'` to a cell whose first character after any leading quotes is a
//!   trigger (`=+-@`, tab, CR): `=1` → `'=1`, and `'=1` → `''=1`;
//! - [`unescape`] removes one `'` from exactly such a cell: `'=1` → `=1`, `''=1` → `'=1`.
//!
//! Any other cell is left alone both ways: `O'Brien`, `'Tis`, `'` or `''` stay as typed.
use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula (OWASP).
pub const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell`, past any leading single quotes, starts with a trigger.
fn guarded(cell: &str) -> bool {
    cell.trim_start_matches('\'')
        .starts_with(|c: char| TRIGGERS.contains(&c))
}

/// The cell as an export writes it: with one `'` in front when a spreadsheet would
/// otherwise (or, once the quote is taken off by an import, would) read it as a formula.
pub fn escape(cell: &str) -> Cow<'_, str> {
    if guarded(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell as an import reads it: one `'` taken off a cell that [`escape`] would have
/// produced (a quote followed, past any further quotes, by a trigger).
pub fn unescape(cell: &str) -> Cow<'_, str> {
    match cell.strip_prefix('\'') {
        Some(rest) if guarded(rest) => Cow::Borrowed(rest),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigger_is_escaped() {
        assert_eq!(
            escape(r#"=HYPERLINK("http://x","y")"#),
            r#"'=HYPERLINK("http://x","y")"#
        );
        assert_eq!(escape("+cmd"), "'+cmd");
        assert_eq!(escape("-2+3"), "'-2+3");
        assert_eq!(escape("@SUM(1)"), "'@SUM(1)");
        assert_eq!(escape("\tAda"), "'\tAda");
        assert_eq!(escape("\rAda"), "'\rAda");
    }

    #[test]
    fn ordinary_cells_are_left_alone() {
        for cell in [
            "",
            "Ada Lovelace",
            "O'Brien",
            "'Tis",
            "'",
            "''",
            "AZ-104",
            "2026-01-05",
            "12",
            "a=b",
            " =x",
            "ada@example.com",
        ] {
            assert_eq!(escape(cell), cell, "{cell:?}");
            assert_eq!(unescape(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn a_typed_leading_quote_survives_the_round_trip() {
        assert_eq!(escape("'=1"), "''=1");
        assert_eq!(unescape("''=1"), "'=1");
        assert_eq!(unescape("'=1"), "=1");
        assert_eq!(unescape("'@x"), "@x");
        assert_eq!(unescape("'Tis"), "'Tis");
    }

    #[test]
    fn unescape_undoes_escape_for_any_string() {
        let pieces = [
            "", "'", "''", "=", "+", "-", "@", "\t", "\r", "a", " ", "é", "\"",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let cell = format!("{a}{b}{c}");
                    let out = escape(&cell);
                    assert_eq!(unescape(&out), cell, "{cell:?}");
                    // An escaped cell never starts with a trigger.
                    assert!(
                        !out.starts_with(|ch: char| TRIGGERS.contains(&ch)),
                        "{cell:?}"
                    );
                }
            }
        }
    }
}
