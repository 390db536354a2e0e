//! Two-step sign-in (SPEC §5.4) through the pages, on both backends, with a clock the test
//! moves: setting up an authenticator app, the second step after the password (a code is
//! accepted once, a recovery code once, wrong codes are limited, the step expires), `amr` and
//! `acr` in the ID token, removing the authenticator, and nothing of it stored in plaintext.

use std::sync::Arc;

use gatehouse_core::factors::{totp_code, totp_step};
use gatehouse_testkit::{Browser, Page, ShiftedClock};
use serde_json::json;

use super::{EMAIL, PASSWORD, app, authorize_url, claims, exchange, pkce};
use crate::{TestServer, backends};

/// An authenticator app set up on the account page: its secret and the recovery codes shown.
pub struct Enrolled {
    pub secret: Vec<u8>,
    pub recovery: Vec<String>,
    /// The text key as the page showed it.
    pub text_key: String,
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body.find(start).unwrap_or_else(|| panic!("{start:?} not in {body}")) + start.len();
    &body[from..from + body[from..].find(end).unwrap()]
}

/// The code the authenticator shows at `clock`'s time, `offset` steps away.
pub fn code_at(secret: &[u8], clock: &dyn gatehouse_core::time::Clock, offset: i64) -> String {
    totp_code(secret, totp_step(clock.now()) + offset)
}

/// Signs `b` in with the password and sets up an authenticator app on the account page.
pub async fn enrol(b: &Browser, clock: &dyn gatehouse_core::time::Clock) -> Enrolled {
    let login = b.get("/login").await.form();
    let signed = b
        .submit(&login, &[("email", EMAIL), ("password", PASSWORD)], None)
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let account = b.get("/account").await;
    assert!(account.body.contains("Two-step sign-in"), "{}", account.body);
    let start = account
        .forms()
        .into_iter()
        .find(|f| f.action == "/account/totp")
        .unwrap();
    let setup = b.submit(&start, &[], None).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let text_key = between(&setup.body, "<code>", "</code>").to_owned();
    let secret = data_encoding::BASE32_NOPAD.decode(text_key.as_bytes()).unwrap();
    let uri = between(&setup.body, "<a href=\"", "\"").replace("&amp;", "&");
    assert!(
        uri.starts_with("otpauth://totp/Gatehouse:") && uri.contains(&format!("secret={text_key}")),
        "{uri}"
    );
    // A wrong first code leaves it off, with the error next to the field.
    let wrong = b
        .submit(&setup.form(), &[("code", &code_at(&secret, clock, -5))], None)
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"code-error\""), "{}", wrong.body);
    let done = b
        .submit(&wrong.form(), &[("code", &code_at(&secret, clock, 0))], None)
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let recovery: Vec<String> = done
        .body
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_owned())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", done.body);
    Enrolled {
        secret,
        recovery,
        text_key,
    }
}

