//! One writer of the crash soak: a loop of mixed REST writes (creates, updates and deletes of
//! OAuth clients, API keys, rooms, room grants and project secrets), each recorded in the
//! [`Ledger`] before it is sent and acknowledged when its 2xx answer arrives.
//!
//! A writer updates or deletes only objects whose last write it saw acknowledged; an object whose
//! write went unanswered is left to the ledger (which checks it after every restart) and never
//! touched again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use super::ledger::{Kind, Ledger, State};
use super::{Answer, Api, Rng, str_at};

/// The scopes a grant's permissions are drawn from (each with an empty, default policy).
const SCOPES: [&str; 8] = [
    "agents",
    "containers",
    "llm",
    "memory",
    "messaging",
    "queues",
    "secrets",
    "storage",
];

/// A writer's acknowledged objects, kept across rounds.
#[derive(Debug)]
pub struct Writer {
    id: usize,
    rng: Rng,
    next: u64,
    /// The user it grants rooms to (a member of the project).
    user_id: String,
    /// `(client_id, name, secret)`.
    clients: Vec<(String, String, String)>,
    /// `(name, id, description, value)`.
    keys: Vec<(String, String, String, String)>,
    rooms: Vec<String>,
    /// Rooms where its user holds a grant.
    grants: Vec<String>,
    /// `(name, id)`.
    secrets: Vec<(String, String)>,
}

/// What one round of a writer did.
#[derive(Debug, Default)]
pub struct Tally {
    pub acknowledged: u64,
    /// Writes whose answer never came.
    pub unanswered: u64,
    /// Answers other than the expected 2xx (each a finding to look into).
    pub unexpected: Vec<String>,
}

enum Op {
    CreateClient,
    RenameClient,
    CreateKey,
    RevokeKey,
    CreateRoom,
    PutGrant,
    DeleteGrant,
    CreateSecret,
    UpdateSecret,
    DeleteSecret,
}

/// The mix: creates dominate, so that the data grows.
const MIX: [(Op, u64); 10] = [
    (Op::CreateClient, 6),
    (Op::RenameClient, 2),
    (Op::CreateKey, 2),
    (Op::RevokeKey, 1),
    (Op::CreateRoom, 4),
    (Op::PutGrant, 4),
    (Op::DeleteGrant, 1),
    (Op::CreateSecret, 6),
    (Op::UpdateSecret, 4),
    (Op::DeleteSecret, 2),
];

