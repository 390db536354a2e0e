//! API resources of a project (SPEC §5.7): the audiences Gatehouse issues access tokens for,
//! with the scopes each defines, and the rules their registration follows.

use gatehouse_types::ResourceInput;
use serde::{Deserialize, Serialize};

use crate::clients::KNOWN_SCOPES;
use crate::clients::uri::MAX_URI_LEN;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, ResourceId};
use crate::jose::SigningAlg;
use crate::oauth::{OAuthError, OAuthErrorCode};
use crate::text::{check_description, check_name, check_text};
use crate::time::Timestamp;

/// Most resources one project holds (the list is returned whole).
pub const MAX_RESOURCES: usize = 100;
/// Most scopes one resource defines.
pub const MAX_SCOPES: usize = 100;
/// Longest scope name.
const MAX_SCOPE_NAME: usize = 128;
/// Longest scope description.
const MAX_SCOPE_DESCRIPTION: usize = 500;
/// Longest resource name.
const MAX_NAME: usize = 200;
/// Default and bounds of the access-token lifetime, in seconds.
const DEFAULT_LIFETIME: u32 = 3600;
const LIFETIMES: std::ops::RangeInclusive<u32> = 60..=86_400;

/// How access tokens for a resource are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// A signed RFC 9068 JWT the resource server verifies offline.
    Jwt,
}

impl TokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "jwt",
        }
    }
}

/// One scope a resource defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceScope {
    pub name: String,
    pub description: String,
}

/// A registered API resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    pub id: ResourceId,
    pub project_id: ProjectId,
    /// The audience (RFC 8707 §2): an absolute URI without fragment, compared exactly.
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ResourceScope>,
    pub access_token_lifetime_secs: u32,
    pub signing_alg: SigningAlg,
    pub token_format: TokenFormat,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl ApiResource {
    /// A resource with no settings yet, created at `now`: [`ApiResource::apply`] gives them.
    pub fn new(id: ResourceId, project_id: ProjectId, now: Timestamp) -> Self {
        Self {
            id,
            project_id,
            identifier: String::new(),
            name: String::new(),
            scopes: Vec::new(),
            access_token_lifetime_secs: DEFAULT_LIFETIME,
            signing_alg: SigningAlg::Es256,
            token_format: TokenFormat::Jwt,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Whether the resource defines `scope`.
    pub fn defines(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s.name == scope)
    }

    /// Validates `input` (naming the offending field) and takes its settings; absent optional
    /// fields take their defaults.
    pub fn apply(&mut self, input: &ResourceInput) -> Result<()> {
        check_identifier(&input.identifier)?;
        check_name("name", &input.name, MAX_NAME)?;
        if input.scopes.len() > MAX_SCOPES {
            return Err(Error::invalid("scopes", format!("at most {MAX_SCOPES} scopes")));
        }
        let mut scopes: Vec<ResourceScope> = Vec::with_capacity(input.scopes.len());
        for s in &input.scopes {
            check_scope_name(&s.name)?;
            if KNOWN_SCOPES.contains(&s.name.as_str()) {
                return Err(Error::invalid(
                    "scopes",
                    format!("{:?} is a built-in scope of Gatehouse", s.name),
                ));
            }
            if scopes.iter().any(|o| o.name == s.name) {
                return Err(Error::invalid("scopes", format!("{:?} is listed twice", s.name)));
            }
            check_description("scopes.description", &s.description, MAX_SCOPE_DESCRIPTION)?;
            scopes.push(ResourceScope {
                name: s.name.clone(),
                description: s.description.clone(),
            });
        }
        let lifetime = input.access_token_lifetime_secs.unwrap_or(DEFAULT_LIFETIME);
        if !LIFETIMES.contains(&lifetime) {
            return Err(Error::invalid(
                "access_token_lifetime_secs",
                format!("must be {}-{} seconds", LIFETIMES.start(), LIFETIMES.end()),
            ));
        }
        self.signing_alg = match input.signing_alg.as_deref() {
            None => SigningAlg::Es256,
            Some(a) => {
                SigningAlg::parse(a).ok_or_else(|| Error::invalid("signing_alg", "must be ES256, RS256 or EdDSA"))?
            }
        };
        self.token_format = match input.token_format.as_deref() {
            None | Some("jwt") => TokenFormat::Jwt,
            Some(_) => return Err(Error::invalid("token_format", "must be jwt")),
        };
        self.identifier = input.identifier.clone();
        self.name = input.name.trim().to_owned();
        self.scopes = scopes;
        self.access_token_lifetime_secs = lifetime;
        Ok(())
    }
}

/// The resource a token request names (RFC 8707 §2), or the client's default when it names none:
/// one of the project's `resources` that the client may address, i.e. holds one of its scopes
/// (`client_scopes`) or has as its default. `invalid_target` otherwise.
pub fn select_target<'a>(
    resources: &'a [ApiResource],
    requested: &[String],
    default: Option<&str>,
    client_scopes: &[String],
) -> std::result::Result<Option<&'a ApiResource>, OAuthError> {
    let target = |msg: &str| OAuthError::new(OAuthErrorCode::InvalidTarget, msg);
    let wanted = match requested {
        [] => match default {
            Some(d) => d,
            None => return Ok(None),
        },
        [one] => one.as_str(),
        _ => return Err(target("one resource per token request")),
    };
    let r = resources
        .iter()
        .find(|r| r.identifier == wanted)
        .ok_or_else(|| target("the resource is unknown"))?;
    let allowed = default == Some(wanted) || client_scopes.iter().any(|s| r.defines(s));
    if allowed {
        Ok(Some(r))
    } else {
        Err(target("this client may not request tokens for the resource"))
    }
}

