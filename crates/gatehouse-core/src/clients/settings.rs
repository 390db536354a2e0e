//! A client's mutable settings and every validation rule of SPEC §4.2.

use std::collections::BTreeMap;

use gatehouse_types::ClientInput;
use serde::{Deserialize, Serialize};

use super::uri::{check_cors_origin, check_redirect_uri, check_web_url, logo_origin};
use crate::error::{Error, Result};
use crate::resources::{check_identifier, check_scope_name};
use crate::text::{check_name, check_no_nul};

/// Scopes a client may be allowed (SPEC §5.6).
pub const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "role",
    "offline_access",
    "llm_proxy",
    "gatehouse_api",
    "gatehouse_api.read_only",
];

/// The grant types a client may be allowed (SPEC §4.1).
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "implicit",
    TOKEN_EXCHANGE,
];
/// The token exchange grant (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The response types a client may be allowed (SPEC §4.1).
pub const RESPONSE_TYPES: &[&str] = &[
    "code",
    "token",
    "id_token",
    "code id_token",
    "id_token token",
    "code token",
    "code id_token token",
];
/// Token endpoint authentication methods (SPEC §4.1).
pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
/// ID token signing algorithms (SPEC §4.1).
pub const SIGNING_ALGS: &[&str] = &["ES256", "RS256", "EdDSA"];

const MAX_NAME: usize = 200;
const MAX_LIST: usize = 100;
const MAX_METADATA: usize = 50;
const MAX_METADATA_KEY: usize = 64;
const MAX_METADATA_VALUE: usize = 1000;

/// A client's settings. Built only by [`ClientSettings::create`] and [`ClientSettings::update`],
/// so every stored value has passed validation. `offline_access` is not stored: it *is* the
/// presence of the `refresh_token` grant, so the two views can never disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub name: String,
    pub enabled: bool,
    pub client_uri: Option<String>,
    /// The app's logo, privacy policy and terms of service, shown on its sign-in, sign-up,
    /// consent and device pages (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    pub require_client_secret: bool,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_cors_origins: Vec<String>,
    pub scope: Vec<String>,
    pub require_pkce: bool,
    pub access_token_ttl: u32,
    pub refresh_token_ttl: u32,
    pub id_token_ttl: u32,
    pub refresh_grace_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub revoke_on_logout: bool,
    pub metadata: BTreeMap<String, String>,
    /// The API resource tokens are for when a request names none (RFC 8707).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_resource: Option<String>,
    /// The API resources (identifiers) a token exchange by this client may issue tokens for
    /// (RFC 8693 §2.1 `resource`/`audience`); none unless listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_exchange_resources: Vec<String>,
}

impl ClientSettings {
    /// The defaults of SPEC §4.1 for a new client (the console's new-client form shows them).
    pub fn defaults(name: String, confidential: bool) -> Self {
        Self {
            name,
            enabled: true,
            client_uri: None,
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            require_client_secret: confidential,
            token_endpoint_auth_method: if confidential { "client_secret_basic" } else { "none" }.into(),
            grant_types: vec!["authorization_code".into()],
            response_types: Vec::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_cors_origins: Vec::new(),
            scope: ["openid", "profile", "email"].map(String::from).to_vec(),
            require_pkce: true,
            access_token_ttl: 3600,
            refresh_token_ttl: 30 * 24 * 3600,
            id_token_ttl: 3600,
            refresh_grace_seconds: 10,
            id_token_signed_response_alg: "ES256".into(),
            revoke_on_logout: true,
            metadata: BTreeMap::new(),
            default_resource: None,
            token_exchange_resources: Vec::new(),
        }
    }

    /// Settings of a new client: defaults, then `input`, then validation.
    pub fn create(input: &ClientInput) -> Result<Self> {
        let name = input
            .name
            .clone()
            .ok_or_else(|| Error::invalid("name", "is required"))?;
        let confidential = input.require_client_secret.unwrap_or(true);
        let defaults = Self::defaults(name, confidential);
        let mut s = defaults.merged(input)?;
        if input.response_types.is_none() && s.has_grant("authorization_code") {
            s.response_types = vec!["code".into()];
        }
        s.validate()?;
        Ok(s)
    }

    /// These settings with `input` applied; absent fields are left as they are.
    pub fn update(&self, input: &ClientInput) -> Result<Self> {
        let mut s = self.merged(input)?;
        // New grants without new response types: keep the response types the grants still allow,
        // and give a client that gains the authorization_code grant the `code` response type.
        if input.grant_types.is_some() && input.response_types.is_none() {
            let (code, implicit) = (s.has_grant("authorization_code"), s.has_grant("implicit"));
            s.response_types
                .retain(|rt| rt.split(' ').all(|part| if part == "code" { code } else { implicit }));
            if code && !s.response_types.iter().any(|rt| rt == "code") {
                s.response_types.push("code".into());
            }
        }
        // Switching between public and confidential moves the auth method with it unless given.
        if input.require_client_secret.is_some() && input.token_endpoint_auth_method.is_none() {
            s.token_endpoint_auth_method = match (s.require_client_secret, self.require_client_secret) {
                (false, _) => "none".into(),
                (true, false) => "client_secret_basic".into(),
                (true, true) => s.token_endpoint_auth_method,
            };
        }
        s.validate()?;
        Ok(s)
    }

