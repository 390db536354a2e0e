//! Scopes (RFC 6749 §3.3, SPEC §5.6): parsing, and narrowing a request to what a client may have.

use super::{OAuthError, OAuthErrorCode};

/// Scopes that only make sense with a signed-in user; never granted to `client_credentials`.
const USER_ONLY: &[&str] = &["openid", "profile", "email", "role", "offline_access"];
/// Longest scope parameter accepted.
const MAX_SCOPE_LEN: usize = 2048;

/// A granted set of scopes, in the order first requested, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-delimited scope parameter (RFC 6749 §3.3 `scope-token` characters only).
    pub fn parse(raw: &str) -> Result<Self, OAuthError> {
        if raw.len() > MAX_SCOPE_LEN {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "the scope parameter is too long",
            ));
        }
        let mut out: Vec<String> = Vec::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            if !token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
            {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "scope values may hold only printable ASCII without quotes or backslashes",
                ));
            }
            if !out.iter().any(|s| s == token) {
                out.push(token.to_owned());
            }
        }
        Ok(Self(out))
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// The union, `self`'s order first.
    pub fn union(&self, other: &Scopes) -> Scopes {
        let mut out = self.0.clone();
        for s in &other.0 {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        Scopes(out)
    }

    /// Without `scope`.
    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    /// The scopes for which `keep` holds, in order.
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> Scopes {
        Scopes(self.0.iter().filter(|s| keep(s)).cloned().collect())
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The space-delimited wire form.
    pub fn to_wire(&self) -> String {
        self.0.join(" ")
    }

    /// What a user-facing grant (authorization code, device) receives: the requested scopes the
    /// client is allowed, or, when nothing was requested, every allowed scope except
    /// `offline_access`. `offline_access` survives only for clients that may hold refresh tokens
    /// (SPEC §5.2). Requesting only scopes the client may not have is `invalid_scope` (SPEC §5.6).
    pub fn for_user(
        requested: Option<&Scopes>,
        allowed: &[String],
        offline_allowed: bool,
    ) -> Result<Scopes, OAuthError> {
        let granted = narrow(requested, allowed, |_| true, |s| s != "offline_access")?;
        Ok(if offline_allowed {
            granted
        } else {
            granted.without("offline_access")
        })
    }

    /// What `client_credentials` receives: as [`Scopes::for_user`], without the scopes that need a user.
    pub fn for_client(requested: Option<&Scopes>, allowed: &[String]) -> Result<Scopes, OAuthError> {
        narrow(requested, allowed, |s| !USER_ONLY.contains(&s), |_| true)
    }
}

/// The requested scopes among the `allowed` ones that are `permitted` for the grant, or when
/// nothing was requested, those that are also granted by `default`.
fn narrow(
    requested: Option<&Scopes>,
    allowed: &[String],
    permitted: impl Fn(&str) -> bool,
    default: impl Fn(&str) -> bool,
) -> Result<Scopes, OAuthError> {
    match requested.filter(|r| !r.is_empty()) {
        None => Ok(Scopes(
            allowed.iter().filter(|s| permitted(s) && default(s)).cloned().collect(),
        )),
        Some(r) => {
            let granted: Vec<String> =
                r.0.iter()
                    .filter(|s| permitted(s) && allowed.contains(s))
                    .cloned()
                    .collect();
            if granted.is_empty() {
                Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "none of the requested scopes is allowed for this client",
                ))
            } else {
                Ok(Scopes(granted))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn disallowed_scopes_are_dropped_from_the_grant() {
        let req = Scopes::parse("openid email gatehouse_api").unwrap();
        let g = Scopes::for_user(Some(&req), &allowed("openid email profile"), true).unwrap();
        assert_eq!(g.to_wire(), "openid email");
    }

    #[test]
    fn requesting_only_disallowed_scopes_is_invalid_scope() {
        let req = Scopes::parse("gatehouse_api").unwrap();
        let e = Scopes::for_user(Some(&req), &allowed("openid"), true).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidScope);
    }

    #[test]
    fn offline_access_needs_a_client_that_may_refresh() {
        let req = Scopes::parse("openid offline_access").unwrap();
        let a = allowed("openid offline_access");
        assert!(
            Scopes::for_user(Some(&req), &a, true)
                .unwrap()
                .contains("offline_access")
        );
        assert!(
            !Scopes::for_user(Some(&req), &a, false)
                .unwrap()
                .contains("offline_access")
        );
        assert!(!Scopes::for_user(None, &a, true).unwrap().contains("offline_access"));
    }

    #[test]
    fn client_credentials_never_get_user_scopes() {
        let a = allowed("openid gatehouse_api offline_access");
        assert_eq!(Scopes::for_client(None, &a).unwrap().to_wire(), "gatehouse_api");
        let req = Scopes::parse("openid").unwrap();
        assert!(Scopes::for_client(Some(&req), &a).is_err());
        let mixed = Scopes::parse("offline_access gatehouse_api openid other").unwrap();
        assert_eq!(Scopes::for_client(Some(&mixed), &a).unwrap().to_wire(), "gatehouse_api");
    }

    #[test]
    fn scope_tokens_are_deduplicated_and_checked() {
        assert_eq!(Scopes::parse("a  b a").unwrap().to_wire(), "a b");
        assert!(Scopes::parse("a\"b").is_err());
        assert!(Scopes::parse("caf\u{e9}").is_err());
    }
}
