//! iCalendar (RFC 5545) for an MCT's classes: the calendar feed and the `.ics` attached to
//! a class assignment. Classes are whole days, so each is an all-day event from its first
//! day to the day after its last (DTEND is exclusive).
use chrono::{DateTime, NaiveDate, Utc};

/// One class as a calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable across feeds and e-mails, so a calendar updates the event instead of adding
    /// another: `class-<id>@<host>`.
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
    pub url: Option<String>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// A cancelled class stays in the feed as `STATUS:CANCELLED`, so calendars drop it.
    pub cancelled: bool,
    /// Bumped by every change of the class (its `updated_at`), so a calendar takes the newer copy.
    pub sequence: i64,
    pub last_modified: DateTime<Utc>,
}

/// A whole calendar (`METHOD:PUBLISH`) of `events`, stamped `now`, with CRLF line ends
/// and lines folded at 75 octets.
pub fn render(name: &str, events: &[Event], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let stamp = utc(now);
    for line in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//tsp-ledger//classes//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", text(name)),
    ] {
        push(&mut out, &line);
    }
    for e in events {
        push(&mut out, "BEGIN:VEVENT");
        push(&mut out, &format!("UID:{}", text(&e.uid)));
        push(&mut out, &format!("DTSTAMP:{stamp}"));
        push(&mut out, &format!("LAST-MODIFIED:{}", utc(e.last_modified)));
        push(&mut out, &format!("SEQUENCE:{}", e.sequence));
        push(
            &mut out,
            &format!("DTSTART;VALUE=DATE:{}", day(e.first_day)),
        );
        push(
            &mut out,
            &format!(
                "DTEND;VALUE=DATE:{}",
                day(e.last_day + chrono::Duration::days(1))
            ),
        );
        push(&mut out, &format!("SUMMARY:{}", text(&e.summary)));
        push(&mut out, &format!("DESCRIPTION:{}", text(&e.description)));
        if let Some(location) = &e.location {
            push(&mut out, &format!("LOCATION:{}", text(location)));
        }
        if let Some(url) = &e.url {
            push(&mut out, &format!("URL:{url}"));
        }
        push(
            &mut out,
            if e.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            },
        );
        push(&mut out, "TRANSP:OPAQUE");
        push(&mut out, "END:VEVENT");
    }
    push(&mut out, "END:VCALENDAR");
    out
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (never inside a UTF-8 character; continuation
/// lines start with a space), ended by CRLF.
fn push(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            uid: "class-7@ledger.example".into(),
            summary: "AZ-104 Azure Administrator (C-2026-0007)".into(),
            description: "Live virtual; scheduled".into(),
            location: Some("Room 4, Main St. 1; Leeds".into()),
            url: Some("https://ledger.example/classes/7".into()),
            first_day: "2026-03-02".parse().unwrap(),
            last_day: "2026-03-05".parse().unwrap(),
            cancelled: false,
            sequence: 3,
            last_modified: "2026-02-01T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn calendar_rule_a_class_is_an_all_day_event_ending_the_day_after_its_last_day() {
        let ics = render(
            "Ana's classes",
            &[event()],
            "2026-02-02T08:30:00Z".parse().unwrap(),
        );
        assert!(ics.contains("DTSTART;VALUE=DATE:20260302\r\n"), "{ics}");
        assert!(ics.contains("DTEND;VALUE=DATE:20260306\r\n"), "{ics}");
        assert!(ics.contains("DTSTAMP:20260202T083000Z\r\n"));
        assert!(ics.contains("UID:class-7@ledger.example\r\n"));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn calendar_rule_text_is_escaped_and_long_lines_are_folded_at_75_octets() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let mut e = event();
        e.description = "Zoë ".repeat(40);
        let ics = render("x", &[e], Utc::now());
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:{}", "Zoë ".repeat(40))));
        assert!(ics.contains("LOCATION:Room 4\\, Main St. 1\\; Leeds"));
    }

    #[test]
    fn calendar_rule_a_cancelled_class_stays_as_a_cancelled_event() {
        let mut e = event();
        e.cancelled = true;
        let ics = render("x", &[e], Utc::now());
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
    }
}
