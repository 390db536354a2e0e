//! Participant tokens (SPEC §6.1–6.2): MeshAgent-compatible HS256 JWTs a project's backend signs
//! with one of its API keys (the key id in the payload's `kid`, the project in `sub`). Room entry
//! points verify them; claims Gatehouse does not know, and every `ApiScope` member, travel through
//! unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, ProjectId};
use crate::jose::{self, Hs256Key};
use crate::text::{check_json, check_json_map, check_name};
use crate::time::Timestamp;

/// Roles a `role` grant may name.
pub const ROLES: [&str; 3] = ["user", "agent", "tool"];

/// The `version` claim of tokens Gatehouse mints.
pub const VERSION: &str = concat!("gatehouse-", env!("CARGO_PKG_VERSION"));

/// One entry of `grants`: `room` (scope: the room name), `role` (`user`, `agent` or `tool`),
/// `api` (an `ApiScope` object), `site`, `agent`, or a kind Gatehouse does not know, kept as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenGrant {
    pub name: String,
    pub scope: Value,
}

impl TokenGrant {
    pub fn new(name: &str, scope: impl Into<Value>) -> Self {
        Self {
            name: name.to_owned(),
            scope: scope.into(),
        }
    }
}

/// The claims of a participant token, in the SDK's shape. `extra` holds every other claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantClaims {
    /// The participant's identity; never empty.
    pub name: String,
    pub grants: Vec<TokenGrant>,
    /// The project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The signing API key's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Expiry, in seconds since the epoch; a token without one does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The surfaces of the `user_default` preset (SPEC §6.2), as the MeshAgent SDK defines it.
const USER_DEFAULT: [&str; 12] = [
    "livekit",
    "queues",
    "messaging",
    "dataset",
    "memory",
    "sync",
    "storage",
    "containers",
    "developer",
    "agents",
    "secrets",
    "services",
];

/// An `ApiScope` preset by name: `user_default`; `agent_default`, which adds `llm`; `full`, which
/// also adds `admin` and `tunnels`. Every surface is granted with its defaults (`{}`).
pub fn api_preset(name: &str) -> Option<Map<String, Value>> {
    let extra: &[&str] = match name {
        "user_default" => &[],
        "agent_default" => &["llm"],
        "full" => &["llm", "admin", "tunnels"],
        _ => return None,
    };
    let all = USER_DEFAULT.iter().chain(extra);
    Some(all.map(|s| ((*s).to_owned(), Value::Object(Map::new()))).collect())
}

/// An `ApiScope` given as an object, kept as it is, or as the name of a preset.
pub fn api_scope(field: &str, value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(scope) => check_json_map(field, &scope).map(|()| scope),
        Value::String(name) if let Some(scope) = api_preset(&name) => Ok(scope),
        _ => Err(Error::invalid(
            field,
            "must be an ApiScope object or one of user_default, agent_default and full",
        )),
    }
}

/// Default and longest lifetime of a token minted from a request.
const DEFAULT_TTL_SECS: u32 = 3600;
const MAX_TTL_SECS: u32 = 30 * 86_400;
/// Longest participant identity and room name in a request, and in a room.
pub const MAX_NAME_CHARS: usize = 256;
/// Most grants in a token minted from a request.
const MAX_GRANTS: usize = 32;

