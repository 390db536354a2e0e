use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::{Value, json};

use super::{answer, confirm_sign_up, mailing, path_of, submit_sign_up, token_of};
use crate::oauth_flows::{EMAIL, PASSWORD, app};
use crate::participants::api_token;
use crate::{backends, contains};

/// An invitation's answer without what differs between two invitations.
fn shape(v: &Value) -> Value {
    let mut v = v.clone();
    for k in ["id", "email", "created_at", "expires_at"] {
        assert!(v[k].is_string(), "{k} in {v}");
        v[k] = Value::Null;
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_answers_the_same_for_any_address_and_membership_waits_for_acceptance() {
    for backend in backends() {
        let Some((s, smtp)) = mailing(backend, "invite", &[]).await else {
            return;
        };
        let (p, admin) = project_admin(&s).await;
        let members = format!("/accounts/projects/{p}/users");
        s.user("known@example.com", "known person's password").await;

        let invite = |email: &'static str| {
            let (s, admin, members) = (&s, admin.clone(), members.clone());
            async move {
                s.call_as(
                    &admin,
                    Method::POST,
                    &members,
                    Some(json!({ "email": email, "is_developer": true })),
                )
                .await
            }
        };
        let (known_st, known) = invite("known@example.com").await;
        let (unknown_st, unknown) = invite("new.person@example.com").await;
        assert_eq!(known_st, 202, "{known}");
        assert_eq!((known_st, shape(&known)), (unknown_st, shape(&unknown)));
        assert_eq!(known["status"], "pending");
        let (st, by_id) = s
            .call_as(
                &admin,
                Method::POST,
                &members,
                Some(json!({ "user_id": uuid::Uuid::new_v4() })),
            )
            .await;
        assert_eq!(st, 400, "only server admins add by id: {by_id}");
        assert!(
            by_id["message"].as_str().unwrap_or_default().contains("user_id"),
            "{by_id}"
        );

        let (_, list) = s.call_as(&admin, Method::GET, &members, None).await;
        assert_eq!(
            list["users"].as_array().unwrap().len(),
            1,
            "no membership before accepting: {list}"
        );
        let (_, pending) = s
            .call(Method::GET, &format!("/accounts/projects/{p}/invitations"), None)
            .await;
        assert_eq!(pending["invitations"].as_array().unwrap().len(), 2, "{pending}");

        // The existing account accepts on its account page.
        smtp.wait_for("known@example.com", 1).await;
        assert_eq!(
            answer(&s.base, "known@example.com", "known person's password", "accept").await,
            200
        );
        let (_, list) = s.call_as(&admin, Method::GET, &members, None).await;
        let joined = list["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == "known@example.com")
            .cloned();
        assert_eq!(joined.expect("a member now")["is_developer"], true);

        // The unknown address signs up through the invitation although sign-up is by invitation.
        let mail = smtp.wait_for("new.person@example.com", 1).await;
        let link = mail[0].link("/signup?invitation=").expect("a sign-up link");
        let b = Browser::new(&s.base);
        let form = b.get(&path_of(&link)).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(
            form.body.contains("value=\"new.person@example.com\""),
            "the address is filled in"
        );
        let elsewhere = submit_sign_up(&b, &form, "someone.else@example.com", "a long password 1").await;
        assert_eq!(elsewhere.status, 403, "the invitation is for its own address");
        let sent = submit_sign_up(&b, &form, "new.person@example.com", "a long password 1").await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        let verify = smtp.wait_for("new.person@example.com", 2).await[1]
            .link("/signup/verify")
            .unwrap();
        assert_eq!(confirm_sign_up(&b, &verify).await.status, 200);
        let (_, list) = s.call_as(&admin, Method::GET, &members, None).await;
        assert_eq!(list["users"].as_array().unwrap().len(), 2, "still not a member: {list}");
        assert_eq!(
            answer(&s.base, "new.person@example.com", "a long password 1", "accept").await,
            200
        );
        let (_, list) = s.call_as(&admin, Method::GET, &members, None).await;
        assert_eq!(list["users"].as_array().unwrap().len(), 3, "{list}");

        let db = s.database_bytes().await;
        let token = token_of(&link);
        assert!(
            !contains(&db, token.split('.').nth(1).unwrap()),
            "invitation secrets are hashed"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_can_be_declined_and_withdrawn_and_only_their_address_answers_them() {
    for backend in backends() {
        let Some((s, _smtp)) = mailing(backend, "closed", &[]).await else {
            return;
        };
        let (p, admin) = project_admin(&s).await;
        let invitations = format!("/accounts/projects/{p}/invitations");
        let members = format!("/accounts/projects/{p}/users");
        // A server admin inviting an address without an account gets an invitation too, and
        // withdraws it.
        let (st, inv) = s
            .call(Method::POST, &members, Some(json!({ "email": "later@example.com" })))
            .await;
        assert_eq!(st, 202, "{inv}");
        let withdraw = format!("{invitations}/{}", inv["id"].as_str().unwrap());
        assert_eq!(s.call(Method::DELETE, &withdraw, None).await.0, 204);
        assert_eq!(s.call(Method::DELETE, &withdraw, None).await.0, 404);

        s.user("ann@example.com", "ann's long password").await;
        s.user("eve@example.com", "eve's long password").await;
        let (st, inv) = s
            .call_as(
                &admin,
                Method::POST,
                &members,
                Some(json!({ "email": "ann@example.com" })),
            )
            .await;
        assert_eq!(st, 202, "{inv}");
        // Another person cannot answer it, even knowing its id.
        let eve = Browser::new(&s.base);
        let page = eve
            .follow(
                eve.authorize("/account", "eve@example.com", "eve's long password")
                    .await,
            )
            .await;
        assert!(!page.body.contains("Invitations"), "{}", page.body);
        let csrf = page.form().fields.into_iter().find(|(k, _)| k == "csrf").unwrap().1;
        let stolen = eve
            .post(
                &format!("/account/invitations/{}/accept", inv["id"].as_str().unwrap()),
                &[("csrf".into(), csrf)],
            )
            .await;
        assert_eq!(stolen.status, 404);
        assert_eq!(
            answer(&s.base, "ann@example.com", "ann's long password", "decline").await,
            200
        );
        let (_, list) = s.call(Method::GET, &invitations, None).await;
        assert!(list["invitations"].as_array().unwrap().is_empty(), "{list}");
        let (_, list) = s.call(Method::GET, &members, None).await;
        assert_eq!(list["users"].as_array().unwrap().len(), 1, "only the admin: {list}");
        s.stop().await;
    }
}

/// A project whose admin is a person (not a server admin), and that person's API access token.
pub(crate) async fn project_admin(s: &crate::TestServer) -> (String, String) {
    let (p, _) = s.project("Team").await;
    s.user(EMAIL, PASSWORD).await;
    let (st, added) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "email": EMAIL, "is_admin": true })),
        )
        .await;
    assert_eq!(st, 201, "a server admin adds an existing account at once: {added}");
    let a = app(s, json!({ "scope": "openid gatehouse_api" })).await;
    let token = api_token(s, &a, &Browser::new(&s.base), "openid gatehouse_api").await;
    (p, token)
}
