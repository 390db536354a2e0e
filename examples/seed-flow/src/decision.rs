//! The app's own policy, step 4 of SPEC §5.5: which room a signed-in user may enter.
//!
//! This example lets everyone into the room of their email domain: `dana@acme.example` may
//! enter `acme-example`. Room names follow SPEC §1 (`[a-z0-9-]`, at most 63 characters, no
//! leading or trailing `-`). A user without an email gets no room.
//!
//! Gatehouse's users are created by admins and their `email_verified` claim is `false`, so the
//! example trusts the email as the admin entered it. An app that lets people sign themselves up
//! must require `email_verified` before granting anything by domain.

use serde::Serialize;

/// Longest room name (SPEC §1).
const MAX_ROOM_LEN: usize = 63;

/// What the backend decided for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The user's stable id at Gatehouse (the ID token's `sub`).
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The room the user may enter, if any.
    pub room: Option<String>,
    pub allowed: bool,
    /// Why, in words.
    pub reason: String,
}

/// Decides for the user with subject `sub` and, when the ID token had one, `email`.
pub fn decide(sub: &str, email: Option<&str>, name: Option<&str>) -> Decision {
    let room = email
        .and_then(|e| e.rsplit_once('@'))
        .and_then(|(_, domain)| room_for_domain(domain));
    let reason = match (&room, email) {
        (Some(room), Some(email)) => format!("{email} belongs to the domain of room {room}"),
        (None, Some(email)) => format!("the domain of {email} does not make a room name"),
        (_, None) => "the ID token carries no email (was the email scope granted?)".to_owned(),
    };
    Decision {
        sub: sub.to_owned(),
        email: email.map(str::to_owned),
        name: name.map(str::to_owned),
        allowed: room.is_some(),
        room,
        reason,
    }
}

/// `Acme.Example` → `acme-example`: lowercase, anything outside `[a-z0-9]` becomes `-`, runs of
/// `-` collapse, and the ends are trimmed.
pub fn room_for_domain(domain: &str) -> Option<String> {
    let mut room = String::new();
    for c in domain.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            room.push(c);
        } else if !room.is_empty() && !room.ends_with('-') {
            room.push('-');
        }
    }
    room.truncate(MAX_ROOM_LEN);
    let room = room.trim_end_matches('-');
    (!room.is_empty()).then(|| room.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_becomes_a_valid_room_name() {
        assert_eq!(room_for_domain("acme.example").as_deref(), Some("acme-example"));
        assert_eq!(
            room_for_domain("Sub.ACME.example.").as_deref(),
            Some("sub-acme-example")
        );
        assert_eq!(room_for_domain("x..y__z").as_deref(), Some("x-y-z"));
        assert_eq!(room_for_domain("...").as_deref(), None);
        let long = format!("{}.example", "a".repeat(70));
        let room = room_for_domain(&long).expect("a room");
        assert_eq!(room.len(), MAX_ROOM_LEN);
    }

    #[test]
    fn a_user_enters_the_room_of_their_email_domain() {
        let d = decide("u1", Some("dana@acme.example"), Some("Dana"));
        assert!(d.allowed);
        assert_eq!(d.room.as_deref(), Some("acme-example"));
        assert_eq!(d.email.as_deref(), Some("dana@acme.example"));
    }

    #[test]
    fn a_user_without_an_email_gets_no_room() {
        let d = decide("u1", None, None);
        assert!(!d.allowed);
        assert_eq!(d.room, None);
    }
}
