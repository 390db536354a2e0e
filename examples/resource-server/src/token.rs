//! Validation of a Gatehouse JWT access token, offline, as RFC 9068 §4 says: a JWS in compact form
//! whose `typ` is `at+jwt`, signed by a key of the issuer's JWKS with the algorithm that key is
//! for, whose `iss` is the issuer, `exp` is in the future and `aud` names this resource. Each
//! refusal is a short reason, which goes into `error_description`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::jwks::Jwks;

/// Clock skew allowed on `exp` (RFC 9068 §4 allows "some small leeway").
const LEEWAY_SECS: i64 = 30;

/// The claims of an access token this resource server reads (RFC 9068 §2.2).
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

impl Claims {
    /// Whether the token was granted `scope` (RFC 6749 §3.3: space-separated).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// RFC 7519 §4.1.3: one audience or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(all) => all.iter().any(|a| a == aud),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// RFC 7515 §4.1.11: extensions that must be understood; this server understands none.
    crit: Option<serde_json::Value>,
}

/// Checks `token` against `jwks`, for `issuer` and the resource `audience`, at `now` (seconds).
pub async fn validate(
    token: &str,
    jwks: &Jwks,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<Claims, &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not a JWT");
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| "the token is not a JWT");
    let h: Header = serde_json::from_slice(&decode(header)?).map_err(|_| "the token is not a JWT")?;
    // RFC 9068 §4: `at+jwt`, or its full media type.
    let typ_ok = h
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt"));
    if !typ_ok {
        return Err("the token is not an access token (typ at+jwt)");
    }
    if h.crit.is_some() {
        return Err("the token has critical header parameters");
    }
    let kid = h.kid.ok_or("the token names no signing key")?;
    let key = jwks.key(&kid).await.ok_or("the token's signing key is unknown")?;
    // The key decides the algorithm: a header cannot pick a weaker one for it.
    if h.alg != key.alg() {
        return Err("the token's algorithm does not fit its key");
    }
    let signed = &token[..header.len() + 1 + payload.len()];
    if !key.verifies(signed.as_bytes(), &decode(signature)?) {
        return Err("the token's signature does not verify");
    }
    let claims: Claims = serde_json::from_slice(&decode(payload)?).map_err(|_| "the token lacks claims")?;
    if claims.iss != issuer {
        return Err("the token is from another issuer");
    }
    if claims.exp + LEEWAY_SECS <= now {
        return Err("the token has expired");
    }
    if !claims.aud.contains(audience) {
        return Err("the token is for another resource");
    }
    Ok(claims)
}
