//! `oauth2 …` against a real broker and a real provider (a second Gatehouse): the command asks a
//! participant connected to the room for consent, the participant's side signs in through the
//! provider's forms and answers, and the token printed is one the provider accepts.

use futures::{SinkExt as _, StreamExt as _};
use gatehouse_client::types::{ClientInput, CreateParticipantToken, CreateUser};
use gatehouse_client::{Client, Credential};
use gatehouse_testkit::Browser;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::nodes::{bearer, post_form};
use super::{Backend, Gatehouse, assert_fails_with, backends, parse, str_of};

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

async fn active(provider: &Gatehouse, token: &str) -> bool {
    let (url, key, token) = (provider.url.clone(), provider.admin_key.clone(), token.to_owned());
    let answer =
        tokio::task::spawn_blocking(move || post_form(&url, "/oauth/introspect", &bearer(&key), &[("token", &token)]))
            .await
            .expect("introspection");
    answer.json()["active"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_request_get_list_and_delete_from_the_cli() {
    let provider = Gatehouse::start(&Backend::Sqlite).await;
    let admin = Client::new(&provider.url, Some(Credential::new(provider.admin_key.clone()))).expect("client");
    let user = CreateUser {
        email: EMAIL.into(),
        name: "Pat".into(),
        password: PASSWORD.into(),
    };
    admin.create_user(&user).await.expect("user");
    let input = ClientInput {
        name: Some("Room consent".into()),
        redirect_uris: Some(vec![CALLBACK.into()]),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        scope: Some("openid email offline_access".into()),
        ..Default::default()
    };
    let created = admin
        .create_client(provider.system_project.parse().expect("uuid"), &input)
        .await
        .expect("client");
    let (client_id, secret) = (
        created.client.client.client_id.clone(),
        created.client.client_secret.clone().expect("a secret").into_secret(),
    );
    let p = &provider.url;
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
        let backend_client = Client::new(&gh.url, Some(Credential::new(key.clone()))).expect("client");
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
        let mut req = format!("{}/rooms/ops", gh.url.replacen("http", "ws", 1))
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
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("response_type", "code"),
                    ("client_id", client_id.as_str()),
                    ("redirect_uri", CALLBACK),
                    ("scope", "openid email offline_access"),
                    ("state", str_of(&prompt, "state")),
                    ("code_challenge", str_of(&prompt, "challenge")),
                    ("code_challenge_method", "S256"),
                ])
                .finish();
            let page = Browser::new(&provider.url)
                .authorize(&format!("{p}/oauth/authorize?{query}"), EMAIL, PASSWORD)
                .await;
            let redirect = page.redirect_params();
            let provide = json!({
                "id": 1,
                "type": "secrets.provide_oauth_authorization",
                "body": { "request_id": prompt["request_id"], "code": redirect["code"], "iss": redirect["iss"] },
            });
            ws.send(Message::Text(provide.to_string().into())).await.expect("sent");
        };
        let (asked, ()) = tokio::join!(gh.run_as(&key, &line), consent);
        let printed = asked.expect("oauth2 request");
        let token = printed.trim().to_owned();
        assert!(active(&provider, &token).await, "the provider accepts {token}");

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
        assert!(!active(&provider, &token).await, "deleting revoked it at the provider");
        gh.stop().await;
    }
    provider.stop().await;
}
