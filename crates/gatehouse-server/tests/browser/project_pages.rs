//! The project pages beyond clients: API keys shown once and revoked, members added, what a
//! read-only member sees, every project page checked by axe-core at both widths, and every
//! console page on a phone.

use reqwest::Method;
use serde_json::json;

use crate::console::{add_member, client, open, project};
use crate::{EMAIL, PASSWORD, browser_test, copy_shown, inspect, too_wide};

/// A project's pages other than its clients, by their path.
const SECTIONS: [&str; 8] = [
    "resources",
    "api-keys",
    "members",
    "rooms",
    "external-oauth",
    "secrets",
    "audit",
    "settings",
];

browser_test!(an_api_key_is_created_shown_once_and_revoked, |s, b| {
    let (p, clients) = project(&s).await;
    let keys = clients.replace("/clients", "/api-keys");
    open(&b, &keys).await;
    inspect(&b, "api-keys").await;
    b.fill("Name", "ci-deploy").await;
    b.fill("Description", "Deploys from CI").await;
    b.click("Create API key").await;
    b.wait_for_text("will not be shown again").await;
    inspect(&b, "api-key-created").await;
    let (value, copied) = copy_shown(&b).await;
    assert_eq!(copied, value, "Copy put the key on the clipboard");
    let probe = format!("/accounts/projects/{p}/oauth/clients");
    assert_eq!(
        s.call_as(&value, Method::GET, &probe, None).await.0,
        200,
        "the key shown works"
    );
    b.click("I have copied it").await;
    b.wait_for_text("Deploys from CI").await;
    assert!(!b.html().await.contains(&value), "the key's value is on the list");
    b.click("Revoke ci-deploy").await;
    b.wait_for("#confirm").await;
    inspect(&b, "api-key-revoke").await;
    b.click_id("confirm").await;
    b.wait_for_path("the API keys", |p| p == keys).await;
    b.wait_gone_text("Deploys from CI").await;
    assert_eq!(
        s.call_as(&value, Method::GET, &probe, None).await.0,
        401,
        "the revoked key works"
    );
});

browser_test!(a_member_added_without_rights_sees_the_read_only_view, |s, b| {
    let (p, clients) = project(&s).await;
    client(&s, &p, "Mobile App").await;
    s.user("bob@example.com", PASSWORD).await;
    let members = clients.replace("/clients", "/members");
    open(&b, &members).await;
    inspect(&b, "members").await;
    b.fill("Email", "bob@example.com").await;
    b.click("Invite").await;
    b.wait_for_text("bob@example.com is invited").await;
    // Bob accepts on his account page.
    let bob_browser = gatehouse_testkit::Browser::new(&s.base);
    let account = bob_browser
        .follow(bob_browser.authorize("/account", "bob@example.com", PASSWORD).await)
        .await;
    let accept = account
        .forms()
        .into_iter()
        .find(|f| f.action.ends_with("/accept"))
        .expect("the invitation");
    assert_eq!(bob_browser.submit(&accept, &[], None).await.status, 200);
    let (_, list) = s
        .call(Method::GET, &format!("/accounts/projects/{p}/users"), None)
        .await;
    let bob = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "bob@example.com");
    let bob = bob.expect("Bob is a member").clone();
    assert_eq!(
        (bob["is_admin"].clone(), bob["is_developer"].clone()),
        (json!(false), json!(false))
    );
    // Bob signs in in the same browser after Ada's cookies are gone.
    b.client().delete_all_cookies().await.unwrap();
    b.sign_in(&clients, "bob@example.com", PASSWORD).await;
    b.wait_for_path(&clients, |p| p == clients).await;
    b.wait_for_text("Mobile App").await;
    inspect(&b, "clients-read-only").await;
    let text = b.text().await;
    for absent in ["New Client", "Edit"] {
        assert!(!text.contains(absent), "a read-only member sees {absent:?}: {text}");
    }
    assert!(
        !b.html().await.contains("More actions"),
        "a read-only member has the row menu"
    );
    b.goto(&members).await;
    b.wait_for_text(EMAIL).await;
    assert!(
        !b.text().await.contains("Add a member"),
        "a read-only member may add members"
    );
    inspect(&b, "members-read-only").await;
});

browser_test!(
    every_project_page_and_the_console_account_page_are_accessible,
    |s, b| {
        let (_, clients) = project(&s).await;
        open(&b, &clients).await;
        let mut pages: Vec<(&str, String)> = SECTIONS
            .into_iter()
            .map(|section| (section, clients.replace("/clients", &format!("/{section}"))))
            .collect();
        pages.push(("console-account", "/console/account".to_owned()));
        // Every page is checked before failing, so one run lists every violation.
        let mut found = Vec::new();
        for (name, path) in pages {
            b.goto(&path).await;
            b.wait_for("main h1").await;
            b.screenshots(name).await;
            found.extend(b.violations(name).await);
        }
        assert!(found.is_empty(), "accessibility violations:\n{}", found.join("\n"));
    }
);

browser_test!(every_console_page_fits_a_390_px_phone, |s, b| {
    let (p, clients) = project(&s).await;
    let id = client(&s, &p, "Mobile App").await;
    s.user("bob@example.com", PASSWORD).await;
    add_member(&s, &p, "bob@example.com", json!({})).await;
    open(&b, &clients).await;
    let project_page = |section: &str| clients.replace("/clients", &format!("/{section}"));
    let mut pages = vec![
        ("projects", "/console".to_owned()),
        ("clients", clients.clone()),
        ("client-new", format!("{clients}/new")),
        ("client-edit", format!("{clients}/{id}")),
        ("client-delete", format!("{clients}/{id}/delete")),
        ("account", "/console/account".to_owned()),
    ];
    for section in SECTIONS {
        pages.push((section, project_page(section)));
    }
    let mut wide = Vec::new();
    for (name, path) in pages {
        b.goto(&path).await;
        b.wait_for("main h1").await;
        wide.extend(too_wide(&b, name).await);
    }
    assert!(wide.is_empty(), "wider than a 390 px phone:\n{}", wide.join("\n"));
});
