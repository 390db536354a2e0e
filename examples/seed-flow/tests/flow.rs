//! SPEC §5.5 end to end: a real Gatehouse (SQLite, port 0), a project client, an API key and a
//! user made through the REST API, the example app on port 0, and a form-following browser going
//! `/login` → Gatehouse sign-in and consent → `/callback`, whose participant token Gatehouse
//! then validates.

use gatehouse_client::types::{ClientInput, CreateApiKey, CreateUser, ProjectInput};
use gatehouse_client::{Client, Credential};
use gatehouse_testkit::{Backend, Browser, TestServer};
use seed_flow::Settings;
use serde_json::Value;

/// A running Gatehouse on a fresh SQLite database, and a REST client with its admin key.
struct Gatehouse {
    s: TestServer,
    admin: Client,
}

impl Gatehouse {
    async fn start() -> Self {
        let s = TestServer::spawn(Backend::Sqlite).await;
        let admin = Client::new(&s.base, Some(Credential::new(&s.admin_key))).expect("client");
        Self { s, admin }
    }

    async fn stop(self) {
        self.s.stop().await;
    }
}

/// What the app is configured with at Gatehouse.
struct Registration<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    project_id: uuid::Uuid,
    api_key: &'a str,
}

/// Serves the example app on a loopback port; returns its base URL.
async fn serve_app(gh: &Gatehouse, registration: Registration<'_>, listener: tokio::net::TcpListener) -> String {
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = seed_flow::app(Settings {
        issuer: gh.s.base.clone(),
        client_id: registration.client_id.into(),
        client_secret: registration.client_secret.into(),
        public_url: public_url.clone(),
        project_id: registration.project_id,
        api_key: registration.api_key.into(),
    })
    .await
    .expect("the app discovers Gatehouse");
    tokio::spawn(async move { axum::serve(listener, app).await });
    public_url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_through_gatehouse_and_gets_a_token_for_the_room_of_their_domain() {
    let gh = Gatehouse::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let app_url = format!("http://{}", listener.local_addr().expect("addr"));

    let project = gh
        .admin
        .create_project(&ProjectInput { name: "Acme".into() })
        .await
        .expect("project");
    let input = ClientInput {
        name: Some("Seed flow example".into()),
        redirect_uris: Some(vec![format!("{app_url}/callback")]),
        scope: Some("openid profile email".into()),
        ..ClientInput::default()
    };
    let created = gh.admin.create_client(project.id, &input).await.expect("client");
    let secret = created
        .client
        .client_secret
        .clone()
        .expect("a confidential client has a secret")
        .into_secret();
    let (email, password) = ("dana@acme.example", "correct horse battery staple");
    let user = gh
        .admin
        .create_user(&CreateUser {
            email: email.into(),
            name: "Dana".into(),
            password: password.into(),
        })
        .await
        .expect("user");

    let key = gh
        .admin
        .create_api_key(
            project.id,
            &CreateApiKey {
                name: "Seed flow example".into(),
                description: String::new(),
            },
        )
        .await
        .expect("API key");

    let registration = Registration {
        client_id: &created.client.client.client_id,
        client_secret: &secret,
        project_id: project.id,
        api_key: key.value.expose_secret(),
    };
    let app_url = serve_app(&gh, registration, listener).await;
    let browser = Browser::new(&gh.s.base);
    let start = browser.get(&format!("{app_url}/login")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location.clone().expect("a redirect to Gatehouse");
    assert!(
        authorize.starts_with(&format!("{}/oauth/authorize?", gh.s.base)),
        "{authorize}"
    );
    for part in ["code_challenge_method=S256", "response_type=code", "nonce=", "state="] {
        assert!(authorize.contains(part), "{part} missing from {authorize}");
    }

    let back = browser.authorize(&authorize, email, password).await;
    let callback = back.location.clone().expect("a redirect back to the app");
    assert!(callback.starts_with(&format!("{app_url}/callback?")), "{callback}");
    let answer = browser.get(&callback).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let decision: Value = serde_json::from_str(&answer.body).expect("JSON");
    assert_eq!(decision["sub"], user.id.to_string());
    assert_eq!(decision["email"], email);
    assert_eq!(decision["room"], "acme-example");
    assert_eq!(decision["allowed"], true);
    let room_url = format!("{}/rooms/acme-example", gh.s.base.replacen("http", "ws", 1));
    assert_eq!(decision["room_url"], room_url.as_str());

    // The participant token is Gatehouse's: it validates, names the user and grants the room.
    let token = decision["token"].as_str().expect("a participant token");
    let validated = reqwest::Client::new()
        .post(format!("{}/api/participant-token/validate", gh.s.base))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .expect("Gatehouse answers");
    assert_eq!(validated.status(), 200);
    let claims: Value = validated.json().await.expect("claims");
    assert_eq!(claims["name"], email);
    assert_eq!(claims["sub"], project.id.to_string());
    let grants = claims["grants"].as_array().expect("grants");
    for (kind, scope) in [("room", "acme-example"), ("role", "user")] {
        assert!(
            grants.iter().any(|g| g["name"] == kind && g["scope"] == scope),
            "no {kind} grant {scope} in {claims}"
        );
    }

    // The state is single use: replaying the callback is refused.
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    gh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_the_browsers_state_cookie_is_refused() {
    let gh = Gatehouse::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let unused = Registration {
        client_id: "unused",
        client_secret: "unused",
        project_id: uuid::Uuid::nil(),
        api_key: "unused",
    };
    let app_url = serve_app(&gh, unused, listener).await;
    let started = Browser::new(&gh.s.base).get(&format!("{app_url}/login")).await;
    let authorize = url::Url::parse(started.location.as_deref().expect("redirect")).expect("url");
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    // Another browser (an attacker's link) presents the state without its cookie.
    let other = Browser::new(&gh.s.base);
    let page = other.get(&format!("{app_url}/callback?code=x&state={state}")).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("does not belong to this browser"), "{}", page.body);
    gh.stop().await;
}
