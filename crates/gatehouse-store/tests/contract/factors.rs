//! Second factors' storage: a TOTP factor is set up, confirmed once, each time step accepted once
//! and only forwards; each recovery code used once; removal takes the codes with it.

use gatehouse_core::factors::TotpFactor;
use gatehouse_core::ids::ProjectId;
use gatehouse_core::model::AuditRecord;
use gatehouse_core::time::Timestamp;

use super::{bootstrapped, databases};

fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::now_v7(),
        project_id: ProjectId::SYSTEM,
        at: Timestamp::from_millis(1_700_000_000_000),
        actor_type: "test".into(),
        actor_id: "t".into(),
        action: action.into(),
        target_type: "user".into(),
        target_id: String::new(),
        details: serde_json::json!({}),
    }
}

#[tokio::test]
async fn a_totp_step_and_a_recovery_code_are_each_accepted_once() {
    for db in databases().await {
        let store = db.store();
        bootstrapped(store.clone()).await;
        let user = store.find_user_by_email("r@example.com").await.unwrap().unwrap();
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let factor = TotpFactor {
            user_id: user.id,
            secret: vec![1; 40].into(),
            last_step: None,
            created_at: t0,
            confirmed_at: None,
            recovery_left: 0,
        };
        assert!(
            !store.use_totp_step(user.id, 5).await.unwrap(),
            "an unconfirmed factor accepts nothing"
        );
        assert!(store.put_pending_totp(&factor).await.unwrap());
        let replaced = TotpFactor {
            secret: vec![2; 40].into(),
            ..factor.clone()
        };
        assert!(
            store.put_pending_totp(&replaced).await.unwrap(),
            "a new setup replaces an unconfirmed one"
        );
        let codes = [vec![7; 32], vec![8; 32]];
        assert!(
            store
                .confirm_totp(user.id, 10, t0, &codes, &audit("user.totp_enable"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .confirm_totp(user.id, 11, t0, &codes, &audit("user.totp_enable"))
                .await
                .unwrap(),
            "confirmed once"
        );
        assert!(
            !store.put_pending_totp(&factor).await.unwrap(),
            "a confirmed factor is not replaced"
        );
        let got = store.get_totp(user.id).await.unwrap().unwrap();
        assert_eq!(
            (got.secret, got.last_step, got.confirmed_at, got.recovery_left),
            (replaced.secret, Some(10), Some(t0), 2)
        );
        for (step, ok) in [
            (10, false),
            (9, false),
            (11, true),
            (11, false),
            (13, true),
            (12, false),
        ] {
            assert_eq!(store.use_totp_step(user.id, step).await.unwrap(), ok, "step {step}");
        }
        assert!(store.use_recovery_code(user.id, &codes[0], t0).await.unwrap());
        assert!(
            !store.use_recovery_code(user.id, &codes[0], t0).await.unwrap(),
            "used once"
        );
        assert!(!store.use_recovery_code(user.id, &[9; 32], t0).await.unwrap());
        assert_eq!(store.get_totp(user.id).await.unwrap().unwrap().recovery_left, 1);
        assert!(store.remove_totp(user.id, &audit("user.totp_remove")).await.unwrap());
        assert!(!store.remove_totp(user.id, &audit("user.totp_remove")).await.unwrap());
        assert!(store.get_totp(user.id).await.unwrap().is_none());
        assert!(
            !store.use_recovery_code(user.id, &codes[1], t0).await.unwrap(),
            "the codes went with it"
        );
    }
}
