//! Signing in through upstream identity providers ("Continue with …"): a second Gatehouse as the
//! OpenID Connect provider (real discovery, sign-in, consent, code exchange with PKCE), behind
//! the test kit's proxy that re-signs its ID tokens with `email_verified` true or a wrong `iss`
//! or `nonce`; and a fake GitHub speaking its OAuth and user API shapes ([`github`]).

mod admin;
mod github;

use gatehouse_server::Config;
use gatehouse_server::identity_providers::IdentityProviderSettings;
use gatehouse_testkit::idp::{Claims, OidcIdp};
use gatehouse_testkit::{Browser, Page};

use crate::{TestServer, backends, contains};

pub(crate) const PASSWORD: &str = "upstream password 1";

/// Settings of one provider named `name` of `kind`, with its secret inline.
pub(crate) fn provider_settings(name: &str, kind: &str, client_id: &str, secret: &str) -> IdentityProviderSettings {
    IdentityProviderSettings {
        name: name.into(),
        display_name: None,
        kind: kind.into(),
        issuer: None,
        github_url: None,
        github_api_url: None,
        client_id: client_id.into(),
        client_secret: Some(secret.into()),
        client_secret_file: None,
        scopes: None,
        allow_signup: false,
    }
}

/// A server whose sign-in page offers `idp` as "Corp ID" (new accounts when `allow_signup`).
pub(crate) async fn server_with(backend: crate::Backend, idp: &OidcIdp, allow_signup: bool) -> TestServer {
    let mut p = provider_settings("corp", "oidc", &idp.client_id, &idp.secret);
    p.display_name = Some("Corp ID".into());
    p.issuer = Some(idp.issuer.clone());
    p.allow_signup = allow_signup;
    let s = TestServer::spawn_fresh(backend, |c: &mut Config| {
        c.allow_insecure_upstreams = true;
        c.upstream_timeout_secs = 5;
        c.identity_providers = vec![p];
    })
    .await;
    idp.redirect_to(&format!("{}/login/with/corp/callback", s.base)).await;
    s
}

/// "Continue with Corp ID" in a new browser, signing in upstream as `email`; `tamper` may change
/// the provider's redirect back. Our browser and the page it ends on.
pub(crate) async fn continue_with(
    s: &TestServer,
    idp: &OidcIdp,
    email: &str,
    tamper: impl FnOnce(String) -> String,
) -> (Browser, Page, String) {
    let ours = Browser::new(&s.base);
    let start = ours.get("/login/with/corp?next=/account").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let to_idp = start.location.unwrap();
    assert!(
        to_idp.starts_with(&format!("{}/oauth/authorize?", idp.issuer)),
        "{to_idp}"
    );
    for p in ["state=", "nonce=", "code_challenge=", "code_challenge_method=S256"] {
        assert!(to_idp.contains(p), "{p} in {to_idp}");
    }
    let back = idp.browser().authorize(&to_idp, email, PASSWORD).await;
    let callback = tamper(back.location.expect("the provider redirects back"));
    let page = ours.follow(ours.get(&callback).await).await;
    (ours, page, callback)
}

/// Replaces the value of the query parameter `name` in `url`.
pub(crate) fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name { value.to_owned() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}

