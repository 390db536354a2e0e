use gatehouse_testkit::Browser;

use super::{confirm_sign_up, mailing, message, path_of, submit_sign_up, token_of};
use crate::oauth_flows::{app, authorize_url, pkce};
use crate::{backends, contains};

const PASSWORD: &str = "a long new password 1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_from_an_app_verifies_the_address_once_and_returns_to_the_app() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        let a = app(&s, serde_json::json!({})).await;
        let (_, challenge) = pkce();
        let authorize = authorize_url(&s, &a, &challenge, &[]);
        let b = Browser::new(&s.base);
        let login = b.follow(b.get(&authorize).await).await;
        let signup_link = login
            .body
            .split("href=\"")
            .find(|h| h.starts_with("/signup?"))
            .map(|h| h[..h.find('"').unwrap()].replace("&amp;", "&"))
            .expect("the sign-in page links to sign-up");
        assert!(
            login.body.contains("href=\"/reset?next=%2Foauth%2Fauthorize%3F"),
            "and to the reset page, which keeps the request"
        );
        let form = b.get(&signup_link).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let sent = submit_sign_up(&b, &form, "grace@example.com", PASSWORD).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert!(sent.body.contains("Check your email"));

        let mail = smtp.wait_for("grace@example.com", 1).await;
        assert_eq!(mail[0].subject, "Confirm your email address");
        let link = mail[0].link("/signup/verify").expect("a verification link");
        assert!(mail[0].html.contains("/signup/verify"), "the HTML part has it too");
        // Not usable before the address is verified.
        let early = Browser::new(&s.base);
        let refused = early
            .submit(
                &early.get("/login").await.form(),
                &[("email", "grace@example.com"), ("password", PASSWORD)],
                None,
            )
            .await;
        assert_eq!(refused.status, 401);
        // A GET (a mail scanner) does not use the link up: the button does.
        assert_eq!(b.get(&path_of(&link)).await.status, 200);
        let done = confirm_sign_up(&b, &link).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Your account is ready"));
        let onward = done
            .body
            .split("id=\"onward\"")
            .next()
            .and_then(|h| h.rsplit("href=\"").next())
            .map(|h| h[..h.find('"').unwrap()].replace("&#38;", "&"))
            .unwrap();
        let back = b.authorize(&onward, "grace@example.com", PASSWORD).await;
        let params = back.redirect_params();
        assert!(params.contains_key("code"), "back at the app with a code: {params:?}");

        // Second use of the link fails, by button and by GET.
        let csrf = csrf(&b.get("/signup").await.body);
        let again = b
            .post(
                "/signup/verify",
                &[("csrf".into(), csrf), ("token".into(), token_of(&link))],
            )
            .await;
        assert_eq!(again.status, 400, "{}", again.body);
        assert_eq!(b.get(&path_of(&link)).await.status, 400);
        assert!(!contains(&s.database_bytes().await, &token_of(&link)));
        assert!(!contains(
            &s.database_bytes().await,
            token_of(&link).split('.').nth(1).unwrap()
        ));
        s.stop().await;
    }
}

