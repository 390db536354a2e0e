//! A project's own sign-up policy (SPEC §5.4): it governs sign-up reached from its apps'
//! authorization requests and through its invitations, overriding the server's either way; a
//! plain `/signup` follows the server; a refusal says nothing of accounts.

use gatehouse_testkit::{Browser, Page};
use reqwest::Method;
use serde_json::{Value, json};

use super::{mailing, message, path_of, submit_sign_up};
use crate::backends;
use crate::oauth_flows::{app_in, authorize_url, pkce};

const PASSWORD: &str = "a long new password 1";

/// A project with sign-up `settings` and an app of it; the project and the sign-in page the
/// app's authorization request leads to.
async fn project_app(s: &crate::TestServer, b: &Browser, name: &str, settings: Value) -> (String, Page) {
    let (p, _) = s.project(name).await;
    let (st, v) = s
        .call(Method::PUT, &format!("/accounts/projects/{p}/settings"), Some(settings))
        .await;
    assert_eq!(st, 200, "{v}");
    let a = app_in(s, &p, json!({})).await;
    let (_, challenge) = pkce();
    let login = b.follow(b.get(&authorize_url(s, &a, &challenge, &[])).await).await;
    assert_eq!(login.status, 200, "{}", login.body);
    (p, login)
}

/// The sign-up link of a sign-in page, if it offers one.
fn sign_up_link(login: &Page) -> Option<String> {
    login
        .body
        .split("href=\"")
        .find(|h| h.starts_with("/signup?"))
        .map(|h| h[..h.find('"').unwrap()].replace("&amp;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_project_admits_sign_up_from_its_app_on_a_closed_server() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "closed", &[]).await else {
            return;
        };
        let b = Browser::new(&s.base);
        let (_, login) = project_app(&s, &b, "Open", json!({ "signup": "open" })).await;
        let link = sign_up_link(&login).expect("the app's sign-in page offers sign-up");
        assert!(link.contains("client_id"), "{link}");
        let sent = submit_sign_up(&b, &b.get(&link).await, "grace@example.com", PASSWORD).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert!(
            smtp.wait_for("grace@example.com", 1).await[0]
                .link("/signup/verify")
                .is_some()
        );

        // The server's own pages stay closed: no link on /login, and /signup refuses.
        assert!(sign_up_link(&b.get("/login").await).is_none());
        let plain = b.get("/signup").await;
        assert_eq!(plain.status, 404, "{}", plain.body);
        assert!(plain.body.contains("Sign-up is closed"));
        // A `next` that is not an authorization request of a known client changes nothing.
        for next in [
            "/account",
            "/oauth/authorize?client_id=unknown",
            "/oauth/authorizex?client_id=x",
        ] {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            assert_eq!(b.get(&format!("/signup?{q}")).await.status, 404, "{next}");
        }

        // A domains project admits its domains only.
        let (_, login) = project_app(
            &s,
            &b,
            "Corp",
            json!({ "signup": "domains", "signup_domains": ["corp.example"] }),
        )
        .await;
        let form = b.get(&sign_up_link(&login).unwrap()).await;
        assert_eq!(
            submit_sign_up(&b, &form, "ann@other.example", PASSWORD).await.status,
            403
        );
        assert_eq!(
            submit_sign_up(&b, &form, "ann@corp.example", PASSWORD).await.status,
            200
        );
        smtp.wait_for("ann@corp.example", 1).await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_project_refuses_sign_up_from_its_app_on_an_open_server_alike_for_any_address() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        s.user("taken@example.com", "the owner's password").await;
        let b = Browser::new(&s.base);
        let (p, login) = project_app(&s, &b, "Closed", json!({ "signup": "closed" })).await;
        assert!(sign_up_link(&login).is_none(), "no sign-up link: {}", login.body);
        let next = login.url.split("next=").nth(1).map(|n| {
            url::form_urlencoded::parse(format!("n={n}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        });
        let next = next.expect("the sign-in page returns to the request");
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .finish();
        let page = b.get(&format!("/signup?{q}")).await;
        assert_eq!(page.status, 404, "{}", page.body);

        // A form of the open server's own /signup posted with the app's `next`: refused the
        // same way whether or not the address has an account, and nothing is mailed.
        let mut form = b
            .get("/signup")
            .await
            .forms()
            .into_iter()
            .find(|f| f.action == "/signup")
            .unwrap();
        form.fields.retain(|(k, _)| k != "next");
        form.fields.push(("next".into(), next.clone()));
        let answer = |email: &'static str| {
            let (b, form) = (&b, form.clone());
            async move {
                b.submit(
                    &form,
                    &[("email", email), ("name", "Someone"), ("password", PASSWORD)],
                    None,
                )
                .await
            }
        };
        let known = answer("taken@example.com").await;
        let unknown = answer("fresh@example.com").await;
        assert_eq!(known.status, 404, "{}", known.body);
        assert_eq!((known.status, message(&known)), (unknown.status, message(&unknown)));

        // A plain /signup follows the open server.
        let plain = submit_sign_up(&b, &b.get("/signup").await, "plain@example.com", PASSWORD).await;
        assert_eq!(plain.status, 200, "{}", plain.body);
        smtp.wait_for("plain@example.com", 1).await;
        assert!(
            smtp.received().iter().all(|m| m.to == ["plain@example.com"]),
            "nothing was mailed for the closed project"
        );

        // An invite project: its invitations admit, its app alone does not.
        let (st, _) = s
            .call(
                Method::PUT,
                &format!("/accounts/projects/{p}/settings"),
                Some(json!({ "signup": "invite" })),
            )
            .await;
        assert_eq!(st, 200);
        let link = sign_up_link(&b.follow(b.get(&next).await).await).expect("invite offers sign-up");
        let refused = submit_sign_up(&b, &b.get(&link).await, "walkin@example.com", PASSWORD).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let (st, inv) = s
            .call(
                Method::POST,
                &format!("/accounts/projects/{p}/users"),
                Some(json!({ "email": "guest@example.com" })),
            )
            .await;
        assert_eq!(st, 202, "{inv}");
        let mail = smtp.wait_for("guest@example.com", 1).await;
        let invited = mail[0].link("/signup?invitation=").expect("a sign-up link");
        let sent = submit_sign_up(&b, &b.get(&path_of(&invited)).await, "guest@example.com", PASSWORD).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_projects_invitations_do_not_offer_sign_up_on_an_open_server() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "open", &[]).await else {
            return;
        };
        let (p, _) = s.project("Members only").await;
        let path = format!("/accounts/projects/{p}/settings");
        let (st, _) = s.call(Method::PUT, &path, Some(json!({ "signup": "closed" }))).await;
        assert_eq!(st, 200);
        let (st, _) = s
            .call(
                Method::POST,
                &format!("/accounts/projects/{p}/users"),
                Some(json!({ "email": "guest@example.com" })),
            )
            .await;
        assert_eq!(st, 202);
        let mail = smtp.wait_for("guest@example.com", 1).await;
        assert!(mail[0].link("/signup?invitation=").is_none(), "{}", mail[0].text);
        assert!(
            mail[0].text.contains("Ask this server's administrators"),
            "{}",
            mail[0].text
        );
        s.stop().await;
    }
}
