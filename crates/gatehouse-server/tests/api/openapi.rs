//! `/openapi.json` describes the API the server really serves: every path parameter declared,
//! query parameters in the query, the error answers each operation gives, the bounds the
//! validation applies, and no credential asked of the public routes. Schemathesis checks the
//! same document against the live server in `.ci/schemathesis`; these tests keep the structure
//! right in every run of the suite.

use std::collections::{BTreeSet, HashSet};

use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, api_test};

/// Routes anyone may call.
const PUBLIC: [&str; 3] = ["/healthz", "/readyz", "/api/participant-token/validate"];

async fn document(s: &TestServer) -> Value {
    let res = s.http.get(format!("{}/openapi.json", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Every operation: `(method, path, operation)`.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    assert!(out.len() > 50, "{} operations", out.len());
    out
}

fn template_names(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn parameters<'a>(op: &'a Value, place: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["in"] == place)
}

/// `None` when the operation takes the document's security.
fn security(op: &Value) -> Option<&Vec<Value>> {
    op.get("security").and_then(Value::as_array)
}

fn documents(op: &Value, status: &str) -> bool {
    op["responses"].get(status).is_some()
}

api_test!(every_path_parameter_is_declared_in_the_path_and_required, |s| {
    let doc = document(&s).await;
    let mut ids = HashSet::new();
    for (method, path, op) in operations(&doc) {
        let declared: BTreeSet<String> = parameters(&op, "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{method} {path}: {p}");
                assert!(p["schema"].is_object(), "{method} {path}: {p}");
                p["name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(declared, template_names(&path), "{method} {path}");
        let id = op["operationId"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "operationId {id} twice");
    }
});

api_test!(query_parameters_are_in_the_query_and_optional_unless_needed, |s| {
    let doc = document(&s).await;
    let mut seen = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            assert!(p["in"] == "path" || p["in"] == "query", "{method} {path}: {p}");
        }
        for p in parameters(&op, "query") {
            let name = p["name"].as_str().unwrap();
            // The export's format is the one query parameter without a default.
            assert_eq!(p["required"] == true, name == "format", "{method} {path}: {p}");
            seen.insert(name.to_owned());
        }
    }
    let expected = [
        "count",
        "offset",
        "filter",
        "limit",
        "room_name",
        "format",
        "force",
        "from",
        "to",
        "group_by",
        "actor",
        "action",
    ];
    assert_eq!(seen, expected.iter().map(|n| n.to_string()).collect());
});

