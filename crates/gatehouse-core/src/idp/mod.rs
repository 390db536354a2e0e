//! Upstream identity providers: "Continue with …" on the sign-in page (SPEC §5.4). A server admin
//! configures OpenID Connect providers by issuer and GitHub (OAuth 2.0 and its user API); a
//! person's identity there (provider, upstream subject) is linked to one account. This module
//! holds the configuration, the linked identity and the pure checks of what an upstream says:
//! the ID token's claims (OIDC Core §3.1.3.7) and GitHub's email list. The flow itself is in
//! [`crate::service`]'s `idp` use cases.

pub mod settings;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::ids::{IdentityId, UserId};
use crate::secret::{SecretString, ct_eq};
use crate::time::Timestamp;

/// Longest provider name (its path segment in `/login/with/{name}`).
const MAX_NAME: usize = 40;
/// Longest client id, client secret or URL of a provider's settings.
const MAX_SETTING: usize = 2048;
/// Most scopes a provider may ask for.
const MAX_SCOPES: usize = 50;
/// Longest upstream subject or email kept.
const MAX_CLAIM: usize = 255;
/// How far an upstream's clock may be ahead of ours for `iat` (seconds).
const CLOCK_SKEW_SECS: i64 = 300;

/// What kind of upstream a provider is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpKind {
    /// Any OpenID Connect provider, found by discovery at `{issuer}/.well-known/openid-configuration`.
    Oidc { issuer: String },
    /// GitHub or GitHub Enterprise Server: `web_url` serves `/login/oauth/…`, `api_url` the REST API.
    GitHub { web_url: String, api_url: String },
}

/// An upstream identity provider as a server admin configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    /// The name in URLs (`/login/with/{name}`) and in linked identities: lowercase letters,
    /// digits and `-`.
    pub name: String,
    /// The kind the admin chose ([`settings::KINDS`]): a preset or `oidc`.
    pub preset: String,
    /// The button says "Continue with {display_name}".
    pub display_name: String,
    pub kind: IdpKind,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Whether a person without an account gets one (with a verified email); otherwise only
    /// existing accounts are linked and signed in.
    pub allow_signup: bool,
}

impl IdentityProvider {
    /// The URLs Gatehouse calls, by the name of their setting.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        match &self.kind {
            IdpKind::Oidc { issuer } => vec![("issuer", issuer)],
            IdpKind::GitHub { web_url, api_url } => vec![("github_url", web_url), ("github_api_url", api_url)],
        }
    }

    /// Checks the settings an admin wrote, naming the field (`{at}.field`, e.g.
    /// `identity_providers[1].issuer`; the bare field name when `at` is empty).
    pub fn check(&self, at: &str) -> Result<()> {
        let field = |f: &str| {
            if at.is_empty() {
                f.to_owned()
            } else {
                format!("{at}.{f}")
            }
        };
        let ok_name = !self.name.is_empty()
            && self.name.len() <= MAX_NAME
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_name {
            return Err(Error::invalid(
                field("name"),
                format!("must be 1 to {MAX_NAME} lowercase letters, digits or '-'"),
            ));
        }
        crate::text::check_name(&field("display_name"), &self.display_name, 100)?;
        crate::text::check_text(&field("client_id"), &self.client_id, MAX_SETTING, true)?;
        crate::text::check_text(
            &field("client_secret"),
            self.client_secret.expose_secret(),
            MAX_SETTING,
            true,
        )?;
        let scopes_ok = !self.scopes.is_empty()
            && self.scopes.len() <= MAX_SCOPES
            && self
                .scopes
                .iter()
                .all(|s| !s.is_empty() && s.len() <= 200 && !s.chars().any(|c| c == ' ' || c.is_control()));
        if !scopes_ok {
            return Err(Error::invalid(
                field("scopes"),
                format!("must be 1 to {MAX_SCOPES} scopes of 1-200 characters without spaces"),
            ));
        }
        for (name, url) in self.urls() {
            if url.len() > MAX_SETTING {
                return Err(Error::invalid(
                    field(name),
                    format!("must be at most {MAX_SETTING} bytes"),
                ));
            }
            let parsed = url::Url::parse(url).map_err(|_| Error::invalid(field(name), "must be an absolute URL"))?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(Error::invalid(
                    field(name),
                    "must be an http(s) URL without query or fragment",
                ));
            }
        }
        if matches!(self.kind, IdpKind::Oidc { .. }) && !self.scopes.iter().any(|s| s == "openid") {
            return Err(Error::invalid(field("scopes"), "must include openid"));
        }
        Ok(())
    }
}

