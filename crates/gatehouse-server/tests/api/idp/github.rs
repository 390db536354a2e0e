//! "Continue with GitHub" against a fake GitHub (its OAuth app flow and user API shapes): an
//! account is linked through GitHub's verified primary email, never through an unverified one.

use gatehouse_testkit::Browser;
use gatehouse_testkit::github::{FakeGitHub, GitHubUser};

use super::provider_settings;
use crate::{TestServer, backends, contains};

fn person(id: u64, email: &str, verified: bool) -> GitHubUser {
    GitHubUser {
        id,
        login: format!("user{id}"),
        emails: vec![("old@example.com".into(), false, true), (email.into(), true, verified)],
    }
}

/// Through GitHub in a new browser; the page it ends on.
async fn continue_with_github(s: &TestServer) -> (Browser, gatehouse_testkit::Page) {
    let b = Browser::new(&s.base);
    let login = b.get("/login").await;
    assert!(login.body.contains(">Continue with GitHub</a>"), "{}", login.body);
    let start = b.get("/login/with/github?next=/account").await;
    let to_github = start.location.expect("to GitHub");
    assert!(to_github.contains("/login/oauth/authorize?") && to_github.contains("code_challenge_method=S256"));
    let back = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&to_github)
        .send()
        .await
        .unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let page = b.follow(b.get(&callback).await).await;
    (b, page)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_links_an_account_only_through_its_verified_primary_email() {
    let github = FakeGitHub::start("gh-app", "gh-app-secret-value").await;
    for backend in backends() {
        let mut p = provider_settings("github", "github", "gh-app", "gh-app-secret-value");
        p.github_url = Some(github.base.clone());
        p.github_api_url = Some(github.base.clone());
        let s = TestServer::spawn_fresh(backend, |c| {
            c.allow_insecure_upstreams = true;
            c.identity_providers = vec![p];
        })
        .await;
        s.user("eve@example.com", "eve's own password 1").await;

        github.sign_in_as(person(4242, "eve@example.com", false));
        let (b, page) = continue_with_github(&s).await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(b.cookie("gh_session").is_none());

        github.sign_in_as(person(4242, "Eve@Example.com", true));
        let (b, page) = continue_with_github(&s).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("<td>GitHub</td><td>eve@example.com</td>"),
            "{}",
            page.body
        );
        assert!(b.cookie("gh_session").is_some());
        let db = s.database_bytes().await;
        assert!(contains(&db, "4242"), "GitHub's user id is the subject");
        for token in github.tokens() {
            assert!(!contains(&db, &token), "GitHub's token is not stored");
        }
        assert!(!contains(&db, "gh-app-secret-value"));

        // Linked by GitHub's id: a later change of its primary email still signs in Eve.
        github.sign_in_as(person(4242, "eve.new@example.com", false));
        let (_, page) = continue_with_github(&s).await;
        assert!(
            page.body.contains("Signed in as") && page.body.contains("eve@example.com"),
            "{}",
            page.body
        );
        s.stop().await;
    }
}
