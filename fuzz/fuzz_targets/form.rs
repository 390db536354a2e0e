//! The form bodies of the OAuth back-channel endpoints (RFC 6749 §3.2; `/oauth/token`): the
//! `Content-Type` checks, form decoding with the "at most once" rule (RFC 6749 §3.1), and client
//! authentication from the Basic header or the body (RFC 6749 §2.3.1).
//!
//! Input: the `Content-Type` value, a newline, the `Authorization` value (empty for none), a
//! newline, then the body.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, Method, header};
use gatehouse_core::service::oauth::ClientCredentials;
use gatehouse_server::fuzzing::{Form, charset_is_utf8, client_credentials, is_form};
use libfuzzer_sys::fuzz_target;

/// The parameters `/oauth/token` reads, besides the client's credentials.
const TOKEN_PARAMS: [&str; 9] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "device_code",
    "scope",
    "client_id",
    "client_secret",
];

fn header_line(value: &[u8]) -> Option<HeaderValue> {
    (!value.is_empty())
        .then(|| HeaderValue::from_bytes(value).ok())
        .flatten()
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(3, |b| *b == b'\n');
    let (content_type, authorization, body) = (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );
    let mut headers = HeaderMap::new();
    if let Some(v) = header_line(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = header_line(authorization) {
        headers.insert(header::AUTHORIZATION, v);
    }
    let form_type = is_form(&headers);
    let _ = charset_is_utf8(&headers);
    assert_eq!(
        Form::of_request(&Method::POST, &headers, None, body).is_some(),
        form_type
    );

    let form = Form::parse(body);
    for name in TOKEN_PARAMS.iter().copied().chain(form.pairs().map(|(k, _)| k).take(8)) {
        let values: Vec<&str> = form.pairs().filter(|(k, _)| *k == name).map(|(_, v)| v).collect();
        match form.single(name) {
            Ok(value) => {
                assert!(values.len() <= 1, "{name} given {} times", values.len());
                assert_eq!(value, values.first().copied().filter(|v| !v.is_empty()));
            }
            Err(_) => assert!(values.len() > 1),
        }
    }
    // Decoding is the inverse of encoding.
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.pairs())
        .finish();
    assert!(Form::parse(encoded.as_bytes()).pairs().eq(form.pairs()));

    // Exactly one authentication method, and the client it names is the one the body names.
    let body_id = form.single("client_id");
    let body_secret = form.single("client_secret");
    match client_credentials(&headers, &form) {
        Ok(ClientCredentials::Basic { id, .. }) => {
            assert!(headers.contains_key(header::AUTHORIZATION));
            assert_eq!(body_secret, Ok(None));
            assert!(matches!(body_id, Ok(None)) || body_id == Ok(Some(id.as_str())));
        }
        Ok(ClientCredentials::Post { id, secret }) => {
            assert!(!headers.contains_key(header::AUTHORIZATION));
            assert_eq!(body_id, Ok(Some(id.as_str())));
            assert_eq!(body_secret, Ok(Some(secret.expose_secret())));
        }
        Ok(ClientCredentials::None { id }) => {
            assert!(!headers.contains_key(header::AUTHORIZATION));
            assert_eq!(body_id, Ok(Some(id.as_str())));
            assert_eq!(body_secret, Ok(None));
        }
        Err(_) => {}
    }
});