/// Starts an authorization in a fresh browser and submits the password: the second-step page.
async fn password_step(s: &TestServer, url: &str) -> (Browser, Page) {
    let b = Browser::new(&s.base);
    let login = b.follow(b.get(url).await).await;
    let page = b
        .submit(&login.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
        .await;
    (b, page)
}

async fn second(b: &Browser, page: &Page, code: &str) -> Page {
    let form = page.form();
    assert_eq!(form.action, "/login/second", "{}", page.body);
    b.submit(&form, &[("code", code)], None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_codes_and_recovery_codes_each_sign_in_once_and_say_so_in_amr() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({})).await;
        let (verifier, challenge) = pkce();
        let url = authorize_url(&s, &a, &challenge, &[]);

        // Before any second factor: the password alone, and the ID token says so.
        let plain = Browser::new(&s.base);
        let code = plain.authorize(&url, EMAIL, PASSWORD).await.redirect_params()["code"].clone();
        let (_, t) = exchange(&s, &a, &code, &verifier).await;
        let id = claims(t["id_token"].as_str().unwrap());
        assert_eq!(id["amr"], json!(["pwd"]), "{id}");
        assert_eq!(id["acr"], "urn:gatehouse:acr:1fa");

        let factor = enrol(&Browser::new(&s.base), clock.as_ref()).await;

        // The code that confirmed the authenticator was used up with it.
        let (b, page) = password_step(&s, &url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(b.cookie("gh_session").is_none(), "no session before the second step");
        let replay = second(&b, &page, &code_at(&factor.secret, clock.as_ref(), 0)).await;
        assert_eq!(replay.status, 401, "{}", replay.body);
        assert!(replay.body.contains("The code is not correct."), "{}", replay.body);

        // The next step's code signs in, once.
        clock.advance_secs(30);
        let fresh = code_at(&factor.secret, clock.as_ref(), 0);
        let (verifier, challenge) = pkce();
        let url = authorize_url(&s, &a, &challenge, &[]);
        let (b, page) = password_step(&s, &url).await;
        let done = b.follow(second(&b, &page, &fresh).await).await;
        let code = done.redirect_params()["code"].clone();
        let (st, t) = exchange(&s, &a, &code, &verifier).await;
        assert_eq!(st, 200, "{t}");
        let id = claims(t["id_token"].as_str().unwrap());
        assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]), "{id}");
        assert_eq!(id["acr"], "urn:gatehouse:acr:mfa");
        let (st, r) = super::refresh(&s, &a, t["refresh_token"].as_str().unwrap()).await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(
            claims(r["id_token"].as_str().unwrap())["amr"],
            json!(["pwd", "otp", "mfa"])
        );
        let (b2, page) = password_step(&s, &url).await;
        let again = second(&b2, &page, &fresh).await;
        assert_eq!(
            again.status, 401,
            "a code within its window is accepted once: {}",
            again.body
        );

        // A recovery code, typed loosely, signs in once.
        let typed = factor.recovery[3].to_uppercase().replace('-', " ");
        let (b, page) = password_step(&s, &url).await;
        let ok = second(&b, &page, &typed).await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert!(b.cookie("gh_session").is_some());
        let (b, page) = password_step(&s, &url).await;
        let used = second(&b, &page, &factor.recovery[3]).await;
        assert_eq!(used.status, 401, "{}", used.body);
        let account = b.get("/account").await;
        assert_eq!(account.status, 303, "still signed out");

        // The database holds neither the secret nor a recovery code.
        let dump = s.database_bytes().await;
        assert!(
            !crate::contains(&dump, &factor.text_key),
            "the TOTP secret is stored in plaintext"
        );
        assert!(!crate::contains(&dump, &String::from_utf8_lossy(&factor.secret)));
        for c in &factor.recovery {
            assert!(
                !crate::contains(&dump, c) && !crate::contains(&dump, &c.replace('-', "")),
                "a recovery code is stored in plaintext"
            );
        }
        assert!(crate::contains(&dump, EMAIL), "the search itself works");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_limited_and_the_second_step_expires() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        s.user(EMAIL, PASSWORD).await;
        let factor = enrol(&Browser::new(&s.base), clock.as_ref()).await;
        clock.advance_secs(30);

        let (b, mut page) = password_step(&s, "/account").await;
        let wrong = code_at(&factor.secret, clock.as_ref(), -5);
        for _ in 0..5 {
            page = second(&b, &page, &wrong).await;
            assert_eq!(page.status, 401, "{}", page.body);
            assert!(
                page.body.contains("id=\"code-error\""),
                "the error is next to the field"
            );
        }
        // From the 5th failure on each attempt waits, the right code too.
        let right = code_at(&factor.secret, clock.as_ref(), 0);
        let throttled = second(&b, &page, &right).await;
        assert_eq!(throttled.status, 429, "{}", throttled.body);
        assert!(throttled.headers.contains_key("retry-after"));
        clock.advance_secs(2);
        let right = code_at(&factor.secret, clock.as_ref(), 0);
        let ok = second(&b, &throttled, &right).await;
        assert_eq!(ok.status, 303, "after the wait the right code works: {}", ok.body);

        // An oversized code is refused by name; a late second step starts over.
        clock.advance_secs(30);
        let (b, page) = password_step(&s, "/account").await;
        let long = second(&b, &page, &"1".repeat(65)).await;
        assert_eq!(long.status, 400, "{}", long.body);
        assert!(long.body.contains("The code is longer"), "{}", long.body);
        clock.advance_secs(301);
        let late = second(&b, &long, &code_at(&factor.secret, clock.as_ref(), 0)).await;
        assert_eq!(late.status, 401, "{}", late.body);
        assert!(late.body.contains("took too long"), "{}", late.body);
        assert!(b.cookie("gh_session").is_none());
        // Without the cookie of the password step there is nothing to continue.
        let forged = Browser::new(&s.base);
        let login = forged.get("/login").await;
        let csrf = login.form().fields.into_iter().find(|(k, _)| k == "csrf").unwrap().1;
        let page = forged
            .post(
                "/login/second",
                &[
                    ("csrf".into(), csrf),
                    ("code".into(), code_at(&factor.secret, clock.as_ref(), 0)),
                ],
            )
            .await;
        assert!(page.body.contains("took too long"), "{}", page.body);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_authenticator_needs_the_password_and_ends_the_second_step() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        s.user(EMAIL, PASSWORD).await;
        let b = Browser::new(&s.base);
        enrol(&b, clock.as_ref()).await;
        let account = b.get("/account").await;
        assert!(account.body.contains("10 unused recovery codes"), "{}", account.body);
        // Setting up a second one is refused while one is on.
        let start_again = b
            .post("/account/totp", &[("csrf".into(), account.form().fields[0].1.clone())])
            .await;
        assert_eq!(start_again.status, 409, "{}", start_again.body);
        let remove = account
            .forms()
            .into_iter()
            .find(|f| f.action == "/account/totp/remove")
            .unwrap();
        let wrong = b
            .submit(&remove, &[("current_password", "not the password")], None)
            .await;
        assert_eq!(wrong.status, 400, "{}", wrong.body);
        assert!(
            wrong.body.contains("current password: is not correct"),
            "{}",
            wrong.body
        );
        let removed = b.submit(&remove, &[("current_password", PASSWORD)], None).await;
        assert_eq!(removed.status, 200, "{}", removed.body);
        assert!(
            removed.body.contains("The authenticator app is removed."),
            "{}",
            removed.body
        );
        let (b, page) = password_step(&s, "/account").await;
        assert_eq!(page.status, 303, "the password alone signs in again: {}", page.body);
        assert!(b.cookie("gh_session").is_some());
        let audit = s
            .call(
                reqwest::Method::GET,
                &format!("/accounts/projects/{}/audit", s.system_project),
                None,
            )
            .await
            .1
            .to_string();
        assert!(
            audit.contains("user.totp_enable") && audit.contains("user.totp_remove"),
            "{audit}"
        );
        s.stop().await;
    }
}

