//! The OAuth provider's storage: signing keys through their life, code grants and refresh rotation.

use gatehouse_core::ids::{ClientId, DataKeyId, ProjectId, ResourceId};
use gatehouse_core::model::Sealed;
use gatehouse_core::time::{Clock as _, Timestamp};
use gatehouse_core::{Error, Gatehouse};
use gatehouse_types::ClientInput;

use super::{bootstrapped, databases};

/// The `kid` that signed a client-credentials token issued now.
async fn signing_kid(gh: &Gatehouse, client: &gatehouse_core::clients::Client) -> String {
    let params = gatehouse_core::service::oauth::TokenParams {
        grant_type: Some("client_credentials".into()),
        ..Default::default()
    };
    let t = gh.token(client, params).await.unwrap();
    gatehouse_core::jose::decode_header(t.access_token.expose_secret())
        .unwrap()
        .kid
        .unwrap()
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn signing_keys_go_from_next_to_current_to_retired_to_removed() {
    for db in databases().await {
        let (gh, admin, clock) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "Keys").await.unwrap().id;
        let input = ClientInput {
            name: Some("svc".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            response_types: Some(vec![]),
            ..Default::default()
        };
        let (c, _) = gh.create_client(&admin, p, &input).await.unwrap();
        // Private keys are stored sealed by the master key, never as a parsable key.
        let stored = db.store().list_signing_keys().await.unwrap();
        assert_eq!(
            stored.len(),
            6,
            "a current and a next key for each of ES256, RS256, EdDSA"
        );
        for r in &stored {
            let alg = gatehouse_core::jose::SigningAlg::parse(&r.alg).unwrap();
            assert!(
                gatehouse_core::jose::SigningKey::from_pkcs8(r.kid.clone(), alg, r.private_key.as_bytes()).is_err()
            );
        }
        let old = signing_kid(&gh, &c).await;
        let before = kids(&gh.jwks());
        assert!(before.contains(&old));
        // Rotation schedules the published next key one JWKS cache period out (300 s by default).
        let scheduled = gh
            .rotate_signing_keys(&[gatehouse_core::jose::SigningAlg::Es256])
            .await
            .unwrap();
        let (_, next, at) = &scheduled[0];
        assert!(before.contains(next), "the key that will sign was already published");
        assert_eq!(at.millis(), clock.now().millis() + 300_000);
        assert_eq!(signing_kid(&gh, &c).await, old, "the current key signs until then");
        assert_eq!(kids(&gh.jwks()).len(), 7, "a new next key is published");
        clock.advance_secs(301);
        assert_eq!(&signing_kid(&gh, &c).await, next, "the next key is current");
        assert!(kids(&gh.jwks()).contains(&old), "the retired key stays published");
        // Once every token the old key signed has expired, maintenance removes it.
        clock.advance_secs(gatehouse_core::oauth::keys::RETIRED_PUBLISH_SECS);
        gh.provider_maintenance().await.unwrap();
        assert!(!kids(&gh.jwks()).contains(&old));
        assert!(
            db.store()
                .list_signing_keys()
                .await
                .unwrap()
                .iter()
                .all(|k| k.kid != old)
        );
        // The scheduled rotation: after the period (30 days), maintenance rotates by itself.
        clock.advance_secs(30 * 86_400);
        gh.provider_maintenance().await.unwrap();
        clock.advance_secs(301);
        assert_ne!(&signing_kid(&gh, &c).await, next, "rotated on schedule");
    }
}

#[tokio::test]
async fn a_code_grant_needs_its_session_and_a_refresh_rotation_is_one_compare_and_set() {
    use gatehouse_core::factors::AuthMethods;
    use gatehouse_core::ids::{GrantId, SessionId};
    use gatehouse_core::oauth::{Grant, RefreshState, Session};
    for db in databases().await {
        let store = db.store();
        bootstrapped(store.clone()).await;
        let user = store.find_user_by_email("r@example.com").await.unwrap().unwrap();
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let session = Session {
            id: SessionId::from_uuid(uuid::Uuid::new_v4()),
            user_id: user.id,
            secret_hash: vec![5; 32].into(),
            created_at: t0,
            auth_time: t0,
            amr: AuthMethods::PASSWORD.with(AuthMethods::OTP),
            expires_at: t0.plus_secs(86_400),
            user_agent: "test".into(),
            ip: "127.0.0.1".into(),
        };
        let grant = Grant {
            id: GrantId::from_uuid(uuid::Uuid::new_v4()),
            project_id: ProjectId::SYSTEM,
            client_id: ClientId::parse("gatehouse-cli").unwrap(),
            user_id: user.id,
            session_id: Some(session.id),
            scope: "openid offline_access".into(),
            // The resources the request named come back in order (RFC 8707 grants).
            resources: vec![
                ResourceId::from_uuid(uuid::Uuid::new_v4()),
                ResourceId::from_uuid(uuid::Uuid::new_v4()),
            ],
            auth_time: t0,
            amr: AuthMethods::PASSWORD.with(AuthMethods::OTP),
            created_at: t0,
            expires_at: t0.plus_secs(3600),
            revoked_at: None,
            refresh: Some(RefreshState {
                generation: 0,
                expires_at: t0.plus_secs(3600),
                rotated_at: None,
                successor: None,
            }),
        };
        // No session (never created, or ended): nothing is written.
        assert!(!store.insert_grant(&grant).await.unwrap());
        assert!(store.get_grant(grant.id).await.unwrap().is_none());
        store.insert_session(&session).await.unwrap();
        assert_eq!(
            store.get_session(session.id).await.unwrap().unwrap().0,
            session,
            "amr included"
        );
        assert!(store.insert_grant(&grant).await.unwrap());
        let (g, u) = store.get_grant(grant.id).await.unwrap().unwrap();
        assert_eq!((&g, u.id), (&grant, user.id));
        // A second redemption of the same code collides.
        assert!(matches!(store.insert_grant(&grant).await, Err(Error::Conflict(_))));

        let sealed = Sealed {
            data_key_id: DataKeyId::from_uuid(uuid::Uuid::new_v4()),
            ciphertext: vec![9; 40].into(),
        };
        let at = t0.plus_secs(10);
        let next = RefreshState {
            generation: 1,
            expires_at: t0.plus_secs(7200),
            rotated_at: Some(at),
            successor: Some(sealed.clone()),
        };
        assert!(store.rotate_refresh(grant.id, 0, &next, at).await.unwrap());
        // The grant now lasts a day past its new token, so the next rotations leave it alone.
        let (g, _) = store.get_grant(grant.id).await.unwrap().unwrap();
        assert_eq!(g.refresh.as_ref(), Some(&next));
        assert_eq!(g.expires_at, next.expires_at.plus_secs(86_400));
        // Losing the compare-and-set writes nothing.
        let other = RefreshState {
            generation: 1,
            expires_at: t0.plus_secs(9000),
            rotated_at: Some(at),
            successor: None,
        };
        assert!(!store.rotate_refresh(grant.id, 0, &other, at).await.unwrap());
        let third = RefreshState {
            generation: 2,
            ..other.clone()
        };
        assert!(store.rotate_refresh(grant.id, 1, &third, at).await.unwrap());
        let (g, _) = store.get_grant(grant.id).await.unwrap().unwrap();
        assert_eq!(
            (g.refresh.as_ref(), g.expires_at),
            (Some(&third), next.expires_at.plus_secs(86_400))
        );
        // An expired token does not rotate, nor does one whose grant was revoked.
        let fourth = RefreshState {
            generation: 3,
            ..other.clone()
        };
        assert!(
            !store
                .rotate_refresh(grant.id, 2, &fourth, third.expires_at)
                .await
                .unwrap()
        );
        assert!(store.revoke_grant(grant.id, at).await.unwrap());
        assert!(!store.rotate_refresh(grant.id, 2, &fourth, at).await.unwrap());
        assert_eq!(store.get_grant(grant.id).await.unwrap().unwrap().0.refresh, Some(third));

        // Ending the session stops its codes: their grants can no longer be written.
        assert!(store.end_session(user.id, session.id, None, at).await.unwrap());
        let late = Grant {
            id: GrantId::from_uuid(uuid::Uuid::new_v4()),
            ..grant.clone()
        };
        assert!(!store.insert_grant(&late).await.unwrap());
    }
}