    /// Whether refresh tokens may be issued (the `refresh_token` grant).
    pub fn offline_access(&self) -> bool {
        self.has_grant("refresh_token")
    }

    /// Whether `grant` is allowed.
    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    fn merged(&self, i: &ClientInput) -> Result<Self> {
        let mut s = self.clone();
        set(&mut s.name, &i.name);
        set(&mut s.enabled, &i.enabled);
        set(&mut s.client_uri, &i.client_uri);
        set(&mut s.logo_uri, &i.logo_uri);
        set(&mut s.policy_uri, &i.policy_uri);
        set(&mut s.tos_uri, &i.tos_uri);
        set(&mut s.require_client_secret, &i.require_client_secret);
        set(&mut s.token_endpoint_auth_method, &i.token_endpoint_auth_method);
        set(&mut s.grant_types, &i.grant_types);
        set(&mut s.response_types, &i.response_types);
        set(&mut s.redirect_uris, &i.redirect_uris);
        set(&mut s.post_logout_redirect_uris, &i.post_logout_redirect_uris);
        set(&mut s.allowed_cors_origins, &i.allowed_cors_origins);
        if let Some(scope) = &i.scope {
            s.scope = scope.split(' ').filter(|p| !p.is_empty()).map(String::from).collect();
        }
        set(&mut s.require_pkce, &i.require_pkce);
        set(&mut s.access_token_ttl, &i.access_token_ttl);
        set(&mut s.refresh_token_ttl, &i.refresh_token_ttl);
        set(&mut s.id_token_ttl, &i.id_token_ttl);
        set(&mut s.refresh_grace_seconds, &i.refresh_grace_seconds);
        set(&mut s.id_token_signed_response_alg, &i.id_token_signed_response_alg);
        set(&mut s.revoke_on_logout, &i.revoke_on_logout);
        set(&mut s.metadata, &i.metadata);
        if let Some(r) = &i.default_resource {
            s.default_resource = Some(r.clone()).filter(|r| !r.is_empty());
        }
        set(&mut s.token_exchange_resources, &i.token_exchange_resources);
        if let Some(offline) = i.offline_access {
            let listed = i.grant_types.as_ref().map(|g| g.iter().any(|x| x == "refresh_token"));
            if listed.is_some_and(|l| l != offline) {
                return Err(Error::invalid(
                    "offline_access",
                    "contradicts grant_types: offline_access means the refresh_token grant",
                ));
            }
            s.grant_types.retain(|g| g != "refresh_token");
            if offline {
                s.grant_types.push("refresh_token".into());
            }
        }
        Ok(s)
    }

