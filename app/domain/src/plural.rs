//! Counted nouns for customer-facing text: "1 class", "2 classes", never "1 classes".

/// `n` and the noun in the form that agrees with it.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one or the many form alone, for a phrase whose number is written elsewhere
/// (`"{total} {} match"`).
pub fn form<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(count(1, "class", "classes"), "1 class");
        assert_eq!(count(0, "class", "classes"), "0 classes");
        assert_eq!(count(2, "problem", "problems"), "2 problems");
        assert_eq!(form(1, "matches", "match"), "matches");
    }
}
