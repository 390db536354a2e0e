//! Passkey ceremonies refused through the pages, on both backends (the accepted ceremonies run in
//! real Chromium, tests/browser/passkeys.rs): a missing or wrong CSRF token, a ceremony answered
//! twice, late, by someone else or for another purpose, answers that are not credentials or are
//! too large, someone else's passkey, and a server whose public URL cannot carry passkeys.

use std::sync::Arc;

use gatehouse_testkit::{Backend, Browser, Page, ShiftedClock};
use serde_json::Value;

use super::{EMAIL, PASSWORD};
use crate::{TestServer, backends};

/// A registration answer of the right shape that no authenticator made.
const FORGED_ATTESTATION: &str = r#"{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"attestationObject":"AAAA","clientDataJSON":"AAAA"},"extensions":{}}"#;
/// An assertion of the right shape that no authenticator made.
const FORGED_ASSERTION: &str = r#"{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"authenticatorData":"AAAA","clientDataJSON":"AAAA","signature":"AAAA","userHandle":"AAAA"},"extensions":{}}"#;

/// A server whose public URL is `http://localhost:PORT` (WebAuthn refuses IP addresses).
async fn localhost_server(backend: Backend, clock: Arc<ShiftedClock>) -> (TestServer, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://localhost:{port}");
    let issuer = base.clone();
    let tune = |c: &mut gatehouse_server::Config| {
        c.listen = format!("127.0.0.1:{port}");
        c.issuer = Some(issuer);
    };
    (TestServer::spawn_clocked(backend, tune, clock).await, base)
}

/// `b` signed in with the password as `email`, on the account page.
async fn signed_in(base: &str, email: &str) -> (Browser, Page) {
    let b = Browser::new(base);
    let login = b.get("/login").await.form();
    let page = b
        .submit(&login, &[("email", email), ("password", PASSWORD)], None)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let account = b.get("/account").await;
    assert!(account.body.contains("<h2>Passkeys</h2>"), "{}", account.body);
    (b, account)
}

fn form_of(page: &Page, action: &str) -> gatehouse_testkit::Form {
    page.forms()
        .into_iter()
        .find(|f| f.action == action)
        .unwrap_or_else(|| panic!("no form to {action} in {}", page.body))
}

fn csrf(form: &gatehouse_testkit::Form) -> String {
    form.fields.iter().find(|(k, _)| k == "csrf").unwrap().1.clone()
}

/// A ceremony's options: status and JSON.
async fn options(b: &Browser, path: &str, csrf: &str) -> (u16, Value) {
    let page = b.post(path, &[("csrf".to_owned(), csrf.to_owned())]).await;
    let json = serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("{}: {}", page.status, page.body));
    (page.status, json)
}

