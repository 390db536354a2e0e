//! The outbound policy (SPEC §9.6) at the broker: a provider endpoint on a loopback, private,
//! link-local or IPv4-mapped address, named by IP literal, as `localhost`, or by a host name that
//! resolves there, is refused with a 400 when an operation or a registration names it, and no
//! connection is attempted; the allow-list lets the hosts and networks it names through.
//!
//! Local listeners stand in for internal services and count the connections they see. The host
//! name is resolved through the server's fixed overrides, which pass the same policy as DNS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse_server::Config;
use reqwest::Method;
use serde_json::{Value, json};

use super::{CALLBACK, ROOM, Scene, ask, participant, rest, scene};
use crate::rooms::{call, event};
use crate::{TestServer, backends};

/// A host name that resolves to 127.0.0.1 on the servers of these tests.
const INTERNAL: &str = "idp.internal.test";

/// A TCP listener that counts the connections it accepts (and closes them at once).
struct Listener {
    addr: SocketAddr,
    seen: Arc<AtomicUsize>,
}

impl Listener {
    async fn on(ip: IpAddr) -> Self {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Self { addr, seen }
    }

    fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

/// Internal token endpoints, each with the class of address the refusal names and the listener
/// it would reach, if any.
fn internal_endpoints<'a>(v4: &'a Listener, v6: &'a Listener) -> Vec<(String, &'static str, Option<&'a Listener>)> {
    let (p4, p6) = (v4.addr.port(), v6.addr.port());
    vec![
        (format!("https://127.0.0.1:{p4}/token"), "loopback", Some(v4)),
        ("https://10.0.0.1/token".into(), "private", None),
        (format!("https://[::1]:{p6}/token"), "loopback", Some(v6)),
        ("https://169.254.169.254/token".into(), "link-local", None),
        (format!("https://{INTERNAL}:{p4}/token"), "loopback", Some(v4)),
        (
            format!("https://[::ffff:127.0.0.1]:{p4}/token"),
            "IPv4-mapped",
            Some(v4),
        ),
        (format!("https://localhost:{p4}/token"), "loopback host", Some(v4)),
    ]
}

/// A provider whose token endpoint is `token_endpoint`.
fn oauth(token_endpoint: &str) -> Value {
    json!({
        "client_id": "c",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": token_endpoint,
    })
}

