//! The device authorization grant (RFC 8628): pending, slow_down, denied and spent answers, and
//! rate limits on the user code.

use std::time::Duration;

use gatehouse_testkit::Browser;
use serde_json::json;

use super::{EMAIL, PASSWORD, app, post_form, token};
use crate::api_test;

api_test!(the_device_flow_answers_pending_slow_down_denied_and_spent, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(
        &s,
        json!({ "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"] }),
    )
    .await;
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let (st, d) = post_form(
        &s,
        "/oauth/device_authorization",
        Some(&a),
        &[("scope", "openid offline_access")],
    )
    .await;
    assert_eq!(st, 200, "{d}");
    let code = d["user_code"].as_str().unwrap().to_owned();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "{code}");
    let dc = d["device_code"].as_str().unwrap().to_owned();
    let poll_form = [("grant_type", grant), ("device_code", dc.as_str())];
    let poll = || token(&s, &a, &poll_form);
    assert_eq!(poll().await.1["error"], "authorization_pending");
    let (_, e) = poll().await;
    assert_eq!(e["error"], "slow_down", "polling faster than the interval");
    // The user approves on the verification page, coming from the complete URI.
    let b = Browser::new(&s.base);
    let page = b
        .follow(b.get(d["verification_uri_complete"].as_str().unwrap()).await)
        .await;
    let page = b
        .follow(
            b.submit(&page.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
                .await,
        )
        .await;
    assert!(page.body.contains(&code), "the code is prefilled");
    let wrong = b.submit(&page.form(), &[("user_code", "BCDF-GHJK")], None).await;
    assert_eq!(wrong.status, 400);
    let confirm = b.submit(&page.form(), &[], None).await;
    assert!(confirm.body.contains("Web app"), "{}", confirm.body);
    let done = b.submit(&confirm.form(), &[], Some(("decision", "allow"))).await;
    assert!(done.body.contains("return to your device"), "{}", done.body);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (st, t) = poll().await;
    assert_eq!(st, 200, "{t}");
    assert!(t["refresh_token"].is_string());
    let (_, again) = poll().await;
    assert_eq!(again["error"], "invalid_grant", "a device code is spent once");
    // Denied requests say so.
    let (_, d2) = post_form(&s, "/oauth/device_authorization", Some(&a), &[("scope", "openid")]).await;
    let page = b
        .get(&format!("/device?user_code={}", d2["user_code"].as_str().unwrap()))
        .await;
    let confirm = b.submit(&page.form(), &[], None).await;
    b.submit(&confirm.form(), &[], Some(("decision", "deny"))).await;
    let (_, e) = token(
        &s,
        &a,
        &[
            ("grant_type", grant),
            ("device_code", d2["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(e["error"], "access_denied");
    // Unknown device codes and other clients' codes are invalid_grant.
    let (_, e) = token(&s, &a, &[("grant_type", grant), ("device_code", "nope")]).await;
    assert_eq!(e["error"], "invalid_grant");
});

api_test!(device_answers_are_rate_limited_like_lookups, |s| {
    s.user(EMAIL, PASSWORD).await;
    let b = Browser::new(&s.base);
    let form = b.get("/login").await.form();
    b.submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None).await;
    let page = b.get("/device").await;
    let csrf = page.form().fields.into_iter().find(|(k, _)| k == "csrf").unwrap().1;
    let mut limited = false;
    for i in 0..10 {
        let guess = format!("BCDFGHJ{}", ['K', 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'V'][i]);
        let res = b
            .post(
                "/device/confirm",
                &[
                    ("csrf".into(), csrf.clone()),
                    ("user_code".into(), guess),
                    ("decision".into(), "allow".into()),
                ],
            )
            .await;
        assert_eq!(res.status, 400);
        limited |= res.body.contains("too many wrong codes");
    }
    assert!(limited, "guessing at the confirm step is throttled too");
});
