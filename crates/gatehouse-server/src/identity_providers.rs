//! The `[[identity_providers]]` settings of the config file: upstream identity providers for
//! "Continue with …" on the sign-in page ([`gatehouse_core::idp`]). `kind` picks a preset
//! (`google`, `gitlab`: their issuer; `microsoft`: its name, the tenant's issuer given; `github`: GitHub's OAuth and user API) or any OpenID Connect
//! provider (`oidc`, by `issuer`); the client secret is given inline or, better, in the file
//! `client_secret_file` names.

use std::path::PathBuf;

use anyhow::Context as _;
use gatehouse_core::idp::IdentityProvider;
use gatehouse_core::idp::settings::ProviderSettings;
use gatehouse_core::secret::SecretString;
use serde::{Deserialize, Serialize};

/// One upstream identity provider as written in the config file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderSettings {
    /// The name in URLs: `/login/with/{name}`, whose `/callback` is the redirect URI.
    pub name: String,
    /// The button says "Continue with {display_name}"; defaults to the preset's name.
    pub display_name: Option<String>,
    /// `oidc` (default), `google`, `microsoft`, `gitlab` or `github`.
    #[serde(default = "oidc")]
    pub kind: String,
    /// The OpenID Connect issuer (required for `oidc`; the preset's for `google` and `gitlab`,
    /// e.g. a self-managed GitLab's URL instead of `https://gitlab.com`).
    pub issuer: Option<String>,
    /// GitHub Enterprise Server's URL (default `https://github.com`).
    pub github_url: Option<String>,
    /// GitHub's REST API (default `https://api.github.com`; `{github_url}/api/v3` on Enterprise Server).
    pub github_api_url: Option<String>,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// A file holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// The scopes asked for (default `openid email profile`; for GitHub `read:user user:email`).
    pub scopes: Option<Vec<String>>,
    /// Create an account for a person without one, when the provider verified their email
    /// (default false: only existing accounts are linked and signed in).
    #[serde(default)]
    pub allow_signup: bool,
}

fn oidc() -> String {
    "oidc".into()
}

impl IdentityProviderSettings {
    /// The provider, its secret read from its file, checked; errors name `identity_providers[i]`.
    fn resolve(&self, i: usize) -> anyhow::Result<IdentityProvider> {
        let at = format!("identity_providers[{i}]");
        let client_secret = match (&self.client_secret, &self.client_secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {at}.client_secret_file"))?;
                SecretString::new(text.trim())
            }
            _ => anyhow::bail!("{at} needs exactly one of client_secret and client_secret_file"),
        };
        let settings = ProviderSettings {
            name: self.name.clone(),
            kind: self.kind.clone(),
            display_name: self.display_name.clone(),
            issuer: self.issuer.clone(),
            github_url: self.github_url.clone(),
            github_api_url: self.github_api_url.clone(),
            client_id: self.client_id.clone(),
            scopes: self.scopes.clone(),
            allow_signup: self.allow_signup,
        };
        Ok(settings.resolve(client_secret, &at)?)
    }
}

/// Every configured provider, resolved and checked; names must be distinct.
pub fn resolve_all(settings: &[IdentityProviderSettings]) -> anyhow::Result<Vec<IdentityProvider>> {
    let mut out: Vec<IdentityProvider> = Vec::with_capacity(settings.len());
    for (i, s) in settings.iter().enumerate() {
        let p = s.resolve(i)?;
        anyhow::ensure!(
            !out.iter().any(|o| o.name == p.name),
            "identity_providers[{i}].name {:?} is used twice",
            p.name
        );
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::idp::IdpKind;

    fn parse(toml: &str) -> anyhow::Result<Vec<IdentityProvider>> {
        #[derive(Deserialize)]
        struct File {
            identity_providers: Vec<IdentityProviderSettings>,
        }
        use figment::providers::{Format as _, Toml};
        let f: File = figment::Figment::from(Toml::string(toml)).extract()?;
        resolve_all(&f.identity_providers)
    }

    #[test]
    fn presets_fill_issuer_name_and_scopes() {
        let dir = std::env::temp_dir().join(format!("gh-idp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("google.secret");
        std::fs::write(&secret, "from-file\n").unwrap();
        let ps = parse(&format!(
            "[[identity_providers]]\nname = \"google\"\nkind = \"google\"\nclient_id = \"c\"\nclient_secret_file = {:?}\n\
             [[identity_providers]]\nname = \"github\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nallow_signup = true\n",
            secret.display().to_string()
        ))
        .unwrap();
        assert_eq!(
            ps[0].kind,
            IdpKind::Oidc {
                issuer: "https://accounts.google.com".into()
            }
        );
        assert_eq!(
            (ps[0].display_name.as_str(), ps[0].client_secret.expose_secret()),
            ("Google", "from-file")
        );
        assert_eq!(ps[0].scopes, ["openid", "email", "profile"]);
        assert_eq!(ps[1].scopes, ["read:user", "user:email"]);
        assert!(ps[1].allow_signup && !ps[0].allow_signup);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        for (toml, field) in [
            (
                "name = \"x\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
                "identity_providers[0].issuer",
            ),
            (
                "name = \"x\"\nkind = \"okta\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
                "identity_providers[0].kind",
            ),
            ("name = \"x\"\nkind = \"gitlab\"\nclient_id = \"c\"\n", "client_secret"),
            (
                "name = \"X Y\"\nkind = \"gitlab\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
                "identity_providers[0].name",
            ),
            (
                "name = \"x\"\nkind = \"gitlab\"\nclient_id = \"c\"\nclient_secret = \"s\"\nscopes = [\"email\"]\n",
                "identity_providers[0].scopes",
            ),
        ] {
            let e = parse(&format!("[[identity_providers]]\n{toml}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{toml}: {e}");
        }
        let twice =
            "[[identity_providers]]\nname = \"x\"\nkind = \"gitlab\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let e = parse(&format!("{twice}{twice}")).unwrap_err().to_string();
        assert!(e.contains("identity_providers[1].name"), "{e}");
    }
}
