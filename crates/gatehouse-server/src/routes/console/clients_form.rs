//! The create and edit form of an OAuth client (SPEC §10, the OctoMesh seed's sections and
//! labels). The form posts every field, so what the person typed is turned into a full
//! `ClientInput` and validated by the same core rules as REST; an error is shown next to its
//! field with what was typed kept, and almost-right values get a hint saying how to fix them.

use askama::Template;
use gatehouse_core::clients::risks::{Risk, risks};
use gatehouse_core::clients::{AUTH_METHODS, ClientSettings, GRANT_TYPES, RESPONSE_TYPES, SIGNING_ALGS};
use gatehouse_types::ClientInput;
use url::Url;

use super::layout::Shell;
use crate::extract::Form;

/// What the form shows: the settings as text, as typed or as stored.
pub struct Values {
    pub client_id: String,
    pub name: String,
    pub client_uri: String,
    pub logo_uri: String,
    pub policy_uri: String,
    pub tos_uri: String,
    pub require_client_secret: bool,
    pub enabled: bool,
    pub offline_access: bool,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_cors_origins: String,
    pub scope: String,
    pub token_exchange_resources: String,
    pub token_endpoint_auth_method: String,
    pub require_pkce: bool,
    pub access_token_ttl: String,
    pub refresh_token_ttl: String,
    pub id_token_ttl: String,
    pub refresh_grace_seconds: String,
    pub id_token_signed_response_alg: String,
    pub revoke_on_logout: bool,
}

