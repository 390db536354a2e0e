//! Reads back everything in the soak's project after a restart: every object the lists show and
//! every object the ledger knows, each fetched on its own (`GET`), with its credential tried
//! where one was seen (a client's secret at the token endpoint, an API key on the API).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::Value;

use super::ledger::{Kind, ObjectKey, State};
use super::{Api, str_at};

/// Requests in flight while reading back.
const CONCURRENCY: usize = 8;

/// The state of every object found in the project, given what the ledger expects.
pub async fn read_all(
    api: &Api,
    expectations: &[(ObjectKey, Vec<State>)],
) -> anyhow::Result<BTreeMap<ObjectKey, State>> {
    let mut names: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
    let mut credentials: BTreeMap<ObjectKey, String> = BTreeMap::new();
    for (key, states) in expectations {
        names.entry(key.0).or_default().insert(key.1.clone());
        for s in states {
            if let State::Client { secret: Some(c), .. } | State::ApiKey { value: Some(c), .. } = s {
                credentials.insert(key.clone(), c.clone());
            }
        }
    }
    let mut found = BTreeMap::new();

    let mut clients = names.remove(&Kind::Client).unwrap_or_default();
    for c in list(api, "/oauth/clients", Some("count"), "clients").await? {
        clients.insert(str_at(&c, "/client_id")?);
    }
    let reads = clients.into_iter().map(|id| {
        let secret = credentials.get(&(Kind::Client, id.clone())).cloned();
        async move {
            let state = client(api, &id, secret).await?;
            anyhow::Ok(((Kind::Client, id), state))
        }
    });
    collect(reads, &mut found).await?;

    let mut listed_keys = BTreeMap::new();
    for k in list(api, "/api-keys", None, "keys").await? {
        listed_keys.insert(str_at(&k, "/name")?, str_at(&k, "/description")?);
    }
    let mut keys = names.remove(&Kind::ApiKey).unwrap_or_default();
    keys.extend(listed_keys.keys().cloned());
    let reads = keys.into_iter().map(|name| {
        let value = credentials.get(&(Kind::ApiKey, name.clone())).cloned();
        let description = listed_keys.get(&name).cloned();
        async move {
            let state = api_key(api, description, value).await?;
            anyhow::Ok(((Kind::ApiKey, name), state))
        }
    });
    collect(reads, &mut found).await?;

    let mut rooms = names.remove(&Kind::Room).unwrap_or_default();
    for r in list(api, "/rooms", Some("limit"), "rooms").await? {
        rooms.insert(str_at(&r, "/name")?);
    }
    let reads = rooms.into_iter().map(|name| async move {
        let state = match api.read(&format!("/rooms/{name}"), true).await? {
            Some(room) => State::Room {
                metadata: room.get("metadata").cloned().unwrap_or(Value::Null),
            },
            None => State::Absent,
        };
        anyhow::Ok(((Kind::Room, name), state))
    });
    collect(reads, &mut found).await?;

    for g in list(api, "/room-grants", Some("limit"), "grants").await? {
        let key = format!("{}/{}", str_at(&g, "/room_name")?, str_at(&g, "/user_id")?);
        let permissions = g.get("permissions").cloned().unwrap_or(Value::Null);
        found.insert((Kind::Grant, key), State::Grant { permissions });
    }

    let listed = list(api, "/secrets", None, "secrets").await?;
    let reads = listed.iter().map(|s| async move {
        let (name, id) = (str_at(s, "/name")?, str_at(s, "/id")?);
        let state = match api.read(&format!("/secrets/{id}"), true).await? {
            Some(secret) => decoded(&secret),
            None => State::Broken("listed but not found".into()),
        };
        anyhow::Ok(((Kind::Secret, name), state))
    });
    collect(reads, &mut found).await?;

    found.retain(|_, s| *s != State::Absent);
    Ok(found)
}

/// Runs `reads` a few at a time into `found`.
async fn collect(
    reads: impl Iterator<Item = impl Future<Output = anyhow::Result<(ObjectKey, State)>>>,
    found: &mut BTreeMap<ObjectKey, State>,
) -> anyhow::Result<()> {
    let mut stream = futures::stream::iter(reads).buffer_unordered(CONCURRENCY);
    while let Some(r) = stream.next().await {
        let (key, state) = r?;
        found.insert(key, state);
    }
    Ok(())
}

/// Every item of a list endpoint under the project, page by page (1,000 a page) when it pages.
async fn list(api: &Api, rest: &str, page_param: Option<&str>, field: &str) -> anyhow::Result<Vec<Value>> {
    const PAGE: usize = 1000;
    let mut out = Vec::new();
    loop {
        let query = match page_param {
            Some(p) => format!("{rest}?{p}={PAGE}&offset={}", out.len()),
            None => rest.to_owned(),
        };
        let page = api.read(&query, false).await?.context("a list is never absent")?;
        let items = page
            .get(field)
            .and_then(Value::as_array)
            .with_context(|| format!("no {field} in GET {rest}"))?;
        out.extend(items.iter().cloned());
        if page_param.is_none() || items.len() < PAGE {
            return Ok(out);
        }
    }
}

/// A client as read, its secret tried at the token endpoint when known.
async fn client(api: &Api, id: &str, secret: Option<String>) -> anyhow::Result<State> {
    let Some(c) = api.read(&format!("/oauth/clients/{id}"), true).await? else {
        return Ok(State::Absent);
    };
    if c.pointer("/client/has_client_secret") != Some(&Value::Bool(true)) {
        return Ok(State::Broken("a confidential client without a secret".into()));
    }
    let name = str_at(&c, "/client/name")?;
    let secret = match secret {
        Some(s) if token_accepts(api, id, &s).await? => Some(s),
        _ => None,
    };
    Ok(State::Client { name, secret })
}

/// Whether `POST /oauth/token` (client credentials) accepts the client's secret.
async fn token_accepts(api: &Api, id: &str, secret: &str) -> anyhow::Result<bool> {
    let res = api
        .http
        .post(format!("{}/oauth/token", api.base))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .context("POST /oauth/token")?;
    match res.status().as_u16() {
        200 => Ok(true),
        401 => Ok(false),
        s => anyhow::bail!("POST /oauth/token for {id}: {s}"),
    }
}

/// An API key as read: `description` from the list (`None` when not listed), its value tried
/// on the API when known.
async fn api_key(api: &Api, description: Option<String>, value: Option<String>) -> anyhow::Result<State> {
    let works = match &value {
        Some(v) => key_authenticates(api, v).await?,
        None => false,
    };
    Ok(match description {
        Some(description) => State::ApiKey {
            description,
            value: value.filter(|_| works),
        },
        None if works => State::Broken("a key not listed still authenticates".into()),
        None => State::Absent,
    })
}

/// Whether `value` authenticates on the REST API.
async fn key_authenticates(api: &Api, value: &str) -> anyhow::Result<bool> {
    let (status, body) = api
        .send_as(value, Method::GET, &api.path(""), None)
        .await
        .context("GET the project with a key")?;
    match status {
        200 => Ok(true),
        401 => Ok(false),
        s => anyhow::bail!("GET the project with a key: {s}: {body}"),
    }
}

/// A project secret's data as read.
fn decoded(secret: &Value) -> State {
    let data = secret
        .get("data_base64")
        .and_then(Value::as_str)
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match data {
        Some(data) => State::Secret { data },
        None => State::Broken("data that does not decode".into()),
    }
}
