//! `room …` and `token -i spec.yaml` against the real server: rooms and grants managed with an API
//! key, `room connect` as a signed-in user, and participant tokens signed locally.

use gatehouse_client::types::AddMember;
use gatehouse_client::{Client, Credential};

use super::{Gatehouse, assert_fails_with, parse, str_of};

const EMAIL: &str = "rita@example.com";
const PASSWORD: &str = "correct horse battery staple";

impl Gatehouse {
    /// Verifies a participant token on the server: its claims, or the refusal.
    async fn claims_of(&self, token: &str) -> gatehouse_core::Result<serde_json::Value> {
        let gh = self.gatehouse();
        let verified = gh.validate_participant_token(token).await?;
        Ok(serde_json::from_slice(&verified.payload).expect("a JSON object"))
    }
}

e2e_test!(rooms_grants_and_connect_from_the_cli, |gh| {
    let (_, key) = gh.project_with_key("Rooms").await;
    let room = gh
        .json_as(&key, r#"room create lobby --metadata '{"topic":"hi"}'"#)
        .await;
    assert_eq!(
        (room["name"].as_str(), &room["metadata"]),
        (Some("lobby"), &serde_json::json!({ "topic": "hi" }))
    );
    assert_fails_with(gh.run_as(&key, "room create lobby").await, "already exists");
    assert_fails_with(
        gh.run_as(&key, "room create lobby --metadata '[1]'").await,
        "--metadata must be a JSON object",
    );
    assert_eq!(gh.json_as(&key, "room create lobby --if-not-exists").await, room);
    let listed = gh.run_as(&key, "room list").await.expect("room list");
    assert!(
        listed.contains("lobby") && listed.contains(r#"{"topic":"hi"}"#),
        "{listed}"
    );

    gh.user(EMAIL, PASSWORD).await;
    let project = gh.json("project get").await;
    let admin = Client::new(&gh.base, Some(Credential::new(gh.admin_key.clone()))).expect("client");
    let member = AddMember {
        email: Some(EMAIL.into()),
        ..Default::default()
    };
    let project_id = str_of(&project, "id").parse().expect("uuid");
    let gatehouse_client::types::Added::Member(added) =
        admin.add_member(project_id, &member).await.expect("member added")
    else {
        panic!("a server admin adds an existing account at once");
    };
    let preset = gh
        .json_as(
            &key,
            &format!("room grant lobby --email {EMAIL} --permissions user_default"),
        )
        .await;
    assert!(preset["permissions"]["secrets"].is_object(), "{preset}");
    // Granting again replaces the preset.
    let grant = gh
        .json_as(
            &key,
            &format!(r#"room grant lobby --email {EMAIL} --permissions '{{"messaging":{{}}}}'"#),
        )
        .await;
    assert_eq!(grant["permissions"], serde_json::json!({ "messaging": {} }));
    let grants = gh.json_as(&key, "room grants --room lobby").await;
    assert_eq!(grants["total"], 1);
    assert_fails_with(
        gh.run_as(&key, &format!("room grant nowhere --email {EMAIL}")).await,
        "room not found",
    );

    // The user signs in and connects as themselves.
    let (_, outcome) = gh.login_answered(EMAIL, PASSWORD, "allow").await;
    outcome.expect("signed in");
    let connection = parse(&gh.run_signed_in("-o json room connect lobby").await.expect("connect"));
    assert_eq!(
        connection["room_url"],
        format!("{}/rooms/lobby", gh.base.replacen("http", "ws", 1))
    );
    let claims = gh.claims_of(str_of(&connection, "jwt")).await.expect("a valid token");
    assert_eq!(claims["name"], EMAIL);
    assert_fails_with(gh.run_signed_in("room connect elsewhere").await, "room grant not found");

    let user_id = added.user_id;
    gh.run_as(&key, &format!("room revoke lobby {user_id}"))
        .await
        .expect("revoke");
    assert_fails_with(gh.run_signed_in("room connect lobby").await, "room grant not found");
    gh.run_as(&key, "room delete lobby").await.expect("delete");
    assert_eq!(gh.json_as(&key, "room list").await["total"], 0);
});

e2e_test!(token_signs_a_spec_locally_with_the_api_key, |gh| {
    let (kid, key) = gh.project_with_key("Tokens").await;
    let spec = gh.file("agent.yaml");
    std::fs::write(
        &spec,
        "version: v1\nkind: ParticipantToken\nidentity: agent-7\nroom: lobby\nrole: agent\napi:\n  secrets:\n    request_oauth_token:\n      - endpoint: https://accounts.example.com/*\n        client_id: abc\n  messaging: {}\n",
    )
    .unwrap();
    let token = gh
        .run_as(&key, &format!("token -i {spec} --ttl 120"))
        .await
        .expect("token");
    let claims = gh.claims_of(token.trim()).await.expect("the server accepts it");
    assert_eq!(
        (claims["name"].as_str(), claims["kid"].as_str()),
        (Some("agent-7"), Some(kid.as_str()))
    );
    assert_eq!(
        claims["grants"],
        serde_json::json!([
            { "name": "room", "scope": "lobby" },
            { "name": "role", "scope": "agent" },
            { "name": "api", "scope": { "secrets": { "request_oauth_token": [{ "endpoint": "https://accounts.example.com/*", "client_id": "abc" }] }, "messaging": {} } },
        ])
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now + 110..=now + 130).contains(&claims["exp"].as_i64().unwrap()),
        "{claims}"
    );
    // Signed locally: no server is needed.
    let offline = super::run_cli(vec![
        "gatehouse".into(),
        "--server=http://127.0.0.1:9".into(),
        format!("--api-key={key}"),
        "token".into(),
        "-i".into(),
        spec.clone(),
    ])
    .await
    .expect("minted without the server");
    assert!(gh.claims_of(offline.trim()).await.is_ok());
    // Bad specs and lifetimes are refused before anything is signed.
    std::fs::write(
        &spec,
        "version: v1\nkind: ParticipantToken\nidentity: a\nrole: wizard\n",
    )
    .unwrap();
    assert_fails_with(gh.run_as(&key, &format!("token -i {spec}")).await, "role");
    std::fs::write(&spec, "version: v1\nkind: Other\nidentity: a\n").unwrap();
    assert_fails_with(
        gh.run_as(&key, &format!("token -i {spec}")).await,
        "kind: ParticipantToken",
    );
    std::fs::write(&spec, "version: v1\nkind: ParticipantToken\nidentity: a\n").unwrap();
    assert_fails_with(
        gh.run_as(&key, &format!("token -i {spec} --ttl 0")).await,
        "ttl_seconds",
    );
});
