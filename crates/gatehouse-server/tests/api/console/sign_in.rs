//! Entry, sign-in through the console's OAuth flow, sessions and sign-out.

use gatehouse_testkit::Browser;
use serde_json::json;

use super::{member, sign_in};
use crate::api_test;

api_test!(
    the_root_and_the_console_send_a_stranger_to_sign_in_with_pkce_state_and_nonce,
    |s| {
        let browser = Browser::new(&s.base);
        let root = browser.get("/").await;
        assert_eq!((root.status, root.location.as_deref()), (303, Some("/console")));
        let start = browser.get("/console/projects/x/clients").await;
        assert_eq!(start.status, 303);
        let to = start.location.clone().unwrap();
        assert!(to.starts_with("/oauth/authorize?"), "{to}");
        let q: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(to.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(q["client_id"], "gatehouse-console");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], format!("{}/console/callback", s.base));
        assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32 && q["code_challenge"].len() == 43);
        let flow = start
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("gh_console_flow="))
            .unwrap();
        assert!(
            flow.contains("HttpOnly") && flow.contains("Path=/console/callback"),
            "{flow}"
        );
        let login = browser.follow(start).await;
        assert!(login.url.contains("/login?next="), "{}", login.url);
    }
);

api_test!(
    signing_in_returns_to_the_deep_link_with_a_strict_sealed_session_cookie,
    |s| {
        let (p, _) = s.project("Deep").await;
        member(&s, &p, "dev@example.com", json!({ "is_developer": true })).await;
        let path = "/console?from=mail";
        let (browser, page) = sign_in(&s, "dev@example.com", path).await;
        assert!(page.body.contains("Deep"), "{}", page.body);
        let session = browser.cookie("gh_console").unwrap();
        assert!(
            !session.contains("eyJ"),
            "the session cookie must not carry readable tokens"
        );
        // A callback whose state is not this browser's is refused.
        let forged = browser.get("/console/callback?code=x&state=forged").await;
        assert_eq!(forged.status, 400);
    }
);

api_test!(signing_out_ends_the_console_session_through_rp_initiated_logout, |s| {
    let (p, _) = s.project("Out").await;
    member(&s, &p, "out@example.com", json!({})).await;
    let (browser, page) = sign_in(&s, "out@example.com", "/console").await;
    let form = page
        .forms()
        .into_iter()
        .find(|f| f.action == "/console/sign-out")
        .unwrap();
    let without_token = browser.post("/console/sign-out", &[]).await;
    assert_eq!(without_token.status, 403, "sign-out needs the CSRF token");
    let out = browser.submit(&form, &[], None).await;
    assert_eq!(out.status, 303);
    let to = out.location.clone().unwrap();
    assert!(to.starts_with("/oauth/logout?id_token_hint="), "{to}");
    assert!(browser.cookie("gh_console").is_none());
    let confirm = browser.follow(out).await;
    let done = browser.submit(&confirm.form(), &[], None).await;
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{}/console/signed-out", s.base).as_str())
    );
    let signed_out = browser.follow(done).await;
    assert!(signed_out.body.contains("signed out"), "{}", signed_out.body);
    // Signed out of Gatehouse too: the console asks for a password again.
    let again = browser.follow(browser.get("/console").await).await;
    assert!(again.url.contains("/login"), "{}", again.url);
});
