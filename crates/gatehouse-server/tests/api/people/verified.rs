//! `email_verified` (OIDC Core §5.1) in ID tokens and userinfo says whether the owner proved the
//! address: true after a followed sign-up or reset link, false for an account an admin made.

use gatehouse_testkit::Browser;
use serde_json::{Value, json};

use super::{confirm_sign_up, mailing, path_of, submit_sign_up};
use crate::TestServer;
use crate::backends;
use crate::oauth_flows::{App, app, authorize_url, claims, exchange, pkce};

const PASSWORD: &str = "a long new password 1";

/// `email_verified` of the ID token and of userinfo after `email` signs in to `a`.
async fn email_verified(s: &TestServer, a: &App, email: &str, password: &str) -> (Value, Value) {
    let (verifier, challenge) = pkce();
    let b = Browser::new(&s.base);
    let back = b
        .authorize(&authorize_url(s, a, &challenge, &[]), email, password)
        .await;
    let code = back.redirect_params().remove("code").expect("a code");
    let (st, t) = exchange(s, a, &code, &verifier).await;
    assert_eq!(st, 200, "{t}");
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["email"], email);
    let info: Value = s
        .http
        .get(format!("{}/oauth/userinfo", s.base))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], email);
    (id["email_verified"].clone(), info["email_verified"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_verified_is_true_once_a_mailed_link_proved_the_address() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        let a = app(&s, json!({})).await;
        let unverified = (json!(false), json!(false));
        let verified = (json!(true), json!(true));

        s.user("made@example.com", "an admin-set password").await;
        assert_eq!(
            email_verified(&s, &a, "made@example.com", "an admin-set password").await,
            unverified,
            "an admin made this account"
        );

        let b = Browser::new(&s.base);
        submit_sign_up(&b, &b.get("/signup").await, "signed@example.com", PASSWORD).await;
        let link = smtp.wait_for("signed@example.com", 1).await[0]
            .link("/signup/verify")
            .unwrap();
        assert_eq!(confirm_sign_up(&b, &link).await.status, 200);
        assert_eq!(email_verified(&s, &a, "signed@example.com", PASSWORD).await, verified);

        // A reset link proves the admin-made account's address too.
        let page = b.get("/reset").await;
        b.submit(&page.form(), &[("email", "made@example.com")], None).await;
        let reset = smtp.wait_for("made@example.com", 1).await[0]
            .link("/reset/confirm")
            .unwrap();
        let form = b.get(&path_of(&reset)).await;
        let set = b.submit(&form.form(), &[("new_password", PASSWORD)], None).await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert_eq!(email_verified(&s, &a, "made@example.com", PASSWORD).await, verified);
        s.stop().await;
    }
}
