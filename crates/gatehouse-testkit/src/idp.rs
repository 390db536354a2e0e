//! A second Gatehouse as an upstream OpenID Connect identity provider ("Continue with …"), behind
//! a small real HTTP proxy on its issuer URL. The proxy passes every request through (discovery,
//! the sign-in and consent pages, the code exchange with its PKCE check) and re-signs the ID token
//! of each code exchange with its own key, published as the provider's JWKS, so that a test can
//! make the provider answer as it needs: `email_verified` true (the provider's people are accounts its
//! admin made, whose addresses Gatehouse has not verified), or a wrong `iss` or `nonce`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gatehouse_core::jose::{SigningAlg, SigningKey, unverified_payload};
use serde_json::{Map, Value, json};

use crate::{Backend, Browser, TestServer};

/// How the proxy changes the ID token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claims {
    /// `email_verified` true.
    Verified,
    /// As the provider made them (`email_verified` false for its admin-made accounts).
    Unverified,
    /// `email_verified` true and this `iss`.
    Issuer(String),
    /// `email_verified` true and this `nonce`.
    Nonce(String),
}

struct Proxy {
    target: String,
    key: SigningKey,
    claims: Mutex<Claims>,
    http: reqwest::Client,
    /// Every token of the provider's token answers, as sent on.
    seen: Mutex<Vec<String>>,
}

/// The running provider and its proxy.
pub struct OidcIdp {
    /// The issuer: the proxy's `http://127.0.0.1:PORT`.
    pub issuer: String,
    pub s: TestServer,
    pub client_id: String,
    pub secret: String,
    /// The provider's ids of the people `start` was given: their ID tokens' `sub`.
    pub user_ids: Vec<String>,
    proxy: Arc<Proxy>,
    task: tokio::task::JoinHandle<()>,
}

impl OidcIdp {
    /// A provider on SQLite with the people `users` (email, password) and a client whose
    /// redirect URI is set by [`OidcIdp::redirect_to`].
    pub async fn start(users: &[(&str, &str)]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let s = TestServer::spawn_fresh(Backend::Sqlite, |c| c.issuer = Some(issuer.clone())).await;
        let mut user_ids = Vec::new();
        for (email, password) in users {
            user_ids.push(s.user(email, password).await);
        }
        let settings = json!({
            "name": "Upstream sign-in",
            "redirect_uris": ["https://gatehouse.invalid/callback"],
            "grant_types": ["authorization_code"],
            "scope": "openid email profile",
        });
        let (client_id, secret) = s.client(&s.admin_key, &s.system_project, settings).await;
        let (key, _) = SigningKey::generate("proxy-1".into(), SigningAlg::Es256).unwrap();
        let proxy = Arc::new(Proxy {
            target: s.base.clone(),
            key,
            claims: Mutex::new(Claims::Verified),
            seen: Mutex::default(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        });
        let app = Router::new()
            .route("/oauth/jwks", axum::routing::get(jwks))
            .fallback(pass)
            .with_state(proxy.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            issuer,
            s,
            client_id,
            secret: secret.expect("a confidential client"),
            user_ids,
            proxy,
            task,
        }
    }

    /// Registers `callback` as the client's redirect URI (the server signing in through this
    /// provider starts after it).
    pub async fn redirect_to(&self, callback: &str) {
        let path = format!(
            "/accounts/projects/{}/oauth/clients/{}",
            self.s.system_project, self.client_id
        );
        let body = json!({"redirect_uris": [callback]});
        let (st, c) = self
            .s
            .call_as(&self.s.admin_key, reqwest::Method::PUT, &path, Some(body))
            .await;
        assert_eq!(st, 200, "{c}");
    }

    /// Changes how later ID tokens are rewritten.
    pub fn answer_with(&self, claims: Claims) {
        *self.proxy.claims.lock().unwrap() = claims;
    }

    /// The access and ID tokens the provider handed out so far.
    pub fn tokens(&self) -> Vec<String> {
        self.proxy.seen.lock().unwrap().clone()
    }

    /// A browser at the provider.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer)
    }

    /// Stops the proxy and the provider.
    pub async fn stop(self) {
        self.task.abort();
        self.s.stop().await;
    }
}

async fn jwks(State(p): State<Arc<Proxy>>) -> Response {
    axum::Json(json!({"keys": [p.key.public_key().jwk()]})).into_response()
}

/// Passes a request to the provider; re-signs the ID token of a token answer.
async fn pass(State(p): State<Arc<Proxy>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut req = p.http.request(method, format!("{}{path}", p.target)).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            req = req.header(name, value);
        }
    }
    let res = req.send().await.unwrap();
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    let mut out_headers = HeaderMap::new();
    for (name, value) in res.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out_headers.append(name, value.clone());
        }
    }
    let mut body = res.bytes().await.unwrap().to_vec();
    if uri.path() == "/oauth/token" && status.is_success() {
        let mut answer: Value = serde_json::from_slice(&body).unwrap();
        if let Some(token) = answer.get("id_token").and_then(Value::as_str) {
            let claims: Map<String, Value> = serde_json::from_slice(&unverified_payload(token).unwrap()).unwrap();
            answer["id_token"] = p.resign(claims).into();
            body = serde_json::to_vec(&answer).unwrap();
        }
        let mut seen = p.seen.lock().unwrap();
        for k in ["access_token", "id_token"] {
            seen.extend(answer[k].as_str().map(str::to_owned));
        }
    }
    (status, out_headers, Body::from(body)).into_response()
}

impl Proxy {
    fn resign(&self, mut claims: Map<String, Value>) -> String {
        let mode = self.claims.lock().unwrap().clone();
        let verified = mode != Claims::Unverified;
        claims.insert("email_verified".into(), verified.into());
        match mode {
            Claims::Issuer(iss) => drop(claims.insert("iss".into(), iss.into())),
            Claims::Nonce(nonce) => drop(claims.insert("nonce".into(), nonce.into())),
            Claims::Verified | Claims::Unverified => {}
        }
        self.key.sign("JWT", &claims).unwrap()
    }
}
