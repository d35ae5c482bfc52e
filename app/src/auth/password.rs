//! argon2id with OWASP's parameters, computed off the async runtime and rate-limited so a
//! burst of sign-ins cannot starve the server.
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::{OnceCell, Semaphore};

/// OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy: Arc<OnceCell<String>>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> PasswordHasher {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: Arc::new(OnceCell::new()),
        }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
        })
        .await?
    }

    /// With `stored = None` (unknown account) the password is checked against a dummy hash,
    /// so an unknown e-mail takes as long as a wrong password.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let stored = match stored {
            Some(hash) => hash.to_string(),
            None => self.dummy_hash().await?.clone(),
        };
        let _permit = self.permits.acquire().await?;
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            argon2()
                .verify_password(password.as_bytes(), stored.as_str())
                .is_ok()
        })
        .await?;
        Ok(ok)
    }

    async fn dummy_hash(&self) -> anyhow::Result<&String> {
        self.dummy
            .get_or_try_init(|| async {
                // A random password nobody knows, hashed with the same parameters.
                let unknowable = super::random_token();
                tokio::task::spawn_blocking(move || {
                    argon2()
                        .hash_password(unknowable.as_bytes())
                        .map(|h| h.to_string())
                        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
                })
                .await?
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_owasp_argon2id_parameters_and_verify() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("correct horse battery", None).await.unwrap());
        assert!(!hasher.verify("x", Some("not a hash")).await.unwrap());
    }
}