/// The scopes a client may hold in a token for `target`: that resource's scopes among the
/// client's, or without a target, the client's built-in scopes (resource scopes need their
/// audience).
pub fn allowed_scopes(client_scopes: &[String], target: Option<&ApiResource>) -> Vec<String> {
    client_scopes
        .iter()
        .filter(|s| match target {
            Some(r) => r.defines(s),
            None => KNOWN_SCOPES.contains(&s.as_str()),
        })
        .cloned()
        .collect()
}

/// RFC 8707 §2: an absolute URI, without a fragment.
pub fn check_identifier(raw: &str) -> Result<()> {
    let field = "identifier";
    check_text(field, raw, MAX_URI_LEN, true)?;
    if raw.contains('#') {
        return Err(Error::invalid(field, "must not contain a fragment"));
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(Error::invalid(field, "must not contain whitespace"));
    }
    match url::Url::parse(raw) {
        Ok(u) if !u.cannot_be_a_base() || u.scheme() == "urn" => Ok(()),
        _ => Err(Error::invalid(field, format!("{raw:?} must be an absolute URI"))),
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn check_scope_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SCOPE_NAME
        && name
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "scopes",
            format!(
                "{name:?} must be 1-{MAX_SCOPE_NAME} printable ASCII characters without spaces, quotes or backslashes (RFC 6749 §3.3)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_types::ResourceScope as WireScope;

    fn input(identifier: &str, scopes: &[&str]) -> ResourceInput {
        ResourceInput {
            identifier: identifier.into(),
            name: "Orders API".into(),
            scopes: scopes
                .iter()
                .map(|s| WireScope {
                    name: (*s).into(),
                    description: "d".into(),
                })
                .collect(),
            access_token_lifetime_secs: None,
            signing_alg: None,
            token_format: None,
        }
    }

    fn parse(i: &ResourceInput) -> Result<ApiResource> {
        let nil = uuid::Uuid::nil();
        let mut r = ApiResource::new(
            ResourceId::from_uuid(nil),
            ProjectId::from_uuid(nil),
            Timestamp::from_millis(0),
        );
        r.apply(i).map(|()| r)
    }

    fn field(r: Result<ApiResource>) -> String {
        match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_resource_takes_its_defaults() {
        let s = parse(&input("https://api.acme.example", &["orders.read"])).unwrap();
        assert_eq!(s.access_token_lifetime_secs, 3600);
        assert_eq!(s.signing_alg, SigningAlg::Es256);
        assert_eq!(s.token_format, TokenFormat::Jwt);
        assert!(parse(&input("urn:acme:orders", &[])).is_ok());
    }

    #[test]
    fn identifiers_are_absolute_uris_without_fragment() {
        for bad in ["", "orders", "/api", "https://api.example/#x", "https://a b", "mailto"] {
            assert_eq!(field(parse(&input(bad, &[]))), "identifier", "{bad}");
        }
    }

    #[test]
    fn scope_names_follow_the_scope_token_syntax_and_are_not_built_in() {
        for bad in ["", "a b", "a\"b", "a\\b", "caf\u{e9}", "openid", "gatehouse_api"] {
            assert_eq!(field(parse(&input("https://a.example", &[bad]))), "scopes", "{bad}");
        }
        assert_eq!(field(parse(&input("https://a.example", &["x", "x"]))), "scopes");
    }

    #[test]
    fn lifetime_algorithm_and_format_are_checked() {
        let mut i = input("https://a.example", &[]);
        i.access_token_lifetime_secs = Some(59);
        assert_eq!(field(parse(&i)), "access_token_lifetime_secs");
        i.access_token_lifetime_secs = Some(600);
        i.signing_alg = Some("HS256".into());
        assert_eq!(field(parse(&i)), "signing_alg");
        i.signing_alg = Some("EdDSA".into());
        i.token_format = Some("paseto".into());
        assert_eq!(field(parse(&i)), "token_format");
        i.token_format = Some("jwt".into());
        assert_eq!(parse(&i).unwrap().signing_alg, SigningAlg::EdDsa);
    }

    fn resource(identifier: &str, scopes: &[&str]) -> ApiResource {
        parse(&input(identifier, scopes)).unwrap()
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_target_is_a_known_resource_the_client_holds_a_scope_of_or_its_default() {
        let rs = [
            resource("https://a.example", &["a.read"]),
            resource("https://b.example", &["b.read"]),
        ];
        let client = strings(&["a.read", "openid"]);
        let pick = |req: &[&str], default| select_target(&rs, &strings(req), default, &client);
        assert_eq!(
            pick(&["https://a.example"], None).unwrap().unwrap().identifier,
            "https://a.example"
        );
        assert!(pick(&[], None).unwrap().is_none());
        assert_eq!(
            pick(&[], Some("https://a.example")).unwrap().unwrap().identifier,
            "https://a.example"
        );
        assert_eq!(
            pick(&["https://b.example"], Some("https://b.example"))
                .unwrap()
                .unwrap()
                .identifier,
            "https://b.example"
        );
        for (req, default) in [
            (&["https://b.example"][..], None),
            (&["https://c.example"][..], None),
            (&["https://a.example", "https://b.example"][..], None),
        ] {
            assert_eq!(
                pick(req, default).unwrap_err().code,
                OAuthErrorCode::InvalidTarget,
                "{req:?}"
            );
        }
    }

    #[test]
    fn scopes_are_narrowed_to_the_target() {
        let a = resource("https://a.example", &["a.read", "a.write"]);
        let client = strings(&["openid", "a.read", "b.read", "gatehouse_api"]);
        assert_eq!(allowed_scopes(&client, Some(&a)), strings(&["a.read"]));
        assert_eq!(allowed_scopes(&client, None), strings(&["openid", "gatehouse_api"]));
    }
}
