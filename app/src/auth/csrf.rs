//! CSRF: every state-changing request carries `_csrf`. Signed-in users get the token
//! bound to their session; anonymous forms (sign-in, setup, learner pages) get an HMAC of
//! a random per-browser nonce kept in a cookie. The Origin / Sec-Fetch-Site headers are
//! checked as well, so a forged cross-site post fails twice.
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::constant_time_eq;

pub const NONCE_COOKIE: &str = "tsp_csrf";
pub const FIELD: &str = "_csrf";

/// The anonymous-form token for a browser nonce.
pub fn anonymous_token(secret: &[u8; 32], nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"csrf:");
    mac.update(nonce.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `submitted` is the right token: the session's when signed in, otherwise the
/// HMAC of the browser's nonce.
pub fn token_is_valid(
    secret: &[u8; 32],
    session_token: Option<&str>,
    nonce: Option<&str>,
    submitted: &str,
) -> bool {
    let expected = match (session_token, nonce) {
        (Some(token), _) => token.to_string(),
        (None, Some(nonce)) if !nonce.is_empty() => anonymous_token(secret, nonce),
        _ => return false,
    };
    !submitted.is_empty() && constant_time_eq(expected.as_bytes(), submitted.as_bytes())
}

/// Cross-site requests are refused before any token is looked at. `Sec-Fetch-Site` is
/// trusted when the browser sends it; otherwise `Origin`, when present, must be ours.
pub fn origin_is_allowed(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    own_origins: &[String],
) -> bool {
    if let Some(site) = sec_fetch_site {
        return matches!(site, "same-origin" | "none");
    }
    match origin {
        None => true,
        Some("null") => false,
        Some(origin) => own_origins
            .iter()
            .any(|own| own.eq_ignore_ascii_case(origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [7; 32];

    #[test]
    fn csrf_tokens_bind_to_the_session_or_the_browser_nonce() {
        assert!(token_is_valid(&SECRET, Some("abc"), None, "abc"));
        assert!(!token_is_valid(&SECRET, Some("abc"), None, "abd"));
        assert!(!token_is_valid(&SECRET, Some("abc"), None, ""));
        let token = anonymous_token(&SECRET, "nonce1");
        assert!(token_is_valid(&SECRET, None, Some("nonce1"), &token));
        assert!(!token_is_valid(&SECRET, None, Some("nonce2"), &token));
        assert!(!token_is_valid(&SECRET, None, None, &token));
        assert!(
            !token_is_valid(&[8; 32], None, Some("nonce1"), &token),
            "another key"
        );
    }

    #[test]
    fn csrf_refuses_cross_site_origins() {
        let own = vec!["http://127.0.0.1:8080".to_string()];
        assert!(origin_is_allowed(Some("same-origin"), None, &own));
        assert!(origin_is_allowed(Some("none"), None, &own));
        assert!(!origin_is_allowed(
            Some("cross-site"),
            Some("http://127.0.0.1:8080"),
            &own
        ));
        assert!(!origin_is_allowed(Some("same-site"), None, &own));
        assert!(origin_is_allowed(None, Some("http://127.0.0.1:8080"), &own));
        assert!(!origin_is_allowed(None, Some("https://evil.example"), &own));
        assert!(!origin_is_allowed(None, Some("null"), &own));
        assert!(
            origin_is_allowed(None, None, &own),
            "non-browser clients send neither"
        );
    }
}