fn lines(text: &str) -> Vec<String> {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A URI field of the form: empty clears it.
fn optional(text: &str) -> Option<Option<String>> {
    Some((!text.is_empty()).then(|| text.to_owned()))
}

impl Values {
    /// The stored settings of client `client_id`.
    pub fn of(client_id: &str, s: &ClientSettings) -> Self {
        Self {
            client_id: client_id.to_owned(),
            name: s.name.clone(),
            client_uri: s.client_uri.clone().unwrap_or_default(),
            logo_uri: s.logo_uri.clone().unwrap_or_default(),
            policy_uri: s.policy_uri.clone().unwrap_or_default(),
            tos_uri: s.tos_uri.clone().unwrap_or_default(),
            require_client_secret: s.require_client_secret,
            enabled: s.enabled,
            offline_access: s.offline_access(),
            grant_types: s.grant_types.clone(),
            response_types: s.response_types.clone(),
            redirect_uris: s.redirect_uris.join("\n"),
            post_logout_redirect_uris: s.post_logout_redirect_uris.join("\n"),
            allowed_cors_origins: s.allowed_cors_origins.join("\n"),
            scope: s.scope.join("\n"),
            token_exchange_resources: s.token_exchange_resources.join("\n"),
            token_endpoint_auth_method: s.token_endpoint_auth_method.clone(),
            require_pkce: s.require_pkce,
            access_token_ttl: s.access_token_ttl.to_string(),
            refresh_token_ttl: s.refresh_token_ttl.to_string(),
            id_token_ttl: s.id_token_ttl.to_string(),
            refresh_grace_seconds: s.refresh_grace_seconds.to_string(),
            id_token_signed_response_alg: s.id_token_signed_response_alg.clone(),
            revoke_on_logout: s.revoke_on_logout,
        }
    }

    /// What the person posted.
    pub fn posted(f: &Form) -> Self {
        let text = |n: &str| f.get(n).unwrap_or("").trim().to_owned();
        let on = |n: &str| f.get(n).is_some();
        let all = |n: &str| f.pairs().filter(|(k, _)| *k == n).map(|(_, v)| v.to_owned()).collect();
        Self {
            client_id: text("client_id"),
            name: text("name"),
            client_uri: text("client_uri"),
            logo_uri: text("logo_uri"),
            policy_uri: text("policy_uri"),
            tos_uri: text("tos_uri"),
            require_client_secret: on("require_client_secret"),
            enabled: on("enabled"),
            offline_access: on("offline_access"),
            grant_types: all("grant_types"),
            response_types: all("response_types"),
            redirect_uris: text("redirect_uris"),
            post_logout_redirect_uris: text("post_logout_redirect_uris"),
            allowed_cors_origins: text("allowed_cors_origins"),
            scope: text("scope"),
            token_exchange_resources: text("token_exchange_resources"),
            token_endpoint_auth_method: text("token_endpoint_auth_method"),
            require_pkce: on("require_pkce"),
            access_token_ttl: text("access_token_ttl"),
            refresh_token_ttl: text("refresh_token_ttl"),
            id_token_ttl: text("id_token_ttl"),
            refresh_grace_seconds: text("refresh_grace_seconds"),
            id_token_signed_response_alg: text("id_token_signed_response_alg"),
            revoke_on_logout: on("revoke_on_logout"),
        }
    }

    /// The full input for the core use case, or the field whose text is not a number.
    pub fn input(&self, creating: bool) -> Result<ClientInput, FieldError> {
        let number = |field: &'static str, v: &str| {
            v.parse::<u32>().map_err(|_| FieldError {
                field,
                message: "must be a whole number of seconds".into(),
                hint: None,
            })
        };
        let auth = self.token_endpoint_auth_method.clone();
        // Switching between public and confidential moves the method along unless chosen.
        let auth = match (self.require_client_secret, auth.as_str()) {
            (false, _) => "none".to_owned(),
            (true, "none") => "client_secret_basic".to_owned(),
            _ => auth,
        };
        Ok(ClientInput {
            client_id: (creating && !self.client_id.is_empty()).then(|| self.client_id.clone()),
            name: Some(self.name.clone()),
            enabled: Some(self.enabled),
            client_uri: optional(&self.client_uri),
            logo_uri: optional(&self.logo_uri),
            policy_uri: optional(&self.policy_uri),
            tos_uri: optional(&self.tos_uri),
            require_client_secret: Some(self.require_client_secret),
            token_endpoint_auth_method: Some(auth),
            grant_types: Some(self.grant_types.clone()),
            response_types: Some(self.response_types.clone()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            allowed_cors_origins: Some(lines(&self.allowed_cors_origins)),
            scope: Some(lines(&self.scope.replace(' ', "\n")).join(" ")),
            offline_access: Some(self.offline_access),
            require_pkce: Some(self.require_pkce),
            access_token_ttl: Some(number("access_token_ttl", &self.access_token_ttl)?),
            refresh_token_ttl: Some(number("refresh_token_ttl", &self.refresh_token_ttl)?),
            id_token_ttl: Some(number("id_token_ttl", &self.id_token_ttl)?),
            refresh_grace_seconds: Some(number("refresh_grace_seconds", &self.refresh_grace_seconds)?),
            id_token_signed_response_alg: Some(self.id_token_signed_response_alg.clone()),
            revoke_on_logout: Some(self.revoke_on_logout),
            metadata: None,
            default_resource: None,
            token_exchange_resources: Some(lines(&self.token_exchange_resources)),
        })
    }

    /// A fix for an almost-right entry of the lists, when one is obvious.
    pub fn hint(&self, field: &str) -> Option<String> {
        if field != "allowed_cors_origins" {
            return None;
        }
        lines(&self.allowed_cors_origins).iter().find_map(|raw| {
            let origin = Url::parse(raw).ok()?.origin().ascii_serialization();
            if origin == *raw || origin == "null" {
                return None;
            }
            let what = if raw.trim_end_matches('/') == origin {
                "remove the trailing slash"
            } else if raw.to_ascii_lowercase().starts_with(&origin) {
                "remove the path"
            } else {
                "write the origin as"
            };
            Some(format!("{what}: {origin}"))
        })
    }
}

/// A validation message for one field.
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

/// The form's fields by wire name, with the label the message names.
const LABELS: &[(&str, &str)] = &[
    ("client_id", "Client ID"),
    ("name", "Client Name"),
    ("client_uri", "Client URI"),
    ("logo_uri", "Logo URI"),
    ("policy_uri", "Privacy Policy URI"),
    ("tos_uri", "Terms of Service URI"),
    ("require_client_secret", "Require Client Secret"),
    ("enabled", "Enabled"),
    ("offline_access", "Offline Access (Refresh Tokens)"),
    ("grant_types", "Allowed Grant Types"),
    ("redirect_uris", "Redirect URIs"),
    ("post_logout_redirect_uris", "Post Logout Redirect URIs"),
    ("allowed_cors_origins", "Allowed CORS Origins"),
    ("scope", "Allowed Scopes"),
    ("token_exchange_resources", "Token Exchange Resources"),
    ("token_endpoint_auth_method", "Token endpoint authentication"),
    ("response_types", "Response types"),
    ("require_pkce", "Require PKCE"),
    ("access_token_ttl", "Access token lifetime"),
    ("refresh_token_ttl", "Refresh token lifetime"),
    ("id_token_ttl", "ID token lifetime"),
    ("refresh_grace_seconds", "Refresh rotation grace period"),
    ("id_token_signed_response_alg", "ID token signing algorithm"),
    ("revoke_on_logout", "Revoke refresh tokens on logout"),
];

impl FieldError {
    /// The core's refusal of `field` as a message for the form; fields the form does not
    /// show (e.g. `metadata`) are reported on the name.
    pub fn from_core(field: &str, reason: &str, values: &Values) -> Self {
        let field = LABELS.iter().map(|(f, _)| *f).find(|f| *f == field).unwrap_or("name");
        Self {
            field,
            message: reason.to_owned(),
            hint: values.hint(field),
        }
    }

    /// The label of the field, for the summary at the top.
    pub fn label(&self) -> &'static str {
        LABELS.iter().find(|(f, _)| *f == self.field).map_or("", |(_, l)| *l)
    }
}

