//! Rooms, room grants and `connect` (SPEC §6.3); joining, leaving and the participants of a room,
//! and delivering room events on every node (SPEC §6.5).

use std::sync::Arc;

use gatehouse_types::CreateParticipantToken;
use serde_json::{Map, Value, json};

use super::Gatehouse;
use super::participants::check_handed_out_scope;
use crate::access::Principal;
use crate::error::{Error, Result};
use crate::ids::{ParticipantId, ProjectId, RoomName, UserId, new_row_id};
use crate::participant::{MAX_NAME_CHARS, ParticipantClaims, Verified, api_scope};
use crate::ports::{Invalidation, Page};
use crate::rooms::{
    Audience, Close, GrantRequest, Membership, Presence, Room, RoomConnection, RoomGrant, RoomKey, RoomNotice,
    event_frame, room_url,
};
use crate::secret::SecretString;
use crate::text::{MAX_EMAIL, check_email_ref, check_json_map, check_name};

/// Largest room metadata and grant permissions, as JSON.
const MAX_JSON_BYTES: usize = 16 * 1024;
/// A participant whose node has not vouched for it for this long is gone (SPEC §6.5: 30 s).
pub const PRESENCE_TIMEOUT_SECS: i64 = 30;
/// Largest notice sent to other nodes, as JSON: PostgreSQL `NOTIFY` payloads stay under 8000
/// bytes. Events are checked against it on every backend, so that they behave the same on one
/// node as on several.
const MAX_NOTICE_BYTES: usize = 7900;
/// Lifetime of the token `connect` hands out.
const CONNECT_TTL_SECS: u32 = 3600;

fn json_size(field: &str, value: &Map<String, Value>) -> Result<()> {
    if serde_json::to_vec(value).map_err(Error::unexpected)?.len() > MAX_JSON_BYTES {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_JSON_BYTES} bytes of JSON"),
        ));
    }
    Ok(())
}

impl Gatehouse {
    /// Creates a room (developers, and members with `can_create_rooms`). With `if_not_exists`, an
    /// existing room is returned instead of a conflict; the flag says whether it was created.
    pub async fn create_room(
        &self,
        who: &Principal,
        project: ProjectId,
        name: &str,
        metadata: Map<String, Value>,
        if_not_exists: bool,
    ) -> Result<(Room, bool)> {
        self.access(who, project).await?.require_room_creation()?;
        let name = RoomName::parse(name)?;
        check_json_map("metadata", &metadata)?;
        json_size("metadata", &metadata)?;
        let room = Room {
            project_id: project,
            name: name.as_str().to_owned(),
            metadata,
            created_at: self.clock.now(),
        };
        let audit = self.audit(who, project, "room.create", ("room", room.name.clone()), json!({}));
        match self.store.insert_room(&room, &audit).await {
            Ok(()) => Ok((room, true)),
            Err(Error::Conflict(_)) if if_not_exists => {
                let existing = self.store.get_room(project, &room.name).await?;
                // Deleted again in between: report the conflict rather than a room that is gone.
                existing
                    .map(|r| (r, false))
                    .ok_or_else(|| Error::Conflict("the room was deleted concurrently; retry".into()))
            }
            Err(Error::Conflict(_)) => Err(Error::Conflict(format!("a room named {} already exists", room.name))),
            Err(e) => Err(e),
        }
    }

    /// The project's rooms, oldest first (every member).
    pub async fn list_rooms(&self, who: &Principal, project: ProjectId, page: Page) -> Result<(Vec<Room>, u64)> {
        self.access(who, project).await?;
        self.store.list_rooms(project, page).await
    }

    /// One room of the project (every member).
    pub async fn get_room(&self, who: &Principal, project: ProjectId, name: &str) -> Result<Room> {
        self.access(who, project).await?;
        let name = RoomName::parse(name)?;
        self.store
            .get_room(project, name.as_str())
            .await?
            .ok_or(Error::NotFound("room"))
    }

    /// Deletes a room and its grants (developers). Tokens already minted for it stay valid until
    /// they expire; revoking their API key ends them at once.
    pub async fn delete_room(&self, who: &Principal, project: ProjectId, name: &str) -> Result<()> {
        self.access(who, project).await?.require_developer()?;
        let name = RoomName::parse(name)?;
        let audit = self.audit(
            who,
            project,
            "room.delete",
            ("room", name.as_str().to_owned()),
            json!({}),
        );
        if self.store.delete_room(project, name.as_str(), &audit).await? {
            // Its credentials went with it: no node may serve them from a cached lookup.
            self.invalidate(Invalidation::Broker { id: uuid::Uuid::nil() }).await;
            Ok(())
        } else {
            Err(Error::NotFound("room"))
        }
    }