impl ParticipantClaims {
    /// The claims of a mint request (SPEC §6.3, either body form), checked: a name, a known role,
    /// bounded grants and a lifetime of 1 s to 30 days (default one hour from `now`). The REST
    /// endpoint and `gatehouse token` both mint through this.
    pub fn from_request(req: gatehouse_types::CreateParticipantToken, now: Timestamp) -> Result<Self> {
        check_name("name", &req.name, MAX_NAME_CHARS)?;
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
        if !(1..=MAX_TTL_SECS).contains(&ttl) {
            return Err(Error::invalid("ttl_seconds", format!("must be 1 to {MAX_TTL_SECS}")));
        }
        let grants: Vec<TokenGrant> = match req.grants {
            Some(_) if req.room_name.is_some() || req.role.is_some() || req.api.is_some() => {
                return Err(Error::invalid(
                    "grants",
                    "give either grants or room_name, role and api, not both",
                ));
            }
            Some(grants) => {
                for g in &grants {
                    check_name("grants", &g.name, MAX_NAME_CHARS)?;
                    check_json("grants", &g.scope)?;
                }
                grants.into_iter().map(|g| TokenGrant::new(&g.name, g.scope)).collect()
            }
            None => {
                let mut grants = Vec::new();
                if let Some(room) = req.room_name {
                    grants.push(TokenGrant::new("room", room));
                }
                grants.push(TokenGrant::new("role", req.role.unwrap_or_else(|| "user".into())));
                if let Some(api) = req.api {
                    grants.push(TokenGrant::new("api", Value::Object(api_scope("api", api)?)));
                }
                grants
            }
        };
        if grants.len() > MAX_GRANTS {
            return Err(Error::invalid("grants", format!("at most {MAX_GRANTS}")));
        }
        for g in &grants {
            match (g.name.as_str(), g.scope.as_str()) {
                ("role", r) if !r.is_some_and(|r| ROLES.contains(&r)) => {
                    return Err(Error::invalid("role", "must be user, agent or tool"));
                }
                ("room", Some(room)) => check_name("room_name", room, MAX_NAME_CHARS)?,
                _ => {}
            }
        }
        if grants.iter().filter(|g| g.name == "role").count() > 1 {
            return Err(Error::invalid("grants", "at most one role grant"));
        }
        let claims = Self {
            name: req.name,
            grants,
            sub: None,
            kid: None,
            version: None,
            exp: Some(now.secs() + i64::from(ttl)),
            extra: Map::new(),
        };
        claims.check()?;
        Ok(claims)
    }

    /// The rules every token must follow, however it was minted: a non-empty `name`, at most one
    /// `api` grant and an object as its scope, a text scope for `room` grants.
    pub fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        let mut api = 0;
        for g in &self.grants {
            match g.name.as_str() {
                "api" if !g.scope.is_object() => {
                    return Err(Error::invalid("grants", "an api grant's scope is an object"));
                }
                "api" => api += 1,
                "room" | "role" | "site" | "agent" if !g.scope.is_string() => {
                    return Err(Error::invalid(
                        "grants",
                        format!("a {} grant's scope is a string", g.name),
                    ));
                }
                _ => {}
            }
        }
        if api > 1 {
            return Err(Error::invalid("grants", "at most one api grant"));
        }
        Ok(())
    }

    /// Whether a `room` grant names `room`.
    pub fn allows_room(&self, room: &str) -> bool {
        self.grants.iter().any(|g| g.name == "room" && g.scope == room)
    }

    /// The `role` grant's role; `user` when there is none.
    pub fn role(&self) -> &str {
        self.grants
            .iter()
            .find(|g| g.name == "role")
            .and_then(|g| g.scope.as_str())
            .unwrap_or("user")
    }

    /// The `ApiScope` of the `api` grant, if any.
    pub fn api_scope(&self) -> Option<&Map<String, Value>> {
        self.grants
            .iter()
            .find(|g| g.name == "api")
            .and_then(|g| g.scope.as_object())
    }

    /// Signs with an API key, as the MeshAgent SDK does: `kid` and `sub` are overwritten with the
    /// key's ids, and `version` is set when missing.
    pub fn sign(mut self, key: ApiKeyId, project: ProjectId, secret: &[u8]) -> Result<String> {
        self.check()?;
        self.kid = Some(key.to_string());
        self.sub = Some(project.to_string());
        self.version.get_or_insert_with(|| VERSION.to_owned());
        let claims = serde_json::to_value(&self).map_err(Error::unexpected)?;
        jose::sign_hs256(secret, &json!({ "alg": "HS256", "typ": "JWT" }), &claims)
    }
}

/// A participant token decoded but not verified: it tells which API key to verify it with, and
/// gives up its claims only to [`Unverified::verify`]. (No `Debug`: it holds a bearer token.)
pub struct Unverified<'t> {
    token: &'t str,
    payload: Vec<u8>,
    claims: ParticipantClaims,
}

