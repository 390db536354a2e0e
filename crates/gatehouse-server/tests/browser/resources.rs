//! The console's API resources page in Chromium: a resource created and edited through the form
//! (scopes with descriptions, lifetime, algorithm), a refused field shown next to it, and the
//! delete of a resource a client uses confirmed twice; axe-core and screenshots on each page.

use reqwest::Method;
use serde_json::json;

use crate::console::{open, project};
use crate::{browser_test, fits_a_phone, inspect};

browser_test!(an_api_resource_is_created_edited_and_deleted_in_the_console, |s, b| {
    let (p, clients) = project(&s).await;
    let list = clients.replace("/clients", "/resources");
    open(&b, &list).await;
    b.wait_for_text("No API resources yet.").await;
    inspect(&b, "resources-empty").await;
    b.click("New resource").await;
    b.wait_for_path("the new resource form", |p| p.ends_with("/resources/new"))
        .await;
    b.fill("Identifier (the audience)", "not-a-uri").await;
    b.fill("Name", "Orders API").await;
    b.fill(
        "Scopes",
        "orders.read Read your orders\norders.write Change your orders",
    )
    .await;
    b.click("Create resource").await;
    b.wait_for("#identifier-error").await;
    inspect(&b, "resource-refused").await;
    assert!(b.text().await.contains("must be an absolute URI"));
    b.fill("Identifier (the audience)", "https://api.acme.example").await;
    b.fill("Access-token lifetime (seconds)", "600").await;
    b.field("Signing algorithm").await.send_keys("RS256").await.unwrap();
    inspect(&b, "resource-new").await;
    b.click("Create resource").await;
    b.wait_for_text("API resource Orders API created.").await;
    inspect(&b, "resources").await;
    fits_a_phone(&b, "resources").await;

    let (_, listed) = s
        .call(Method::GET, &format!("/accounts/projects/{p}/resources"), None)
        .await;
    let r = &listed["resources"][0];
    assert_eq!(r["identifier"], "https://api.acme.example");
    assert_eq!(r["access_token_lifetime_secs"], 600);
    assert_eq!(r["signing_alg"], "RS256");
    assert_eq!(
        r["scopes"],
        json!([
            { "name": "orders.read", "description": "Read your orders" },
            { "name": "orders.write", "description": "Change your orders" },
        ])
    );

    b.click("Edit Orders API").await;
    b.wait_for_text("Edit https://api.acme.example").await;
    inspect(&b, "resource-edit").await;
    fits_a_phone(&b, "resource-edit").await;
    b.fill("Name", "Orders").await;
    b.fill("Scopes", "orders.read Read your orders").await;
    b.click("Save resource").await;
    b.wait_for_text("API resource Orders saved.").await;
    let (_, listed) = s
        .call(Method::GET, &format!("/accounts/projects/{p}/resources"), None)
        .await;
    assert_eq!(listed["resources"][0]["scopes"].as_array().unwrap().len(), 1);

    // A client allowed its scope: the delete is refused once, then forced.
    let settings = json!({
        "name": "Shop",
        "redirect_uris": ["https://app.example.com/cb"],
        "grant_types": ["client_credentials"],
        "scope": "orders.read",
    });
    s.client(&s.admin_key, &p, settings).await;
    b.click("Delete Orders").await;
    b.wait_for("#confirm-delete").await;
    inspect(&b, "resource-delete").await;
    b.click_id("confirm-delete").await;
    b.wait_for_text("Delete it anyway").await;
    assert!(b.text().await.contains("clients use this resource"));
    inspect(&b, "resource-delete-in-use").await;
    b.click("Delete anyway").await;
    b.wait_for_text("API resource Orders deleted.").await;
    let (_, listed) = s
        .call(Method::GET, &format!("/accounts/projects/{p}/resources"), None)
        .await;
    assert_eq!(listed["resources"], json!([]));
});
