//! Identifiers: UUID newtypes for rows, and parsed string ids for protocol values.

use crate::error::{Error, Result};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// Wraps a UUID read from storage or a request path.
            pub const fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// The UUID.
            pub const fn uuid(self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A project (tenant).
    ProjectId
);
uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// An account's identity at an upstream identity provider.
    IdentityId
);
uuid_id!(
    /// An API key (the `kid` of participant tokens).
    ApiKeyId
);
uuid_id!(
    /// An external OAuth registration.
    RegistrationId
);
uuid_id!(
    /// A project secret.
    SecretId
);
uuid_id!(
    /// An API resource (SPEC §5.7).
    ResourceId
);
uuid_id!(
    /// A credential kept for a room participant (SPEC §7).
    RoomSecretId
);
uuid_id!(
    /// A consent request waiting for a participant's answer (SPEC §7.2).
    OAuthRequestId
);
uuid_id!(
    /// A per-project data encryption key.
    DataKeyId
);

uuid_id!(
    /// A browser sign-in session.
    SessionId
);
uuid_id!(
    /// An authorization grant: the family of tokens issued from one code or device approval.
    GrantId
);
uuid_id!(
    /// One live connection to a room (SPEC §1 "Participant").
    ParticipantId
);
uuid_id!(
    /// One running `gatehouse serve` process; a new one at every start.
    NodeId
);
uuid_id!(
    /// A link mailed to a person: a sign-up verification or a password reset.
    LinkId
);
uuid_id!(
    /// A pending invitation to become a member of a project.
    InvitationId
);

impl ProjectId {
    /// The system project: official clients and the server-admin key live here, and server-wide
    /// events (user creation) are audited here.
    pub const SYSTEM: Self = Self(uuid::Uuid::nil());
}

/// A time-ordered UUID (v7) for new rows, so that insertion order is index order.
pub fn new_row_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// An OAuth client id (SPEC §4.1): caller-chosen ids match `^[A-Za-z0-9._~-]{3,128}$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Parses a caller-supplied client id.
    pub fn parse(s: &str) -> Result<Self> {
        let ok_len = (3..=128).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
        if s == "export" {
            // `…/oauth/clients/export` is the export route: such a client could never be managed.
            Err(Error::invalid("client_id", "\"export\" is reserved"))
        } else if ok_len && ok_chars {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "client_id",
                "must be 3-128 characters of A-Z, a-z, 0-9, '.', '_', '~', '-'",
            ))
        }
    }

    /// A server-generated id: 128 random bits, base64url (22 characters).
    pub fn generate(rng: &dyn crate::rng::Rng) -> Self {
        use base64::Engine;
        // Drawn again while it starts with '-' or '_' (1 in 32), so exports never guard or mangle it.
        loop {
            let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::rng::random_bytes::<16>(rng));
            if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Self(id);
            }
        }
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room name (SPEC §1): `^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomName(String);

impl RoomName {
    /// Parses a room name.
    pub fn parse(s: &str) -> Result<Self> {
        let b = s.as_bytes();
        let inner_ok = b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        let ends_ok = b.first().is_some_and(|c| *c != b'-') && b.last().is_some_and(|c| *c != b'-');
        if (1..=63).contains(&b.len()) && inner_ok && ends_ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "room_name",
                "must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_ids_follow_the_pattern() {
        assert!(ClientId::parse("my-app.v2~x_y").is_ok());
        assert!(ClientId::parse("ab").is_err());
        assert!(ClientId::parse(&"a".repeat(129)).is_err());
        assert!(ClientId::parse("has space").is_err());
        assert!(ClientId::parse("slash/no").is_err());
        assert!(
            ClientId::parse("export").is_err(),
            "the export route's name is reserved"
        );
    }

    #[test]
    fn generated_client_ids_are_long_enough_valid_and_start_alphanumeric() {
        let rng = crate::rng::SystemRng::default();
        for _ in 0..500 {
            let id = ClientId::generate(&rng);
            assert_eq!(id.as_str().len(), 22);
            assert!(ClientId::parse(id.as_str()).is_ok());
            assert!(id.as_str().starts_with(|c: char| c.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn room_names_follow_the_pattern() {
        for ok in ["a", "room-1", "0", &"a".repeat(63)] {
            assert!(RoomName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "Room", "a_b", &"a".repeat(64)] {
            assert!(RoomName::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn client_id_parse_agrees_with_the_pattern(s in "\\PC{0,140}") {
            let expected = (3..=128).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
                && s != "export";
            prop_assert_eq!(ClientId::parse(&s).is_ok(), expected);
        }

        #[test]
        fn room_name_parse_agrees_with_the_pattern(s in "[a-z0-9-]{0,70}") {
            let expected = !s.is_empty() && s.len() <= 63 && !s.starts_with('-') && !s.ends_with('-');
            prop_assert_eq!(RoomName::parse(&s).is_ok(), expected);
        }
    }
}
