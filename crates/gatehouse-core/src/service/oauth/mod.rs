//! The authorization server's use cases (SPEC §5): sign-in and sessions, the authorization
//! endpoint's decisions, the token endpoint's grants, the device flow, introspection, revocation,
//! userinfo and logout. Tokens are issued and checked here, in one place.

pub mod authorize;
mod browser_seal;
mod client_auth;
mod device;
mod exchange;
mod front_channel;
mod introspect;
mod keys;
pub mod sessions;
mod token;

pub use authorize::{AuthorizeParams, AuthorizeRequest, AuthorizeStep, RedirectResponse, ResponseMode};
pub use client_auth::ClientCredentials;
pub use device::DeviceView;
pub use introspect::{IntrospectionCaller, LogoutPlan};
pub use sessions::{SECOND_STEP_TTL_SECS, SecondStep, SignIn, SignInOutcome};
pub use token::TokenParams;

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::Gatehouse;
use crate::cache::Cache;
use crate::clients::Client;
use crate::error::Result;
use crate::factors::AuthMethods;
use crate::ids::{ClientId, GrantId, ProjectId, SessionId, UserId};
use crate::jose::{self, SigningAlg};
use crate::keyring::read;
use crate::model::User;
use crate::oauth::keys::KeySet;
use crate::oauth::limiter::{ClientLimiter, Limiter, SignInLimiter};
use crate::oauth::opaque;
use crate::oauth::scope::Scopes;
use crate::oauth::{IssuedTokens, OAuthError, OAuthErrorCode, TokenType};
use crate::ports::Invalidation;
use crate::resources::{ApiResource, TokenFormat};
use crate::rng::random_bytes;
use crate::time::Timestamp;

const CSRF_DOMAIN: &str = "csrf";
const LOGIN_MARKER_DOMAIN: &str = "login-marker";

/// Settings of the authorization server.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer: public base URL, no trailing slash.
    pub issuer: String,
    /// How long a browser session lasts.
    pub session_ttl_secs: i64,
    /// Scheduled signing-key rotation period (SPEC §5.3, default 30 days).
    pub key_rotation_secs: i64,
    /// `Cache-Control: max-age` of the JWKS; a new key is published at least this long before it signs.
    pub jwks_max_age_secs: i64,
    /// The algorithm of access tokens.
    pub access_token_alg: SigningAlg,
    /// Who may sign up at `/signup` (SPEC §5.4).
    pub signup: crate::people::SignUpPolicy,
    /// The upstream identity providers of the sign-in page ([`crate::idp`]).
    pub identity_providers: Vec<crate::idp::IdentityProvider>,
}

impl ProviderConfig {
    /// Defaults for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            session_ttl_secs: 14 * 86_400,
            key_rotation_secs: 30 * 86_400,
            jwks_max_age_secs: 300,
            access_token_alg: SigningAlg::Es256,
            signup: crate::people::SignUpPolicy::Closed,
            identity_providers: Vec::new(),
        }
    }
}

/// Brute-force delays (SPEC §5.2; the policy is in [`crate::oauth::limiter`]).
#[derive(Debug)]
pub(crate) struct Limits {
    /// Sign-in: per account and address, per account (for addresses that failed), per address.
    sign_in: SignInLimiter,
    /// Client authentication at the token, device authorization, introspection and revocation
    /// endpoints, per client and address.
    client: ClientLimiter,
    /// Guesses of device user codes by one user.
    user_code: Limiter<String>,
    /// Wrong codes of the second sign-in step (and of confirming an authenticator) per user: the
    /// password was right, so only the owner or someone holding their password fails here.
    pub(crate) second_factor: Limiter<UserId>,
}

/// How long a "not revoked" answer is trusted without asking storage again (SPEC §5.2: a revoked
/// token fails on every node within a second).
const ACTIVE_TTL_MS: i64 = 1_000;

/// The provider's state inside [`Gatehouse`].
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) config: ProviderConfig,
    keys: RwLock<Arc<KeySet>>,
    pub(crate) limits: Limits,
    /// Verified against when an email is unknown, so both cases cost one Argon2 verification.
    dummy_hash: tokio::sync::OnceCell<String>,
    /// Whether an origin is some client's CORS origin.
    pub(crate) cors: Cache<String, bool>,
    /// Access tokens whose signature verified (or, opaque, that opened), by SHA-256 of the token:
    /// verifying ES256 costs about three times signing, and resource servers introspect the same
    /// token many times. Revocation and the client are still checked on every use.
    pub(crate) verified: Cache<[u8; 32], AccessClaims>,
    /// `jti`s of access tokens found not revoked (their own and their grant's): every revocation
    /// drops them all, on every node ([`Invalidation::Revocations`]). Entries live one second, so
    /// a revocation holds everywhere within a second even if its notification is lost.
    pub(crate) active: Cache<String, ()>,
}