#[tokio::test]
async fn registration_refuses_forged_replayed_late_and_foreign_answers() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let (s, base) = localhost_server(backend, clock.clone()).await;
        s.user(EMAIL, PASSWORD).await;
        s.user("bea@example.com", PASSWORD).await;
        let (b, account) = signed_in(&base, EMAIL).await;
        let add = form_of(&account, "/account/passkeys");
        let token = csrf(&add);

        // The options need the page's CSRF token, a form post and a session.
        let (status, json) = options(&b, "/account/passkeys/options", "wrong").await;
        assert_eq!((status, json["error"].is_string()), (403, true), "{json}");
        let (status, json) = options(&Browser::new(&base), "/account/passkeys/options", &token).await;
        assert_eq!(status, 401, "{json}");
        let (status, json) = options(&b, "/account/passkeys/options", &token).await;
        assert_eq!(status, 200, "{json}");
        let ceremony = json["ceremony"].as_str().unwrap().to_owned();
        let pk = &json["options"]["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost", "{json}");
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required", "{json}");
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required", "{json}");

        let submit = |changes: Vec<(&'static str, String)>| {
            let add = add.clone();
            let b = &b;
            async move {
                let changes: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (*k, v.as_str())).collect();
                b.submit(&add, &changes, None).await
            }
        };
        // Without the script there is no answer: the page says so.
        let page = submit(vec![("name", "Laptop".into())]).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("Passkeys need JavaScript"), "{}", page.body);
        for (credential, says) in [
            ("{not json".to_owned(), "is not a WebAuthn credential"),
            (format!("\"{}\"", "a".repeat(20_000)), "is larger than"),
        ] {
            let page = submit(vec![
                ("name", "Laptop".into()),
                ("ceremony", ceremony.clone()),
                ("credential", credential),
            ])
            .await;
            assert_eq!(page.status, 400, "{}", page.body);
            assert!(page.body.contains(says), "{says}: {}", page.body);
        }
        let page = submit(vec![
            ("name", " ".into()),
            ("ceremony", ceremony.clone()),
            ("credential", FORGED_ATTESTATION.into()),
        ])
        .await;
        assert!(page.body.contains("the name is required"), "{}", page.body);
        // A forged answer uses the ceremony up; the same ceremony again is refused as used.
        let page = submit(vec![
            ("name", "Laptop".into()),
            ("ceremony", ceremony.clone()),
            ("credential", FORGED_ATTESTATION.into()),
        ])
        .await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("credential was not accepted"), "{}", page.body);
        let page = submit(vec![
            ("name", "Laptop".into()),
            ("ceremony", ceremony.clone()),
            ("credential", FORGED_ATTESTATION.into()),
        ])
        .await;
        assert!(page.body.contains("ceremony has expired or was used"), "{}", page.body);

        // Late: five minutes is the limit.
        let (_, json) = options(&b, "/account/passkeys/options", &token).await;
        clock.advance_secs(301);
        let page = submit(vec![
            ("name", "Laptop".into()),
            ("ceremony", json["ceremony"].as_str().unwrap().into()),
            ("credential", FORGED_ATTESTATION.into()),
        ])
        .await;
        assert!(page.body.contains("ceremony has expired or was used"), "{}", page.body);

        // Someone else's ceremony, or a sign-in's, does not register a passkey.
        let (_, json) = options(&b, "/account/passkeys/options", &token).await;
        let (bea, bea_account) = signed_in(&base, "bea@example.com").await;
        let page = bea
            .submit(
                &form_of(&bea_account, "/account/passkeys"),
                &[
                    ("name", "Laptop"),
                    ("ceremony", json["ceremony"].as_str().unwrap()),
                    ("credential", FORGED_ATTESTATION),
                ],
                None,
            )
            .await;
        assert!(page.body.contains("ceremony has expired or was used"), "{}", page.body);
        let (_, json) = options(&b, "/login/passkey/options", &token).await;
        let page = submit(vec![
            ("name", "Laptop".into()),
            ("ceremony", json["ceremony"].as_str().unwrap().into()),
            ("credential", FORGED_ATTESTATION.into()),
        ])
        .await;
        assert!(page.body.contains("ceremony has expired or was used"), "{}", page.body);

        // Removing needs the CSRF token, and only the person's own passkeys are theirs to remove.
        let id = uuid::Uuid::now_v7();
        let page = b
            .post(
                &format!("/account/passkeys/{id}/remove"),
                &[("csrf".into(), "x".into())],
            )
            .await;
        assert_eq!(page.status, 403, "{}", page.body);
        for id in [id.to_string(), "not-an-id".to_owned()] {
            let page = b
                .post(
                    &format!("/account/passkeys/{id}/remove"),
                    &[("csrf".into(), token.clone())],
                )
                .await;
            assert_eq!(page.status, 404, "{}", page.body);
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn sign_in_and_the_second_step_refuse_forged_and_unanswered_ceremonies() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let (s, base) = localhost_server(backend, clock).await;
        let b = Browser::new(&base);
        let login = b.get("/login").await;
        let form = form_of(&login, "/login/passkey");
        let token = csrf(&form);
        let (status, _) = options(&b, "/login/passkey/options", "wrong").await;
        assert_eq!(status, 403);
        let (status, json) = options(&b, "/login/passkey/options", &token).await;
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["options"]["publicKey"]["userVerification"], "required", "{json}");
        let ceremony = json["ceremony"].as_str().unwrap().to_owned();

        let page = b.submit(&form, &[], None).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("Passkeys need JavaScript"), "{}", page.body);
        let page = b
            .submit(&form, &[("ceremony", &ceremony), ("credential", "[]")], None)
            .await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("is not a WebAuthn credential"), "{}", page.body);
        // An assertion no passkey of this server signed: no session, and the ceremony is spent.
        let page = b
            .submit(
                &form,
                &[("ceremony", &ceremony), ("credential", FORGED_ASSERTION)],
                None,
            )
            .await;
        assert!(page.status == 400 || page.status == 401, "{}", page.body);
        assert!(b.cookie("gh_session").is_none());
        let page = b
            .submit(
                &form,
                &[("ceremony", &ceremony), ("credential", FORGED_ASSERTION)],
                None,
            )
            .await;
        assert!(page.body.contains("ceremony has expired or was used"), "{}", page.body);
        let page = b
            .submit(&form, &[("ceremony", &ceremony), ("csrf", "wrong")], None)
            .await;
        assert_eq!(page.status, 403, "{}", page.body);

        // The second step with a passkey needs the password step's cookie.
        let (status, json) = options(&b, "/login/second/passkey/options", &token).await;
        assert_eq!(status, 401, "{json}");
        let page = b
            .post(
                "/login/second/passkey",
                &[
                    ("csrf".into(), token.clone()),
                    ("credential".into(), FORGED_ASSERTION.into()),
                ],
            )
            .await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.body.contains("Please enter your password again"), "{}", page.body);
        s.stop().await;
    }
}

#[tokio::test]
async fn a_server_on_an_ip_address_offers_no_passkeys() {
    for backend in backends() {
        let s = TestServer::spawn(backend).await;
        s.user(EMAIL, PASSWORD).await;
        let b = Browser::new(&s.base);
        let login = b.get("/login").await;
        assert!(!login.body.contains("passkey"), "{}", login.body);
        let token = csrf(&login.form());
        let (status, json) = options(&b, "/login/passkey/options", &token).await;
        assert_eq!(status, 409, "{json}");
        assert!(json["error"].as_str().unwrap().contains("domain"), "{json}");
        let page = b
            .submit(&login.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let account = b.get("/account").await;
        assert!(!account.body.contains("Passkeys"), "{}", account.body);
        s.stop().await;
    }
}
