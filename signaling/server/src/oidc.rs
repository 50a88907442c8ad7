//! An OpenID Connect relying party: the authorization-code flow with PKCE, a nonce and a state
//! bound to the browser, against an issuer found by discovery. Two of them run: one for staff
//! login (R2) and one for citizens' e-identification before a meeting (R5).
//!
//! The ID token's signature, issuer, audience, expiry and nonce are checked by `openidconnect`;
//! what the claims then mean for Sluss is decided in [`claims`].

pub mod claims;
mod pending;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;

use claims::ClaimsError;
use pending::{Full, Pending, PendingLogins};

use crate::limits::{ClientKey, Limits};

/// How long a browser may spend at the identity provider (the state cookie's Max-Age too).
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Discovery (and with it the signing keys) is fetched again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// One identity provider and the client Sluss is registered as there.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer, e.g. `https://idp.region.se/oidc`; https unless on loopback.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// Accepted `acr` values; also sent to the provider as `acr_values`.
    pub allowed_acr: Vec<String>,
    /// The claim with the roles (staff login).
    pub roles_claim: String,
    /// The claim with the person's name.
    pub name_claim: String,
    /// The claim with the personal identity number (citizen e-identification).
    pub personal_number_claim: String,
    /// CA certificates (DER) trusted for this provider besides the public roots: a region's
    /// own CA.
    pub ca_certs: Vec<Vec<u8>>,
}

impl OidcConfig {
    /// The issuer must be https, except on loopback (a test provider, a local proxy).
    pub fn check(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.issuer).map_err(|e| format!("issuer: {e}"))?;
        let loopback = matches!(
            url.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
        );
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err("issuer: must be an https URL".into());
        }
        if self.client_id.is_empty() {
            return Err("client_id: must be set".into());
        }
        if self.allowed_acr.is_empty() {
            return Err("allowed_acr: must list at least one level".into());
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the login was not started here, or took too long")]
    UnknownState,
    #[error("too many logins are under way; try again in a few minutes")]
    Busy,
    #[error("this client has too many logins under way")]
    TooManyFromClient,
    #[error("the identity provider refused the code: {0}")]
    Exchange(String),
    #[error("the ID token was not valid: {0}")]
    Token(String),
    #[error("{0}")]
    Claims(#[from] ClaimsError),
}

/// What a finished login proved.
#[derive(Debug)]
pub struct Verified<T> {
    /// The issuer's stable id for the person.
    pub subject: String,
    pub acr: String,
    /// Every claim of the verified ID token.
    pub claims: Value,
    /// What the caller attached when the login began.
    pub data: T,
}

/// A relying party; `T` is what a login carries from its start to its end.
pub struct RelyingParty<T> {
    config: OidcConfig,
    redirect: String,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
    pending: Mutex<PendingLogins<T>>,
}

impl<T> RelyingParty<T> {
    /// `redirect` is the full callback URL registered with the provider.
    /// `limits` bounds the logins under way, per client and in all.
    pub fn new(config: OidcConfig, redirect: String, limits: &Limits) -> RelyingParty<T> {
        let mut http = reqwest::Client::builder()
            // The openidconnect crate's advice: never follow redirects (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        for der in &config.ca_certs {
            match reqwest::Certificate::from_der(der) {
                Ok(cert) => http = http.add_root_certificate(cert),
                Err(e) => {
                    tracing::warn!(error = %e, "a CA certificate for the provider was not usable")
                }
            }
        }
        let http = http.build().expect("an HTTP client with rustls");
        RelyingParty {
            config,
            redirect,
            http,
            metadata: tokio::sync::Mutex::new(None),
            pending: Mutex::new(PendingLogins::new(
                PENDING_TTL,
                limits.pending_per_address,
                limits.pending_max,
            )),
        }
    }

    /// Logins under way now.
    pub fn pending(&self) -> usize {
        self.pending_logins().len()
    }

    fn pending_logins(&self) -> std::sync::MutexGuard<'_, PendingLogins<T>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn metadata(&self) -> Result<CoreProviderMetadata, OidcError> {
        let mut cached = self.metadata.lock().await;
        if let Some((m, at)) = cached.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        *cached = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let redirect = RedirectUrl::new(self.redirect.clone())
            .map_err(|e| OidcError::Discovery(format!("redirect URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a login: the URL to send the browser to, and the state to bind to the browser
    /// (in a cookie) so that only this browser can finish it.
    pub async fn begin(&self, data: T, from: ClientKey) -> Result<(String, String), OidcError> {
        let client = self.client(self.metadata().await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for acr in &self.config.allowed_acr {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = Pending {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            data,
        };
        self.pending_logins()
            .insert(state.secret().clone(), pending, from, Instant::now())
            .map_err(|full| match full {
                Full::Client => OidcError::TooManyFromClient,
                Full::All => OidcError::Busy,
            })?;
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Finishes a login: `state` from the callback must equal the one bound to the browser.
    /// A state is used once, whatever the outcome.
    pub async fn finish(
        &self,
        state: &str,
        browser_state: Option<&str>,
        code: &str,
    ) -> Result<Verified<T>, OidcError> {
        if browser_state != Some(state) || code.is_empty() || code.len() > 2048 {
            return Err(OidcError::UnknownState);
        }
        let pending = self
            .pending_logins()
            .take(state, Instant::now())
            .ok_or(OidcError::UnknownState)?;
        let client = self.client(self.metadata().await?)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::Token("no ID token in the answer".into()))?;
        let verifier = client.id_token_verifier();
        let verified = id_token
            .claims(&verifier, &Nonce::new(pending.nonce))
            .map_err(|e| OidcError::Token(e.to_string()))?;
        let acr = verified.auth_context_ref().map(|a| a.as_str());
        let acr = claims::check_acr(acr, &self.config.allowed_acr)?.to_owned();
        let subject = verified.subject().as_str().to_owned();
        // The signature over this exact serialisation was checked just above.
        let all_claims = claims::payload(&id_token.to_string())?;
        Ok(Verified {
            subject,
            acr,
            claims: all_claims,
            data: pending.data,
        })
    }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
