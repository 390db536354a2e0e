//! SPEC §7 end to end with real parts: a Gatehouse as the broker (SQLite, port 0), a second
//! Gatehouse as the third-party provider, the example app joined to a room of the broker as
//! alice, and an agent asking for alice's token over REST. A form-following browser answers on
//! the app's page and signs in at the provider, as alice would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::time::SystemClock;
use gatehouse_testkit::upstream::SCOPES;
use gatehouse_testkit::{Backend, Browser, Page, Provider, TestServer};
use reqwest::Method;
use room_consent::Settings;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const ROOM: &str = "demo";
const EMAIL: &str = "alice@provider.example";
const PASSWORD: &str = "correct horse battery staple";

/// A broker node that may call upstream providers over plain http (the loopback provider).
fn insecure(config: &mut gatehouse_server::Config) {
    config.allow_insecure_upstreams = true;
}

/// Both servers, the app serving on a loopback port as alice, and an agent in the same room.
struct Scene {
    broker: TestServer,
    provider: Provider,
    app_url: String,
    agent: String,
    alice_id: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Scene {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let app_url = format!("http://{}", listener.local_addr().expect("addr"));
        // The provider: alice's account there, and a client whose redirect URI is the app's callback.
        let callback = format!("{app_url}/callback");
        let (provider, broker) = tokio::join!(
            Provider::start(Arc::new(SystemClock), &callback, EMAIL, PASSWORD),
            TestServer::spawn_fresh(Backend::Sqlite, insecure)
        );
        let text = |v: &Value| v.as_str().expect("a string").to_owned();

        // The broker: a project and its API key, which the app mints alice's tokens with.
        let (project, key) = broker.project("Consent").await;

        let (router, connection) = room_consent::start(Settings {
            gatehouse_url: broker.base.clone(),
            project_id: project.parse().expect("a project id"),
            api_key: key.clone(),
            room: ROOM.into(),
            identity: "alice".into(),
            public_url: app_url.clone(),
        })
        .await
        .expect("the app joins the room");
        let serving = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        // The agent: a participant token with the `secrets` grant, and alice's participant id.
        let mint = json!({ "name": "agent", "room_name": ROOM, "role": "agent", "api": { "secrets": {} } });
        let (status, token) = broker
            .call_as(
                &key,
                Method::POST,
                &format!("/accounts/projects/{project}/participant-tokens"),
                Some(mint),
            )
            .await;
        assert_eq!(status, 200, "{token}");
        let agent = text(&token["token"]);
        let (status, list) = broker
            .call_as(&agent, Method::GET, &format!("/rooms/{ROOM}/participants"), None)
            .await;
        assert_eq!(status, 200, "{list}");
        let alice = list
            .as_array()
            .expect("a list")
            .iter()
            .find(|p| p["name"] == "alice")
            .unwrap_or_else(|| panic!("alice is in the room: {list}"));
        assert_eq!(alice["role"], "user");
        Self {
            alice_id: text(&alice["participant_id"]),
            broker,
            provider,
            app_url,
            agent,
            tasks: vec![connection, serving],
        }
    }