/// The CSRF token of a page's forms.
fn csrf(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").map(|i| i + 19).unwrap_or(0);
    body[at..at + body[at..].find('"').unwrap_or(0)].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_with_a_taken_address_answers_the_same_and_mails_its_owner() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        s.user("taken@example.com", "the owner's password").await;
        let b = Browser::new(&s.base);
        let known = submit_sign_up(&b, &b.get("/signup").await, "Taken@example.com", PASSWORD).await;
        let unknown = submit_sign_up(&b, &b.get("/signup").await, "fresh@example.com", PASSWORD).await;
        assert_eq!((known.status, message(&known)), (unknown.status, message(&unknown)));
        let note = smtp.wait_for("taken@example.com", 1).await;
        assert_eq!(note[0].subject, "You already have an account");
        assert!(note[0].link("/signup/verify").is_none());
        smtp.wait_for("fresh@example.com", 1).await;
        let login = b.get("/login").await.form();
        let refused = b
            .submit(&login, &[("email", "taken@example.com"), ("password", PASSWORD)], None)
            .await;
        assert_eq!(refused.status, 401, "the account is unchanged");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sign_up_policy_admits_whom_it_says() {
    for backend in backends() {
        for (policy, domains) in [
            ("closed", &[][..]),
            ("invite", &[][..]),
            ("domains", &["corp.example"][..]),
        ] {
            let Some((s, smtp)) = mailing(backend.clone(), policy, domains).await else {
                return;
            };
            let b = Browser::new(&s.base);
            let login = b.get("/login").await;
            let page = b.get("/signup").await;
            match policy {
                "closed" => {
                    assert!(!login.body.contains("/signup"), "no sign-up link when closed");
                    assert_eq!(page.status, 404);
                    assert!(page.body.contains("Sign-up is closed"));
                }
                "invite" => {
                    assert!(login.body.contains("/signup"));
                    let refused = submit_sign_up(&b, &page, "anyone@corp.example", PASSWORD).await;
                    assert_eq!(refused.status, 403, "{}", refused.body);
                    assert!(refused.body.contains("ask for an invitation"));
                }
                _ => {
                    let other = submit_sign_up(&b, &page, "ann@other.example", PASSWORD).await;
                    assert_eq!(other.status, 403, "{}", other.body);
                    let lookalike = submit_sign_up(&b, &page, "ann@evilcorp.example", PASSWORD).await;
                    assert_eq!(lookalike.status, 403);
                    let listed = submit_sign_up(&b, &page, "ann@Corp.Example", PASSWORD).await;
                    assert_eq!(listed.status, 200, "{}", listed.body);
                    smtp.wait_for("ann@corp.example", 1).await;
                }
            }
            let mailed = smtp.received();
            assert!(
                mailed
                    .iter()
                    .all(|m| m.to == ["ann@Corp.Example"] || m.to == ["ann@corp.example"]),
                "{mailed:?}"
            );
            s.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_refuses_bad_input_by_field_and_forms_without_their_csrf_token() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        let b = Browser::new(&s.base);
        let page = b.get("/signup").await;
        let short = submit_sign_up(&b, &page, "ann@example.com", "short").await;
        assert_eq!(short.status, 400);
        assert!(short.body.contains("id=\"password-error\""), "{}", short.body);
        let bad = submit_sign_up(&b, &page, "not an address", PASSWORD).await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("id=\"email-error\""));
        assert!(bad.body.contains("value=\"not an address\""), "what was typed is kept");
        for path in ["/signup", "/signup/verify", "/reset", "/reset/confirm"] {
            let forged = Browser::new(&s.base);
            let fields = [
                ("email".to_owned(), "ann@example.com".to_owned()),
                ("name".to_owned(), "Ann".to_owned()),
                ("password".to_owned(), PASSWORD.to_owned()),
                ("new_password".to_owned(), PASSWORD.to_owned()),
                ("token".to_owned(), "x.y".to_owned()),
                ("csrf".to_owned(), "forged".to_owned()),
            ];
            let res = forged.post(path, &fields).await;
            assert_eq!(res.status, 403, "{path}: {}", res.body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(smtp.received().is_empty(), "nothing was sent");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_sends_and_link_guesses_are_rate_limited() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        let b = Browser::new(&s.base);
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(
                submit_sign_up(&b, &b.get("/signup").await, "flood@example.com", PASSWORD)
                    .await
                    .status,
            );
        }
        assert_eq!(statuses, [200, 200, 200, 429]);
        for _ in 0..3 {
            let page = b.get("/reset").await;
            assert_eq!(
                b.submit(&page.form(), &[("email", "other@example.com")], None)
                    .await
                    .status,
                200
            );
        }
        let page = b.get("/reset").await;
        let throttled = b.submit(&page.form(), &[("email", "other@example.com")], None).await;
        assert_eq!(throttled.status, 429);
        assert!(throttled.headers.contains_key("retry-after"));
        let mut guesses = Vec::new();
        for i in 0..11 {
            guesses.push(
                b.get(&format!(
                    "/reset/confirm?token={}.guess{i}",
                    uuid::Uuid::new_v4().simple()
                ))
                .await
                .status,
            );
        }
        assert_eq!(&guesses[..10], &[400; 10]);
        assert_eq!(guesses[10], 429, "{guesses:?}");
        assert_eq!(smtp.wait_for("flood@example.com", 3).await.len(), 3);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_mail_is_written_to_files_in_the_data_directory() {
    let s = crate::TestServer::spawn_fresh(crate::Backend::Sqlite, |c| c.signup = "open".into()).await;
    let b = Browser::new(&s.base);
    let sent = super::submit_sign_up(&b, &b.get("/signup").await, "local@example.com", PASSWORD).await;
    assert_eq!(sent.status, 200);
    let dir = s.dir.join("mail");
    let mut found = Vec::new();
    for _ in 0..100 {
        found = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "{found:?}");
    let eml = std::fs::read_to_string(&found[0]).unwrap();
    assert!(
        eml.contains("To: local@example.com") && eml.contains("Subject: Confirm your email address"),
        "{eml}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&found[0]).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    s.stop().await;
}