/// The page refused the sign-in for `reason`, and no session was opened.
fn assert_refused(b: &Browser, page: &Page, reason: &str) {
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("Sign-in refused") && page.body.contains(reason),
        "{reason}: {}",
        page.body
    );
    assert!(b.cookie("gh_session").is_none(), "no session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_person_signs_in_and_gets_an_account_linked_to_the_upstream_subject() {
    let idp = OidcIdp::start(&[("new@example.com", PASSWORD)]).await;
    for backend in backends() {
        // Without sign-up allowed, a person without an account is refused.
        let closed = server_with(backend.clone(), &idp, false).await;
        let login = Browser::new(&closed.base).get("/login?next=/account").await;
        assert!(
            login
                .body
                .contains("href=\"/login/with/corp?next=%2Faccount\">Continue with Corp ID</a>"),
            "{}",
            login.body
        );
        let (b, page, _) = continue_with(&closed, &idp, "new@example.com", |u| u).await;
        assert_refused(&b, &page, "No account could be signed in with Corp ID");
        closed.stop().await;

        let s = server_with(backend, &idp, true).await;
        let (b, page, callback) = continue_with(&s, &idp, "new@example.com", |u| u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.url.ends_with("/account"), "returned to next: {}", page.url);
        assert!(page.body.contains("Signed in as") && page.body.contains("new@example.com"));
        assert!(
            page.body.contains("<td>Corp ID</td><td>new@example.com</td>"),
            "{}",
            page.body
        );
        assert!(b.cookie("gh_session").is_some());
        // The upstream `sub` (the provider's user id) is what the link holds.
        assert!(
            contains(&s.database_bytes().await, &idp.user_ids[0]),
            "the link names the upstream subject"
        );
        // The callback is spent: the same answer again in this browser is refused.
        let again = b.get(&callback).await;
        assert_refused(&Browser::new(&s.base), &again, "not started in this browser");
        // A second sign-in finds the account by its link. It has no password: its only way in stays.
        let (b, page, _) = continue_with(&s, &idp, "new@example.com", |u| u).await;
        let remove = page
            .forms()
            .into_iter()
            .find(|f| f.action.starts_with("/account/identities/"))
            .expect("a form to remove the link");
        let refused = b.submit(&remove, &[], None).await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert!(refused.body.contains("only way to sign in"), "{}", refused.body);
        let account = b.get("/account").await;
        assert!(account.body.contains("<td>Corp ID</td>"), "still linked");
        // Nor does a password sign it in.
        let login = Browser::new(&s.base);
        let form = login.get("/login").await.form();
        let tried = login
            .submit(&form, &[("email", "new@example.com"), ("password", "")], None)
            .await;
        assert_eq!(tried.status, 401, "{}", tried.body);
        s.stop().await;
    }
    idp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_account_with_the_same_verified_email_is_linked_and_can_be_unlinked() {
    let idp = OidcIdp::start(&[("ann@example.com", PASSWORD)]).await;
    for backend in backends() {
        let s = server_with(backend, &idp, false).await;
        s.user("ann@example.com", "ann's own password 1").await;
        let (b, page, _) = continue_with(&s, &idp, "ann@example.com", |u| u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("<td>Corp ID</td><td>ann@example.com</td>"),
            "{}",
            page.body
        );
        let remove = page
            .forms()
            .into_iter()
            .find(|f| f.action.starts_with("/account/identities/"))
            .expect("a form to remove the link");
        // Without the CSRF token nothing is removed.
        let forged = b.post(&remove.action, &[]).await;
        assert_eq!(forged.status, 403, "{}", forged.body);
        let done = b.follow(b.submit(&remove, &[], None).await).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(!done.body.contains("<td>Corp ID</td>"), "{}", done.body);
        assert!(done.body.contains("No sign-in provider is linked"), "{}", done.body);
        // Removing it twice finds nothing.
        let twice = b.submit(&remove, &[], None).await;
        assert_eq!(twice.status, 404, "{}", twice.body);
        s.stop().await;
    }
    idp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_email_matching_an_existing_account_is_refused() {
    let idp = OidcIdp::start(&[("bob@example.com", PASSWORD)]).await;
    idp.answer_with(Claims::Unverified);
    for backend in backends() {
        // Even with sign-up allowed: the email is not the upstream's to vouch for.
        let s = server_with(backend, &idp, true).await;
        s.user("bob@example.com", "bob's own password 1").await;
        let (b, page, _) = continue_with(&s, &idp, "bob@example.com", |u| u).await;
        assert_refused(&b, &page, "No account could be signed in");
        let account = b.follow(b.get("/account").await).await;
        assert!(account.url.contains("/login"), "not signed in as bob: {}", account.url);
        s.stop().await;
    }
    idp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_state_a_wrong_iss_a_wrong_nonce_and_another_browser_are_refused() {
    let idp = OidcIdp::start(&[("cy@example.com", PASSWORD)]).await;
    for backend in backends() {
        let s = server_with(backend, &idp, true).await;
        let forged = |u: String| with_param(&u, "state", "forged-state-value");
        let (b, page, _) = continue_with(&s, &idp, "cy@example.com", forged).await;
        assert_refused(&b, &page, "state does not match");

        let wrong_iss = |u: String| with_param(&u, "iss", "http://evil.example");
        let (b, page, _) = continue_with(&s, &idp, "cy@example.com", wrong_iss).await;
        assert_refused(&b, &page, "iss is not the provider");

        let no_iss = |u: String| {
            let mut url = url::Url::parse(&u).unwrap();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "iss")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
            url.to_string()
        };
        let (b, page, _) = continue_with(&s, &idp, "cy@example.com", no_iss).await;
        assert_refused(&b, &page, "iss is not the provider");

        idp.answer_with(Claims::Issuer("http://evil.example".into()));
        let (b, page, _) = continue_with(&s, &idp, "cy@example.com", |u| u).await;
        assert_refused(&b, &page, "ID token&#39;s iss");

        idp.answer_with(Claims::Nonce("another-nonce".into()));
        let (b, page, _) = continue_with(&s, &idp, "cy@example.com", |u| u).await;
        assert_refused(&b, &page, "ID token&#39;s nonce");
        idp.answer_with(Claims::Verified);

        // The provider's answer opened in a browser that did not start the sign-in.
        let (_, _, callback) = continue_with(&s, &idp, "cy@example.com", |u| u).await;
        let other = Browser::new(&s.base);
        let page = other.get(&callback).await;
        assert_refused(&other, &page, "not started in this browser");
        // An unknown provider is no page.
        assert_eq!(other.get("/login/with/nobody").await.status, 404);
        s.stop().await;
    }
    idp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_upstream_token_or_secret_is_stored_in_plaintext() {
    let idp = OidcIdp::start(&[("dee@example.com", PASSWORD)]).await;
    for backend in backends() {
        let s = server_with(backend, &idp, true).await;
        let (_, page, callback) = continue_with(&s, &idp, "dee@example.com", |u| u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let code = url::Url::parse(&callback)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let db = s.database_bytes().await;
        let mut secrets = idp.tokens();
        assert!(secrets.len() >= 2, "the provider handed out tokens");
        secrets.extend([idp.secret.clone(), code]);
        for secret in &secrets {
            assert!(!contains(&db, secret), "an upstream secret is in the database");
        }
        s.stop().await;
    }
    idp.stop().await;
}

/// One upstream sign-in for the log search: the secrets it involved.
pub(crate) async fn logged_flow() -> Vec<(&'static str, String)> {
    let idp = OidcIdp::start(&[("log-idp@example.com", PASSWORD)]).await;
    let s = server_with(crate::Backend::Sqlite, &idp, true).await;
    let (b, page, callback) = continue_with(&s, &idp, "log-idp@example.com", |u| u).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let params: Vec<(String, String)> = url::Url::parse(&callback).unwrap().query_pairs().into_owned().collect();
    let param = |n: &str| params.iter().find(|(k, _)| k == n).unwrap().1.clone();
    let mut secrets = vec![
        ("upstream client secret", idp.secret.clone()),
        ("upstream authorization code", param("code")),
        ("upstream state", param("state")),
        ("session cookie of an upstream sign-in", b.cookie("gh_session").unwrap()),
    ];
    secrets.extend(idp.tokens().into_iter().map(|t| ("upstream token", t)));
    s.stop().await;
    idp.stop().await;
    secrets
}
