//! `oauth2 …` against a real broker and a real provider (a second Gatehouse): the command asks a
//! participant connected to the room for consent, the participant's side signs in through the
//! provider's forms and answers, and the token printed is one the provider accepts.

use futures::{SinkExt as _, StreamExt as _};
use std::sync::Arc;

use gatehouse_client::types::CreateParticipantToken;
use gatehouse_client::{Client, Credential};
use gatehouse_core::time::SystemClock;
use gatehouse_testkit::Provider;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::{Gatehouse, assert_fails_with, backends, parse, str_of};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const EMAIL: &str = "pat@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The next text frame of a room connection as JSON.
async fn frame<S>(ws: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("open")
            .expect("a frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("JSON");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_request_get_list_and_delete_from_the_cli() {
    let provider = Provider::start(Arc::new(SystemClock), CALLBACK, EMAIL, PASSWORD).await;
    let (client_id, secret) = (&provider.client_id, &provider.secret);
    let p = &provider.s.base;
    let provider_flags = format!(
        "--client-id {client_id} --authorization-endpoint {p}/oauth/authorize --token-endpoint {p}/oauth/token --revocation-endpoint {p}/oauth/revoke --issuer {p} --client-secret {secret} --scopes openid,email,offline_access"
    );

    for backend in backends() {
        let gh = Gatehouse::start_with(&backend, |c| c.allow_insecure_upstreams = true).await;
        let (_, key) = gh.project_with_key("Broker").await;
        assert_eq!(
            gh.json_as(&key, "oauth2 list --room ops").await,
            json!({ "secrets": [] })
        );
        let get = format!("oauth2 get --room ops {provider_flags} --delegated-by pat");
        assert_eq!(gh.json_as(&key, &get).await, json!({ "access_token": null }));

        // Pat joins the room.
        let project = parse(&gh.run_as(&key, "-o json project get").await.expect("project"))["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid");
        let backend_client = Client::new(&gh.base, Some(Credential::new(key.clone()))).expect("client");
        let mint = CreateParticipantToken {
            name: "pat".into(),
            room_name: Some("ops".into()),
            role: Some("user".into()),
            api: Some(json!("user_default")),
            grants: None,
            ttl_seconds: None,
        };
        let pat = backend_client
            .mint_participant_token(project, &mint)
            .await
            .expect("token")
            .token;
        let mut req = format!("{}/rooms/ops", gh.base.replacen("http", "ws", 1))
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("authorization", format!("Bearer {pat}").parse().expect("header"));
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("joined");
        let ready = frame(&mut ws).await;
        let pat_id = str_of(&ready, "participant_id").to_owned();

        assert_fails_with(
            gh.run_as(
                &key,
                &format!(
                    "oauth2 request --room ops --from-participant-id {} {provider_flags} --redirect-uri {CALLBACK}",
                    uuid::Uuid::new_v4()
                ),
            )
            .await,
            "is not connected to this room",
        );

        // The CLI asks; Pat's side consents at the provider and answers on the room channel.
        let line = format!(
            "oauth2 request --room ops --as deploy-bot --from-participant-id {pat_id} {provider_flags} --redirect-uri {CALLBACK} --timeout 60"
        );
        let consent = async {
            let prompt = loop {
                let f = frame(&mut ws).await;
                if f["type"] == "secrets.request_oauth_token" {
                    break f["body"].clone();
                }
            };
            assert_eq!(prompt["requested_by"]["name"], "deploy-bot");
            let (code, iss) = provider.consent(&prompt).await;
            let provide = json!({
                "id": 1,
                "type": "secrets.provide_oauth_authorization",
                "body": { "request_id": prompt["request_id"], "code": code, "iss": iss },
            });
            ws.send(Message::Text(provide.to_string().into())).await.expect("sent");
        };
        let (asked, ()) = tokio::join!(gh.run_as(&key, &line), consent);
        let printed = asked.expect("oauth2 request");
        let token = printed.trim().to_owned();
        assert!(provider.active(&token).await, "the provider accepts {token}");

        let get = format!("oauth2 get --room ops --as deploy-bot {provider_flags} --delegated-by pat");
        assert_eq!(gh.run_as(&key, &get).await.expect("get").trim(), token);
        let listed = gh.json_as(&key, "oauth2 list --room ops --as deploy-bot").await;
        let secrets = listed["secrets"].as_array().expect("a list");
        assert_eq!(secrets.len(), 1, "{listed}");
        assert_eq!(
            (&secrets[0]["owner"], &secrets[0]["delegated_to"]),
            (&json!("pat"), &json!("deploy-bot"))
        );
        let table = gh
            .run_as(&key, "oauth2 list --room ops --as deploy-bot")
            .await
            .expect("list");
        assert!(table.contains("deploy-bot") && !table.contains(&token), "{table}");
        let id = str_of(&secrets[0], "id");
        assert_fails_with(
            gh.run_as(&key, &format!("oauth2 delete --room ops --id {id}")).await,
            "secret not found",
        );
        gh.run_as(&key, &format!("oauth2 delete --room ops --as deploy-bot --id {id}"))
            .await
            .expect("delete");
        assert!(!provider.active(&token).await, "deleting revoked it at the provider");
        gh.stop().await;
    }
    provider.s.stop().await;
}