fn ask_alice(sc: &Scene, token_endpoint: &str) -> Value {
    json!({ "oauth": oauth(token_endpoint), "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "timeout": 30 })
}

/// The registrations path of the project, or of [`ROOM`].
fn registrations(sc: &Scene, room: Option<&str>) -> String {
    match room {
        Some(r) => format!("/accounts/projects/{}/rooms/{r}/external-oauth", sc.project),
        None => format!("/accounts/projects/{}/external-oauth", sc.project),
    }
}

/// A registration of the provider whose token endpoint is `token_endpoint`.
fn registration(token_endpoint: &str) -> Value {
    let mut provider = oauth(token_endpoint);
    let client_id = provider.as_object_mut().and_then(|o| o.remove("client_id"));
    json!({ "name": "Internal", "oauth": provider, "client_id": client_id, "redirect_uris": [CALLBACK] })
}

/// Registers the provider at project scope, or in [`ROOM`].
async fn register(s: &TestServer, sc: &Scene, room: Option<&str>, token_endpoint: &str) -> (u16, Value) {
    let body = registration(token_endpoint);
    s.call_as(&sc.key, Method::POST, &registrations(sc, room), Some(body))
        .await
}

/// Servers of these tests: no insecure upstreams, [`INTERNAL`] at 127.0.0.1, and `allow`.
fn outbound(allow: &[&str]) -> impl FnOnce(&mut Config) {
    let allow: Vec<String> = allow.iter().map(|a| a.to_string()).collect();
    move |c| {
        c.upstream_timeout_secs = 2;
        c.outbound_allow = allow;
        c.resolve_overrides
            .insert(INTERNAL.into(), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }
}

/// Asserts a REST answer is a 400 whose message names `field` and the `class` of address.
fn refused_naming(st: u16, v: &Value, field: &str, class: &str, what: &str) {
    assert_eq!(st, 400, "{what}: {v}");
    refused_error(v, field, class, what);
}

/// Asserts an error body (REST, or a room channel answer's `error`) is `invalid_request` naming
/// `field` and the `class` of address.
fn refused_error(error: &Value, field: &str, class: &str, what: &str) {
    let code = error.get("error").or_else(|| error.get("code"));
    assert_eq!(code.and_then(Value::as_str), Some("invalid_request"), "{what}: {error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(field) && message.contains(class), "{what}: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_endpoints_are_refused_with_a_400_before_any_connection() {
    let v4 = Listener::on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let v6 = Listener::on(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, outbound(&[])).await;
        let mut sc = scene(&s).await;
        let mut public = Vec::new();
        for room in [None, Some(ROOM)] {
            let (st, v) = register(&s, &sc, room, "https://idp.example/token").await;
            assert_eq!(st, 201, "{v}");
            public.push(format!("{}/{}", registrations(&sc, room), v["id"].as_str().unwrap()));
        }
        for (i, (endpoint, class, _)) in internal_endpoints(&v4, &v6).into_iter().enumerate() {
            let field = "oauth.token_endpoint";
            let (st, v) = rest(&s, &sc.agent, "request_oauth_token", ask_alice(&sc, &endpoint)).await;
            refused_naming(st, &v, field, class, &format!("request_oauth_token {endpoint}"));
            let offline = json!({ "oauth": oauth(&endpoint) });
            let (st, v) = rest(&s, &sc.agent, "get_offline_oauth_token", offline).await;
            if endpoint.contains(INTERNAL) {
                // A name is judged when it is resolved: an offline get calls nothing until a
                // stored credential needs a refresh.
                assert_eq!((st, &v["access_token"]), (200, &Value::Null), "{endpoint}: {v}");
            } else {
                refused_naming(st, &v, field, class, &format!("get_offline_oauth_token {endpoint}"));
            }
            let body = ask_alice(&sc, &endpoint);
            let answer = call(&mut sc.alice_ws, 100 + i as i64, "secrets.request_oauth_token", body).await;
            assert_eq!(answer["ok"], false, "{endpoint} on the room channel: {answer}");
            refused_error(&answer["error"], field, class, &format!("room channel {endpoint}"));
            if !endpoint.contains(INTERNAL) {
                for room in [None, Some(ROOM)] {
                    let (st, v) = register(&s, &sc, room, &endpoint).await;
                    refused_naming(st, &v, field, class, &format!("registration {endpoint} in {room:?}"));
                }
                for path in &public {
                    let update = Some(registration(&endpoint));
                    let (st, v) = s.call_as(&sc.key, Method::PUT, path, update).await;
                    refused_naming(st, &v, field, class, &format!("update of {path} to {endpoint}"));
                }
            }
        }
        // What a host resolves to is not told to a caller whose grant does not allow the provider.
        let narrow =
            json!({ "request_oauth_token": [{ "endpoint": "https://accounts.example.com/*", "client_id": "c" }] });
        let limited = participant(&s, &sc.key, &sc.project, "limited", narrow).await;
        let internal = format!("https://{INTERNAL}:{}/token", v4.addr.port());
        let (st, v) = rest(&s, &limited, "request_oauth_token", ask_alice(&sc, &internal)).await;
        assert_eq!((st, v["error"].as_str()), (403, Some("forbidden")), "{v}");
        // Nothing was prompted and nothing stored.
        let (st, v) = rest(&s, &sc.agent, "list", json!({})).await;
        assert_eq!((st, v), (200, json!({ "secrets": [] })));
        s.stop().await;
    }
    assert_eq!((v4.seen(), v6.seen()), (0, 0), "no connection was attempted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allow_list_lets_the_hosts_and_networks_it_names_through() {
    let v4 = Listener::on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let v6 = Listener::on(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
    let allow = [
        "127.0.0.0/8",
        "10.0.0.1",
        "::1",
        "169.254.0.0/16",
        INTERNAL,
        "localhost",
    ];
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, outbound(&allow)).await;
        let mut sc = scene(&s).await;
        for (endpoint, _, listener) in internal_endpoints(&v4, &v6) {
            for room in [None, Some(ROOM)] {
                let (st, v) = register(&s, &sc, room, &endpoint).await;
                assert_eq!(st, 201, "registration {endpoint} in {room:?}: {v}");
            }
            let asked = ask(&s, &sc.agent, ask_alice(&sc, &endpoint));
            let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
            let request_id = prompt["request_id"].clone();
            match listener {
                // The code exchange goes to the listener (which speaks no TLS: the call fails
                // after connecting).
                Some(listener) => {
                    let before = listener.seen();
                    let (st, v) = rest(
                        &s,
                        &sc.alice,
                        "provide_oauth_authorization",
                        json!({ "request_id": request_id, "code": "c" }),
                    )
                    .await;
                    assert_eq!(st, 502, "{endpoint}: {v}");
                    assert!(listener.seen() > before, "{endpoint} was called");
                    assert_eq!(asked.await.unwrap().0, 502, "{endpoint}");
                }
                // Not reachable from here: the request was accepted and prompted for.
                None => {
                    let reject = json!({ "request_id": request_id, "error": "not_now" });
                    assert_eq!(rest(&s, &sc.alice, "reject_oauth_authorization", reject).await.0, 200);
                    assert_eq!(asked.await.unwrap().0, 403, "{endpoint}");
                }
            }
        }
        s.stop().await;
    }
}
