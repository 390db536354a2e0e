//! Arguments of `client create` and `client update`, and their mapping to a `ClientInput` body
//! (SPEC §4.1). Validation of values is the server's job; this module only refuses command lines
//! that cannot mean anything (nothing to update, a field both set and cleared).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use gatehouse_types::ClientInput;

use crate::UsageError;

/// The device authorization grant (RFC 8628 §3.4), which `--grant-type device_code` abbreviates.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The token exchange grant (RFC 8693 §2.1), which `--grant-type token_exchange` abbreviates.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// `gatehouse client create`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Choose the client id (`[A-Za-z0-9._~-]{3,128}`, immutable) [default: server-generated].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    #[command(flatten)]
    pub fields: ClientFields,
    /// Send this JSON `ClientInput` body verbatim instead of building one from flags (`-` = stdin).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fields", "client_id"])]
    pub from_json: Option<PathBuf>,
}

/// `gatehouse client update`.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The client to change.
    pub client_id: String,
    #[command(flatten)]
    pub fields: ClientFields,
    /// Empty a list field, or remove the client, logo, policy or terms URI (repeatable).
    #[arg(long, value_enum, value_name = "FIELD")]
    pub clear: Vec<ClearField>,
    /// Send this JSON `ClientInput` body verbatim (`-` = stdin); absent fields stay unchanged.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fields", "clear"])]
    pub from_json: Option<PathBuf>,
}

/// Every settable field of an OAuth client. Absent flags leave the field to the server's default
/// (create) or unchanged (update). Lists given on update replace the stored list.
#[derive(Debug, Clone, Default, Args)]
#[group(id = "fields", multiple = true)]
pub struct ClientFields {
    /// Display name, 1–200 characters (required on create).
    #[arg(long)]
    pub name: Option<String>,
    /// Home page of the app (https, or http on loopback).
    #[arg(long, value_name = "URI")]
    pub client_uri: Option<String>,
    /// Logo shown on the app's sign-in and consent pages (https, or http on loopback).
    #[arg(long, value_name = "URI")]
    pub logo_uri: Option<String>,
    /// Privacy policy linked from the app's sign-in and consent pages.
    #[arg(long, value_name = "URI")]
    pub policy_uri: Option<String>,
    /// Terms of service linked from the app's sign-in and consent pages.
    #[arg(long, value_name = "URI")]
    pub tos_uri: Option<String>,
    /// Let the client authorize and get tokens (the default for new clients).
    #[arg(long, conflicts_with = "disabled")]
    pub enabled: bool,
    /// Stop the client from authorizing, getting, refreshing or introspecting tokens.
    #[arg(long)]
    pub disabled: bool,
    /// Public client: no secret, PKCE required, token endpoint auth `none`.
    #[arg(long, conflicts_with = "confidential")]
    pub public: bool,
    /// Confidential client: gets a secret (the default).
    #[arg(long)]
    pub confidential: bool,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    #[arg(long, value_name = "METHOD")]
    pub token_endpoint_auth_method: Option<String>,
    /// Allowed grant type (repeatable): authorization_code, refresh_token, client_credentials,
    /// device_code, token_exchange, implicit. Leave implicit off unless an application cannot use
    /// authorization_code with PKCE: it returns tokens in the redirect URL, which RFC 9700
    /// §2.1.2 discourages.
    #[arg(long = "grant-type", value_name = "GRANT", value_parser = parse_grant_type)]
    pub grant_types: Vec<String>,
    /// Allowed response type (repeatable), e.g. `code` or "code id_token". Types with `token`
    /// or `id_token` (implicit and hybrid flows) need `--grant-type implicit`.
    #[arg(long = "response-type", value_name = "TYPE")]
    pub response_types: Vec<String>,
    /// Exact redirect URI (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed CORS origin `scheme://host[:port]`, no trailing slash (repeatable).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Allowed scopes, space-separated or repeated: `--scope "openid profile"`.
    #[arg(long = "scope", value_name = "SCOPES")]
    pub scopes: Vec<String>,
    /// Allow refresh tokens.
    #[arg(long, conflicts_with = "no_offline_access")]
    pub offline_access: bool,
    /// Disallow refresh tokens.
    #[arg(long)]
    pub no_offline_access: bool,
    /// Require PKCE (the default).
    #[arg(long, conflicts_with = "no_pkce")]
    pub require_pkce: bool,
    /// Do not require PKCE (confidential clients only).
    #[arg(long)]
    pub no_pkce: bool,
    /// Access token lifetime: seconds, or a number with s/m/h/d.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub access_token_ttl: Option<u32>,
    /// Refresh token lifetime: seconds, or a number with s/m/h/d.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub refresh_token_ttl: Option<u32>,
    /// ID token lifetime: seconds, or a number with s/m/h/d.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub id_token_ttl: Option<u32>,
    /// Refresh token rotation grace window, 0–300 seconds.
    #[arg(long, value_name = "SECONDS")]
    pub refresh_grace_seconds: Option<u32>,
    /// ID token signing algorithm: ES256, RS256 or EdDSA.
    #[arg(long, value_name = "ALG", alias = "id-token-signed-response-alg")]
    pub id_token_alg: Option<String>,
    /// Identifier of the API resource tokens are for when a request names none ("" removes it).
    #[arg(long, value_name = "URI")]
    pub default_resource: Option<String>,
    /// Identifier of an API resource a token exchange may issue tokens for (repeatable; on
    /// update, replaces the list).
    #[arg(long = "token-exchange-resource", value_name = "URI")]
    pub token_exchange_resources: Vec<String>,
    /// Revoke the session's refresh tokens on logout (the default).
    #[arg(long, conflicts_with = "no_revoke_on_logout")]
    pub revoke_on_logout: bool,
    /// Keep refresh tokens on logout.
    #[arg(long)]
    pub no_revoke_on_logout: bool,
    /// Metadata entry `key=value` (repeatable; on update, replaces the whole map).
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub metadata: Vec<(String, String)>,
}

