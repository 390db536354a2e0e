//! Secret values: redacted `Debug`, explicit access, constant-time equality (SPEC §9.2). The
//! wrappers are defined in `gatehouse_types::secret`, shared with the wire shapes and clients.

pub use gatehouse_types::secret::{Redacted, Secret, SecretString, ct_eq};

#[cfg(test)]
mod tests {
    //! Every record that holds a secret, a hash, a ciphertext or a wrapped key derives `Debug`
    //! from its fields' wrappers: none of them ever prints what it hides.

    use super::*;
    use crate::broker::SealedSecrets;
    use crate::clients::SecretHashes;
    use crate::ids::{ApiKeyId, ClientId, DataKeyId, GrantId, ProjectId, SessionId, UserId};
    use crate::model::{ApiKeyRecord, DataKeyRecord, MasterWrapped, MasterWrappedKind, Sealed, User};
    use crate::oauth::{DeviceGrant, DeviceStatus, RefreshState, Session, SigningKeyRecord};
    use crate::ports::UpstreamTokens;
    use crate::time::Timestamp;

    const HIDDEN: &[u8] = b"hunter2";

    fn hidden() -> Vec<u8> {
        HIDDEN.to_vec()
    }

    fn sealed() -> Sealed {
        Sealed {
            data_key_id: DataKeyId::from_uuid(uuid::Uuid::nil()),
            ciphertext: Redacted::new(hidden()),
        }
    }

    fn assert_hidden(shown: String) {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("104, 117"), "the bytes of the value: {shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn stored_records_debug_without_their_hashes_and_ciphertexts() {
        let at = Timestamp::from_millis(0);
        assert_hidden(format!(
            "{:?}",
            User {
                id: UserId::from_uuid(uuid::Uuid::nil()),
                email: "a@example.com".into(),
                name: "A".into(),
                password_hash: Redacted::new("$argon2id$hunter2".into()),
                email_verified_at: Some(at),
                created_at: at,
                updated_at: at,
            }
        ));
        assert_hidden(format!("{:?}", sealed()));
        assert_hidden(format!(
            "{:?}",
            ApiKeyRecord {
                id: ApiKeyId::from_uuid(uuid::Uuid::nil()),
                project_id: ProjectId::from_uuid(uuid::Uuid::nil()),
                name: "ci".into(),
                description: String::new(),
                secret_hash: Redacted::new(hidden()),
                secret: sealed(),
                server_admin: false,
                created_at: at,
                last_used_at: None,
            }
        ));
        assert_hidden(format!(
            "{:?}",
            DataKeyRecord {
                id: DataKeyId::from_uuid(uuid::Uuid::nil()),
                project_id: ProjectId::from_uuid(uuid::Uuid::nil()),
                wrapped: Redacted::new(hidden()),
                master_key_id: "m".into(),
                created_at: at,
            }
        ));
        assert_hidden(format!(
            "{:?}",
            MasterWrapped {
                kind: MasterWrappedKind::Setting { key: "k".into() },
                wrapped: Redacted::new(hidden()),
            }
        ));
        assert_hidden(format!(
            "{:?}",
            SigningKeyRecord {
                kid: "kid".into(),
                alg: "ES256".into(),
                private_key: Redacted::new(hidden()),
                public_jwk: "{}".into(),
                created_at: at,
                activate_at: None,
            }
        ));
        assert_hidden(format!(
            "{:?}",
            Session {
                id: SessionId::from_uuid(uuid::Uuid::nil()),
                user_id: UserId::from_uuid(uuid::Uuid::nil()),
                secret_hash: Redacted::new(hidden()),
                created_at: at,
                auth_time: at,
                amr: crate::factors::AuthMethods::PASSWORD,
                expires_at: at,
                user_agent: String::new(),
                ip: String::new(),
            }
        ));
        assert_hidden(format!(
            "{:?}",
            RefreshState {
                generation: 1,
                expires_at: at,
                rotated_at: None,
                successor: Some(sealed()),
            }
        ));
        assert_hidden(format!(
            "{:?}",
            SecretHashes {
                current: Some(Redacted::new(hidden())),
                previous: Some(Redacted::new(hidden())),
                previous_expires_at: None,
                rotated_at: None,
            }
        ));
        let device = DeviceGrant {
            device_code_hash: Redacted::new(hidden()),
            user_code: "BCDFGHJK".into(),
            grant_id: GrantId::from_uuid(uuid::Uuid::nil()),
            project_id: ProjectId::from_uuid(uuid::Uuid::nil()),
            client_id: ClientId::parse("cli").unwrap(),
            scope: "openid".into(),
            resources: Vec::new(),
            created_at: at,
            expires_at: at,
            interval_secs: 5,
            last_polled_at: None,
            status: DeviceStatus::Pending,
            approval: None,
        };
        let shown = format!("{device:?}");
        assert!(!shown.contains("BCDFGHJK"), "the user code: {shown}");
        assert_hidden(shown);
    }

    #[test]
    fn broker_secrets_debug_without_them_and_keep_their_json() {
        let secrets = SealedSecrets {
            access_token: Some("at-hunter2".into()),
            refresh_token: Some("rt-hunter2".into()),
            client_secret: Some("cs-hunter2".into()),
            code_verifier: Some(Secret::new("cv-hunter2".into())),
        };
        assert_hidden(format!("{secrets:?}"));
        let json = r#"{"access_token":"at-hunter2","refresh_token":"rt-hunter2","client_secret":"cs-hunter2","code_verifier":"cv-hunter2"}"#;
        assert_eq!(serde_json::to_string(&secrets).unwrap(), json);
        assert_eq!(serde_json::from_str::<SealedSecrets>(json).unwrap(), secrets);
        let tokens = UpstreamTokens {
            access_token: "at-hunter2".into(),
            refresh_token: Some("rt-hunter2".into()),
            expires_in: Some(60),
            scope: None,
            id_token: Some("it-hunter2".into()),
        };
        assert_hidden(format!("{tokens:?}"));
    }
}
