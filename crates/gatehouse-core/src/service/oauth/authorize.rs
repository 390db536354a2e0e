//! The authorization endpoint (RFC 6749 §4.1–§4.2, OIDC Core §3.1.2–§3.3.2, OAuth 2.0 Multiple
//! Response Type Encoding Practices, RFC 9207, RFC 9700 §2.1).
//!
//! A request is first checked for the two things that decide *where* errors may go: the client
//! and the redirect URI. Until both are known good, errors are shown on an error page and never
//! redirected (RFC 6749 §4.1.2.1). After that, every error goes back to the client with `state`
//! and `iss`.

use std::sync::Arc;

use tracing::instrument;

use super::super::Gatehouse;
use crate::clients::Client;
use crate::clients::uri::redirect_uri_matches;
use crate::error::Result;
use crate::factors::ACR_MFA;
use crate::ids::ResourceId;
use crate::model::User;
use crate::oauth::scope::Scopes;
use crate::oauth::{OAuthError, OAuthErrorCode, ResponseType, Session, pkce};
use crate::resources::{ApiResource, ResourceScope, described, grant_scopes, requested_targets};
use crate::time::Timestamp;

/// Longest `state` or `nonce` accepted.
const MAX_STATE: usize = 2048;
/// Longest parameter list accepted.
const MAX_PARAMS: usize = 64;

/// The raw parameters of an authorization request. Unknown parameters are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    /// Requested `acr` values, most preferred first (OIDC Core §3.1.2.1).
    pub acr_values: Option<String>,
    /// Request objects (OIDC Core §6) are not supported; their presence is an error.
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// RFC 8707 `resource` parameters, as given (the one parameter that may repeat).
    pub resource: Vec<String>,
}

impl AuthorizeParams {
    /// Reads the known parameters from decoded pairs. A known parameter given twice is an error
    /// (RFC 6749 §3.1); an empty value counts as absent.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        let mut p = Self::default();
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            if i >= MAX_PARAMS {
                return Err("too many parameters".into());
            }
            let slot = match k {
                "response_type" => &mut p.response_type,
                "client_id" => &mut p.client_id,
                "redirect_uri" => &mut p.redirect_uri,
                "scope" => &mut p.scope,
                "state" => &mut p.state,
                "nonce" => &mut p.nonce,
                "code_challenge" => &mut p.code_challenge,
                "code_challenge_method" => &mut p.code_challenge_method,
                "prompt" => &mut p.prompt,
                "max_age" => &mut p.max_age,
                "login_hint" => &mut p.login_hint,
                "response_mode" => &mut p.response_mode,
                "acr_values" => &mut p.acr_values,
                "request" => &mut p.request,
                "request_uri" => &mut p.request_uri,
                "resource" => {
                    p.resource.push(v.to_owned());
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                return Err(format!("the parameter {k} is given more than once"));
            }
            if !v.is_empty() {
                *slot = Some(v.to_owned());
            }
        }
        Ok(p)
    }

    /// The parameters as pairs, for rebuilding the request (after sign-in, in the consent form).
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
            ("response_mode", &self.response_mode),
            ("acr_values", &self.acr_values),
            ("request", &self.request),
            ("request_uri", &self.request_uri),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .chain(self.resource.iter().map(|r| ("resource", r.as_str())))
        .collect()
    }
}

/// How the response parameters travel back (OAuth 2.0 Multiple Response Types, Form Post).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// A response to send to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
}

impl RedirectResponse {
    /// The `Location` for query and fragment modes (existing query parameters are kept).
    pub fn location(&self) -> String {
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        match self.mode {
            ResponseMode::Fragment => format!("{}#{encoded}", self.redirect_uri),
            _ if self.redirect_uri.contains('?') => format!("{}&{encoded}", self.redirect_uri),
            _ => format!("{}?{encoded}", self.redirect_uri),
        }
    }
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub params: AuthorizeParams,
    pub client: Arc<Client>,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    pub mode: ResponseMode,
    pub scopes: Scopes,
    /// The API resources the request named (RFC 8707 §2.1).
    pub resources: Vec<ResourceId>,
    /// The granted scopes that API resources define, with their descriptions, for the consent page.
    pub resource_scopes: Vec<ResourceScope>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
    /// The client prefers two factors (`acr_values` starting with [`ACR_MFA`]).
    wants_mfa: bool,
    /// The client's project requires two factors of everyone signing in to its apps.
    requires_mfa: bool,
}

/// Why a request cannot even be answered at its redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeFailure {
    /// Unknown client or unusable redirect URI: show an error page, never redirect.
    Page(String),
    /// Any other error, sent back to the client.
    Redirect(RedirectResponse),
}