/// Sets up an authenticator for a new user on `s` and signs in with it and with a recovery code;
/// returns the secrets involved, for the log search.
pub async fn logged_flow(s: &TestServer) -> Vec<(&'static str, String)> {
    let clock = gatehouse_core::time::SystemClock;
    s.user(EMAIL, PASSWORD).await;
    let factor = enrol(&Browser::new(&s.base), &clock).await;
    let (b, page) = password_step(s, "/account").await;
    let pending = b.cookie("gh_second_step").expect("the password step's cookie");
    let done = second(&b, &page, &factor.recovery[0]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let uri_secret = format!("secret={}", factor.text_key);
    vec![
        ("TOTP secret", factor.text_key),
        ("otpauth URI secret", uri_secret),
        ("second-step cookie", pending),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_values_asking_for_two_factors_make_a_password_only_session_sign_in_again() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({})).await;
        // A session from before the authenticator, and `enrol`'s own: the password alone.
        let early = Browser::new(&s.base);
        let login = early.get("/login").await.form();
        early
            .submit(&login, &[("email", EMAIL), ("password", PASSWORD)], None)
            .await;
        let b = Browser::new(&s.base);
        let factor = enrol(&b, clock.as_ref()).await;
        let (_, challenge) = pkce();
        // No acr wish: the session serves (after consent, remembered for what follows).
        let plain = b
            .authorize(&authorize_url(&s, &a, &challenge, &[]), EMAIL, PASSWORD)
            .await;
        assert!(plain.redirect_params().contains_key("code"), "{}", plain.body);
        let mfa = [("acr_values", "urn:gatehouse:acr:mfa urn:gatehouse:acr:1fa")];
        let (verifier, challenge) = pkce();
        let url = authorize_url(&s, &a, &challenge, &mfa);
        let login = b.follow(b.get(&url).await).await;
        assert_eq!(login.form().action, "/login", "{}", login.body);
        clock.advance_secs(30);
        let page = b
            .submit(&login.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
            .await;
        let done = b
            .follow(second(&b, &page, &code_at(&factor.secret, clock.as_ref(), 0)).await)
            .await;
        let (st, t) = exchange(&s, &a, &done.redirect_params()["code"], &verifier).await;
        assert_eq!(st, 200, "{t}");
        assert_eq!(claims(t["id_token"].as_str().unwrap())["acr"], "urn:gatehouse:acr:mfa");
        // The two-factor session now satisfies the wish without asking again.
        let (_, challenge) = pkce();
        let again = b.get(&authorize_url(&s, &a, &challenge, &mfa)).await;
        assert!(again.redirect_params().contains_key("code"), "{:?}", again.location);
        // With prompt=none a password-only session gets login_required instead of a page.
        let (_, challenge) = pkce();
        let none = [mfa[0], ("prompt", "none")];
        let refused = early.get(&authorize_url(&s, &a, &challenge, &none)).await;
        assert_eq!(
            refused.redirect_params().get("error").map(String::as_str),
            Some("login_required")
        );
        let (_, challenge) = pkce();
        let passes = b.get(&authorize_url(&s, &a, &challenge, &none)).await;
        assert!(
            passes.redirect_params().contains_key("code"),
            "the two-factor session passes prompt=none"
        );
        s.stop().await;
    }
}
