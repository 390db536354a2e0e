//! The web console (SPEC §10) through the form-following browser of the test kit: it signs in
//! through `/login` with the console's own OAuth flow, then uses the pages as plain forms.

mod access;
mod sign_in;

use gatehouse_testkit::{Browser, Page};
use reqwest::Method;
use serde_json::{Value, json};

use crate::TestServer;

pub const PASSWORD: &str = "correct horse battery";

/// A new user who is a member of `project` with `flags` (JSON of `AddMember`).
pub async fn member(s: &TestServer, project: &str, email: &str, flags: Value) -> String {
    let id = s.user(email, PASSWORD).await;
    let mut body = json!({ "user_id": id });
    body.as_object_mut().unwrap().extend(flags.as_object().unwrap().clone());
    let (st, v) = s
        .call(Method::POST, &format!("/accounts/projects/{project}/users"), Some(body))
        .await;
    assert_eq!(st, 201, "{v}");
    id
}

/// A browser signed in to the console as `email`, and the page `path` it asked for.
pub async fn sign_in(s: &TestServer, email: &str, path: &str) -> (Browser, Page) {
    let browser = Browser::new(&s.base);
    let page = browser.authorize(path, email, PASSWORD).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.url.ends_with(path),
        "the deep link {path} was not returned to: {}",
        page.url
    );
    assert_console_page(&page);
    (browser, page)
}

/// The headers every console page carries: a CSP without `unsafe-inline` that forbids framing,
/// and `no-store`.
pub fn assert_console_page(page: &Page) {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers["cache-control"], "no-store", "{}", page.url);
    assert!(page.body.starts_with("<!doctype html>"), "{}", page.url);
}

/// The CSRF field of the page's forms (every page has one: sign out).
pub fn csrf(page: &Page) -> Vec<(String, String)> {
    let token = page
        .forms()
        .into_iter()
        .flat_map(|f| f.fields)
        .find(|(k, _)| k == "csrf")
        .expect("a CSRF field");
    vec![token]
}