/// What the authorization endpoint does next.
#[derive(Debug, Clone)]
pub enum AuthorizeStep {
    /// Ask the user to sign in (again), then come back.
    SignIn,
    /// Ask the user to set up a second factor, which the client's project requires, then come
    /// back.
    EnrolSecondFactor,
    /// Ask the user to consent to the scopes.
    Consent,
    /// Answer the client: a code and/or tokens, or an error.
    Respond(RedirectResponse),
}

impl AuthorizeRequest {
    /// An error response for this request (RFC 6749 §4.1.2.1, §4.2.2.1, with RFC 9207 `iss`).
    pub fn error(&self, issuer: &str, e: &OAuthError) -> RedirectResponse {
        error_response(issuer, &self.redirect_uri, self.mode, self.params.state.as_deref(), e)
    }

    /// The client's display name.
    pub fn client_name(&self) -> &str {
        &self.client.settings.name
    }
}

fn error_response(
    issuer: &str,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    e: &OAuthError,
) -> RedirectResponse {
    let mut params = vec![
        ("error", e.code.as_str().to_owned()),
        ("error_description", e.description.clone()),
    ];
    if let Some(s) = state {
        params.push(("state", s.to_owned()));
    }
    params.push(("iss", issuer.to_owned()));
    RedirectResponse {
        redirect_uri: redirect_uri.to_owned(),
        mode,
        params,
    }
}

