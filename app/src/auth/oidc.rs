//! Sign-in with Microsoft Entra ID or any OpenID Connect provider: the authorization-code
//! flow with PKCE, `state` and `nonce`, and the ID token's signature and claims checked
//! by `openidconnect`.
//!
//! Nothing of an unfinished sign-in is stored on the server: `state`, `nonce`, the PKCE
//! verifier and the page to return to travel in one short-lived cookie, signed with the
//! server secret. So anonymous visitors cannot fill a table by starting sign-ins, and
//! the callback only works in the browser that started it (no login CSRF).
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::Mutex;

use super::constant_time_eq;
use crate::config::OidcConfig;

/// The cookie that carries an unfinished sign-in.
pub const COOKIE: &str = "tsp_oidc";
/// How long a sign-in may take at the provider.
pub const FLOW_MINUTES: i64 = 10;
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
/// Provider metadata and keys are fetched again after this long (keys rotate).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Keys younger than this are not fetched again for an unknown signature.
const METADATA_MIN_AGE: Duration = Duration::from_secs(60);
/// Longest provider answer read (discovery, keys, tokens).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Entra ID's optional claim "e-mail domain owner verified": Entra sends no
/// `email_verified`, and an unverified `email` there may be anything a tenant typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    xms_edov: Option<serde_json::Value>,
}
impl AdditionalClaims for ProviderClaims {}

type IdTokenClaimFields = IdTokenFields<
    ProviderClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type ProviderTokenResponse = StandardTokenResponse<IdTokenClaimFields, CoreTokenType>;
type ProviderClient = openidconnect::Client<
    ProviderClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    ProviderTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through the provider did not sign anybody in. The texts are for the
/// person at the sign-in page; details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error(
        "The sign-in provider cannot be reached right now; try again, or sign in with a password if you may."
    )]
    Unreachable(String),
    #[error(
        "This sign-in was started in another browser or took longer than {FLOW_MINUTES} minutes; start again."
    )]
    FlowInvalid,
    #[error("The sign-in provider refused the sign-in: {0}")]
    Refused(String),
    #[error(
        "The sign-in could not be verified (the provider's answer failed a security check); start again."
    )]
    TokenInvalid(String),
    #[error("The provider's sign-in has expired; start again.")]
    TokenExpired,
    #[error(
        "Your account at the provider has no verified e-mail address, so it cannot be matched to a tsp-ledger account. Ask an administrator."
    )]
    EmailNotVerified,
}

impl OidcError {
    /// The provider's own words, shortened and without control characters: they arrive
    /// in the callback URL, which anybody can write.
    pub fn refused(text: &str) -> OidcError {
        let clean: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
        OidcError::Refused(clean)
    }
}

/// What the provider vouches for after a successful callback.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub email: String,
    pub subject: String,
    pub next: String,
}

/// An unfinished sign-in, as sealed into [`COOKIE`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: String,
    pub started: DateTime<Utc>,
}

impl Flow {
    /// `hex(json).hex(hmac)`: tamper-evident, not secret (it is the browser's own sign-in).
    pub fn seal(&self, secret: &[u8; 32]) -> String {
        let body = hex::encode(serde_json::to_vec(self).expect("a flow serializes"));
        let mac = flow_mac(secret, &body);
        format!("{body}.{mac}")
    }

    pub fn open(secret: &[u8; 32], sealed: &str, now: DateTime<Utc>) -> Option<Flow> {
        let (body, mac) = sealed.split_once('.')?;
        if !constant_time_eq(flow_mac(secret, body).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let flow: Flow = serde_json::from_slice(&hex::decode(body).ok()?).ok()?;
        let age = now - flow.started;
        (age >= chrono::Duration::zero() && age <= chrono::Duration::minutes(FLOW_MINUTES))
            .then_some(flow)
    }
}

fn flow_mac(secret: &[u8; 32], body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"oidc-flow:");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The provider's HTTP calls: no redirects followed (SSRF), a timeout, a size cap.
#[derive(Clone)]
struct ProviderHttp(reqwest::Client);

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Http(#[from] openidconnect::http::Error),
}

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(answer.body(bytes)?)
        })
    }
}

struct Discovered {
    client: ProviderClient,
    fetched: tokio::time::Instant,
}

/// The configured provider: discovered on first use, kept for an hour.
pub struct Provider {
    config: OidcConfig,
    redirect: RedirectUrl,
    http: ProviderHttp,
    discovered: Mutex<Option<Arc<Discovered>>>,
}