    fn validate(&self) -> Result<()> {
        check_name("name", &self.name, MAX_NAME)?;
        for (field, uri) in [
            ("client_uri", &self.client_uri),
            ("policy_uri", &self.policy_uri),
            ("tos_uri", &self.tos_uri),
        ] {
            if let Some(u) = uri {
                check_web_url(field, u)?;
            }
        }
        if let Some(u) = &self.logo_uri {
            logo_origin("logo_uri", u)?;
        }
        let public = !self.require_client_secret;
        one_of(
            "token_endpoint_auth_method",
            &self.token_endpoint_auth_method,
            AUTH_METHODS,
        )?;
        if public != (self.token_endpoint_auth_method == "none") {
            return Err(Error::invalid(
                "token_endpoint_auth_method",
                if public {
                    "must be \"none\" for a public client (require_client_secret = false)"
                } else {
                    "\"none\" is only for public clients (require_client_secret = false)"
                },
            ));
        }
        list_of("grant_types", &self.grant_types, GRANT_TYPES)?;
        list_of("response_types", &self.response_types, RESPONSE_TYPES)?;
        for rt in &self.response_types {
            let parts: Vec<&str> = rt.split(' ').collect();
            if parts.contains(&"code") && !self.has_grant("authorization_code") {
                return Err(Error::invalid(
                    "response_types",
                    format!("{rt:?} needs the authorization_code grant"),
                ));
            }
            if (parts.contains(&"token") || parts.contains(&"id_token")) && !self.has_grant("implicit") {
                return Err(Error::invalid(
                    "response_types",
                    format!("{rt:?} needs the implicit grant"),
                ));
            }
            if parts.contains(&"id_token") && !self.scope.iter().any(|s| s == "openid") {
                return Err(Error::invalid(
                    "response_types",
                    format!("{rt:?} needs the openid scope"),
                ));
            }
        }
        let redirects_needed = self.has_grant("authorization_code") || self.has_grant("implicit");
        if redirects_needed && self.redirect_uris.is_empty() {
            return Err(Error::invalid(
                "redirect_uris",
                "at least one redirect URI is required for the authorization_code and implicit grants",
            ));
        }
        if public && self.has_grant("client_credentials") {
            return Err(Error::invalid(
                "grant_types",
                "client_credentials requires a confidential client (require_client_secret = true)",
            ));
        }
        if public && self.has_grant(TOKEN_EXCHANGE) {
            return Err(Error::invalid(
                "grant_types",
                "token exchange requires a confidential client (require_client_secret = true)",
            ));
        }
        if public && !self.require_pkce {
            return Err(Error::invalid("require_pkce", "public clients must use PKCE"));
        }
        bounded_unique("redirect_uris", &self.redirect_uris)?;
        for u in &self.redirect_uris {
            check_redirect_uri("redirect_uris", u, public)?;
        }
        bounded_unique("post_logout_redirect_uris", &self.post_logout_redirect_uris)?;
        for u in &self.post_logout_redirect_uris {
            check_redirect_uri("post_logout_redirect_uris", u, public)?;
        }
        bounded_unique("allowed_cors_origins", &self.allowed_cors_origins)?;
        for o in &self.allowed_cors_origins {
            check_cors_origin(o)?;
        }
        // Scopes beyond the built-in ones must be scopes of the project's API resources; the
        // use case checks that against storage.
        bounded_unique("scope", &self.scope)?;
        for s in self.scope.iter().filter(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            check_scope_name(s).map_err(|_| {
                Error::invalid(
                    "scope",
                    format!(
                        "{s:?} is not one of {} nor a scope token (RFC 6749 §3.3)",
                        KNOWN_SCOPES.join(", ")
                    ),
                )
            })?;
        }
        if let Some(r) = &self.default_resource {
            check_identifier(r).map_err(|_| {
                Error::invalid(
                    "default_resource",
                    format!("{r:?} must be an absolute URI without fragment"),
                )
            })?;
        }
        bounded_unique("token_exchange_resources", &self.token_exchange_resources)?;
        for r in &self.token_exchange_resources {
            check_identifier(r).map_err(|_| {
                Error::invalid(
                    "token_exchange_resources",
                    format!("{r:?} must be an absolute URI without fragment"),
                )
            })?;
        }
        in_range("access_token_ttl", self.access_token_ttl, 60, 86_400)?;
        in_range("refresh_token_ttl", self.refresh_token_ttl, 60, 365 * 86_400)?;
        in_range("id_token_ttl", self.id_token_ttl, 60, 86_400)?;
        in_range("refresh_grace_seconds", self.refresh_grace_seconds, 0, 300)?;
        one_of(
            "id_token_signed_response_alg",
            &self.id_token_signed_response_alg,
            SIGNING_ALGS,
        )?;
        if self.metadata.len() > MAX_METADATA {
            return Err(Error::invalid("metadata", format!("at most {MAX_METADATA} entries")));
        }
        for (k, v) in &self.metadata {
            check_no_nul("metadata", k)?;
            check_no_nul("metadata", v)?;
            if k.is_empty() || k.len() > MAX_METADATA_KEY || v.len() > MAX_METADATA_VALUE {
                return Err(Error::invalid(
                    "metadata",
                    format!("keys are 1-{MAX_METADATA_KEY} bytes, values at most {MAX_METADATA_VALUE}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether these settings allow the `llm_proxy` scope (managing them needs extra rights).
    pub fn uses_llm_proxy(&self) -> bool {
        self.scope.iter().any(|s| s == "llm_proxy")
    }
}

fn set<T: Clone>(field: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *field = v.clone();
    }
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{value:?} is not one of {}", allowed.join(", ")),
        ))
    }
}

fn list_of(field: &str, values: &[String], allowed: &[&str]) -> Result<()> {
    bounded_unique(field, values)?;
    values.iter().try_for_each(|v| one_of(field, v, allowed))
}

fn bounded_unique(field: &str, values: &[String]) -> Result<()> {
    if values.len() > MAX_LIST {
        return Err(Error::invalid(field, format!("at most {MAX_LIST} entries")));
    }
    let mut seen = std::collections::HashSet::new();
    match values.iter().find(|v| !seen.insert(v.as_str())) {
        Some(dup) => Err(Error::invalid(field, format!("{dup:?} is listed twice"))),
        None => Ok(()),
    }
}

fn in_range(field: &str, value: u32, min: u32, max: u32) -> Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("must be between {min} and {max}")))
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