impl Writer {
    pub fn new(id: usize, rng: Rng, user_id: String) -> Self {
        Self {
            id,
            rng,
            next: 0,
            user_id,
            clients: Vec::new(),
            keys: Vec::new(),
            rooms: Vec::new(),
            grants: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Writes until `stop` is set, then returns what it did.
    pub async fn run(&mut self, api: &Api, ledger: &Ledger, stop: &AtomicBool) -> Tally {
        let mut tally = Tally::default();
        while !stop.load(Ordering::Acquire) {
            match self.write_one(api, ledger).await {
                Ok(true) => tally.acknowledged += 1,
                Ok(false) => {}
                Err(Outcome::Unanswered) => {
                    tally.unanswered += 1;
                    // The server is down (killed): wait for the round to end.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(Outcome::Unexpected(e)) => tally.unexpected.push(e),
            }
        }
        tally
    }

    /// One write of the mix; `Ok(false)` when it had nothing to work on.
    async fn write_one(&mut self, api: &Api, ledger: &Ledger) -> Result<bool, Outcome> {
        self.next += 1;
        let tag = format!("w{}-{}", self.id, self.next);
        let total: u64 = MIX.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.below(total);
        let op = MIX
            .iter()
            .find(|(_, w)| {
                let hit = pick < *w;
                pick = pick.saturating_sub(*w);
                hit
            })
            .map(|(op, _)| op)
            .expect("a weighted pick");
        match op {
            Op::CreateClient => self.create_client(api, ledger, &tag).await,
            Op::RenameClient => self.rename_client(api, ledger, &tag).await,
            Op::CreateKey => self.create_key(api, ledger, &tag).await,
            Op::RevokeKey => self.revoke_key(api, ledger).await,
            Op::CreateRoom => self.create_room(api, ledger, &tag).await,
            Op::PutGrant => self.put_grant(api, ledger).await,
            Op::DeleteGrant => self.delete_grant(api, ledger).await,
            Op::CreateSecret => self.create_secret(api, ledger, &tag).await,
            Op::UpdateSecret => self.update_secret(api, ledger).await,
            Op::DeleteSecret => self.delete_secret(api, ledger).await,
        }
    }

    /// Takes a random element out of `pool` (put back by the caller when acknowledged).
    fn take<T>(rng: &mut Rng, pool: &mut Vec<T>) -> Option<T> {
        if pool.is_empty() {
            return None;
        }
        let i = rng.below(pool.len() as u64) as usize;
        Some(pool.swap_remove(i))
    }

    async fn create_client(&mut self, api: &Api, ledger: &Ledger, tag: &str) -> Result<bool, Outcome> {
        let id = format!("soak-{tag}");
        let name = format!("client {tag}");
        let body = json!({ "client_id": id, "name": name, "grant_types": ["client_credentials"] });
        let pending = ledger.begin(
            Kind::Client,
            &id,
            State::Client {
                name: name.clone(),
                secret: None,
            },
        );
        let answer = expect(
            api.send(Method::POST, &api.path("/oauth/clients"), Some(&body)).await,
            201,
        )?;
        let secret = str_at(&answer, "/client/client_secret").map_err(|e| Outcome::Unexpected(e.to_string()))?;
        // The answer shows the secret: from now on it must keep working.
        let outcome = State::Client {
            name: name.clone(),
            secret: Some(secret.clone()),
        };
        ledger.acknowledge_as(pending, outcome);
        self.clients.push((id, name, secret));
        Ok(true)
    }

    async fn rename_client(&mut self, api: &Api, ledger: &Ledger, tag: &str) -> Result<bool, Outcome> {
        let Some((id, _, secret)) = Self::take(&mut self.rng, &mut self.clients) else {
            return Ok(false);
        };
        let name = format!("client renamed {tag}");
        let outcome = State::Client {
            name: name.clone(),
            secret: Some(secret.clone()),
        };
        let pending = ledger.begin(Kind::Client, &id, outcome);
        let path = api.path(&format!("/oauth/clients/{id}"));
        expect(api.send(Method::PUT, &path, Some(&json!({ "name": name }))).await, 200)?;
        ledger.acknowledge(pending);
        self.clients.push((id, name, secret));
        Ok(true)
    }

    async fn create_key(&mut self, api: &Api, ledger: &Ledger, tag: &str) -> Result<bool, Outcome> {
        let name = format!("key-{tag}");
        let description = format!("soak key {}", self.rng.hex());
        let body = json!({ "name": name, "description": description });
        let unseen = State::ApiKey {
            description: description.clone(),
            value: None,
        };
        let pending = ledger.begin(Kind::ApiKey, &name, unseen);
        let answer = expect(api.send(Method::POST, &api.path("/api-keys"), Some(&body)).await, 201)?;
        let (id, value) = str_at(&answer, "/id")
            .and_then(|id| Ok((id, str_at(&answer, "/value")?)))
            .map_err(|e| Outcome::Unexpected(e.to_string()))?;
        let outcome = State::ApiKey {
            description: description.clone(),
            value: Some(value.clone()),
        };
        ledger.acknowledge_as(pending, outcome);
        self.keys.push((name, id, description, value));
        Ok(true)
    }

    async fn revoke_key(&mut self, api: &Api, ledger: &Ledger) -> Result<bool, Outcome> {
        let Some((name, id, _, _)) = Self::take(&mut self.rng, &mut self.keys) else {
            return Ok(false);
        };
        let pending = ledger.begin(Kind::ApiKey, &name, State::Absent);
        expect(
            api.send(Method::DELETE, &api.path(&format!("/api-keys/{id}")), None)
                .await,
            204,
        )?;
        ledger.acknowledge(pending);
        Ok(true)
    }

    async fn create_room(&mut self, api: &Api, ledger: &Ledger, tag: &str) -> Result<bool, Outcome> {
        let metadata = json!({ "writer": self.id, "tag": tag, "nonce": self.rng.hex() });
        let pending = ledger.begin(
            Kind::Room,
            tag,
            State::Room {
                metadata: metadata.clone(),
            },
        );
        let body = json!({ "name": tag, "metadata": metadata });
        expect(api.send(Method::POST, &api.path("/rooms"), Some(&body)).await, 201)?;
        ledger.acknowledge(pending);
        self.rooms.push(tag.to_owned());
        Ok(true)
    }

    /// Creates or replaces the grant of the writer's user in one of its rooms.
    async fn put_grant(&mut self, api: &Api, ledger: &Ledger) -> Result<bool, Outcome> {
        if self.rooms.is_empty() {
            return Ok(false);
        }
        let room = self.rooms[self.rng.below(self.rooms.len() as u64) as usize].clone();
        if let Some(i) = self.grants.iter().position(|r| *r == room) {
            self.grants.swap_remove(i);
        }
        let mut permissions = serde_json::Map::new();
        for scope in SCOPES {
            if self.rng.chance(0.5) {
                permissions.insert(scope.to_owned(), json!({}));
            }
        }
        let permissions = Value::Object(permissions);
        let key = format!("{room}/{}", self.user_id);
        let pending = ledger.begin(
            Kind::Grant,
            &key,
            State::Grant {
                permissions: permissions.clone(),
            },
        );
        let body = json!({ "room_name": room, "user_id": self.user_id, "permissions": permissions });
        expect(
            api.send(Method::POST, &api.path("/room-grants"), Some(&body)).await,
            200,
        )?;
        ledger.acknowledge(pending);
        self.grants.push(room);
        Ok(true)
    }

    async fn delete_grant(&mut self, api: &Api, ledger: &Ledger) -> Result<bool, Outcome> {
        let Some(room) = Self::take(&mut self.rng, &mut self.grants) else {
            return Ok(false);
        };
        let key = format!("{room}/{}", self.user_id);
        let pending = ledger.begin(Kind::Grant, &key, State::Absent);
        let path = api.path(&format!("/room-grants/{key}"));
        expect(api.send(Method::DELETE, &path, None).await, 204)?;
        ledger.acknowledge(pending);
        Ok(true)
    }

    /// A `keys` secret: a JSON map of strings, base64.
    fn secret_body(&mut self, name: &str) -> (Value, String) {
        let data = json!({ "token": self.rng.hex(), "name": name }).to_string();
        let body = json!({ "name": name, "type": "keys", "data_base64": STANDARD.encode(&data) });
        (body, data)
    }

    async fn create_secret(&mut self, api: &Api, ledger: &Ledger, tag: &str) -> Result<bool, Outcome> {
        let name = format!("secret-{tag}");
        let (body, data) = self.secret_body(&name);
        let pending = ledger.begin(Kind::Secret, &name, State::Secret { data });
        let answer = expect(api.send(Method::POST, &api.path("/secrets"), Some(&body)).await, 201)?;
        let id = str_at(&answer, "/id").map_err(|e| Outcome::Unexpected(e.to_string()))?;
        ledger.acknowledge(pending);
        self.secrets.push((name, id));
        Ok(true)
    }

    async fn update_secret(&mut self, api: &Api, ledger: &Ledger) -> Result<bool, Outcome> {
        let Some((name, id)) = Self::take(&mut self.rng, &mut self.secrets) else {
            return Ok(false);
        };
        let (body, data) = self.secret_body(&name);
        let pending = ledger.begin(Kind::Secret, &name, State::Secret { data });
        let path = api.path(&format!("/secrets/{id}"));
        expect(api.send(Method::PUT, &path, Some(&body)).await, 200)?;
        ledger.acknowledge(pending);
        self.secrets.push((name, id));
        Ok(true)
    }

    async fn delete_secret(&mut self, api: &Api, ledger: &Ledger) -> Result<bool, Outcome> {
        let Some((name, id)) = Self::take(&mut self.rng, &mut self.secrets) else {
            return Ok(false);
        };
        let pending = ledger.begin(Kind::Secret, &name, State::Absent);
        expect(
            api.send(Method::DELETE, &api.path(&format!("/secrets/{id}")), None)
                .await,
            204,
        )?;
        ledger.acknowledge(pending);
        Ok(true)
    }
}

/// Why a write was not acknowledged.
enum Outcome {
    Unanswered,
    Unexpected(String),
}

/// The body of an answer with status `want`.
fn expect(answer: Answer, want: u16) -> Result<Value, Outcome> {
    match answer {
        Ok((status, body)) if status == want => Ok(body),
        Ok((status, body)) => Err(Outcome::Unexpected(format!("{status} (wanted {want}): {body}"))),
        Err(_) => Err(Outcome::Unanswered),
    }
}