impl Provider {
    pub(crate) fn new(config: ProviderConfig) -> Self {
        Self {
            config,
            keys: RwLock::default(),
            limits: Limits {
                // Delays start with the 5th failure for an account from one address, the 20th
                // for an account from anywhere, the 100th from one address (docs/oauth.md).
                sign_in: SignInLimiter::new(5, 20, 100),
                // And with a client's 10th failure from one address.
                client: ClientLimiter::new(10),
                user_code: Limiter::new(5),
                // A TOTP code is one of a million: after 5 wrong codes, each waits 1 s, 2 s, …
                second_factor: Limiter::new(5),
            },
            dummy_hash: tokio::sync::OnceCell::new(),
            cors: Cache::default(),
            verified: Cache::default(),
            active: Cache::with_ttl(ACTIVE_TTL_MS),
        }
    }

    fn keys(&self) -> Arc<KeySet> {
        read(&self.keys).clone()
    }
}

/// Claims of a Gatehouse access token (RFC 9068 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub project_id: uuid::Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Who acts for `sub` in a token from a token exchange (RFC 8693 §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

/// The `act` claim (RFC 8693 §4.1): the current actor, and nested in it the actor it acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl AccessClaims {
    /// The grant a user token belongs to, encoded in its `jti` as `grant.random`.
    pub fn grant(&self) -> Option<GrantId> {
        let (grant, _) = self.jti.split_once('.')?;
        uuid::Uuid::try_parse(grant).ok().map(GrantId::from_uuid)
    }

    /// The user, for tokens issued to one (client credentials tokens have `sub = client_id`).
    pub fn user(&self) -> Option<UserId> {
        self.grant()?;
        uuid::Uuid::try_parse(&self.sub).ok().map(UserId::from_uuid)
    }

    /// The granted scopes.
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scope).unwrap_or_default()
    }
}

/// The values an ID token carries the left-half hash of: `at_hash` and `c_hash`.
pub(crate) struct Hashed<'a> {
    pub access_token: Option<&'a str>,
    pub code: Option<&'a str>,
}

/// What a set of issued tokens is about.
pub(crate) struct Issue<'a> {
    pub client: &'a Client,
    pub user: Option<&'a User>,
    /// The access token's scopes (and the response's `scope`).
    pub scopes: &'a Scopes,
    /// The scopes granted to the user, which decide the ID token and its claims; wider than
    /// `scopes` when the access token is for an API resource.
    pub granted: &'a Scopes,
    pub grant: Option<GrantId>,
    pub session: Option<SessionId>,
    pub nonce: Option<&'a str>,
    pub auth_time: Option<Timestamp>,
    /// What the user's sign-in used, for the ID token's `amr` and `acr`.
    pub amr: Option<AuthMethods>,
    /// The refresh token to hand out with the access token.
    pub refresh_token: Option<String>,
    /// The API resource the access token is for (RFC 8707); `None`: Gatehouse itself.
    pub audience: Option<&'a ApiResource>,
    /// For a token exchange (RFC 8693): who acts, and the longest lifetime the token may have.
    pub delegation: Option<Delegation<'a>>,
}

/// What a token issued by a token exchange adds to its claims (RFC 8693 §2.2.1, §4.1).
pub(crate) struct Delegation<'a> {
    pub act: &'a Actor,
    /// Seconds the token may live at most (it never outlives the subject token).
    pub max_ttl: u32,
}

impl Gatehouse {
    /// The provider's settings.
    pub fn provider_config(&self) -> &ProviderConfig {
        &self.provider.config
    }

    /// The client with `id` (cached), if it exists.
    pub(crate) async fn cached_client(&self, id: &str) -> Result<Option<Arc<Client>>> {
        let now = self.clock.now();
        if let Some(c) = self.clients.get(id, now) {
            return Ok(Some(c));
        }
        let Ok(parsed) = ClientId::parse(id) else {
            return Ok(None);
        };
        let ticket = self.clients.ticket();
        let Some(c) = self.store.find_client(&parsed).await? else {
            return Ok(None);
        };
        let c = Arc::new(c);
        self.clients.insert(ticket, id.to_owned(), c.clone(), now);
        Ok(Some(c))
    }