impl Gatehouse {
    /// Checks an authorization request (RFC 6749 §4.1.1, §4.2.1; OIDC Core §3.1.2.1–2, §3.2.2.1,
    /// §3.3.2.1).
    #[instrument(level = "debug", skip_all)]
    pub async fn check_authorize(&self, params: AuthorizeParams) -> Result<AuthorizeRequest, AuthorizeFailure> {
        let page = |m: &str| AuthorizeFailure::Page(m.to_owned());
        let client_id = params
            .client_id
            .as_deref()
            .ok_or_else(|| page("The request has no client_id."))?;
        let client = self
            .enabled_client(client_id)
            .await
            .map_err(|_| page("The server could not load the client; try again."))?
            .ok_or_else(|| page("The client_id is unknown or the client is disabled."))?;
        let registered = &client.settings.redirect_uris;
        let redirect_uri = match &params.redirect_uri {
            Some(r) => registered
                .iter()
                .any(|reg| redirect_uri_matches(reg, r))
                .then(|| r.clone())
                .ok_or_else(|| page("The redirect_uri is not registered for this client."))?,
            // OIDC Core §3.1.2.1 makes redirect_uri required for OpenID requests.
            None if params
                .scope
                .as_deref()
                .is_some_and(|s| s.split(' ').any(|v| v == "openid")) =>
            {
                return Err(page("An OpenID Connect request must name its redirect_uri."));
            }
            None if registered.len() == 1 => registered[0].clone(),
            None => {
                return Err(page(
                    "The request has no redirect_uri and the client registers several.",
                ));
            }
        };
        // The response type decides the response mode, which every later error travels in.
        let response_type = params.response_type.as_deref().map(ResponseType::parse);
        let default_mode = match response_type {
            Some(Some(t)) if t.returns_tokens() => ResponseMode::Fragment,
            _ => ResponseMode::Query,
        };
        let (mode, mode_error) = match params.response_mode.as_deref() {
            None => (default_mode, None),
            // Multiple Response Types §5: tokens never travel in the query.
            Some("query") if default_mode == ResponseMode::Fragment => (
                default_mode,
                Some("response_mode=query cannot carry tokens; use fragment or form_post"),
            ),
            Some("query") => (ResponseMode::Query, None),
            Some("fragment") => (ResponseMode::Fragment, None),
            Some("form_post") => (ResponseMode::FormPost, None),
            Some(_) => (default_mode, Some("response_mode must be query, fragment or form_post")),
        };
        let issuer = &self.provider.config.issuer;
        let fail = |e: OAuthError| {
            AuthorizeFailure::Redirect(error_response(issuer, &redirect_uri, mode, params.state.as_deref(), &e))
        };
        if let Some(m) = mode_error {
            return Err(fail(OAuthError::invalid_request(m)));
        }
        if params.request.is_some() {
            return Err(fail(OAuthError::new(
                OAuthErrorCode::RequestNotSupported,
                "request objects are not supported",
            )));
        }
        if params.request_uri.is_some() {
            return Err(fail(OAuthError::new(
                OAuthErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            )));
        }
        let response_type = match response_type {
            None => return Err(fail(OAuthError::invalid_request("response_type is required"))),
            Some(None) => {
                return Err(fail(OAuthError::new(
                    OAuthErrorCode::UnsupportedResponseType,
                    "response_type must be code, token, id_token or a combination of them",
                )));
            }
            Some(Some(t)) => t,
        };
        let s = &client.settings;
        // RFC 6749 §4.1.2.1, §4.2.2.1: only what the client registered (the registry allows the
        // types with token or id_token only with the implicit grant).
        if !s.response_types.iter().any(|t| t == response_type.as_str()) {
            return Err(fail(OAuthError::new(
                OAuthErrorCode::UnsupportedResponseType,
                format!(
                    "this client has not registered response_type {:?}",
                    response_type.as_str()
                ),
            )));
        }
        if params.state.as_ref().is_some_and(|v| v.len() > MAX_STATE)
            || params.nonce.as_ref().is_some_and(|v| v.len() > MAX_STATE)
        {
            return Err(fail(OAuthError::invalid_request(
                "state and nonce are limited to 2048 characters",
            )));
        }
        let requested = params.scope.as_deref().map(Scopes::parse).transpose().map_err(&fail)?;
        let project_resources = self
            .project_resources(client.project_id)
            .await
            .map_err(|e| fail(e.into()))?;
        let requires_mfa = self
            .store
            .get_project(client.project_id)
            .await
            .map_err(|e| fail(e.into()))?
            .is_some_and(|p| p.settings.require_second_factor);
        let (scopes, resources, resource_scopes) =
            user_grant_scopes(&client, &project_resources, requested.as_ref(), &params.resource).map_err(&fail)?;
        let openid = scopes.contains("openid");
        // OIDC Core §3.2.2.1, §3.3.2.1: an ID token is only for an OpenID request, and a nonce
        // binds it to the browser that asked.
        if response_type.id_token() && !openid {
            return Err(fail(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "response_type with id_token needs the openid scope",
            )));
        }
        if response_type.needs_nonce(openid) && params.nonce.is_none() {
            return Err(fail(OAuthError::invalid_request(format!(
                "nonce is required for response_type {:?}",
                response_type.as_str()
            ))));
        }
        match &params.code_challenge {
            // No code, no PKCE: a challenge of an implicit request has nothing to bind.
            _ if !response_type.code() => {}
            Some(c) => pkce::check_challenge(c, params.code_challenge_method.as_deref()).map_err(&fail)?,
            None if s.require_pkce || !s.require_client_secret => {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge (PKCE, S256) is required",
                )));
            }
            None if params.code_challenge_method.is_some() => {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge_method without code_challenge",
                )));
            }
            None => {}
        }
        let prompts: Vec<&str> = params
            .prompt
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|p| !p.is_empty())
            .collect();
        if prompts
            .iter()
            .any(|p| !matches!(*p, "none" | "login" | "consent" | "select_account"))
        {
            return Err(fail(OAuthError::invalid_request(
                "prompt may hold none, login, consent, select_account",
            )));
        }
        let prompt_none = prompts.contains(&"none");
        if prompt_none && prompts.len() > 1 {
            return Err(fail(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            )));
        }
        let max_age = match params.max_age.as_deref() {
            None => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| fail(OAuthError::invalid_request("max_age must be a non-negative integer")))?,
            ),
        };
        Ok(AuthorizeRequest {
            prompt_login: prompts.contains(&"login"),
            prompt_consent: prompts.contains(&"consent"),
            prompt_none,
            max_age,
            wants_mfa: params
                .acr_values
                .as_deref()
                .and_then(|v| v.split(' ').next())
                .is_some_and(|first| first == ACR_MFA),
            requires_mfa,
            params,
            client,
            redirect_uri,
            response_type,
            mode,
            scopes,
            resources,
            resource_scopes,
        })
    }

    /// Decides the next step for a checked request given the browser's session: sign in, consent,
    /// or answer (SPEC §5.2 prompt and max_age rules; consent remembered per user and client).
    /// `consented` is true when the user has just approved on the consent page; `signed_in_since`
    /// is the time of a [`Gatehouse::login_marker`] this request was sent to sign in with: a
    /// session authenticated after it satisfies `prompt=login` and `max_age`.
    #[instrument(level = "debug", skip_all, fields(client_id = %req.client.id))]
    pub async fn authorize_step(
        &self,
        req: &AuthorizeRequest,
        session: Option<&(Session, User)>,
        consented: bool,
        signed_in_since: Option<Timestamp>,
    ) -> Result<AuthorizeStep> {
        let issuer = &self.provider.config.issuer;
        let now = self.clock.now();
        let interaction = |code: OAuthErrorCode, what: &str| {
            Ok(AuthorizeStep::Respond(req.error(issuer, &OAuthError::new(code, what))))
        };
        let Some((session, user)) = session else {
            return if req.prompt_none {
                interaction(OAuthErrorCode::LoginRequired, "the user is not signed in")
            } else {
                Ok(AuthorizeStep::SignIn)
            };
        };
        let fresh = signed_in_since.is_some_and(|t| session.auth_time >= t);
        let too_old = req
            .max_age
            .is_some_and(|max| now.millis() - session.auth_time.millis() > max.saturating_mul(1000));
        // `acr_values` is a wish (OIDC Core §5.5.1.1): a person who has a second factor but
        // signed in without it signs in again; one without a factor gets the one-factor `acr`.
        // A project that requires two factors is no wish: a person without a second factor sets
        // one up, and a session without it is never enough, however fresh.
        let one_factor = session.amr.factors() < 2;
        let has_factor = one_factor && (req.wants_mfa || req.requires_mfa) && self.has_second_factor(user.id).await?;
        let required = req.requires_mfa && one_factor;
        if required && !has_factor {
            return if req.prompt_none {
                interaction(
                    OAuthErrorCode::InteractionRequired,
                    "the project requires a second factor, which the user must set up",
                )
            } else {
                Ok(AuthorizeStep::EnrolSecondFactor)
            };
        }
        let step_up = req.wants_mfa && has_factor;
        if required || (!fresh && (req.prompt_login || too_old || step_up)) {
            return if req.prompt_none {
                interaction(OAuthErrorCode::LoginRequired, "the user must sign in again")
            } else {
                Ok(AuthorizeStep::SignIn)
            };
        }
        if !consented && !req.client.official {
            let remembered = self.store.get_consent(user.id, &req.client.id).await?;
            let covered = remembered
                .as_deref()
                .and_then(|s| Scopes::parse(s).ok())
                .is_some_and(|r| req.scopes.is_subset(&r));
            if req.prompt_consent || !covered {
                return if req.prompt_none {
                    interaction(
                        OAuthErrorCode::ConsentRequired,
                        "the user has not consented to these scopes",
                    )
                } else {
                    Ok(AuthorizeStep::Consent)
                };
            }
        }
        // The answer's own failures (a session ended a moment ago) go back to the client too.
        let answer = Box::pin(self.authorization_response(req, session, user)).await;
        Ok(AuthorizeStep::Respond(answer.unwrap_or_else(|e| req.error(issuer, &e))))
    }

    /// Records the user's consent to the request's scopes (merged with earlier consent).
    pub async fn grant_consent(&self, req: &AuthorizeRequest, user: &User) -> Result<()> {
        let before = self.store.get_consent(user.id, &req.client.id).await?;
        let merged = before
            .as_deref()
            .and_then(|s| Scopes::parse(s).ok())
            .unwrap_or_default()
            .union(&req.scopes);
        self.store
            .put_consent(user.id, &req.client.id, &merged.to_wire(), self.clock.now())
            .await
    }
}

