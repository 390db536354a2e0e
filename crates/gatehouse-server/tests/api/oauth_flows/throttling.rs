//! Brute-force delays are per address: an attacker who knows a client id or an email slows only
//! the addresses it fails from, the right secret from a clean address is always served, and a
//! success forgets that address's failures. Each party connects from its own loopback address.

use std::net::IpAddr;

use gatehouse_testkit::Browser;
use serde_json::{Value, json};

use super::{App, EMAIL, FormBody as _, PASSWORD, app};
use crate::{TestServer, api_test};

/// The failure of a client from one address that starts its delays (docs/oauth.md).
const CLIENT_LIMIT: usize = 10;
/// The failure of an account from one address that starts its delays.
const LOGIN_LIMIT: usize = 5;
/// The failure of an account from any address that starts the delays of addresses that failed.
const ACCOUNT_LIMIT: usize = 20;

fn from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// `POST path` as `app` from `http`'s address; status and JSON.
async fn call(s: &TestServer, http: &reqwest::Client, path: &str, app: &App, form: &[(&str, &str)]) -> (u16, Value) {
    let res = http
        .post(format!("{}{path}", s.base))
        .basic_auth(&app.id, Some(&app.secret))
        .form_pairs(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn client_credentials(s: &TestServer, http: &reqwest::Client, app: &App) -> (u16, Value) {
    call(s, http, "/oauth/token", app, &[("grant_type", "client_credentials")]).await
}

fn wrong(a: &App) -> App {
    App {
        id: a.id.clone(),
        secret: "x".repeat(43),
    }
}

fn throttled(e: &Value) -> bool {
    e["error"] == "invalid_client"
        && e["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("too many failed attempts"))
}

api_test!(client_failures_from_one_address_never_lock_out_another, |s| {
    let a = app(&s, json!({})).await;
    let (attacker, owner) = (from("127.0.0.2"), from("127.0.0.3"));
    for _ in 0..CLIENT_LIMIT + 5 {
        let (st, e) = client_credentials(&s, &attacker, &wrong(&a)).await;
        assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")), "{e}");
    }
    // The attacker's address waits, even with the right secret...
    let (st, e) = client_credentials(&s, &attacker, &a).await;
    assert_eq!(st, 401);
    assert!(throttled(&e), "{e}");
    // ...while the client, from its own address, is served at every endpoint that authenticates it.
    let (st, t) = client_credentials(&s, &owner, &a).await;
    assert_eq!(st, 200, "{t}");
    let token = t["access_token"].as_str().unwrap();
    let (st, i) = call(&s, &owner, "/oauth/introspect", &a, &[("token", token)]).await;
    assert_eq!((st, &i["active"]), (200, &json!(true)), "{i}");
    let (st, r) = call(&s, &owner, "/oauth/revoke", &a, &[("token", token)]).await;
    assert_eq!(st, 200, "{r}");
});

api_test!(
    client_delays_start_at_the_documented_failure_and_a_success_resets_them,
    |s| {
        let a = app(&s, json!({})).await;
        let http = from("127.0.0.2");
        // One failure short of the limit, twice over, with a success in between: never delayed.
        for _ in 0..2 {
            for _ in 0..CLIENT_LIMIT - 1 {
                let (st, e) = client_credentials(&s, &http, &wrong(&a)).await;
                assert!(st == 401 && !throttled(&e), "{e}");
            }
            let (st, t) = client_credentials(&s, &http, &a).await;
            assert_eq!(st, 200, "a success resets this address's count: {t}");
        }
        // The documented failure starts the delay for the next attempt.
        for _ in 0..CLIENT_LIMIT {
            let (st, e) = client_credentials(&s, &http, &wrong(&a)).await;
            assert!(st == 401 && !throttled(&e), "{e}");
        }
        let (st, e) = client_credentials(&s, &http, &a).await;
        assert_eq!(st, 401);
        assert!(throttled(&e), "{e}");
    }
);

async fn sign_in(b: &Browser, password: &str) -> u16 {
    let form = b.get("/login").await.form();
    b.submit(&form, &[("email", EMAIL), ("password", password)], None)
        .await
        .status
}

api_test!(sign_in_failures_from_other_addresses_never_lock_out_the_owner, |s| {
    s.user(EMAIL, PASSWORD).await;
    // Guesses spread over several addresses, each up to its own limit.
    let attackers: Vec<Browser> = (10..16)
        .map(|n| Browser::from_address(&s.base, Some(format!("127.0.0.{n}").parse().unwrap())))
        .collect();
    let mut guesses = 0;
    for b in &attackers {
        for _ in 0..LOGIN_LIMIT {
            match sign_in(b, "wrong password guess").await {
                401 => guesses += 1,
                429 => break,
                other => panic!("{other}"),
            }
        }
        assert_eq!(sign_in(b, PASSWORD).await, 429, "a failing address waits");
    }
    // The owner, from an address without failures, signs in at once.
    let owner = Browser::from_address(&s.base, Some("127.0.0.3".parse().unwrap()));
    assert_eq!(sign_in(&owner, PASSWORD).await, 303);
    // Past the account-wide limit, each further address got one guess.
    assert_eq!(guesses, ACCOUNT_LIMIT + 2);
    // A fresh address gets one guess while the account is under attack, then waits.
    let fresh = Browser::from_address(&s.base, Some("127.0.0.20".parse().unwrap()));
    assert_eq!(sign_in(&fresh, "wrong password guess").await, 401);
    assert_eq!(sign_in(&fresh, PASSWORD).await, 429);
});

api_test!(
    sign_in_delays_start_at_the_documented_failure_and_a_success_resets_them,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let b = Browser::from_address(&s.base, Some("127.0.0.2".parse().unwrap()));
        for _ in 0..2 {
            for _ in 0..LOGIN_LIMIT - 1 {
                assert_eq!(sign_in(&b, "wrong password guess").await, 401);
            }
            assert_eq!(
                sign_in(&b, PASSWORD).await,
                303,
                "a success resets this address's count"
            );
        }
        for _ in 0..LOGIN_LIMIT {
            assert_eq!(sign_in(&b, "wrong password guess").await, 401);
        }
        assert_eq!(sign_in(&b, PASSWORD).await, 429);
    }
);
