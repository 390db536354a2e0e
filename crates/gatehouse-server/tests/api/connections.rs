//! Connections that hold the server without asking anything of it (slowloris): silent and
//! half-sent requests, idle kept-alive connections, the connection cap, and bodies declared
//! larger than the limit.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::oauth_flows::{App, FormBody as _, app};
use crate::{TestServer, backends};

/// The first request of a browser, cut off before its end.
const PARTIAL_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nUser-Agent: slow";

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection or `limit` passes; whether it closed, and what
/// it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (bool, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (true, got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (false, got),
        }
    }
}

/// Reads one response whose body is `Content-Length` long.
async fn read_response(stream: &mut TcpStream, limit: Duration) -> String {
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "the connection closed before a whole response: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

/// `/healthz` and a client-credentials token, each on a new connection; both must succeed.
async fn health_and_token(s: &TestServer, a: &App) {
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let res = fresh.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let token = fresh
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(&a.id, Some(&a.secret));
    let res = token
        .form_pairs(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_sent_requests_neither_starve_the_server_nor_stay_open() {
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, |c| c.header_read_timeout_secs = 2).await;
        let a = app(&s, json!({})).await;
        let mut silent = Vec::new();
        let mut partial = Vec::new();
        let first_opened = Instant::now();
        for _ in 0..300 {
            silent.push(connect(&s).await);
            let mut p = connect(&s).await;
            p.write_all(PARTIAL_HEAD).await.unwrap();
            partial.push(p);
        }
        let sent = Instant::now();
        health_and_token(&s, &a).await;
        assert!(sent.elapsed() < Duration::from_secs(1), "{:?}", sent.elapsed());

        // Every one of them is closed once the header-read timeout has passed, not before.
        let (closed, _) = read_until_closed(&mut partial[0], Duration::from_secs(4)).await;
        let lasted = first_opened.elapsed();
        assert!(closed && lasted >= Duration::from_millis(1900), "{lasted:?}");
        for stream in silent.iter_mut().chain(partial.iter_mut()) {
            let (closed, got) = read_until_closed(stream, Duration::from_secs(3)).await;
            assert!(closed, "still open after the header-read timeout");
            assert!(
                !String::from_utf8_lossy(&got).contains("200 OK"),
                "no answer to a half request"
            );
        }
        assert!(sent.elapsed() < Duration::from_millis(3500), "{:?}", sent.elapsed());
        health_and_token(&s, &a).await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_half_sent_first_request() {
    for backend in backends() {
        let s = TestServer::spawn(backend).await;
        let mut partial = connect(&s).await;
        partial.write_all(PARTIAL_HEAD).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stopping = Instant::now();
        s.stop().await;
        assert!(stopping.elapsed() < Duration::from_secs(2), "{:?}", stopping.elapsed());
        assert!(read_until_closed(&mut partial, Duration::from_secs(1)).await.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, |c| {
            c.idle_timeout_secs = 1;
            c.header_read_timeout_secs = 5;
        })
        .await;
        let mut kept = connect(&s).await;
        let request = b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\n\r\n";
        kept.write_all(request).await.unwrap();
        assert!(
            read_response(&mut kept, Duration::from_secs(1))
                .await
                .starts_with("HTTP/1.1 200")
        );
        // Within the idle timeout the connection serves another request, and its timer restarts.
        tokio::time::sleep(Duration::from_millis(600)).await;
        kept.write_all(request).await.unwrap();
        assert!(
            read_response(&mut kept, Duration::from_secs(1))
                .await
                .starts_with("HTTP/1.1 200")
        );
        let idle = Instant::now();
        let (closed, got) = read_until_closed(&mut kept, Duration::from_secs(3)).await;
        assert!(
            closed && got.is_empty(),
            "an idle connection is closed, quietly: {closed} {:?} {:?}",
            String::from_utf8_lossy(&got),
            idle.elapsed()
        );
        let waited = idle.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_millis(2500),
            "closed after the idle timeout, well before the header-read timeout: {waited:?}"
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_new_connections_wait_until_one_closes() {
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, |c| c.max_connections = 20).await;
        let mut held = Vec::new();
        for _ in 0..20 {
            held.push(connect(&s).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The 21st connects (the kernel queues it) but is not served while 20 are open.
        let mut waiting = connect(&s).await;
        waiting
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0_u8; 64];
        let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await;
        assert!(early.is_err(), "served beyond the cap");
        // One closes: the waiting connection is accepted and answered.
        drop(held.pop());
        let answer = read_response(&mut waiting, Duration::from_secs(1)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        drop(held);
        drop(waiting);
        let res = s.http.get(format!("{}/healthz", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_above_the_limit_is_refused_at_once_unread() {
    for backend in backends() {
        let s = TestServer::spawn(backend).await;
        let (p, key) = s.project("Declared").await;
        let a = app(&s, json!({})).await;
        let basic = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.id, a.secret))
        };
        let cases = [
            format!(
                "POST /accounts/projects/{p}/oauth/clients HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
            ),
            format!(
                "POST /oauth/token HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\n"
            ),
        ];
        for head in cases {
            let mut stream = connect(&s).await;
            stream.write_all(head.as_bytes()).await.unwrap();
            let started = Instant::now();
            let answer = read_response(&mut stream, Duration::from_secs(1)).await;
            assert!(started.elapsed() < Duration::from_secs(1));
            assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
            assert!(answer.contains("payload_too_large"), "{answer}");
        }
        // A body within the limit is still read.
        let (st, _) = s
            .call_as(
                &key,
                Method::POST,
                &format!("/accounts/projects/{p}/oauth/clients"),
                Some(json!({ "name": "fits", "redirect_uris": ["https://a.example/cb"] })),
            )
            .await;
        assert_eq!(st, 201);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_still_sending_a_refused_body_reads_its_413() {
    for backend in backends() {
        let s = TestServer::spawn(backend).await;
        let (p, key) = s.project("Sending").await;
        let url = format!("{}/accounts/projects/{p}/oauth/clients", s.base);
        // Bodies from just above the limit to far above it, each sent whole: the answer must
        // arrive every time, not a reset while the client is still writing.
        for size in [70 * 1024, 512 * 1024, 4 * 1024 * 1024].into_iter().cycle().take(30) {
            let body = format!(r#"{{"name":"{}"}}"#, "x".repeat(size));
            let res = s
                .http
                .post(&url)
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("a {size}-byte body got no answer: {e:?}"));
            assert_eq!(res.status(), 413);
            assert_eq!(res.headers()["connection"], "close");
            let e: serde_json::Value = res.json().await.unwrap();
            assert_eq!(e["error"], "payload_too_large");
        }
        s.stop().await;
    }
}
