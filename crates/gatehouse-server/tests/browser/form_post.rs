//! The `form_post` response mode (OAuth 2.0 Form Post Response Mode) in real Chromium: the page's
//! own script posts the tokens to the application under the page's CSP, and without the script
//! its button does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::{EMAIL, PASSWORD, browser_test, fits_a_phone, inspect};

type Posts = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// An application's callback on a free port: records each form posted to `/cb` and answers 204
/// No Content, so the browser stays on the page that posted it.
async fn callback() -> (String, Posts) {
    let posts = Posts::default();
    let app = axum::Router::new()
        .route(
            "/cb",
            axum::routing::post(|State(posts): State<Posts>, body: Bytes| async move {
                let form = url::form_urlencoded::parse(&body).into_owned().collect();
                posts.lock().unwrap().push(form);
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}/cb"), posts)
}

/// Waits until the callback has received `n` posts; returns the last.
async fn nth_post(posts: &Posts, n: usize) -> Vec<(String, String)> {
    let start = Instant::now();
    loop {
        if let Some(p) = posts.lock().unwrap().get(n - 1) {
            return p.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the application received no post {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

browser_test!(
    form_post_delivers_tokens_from_chromium_and_its_page_is_accessible,
    |s, b| {
        let (redirect, posts) = callback().await;
        let settings = json!({
            "name": "Photo Album",
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code", "id_token token"],
            "scope": "openid profile email",
        });
        let (client_id, _) = s.client(&s.admin_key, &s.system_project, settings).await;
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "id_token token"),
                ("response_mode", "form_post"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("scope", "openid email"),
                ("state", "s-1"),
                ("nonce", "n-1"),
            ])
            .finish();
        b.sign_in(&format!("/oauth/authorize?{q}"), EMAIL, PASSWORD).await;
        b.wait_for_text("Photo Album asks to access your Gatehouse account.")
            .await;
        b.click("Allow").await;
        // The page's script submits at once: the CSP lets the server's own script run.
        let form = nth_post(&posts, 1).await;
        let field = |f: &[(String, String)], k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(field(&form, "state").as_deref(), Some("s-1"), "{form:?}");
        assert_eq!(field(&form, "iss"), Some(s.base.clone()));
        assert_eq!(field(&form, "token_type").as_deref(), Some("Bearer"));
        assert!(
            field(&form, "id_token").is_some() && field(&form, "access_token").is_some(),
            "{form:?}"
        );
        assert_eq!(field(&form, "refresh_token"), None);
        assert_eq!(
            s.introspect(&field(&form, "access_token").unwrap()).await["active"],
            true
        );
        // The application answered 204: the browser still shows the page, whose button posts again
        // (what a browser without JavaScript does).
        b.wait_for_text("Returning to the application").await;
        inspect(&b, "form-post").await;
        fits_a_phone(&b, "form-post").await;
        b.click("Continue").await;
        assert_eq!(nth_post(&posts, 2).await, form);
    }
);
