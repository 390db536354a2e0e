//! API resources of a project (SPEC §5.7): the audiences Gatehouse issues access tokens for,
//! with the scopes each defines, and the rules their registration follows.

use gatehouse_types::ResourceInput;
use serde::{Deserialize, Serialize};

use crate::clients::KNOWN_SCOPES;
use crate::clients::uri::MAX_URI_LEN;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, ResourceId};
use crate::jose::SigningAlg;
use crate::oauth::scope::Scopes;
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
    /// A value only Gatehouse can read: the resource server learns about it by introspection
    /// (RFC 7662). See [`crate::oauth::opaque`].
    Opaque,
}

impl TokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "jwt",
            TokenFormat::Opaque => "opaque",
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
            Some("opaque") => TokenFormat::Opaque,
            Some(_) => return Err(Error::invalid("token_format", "must be jwt or opaque")),
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
    addressable(resources, wanted, default, client_scopes).map(Some)
}

/// The project's resource `wanted` names, if it is well formed (RFC 8707 §2), known and one the
/// client may address: it holds one of its scopes or has it as its default. `invalid_target`
/// otherwise.
fn addressable<'a>(
    resources: &'a [ApiResource],
    wanted: &str,
    default: Option<&str>,
    client_scopes: &[String],
) -> std::result::Result<&'a ApiResource, OAuthError> {
    let r = find_target(resources, wanted)?;
    let allowed = default == Some(wanted) || client_scopes.iter().any(|s| r.defines(s));
    if allowed {
        Ok(r)
    } else {
        Err(OAuthError::new(
            OAuthErrorCode::InvalidTarget,
            "this client may not request tokens for the resource",
        ))
    }
}

/// The project's resource `wanted` names, if it is well formed (RFC 8707 §2) and known;
/// `invalid_target` otherwise.
pub fn find_target<'a>(resources: &'a [ApiResource], wanted: &str) -> std::result::Result<&'a ApiResource, OAuthError> {
    let target = |msg: &str| OAuthError::new(OAuthErrorCode::InvalidTarget, msg);
    if check_identifier(wanted).is_err() {
        return Err(target("a resource must be an absolute URI without a fragment"));
    }
    resources
        .iter()
        .find(|r| r.identifier == wanted)
        .ok_or_else(|| target("the resource is unknown"))
}

/// Most `resource` parameters one authorization request may carry.
pub const MAX_GRANT_RESOURCES: usize = 10;

/// The resources an authorization or device authorization request names (RFC 8707 §2): each
/// well formed, one of the project's, and addressable by the client; `invalid_target` otherwise.
pub fn requested_targets<'a>(
    resources: &'a [ApiResource],
    requested: &[String],
    default: Option<&str>,
    client_scopes: &[String],
) -> std::result::Result<Vec<&'a ApiResource>, OAuthError> {
    if requested.len() > MAX_GRANT_RESOURCES {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidTarget,
            format!("at most {MAX_GRANT_RESOURCES} resources per request"),
        ));
    }
    let mut out: Vec<&ApiResource> = Vec::with_capacity(requested.len());
    for wanted in requested {
        let r = addressable(resources, wanted, default, client_scopes)?;
        if !out.iter().any(|o| o.id == r.id) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The scopes a user grant may be given: the client's built-in scopes, and its scopes of the
/// requested resources (of every resource of the project when the request names none).
pub fn grant_scopes(client_scopes: &[String], resources: &[ApiResource], targets: &[&ApiResource]) -> Vec<String> {
    client_scopes
        .iter()
        .filter(|s| {
            KNOWN_SCOPES.contains(&s.as_str())
                || if targets.is_empty() {
                    resources.iter().any(|r| r.defines(s))
                } else {
                    targets.iter().any(|r| r.defines(s))
                }
        })
        .cloned()
        .collect()
}

/// Whether a user grant covers resource `r`: one its request named (`named`, recorded with the
/// grant), or when it named none, the client's default resource and every resource one of the
/// granted scopes belongs to.
fn covers(r: &ApiResource, named: &[ResourceId], default: Option<&str>, granted: &Scopes) -> bool {
    if named.is_empty() {
        default == Some(r.identifier.as_str()) || granted.iter().any(|s| r.defines(s))
    } else {
        named.contains(&r.id)
    }
}

/// The audience of a token redeemed from a user grant (RFC 8707 §2.2): the one resource the token
/// request names, or without one the client's default when the grant covers it, else Gatehouse
/// itself. A resource the grant does not cover ([`covers`]) is `invalid_target`.
pub fn grant_target<'a>(
    resources: &'a [ApiResource],
    requested: &[String],
    client: (Option<&str>, &[String]),
    named: &[ResourceId],
    granted: &Scopes,
) -> std::result::Result<Option<&'a ApiResource>, OAuthError> {
    let (default, client_scopes) = client;
    let default = default.filter(|d| {
        resources
            .iter()
            .any(|r| r.identifier == *d && covers(r, named, Some(d), granted))
    });
    match select_target(resources, requested, default, client_scopes)? {
        Some(r) if !covers(r, named, default, granted) => Err(OAuthError::new(
            OAuthErrorCode::InvalidTarget,
            "the resource was not granted to this authorization",
        )),
        t => Ok(t),
    }
}

