//! Property tests of every form's parser (`*Fields::parse`) and the shared field
//! parsers: arbitrary input never panics, a refusal names only the form's own fields,
//! and valid values parse to what was typed. Fixed seed: every run is the same.
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde::de::DeserializeOwned;

use super::{
    Search, classes::ClassFields, courses::CourseFields, recordings::RecordingFields,
    rosters::EnrollmentFields, settings::SettingsFields, surveys::parse_answer,
    takedowns::TakedownFields, trainers::TrainerFields, vouchers::VoucherFields,
};
use crate::domain::account::Email;
use crate::domain::fields::FieldErrors;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(11),
        ..Config::default()
    }
}

/// Text as people paste it: anything printable, line breaks, control characters,
/// and near-miss values.
fn typed() -> BoxedStrategy<String> {
    prop_oneof![
        "\\PC{0,24}",
        "[ -~]{0,24}",
        any::<String>(),
        proptest::sample::select(vec![
            "",
            " ",
            "true",
            "false",
            "2026-02-30",
            "2026-03-02",
            "9999-12-31",
            "-1",
            "0",
            "61",
            "1e3",
            "AZ-104",
            "az 104",
            "https://x.example/a",
            "javascript:x",
            "a@b.example",
            "official",
            "in_person",
            "recorded",
            "advanced",
            "outdated",
            "\u{0}",
            "\u{feff}",
        ])
        .prop_map(str::to_string),
    ]
    .boxed()
}

/// A form with the given field names, each typed arbitrarily (some left out).
fn form<F: DeserializeOwned + std::fmt::Debug>(
    names: &'static [&'static str],
) -> impl Strategy<Value = F> {
    proptest::collection::vec(proptest::option::of(typed()), names.len()).prop_map(move |values| {
        let object: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .zip(values)
            .filter_map(|(n, v)| Some((n.to_string(), serde_json::Value::String(v?))))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object)).expect("string fields")
    })
}

fn names_only(errors: &FieldErrors, names: &[&str]) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "a refusal without a message");
    for (field, message) in &errors.0 {
        prop_assert!(names.contains(field), "{field} is not a field of the form");
        prop_assert!(!message.trim().is_empty(), "{field}: empty message");
    }
    Ok(())
}