    /// Creates or replaces a user's grant in a room (developers). The user must be a member of the
    /// project; a person may grant only the surfaces they may use themselves.
    pub async fn put_room_grant(&self, who: &Principal, project: ProjectId, req: GrantRequest) -> Result<RoomGrant> {
        let access = self.access(who, project).await?;
        access.require_developer()?;
        let room = RoomName::parse(&req.room_name)?;
        let permissions = api_scope("permissions", req.permissions)?;
        json_size("permissions", &permissions)?;
        check_handed_out_scope(who, &access, &permissions)?;
        // One answer for an unknown user and a non-member: a developer learns nothing of the
        // server's other accounts.
        let not_member = || Error::invalid("user_id", "no member of the project has this id or email");
        let user = match (req.user_id, req.email.as_deref()) {
            (Some(id), None) => self.store.get_user(id).await?,
            (None, Some(email)) => {
                let email = check_email_ref("email", email, MAX_EMAIL)?;
                self.store.find_user_by_email(email).await?
            }
            _ => return Err(Error::invalid("user_id", "give exactly one of user_id and email")),
        }
        .ok_or_else(not_member)?;
        if self.store.get_member(project, user.id).await?.is_none() {
            return Err(not_member());
        }
        let now = self.clock.now();
        let grant = RoomGrant {
            project_id: project,
            room_name: room.as_str().to_owned(),
            user_id: user.id,
            email: user.email,
            permissions,
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit(
            who,
            project,
            "room_grant.put",
            ("room_grant", format!("{}/{}", grant.room_name, grant.user_id)),
            json!({ "surfaces": grant.permissions.keys().collect::<Vec<_>>() }),
        );
        self.store.put_room_grant(&grant, &audit).await?;
        // The stored row keeps its first creation time when it replaced an older grant.
        self.store
            .get_room_grant(project, &grant.room_name, grant.user_id)
            .await?
            .ok_or(Error::NotFound("room grant"))
    }

    /// The grants of one room or of all rooms (developers: grants name other users).
    pub async fn list_room_grants(
        &self,
        who: &Principal,
        project: ProjectId,
        room: Option<&str>,
        page: Page,
    ) -> Result<(Vec<RoomGrant>, u64)> {
        self.access(who, project).await?.require_developer_read()?;
        let room = room.map(RoomName::parse).transpose()?;
        self.store
            .list_room_grants(project, room.as_ref().map(RoomName::as_str), page)
            .await
    }

    /// Removes a user's grant in a room (developers).
    pub async fn delete_room_grant(&self, who: &Principal, project: ProjectId, room: &str, user: UserId) -> Result<()> {
        self.access(who, project).await?.require_developer()?;
        let room = RoomName::parse(room)?;
        let audit = self.audit(
            who,
            project,
            "room_grant.delete",
            ("room_grant", format!("{}/{user}", room.as_str())),
            json!({}),
        );
        if self
            .store
            .delete_room_grant(project, room.as_str(), user, &audit)
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound("room grant"))
        }
    }

    /// A participant token for a signed-in user with a grant in the room: the identity is their
    /// email, the role `user`, the `api` grant their grant's `ApiScope` (SPEC §6.3).
    pub async fn connect_room(&self, who: &Principal, project: ProjectId, room: &str) -> Result<RoomConnection> {
        let Principal::User {
            id, read_only: false, ..
        } = who
        else {
            return Err(Error::Forbidden(
                "connect is for signed-in users with a full (not read-only) access token".into(),
            ));
        };
        self.access(who, project).await?;
        let room = RoomName::parse(room)?;
        let grant = self
            .store
            .get_room_grant(project, room.as_str(), *id)
            .await?
            .ok_or(Error::NotFound("room grant"))?;
        let request = CreateParticipantToken {
            name: grant.email,
            room_name: Some(room.as_str().to_owned()),
            role: Some("user".into()),
            api: Some(Value::Object(grant.permissions)),
            grants: None,
            ttl_seconds: Some(CONNECT_TTL_SECS),
        };
        let claims = ParticipantClaims::from_request(request, self.clock.now())?;
        Ok(RoomConnection {
            token: SecretString::new(self.sign_participant_token(who, project, claims).await?),
            room_url: room_url(&self.provider_config().issuer, room.as_str()),
            room_name: room.as_str().to_owned(),
            project_id: project,
        })
    }

    /// Verifies a token at a room entry point (SPEC §6.4): a valid participant token with a `room`
    /// grant for `room`. Tokens minted elsewhere may carry any name and room text; a
    /// participant's must fit the limits of minted tokens, so that its events fit a notice.
    pub async fn admit_to_room(&self, token: &str, room: &str) -> Result<Verified> {
        let verified = self.validate_participant_token(token).await?;
        if !verified.claims.allows_room(room) {
            return Err(Error::Unauthorized(
                "the participant token has no grant for this room".into(),
            ));
        }
        let fits = |field: &str, value: &str| check_name(field, value, MAX_NAME_CHARS).is_ok();
        if !fits("room_name", room) || !fits("name", &verified.claims.name) {
            return Err(Error::Unauthorized(format!(
                "a participant's name and room are 1-{MAX_NAME_CHARS} characters without control characters"
            )));
        }
        Ok(verified)
    }

    /// Joins an admitted participant to the room on this node: it is recorded for the other nodes
    /// and the room hears `participant_joined`. `Unavailable` when the node is shutting down.
    pub async fn join_room(&self, who: &Verified, room: &str) -> Result<(Presence, Membership)> {
        let presence = Presence {
            id: ParticipantId::from_uuid(new_row_id()),
            project_id: who.project_id,
            room_name: room.to_owned(),
            name: who.claims.name.clone(),
            role: who.claims.role().to_owned(),
            api_key_id: who.api_key_id,
            node_id: self.node,
            connected_at: self.clock.now(),
        };
        let membership = self
            .hub
            .join(presence.clone())
            .ok_or(Error::Unavailable("the server is shutting down"))?;
        if let Err(e) = self.announce_joined(&presence).await {
            let _gone = self.hub.departure();
            self.hub.leave(&presence);
            if let Err(e) = self.store.delete_presence(presence.id).await {
                tracing::error!(error = %e, "forgetting a participant that failed to join failed");
                self.hub.defer_departure(presence);
            }
            return Err(e);
        }
        // The key may have been revoked between admission and joining, after this node closed
        // the key's participants; the revocation has reached this node's cache by then. (Should
        // storage fail here, the upkeep checks the key again within seconds.)
        if matches!(self.live_api_key(who.api_key_id).await, Ok(None)) {
            self.hub.close_where(|p| p.id == presence.id, Close::KEY_REVOKED);
        }
        Ok((presence, membership))
    }

    async fn announce_joined(&self, p: &Presence) -> Result<()> {
        self.store.insert_presence(p).await?;
        let frame = event_frame("participant_joined", &p.in_event())?;
        self.send_to_room(
            &p.room(),
            Audience::Room {
                except: Some(p.id.uuid()),
            },
            frame,
        )
        .await
    }

    /// Takes a participant out of its room; the room hears `participant_left` once, from whoever
    /// deletes its record (this node, or a node that found its node dead).
    pub async fn leave_room(&self, p: &Presence) {
        let _gone = self.hub.departure();
        self.hub.leave(p);
        match self.store.delete_presence(p.id).await {
            Ok(false) => {}
            Ok(true) => self.announce_left(p).await,
            Err(e) => {
                tracing::error!(error = %e, "forgetting a participant failed; the upkeep retries");
                self.hub.defer_departure(p.clone());
            }
        }
    }

    async fn announce_left(&self, p: &Presence) {
        let sent = match event_frame("participant_left", &p.in_event()) {
            Ok(frame) => {
                self.send_to_room(&p.room(), Audience::Room { except: None }, frame)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, "announcing a participant that left failed");
        }
    }

    /// The participants of a room on every node, oldest first.
    pub async fn room_participants(&self, room: &RoomKey) -> Result<Vec<Presence>> {
        let alive_since = self.clock.now().plus_secs(-PRESENCE_TIMEOUT_SECS);
        let mut all = self.hub.local(room);
        let remote = self
            .store
            .list_presence(room.project_id, &room.name, alive_since)
            .await?;
        all.extend(remote.into_iter().filter(|p| p.node_id != self.node));
        all.sort_by_key(|p| (p.connected_at, p.id));
        Ok(all)
    }

    /// Delivers an event frame to its audience in a room, on this node at once and on the others
    /// through the notifier. [`Error::Invalid`] when the event and its address are too large to
    /// cross nodes.
    pub async fn send_to_room(&self, room: &RoomKey, to: Audience, frame: String) -> Result<()> {
        let notice = RoomNotice {
            origin: self.node.uuid(),
            project_id: room.project_id.uuid(),
            room_name: room.name.clone(),
            to,
            frame,
        };
        let json = serde_json::to_string(&notice).map_err(Error::unexpected)?;
        if json.len() > MAX_NOTICE_BYTES {
            return Err(Error::invalid(
                "body",
                format!("an event and its address are at most {MAX_NOTICE_BYTES} bytes of JSON"),
            ));
        }
        self.hub.deliver(room, &notice.to, &Arc::from(notice.frame.as_str()));
        if let Err(e) = self.notifier.route(&json).await {
            // This node's participants have it; the others miss this one event.
            tracing::error!(error = %e, "routing a room event to other nodes failed");
        }
        Ok(())
    }

    /// `messaging.send` on the room channel: needs the `messaging` surface in the token's `api`
    /// grant. `message` goes to one participant (`participant_id`) or to every connection of one
    /// identity (`name`): whoever of them is connected, on any node, gets a `messaging.message`
    /// event.
    pub async fn send_message(
        &self,
        from: &Presence,
        who: &Verified,
        participant_id: Option<uuid::Uuid>,
        name: Option<String>,
        message: Value,
    ) -> Result<()> {
        if !who.claims.api_scope().is_some_and(|api| api.contains_key("messaging")) {
            return Err(Error::Forbidden(
                "the token's api grant does not allow messaging".into(),
            ));
        }
        let to = match (participant_id, name) {
            (Some(id), None) => Audience::Participant { id },
            (None, Some(name)) => Audience::Identity { name },
            _ => {
                return Err(Error::invalid(
                    "participant_id",
                    "give exactly one of participant_id and name",
                ));
            }
        };
        let frame = event_frame(
            "messaging.message",
            &json!({ "from": from.in_event(), "message": message }),
        )?;
        self.send_to_room(&from.room(), to, frame).await
    }

    /// Delivers an event that another node sent (the notifier calls this for every notice).
    pub fn deliver_room_notice(&self, notice: &RoomNotice) {
        if notice.origin == self.node.uuid() {
            return;
        }
        let room = RoomKey::new(ProjectId::from_uuid(notice.project_id), &notice.room_name);
        self.hub.deliver(&room, &notice.to, &Arc::from(notice.frame.as_str()));
    }

    /// Vouches for this node's participants and removes those of nodes that stopped vouching for
    /// theirs, announcing that they left; retries departures that could not be recorded. Every
    /// node runs it every few seconds.
    pub async fn room_upkeep(&self) -> Result<()> {
        // A revocation whose notification was lost still ends its participants here.
        self.close_revoked_participants().await;
        let now = self.clock.now();
        if !self.store.heartbeat(self.node, now).await? {
            // This node was taken for dead (storage was out of reach for a while) and its
            // participants announced gone: bring them back.
            for p in self.hub.all() {
                if let Err(e) = self.announce_joined(&p).await {
                    tracing::error!(error = %e, "recording a participant again failed");
                }
                // It may have left meanwhile, finding no record to delete.
                if !self.hub.holds(&p) && matches!(self.store.delete_presence(p.id).await, Ok(true)) {
                    self.announce_left(&p).await;
                }
            }
        }
        for p in self.hub.deferred_departures() {
            match self.store.delete_presence(p.id).await {
                Ok(true) => self.announce_left(&p).await,
                Ok(false) => {}
                Err(_) => self.hub.defer_departure(p),
            }
        }
        for gone in self.store.purge_presence(now.plus_secs(-PRESENCE_TIMEOUT_SECS)).await? {
            tracing::info!(participant = %gone.id, node = %gone.node_id, "removing a participant of a node that stopped answering");
            self.announce_left(&gone).await;
        }
        Ok(())
    }

    /// Closes this node's connections whose token's API key was revoked (SPEC §6.4), or whose
    /// project was deleted with its keys. Asks storage, not the cache, so that it also catches a
    /// revocation whose notification was lost.
    pub(super) async fn close_revoked_participants(&self) {
        for key in self.hub.api_keys() {
            match self.store.get_api_key(key).await {
                Ok(Some(_)) => {}
                Ok(None) => self.hub.close_where(|p| p.api_key_id == key, Close::KEY_REVOKED),
                // Checked again at the next upkeep.
                Err(e) => tracing::error!(error = %e, "checking the API keys of room participants failed"),
            }
        }
    }

    /// Closes every room connection of this node and refuses new ones (shutdown).
    pub fn close_room_connections(&self) {
        self.hub.close_all();
    }

    /// Whether every participant of this node has left and its departure has been recorded.
    pub fn rooms_settled(&self) -> bool {
        self.hub.is_settled()
    }

    /// How long a participant's token stays valid; `None` when it does not expire.
    pub fn token_lifetime(&self, who: &Verified) -> Option<std::time::Duration> {
        let left = |exp: i64| u64::try_from(exp - self.clock.now().secs()).unwrap_or(0);
        who.claims.exp.map(|exp| std::time::Duration::from_secs(left(exp)))
    }

    /// How many room connections this node holds.
    pub fn room_connections(&self) -> usize {
        self.hub.len()
    }
}
