//! Rooms, room grants, `connect` and participants.

use gatehouse_core::ids::UserId;
use gatehouse_core::rooms::{GrantRequest, Presence, Room, RoomConnection, RoomGrant};
use gatehouse_types as t;

/// A room.
pub fn room_dto(r: &Room) -> t::RoomInfo {
    t::RoomInfo {
        name: r.name.clone(),
        project_id: r.project_id.uuid(),
        metadata: r.metadata.clone(),
        created_at: r.created_at.rfc3339(),
    }
}

/// A user's grant in a room.
pub fn room_grant_dto(g: &RoomGrant) -> t::RoomGrantInfo {
    t::RoomGrantInfo {
        room_name: g.room_name.clone(),
        user_id: g.user_id.uuid(),
        email: g.email.clone(),
        permissions: g.permissions.clone(),
        created_at: g.created_at.rfc3339(),
        updated_at: g.updated_at.rfc3339(),
    }
}

/// The body of a grant request, as core takes it.
pub fn grant_request(b: t::CreateRoomGrant) -> GrantRequest {
    GrantRequest {
        room_name: b.room_name,
        user_id: b.user_id.map(UserId::from_uuid),
        email: b.email,
        permissions: b.permissions,
    }
}

/// What `connect` hands a user.
pub fn room_connection_dto(c: RoomConnection) -> t::RoomConnection {
    t::RoomConnection {
        jwt: c.token.expose_secret().to_owned(),
        room_name: c.room_name,
        project_id: c.project_id.uuid(),
        room_url: c.room_url,
    }
}

/// A participant in the REST list of a room's participants; room events name participants
/// with the same members ([`Presence::in_event`]).
pub fn participant_dto(p: &Presence) -> t::Participant {
    t::Participant {
        participant_id: p.id.uuid(),
        name: p.name.clone(),
        role: p.role.clone(),
        connected_at: p.connected_at.rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::ids::{ApiKeyId, NodeId, ParticipantId, ProjectId};
    use gatehouse_core::time::Timestamp;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn events_and_the_participant_list_name_a_participant_alike() {
        let p = Presence {
            id: ParticipantId::from_uuid(Uuid::from_u128(7)),
            project_id: ProjectId::SYSTEM,
            room_name: "lobby".into(),
            name: "ana@example.com".into(),
            role: "agent".into(),
            api_key_id: ApiKeyId::from_uuid(Uuid::from_u128(8)),
            node_id: NodeId::from_uuid(Uuid::from_u128(9)),
            connected_at: Timestamp::from_millis(1_781_654_400_000),
        };
        assert_eq!(
            serde_json::to_string(&participant_dto(&p)).unwrap(),
            serde_json::to_string(&p.in_event()).unwrap()
        );
    }
}
