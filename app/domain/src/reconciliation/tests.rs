use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn item(key: &str, date: &str) -> Item {
    Item {
        key: key.into(),
        date: d(date),
        units: 1,
        half_points: Some(2),
    }
}

fn header(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

#[test]
fn rule_reconciliation_dates_read_the_chosen_format_only() {
    assert_eq!(DateFormat::Us.parse("3/4/2026"), Ok(d("2026-03-04")));
    assert_eq!(
        DateFormat::Us.parse("03/04/2026 10:15 AM"),
        Ok(d("2026-03-04"))
    );
    assert_eq!(
        DateFormat::European.parse("03/04/2026"),
        Ok(d("2026-04-03"))
    );
    assert_eq!(
        DateFormat::Iso.parse("2026-03-04T10:00:00Z"),
        Ok(d("2026-03-04"))
    );
    assert_eq!(DateFormat::Dotted.parse("04.03.2026"), Ok(d("2026-03-04")));
    let refused = DateFormat::Us.parse("2026-03-04").unwrap_err();
    assert!(refused.contains("mm/dd/yyyy"), "{refused}");
    assert!(DateFormat::Us.parse("13/01/2026").is_err());
    assert!(DateFormat::Iso.parse("").is_err());
}

#[test]
fn rule_reconciliation_dates_guess_the_first_format_reading_every_sample() {
    assert_eq!(
        DateFormat::guess(["3/4/2026", "12/31/2026"]),
        Some(DateFormat::Us)
    );
    assert_eq!(
        DateFormat::guess(["31/12/2026", "1/2/2026"]),
        Some(DateFormat::European)
    );
    assert_eq!(DateFormat::guess(["2026-01-02"]), Some(DateFormat::Iso));
    assert_eq!(DateFormat::guess(["soon"]), None);
    assert_eq!(DateFormat::guess(Vec::<&str>::new()), None);
}

#[test]
fn rule_reconciliation_points_are_read_exactly_in_half_points() {
    assert_eq!(parse_points("1"), Ok(2));
    assert_eq!(parse_points("1.5"), Ok(3));
    assert_eq!(parse_points("0,5"), Ok(1));
    assert_eq!(parse_points("2.50"), Ok(5));
    assert_eq!(parse_points("0"), Ok(0));
    for bad in ["1.25", "-1", "", "1.5.0", "x", "1e3", ".5"] {
        assert!(parse_points(bad).is_err(), "{bad}");
    }
}

#[test]
fn rule_a_mapping_names_a_column_for_every_required_field() {
    let file = header(&[
        "Completion Date",
        "Achievement Code",
        "Course Number",
        "Points",
    ]);
    let preset = PRESETS[0].mapping();
    let bound = bind(&preset, &file).unwrap();
    let line = bound
        .read(&["3/4/2026", " ab12cd ", "az-104", "1.5"])
        .unwrap();
    assert_eq!(
        line,
        MicrosoftLine {
            date: d("2026-03-04"),
            item: "AB12CD".into(),
            course: "AZ-104".into(),
            units: 1,
            half_points: Some(3),
        }
    );

    let mut missing = preset.clone();
    missing.columns.remove(&Field::Code);
    let errors = bind(&missing, &file).unwrap_err();
    assert_eq!(errors, vec!["code: choose the file's column for it"]);

    let mut absent = preset.clone();
    absent.columns.insert(Field::Points, "Pts".into());
    let errors = bind(&absent, &file).unwrap_err();
    assert!(
        errors[0].starts_with("points: the file has no column \"Pts\""),
        "{errors:?}"
    );

    let mut twice = preset.clone();
    twice
        .columns
        .insert(Field::Course, "Achievement Code".into());
    let errors = bind(&twice, &file).unwrap_err();
    assert!(errors[0].contains("already mapped"), "{errors:?}");

    let mut foreign = preset;
    foreign.columns.insert(Field::Email, "Course Number".into());
    assert!(bind(&foreign, &file).is_err());
}

#[test]
fn rule_a_mapped_line_names_the_field_that_is_wrong() {
    let file = header(&[
        "Purchase Date",
        "Order Number",
        "Exam Number",
        "Quantity",
        "Points",
    ]);
    let bound = bind(&PRESETS[1].mapping(), &file).unwrap();
    assert_eq!(
        bound.read(&["2026-03-04", "PO-1", "AZ-900", "2", "1"]),
        Err("date: \"2026-03-04\" is not a date written mm/dd/yyyy".into())
    );
    assert_eq!(
        bound.read(&["3/4/2026", "", "AZ-900", "2", "1"]),
        Err("order_ref: is empty".into())
    );
    assert!(
        bound
            .read(&["3/4/2026", "PO-1", "AZ-900", "0", "1"])
            .unwrap_err()
            .starts_with("units:")
    );
    assert!(
        bound
            .read(&["3/4/2026", "PO-1", "AZ-900", "2", "x"])
            .unwrap_err()
            .starts_with("points:")
    );
    let line = bound.read(&["3/4/2026", "po-1", "az-900", "", ""]).unwrap();
    assert_eq!(
        (line.units, line.half_points, line.item.as_str()),
        (1, None, "PO-1")
    );

    let surveys = header(&["Survey Date", "Learner Email", "Course Number", "Points"]);
    let bound = bind(&PRESETS[2].mapping(), &surveys).unwrap();
    assert_eq!(
        bound.read(&["3/4/2026", "nobody", "", ""]),
        Err("learner_email: \"nobody\" is not an e-mail address".into())
    );
    assert_eq!(
        bound
            .read(&["3/4/2026", "Ann@Example.COM", "", ""])
            .unwrap()
            .item,
        "ann@example.com"
    );
}

#[test]
fn rule_reconciliation_matching_pairs_by_key_then_date() {
    let app = vec![
        item("A", "2026-03-01"),
        item("B", "2026-03-02"),
        item("C", "2026-03-31"),
        item("D", "2026-03-15"),
        item("D", "2026-03-16"),
    ];
    let microsoft = vec![
        item("A", "2026-03-01"),
        item("C", "2026-04-01"),
        item("D", "2026-03-16"),
        item("E", "2026-03-20"),
    ];
    let c = compare(&app, &microsoft, d("2026-03-01"), d("2026-03-31"));
    assert_eq!(c.matched, 2, "A and D on the 16th");
    assert_eq!(
        c.app_only,
        vec![1, 3],
        "B, and the D Microsoft has once only"
    );
    assert_eq!(c.microsoft_only, vec![3], "E");
    assert_eq!(c.dates_differ, vec![(2, 1)], "C: March here, April there");
}

#[test]
fn rule_reconciliation_reports_only_items_in_the_period() {
    let app = vec![item("A", "2026-02-28"), item("B", "2026-03-05")];
    let microsoft = vec![item("A", "2026-03-01"), item("Z", "2026-04-02")];
    let c = compare(&app, &microsoft, d("2026-03-01"), d("2026-03-31"));
    assert_eq!(c.dates_differ, vec![(0, 0)], "A pairs across the edge");
    assert_eq!(c.app_only, vec![1]);
    assert!(c.microsoft_only.is_empty(), "Z is April's");
    assert_eq!(c.matched, 0);

    let months = by_month(&app, d("2026-01-01"), d("2026-03-31"));
    assert_eq!(months.len(), 2);
    assert_eq!(months[&d("2026-02-01")].items, 1);
    assert_eq!(months[&d("2026-03-01")].half_points, 2);
}

#[test]
fn rule_a_support_packet_lists_the_units_microsoft_lacks_by_transaction_date() {
    let mut big = item("PO-7", "2026-03-04");
    big.units = 5;
    let missing = [&item("A", "2026-03-04"), &big, &item("B", "2026-03-09")];
    let packet = support_packet(Figure::Exams, "4711-0042", &missing);
    assert_eq!(packet.units, 7);
    assert_eq!(
        packet.records(),
        vec![
            ["4711-0042", "Exam vouchers", "2026-03-04", "6"].map(String::from),
            ["4711-0042", "Exam vouchers", "2026-03-09", "1"].map(String::from),
        ]
    );
    let text = packet.text("Contoso Learning");
    assert!(text.contains("Org/location ID: 4711-0042"), "{text}");
    assert!(text.contains("Category: Exam vouchers"), "{text}");
    assert!(text.contains("Number of units missing: 7"), "{text}");
    assert!(text.contains("2026-03-04 to 2026-03-09"), "{text}");
    assert!(text.contains("  2026-03-09: 1\n"), "{text}");

    let unset = support_packet(Figure::Surveys, "", &missing[..1]);
    assert!(
        unset
            .text("X")
            .contains("(not set: enter it under Settings)")
    );
    assert!(unset.text("X").contains("1 Surveys unit missing"));
}