    /// An enabled client by id, for the endpoints that name one.
    pub async fn enabled_client(&self, id: &str) -> Result<Option<Arc<Client>>> {
        Ok(self.cached_client(id).await?.filter(|c| c.settings.enabled))
    }

    /// Whether `origin` is listed by some enabled client (preflight of the token, revocation,
    /// userinfo, JWKS and discovery endpoints; SPEC §5.2).
    pub async fn cors_origin_allowed(&self, origin: &str) -> Result<bool> {
        let now = self.clock.now();
        if let Some(v) = self.provider.cors.get(origin, now) {
            return Ok(*v);
        }
        let ticket = self.provider.cors.ticket();
        let allowed = origin.len() <= 300 && self.store.cors_origin_registered(origin).await?;
        self.provider
            .cors
            .insert(ticket, origin.to_owned(), Arc::new(allowed), now);
        Ok(allowed)
    }

    /// A marker for a trip to the sign-in page and back: the current time, MACed. A session
    /// authenticated after it satisfies `prompt=login` and `max_age` on the way back.
    pub fn login_marker(&self) -> String {
        let now = self.clock.now().millis().to_string();
        let mac = URL_SAFE_NO_PAD.encode(self.keys.hasher().hash(LOGIN_MARKER_DOMAIN, "", &now));
        format!("{now}.{mac}")
    }

    /// The time of a genuine marker from [`Gatehouse::login_marker`] at most ten minutes old.
    pub fn check_login_marker(&self, marker: &str) -> Option<Timestamp> {
        let (at, mac) = marker.split_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if !self.keys.hasher().verify(LOGIN_MARKER_DOMAIN, "", at, &mac) {
            return None;
        }
        let at = Timestamp::from_millis(at.parse().ok()?);
        (self.clock.now() < at.plus_secs(600)).then_some(at)
    }

