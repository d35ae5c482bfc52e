//! Passwords, sessions, sign-in throttling, CSRF and the role extractors.
pub mod csrf;
pub mod oidc;
pub mod password;
pub mod session;
pub mod throttle;

use sha2::{Digest, Sha256};

/// 32 random bytes as 64 hex characters: session ids, CSRF tokens, setup and learner links.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system has no randomness");
    hex::encode(bytes)
}

/// Whether `token` has the shape of one of [`random_token`]'s or [`derived_token`]'s (64 hex
/// digits): anything else cannot match a stored hash, so it is not looked up.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Tokens are stored only as their SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A link token the app can compute again but nobody else can: HMAC-SHA256 of `purpose`
/// and `id` under the server secret. Stored, like any token, only as its hash; a
/// reminder can repeat the original link without the token being kept anywhere.
pub fn derived_token(secret: &[u8; 32], purpose: &str, id: i64) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(b":");
    mac.update(id.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Compares secrets without an early exit that would leak how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_random_bits_and_are_stored_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }

    #[test]
    fn derived_tokens_are_stable_per_purpose_id_and_secret() {
        let secret = [7u8; 32];
        let t = derived_token(&secret, "survey", 42);
        assert_eq!(t.len(), 64);
        assert_eq!(t, derived_token(&secret, "survey", 42));
        assert_ne!(t, derived_token(&secret, "survey", 43));
        assert_ne!(t, derived_token(&secret, "code", 42));
        assert_ne!(t, derived_token(&[8u8; 32], "survey", 42));
    }
}