/// A checkbox of a group.
pub struct Choice {
    pub id: String,
    pub value: &'static str,
    pub checked: bool,
}

fn choices(prefix: &str, all: &[&'static str], chosen: &[String]) -> Vec<Choice> {
    all.iter()
        .enumerate()
        .map(|(i, v)| Choice {
            id: format!("{prefix}-{i}"),
            value: v,
            checked: chosen.iter().any(|c| c == v),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/client_form.html")]
pub struct FormPage {
    pub shell: Shell,
    pub list: String,
    pub action: String,
    pub creating: bool,
    pub can_develop: bool,
    pub official: bool,
    pub v: Values,
    pub error: Option<FieldError>,
    pub grants: Vec<Choice>,
    pub responses: Vec<Choice>,
    pub auth_methods: &'static [&'static str],
    pub algs: &'static [&'static str],
    pub risks: Vec<Risk>,
    /// Whether the client has a secret to replace (edit of a confidential client).
    pub has_secret: bool,
    pub version: i64,
    pub history: Vec<super::clients_history::Entry>,
    /// "Never" or when the client last got a token (edit only).
    pub last_used: String,
}

impl FormPage {
    /// The page for `v`; `stored` are the saved settings whose risks are shown.
    pub fn new(shell: Shell, list: String, creating: bool, v: Values, stored: Option<&ClientSettings>) -> Self {
        Self {
            action: if creating {
                list.clone()
            } else {
                format!("{list}/{}", v.client_id)
            },
            list,
            creating,
            can_develop: true,
            official: false,
            grants: choices("grant", GRANT_TYPES, &v.grant_types),
            responses: choices("response", RESPONSE_TYPES, &v.response_types),
            auth_methods: AUTH_METHODS,
            algs: SIGNING_ALGS,
            risks: stored.map(risks).unwrap_or_default(),
            has_secret: stored.is_some_and(|s| s.require_client_secret),
            error: None,
            version: 0,
            history: Vec::new(),
            last_used: String::new(),
            v,
            shell,
        }
    }

    /// The message for `field`, if the form was refused for it.
    pub fn error_for(&self, field: &str) -> Option<&FieldError> {
        self.error.as_ref().filter(|e| e.field == field)
    }

    /// Whether the advanced settings start unfolded: an error or a risk is in them.
    pub fn advanced_open(&self) -> bool {
        const ADVANCED: [&str; 9] = [
            "token_endpoint_auth_method",
            "response_types",
            "require_pkce",
            "revoke_on_logout",
            "access_token_ttl",
            "refresh_token_ttl",
            "id_token_ttl",
            "refresh_grace_seconds",
            "id_token_signed_response_alg",
        ];
        self.error.as_ref().is_some_and(|e| ADVANCED.contains(&e.field))
            || self.risks.iter().any(|r| ADVANCED.contains(&r.field))
    }

    /// The risks concerning `field`.
    pub fn risks_for(&self, field: &str) -> Vec<&Risk> {
        self.risks.iter().filter(|r| r.field == field).collect()
    }
}