    /// The CSRF token for forms of the browser holding `cookie` (signed double submit).
    pub fn csrf_token(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.keys.hasher().hash(CSRF_DOMAIN, "", cookie))
    }

    /// Whether a form's CSRF token belongs to the browser's CSRF cookie (constant time).
    pub fn check_csrf(&self, cookie: &str, token: &str) -> bool {
        let Ok(mac) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        !cookie.is_empty() && self.keys.hasher().verify(CSRF_DOMAIN, "", cookie, &mac)
    }

    /// Signs the access token, and the ID token when `openid` was granted to a user (RFC 6749
    /// §5.1, OIDC Core §3.1.3.3).
    pub(crate) async fn issue_tokens(&self, i: Issue<'_>) -> Result<IssuedTokens, OAuthError> {
        let now = self.clock.now();
        let (access_token, ttl) = self.access_token(&i, now)?;
        self.note_client_use(&i.client.id, now).await;
        let id_token = match i.user {
            // Boxed: it reads the user's claims from storage, and tokens without it should not
            // carry the space its future needs.
            Some(user) if i.granted.contains("openid") => {
                let hashed = Hashed {
                    access_token: Some(&access_token),
                    code: None,
                };
                Some(Box::pin(self.id_token(&i, user, hashed, now)).await?)
            }
            _ => None,
        };
        Ok(IssuedTokens {
            access_token: access_token.into(),
            token_type: TokenType::Bearer,
            expires_in: u64::from(ttl),
            refresh_token: i.refresh_token.map(Into::into),
            id_token: id_token.map(Into::into),
            scope: i.scopes.to_wire(),
            issued_token_type: i.delegation.as_ref().map(|_| exchange::ACCESS_TOKEN_TYPE.to_owned()),
        })
    }

    /// Makes the access token `i` asks for and returns it with its lifetime: a token for an API
    /// resource carries that resource's audience, lifetime and algorithm (RFC 9068 §3), and is
    /// sealed instead of signed when the resource's tokens are opaque ([`opaque`]).
    pub(crate) fn access_token(&self, i: &Issue<'_>, now: Timestamp) -> Result<(String, u32), OAuthError> {
        let jti = match i.grant {
            Some(g) => format!(
                "{}.{}",
                g.uuid().simple(),
                URL_SAFE_NO_PAD.encode(random_bytes::<12>(self.rng.as_ref()))
            ),
            None => URL_SAFE_NO_PAD.encode(random_bytes::<16>(self.rng.as_ref())),
        };
        let (aud, ttl, alg, format) = match i.audience {
            Some(r) => (
                r.identifier.clone(),
                r.access_token_lifetime_secs,
                r.signing_alg,
                r.token_format,
            ),
            None => (
                self.provider.config.issuer.clone(),
                i.client.settings.access_token_ttl,
                self.provider.config.access_token_alg,
                TokenFormat::Jwt,
            ),
        };
        let ttl = i.delegation.as_ref().map_or(ttl, |d| ttl.min(d.max_ttl));
        let claims = AccessClaims {
            iss: self.provider.config.issuer.clone(),
            sub: i.user.map_or_else(|| i.client.id.to_string(), |u| u.id.to_string()),
            aud,
            client_id: i.client.id.to_string(),
            scope: i.scopes.to_wire(),
            exp: now.secs() + i64::from(ttl),
            iat: now.secs(),
            jti,
            project_id: i.client.project_id.uuid(),
            auth_time: i.auth_time.map(Timestamp::secs),
            act: i.delegation.as_ref().map(|d| d.act.clone()),
        };
        let token = match format {
            TokenFormat::Jwt => self.sign(alg, "at+jwt", &claims, now)?,
            TokenFormat::Opaque => opaque::seal(self.keys.opaque_token_key(), self.rng.as_ref(), &claims)
                .map_err(|e| OAuthError::from(crate::Error::unexpected(e)))?,
        };
        Ok((token, ttl))
    }

    /// Signs an ID token for `user` (OIDC Core §2), with `at_hash` and `c_hash` of what
    /// `hashed` names (§3.2.2.10, §3.3.2.11).
    pub(crate) async fn id_token(
        &self,
        i: &Issue<'_>,
        user: &User,
        hashed: Hashed<'_>,
        now: Timestamp,
    ) -> Result<String, OAuthError> {
        let s = &i.client.settings;
        let alg = SigningAlg::parse(&s.id_token_signed_response_alg).unwrap_or(SigningAlg::Es256);
        let mut claims = serde_json::json!({
            "iss": self.provider.config.issuer,
            "sub": user.id.to_string(),
            "aud": i.client.id.as_str(),
            "azp": i.client.id.as_str(),
            "exp": now.secs() + i64::from(s.id_token_ttl),
            "iat": now.secs(),
        });
        let obj = claims
            .as_object_mut()
            .ok_or_else(|| OAuthError::invalid_request("claims"))?;
        if let Some(at) = hashed.access_token {
            obj.insert("at_hash".into(), jose::left_hash(alg, at).into());
        }
        if let Some(code) = hashed.code {
            obj.insert("c_hash".into(), jose::left_hash(alg, code).into());
        }
        if let Some(t) = i.auth_time {
            obj.insert("auth_time".into(), t.secs().into());
        }
        if let Some(amr) = i.amr.filter(|a| *a != AuthMethods::NONE) {
            obj.insert("amr".into(), amr.amr().into());
            obj.insert("acr".into(), amr.acr().into());
        }
        if let Some(n) = i.nonce {
            obj.insert("nonce".into(), n.into());
        }
        if let Some(sid) = i.session {
            obj.insert("sid".into(), sid.to_string().into());
        }
        obj.extend(self.user_claims(user, i.granted, Some(i.client.project_id)).await?);
        self.sign(alg, "JWT", &claims, now)
    }

    /// Profile claims by scope (OIDC Core §5.4): `profile` → name, `email` → email and
    /// email_verified, `role` → the user's role in `role_project` (the client's project).
    pub(crate) async fn user_claims(
        &self,
        user: &User,
        scopes: &Scopes,
        role_project: Option<ProjectId>,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut out = serde_json::Map::new();
        if scopes.contains("profile") {
            out.insert("name".into(), user.name.clone().into());
            out.insert("updated_at".into(), user.updated_at.secs().into());
        }
        if scopes.contains("email") {
            out.insert("email".into(), user.email.clone().into());
            // True once the owner proved the address (a mailed link, an upstream's verified email);
            // an account an admin made has not.
            out.insert("email_verified".into(), user.email_verified_at.is_some().into());
        }
        if let Some(project) = role_project.filter(|_| scopes.contains("role")) {
            // Only the role in the client's own project: other tenants are none of its business.
            let mut roles = serde_json::Map::new();
            if let Some(flags) = self.store.get_member(project, user.id).await? {
                let access = crate::access::Access {
                    project_id: project,
                    flags,
                    read_only: false,
                };
                roles.insert(project.to_string(), access.role().as_str().into());
            }
            out.insert("roles".into(), roles.into());
        }
        Ok(out)
    }

    /// Signs with the key of `alg` that is current at `now`, the time the claims were made at.
    fn sign(&self, alg: SigningAlg, typ: &str, claims: &impl Serialize, now: Timestamp) -> Result<String, OAuthError> {
        let keys = self.provider.keys();
        let key = keys
            .current(alg, now)
            .ok_or_else(|| OAuthError::new(OAuthErrorCode::ServerError, "no signing key is active"))?;
        key.signer.sign(typ, claims).map_err(OAuthError::from)
    }

    /// Verifies a JWT signed by one of this server's published keys and returns its claims;
    /// expiry is not checked here.
    pub(crate) fn verify_own_jwt(&self, token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        let header = jose::decode_header(token).ok()?;
        let keys = self.provider.keys();
        let key = keys.verifier(header.kid.as_deref()?, self.clock.now())?;
        key.verify(token).ok()
    }

    /// Checks an access token for Gatehouse's own endpoints (userinfo, the REST API, the LLM
    /// proxy): a JWT only, checked as [`Gatehouse::active_access_token`] does. Opaque tokens are
    /// for project resources, which learn about them by introspection; here they are invalid.
    pub async fn validate_access_token(&self, token: &str) -> Result<AccessClaims, OAuthError> {
        if opaque::is_opaque(token) {
            return Err(invalid_token());
        }
        self.active_access_token(token).await
    }

    /// Checks an access token of either format (introspection): its claims
    /// ([`Gatehouse::access_claims`]), expiry, an enabled client of the token's project, and no
    /// revocation (SPEC §5.2: revoked tokens fail on every node).
    pub(crate) async fn active_access_token(&self, token: &str) -> Result<AccessClaims, OAuthError> {
        let now = self.clock.now();
        let claims = self.access_claims(token)?;
        if claims.exp <= now.secs() {
            return Err(invalid_token());
        }
        let client = self
            .enabled_client(&claims.client_id)
            .await?
            .ok_or_else(invalid_token)?;
        if client.project_id.uuid() != claims.project_id {
            return Err(invalid_token());
        }
        if self.provider.active.get(claims.jti.as_str(), now).is_none() {
            let ticket = self.provider.active.ticket();
            if !self.store.token_active(&claims.jti, claims.grant()).await? {
                return Err(invalid_token());
            }
            self.provider
                .active
                .insert(ticket, claims.jti.clone(), Arc::new(()), now);
        }
        Ok(AccessClaims::clone(&claims))
    }

    /// The claims of an access token this server issued, expired or not: an opaque token that
    /// opens under our key, or a JWT with our signature, `typ: at+jwt` and our issuer.
    /// Remembered by the token's SHA-256 (see [`Provider::verified`]).
    pub(crate) fn access_claims(&self, token: &str) -> Result<Arc<AccessClaims>, OAuthError> {
        let now = self.clock.now();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        if let Some(c) = self.provider.verified.get(&key, now) {
            return Ok(c);
        }
        let ticket = self.provider.verified.ticket();
        let claims: AccessClaims = if opaque::is_opaque(token) {
            opaque::open(self.keys.opaque_token_key(), token).ok_or_else(invalid_token)?
        } else {
            let header = jose::decode_header(token).map_err(|_| invalid_token())?;
            if !header.typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
                return Err(invalid_token());
            }
            let raw = self.verify_own_jwt(token).ok_or_else(invalid_token)?;
            serde_json::from_value(raw.into()).map_err(|_| invalid_token())?
        };
        if claims.iss != self.provider.config.issuer {
            return Err(invalid_token());
        }
        let claims = Arc::new(claims);
        self.provider.verified.insert(ticket, key, claims.clone(), now);
        Ok(claims)
    }

    /// Tells every node that something was revoked, after the change committed.
    pub(crate) async fn revoked(&self) {
        self.invalidate(Invalidation::Revocations).await;
    }

    /// Hash of a high-entropy protocol secret (device code, session secret).
    pub(crate) fn secret_hash(&self, domain: &str, secret: &str) -> Vec<u8> {
        self.keys.hasher().hash(domain, "", secret)
    }
}

/// RFC 6750 §3.1 `invalid_token`, whatever the reason: the caller learns nothing more.
fn invalid_token() -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidToken, "the access token is invalid or expired")
}