const COURSE: &[&str] = &[
    "course_code",
    "title",
    "duration_days",
    "fundamentals",
    "solution_area",
    "content",
    "courseware_version",
];
const TRAINER: &[&str] = &["name", "email", "mct_id", "mct_valid_until", "affiliated"];
const ENROLLMENT: &[&str] = &["learner_name", "learner_email", "attended"];
const CLASS: &[&str] = &[
    "class_ref",
    "course_code",
    "mct_id",
    "start_date",
    "end_date",
    "modality",
    "status",
    "location",
    "external_survey_url",
    "recording_id",
    "reason",
];
const RECORDING: &[&str] = &[
    "title",
    "course_code",
    "mct_id",
    "source_class_ref",
    "courseware_version",
    "location",
];
const VOUCHER: &[&str] = &[
    "purchased_on",
    "exam_code",
    "level",
    "quantity",
    "order_ref",
];
const TAKEDOWN: &[&str] = &["reference", "reason", "received_on", "due_on", "notes"];
const SETTINGS: &[&str] = &["organization_name", "anniversary_month", "anniversary_day"];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn every_form_parser_refuses_bad_input_by_field_and_never_panics(
        course in form::<CourseFields>(COURSE),
        trainer in form::<TrainerFields>(TRAINER),
        enrollment in form::<EnrollmentFields>(ENROLLMENT),
        class in form::<ClassFields>(CLASS),
        from_import in any::<bool>(),
        recording in form::<RecordingFields>(RECORDING),
        voucher in form::<VoucherFields>(VOUCHER),
        takedown in form::<TakedownFields>(TAKEDOWN),
        settings in form::<SettingsFields>(SETTINGS),
    ) {
        if let Err(e) = course.parse() { names_only(&e, COURSE)?; }
        if let Err(e) = trainer.parse() { names_only(&e, TRAINER)?; }
        if let Err(e) = enrollment.parse() { names_only(&e, ENROLLMENT)?; }
        if let Err(e) = class.parse(from_import) { names_only(&e, CLASS)?; }
        if let Err(e) = recording.parse() { names_only(&e, RECORDING)?; }
        if let Err(e) = voucher.parse() { names_only(&e, VOUCHER)?; }
        if let Err(e) = takedown.parse() { names_only(&e, TAKEDOWN)?; }
        if let Err(e) = settings.parse() { names_only(&e, SETTINGS)?; }
    }

    #[test]
    fn single_value_parsers_never_panic_and_keep_their_promises(raw in typed()) {
        use crate::domain::fields::*;
        if let Ok(b) = parse_bool(&raw) { prop_assert_eq!(raw.trim(), b.to_string()); }
        if let Ok(d) = parse_date(&raw) { prop_assert_eq!(d.to_string(), raw.trim()); }
        if let Ok(Some(d)) = parse_optional_date(&raw) { prop_assert_eq!(d.to_string(), raw.trim()); }
        if let Ok(t) = parse_text(&raw, 20) {
            prop_assert_eq!(t.as_str(), raw.trim());
            prop_assert!(!t.is_empty() && t.chars().count() <= 20);
            prop_assert!(!t.chars().any(char::is_control));
        }
        let _ = parse_optional_text(&raw, 20);
        if let Ok(code) = parse_code(&raw, 32) {
            prop_assert!(!code.is_empty() && code.chars().count() <= 32);
            prop_assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-_./".contains(c)));
        }
        if let Ok(Some(url)) = parse_optional_url(&raw) {
            prop_assert!(url.starts_with("http://") || url.starts_with("https://"));
            prop_assert!(!url.chars().any(char::is_whitespace));
        }
        if let Ok(email) = Email::parse(&raw) {
            prop_assert!(email.as_str().contains('@'));
        }
        if let Ok(Some(a)) = parse_answer(&raw) { prop_assert!((1..=5).contains(&a)); }
        if let Some(search) = Search::parse(&raw) { let _ = search.contains(); }
    }

    #[test]
    fn valid_course_trainer_enrollment_and_voucher_forms_parse_to_what_was_typed(
        code in "[A-Z]{2}-[0-9]{3}",
        title in "[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9 ,.'-]{0,40}[A-Za-z0-9]",
        days in 0..=60i32,
        flag in any::<bool>(),
        date in (2000..2100i32, 1..=12u32, 1..=28u32),
        // Dot-atoms: a dot only between characters (`a..b` is no address).
        local in "[a-z][a-z0-9]{0,5}(\\.[a-z0-9]{1,4}){0,2}",
        quantity in 1..=100i32,
    ) {
        let date = chrono::NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
        let course = CourseFields {
            course_code: code.to_lowercase(),
            title: format!("  {title} "),
            duration_days: days.to_string(),
            fundamentals: flag.to_string(),
            solution_area: "security".into(),
            content: "official".into(),
            courseware_version: "2026-01".into(),
        }
        .parse()
        .unwrap();
        prop_assert_eq!(&course.course_code, &code);
        prop_assert_eq!(&course.title, &title);
        prop_assert_eq!(course.duration_days, days);
        prop_assert_eq!(course.fundamentals, flag);

        let email = format!("{local}@example.com");
        let trainer = TrainerFields {
            name: title.clone(),
            email: email.clone(),
            mct_id: code.clone(),
            mct_valid_until: date.to_string(),
            affiliated: flag.to_string(),
        }
        .parse()
        .unwrap();
        prop_assert_eq!(&trainer.name, &title);
        prop_assert_eq!(trainer.email.as_str(), email.as_str());
        prop_assert_eq!(trainer.mct_valid_until, date);
        prop_assert_eq!(trainer.affiliated, flag);

        let learner = EnrollmentFields {
            learner_name: title.clone(),
            learner_email: email.to_uppercase(),
            attended: flag.to_string(),
        }
        .parse()
        .unwrap();
        prop_assert_eq!(&learner.learner_name, &title);
        prop_assert_eq!(learner.key.as_str(), email.as_str());
        prop_assert_eq!(learner.attended, flag);

        let voucher = VoucherFields {
            purchased_on: date.to_string(),
            exam_code: code.clone(),
            level: "advanced".into(),
            quantity: quantity.to_string(),
            order_ref: title.clone(),
        }
        .parse()
        .unwrap();
        prop_assert_eq!(voucher.purchased_on, date);
        prop_assert_eq!(voucher.quantity, quantity);
        prop_assert_eq!(&voucher.order_ref, &title);
    }
}
