//! The web console (SPEC §10) through the form-following browser of the test kit: it signs in
//! through `/login` with the console's own OAuth flow, then uses the pages as plain forms.

mod access;
mod client_form;
mod client_list;
mod projects;
mod sign_in;

use gatehouse_testkit::{Browser, Form, Page};
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

/// The form of `page` posting to `action`.
pub fn form_to(page: &Page, action: &str) -> Form {
    page.forms()
        .into_iter()
        .find(|f| f.action == action)
        .unwrap_or_else(|| panic!("no form to {action} on {}: {}", page.url, page.body))
}

/// The text of the element with `id` (up to its first tag end).
pub fn text_of(page: &Page, id: &str) -> String {
    let start = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} on {}", page.url));
    let rest = &page.body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close].trim().to_owned()
}

/// A developer of a new project, signed in on its clients page: (project, its API key, browser, page).
pub async fn developer(s: &TestServer, email: &str) -> (String, String, Browser, Page) {
    let (p, key) = s.project("Console").await;
    member(s, &p, email, json!({ "is_developer": true })).await;
    let (browser, page) = sign_in(s, email, &format!("/console/projects/{p}/clients")).await;
    (p, key, browser, page)
}

/// The names of the clients of `project`, read over REST with `key`.
pub async fn clients(s: &TestServer, key: &str, project: &str) -> Vec<String> {
    let (st, list) = s
        .call_as(
            key,
            Method::GET,
            &format!("/accounts/projects/{project}/oauth/clients"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{list}");
    list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}
