//! Room events as the SDK reads them. The room's event frames (`{"type", "body"}`, SPEC §6.5) are
//! the same for both protocols and cross nodes unchanged; an SDK connection rewrites each into the
//! message its `RoomClient` handles: participants come and go as `messaging.send` messages of
//! type `participant.enabled` / `participant.disabled` (once the client enabled messaging),
//! messages as `messaging.send`, and a consent prompt as `secrets.request_oauth_token` in the
//! shape of the SDK's `_ClientRequestOAuthTokenRequest`.

use serde_json::{Value, json};

use crate::rooms::Presence;

/// An SDK message the server sends unasked: its type and header.
pub type Event = (&'static str, Value);

/// The header of `room_ready`, the first message of a connection.
pub fn room_ready(room_name: &str, room_url: &str, session_id: uuid::Uuid) -> Value {
    json!({ "room_name": room_name, "room_url": room_url, "session_id": session_id })
}

/// The header of `connected`: the local participant, which the client waits for after `room_ready`.
pub fn connected(me: &Presence) -> Value {
    json!({ "type": "init", "participantId": me.id.uuid(), "attributes": attributes(&me.name, &me.role) })
}

fn attributes(name: &str, role: &str) -> Value {
    json!({ "name": name, "role": role })
}

fn participant(id: &Value, name: &Value, role: &Value) -> Value {
    json!({ "id": id, "role": role, "attributes": { "name": name, "role": role } })
}

fn messaging(from: &Value, kind: &str, message: Value) -> Event {
    (
        "messaging.send",
        json!({ "from_participant_id": from, "type": kind, "message": message }),
    )
}

/// The answer to enabling messaging: the other participants of the room.
pub fn messaging_enabled(me: &Presence, others: &[Presence]) -> Event {
    let list: Vec<Value> = others
        .iter()
        .filter(|p| p.id != me.id)
        .map(|p| json!({ "id": p.id.uuid(), "role": p.role, "attributes": attributes(&p.name, &p.role) }))
        .collect();
    messaging(
        &json!(me.id.uuid()),
        "messaging.enabled",
        json!({ "participants": list }),
    )
}

/// A message sent over the SDK (`type`, `message`) as the room's `messaging.send` carries it.
pub fn outgoing_message(kind: &str, message: Value) -> Value {
    json!({ "type": kind, "message": message })
}

/// The SDK message for room event `frame`, sent to participant `me` whose messaging is on or
/// off; `None` for events the SDK has no message for.
pub fn translate(frame: &str, me: uuid::Uuid, messaging_on: bool) -> Option<Event> {
    let Ok(Value::Object(mut frame)) = serde_json::from_str::<Value>(frame) else {
        return None;
    };
    let body = frame.get_mut("body").map(Value::take).unwrap_or(Value::Null);
    let kind = frame.get("type").and_then(Value::as_str)?;
    let p = |k: &str| &body[k];
    match kind {
        "participant_joined" if messaging_on => {
            let joined = participant(p("participant_id"), p("name"), p("role"));
            Some(messaging(p("participant_id"), "participant.enabled", joined))
        }
        "participant_left" if messaging_on => {
            let id = p("participant_id");
            Some(messaging(id, "participant.disabled", json!({ "id": id })))
        }
        "messaging.message" => {
            let from = &body["from"]["participant_id"];
            let message = &body["message"];
            // Sent over the SDK: its type and message; from the JSON channel: as it was sent.
            Some(match (message["type"].as_str(), message.get("message")) {
                (Some(kind), Some(inner)) if message.as_object().is_some_and(|m| m.len() == 2) => {
                    messaging(from, kind, inner.clone())
                }
                _ => messaging(from, "message", message.clone()),
            })
        }
        "secrets.request_oauth_token" => Some(("secrets.request_oauth_token", consent_prompt(body, me))),
        _ => None,
    }
}

/// The consent prompt (SPEC §7.3) as the SDK parses it: `request` is the request the target was
/// asked, its provider as `oauth` (whose token endpoint stays with the server, which redeems the
/// code itself). The prompt's other members (`requested_by`, `state`, `expires_at`) stay.
fn consent_prompt(mut body: Value, me: uuid::Uuid) -> Value {
    let asked = body.get_mut("request").map(Value::take).unwrap_or(Value::Null);
    body["request"] = json!({
        "oauth": {
            "client_id": asked["client_id"],
            "authorization_endpoint": asked["authorization_endpoint"],
            "token_endpoint": null,
            "scopes": asked["scopes"],
        },
        "redirect_uri": asked["redirect_uri"],
        "participant_id": me,
    });
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::event_frame;

    fn me() -> uuid::Uuid {
        uuid::Uuid::from_u128(7)
    }

    #[test]
    fn joins_and_departures_reach_only_a_participant_with_messaging_on() {
        let who = json!({ "participant_id": "p1", "name": "alice", "role": "user", "connected_at": "t" });
        let joined = event_frame("participant_joined", &who).unwrap();
        assert_eq!(translate(&joined, me(), false), None);
        let (kind, header) = translate(&joined, me(), true).unwrap();
        assert_eq!(kind, "messaging.send");
        assert_eq!(header["type"], "participant.enabled");
        assert_eq!(
            header["message"],
            json!({ "id": "p1", "role": "user", "attributes": { "name": "alice", "role": "user" } })
        );
        let left = event_frame("participant_left", &who).unwrap();
        let (_, header) = translate(&left, me(), true).unwrap();
        assert_eq!(header["type"], "participant.disabled");
        assert_eq!(header["message"], json!({ "id": "p1" }));
    }

    #[test]
    fn a_consent_prompt_reads_as_the_sdk_request() {
        let prompt = json!({
            "request_id": "rid", "requested_by": { "participant_id": null, "name": "agent" },
            "request": { "client_id": "c", "authorization_endpoint": "https://p/authorize", "scopes": ["a"], "redirect_uri": "https://app/cb" },
            "challenge": "ch", "state": "st", "expires_at": "t",
        });
        let frame = event_frame("secrets.request_oauth_token", &prompt).unwrap();
        let (kind, header) = translate(&frame, me(), false).unwrap();
        assert_eq!(kind, "secrets.request_oauth_token");
        assert_eq!(header["request_id"], "rid");
        assert_eq!(header["challenge"], "ch");
        assert_eq!(header["state"], "st");
        assert_eq!(header["request"]["participant_id"], json!(me()));
        assert_eq!(header["request"]["redirect_uri"], "https://app/cb");
        assert_eq!(
            header["request"]["oauth"],
            json!({ "client_id": "c", "authorization_endpoint": "https://p/authorize", "token_endpoint": null, "scopes": ["a"] })
        );
    }

    #[test]
    fn messages_keep_their_sdk_type_and_others_read_as_plain_messages() {
        let from = json!({ "participant_id": "p2", "name": "bob", "role": "agent", "connected_at": "t" });
        let sdk = event_frame(
            "messaging.message",
            &json!({ "from": from, "message": outgoing_message("chat", json!({ "text": "hi" })) }),
        )
        .unwrap();
        let (_, header) = translate(&sdk, me(), false).unwrap();
        assert_eq!(
            header,
            json!({ "from_participant_id": "p2", "type": "chat", "message": { "text": "hi" } })
        );
        let plain = event_frame(
            "messaging.message",
            &json!({ "from": from, "message": { "text": "yo" } }),
        )
        .unwrap();
        let (_, header) = translate(&plain, me(), false).unwrap();
        assert_eq!(header["type"], "message");
        assert_eq!(header["message"], json!({ "text": "yo" }));
    }

    #[test]
    fn unknown_events_and_garbage_have_no_sdk_message() {
        assert_eq!(translate(r#"{"type":"room.status","body":{}}"#, me(), true), None);
        assert_eq!(translate("not json", me(), true), None);
    }
}
