use super::*;

#[test]
fn answers_are_blank_or_one_to_five() {
    assert_eq!(parse_answer(""), Ok(None));
    assert_eq!(parse_answer(" 3 "), Ok(Some(3)));
    for bad in ["0", "6", "x", "2.5", "-1"] {
        assert!(parse_answer(bad).is_err(), "{bad}");
    }
}

#[test]
fn averages_use_integer_arithmetic() {
    assert_eq!(average_2dp(0, 0), "—");
    assert_eq!(average_2dp(13, 3), "4.33");
    assert_eq!(average_2dp(14, 3), "4.67");
    assert_eq!(average_2dp(17, 4), "4.25");
    assert_eq!(average_2dp(5, 1), "5.00");
    assert_eq!(rate_percent(1, 3), "33%");
    assert_eq!(rate_percent(2, 3), "67%");
    assert_eq!(rate_percent(0, 0), "—");
}
