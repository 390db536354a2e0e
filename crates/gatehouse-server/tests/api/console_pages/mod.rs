//! The console's project pages and account page (SPEC §10) through the form-following browser:
//! each renders for an admin, each change goes through the core use cases and is audited with
//! the person as actor, readers see no write buttons and a forged write is refused.

mod access;
mod account;
mod api_keys;
mod external_oauth;
mod members;
mod resources;
mod rooms;
mod secrets;
mod settings_audit;

use gatehouse_testkit::{Browser, Page};
use reqwest::Method;
use serde_json::{Value, json};

use crate::TestServer;
use crate::console::{assert_console_page, form_to, member, sign_in};

/// An admin of a new project signed in on its `section` page: (project, its API key, the
/// admin's user id, browser, page).
pub async fn admin(s: &TestServer, email: &str, section: &str) -> (String, String, String, Browser, Page) {
    let (p, key) = s.project("Pages").await;
    let id = member(s, &p, email, json!({ "is_admin": true, "is_developer": true })).await;
    let (browser, page) = sign_in(s, email, &format!("/console/projects/{p}/{section}")).await;
    (p, key, id, browser, page)
}

/// Submits the form of `page` posting to `action` with `changes`, and follows the redirect.
pub async fn submit(browser: &Browser, page: &Page, action: &str, changes: &[(&str, &str)]) -> Page {
    let res = browser.submit(&form_to(page, action), changes, None).await;
    let page = browser.follow(res).await;
    assert_console_page(&page);
    page
}

/// The newest audit event of `project` (as its API key reads it).
pub async fn last_event(s: &TestServer, key: &str, project: &str) -> Value {
    let (_, audit) = s
        .call_as(key, Method::GET, &format!("/accounts/projects/{project}/audit"), None)
        .await;
    audit["events"][0].clone()
}

/// Asserts the newest audit event is `action` by the user `actor`.
pub async fn assert_audited(s: &TestServer, key: &str, project: &str, action: &str, actor: &str) {
    let e = last_event(s, key, project).await;
    assert_eq!(e["action"], action, "{e}");
    assert_eq!(e["actor_type"], "user", "{e}");
    assert_eq!(e["actor_id"], actor, "{e}");
}