/// An account's identity at an upstream provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub id: IdentityId,
    pub user_id: UserId,
    /// [`IdentityProvider::name`].
    pub provider: String,
    /// The upstream's stable id of the person (`sub`; GitHub's numeric user id).
    pub subject: String,
    /// The email the upstream gave when the identity was linked.
    pub email: String,
    pub created_at: Timestamp,
}

/// Who the upstream says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamPerson {
    pub subject: String,
    /// The email, lowercase, only when the upstream says it verified it.
    pub verified_email: Option<String>,
    pub name: Option<String>,
}

/// What an ID token must match.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Now, in seconds since the epoch.
    pub now_secs: i64,
}

/// Checks the claims of an ID token whose signature was verified (OIDC Core §3.1.3.7): `iss`,
/// `aud` (and `azp` when there are several audiences), `exp`, `iat` not in the future, `nonce`,
/// and a `sub`. The reason names the claim.
pub fn check_id_token(claims: &Map<String, Value>, want: &Expected<'_>) -> std::result::Result<UpstreamPerson, String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(want.issuer) {
        return Err("the ID token's iss is not the provider's issuer".into());
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&want.client_id) || (audiences.len() > 1 && text("azp") != Some(want.client_id)) {
        return Err("the ID token's aud is not this client".into());
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= want.now_secs {
        return Err("the ID token's exp has passed".into());
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > want.now_secs + CLOCK_SKEW_SECS)
    {
        return Err("the ID token's iat is in the future".into());
    }
    if !text("nonce").is_some_and(|n| ct_eq(n.as_bytes(), want.nonce.as_bytes())) {
        return Err("the ID token's nonce is not the one sent".into());
    }
    let subject = text("sub")
        .filter(|s| !s.is_empty() && s.len() <= MAX_CLAIM)
        .ok_or("the ID token has no usable sub")?;
    // Some providers send the flag as a string.
    let verified =
        matches!(claims.get("email_verified"), Some(Value::Bool(true))) || text("email_verified") == Some("true");
    Ok(UpstreamPerson {
        subject: subject.to_owned(),
        verified_email: text("email").filter(|_| verified).and_then(usable_email),
        name: text("name").map(str::to_owned),
    })
}

/// The person GitHub's `/user` and `/user/emails` answers describe: the numeric id as the subject,
/// and the primary email only when GitHub says it is verified.
pub fn github_person(user: &Value, emails: &Value) -> std::result::Result<UpstreamPerson, String> {
    let subject = user
        .get("id")
        .and_then(Value::as_u64)
        .ok_or("GitHub's /user answer has no numeric id")?
        .to_string();
    let verified_email = emails
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .filter(|e| e.get("verified") == Some(&Value::Bool(true)))
        .and_then(|e| e.get("email"))
        .and_then(Value::as_str)
        .and_then(usable_email);
    let name = user
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| user.get("login").and_then(Value::as_str))
        .map(str::to_owned);
    Ok(UpstreamPerson {
        subject,
        verified_email,
        name,
    })
}

