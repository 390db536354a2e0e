//! Identity providers managed over REST (`/accounts/identity-providers`): server admins only, the
//! config file's providers listed read-only, the client secret write-only and sealed, each change
//! audited and in use at once, on every node.

use gatehouse_testkit::Browser;
use gatehouse_testkit::idp::OidcIdp;
use reqwest::Method;
use serde_json::{Value, json};

use super::{PASSWORD, continue_with, provider_settings};
use crate::nodes::{two_nodes, within_a_second};
use crate::{TestServer, backends, contains};

const BASE: &str = "/accounts/identity-providers";
const SECRET: &str = "rest-created-idp-secret-5b1f";

/// A server whose config file has the provider `cfg`.
async fn server_with_config_provider(backend: crate::Backend) -> TestServer {
    let mut cfg = provider_settings("cfg", "gitlab", "cfg-client", "cfg-secret");
    cfg.display_name = Some("Config Lab".into());
    TestServer::spawn_fresh(backend, |c| c.identity_providers = vec![cfg]).await
}

fn corp(issuer: &str) -> Value {
    json!({ "name": "corp", "display_name": "Corp ID", "issuer": issuer, "client_id": "gh-client",
        "client_secret": SECRET, "scopes": ["openid", "email"] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_added_listed_changed_and_removed_with_the_secret_never_returned() {
    for backend in backends() {
        let s = server_with_config_provider(backend).await;
        let created = s.created(BASE, corp("https://sso.corp.example/realms/staff")).await;
        assert_eq!(
            (
                created["id"].as_str(),
                created["source"].as_str(),
                created["kind"].as_str()
            ),
            (Some("corp"), Some("api"), Some("oidc"))
        );
        assert_eq!(created["redirect_uri"], format!("{}/login/with/corp/callback", s.base));
        assert!(!created.to_string().contains(SECRET), "{created}");
        let (st, list) = s.call(Method::GET, BASE, None).await;
        assert_eq!(st, 200, "{list}");
        let all = list["identity_providers"].as_array().unwrap();
        let summary: Vec<(&str, &str)> = all
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["source"].as_str().unwrap()))
            .collect();
        assert_eq!(summary, [("cfg", "config"), ("corp", "api")]);
        assert_eq!(all[0]["issuer"], "https://gitlab.com");
        assert!(!list.to_string().contains(SECRET) && !list.to_string().contains("cfg-secret"));
        // The sign-in page offers both at once.
        let login = s.get_text("/login").await;
        assert!(login.contains("Continue with Config Lab") && login.contains("Continue with Corp ID"));

        let (st, changed) = s
            .call(
                Method::PATCH,
                &format!("{BASE}/corp"),
                Some(
                    json!({ "display_name": "Corp SSO", "allow_signup": true, "client_secret": "rotated-secret-7c2e" }),
                ),
            )
            .await;
        assert_eq!(st, 200, "{changed}");
        assert_eq!(
            (changed["display_name"].as_str(), changed["allow_signup"].as_bool()),
            (Some("Corp SSO"), Some(true))
        );
        assert_eq!(changed["client_id"], "gh-client", "absent fields are kept");
        let (_, one) = s.call(Method::GET, &format!("{BASE}/corp"), None).await;
        assert_eq!(one, changed);
        assert!(s.get_text("/login").await.contains("Continue with Corp SSO"));
        // Neither secret is in the database as plaintext.
        let db = s.database_bytes().await;
        assert!(!contains(&db, SECRET) && !contains(&db, "rotated-secret-7c2e"));

        // The config file's provider is read-only here.
        for (method, body) in [
            (Method::PATCH, Some(json!({ "display_name": "X" }))),
            (Method::DELETE, None),
        ] {
            let (st, e) = s.call(method, &format!("{BASE}/cfg"), body).await;
            assert_eq!(st, 409, "{e}");
            assert!(e["message"].as_str().unwrap().contains("config file"), "{e}");
        }
        let (st, _) = s.call(Method::GET, &format!("{BASE}/cfg"), None).await;
        assert_eq!(st, 200);

        let (st, _) = s.call(Method::DELETE, &format!("{BASE}/corp"), None).await;
        assert_eq!(st, 204);
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(json!({ "display_name": "X" }))),
            (Method::DELETE, None),
        ] {
            let (st, e) = s.call(method.clone(), &format!("{BASE}/corp"), body).await;
            assert_eq!(st, 404, "{method} after delete: {e}");
        }
        assert!(!s.get_text("/login").await.contains("Corp SSO"));
        assert_eq!(Browser::new(&s.base).get("/login/with/corp").await.status, 404);
        let audit = s.audit_actions(&s.admin_key, &s.system_project).await;
        for action in [
            "identity_provider.create",
            "identity_provider.update",
            "identity_provider.delete",
        ] {
            assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_server_admins_manage_identity_providers() {
    for backend in backends() {
        let s = TestServer::spawn(backend).await;
        s.created(BASE, corp("https://sso.corp.example")).await;
        let (_, project_key) = s.project("Team").await;
        let (_, admin_token) = crate::people::invitations::project_admin(&s).await;
        for who in [&project_key, &admin_token] {
            for (method, path, body) in [
                (Method::GET, BASE.to_owned(), None),
                (
                    Method::POST,
                    BASE.to_owned(),
                    Some(
                        json!({ "name": "evil", "issuer": "https://evil.example", "display_name": "Evil", "client_id": "c", "client_secret": "s" }),
                    ),
                ),
                (Method::GET, format!("{BASE}/corp"), None),
                (
                    Method::PATCH,
                    format!("{BASE}/corp"),
                    Some(json!({ "issuer": "https://evil.example" })),
                ),
                (Method::DELETE, format!("{BASE}/corp"), None),
            ] {
                let (st, e) = s.call_as(who, method.clone(), &path, body).await;
                assert_eq!(st, 403, "{method} {path}: {e}");
            }
        }
        let (_, list) = s.call(Method::GET, BASE, None).await;
        assert_eq!(
            list["identity_providers"][0]["issuer"], "https://sso.corp.example",
            "unchanged"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_taken_input_is_refused_naming_the_field() {
    for backend in backends() {
        let s = server_with_config_provider(backend).await;
        let with = |extra: Value| {
            let mut b = corp("https://sso.corp.example");
            b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            b
        };
        let long = "x".repeat(3000);
        for (body, field) in [
            (with(json!({ "name": "Corp X" })), "name"),
            (with(json!({ "kind": "okta" })), "kind"),
            (with(json!({ "issuer": "http://sso.corp.example" })), "issuer"),
            (with(json!({ "issuer": "https://10.0.0.7/sso" })), "issuer"),
            (with(json!({ "issuer": "not a url" })), "issuer"),
            (with(json!({ "kind": "microsoft", "issuer": null })), "issuer"),
            (with(json!({ "scopes": ["email"] })), "scopes"),
            (with(json!({ "scopes": ["open id"] })), "scopes"),
            (with(json!({ "client_secret": long })), "client_secret"),
            (with(json!({ "client_secret": "" })), "client_secret"),
            (with(json!({ "display_name": "" })), "display_name"),
            (with(json!({ "client_id": "a\u{0}b" })), "client_id"),
            (with(json!({ "surprise": true })), "surprise"),
            (
                json!({ "name": "corp", "issuer": "https://sso.corp.example", "display_name": "C", "client_id": "c" }),
                "client_secret",
            ),
        ] {
            let (st, e) = s.call(Method::POST, BASE, Some(body.clone())).await;
            assert_eq!(st, 400, "{body}: {e}");
            assert!(e["message"].as_str().unwrap().contains(field), "{field}: {e}");
        }
        let huge = with(json!({ "display_name": "x".repeat(300 * 1024) }));
        let (st, _) = s.call(Method::POST, BASE, Some(huge)).await;
        assert_eq!(st, 413);
        // A name is one provider, whichever source has it; the same request again is refused.
        let (st, e) = s.call(Method::POST, BASE, Some(with(json!({ "name": "cfg" })))).await;
        assert_eq!(st, 409, "{e}");
        s.created(BASE, corp("https://sso.corp.example")).await;
        let (st, e) = s.call(Method::POST, BASE, Some(corp("https://sso.corp.example"))).await;
        assert_eq!(st, 409, "{e}");
        for (body, field) in [
            (json!({ "issuer": "ftp://sso.corp.example" }), "issuer"),
            (json!({ "name": "other" }), "name"),
            (json!({ "scopes": [] }), "scopes"),
        ] {
            let (st, e) = s.call(Method::PATCH, &format!("{BASE}/corp"), Some(body.clone())).await;
            assert_eq!(st, 400, "{body}: {e}");
            assert!(e["message"].as_str().unwrap().contains(field), "{field}: {e}");
        }
        let (_, one) = s.call(Method::GET, &format!("{BASE}/corp"), None).await;
        assert_eq!(one["issuer"], "https://sso.corp.example", "unchanged: {one}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_a_provider_added_over_rest_and_its_removal_ends_the_link() {
    let idp = OidcIdp::start(&[("rest@example.com", PASSWORD)]).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, |c| {
            c.allow_insecure_upstreams = true;
            c.upstream_timeout_secs = 5;
        })
        .await;
        idp.redirect_to(&format!("{}/login/with/corp/callback", s.base)).await;
        let mut body = corp(&idp.issuer);
        body["client_id"] = json!(idp.client_id);
        body["client_secret"] = json!(idp.secret);
        body["allow_signup"] = json!(true);
        s.created(BASE, body.clone()).await;
        let (_, page, _) = continue_with(&s, &idp, "rest@example.com", |u| u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("<td>Corp ID</td><td>rest@example.com</td>"),
            "{}",
            page.body
        );

        // Removing the provider removes its links: added again, the provider links the account
        // anew (through the verified email) instead of finding the old link.
        let (st, _) = s.call(Method::DELETE, &format!("{BASE}/corp"), None).await;
        assert_eq!(st, 204);
        let links = |audit: &[String]| audit.iter().filter(|a| *a == "user.identity_link").count();
        assert_eq!(links(&s.audit_actions(&s.admin_key, &s.system_project).await), 0);
        s.created(BASE, body).await;
        let (_, page, _) = continue_with(&s, &idp, "rest@example.com", |u| u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(links(&s.audit_actions(&s.admin_key, &s.system_project).await), 1);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_added_on_one_node_is_offered_by_the_other_within_a_second() {
    let Some((a, b)) = two_nodes().await else { return };
    let offered = |s: &TestServer, name: &str| {
        s.gatehouse()
            .identity_providers()
            .iter()
            .any(|p| p.display_name == name)
    };
    assert!(!offered(&b, "Corp ID"));
    a.created(BASE, corp("https://sso.corp.example")).await;
    within_a_second("node B offering the new provider", async || offered(&b, "Corp ID")).await;
    let (st, _) = a
        .call(
            Method::PATCH,
            &format!("{BASE}/corp"),
            Some(json!({ "display_name": "Corp SSO" })),
        )
        .await;
    assert_eq!(st, 200);
    within_a_second("node B offering the renamed provider", async || offered(&b, "Corp SSO")).await;
    let (st, _) = a.call(Method::DELETE, &format!("{BASE}/corp"), None).await;
    assert_eq!(st, 204);
    within_a_second("node B dropping the provider", async || {
        b.gatehouse().identity_providers().is_empty()
    })
    .await;
    a.stop().await;
    b.stop().await;
}
