//! Text with a NUL or another forbidden control character is refused with a 400 naming the
//! field, the same on SQLite and PostgreSQL (which cannot store U+0000), and nothing is stored.

use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, api_test};

/// Asserts a 400 `invalid_request` whose message starts with `field:`.
fn refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{field}: {body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{field}:")), "{field}: {message}");
}

async fn get(s: &TestServer, key: &str, path: &str) -> (u16, Value) {
    s.call_as(key, Method::GET, path, None).await
}

async fn post(s: &TestServer, key: &str, path: &str, body: Value) -> (u16, Value) {
    s.call_as(key, Method::POST, path, Some(body)).await
}

api_test!(list_and_export_filters_with_a_nul_are_refused, |s| {
    let (p, key) = s.project("Filters").await;
    s.client(
        &key,
        &p,
        json!({ "name": "one", "redirect_uris": ["https://a.example/cb"] }),
    )
    .await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    for filter in ["%00", "a%00b", "a%01", "a%0Ab", "%7F"] {
        let (st, e) = get(&s, &key, &format!("{base}?filter={filter}")).await;
        refused(st, &e, "filter");
        let (st, e) = get(&s, &key, &format!("{base}/export?format=csv&filter={filter}")).await;
        refused(st, &e, "filter");
    }
    let (st, list) = get(&s, &key, &format!("{base}?filter=one")).await;
    assert_eq!((st, list["total"].as_u64()), (200, Some(1)), "{list}");
});

api_test!(api_key_descriptions_with_a_nul_are_refused_and_nothing_is_stored, |s| {
    let (p, key) = s.project("Keys").await;
    let base = format!("/accounts/projects/{p}/api-keys");
    for description in ["a\u{0}b", "bell\u{7}", "esc\u{1b}[31m"] {
        let (st, e) = post(
            &s,
            &s.admin_key,
            &base,
            json!({ "name": "k", "description": description }),
        )
        .await;
        refused(st, &e, "description");
    }
    let (st, e) = post(&s, &s.admin_key, &base, json!({ "name": "k\u{0}", "description": "" })).await;
    refused(st, &e, "name");
    let (_, list) = get(&s, &key, &base).await;
    let list = list["keys"].as_array().cloned().unwrap();
    assert_eq!(list.len(), 1, "only the test's own key: {list:?}");
    let multi_line = json!({ "name": "k2", "description": "line one\nline\ttwo\r\n" });
    let (st, e) = post(&s, &s.admin_key, &base, multi_line).await;
    assert_eq!(st, 201, "tabs and newlines are text in a description: {e}");
});

api_test!(member_and_room_grant_emails_with_a_nul_are_refused, |s| {
    let (p, key) = s.project("Members").await;
    let uid = s.user("member@example.com", "member password 1").await;
    let users = format!("/accounts/projects/{p}/users");
    let (st, e) = post(&s, &s.admin_key, &users, json!({ "email": "member@example.com\u{0}" })).await;
    refused(st, &e, "email");
    let (_, members) = get(&s, &s.admin_key, &users).await;
    assert!(!members.to_string().contains(&uid), "nobody was added: {members}");
    s.created(&format!("/accounts/projects/{p}/rooms"), json!({ "name": "lobby" }))
        .await;
    let grants = format!("/accounts/projects/{p}/room-grants");
    let body = json!({ "room_name": "lobby", "email": "\u{0}", "permissions": "full" });
    let (st, e) = post(&s, &key, &grants, body).await;
    refused(st, &e, "email");
    let (_, list) = get(&s, &key, &grants).await;
    assert_eq!(list["total"], 0, "{list}");
});

api_test!(nul_inside_stored_json_is_refused_naming_the_field, |s| {
    let (p, key) = s.project("Json").await;
    let rooms = format!("/accounts/projects/{p}/rooms");
    let nested = json!({ "a": [{ "b": "x\u{0}y" }] });
    let (st, e) = post(&s, &key, &rooms, json!({ "name": "r1", "metadata": nested })).await;
    refused(st, &e, "metadata");
    let (st, e) = post(&s, &key, &rooms, json!({ "name": "r1", "metadata": { "k\u{0}": 1 } })).await;
    refused(st, &e, "metadata");
    let (_, list) = get(&s, &key, &rooms).await;
    assert_eq!(list["total"], 0, "{list}");
    s.created(&rooms, json!({ "name": "r2" })).await;
    let uid = s.user("grant@example.com", "grant password 1").await;
    let users = format!("/accounts/projects/{p}/users");
    let (st, e) = post(&s, &s.admin_key, &users, json!({ "user_id": uid })).await;
    assert_eq!(st, 201, "{e}");
    let grants = format!("/accounts/projects/{p}/room-grants");
    let permissions = json!({ "messaging": { "send": true }, "extra": { "note": "\u{0}" } });
    let body = json!({ "room_name": "r2", "user_id": uid, "permissions": permissions });
    let (st, e) = post(&s, &s.admin_key, &grants, body).await;
    refused(st, &e, "permissions");
    let (_, list) = get(&s, &key, &grants).await;
    assert_eq!(list["total"], 0, "{list}");
    let tokens = format!("/accounts/projects/{p}/participant-tokens");
    let body = json!({ "name": "agent", "room_name": "r2", "api": { "x": ["\u{0}"] } });
    let (st, e) = post(&s, &key, &tokens, body).await;
    refused(st, &e, "api");
    let clients = format!("/accounts/projects/{p}/oauth/clients");
    let body = json!({ "name": "c", "redirect_uris": ["https://a.example/cb"], "metadata": { "k": "v\u{0}" } });
    let (st, e) = post(&s, &key, &clients, body).await;
    refused(st, &e, "metadata");
    let body =
        json!({ "name": "c", "redirect_uris": ["https://a.example/cb"], "client_uri": "https://a.example/\u{0}" });
    let (st, e) = post(&s, &key, &clients, body).await;
    refused(st, &e, "client_uri");
    let (_, list) = get(&s, &key, &clients).await;
    assert_eq!(list["total"], 0, "{list}");
    let registrations = format!("/accounts/projects/{p}/external-oauth");
    let oauth =
        json!({ "authorization_endpoint": "https://a.example/a\u{0}", "token_endpoint": "https://a.example/t" });
    let body = json!({ "name": "r", "client_id": "c", "oauth": oauth, "redirect_uris": ["https://a.example/cb"] });
    let (st, e) = post(&s, &s.admin_key, &registrations, body).await;
    refused(st, &e, "oauth.authorization_endpoint");
});

api_test!(the_login_form_refuses_a_nul_email_next_to_the_field, |s| {
    let b = Browser::new(&s.base);
    let page = b.get("/login").await;
    let form = page.form();
    let page = b
        .submit(
            &form,
            &[("email", "ada\u{0}@example.com"), ("password", "whatever it is")],
            None,
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    let field = page.body.find("name=\"email\"").expect("the email field");
    let message = page
        .body
        .find("id=\"email-error\"")
        .expect("a message for the email field");
    assert!(field < message, "the message follows the field: {}", page.body);
    assert!(page.body[message..].contains("control characters"), "{}", page.body);
    assert!(page.body.contains("aria-describedby=\"email-error\""), "{}", page.body);
    assert!(!page.body.contains('\0'), "the NUL is not echoed back");
    assert_eq!(page.form().action, "/login", "the form is shown again");
});