    /// The agent asks for alice's token at the provider over REST, in a task of its own (the
    /// call returns when alice has answered); its status and body.
    fn ask(&self) -> JoinHandle<(u16, Value)> {
        let body = json!({
            "oauth": self.provider.oauth(),
            "redirect_uri": format!("{}/callback", self.app_url),
            "participant_id": self.alice_id,
            "timeout": 60,
        });
        let request = self
            .broker
            .http
            .post(format!("{}/rooms/{ROOM}/secrets/request_oauth_token", self.broker.base))
            .bearer_auth(&self.agent)
            .json(&body);
        tokio::spawn(async move {
            let response = request.send().await.expect("the broker answers");
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    }

    /// Alice's participant id, as the room lists her.
    async fn alice(&self) -> Option<String> {
        let (status, list) = self
            .broker
            .call_as(&self.agent, Method::GET, &format!("/rooms/{ROOM}/participants"), None)
            .await;
        assert_eq!(status, 200, "{list}");
        list.as_array()?
            .iter()
            .find(|p| p["name"] == "alice")
            .and_then(|p| p["participant_id"].as_str())
            .map(str::to_owned)
    }

    /// The app's list, once it shows an Allow link (within 10 s).
    async fn prompt_page(&self, browser: &Browser) -> Page {
        let started = Instant::now();
        loop {
            let page = browser.get("/").await;
            assert_eq!(page.status, 200, "{}", page.body);
            if page.body.contains("/allow?") {
                return page;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no prompt on the page: {}",
                page.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        tokio::join!(self.broker.stop(), self.provider.s.stop());
    }
}

/// The agent's answer, within 30 s: status and body.
async fn answered(asked: JoinHandle<(u16, Value)>) -> (u16, Value) {
    tokio::time::timeout(Duration::from_secs(30), asked)
        .await
        .expect("the agent is answered")
        .expect("the task")
}

/// The page's Allow link: `/prompts/{n}/allow?csrf=…`.
fn allow_link(page: &Page) -> String {
    let start = page.body.find("href=\"/prompts/").expect("an Allow link") + "href=\"".len();
    let end = start + page.body[start..].find('"').expect("the link ends");
    page.body[start..end].replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_allows_on_the_page_and_the_agent_gets_a_working_token() {
    let scene = Scene::start().await;
    let asked = scene.ask();
    let app = Browser::new(&scene.app_url);
    let page = scene.prompt_page(&app).await;
    let provider_host = scene.provider.s.base.trim_start_matches("http://");
    for shown in [
        "agent",
        provider_host,
        scene.provider.client_id.as_str(),
        "offline_access",
    ] {
        assert!(page.body.contains(shown), "{shown} missing from {}", page.body);
    }
    assert!(
        page.body.contains("http-equiv=\"refresh\""),
        "new prompts show up by themselves"
    );

    // A link without the page's CSRF token goes nowhere.
    let link = allow_link(&page);
    let forged = app.get(link.split('?').next().expect("a path")).await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // Allow: off to the provider with the prompt's state and PKCE challenge.
    let to_provider = app.get(&link).await;
    assert_eq!(to_provider.status, 303, "{}", to_provider.body);
    let authorize = to_provider.location.clone().expect("a redirect to the provider");
    assert!(
        authorize.starts_with(&format!("{}/oauth/authorize?", scene.provider.s.base)),
        "{authorize}"
    );
    let params: std::collections::BTreeMap<String, String> = url::Url::parse(&authorize)
        .expect("a URL")
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["scope"], SCOPES.join(" "));
    assert_eq!(params["redirect_uri"], format!("{}/callback", scene.app_url));
    assert!(!params["code_challenge"].is_empty() && !params["state"].is_empty());

    // Alice signs in at the provider and allows; the provider sends her back to the app.
    let back = Browser::new(&scene.provider.s.base)
        .authorize(&authorize, EMAIL, PASSWORD)
        .await;
    let callback = back.location.clone().expect("a redirect back to the app");
    assert!(
        callback.starts_with(&format!("{}/callback?", scene.app_url)),
        "{callback}"
    );
    let done = app.get(&callback).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Access allowed"), "{}", done.body);

    // The agent's call returns with a token the provider knows.
    let (status, token) = answered(asked).await;
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"].as_str().expect("an access token");
    assert!(scene.provider.active(access).await, "the provider knows the token");
    assert_eq!(token["scopes"], json!(SCOPES));

    // The prompt was answered once: it is off the list, and the callback cannot be replayed.
    let replay = app.get(&callback).await;
    assert_eq!(replay.status, 404, "{}", replay.body);
    let after = app.get("/").await;
    assert!(after.body.contains("No requests are waiting"), "{}", after.body);
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_on_the_page_or_at_the_provider_reaches_the_agent() {
    let scene = Scene::start().await;
    let app = Browser::new(&scene.app_url);

    // Rejected on the app's page.
    let asked = scene.ask();
    let page = scene.prompt_page(&app).await;
    let form = page
        .forms()
        .into_iter()
        .find(|f| f.action.ends_with("/reject"))
        .expect("a Reject form");
    assert_eq!(form.method, "post");
    let forged = app.post(&form.action, &[("csrf".into(), "guess".into())]).await;
    assert_eq!(forged.status, 403, "a form without the page's token changes nothing");
    let done = app.submit(&form, &[], Some(("decision", "reject"))).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Request rejected"), "{}", done.body);
    let (status, answer) = answered(asked).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("rejected")), "{answer}");

    // Declined at the provider: its `error=access_denied` comes back to the app as a rejection.
    let asked = scene.ask();
    let page = scene.prompt_page(&app).await;
    let to_provider = app.get(&allow_link(&page)).await;
    let authorize = to_provider.location.clone().expect("a redirect to the provider");
    let provider = Browser::new(&scene.provider.s.base);
    let sign_in = provider.follow(provider.get(&authorize).await).await;
    let consent = provider
        .follow(
            provider
                .submit(&sign_in.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
                .await,
        )
        .await;
    assert_eq!(consent.form().action, "/consent", "{}", consent.body);
    let declined = provider.submit(&consent.form(), &[], Some(("decision", "deny"))).await;
    assert_eq!(declined.redirect_params()["error"], "access_denied");
    let callback = declined.location.clone().expect("a redirect back to the app");
    let done = app.get(&callback).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Request rejected"), "{}", done.body);
    let (status, answer) = answered(asked).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("rejected")), "{answer}");
    assert!(
        answer["message"].as_str().is_some_and(|m| m.contains("access_denied")),
        "{answer}"
    );
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_joins_again_when_gatehouse_restarts_and_answers_on_the_new_connection() {
    let mut scene = Scene::start().await;
    let before = scene.alice_id.clone();
    scene.broker.pause().await;
    scene.broker.resume_tuned(insecure, Arc::new(SystemClock)).await;

    // The app mints a new token and joins again (its first attempt comes a second later).
    let started = Instant::now();
    let again = loop {
        if let Some(id) = scene.alice().await {
            break id;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "alice did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(again, before, "a new connection is a new participant");
    scene.alice_id = again;

    let asked = scene.ask();
    let app = Browser::new(&scene.app_url);
    let page = scene.prompt_page(&app).await;
    let form = page.forms().into_iter().next().expect("a Reject form");
    let done = app.submit(&form, &[], Some(("decision", "reject"))).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let (status, answer) = answered(asked).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("rejected")), "{answer}");
    scene.stop().await;
}
