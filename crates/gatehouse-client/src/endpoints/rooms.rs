//! Rooms, room grants, `connect` and participant tokens (SPEC §6.3).

use reqwest::Method;
use uuid::Uuid;

use gatehouse_types::{
    ConnectRoom, CreateParticipantToken, CreateRoom, CreateRoomGrant, ParticipantToken, RoomConnection, RoomGrantInfo,
    RoomGrantList, RoomGrantQuery, RoomInfo, RoomList, RoomListQuery,
};

use crate::{Client, Error};

impl Client {
    /// `POST …/rooms` → 201, or 200 with the existing room when `if_not_exists` is set.
    pub async fn create_room(&self, project_id: Uuid, input: &CreateRoom) -> Result<RoomInfo, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &["accounts", "projects", &p, "rooms"], input)
            .await
    }

    /// `GET …/rooms?limit=&offset=`.
    pub async fn list_rooms(&self, project_id: Uuid, query: &RoomListQuery) -> Result<RoomList, Error> {
        let p = project_id.to_string();
        let request = self
            .request(Method::GET, &["accounts", "projects", &p, "rooms"])?
            .query(query);
        self.send_json(request).await
    }

    /// `DELETE …/rooms/{room_name}`, with the room's grants.
    pub async fn delete_room(&self, project_id: Uuid, room: &str) -> Result<(), Error> {
        let p = project_id.to_string();
        self.delete(&["accounts", "projects", &p, "rooms", room]).await
    }

    /// `POST …/rooms/{room_name}/connect`: a participant token for the signed-in user.
    pub async fn connect_room(&self, project_id: Uuid, room: &str) -> Result<RoomConnection, Error> {
        let p = project_id.to_string();
        self.with_body(
            Method::POST,
            &["accounts", "projects", &p, "rooms", room, "connect"],
            &ConnectRoom {},
        )
        .await
    }

    /// `POST …/room-grants`: creates or replaces a user's grant in a room.
    pub async fn put_room_grant(&self, project_id: Uuid, input: &CreateRoomGrant) -> Result<RoomGrantInfo, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &["accounts", "projects", &p, "room-grants"], input)
            .await
    }

    /// `GET …/room-grants?room_name=&limit=&offset=`.
    pub async fn list_room_grants(&self, project_id: Uuid, query: &RoomGrantQuery) -> Result<RoomGrantList, Error> {
        let p = project_id.to_string();
        let request = self
            .request(Method::GET, &["accounts", "projects", &p, "room-grants"])?
            .query(query);
        self.send_json(request).await
    }

    /// `DELETE …/room-grants/{room_name}/{user_id}`.
    pub async fn delete_room_grant(&self, project_id: Uuid, room: &str, user_id: Uuid) -> Result<(), Error> {
        let (p, u) = (project_id.to_string(), user_id.to_string());
        self.delete(&["accounts", "projects", &p, "room-grants", room, &u])
            .await
    }

    /// `POST …/participant-tokens`: a token minted by the server (developers).
    pub async fn mint_participant_token(
        &self,
        project_id: Uuid,
        input: &CreateParticipantToken,
    ) -> Result<ParticipantToken, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &["accounts", "projects", &p, "participant-tokens"], input)
            .await
    }
}
