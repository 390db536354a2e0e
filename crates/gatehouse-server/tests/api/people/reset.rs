use gatehouse_testkit::Browser;

use super::{mailing, message, path_of, token_of};
use crate::{backends, contains};

const OLD: &str = "the old password 1";
const NEW: &str = "the new password 22";

/// Signs `email` in with `password` in a new browser; the answer's status.
async fn sign_in(base: &str, email: &str, password: &str) -> (Browser, u16) {
    let b = Browser::new(base);
    let page = b.get("/login").await;
    let res = b
        .submit(&page.form(), &[("email", email), ("password", password)], None)
        .await;
    (b, res.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_sets_the_password_once_and_signs_out_everywhere() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "closed", &[]).await else {
            return;
        };
        s.user("kay@example.com", OLD).await;
        let (elsewhere, st) = sign_in(&s.base, "kay@example.com", OLD).await;
        assert_eq!(st, 303);
        assert_eq!(elsewhere.get("/account").await.status, 200);

        let b = Browser::new(&s.base);
        let ask = |email: &'static str| {
            let b = &b;
            async move {
                let page = b.get("/reset").await;
                b.submit(&page.form(), &[("email", email)], None).await
            }
        };
        let known = ask("Kay@Example.com").await;
        let unknown = ask("nobody@example.com").await;
        assert_eq!(known.status, 200, "{}", known.body);
        assert_eq!((known.status, message(&known)), (unknown.status, message(&unknown)));
        let mail = smtp.wait_for("kay@example.com", 1).await;
        assert_eq!(mail[0].subject, "Set a new password");
        let link = mail[0].link("/reset/confirm").expect("a reset link");

        let form = b.get(&path_of(&link)).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let short = b.submit(&form.form(), &[("new_password", "short")], None).await;
        assert_eq!(short.status, 400);
        assert!(short.body.contains("id=\"new_password-error\""), "{}", short.body);
        let set = b.submit(&short.form(), &[("new_password", NEW)], None).await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert!(set.body.contains("Password set"));

        assert_eq!(elsewhere.get("/account").await.status, 303, "the other session ended");
        assert_eq!(sign_in(&s.base, "kay@example.com", OLD).await.1, 401);
        assert_eq!(sign_in(&s.base, "kay@example.com", NEW).await.1, 303);
        let again = b
            .submit(&form.form(), &[("new_password", "a third password 333")], None)
            .await;
        assert_eq!(again.status, 400, "a link works once");
        assert_eq!(b.get(&path_of(&link)).await.status, 400);
        assert_eq!(sign_in(&s.base, "kay@example.com", NEW).await.1, 303);

        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            smtp.received().iter().all(|m| m.to == ["kay@example.com"]),
            "nothing is mailed to an address without an account"
        );
        let db = s.database_bytes().await;
        let token = token_of(&link);
        assert!(!contains(&db, &token) && !contains(&db, token.split('.').nth(1).unwrap()));
        assert!(
            s.audit_actions(&s.admin_key, &s.system_project)
                .await
                .contains(&"user.password_reset".to_owned())
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_costs_about_what_a_known_one_does() {
    for backend in backends() {
        let Some((s, _smtp)) = mailing(backend, "closed", &[]).await else {
            return;
        };
        s.user("kay@example.com", OLD).await;
        let time = |email: String| {
            let base = s.base.clone();
            async move {
                let b = Browser::new(&base);
                let page = b.get("/reset").await;
                let started = std::time::Instant::now();
                let res = b.submit(&page.form(), &[("email", &email)], None).await;
                assert_eq!(res.status, 200);
                started.elapsed()
            }
        };
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for i in 0..3 {
            // Fresh addresses and browsers so no rate limit applies.
            known.push(time("kay@example.com".into()).await);
            unknown.push(time(format!("nobody{i}@example.com")).await);
        }
        known.sort();
        unknown.sort();
        let (k, u) = (known[1], unknown[1]);
        assert!(
            u * 20 > k && k * 20 > u,
            "the same order of magnitude: known {k:?}, unknown {u:?}"
        );
        s.stop().await;
    }
}