/// An upstream's email as an account's, lowercase, or `None` when no account could have it.
fn usable_email(email: &str) -> Option<String> {
    crate::text::check_email("email", email)
        .ok()
        .filter(|e| e.len() <= MAX_CLAIM)
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn want() -> Expected<'static> {
        Expected {
            issuer: "https://idp.example",
            client_id: "gh",
            nonce: "n-1",
            now_secs: 1_000,
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut c = json!({"iss": "https://idp.example", "aud": "gh", "exp": 2_000, "iat": 900, "nonce": "n-1",
            "sub": "u-1", "email": "Ann@Example.com", "email_verified": true});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        c.as_object().unwrap().clone()
    }

    #[test]
    fn a_matching_id_token_gives_the_person_with_a_verified_email() {
        let p = check_id_token(&claims(json!({})), &want()).unwrap();
        assert_eq!(
            (p.subject.as_str(), p.verified_email.as_deref()),
            ("u-1", Some("ann@example.com"))
        );
    }

    #[test]
    fn each_mismatched_claim_is_refused_naming_it() {
        for (extra, claim) in [
            (json!({"iss": "https://evil.example"}), "iss"),
            (json!({"aud": "other"}), "aud"),
            (json!({"aud": ["gh", "other"]}), "aud"),
            (json!({"exp": 1_000}), "exp"),
            (json!({"iat": 9_000}), "iat"),
            (json!({"nonce": "n-2"}), "nonce"),
            (json!({"nonce": null}), "nonce"),
            (json!({"sub": ""}), "sub"),
        ] {
            let e = check_id_token(&claims(extra.clone()), &want()).unwrap_err();
            assert!(e.contains(claim), "{extra}: {e}");
        }
        let several = claims(json!({"aud": ["gh", "other"], "azp": "gh"}));
        assert!(check_id_token(&several, &want()).is_ok());
    }

    #[test]
    fn an_unverified_email_is_not_taken() {
        for flag in [json!(false), json!("false"), Value::Null] {
            let p = check_id_token(&claims(json!({"email_verified": flag})), &want()).unwrap();
            assert_eq!(p.verified_email, None, "{flag}");
        }
        let p = check_id_token(&claims(json!({"email_verified": "true"})), &want()).unwrap();
        assert!(p.verified_email.is_some());
    }

    #[test]
    fn github_gives_only_a_verified_primary_email() {
        let user = json!({"id": 42, "login": "ann"});
        let emails = json!([{"email": "old@example.com", "primary": false, "verified": true},
            {"email": "ann@example.com", "primary": true, "verified": true}]);
        let p = github_person(&user, &emails).unwrap();
        assert_eq!(
            (p.subject.as_str(), p.verified_email.as_deref(), p.name.as_deref()),
            ("42", Some("ann@example.com"), Some("ann"))
        );
        let unverified = json!([{"email": "ann@example.com", "primary": true, "verified": false}]);
        assert_eq!(github_person(&user, &unverified).unwrap().verified_email, None);
        assert!(github_person(&json!({"login": "ann"}), &emails).is_err());
    }

    #[test]
    fn settings_are_checked_naming_the_field() {
        let mut p = IdentityProvider {
            name: "corp".into(),
            preset: "oidc".into(),
            display_name: "Corp".into(),
            kind: IdpKind::Oidc {
                issuer: "https://idp.example".into(),
            },
            client_id: "gh".into(),
            client_secret: "s".into(),
            scopes: vec!["openid".into(), "email".into()],
            allow_signup: false,
        };
        assert!(p.check("identity_providers[0]").is_ok());
        p.name = "Corp/x".into();
        let e = p.check("identity_providers[0]").unwrap_err().to_string();
        assert!(e.contains("identity_providers[0].name"), "{e}");
        p.name = "corp".into();
        p.scopes = vec!["email".into()];
        assert!(p.check("p").unwrap_err().to_string().contains("p.scopes"));
        p.scopes = vec!["openid".into()];
        p.kind = IdpKind::Oidc {
            issuer: "idp.example".into(),
        };
        assert!(p.check("p").unwrap_err().to_string().contains("p.issuer"));
    }
}