api_test!(public_routes_ask_no_credential_and_the_rest_name_theirs, |s| {
    let doc = document(&s).await;
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (method, path, op) in operations(&doc) {
        match security(&op) {
            Some(reqs) if PUBLIC.contains(&path.as_str()) => assert!(reqs.is_empty(), "{method} {path}"),
            Some(reqs) => {
                // An empty requirement would make the credential optional.
                assert!(!reqs.is_empty(), "{method} {path}");
                for req in reqs {
                    let names = req.as_object().unwrap();
                    assert!(!names.is_empty(), "{method} {path}: {req}");
                    assert!(names.keys().all(|n| schemes.contains_key(n)), "{method} {path}: {req}");
                }
                assert!(path.starts_with("/rooms/"), "{method} {path}");
            }
            None => assert!(!PUBLIC.contains(&path.as_str()), "{method} {path} inherits bearer"),
        }
    }
    for path in PUBLIC.iter().take(2) {
        let res = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
});

api_test!(each_operation_documents_the_errors_it_gives, |s| {
    let doc = document(&s).await;
    for (method, path, op) in operations(&doc) {
        let secured = security(&op).is_none_or(|r| !r.is_empty());
        let mut expected = Vec::new();
        if secured {
            expected.push("401");
        }
        if security(&op).is_none() && method != "GET" {
            // Read-only credentials are refused every change.
            expected.push("403");
        }
        if op.get("requestBody").is_some() {
            expected.extend(["400", "413", "415"]);
        }
        if parameters(&op, "query").next().is_some() {
            expected.push("400");
        }
        if parameters(&op, "path").next().is_some() {
            expected.push("404");
        }
        for status in expected {
            assert!(documents(&op, status), "{method} {path} does not document {status}");
        }
        for (status, res) in op["responses"].as_object().unwrap() {
            // Every error is the JSON error body, but /readyz's plain-text 503.
            if status.starts_with('4') || (status.starts_with('5') && status != "503") {
                let schema = &res["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error", "message"]));
});

api_test!(documented_answers_are_the_answers_without_a_credential, |s| {
    // Every operation, called without a credential: the answer is one it documents.
    let doc = document(&s).await;
    for (method, path, op) in operations(&doc) {
        let url = path
            .replace("{room_name}", "lobby")
            .replace("{client_id}", "some-client")
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "01a25043-5656-7024-8c31-79a747213f94"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let mut req = s.http.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{url}", s.base),
        );
        if op.get("requestBody").is_some() {
            req = req.json(&json!({}));
        }
        let status = req.send().await.unwrap().status();
        let documented = documents(&op, status.as_str());
        assert!(documented, "{method} {path} answered {status} without a credential");
        // The room routes answer a malformed body before they look at the token.
        if !PUBLIC.contains(&path.as_str()) && op.get("requestBody").is_none() {
            assert_eq!(status, 401, "{method} {path}");
        }
    }
});

api_test!(documented_bounds_are_the_bounds_the_server_applies, |s| {
    let doc = document(&s).await;
    let ttl = &doc["components"]["schemas"]["CreateParticipantToken"]["properties"]["ttl_seconds"];
    assert_eq!(
        (&ttl["minimum"], &ttl["maximum"]),
        (&json!(1), &json!(2_592_000)),
        "{ttl}"
    );
    let tokens = format!("/accounts/projects/{}/participant-tokens", s.system_project);
    for (value, status) in [(0, 400), (1, 200), (2_592_000, 200), (2_592_001, 400)] {
        let (st, v) = s
            .call(
                Method::POST,
                &tokens,
                Some(json!({ "name": "bot", "ttl_seconds": value })),
            )
            .await;
        assert_eq!(st, status, "ttl_seconds {value}: {v}");
    }
    let list = &doc["paths"]["/accounts/projects/{project_id}/oauth/clients"]["get"];
    let count = parameters(list, "query").find(|p| p["name"] == "count").unwrap();
    assert_eq!(
        (&count["schema"]["minimum"], &count["schema"]["maximum"]),
        (&json!(1), &json!(1000))
    );
    let clients = format!("/accounts/projects/{}/oauth/clients", s.system_project);
    for (value, status) in [(0, 400), (1, 200), (1000, 200), (1001, 400)] {
        let (st, v) = s.call(Method::GET, &format!("{clients}?count={value}"), None).await;
        assert_eq!(st, status, "count {value}: {v}");
    }
});

api_test!(a_body_is_one_json_object, |s| {
    // serde reads a struct from an array of its fields: `[null, null]` changed a member before.
    let (project, _) = s.project("array-body").await;
    let members = format!("/accounts/projects/{project}/users");
    let user = s.user("ada@example.com", "correct horse battery").await;
    s.created(&members, json!({ "user_id": user })).await;
    for body in [json!([null, null]), json!([]), json!(null), json!(true), json!("x")] {
        let (st, v) = s
            .call(Method::PUT, &format!("{members}/{user}"), Some(body.clone()))
            .await;
        assert_eq!((st, v["error"].as_str()), (400, Some("invalid_request")), "{body}: {v}");
    }
    let (st, v) = s.call(Method::PUT, &format!("{members}/{user}"), Some(json!({}))).await;
    assert_eq!(st, 200, "{v}");
});

api_test!(a_number_with_a_zero_fraction_is_an_integer, |s| {
    // JSON Schema's `type: integer` admits 60.0, and so does the server.
    let tokens = format!("/accounts/projects/{}/participant-tokens", s.system_project);
    let (st, v) = s
        .call(
            Method::POST,
            &tokens,
            Some(json!({ "name": "bot", "ttl_seconds": 60.0 })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .call(
            Method::POST,
            &tokens,
            Some(json!({ "name": "bot", "ttl_seconds": 60.5 })),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("ttl_seconds"), "{v}");
});

api_test!(room_metadata_documents_that_it_holds_no_nul, |s| {
    let doc = document(&s).await;
    let schemas = &doc["components"]["schemas"];
    let metadata = schemas["CreateRoom"]["properties"]["metadata"].to_string();
    assert!(metadata.contains("#/components/schemas/JsonObject"), "{metadata}");
    let no_nul = json!({ "type": "string", "pattern": "^[^\\u0000]*$" });
    assert_eq!(schemas["JsonObject"]["propertyNames"], no_nul);
    assert_eq!(schemas["JsonValue"]["anyOf"][0], no_nul);
    let rooms = format!("/accounts/projects/{}/rooms", s.system_project);
    for metadata in [json!({ "a\u{0}": 1 }), json!({ "a": [{ "b": "c\u{0}" }] })] {
        let (st, v) = s
            .call(
                Method::POST,
                &rooms,
                Some(json!({ "name": "lobby", "metadata": metadata })),
            )
            .await;
        assert_eq!(st, 400, "{v}");
    }
    let ok = json!({ "a": [{ "b": "c\u{1}" }], "n": 1.5 });
    let (st, v) = s
        .call(Method::POST, &rooms, Some(json!({ "name": "lobby", "metadata": ok })))
        .await;
    assert_eq!(st, 201, "{v}");
});