/// What a user grant (authorization code, device) receives (RFC 8707 §2.1, SPEC §5.6): the scopes,
/// the resources the request named, and the granted resource scopes with their descriptions.
pub(crate) fn user_grant_scopes(
    client: &Client,
    resources: &[ApiResource],
    requested: Option<&Scopes>,
    named: &[String],
) -> Result<(Scopes, Vec<ResourceId>, Vec<ResourceScope>), OAuthError> {
    let s = &client.settings;
    let targets = requested_targets(resources, named, s.default_resource.as_deref(), &s.scope)?;
    let allowed = grant_scopes(&s.scope, resources, &targets);
    let scopes = Scopes::for_user(requested, &allowed, s.offline_access())?;
    let descriptions = described(resources, &scopes);
    Ok((scopes, targets.iter().map(|r| r.id).collect(), descriptions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_given_twice_is_refused_and_unknown_ones_are_ignored() {
        assert!(AuthorizeParams::from_pairs([("state", "a"), ("state", "b")]).is_err());
        let p = AuthorizeParams::from_pairs([("client_id", "c"), ("unknown", "x"), ("unknown", "y")]).unwrap();
        assert_eq!(p.client_id.as_deref(), Some("c"));
    }

    #[test]
    fn responses_keep_the_redirect_uris_own_query() {
        let r = RedirectResponse {
            redirect_uri: "https://app.example/cb?x=1".into(),
            mode: ResponseMode::Query,
            params: vec![("code", "a b".into())],
        };
        assert_eq!(r.location(), "https://app.example/cb?x=1&code=a+b");
        let r = RedirectResponse {
            mode: ResponseMode::Fragment,
            redirect_uri: "https://app.example/cb".into(),
            ..r
        };
        assert_eq!(r.location(), "https://app.example/cb#code=a+b");
    }
}