/// A verified participant token: its project and API key, its claims, and its payload exactly
/// as signed (JSON bytes of an object).
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub project_id: ProjectId,
    pub api_key_id: ApiKeyId,
    pub claims: ParticipantClaims,
    pub payload: Vec<u8>,
}

impl<'t> Unverified<'t> {
    /// Decodes the payload once; anything that is not a participant token is refused.
    pub fn read(token: &'t str) -> Result<Self> {
        let refused = || Error::Unauthorized("not a participant token".into());
        let payload = jose::unverified_payload(token).map_err(|_| refused())?;
        let claims = serde_json::from_slice(&payload).map_err(|_| refused())?;
        Ok(Self { token, payload, claims })
    }

    /// The API key the token names in `kid`.
    pub fn key(&self) -> Result<ApiKeyId> {
        self.claims
            .kid
            .as_deref()
            .and_then(|k| uuid::Uuid::try_parse(k).ok())
            .map(ApiKeyId::from_uuid)
            .ok_or_else(|| Error::Unauthorized("the participant token names no valid API key".into()))
    }

    /// Verifies the token against its API key's secret and project (SPEC §6.4): HS256 only, the
    /// signature, `sub` equal to the key's project, `exp` when present, and
    /// [`ParticipantClaims::check`].
    pub fn verify(self, project: ProjectId, key: &Hs256Key, now: Timestamp) -> Result<Verified> {
        let refused = |why: &str| Error::Unauthorized(format!("participant token refused: {why}"));
        let api_key_id = self.key()?;
        key.check(self.token).map_err(|e| match e {
            Error::Unauthorized(_) => e,
            _ => refused("it is not a compact JWS"),
        })?;
        let claims = self.claims;
        if claims.sub.as_deref() != Some(project.to_string().as_str()) {
            return Err(refused("sub is not the key's project"));
        }
        if claims.exp.is_some_and(|exp| exp <= now.secs()) {
            return Err(refused("expired"));
        }
        claims.check().map_err(|e| refused(&e.to_string()))?;
        Ok(Verified {
            project_id: project,
            api_key_id,
            claims,
            payload: self.payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_the_sdks() {
        let cases = crate::meshagent_fixture("apiscope_semantics.json");
        let mut seen = 0;
        for case in cases["api_grant_serialisation"].as_array().unwrap() {
            let name = case["api_scope"].as_str().unwrap();
            if let Some(preset) = name.strip_suffix("()").and_then(api_preset) {
                assert_eq!(Value::Object(preset), case["scope_json"], "{name}");
                seen += 1;
            }
        }
        assert_eq!(seen, 3, "user_default, agent_default and full");
        assert!(api_preset("admin_only").is_none());
    }

    #[test]
    fn a_mint_request_may_name_a_preset() {
        let req = |api: Value| gatehouse_types::CreateParticipantToken {
            name: "a".into(),
            api: Some(api),
            ..Default::default()
        };
        let claims = ParticipantClaims::from_request(req(json!("agent_default")), Timestamp::from_millis(0)).unwrap();
        assert_eq!(claims.api_scope(), api_preset("agent_default").as_ref());
        assert!(ParticipantClaims::from_request(req(json!("everything")), Timestamp::from_millis(0)).is_err());
    }

    fn fixtures() -> Value {
        crate::meshagent_fixture("participant_tokens.json")
    }

    /// 2026-06-17, when the fixtures were made.
    const NOW: Timestamp = Timestamp::from_millis(1_781_654_400_000);

    #[test]
    fn every_sdk_token_verifies_to_exactly_its_claims_or_is_refused_as_required() {
        let f = fixtures();
        let cases = f["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 15);
        for c in cases {
            let id = c["id"].as_str().unwrap();
            let jwt = c["jwt"].as_str().unwrap();
            let secret = c["signing_secret"].as_str().unwrap().as_bytes();
            let expected = &c["decoded_claims"];
            let project = ProjectId::from_uuid(uuid::Uuid::try_parse(expected["sub"].as_str().unwrap()).unwrap());
            let verified = Unverified::read(jwt).and_then(|t| {
                t.key()?;
                t.verify(project, &Hs256Key::new(secret)?, NOW)
            });
            match c["gatehouse_validate_status"].as_u64().unwrap() {
                200 => {
                    let v = verified.unwrap_or_else(|e| panic!("{id}: {e}"));
                    assert_eq!(serde_json::from_slice::<Value>(&v.payload).unwrap(), *expected, "{id}");
                    assert_eq!(serde_json::to_value(&v.claims).unwrap(), *expected, "{id}");
                    assert_eq!(v.claims.kid.as_deref(), expected["kid"].as_str(), "{id}");
                }
                401 => assert!(matches!(verified, Err(Error::Unauthorized(_))), "{id}: {verified:?}"),
                other => panic!("{id}: unexpected status {other}"),
            }
        }
    }

    #[test]
    fn minted_tokens_follow_the_sdks_rules_and_keep_unknown_claims() {
        let key = ApiKeyId::from_uuid(uuid::Uuid::new_v4());
        let project = ProjectId::from_uuid(uuid::Uuid::new_v4());
        let secret = [7u8; 43];
        let mut extra = Map::new();
        extra.insert("session".into(), json!({ "tier": "gold" }));
        let claims = ParticipantClaims {
            name: "alice".into(),
            grants: vec![
                TokenGrant::new("room", "room-1"),
                TokenGrant::new("role", "user"),
                TokenGrant::new(
                    "api",
                    json!({ "livekit": {}, "secrets": { "request_oauth_token": [] } }),
                ),
            ],
            sub: Some("someone-else".into()),
            kid: None,
            version: None,
            exp: Some(NOW.secs() + 60),
            extra,
        };
        let token = claims.sign(key, project, &secret).unwrap();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(header, json!({ "alg": "HS256", "typ": "JWT" }));
        assert_eq!(Unverified::read(&token).unwrap().key().unwrap(), key);
        let verify = |project, secret: &[u8], now| {
            Unverified::read(&token)
                .unwrap()
                .verify(project, &Hs256Key::new(secret).unwrap(), now)
        };
        let back = verify(project, &secret, NOW).unwrap().claims;
        assert_eq!(
            back.sub.as_deref(),
            Some(project.to_string().as_str()),
            "sub is the key's project"
        );
        assert_eq!(back.version.as_deref(), Some(VERSION));
        assert_eq!(back.extra["session"], json!({ "tier": "gold" }));
        assert_eq!(
            back.api_scope().unwrap()["secrets"],
            json!({ "request_oauth_token": [] }),
            "an empty allow-list stays"
        );
        assert!(back.allows_room("room-1") && !back.allows_room("room-2"));
        // Another project, a later time, another secret: refused.
        let other = ProjectId::from_uuid(uuid::Uuid::new_v4());
        assert!(verify(other, &secret, NOW).is_err());
        assert!(verify(project, &secret, NOW.plus_secs(60)).is_err());
        assert!(verify(project, &[8u8; 43], NOW).is_err());
    }

    #[test]
    fn malformed_grants_are_refused() {
        let base = || ParticipantClaims {
            name: "a".into(),
            grants: vec![TokenGrant::new("room", "r")],
            sub: None,
            kid: None,
            version: None,
            exp: None,
            extra: Map::new(),
        };
        assert!(base().check().is_ok());
        let mut c = base();
        c.name = " ".into();
        assert!(c.check().is_err());
        let mut c = base();
        c.grants.push(TokenGrant::new("api", json!({})));
        c.grants.push(TokenGrant::new("api", json!({})));
        assert!(c.check().is_err(), "two api grants");
        let mut c = base();
        c.grants.push(TokenGrant::new("api", "full"));
        assert!(c.check().is_err(), "an api scope that is not an object");
        let mut c = base();
        c.grants.push(TokenGrant::new("room", json!(["r"])));
        assert!(c.check().is_err(), "a room scope that is not a string");
    }
}
