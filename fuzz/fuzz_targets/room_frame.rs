//! Request frames of the room channel (SPEC §6.5): `{"id": <number>, "type": <operation>,
//! "body": {...}}`, and the bodies of the operations that take one.
//!
//! Input: one text frame.
#![no_main]

use gatehouse_server::fuzzing::parse_request;
use gatehouse_types as t;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes `body` as the operation's request type; a decoded request encodes to a body that
/// decodes to the same request.
fn body<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(body: Value) {
    if let Ok(req) = serde_json::from_value::<T>(body) {
        let again = serde_json::to_value(&req).expect("a request body serialises");
        assert_eq!(serde_json::from_value::<T>(again).ok(), Some(req));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((id, op, payload)) = parse_request(text) else {
        return;
    };
    let frame: Value = serde_json::from_str(text).expect("an accepted frame is JSON");
    assert!(id.is_number());
    assert_eq!(frame["id"], id);
    assert_eq!(frame["type"].as_str(), Some(op.as_str()));
    assert_eq!(frame.get("body").unwrap_or(&Value::Null), &payload);
    match op.as_str() {
        "messaging.send" => body::<t::SendMessage>(payload),
        "secrets.delete" => body::<t::DeleteRoomSecret>(payload),
        "secrets.request_oauth_token" => body::<t::RequestOAuthToken>(payload),
        "secrets.get_offline_oauth_token" => body::<t::GetOfflineOAuthToken>(payload),
        "secrets.provide_oauth_authorization" => body::<t::ProvideOAuthAuthorization>(payload),
        "secrets.reject_oauth_authorization" => body::<t::RejectOAuthAuthorization>(payload),
        _ => {}
    }
});