/// The scopes among `scopes` that the project's resources define, with their descriptions (the
/// consent and device pages show them).
pub fn described(resources: &[ApiResource], scopes: &Scopes) -> Vec<ResourceScope> {
    scopes
        .iter()
        .filter_map(|name| resources.iter().flat_map(|r| &r.scopes).find(|d| d.name == name))
        .cloned()
        .collect()
}

/// The scopes of an access token for `target` out of a grant's `granted` scopes: the resource's
/// own, or without a target, the built-in ones (a token carries only its audience's scopes).
pub fn token_scopes(granted: &Scopes, target: Option<&ApiResource>) -> Scopes {
    granted.filtered(|s| fits(s, target))
}

fn fits(scope: &str, target: Option<&ApiResource>) -> bool {
    match target {
        Some(r) => r.defines(scope),
        None => KNOWN_SCOPES.contains(&scope),
    }
}

/// The scopes a client may hold in a token for `target`: that resource's scopes among the
/// client's, or without a target, the client's built-in scopes (resource scopes need their
/// audience).
pub fn allowed_scopes(client_scopes: &[String], target: Option<&ApiResource>) -> Vec<String> {
    client_scopes.iter().filter(|s| fits(s, target)).cloned().collect()
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
        i.token_format = Some("opaque".into());
        assert_eq!(parse(&i).unwrap().token_format, TokenFormat::Opaque);
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
    fn a_user_grant_covers_the_resources_it_named_or_else_those_of_its_scopes_and_the_default() {
        let mut rs = [
            resource("https://a.example", &["a.read"]),
            resource("https://b.example", &["b.read"]),
        ];
        rs[1].id = ResourceId::from_uuid(uuid::Uuid::from_u128(2));
        let client = strings(&["a.read", "b.read"]);
        let named = requested_targets(
            &rs,
            &strings(&["https://b.example", "https://b.example"]),
            None,
            &client,
        )
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect::<Vec<_>>();
        assert_eq!(named, [rs[1].id], "named once");
        for bad in ["https://b.example#x", "b.example", "https://c.example"] {
            let e = requested_targets(&rs, &strings(&[bad]), None, &client).unwrap_err();
            assert_eq!(e.code, OAuthErrorCode::InvalidTarget, "{bad}");
        }
        let granted = Scopes::parse("openid a.read").unwrap();
        let aud = |req: &[&str], default, named: &[ResourceId]| {
            grant_target(&rs, &strings(req), (default, &client), named, &granted)
                .map(|t| t.map(|r| r.identifier.clone()))
                .map_err(|e| e.code)
        };
        // Named: only those, and the default only if named.
        assert_eq!(
            aud(&["https://b.example"], None, &named),
            Ok(Some("https://b.example".into()))
        );
        assert_eq!(
            aud(&["https://a.example"], None, &named),
            Err(OAuthErrorCode::InvalidTarget)
        );
        assert_eq!(aud(&[], Some("https://a.example"), &named), Ok(None));
        // None named: the granted scopes' resources and the default.
        assert_eq!(
            aud(&["https://a.example"], None, &[]),
            Ok(Some("https://a.example".into()))
        );
        assert_eq!(
            aud(&["https://b.example"], None, &[]),
            Err(OAuthErrorCode::InvalidTarget)
        );
        assert_eq!(
            aud(&[], Some("https://b.example"), &[]),
            Ok(Some("https://b.example".into()))
        );
        assert_eq!(token_scopes(&granted, Some(&rs[0])).to_wire(), "a.read");
        assert_eq!(token_scopes(&granted, None).to_wire(), "openid");
    }

    #[test]
    fn scopes_are_narrowed_to_the_target() {
        let a = resource("https://a.example", &["a.read", "a.write"]);
        let client = strings(&["openid", "a.read", "b.read", "gatehouse_api"]);
        assert_eq!(allowed_scopes(&client, Some(&a)), strings(&["a.read"]));
        assert_eq!(allowed_scopes(&client, None), strings(&["openid", "gatehouse_api"]));
    }
}
