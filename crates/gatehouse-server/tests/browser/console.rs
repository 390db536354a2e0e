//! Entering the console: signing in through `/login` with the console's own OAuth flow, the
//! projects page, and a project to work in.

use gatehouse_testkit::{TestServer, WebBrowser};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{EMAIL, PASSWORD, browser_test, fits_a_phone, inspect};

/// A project `Acme Shop` in which [`EMAIL`] is an admin and developer; returns its id and the
/// path of its clients list.
pub async fn project(s: &TestServer) -> (String, String) {
    let (id, _) = s.project("Acme Shop").await;
    add_member(s, &id, EMAIL, json!({ "is_admin": true, "is_developer": true })).await;
    let clients = format!("/console/projects/{id}/clients");
    (id, clients)
}

/// Makes the existing user `email` a member of `project` with `flags` (JSON of `AddMember`).
pub async fn add_member(s: &TestServer, project: &str, email: &str, flags: Value) {
    let mut body = json!({ "email": email });
    body.as_object_mut().unwrap().extend(flags.as_object().unwrap().clone());
    let path = format!("/accounts/projects/{project}/users");
    let (st, v) = s.call(Method::POST, &path, Some(body)).await;
    assert_eq!(st, 201, "{v}");
}

/// Signs `b` in to the console as [`EMAIL`] by opening `path`, and waits to be back at `path`.
pub async fn open(b: &WebBrowser, path: &str) {
    b.sign_in(path, EMAIL, PASSWORD).await;
    b.wait_for_path(path, |p| p == path).await;
}

/// A client of `project` made through REST; returns its id.
pub async fn client(s: &TestServer, project: &str, name: &str) -> String {
    let settings = json!({
        "name": name,
        "client_uri": format!("https://{}.example.com", name.to_lowercase().replace(' ', "-")),
        "redirect_uris": ["https://app.example.com/cb"],
        "grant_types": ["authorization_code"],
    });
    s.client(&s.admin_key, project, settings).await.0
}

browser_test!(signing_in_through_the_login_page_returns_to_the_deep_link, |s, b| {
    let (_, clients) = project(&s).await;
    b.goto("/").await;
    b.wait_for_path("the sign-in page", |p| p.starts_with("/login")).await;
    open(&b, &clients).await;
    b.wait_for_text("OAuth clients").await;
    assert!(
        b.text().await.contains("Acme Shop"),
        "the project is named on its pages"
    );
});

browser_test!(the_projects_page_is_accessible, |s, b| {
    project(&s).await;
    open(&b, "/console").await;
    b.wait_for_text("Your projects").await;
    inspect(&b, "projects").await;
});

browser_test!(signing_out_of_the_console_ends_the_gatehouse_session_too, |s, b| {
    project(&s).await;
    open(&b, "/console").await;
    b.click("Sign out").await;
    b.wait_for_text(&format!("Sign {EMAIL} out of Gatehouse?")).await;
    inspect(&b, "sign-out").await;
    fits_a_phone(&b, "sign-out").await;
    b.click("Sign out").await;
    b.wait_for_path("the signed-out page", |p| p == "/console/signed-out")
        .await;
    b.wait_for_text("You are signed out of the Gatehouse console.").await;
    inspect(&b, "signed-out").await;
    fits_a_phone(&b, "signed-out").await;
    b.goto("/console").await;
    b.wait_for_path("the sign-in page", |p| p.starts_with("/login")).await;
});