/// Fields `client update --clear` can empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClearField {
    ClientUri,
    LogoUri,
    PolicyUri,
    TosUri,
    GrantTypes,
    ResponseTypes,
    RedirectUris,
    PostLogoutRedirectUris,
    CorsOrigins,
    Scope,
    Metadata,
    TokenExchangeResources,
}

impl ClientFields {
    /// The body these flags describe; only given flags become fields.
    pub fn to_input(&self) -> ClientInput {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        ClientInput {
            client_id: None,
            name: self.name.clone(),
            enabled: flag(self.enabled, self.disabled),
            client_uri: self.client_uri.clone().map(Some),
            logo_uri: self.logo_uri.clone().map(Some),
            policy_uri: self.policy_uri.clone().map(Some),
            tos_uri: self.tos_uri.clone().map(Some),
            require_client_secret: flag(self.confidential, self.public),
            token_endpoint_auth_method: self.token_endpoint_auth_method.clone(),
            grant_types: list(&self.grant_types),
            response_types: list(&self.response_types),
            redirect_uris: list(&self.redirect_uris),
            post_logout_redirect_uris: list(&self.post_logout_redirect_uris),
            allowed_cors_origins: list(&self.cors_origins),
            scope: (!self.scopes.is_empty()).then(|| join_scopes(&self.scopes)),
            offline_access: flag(self.offline_access, self.no_offline_access),
            require_pkce: flag(self.require_pkce, self.no_pkce),
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            id_token_ttl: self.id_token_ttl,
            refresh_grace_seconds: self.refresh_grace_seconds,
            id_token_signed_response_alg: self.id_token_alg.clone(),
            revoke_on_logout: flag(self.revoke_on_logout, self.no_revoke_on_logout),
            metadata: (!self.metadata.is_empty()).then(|| self.metadata.iter().cloned().collect::<BTreeMap<_, _>>()),
            default_resource: self.default_resource.clone(),
            token_exchange_resources: list(&self.token_exchange_resources),
        }
    }
}

/// The create body: `--client-id` plus the field flags; a name is required.
pub fn create_input(args: &CreateArgs) -> Result<ClientInput, UsageError> {
    let mut input = args.fields.to_input();
    input.client_id = args.client_id.clone();
    if input.name.is_none() {
        return Err(UsageError::new("--name is required (or use --from-json)"));
    }
    Ok(input)
}

