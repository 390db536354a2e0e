//! The SDK's `secrets` toolkit (`room.secrets.*` of `meshagent-api`): each tool is one of the
//! room secrets operations of SPEC §7, run by the same use cases as on the JSON channel and REST
//! ([`room_secrets::operation`]); only the SDK's input and output shapes are adapted here.

use gatehouse_core::rooms::sdk::payload::{Content, code};
use serde_json::{Value, json};

use super::{failure, unsupported};
use crate::routes::room_channel::Participant;
use crate::routes::room_secrets;

/// The room secrets operation and its body for SDK tool `tool` with JSON input `v`.
fn operation(tool: &str, mut v: Value) -> Result<(&'static str, Value), Content> {
    Ok(match tool {
        "list_secrets" => ("list", json!({})),
        "delete_secret" => ("delete", v),
        "get_offline_oauth_token" => ("get_offline_oauth_token", without_connector(v)?),
        "request_oauth_token" => ("request_oauth_token", without_connector(v)?),
        // The SDK answers a prompt with one tool: a `code` provides, an `error` rejects.
        "provide_oauth_authorization" => match v.get_mut("error").map(Value::take) {
            Some(error) if !error.is_null() => (
                "reject_oauth_authorization",
                json!({ "request_id": v["request_id"], "error": error }),
            ),
            _ => (
                "provide_oauth_authorization",
                json!({ "request_id": v["request_id"], "code": v["code"] }),
            ),
        },
        other => return Err(unsupported(&format!("the secrets tool {other:?}"))),
    })
}

/// The SDK sends `connector: null` beside `oauth`; Gatehouse takes `oauth` or `registration_id`.
fn without_connector(mut v: Value) -> Result<Value, Content> {
    if let Some(connector) = v.as_object_mut().and_then(|m| m.remove("connector"))
        && !connector.is_null()
    {
        return Err(unsupported("a connector (give `oauth` instead)"));
    }
    Ok(v)
}

/// Runs SDK tool `tool` of the `secrets` toolkit for `p`: the answer to send.
pub(super) async fn invoke(p: &Participant<'_>, tool: &str, input: Content) -> Content {
    let v = match input {
        Content::Json(v) => v,
        Content::Empty => json!({}),
        _ => return Content::error(code::INVALID_REQUEST, "the secrets toolkit takes JSON input"),
    };
    let (op, body) = match operation(tool, v) {
        Ok(op) => op,
        Err(refused) => return refused,
    };
    let answer = room_secrets::operation(p.s, p.who, &p.me.room_name, Some(p.me.id), op, body).await;
    match answer {
        // Every operation above exists.
        None => unsupported(&format!("the secrets tool {tool:?}")),
        Some(Err(e)) => failure(e),
        Some(Ok(v)) if v.as_object().is_some_and(serde_json::Map::is_empty) => Content::Empty,
        Some(Ok(v)) => Content::Json(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_tools_map_to_room_secrets_operations() {
        assert_eq!(operation("list_secrets", json!({})).unwrap(), ("list", json!({})));
        let sdk =
            json!({ "connector": null, "oauth": { "client_id": "c" }, "delegated_by": "alice", "delegated_to": null });
        let (op, body) = operation("get_offline_oauth_token", sdk).unwrap();
        assert_eq!(op, "get_offline_oauth_token");
        assert_eq!(
            body,
            json!({ "oauth": { "client_id": "c" }, "delegated_by": "alice", "delegated_to": null })
        );
        let provide = json!({ "request_id": "r", "code": "k", "error": null });
        assert_eq!(
            operation("provide_oauth_authorization", provide).unwrap(),
            ("provide_oauth_authorization", json!({ "request_id": "r", "code": "k" }))
        );
        let reject = json!({ "request_id": "r", "code": null, "error": "user_cancelled" });
        assert_eq!(
            operation("provide_oauth_authorization", reject).unwrap(),
            (
                "reject_oauth_authorization",
                json!({ "request_id": "r", "error": "user_cancelled" })
            )
        );
    }

    #[test]
    fn connectors_and_unknown_tools_are_not_supported() {
        let with_connector = json!({ "connector": { "server_url": "https://x" }, "redirect_uri": "r" });
        for refused in [
            operation("request_oauth_token", with_connector).unwrap_err(),
            operation("set_secret", json!({})).unwrap_err(),
        ] {
            let Content::Error { text, code } = refused else {
                panic!("an error")
            };
            assert!(text.contains("not supported by Gatehouse"), "{text}");
            assert_eq!(code, code::NOT_FOUND);
        }
    }
}