impl Provider {
    /// `None` when no issuer is configured.
    pub fn from_config(config: &OidcConfig, public_url: &str) -> anyhow::Result<Option<Provider>> {
        if !config.enabled() {
            return Ok(None);
        }
        let redirect = RedirectUrl::new(format!(
            "{}{CALLBACK_PATH}",
            public_url.trim_end_matches('/')
        ))?;
        crate::install_tls_provider();
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Some(Provider {
            config: config.clone(),
            redirect,
            http: ProviderHttp(http),
            discovered: Mutex::new(None),
        }))
    }

    pub fn button_label(&self) -> &str {
        &self.config.button_label
    }

    async fn client(&self, refresh: bool) -> Result<Arc<Discovered>, OidcError> {
        let mut slot = self.discovered.lock().await;
        if let Some(current) = slot.as_ref() {
            let age = current.fetched.elapsed();
            let stale = age > METADATA_TTL || (refresh && age > METADATA_MIN_AGE);
            if !stale {
                return Ok(current.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.trim().to_string())
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        let client = ProviderClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.trim().to_string()),
            Some(ClientSecret::new(
                self.config.client_secret.trim().to_string(),
            )),
        )
        .set_redirect_uri(self.redirect.clone());
        let discovered = Arc::new(Discovered {
            client,
            fetched: tokio::time::Instant::now(),
        });
        *slot = Some(discovered.clone());
        Ok(discovered)
    }

    /// The provider's authorization URL and the flow to seal into the cookie.
    pub async fn start(
        &self,
        next: String,
        now: DateTime<Utc>,
    ) -> Result<(String, Flow), OidcError> {
        let discovered = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = discovered
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next,
            started: now,
        };
        Ok((url.to_string(), flow))
    }

    /// Checks the callback against the flow, trades the code for tokens and verifies the
    /// ID token: signature, issuer, audience, expiry (by `now`) and nonce.
    pub async fn finish(
        &self,
        flow: Flow,
        state: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedIdentity, OidcError> {
        if !constant_time_eq(flow.state.as_bytes(), state.as_bytes()) {
            return Err(OidcError::FlowInvalid);
        }
        let discovered = self.client(false).await?;
        let tokens = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(answer) => OidcError::refused(
                    answer
                        .error_description()
                        .map_or(answer.error().as_ref(), |d| d.as_str()),
                ),
                other => OidcError::Unreachable(error_chain(&other)),
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::TokenInvalid("the provider sent no ID token".into()))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let verify = |discovered: &Discovered| {
            let verifier = discovered
                .client
                .id_token_verifier()
                .set_time_fn(move || now);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let claims = match verify(&discovered) {
            // Keys rotate: an unknown signing key is worth one fresh look at the key set.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                verify(&*self.client(true).await?)
            }
            other => other,
        }
        .map_err(|e| match e {
            ClaimsVerificationError::Expired(_) => OidcError::TokenExpired,
            other => OidcError::TokenInvalid(other.to_string()),
        })?;
        let email = claims
            .email()
            .map(|e| e.as_str().trim().to_lowercase())
            .filter(|e| !e.is_empty());
        let verified = claims.email_verified() == Some(true)
            || claims
                .additional_claims()
                .xms_edov
                .as_ref()
                .is_some_and(claim_is_true);
        match email {
            Some(email) if verified => Ok(VerifiedIdentity {
                email,
                subject: claims.subject().as_str().to_string(),
                next: flow.next,
            }),
            _ => Err(OidcError::EmailNotVerified),
        }
    }
}

/// Entra sends optional boolean claims as JSON booleans, some tenants as strings.
fn claim_is_true(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => s.eq_ignore_ascii_case("true") || s == "1",
        serde_json::Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [9; 32];

    fn flow(started: DateTime<Utc>) -> Flow {
        Flow {
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            next: "/classes".into(),
            started,
        }
    }

    #[test]
    fn a_sealed_flow_opens_only_untampered_and_within_its_minutes() {
        let now = crate::clock::now();
        let sealed = flow(now).seal(&SECRET);
        assert_eq!(Flow::open(&SECRET, &sealed, now), Some(flow(now)));
        assert_eq!(
            Flow::open(&[8; 32], &sealed, now),
            None,
            "another server's key"
        );
        let (body, mac) = sealed.split_once('.').unwrap();
        let mut forged = flow(now);
        forged.next = "https://evil.example/".into();
        let forged_body = hex::encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            Flow::open(&SECRET, &format!("{forged_body}.{mac}"), now),
            None
        );
        assert_eq!(Flow::open(&SECRET, body, now), None, "no signature");
        let late = now + chrono::Duration::minutes(FLOW_MINUTES) + chrono::Duration::seconds(1);
        assert_eq!(Flow::open(&SECRET, &sealed, late), None, "too old");
    }

    #[test]
    fn entra_boolean_claims_may_come_as_strings() {
        assert!(claim_is_true(&serde_json::json!(true)));
        assert!(claim_is_true(&serde_json::json!("true")));
        assert!(claim_is_true(&serde_json::json!("1")));
        assert!(!claim_is_true(&serde_json::json!(false)));
        assert!(!claim_is_true(&serde_json::json!("no")));
        assert!(!claim_is_true(&serde_json::Value::Null));
    }
}