/// The update body: the field flags plus `--clear`; refuses an empty update.
pub fn update_input(args: &UpdateArgs) -> Result<ClientInput, UsageError> {
    let mut input = args.fields.to_input();
    for field in &args.clear {
        let already_set = match field {
            ClearField::ClientUri => input.client_uri.replace(None).is_some(),
            ClearField::LogoUri => input.logo_uri.replace(None).is_some(),
            ClearField::PolicyUri => input.policy_uri.replace(None).is_some(),
            ClearField::TosUri => input.tos_uri.replace(None).is_some(),
            ClearField::GrantTypes => input.grant_types.replace(Vec::new()).is_some(),
            ClearField::ResponseTypes => input.response_types.replace(Vec::new()).is_some(),
            ClearField::RedirectUris => input.redirect_uris.replace(Vec::new()).is_some(),
            ClearField::PostLogoutRedirectUris => input.post_logout_redirect_uris.replace(Vec::new()).is_some(),
            ClearField::CorsOrigins => input.allowed_cors_origins.replace(Vec::new()).is_some(),
            ClearField::Scope => input.scope.replace(String::new()).is_some(),
            ClearField::Metadata => input.metadata.replace(BTreeMap::new()).is_some(),
            ClearField::TokenExchangeResources => input.token_exchange_resources.replace(Vec::new()).is_some(),
        };
        if already_set {
            let name = field.to_possible_value().map(|v| v.get_name().to_owned());
            return Err(UsageError::new(format!(
                "--clear {} conflicts with a flag that sets that field",
                name.unwrap_or_default()
            )));
        }
    }
    if input == ClientInput::default() {
        return Err(UsageError::new(
            "nothing to update: give at least one field flag, --clear or --from-json",
        ));
    }
    Ok(input)
}

/// Reads a `ClientInput` JSON body from a file or stdin. Unknown fields are refused here
/// already, with the same rule the server applies (SPEC §4.2).
pub fn read_client_json(path: &Path) -> anyhow::Result<ClientInput> {
    let text = crate::context::read_input(path)?;
    parse_client_json(&text).with_context(|| format!("{} is not a client body", path.display()))
}

/// Parses a `ClientInput` JSON body.
pub fn parse_client_json(text: &str) -> Result<ClientInput, serde_json::Error> {
    serde_json::from_str(text)
}

/// `Some(true)` for the positive flag, `Some(false)` for the negative one, `None` for neither
/// (clap refuses both).
fn flag(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

/// Joins `--scope` values into one space-separated scope string, each scope once, in order.
fn join_scopes(values: &[String]) -> String {
    let mut scopes: Vec<&str> = Vec::new();
    for scope in values.iter().flat_map(|v| v.split_whitespace()) {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes.join(" ")
}

/// `device_code` and `token_exchange` abbreviate the RFC 8628 and RFC 8693 grant URNs; other
/// grant types pass unchanged.
pub fn parse_grant_type(value: &str) -> Result<String, String> {
    match value.trim() {
        "" => Err("grant type must not be empty".into()),
        "device_code" => Ok(DEVICE_CODE_GRANT.to_owned()),
        "token_exchange" => Ok(TOKEN_EXCHANGE_GRANT.to_owned()),
        other => Ok(other.to_owned()),
    }
}

/// `key=value`; the value may contain `=`, the key must not be empty.
pub fn parse_key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, v)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), v.to_owned())),
        Some(_) => Err("the key before `=` must not be empty".into()),
        None => Err(format!("expected KEY=VALUE, got {value:?}")),
    }
}

/// Seconds, or a whole number with a unit: `90`, `90s`, `15m`, `1h`, `30d`.
pub fn parse_duration(value: &str) -> Result<u32, String> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => value.split_at(i),
        None => (value, "s"),
    };
    let multiplier: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!("expected seconds or a number with s/m/h/d, got {value:?}"));
        }
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("expected seconds or a number with s/m/h/d, got {value:?}"))?;
    number
        .checked_mul(multiplier)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| format!("{value:?} is too long"))
}

#[cfg(test)]
#[path = "client_args_tests.rs"]
mod tests;
