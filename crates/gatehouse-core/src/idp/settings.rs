//! How a server admin describes an upstream identity provider, in the config file or over REST:
//! a `kind` that picks a preset (Google's, Microsoft's and GitLab's OpenID Connect, GitHub's OAuth
//! and user API) or any OpenID Connect provider by issuer; and the stored form of the providers
//! managed over REST, whose client secret is sealed.

use crate::error::{Error, Result};
use crate::idp::{IdentityProvider, IdpKind};
use crate::model::Sealed;
use crate::secret::SecretString;
use crate::time::Timestamp;

/// The kinds a provider may be, as the config file and the REST API spell them.
pub const KINDS: [&str; 5] = ["oidc", "google", "microsoft", "gitlab", "github"];

/// A provider as an admin writes it: the preset's values fill what is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    pub name: String,
    /// One of [`KINDS`].
    pub kind: String,
    pub display_name: Option<String>,
    pub issuer: Option<String>,
    pub github_url: Option<String>,
    pub github_api_url: Option<String>,
    pub client_id: String,
    pub scopes: Option<Vec<String>>,
    pub allow_signup: bool,
}

impl ProviderSettings {
    /// The provider with `client_secret`, its preset's defaults filled in and checked
    /// ([`IdentityProvider::check`]); errors name `{at}.field` (`at` may be empty: plain field names).
    pub fn resolve(&self, client_secret: SecretString, at: &str) -> Result<IdentityProvider> {
        let field = |f: &str| {
            if at.is_empty() {
                f.to_owned()
            } else {
                format!("{at}.{f}")
            }
        };
        let oidc = |preset: Option<&str>| -> Result<IdpKind> {
            let issuer = self
                .issuer
                .as_deref()
                .or(preset)
                .ok_or_else(|| Error::invalid(field("issuer"), format!("is required for kind {}", self.kind)))?;
            Ok(IdpKind::Oidc {
                issuer: issuer.trim_end_matches('/').to_owned(),
            })
        };
        let (preset_name, kind) = match self.kind.as_str() {
            "oidc" => ("", oidc(None)?),
            "google" => ("Google", oidc(Some("https://accounts.google.com"))?),
            // Entra ID's issuer names the tenant: there is no default.
            "microsoft" => ("Microsoft", oidc(None)?),
            "gitlab" => ("GitLab", oidc(Some("https://gitlab.com"))?),
            "github" => {
                let web_url = self.github_url.as_deref().unwrap_or("https://github.com");
                let api_url = self.github_api_url.as_deref().unwrap_or("https://api.github.com");
                let kind = IdpKind::GitHub {
                    web_url: web_url.trim_end_matches('/').to_owned(),
                    api_url: api_url.trim_end_matches('/').to_owned(),
                };
                ("GitHub", kind)
            }
            other => {
                return Err(Error::invalid(
                    field("kind"),
                    format!("must be one of {}, not {other:?}", KINDS.join(", ")),
                ));
            }
        };
        let default_scopes: &[&str] = match kind {
            IdpKind::GitHub { .. } => &["read:user", "user:email"],
            IdpKind::Oidc { .. } => &["openid", "email", "profile"],
        };
        let p = IdentityProvider {
            name: self.name.clone(),
            preset: self.kind.clone(),
            display_name: self.display_name.clone().unwrap_or_else(|| preset_name.to_owned()),
            kind,
            client_id: self.client_id.clone(),
            client_secret,
            scopes: self
                .scopes
                .clone()
                .unwrap_or_else(|| default_scopes.iter().map(|s| (*s).to_owned()).collect()),
            allow_signup: self.allow_signup,
        };
        p.check(at)?;
        Ok(p)
    }
}

/// A provider managed over REST as stored: the client secret sealed under the system project's
/// data key, bound to the provider's name and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProvider {
    /// The provider, its secret left empty (the plaintext is only ever in memory).
    pub settings: StoredSettings,
    pub client_secret: Sealed,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Starts at 1; each update adds one (and re-seals the secret for it).
    pub version: i64,
}

/// The resolved settings of a stored provider: what [`IdentityProvider`] holds but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub name: String,
    pub preset: String,
    pub display_name: String,
    pub kind: IdpKind,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub allow_signup: bool,
}

impl StoredSettings {
    /// The settings of `p`, without its secret.
    pub fn of(p: &IdentityProvider) -> Self {
        Self {
            name: p.name.clone(),
            preset: p.preset.clone(),
            display_name: p.display_name.clone(),
            kind: p.kind.clone(),
            client_id: p.client_id.clone(),
            scopes: p.scopes.clone(),
            allow_signup: p.allow_signup,
        }
    }

    /// The provider, with its opened secret.
    pub fn with_secret(&self, client_secret: SecretString) -> IdentityProvider {
        IdentityProvider {
            name: self.name.clone(),
            preset: self.preset.clone(),
            display_name: self.display_name.clone(),
            kind: self.kind.clone(),
            client_id: self.client_id.clone(),
            client_secret,
            scopes: self.scopes.clone(),
            allow_signup: self.allow_signup,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(kind: &str) -> ProviderSettings {
        ProviderSettings {
            name: "x".into(),
            kind: kind.into(),
            client_id: "c".into(),
            ..ProviderSettings::default()
        }
    }

    #[test]
    fn presets_fill_issuer_display_name_and_scopes() {
        let g = settings("google").resolve("s".into(), "").unwrap();
        assert_eq!(
            (g.kind.clone(), g.display_name.as_str(), g.preset.as_str()),
            (
                IdpKind::Oidc {
                    issuer: "https://accounts.google.com".into()
                },
                "Google",
                "google"
            )
        );
        assert_eq!(g.scopes, ["openid", "email", "profile"]);
        let gh = settings("github").resolve("s".into(), "").unwrap();
        assert_eq!(gh.scopes, ["read:user", "user:email"]);
        assert_eq!(StoredSettings::of(&gh).with_secret("s".into()), gh);
    }

    #[test]
    fn microsoft_and_oidc_need_an_issuer_and_unknown_kinds_are_refused() {
        for kind in ["microsoft", "oidc"] {
            let e = settings(kind).resolve("s".into(), "").unwrap_err().to_string();
            assert!(e.contains("issuer"), "{kind}: {e}");
        }
        let mut m = settings("microsoft");
        m.issuer = Some("https://login.microsoftonline.com/t/v2.0/".into());
        let m = m.resolve("s".into(), "").unwrap();
        assert_eq!(
            (m.kind, m.display_name.as_str()),
            (
                IdpKind::Oidc {
                    issuer: "https://login.microsoftonline.com/t/v2.0".into()
                },
                "Microsoft"
            )
        );
        let e = settings("okta").resolve("s".into(), "p[0]").unwrap_err().to_string();
        assert!(e.contains("p[0].kind"), "{e}");
    }
}
