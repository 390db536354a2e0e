//! A project that requires a second factor (SPEC §5.4): signing in to its apps without one sends
//! the person to set one up and back to the authorization request, which then asks for it; the
//! ID token says two factors were used; apps of other projects are unaffected.

use std::sync::Arc;

use gatehouse_testkit::{Browser, Form, Page, ShiftedClock};
use reqwest::Method;
use serde_json::json;

use super::second_factor::code_at;
use super::{EMAIL, PASSWORD, app, app_in, authorize_url, claims, error_of, exchange, pkce};
use crate::{TestServer, backends};

/// A project whose apps require a second factor.
async fn strict_project(s: &TestServer) -> String {
    let (p, _) = s.project("Strict").await;
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/accounts/projects/{p}/settings"),
            Some(json!({ "signup": "inherit", "require_second_factor": true })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    p
}

/// The first form of `page` posting to `action`.
fn form_to(page: &Page, action: &str) -> Form {
    page.forms()
        .into_iter()
        .find(|f| f.action == action)
        .unwrap_or_else(|| panic!("no form to {action} on {} ({}): {}", page.url, page.status, page.body))
}

/// The `href` of the link whose text is `text`.
fn link(page: &Page, text: &str) -> String {
    let end = page
        .body
        .find(&format!("\">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text:?}: {}", page.body));
    let start = page.body[..end].rfind("href=\"").unwrap() + 6;
    page.body[start..end].replace("&amp;", "&").replace("&#38;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_requiring_a_second_factor_sends_people_to_set_one_up_and_asks_for_it() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        s.user(EMAIL, PASSWORD).await;
        let p = strict_project(&s).await;
        let strict = app_in(&s, &p, json!({})).await;
        let other = app(&s, json!({})).await;

        // Another project's app: the password alone, as before.
        let (verifier, challenge) = pkce();
        let b = Browser::new(&s.base);
        let page = b
            .authorize(&authorize_url(&s, &other, &challenge, &[]), EMAIL, PASSWORD)
            .await;
        let (st, t) = exchange(&s, &other, &page.redirect_params()["code"], &verifier).await;
        assert_eq!(st, 200, "{t}");
        assert_eq!(claims(t["id_token"].as_str().unwrap())["amr"], json!(["pwd"]));

        // The strict project's app, with the same one-factor session and no factor set up: a
        // silent request cannot go on, an interactive one is sent to set a factor up.
        let (verifier, challenge) = pkce();
        let url = authorize_url(&s, &strict, &challenge, &[]);
        let silent = b
            .get(&authorize_url(&s, &strict, &challenge, &[("prompt", "none")]))
            .await;
        assert_eq!(error_of(&silent)["error"], "interaction_required");
        let enrol = b.follow(b.get(&url).await).await;
        assert_eq!(enrol.status, 200, "{}", enrol.body);
        assert!(enrol.url.contains("/account/two-step?next="), "{}", enrol.url);
        assert!(enrol.body.contains("Set up two-step sign-in"), "{}", enrol.body);

        // Setting up an authenticator app from there returns to the authorization request.
        let setup = b.submit(&form_to(&enrol, "/account/totp"), &[], None).await;
        assert_eq!(setup.status, 200, "{}", setup.body);
        let key = setup
            .body
            .split("<code>")
            .nth(1)
            .unwrap()
            .split("</code>")
            .next()
            .unwrap();
        let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap();
        let done = b
            .submit(
                &form_to(&setup, "/account/totp/confirm"),
                &[("code", &code_at(&secret, clock.as_ref(), 0))],
                None,
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        let back = link(&done, "Continue to the application");
        assert!(back.starts_with("/oauth/authorize?"), "{back}");

        // Back at the request, the session's one factor is not enough: sign in again, with the code.
        clock.advance_secs(30);
        let login = b.follow(b.get(&back).await).await;
        let second = b
            .submit(
                &form_to(&login, "/login"),
                &[("email", EMAIL), ("password", PASSWORD)],
                None,
            )
            .await;
        assert_eq!(second.status, 200, "{}", second.body);
        let answered = b
            .submit(
                &form_to(&second, "/login/second"),
                &[("code", &code_at(&secret, clock.as_ref(), 0))],
                None,
            )
            .await;
        let page = b.follow(answered).await;
        let page = match page.forms().into_iter().find(|f| f.action == "/consent") {
            Some(consent) => {
                b.follow(b.submit(&consent, &[], Some(("decision", "allow"))).await)
                    .await
            }
            None => page,
        };
        let (st, t) = exchange(&s, &strict, &page.redirect_params()["code"], &verifier).await;
        assert_eq!(st, 200, "{t}");
        let id = claims(t["id_token"].as_str().unwrap());
        assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]), "{id}");
        assert_eq!(id["acr"], "urn:gatehouse:acr:mfa");

        // A person who has the factor is asked for it at once, however the session began: a
        // fresh browser signing in with the password alone is asked for the code.
        clock.advance_secs(30);
        let (verifier, challenge) = pkce();
        let fresh = Browser::new(&s.base);
        let login = fresh
            .follow(fresh.get(&authorize_url(&s, &strict, &challenge, &[])).await)
            .await;
        let asked = fresh
            .submit(
                &form_to(&login, "/login"),
                &[("email", EMAIL), ("password", PASSWORD)],
                None,
            )
            .await;
        assert!(fresh.cookie("gh_session").is_none(), "no session before the code");
        let page = fresh
            .follow(
                fresh
                    .submit(
                        &form_to(&asked, "/login/second"),
                        &[("code", &code_at(&secret, clock.as_ref(), 0))],
                        None,
                    )
                    .await,
            )
            .await;
        let (st, t) = exchange(&s, &strict, &page.redirect_params()["code"], &verifier).await;
        assert_eq!(st, 200, "{t}");
        assert_eq!(
            claims(t["id_token"].as_str().unwrap())["amr"],
            json!(["pwd", "otp", "mfa"])
        );

        s.stop().await;
    }
}
