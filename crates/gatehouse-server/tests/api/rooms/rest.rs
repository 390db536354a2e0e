//! Rooms and room grants over REST (SPEC §6.3): create, list, delete, and `connect` giving
//! signed-in users a room token.

use reqwest::Method;
use serde_json::{Value, json};

use super::{call, join, names};
use crate::api_test;

api_test!(rooms_are_created_listed_and_deleted, |s| {
    let (p, key) = s.project("Rooms").await;
    let rooms = format!("/accounts/projects/{p}/rooms");
    let body = json!({ "name": "lobby", "metadata": { "topic": "hi" } });
    let (st, r) = s.call_as(&key, Method::POST, &rooms, Some(body)).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(
        (r["name"].as_str(), r["project_id"].as_str()),
        (Some("lobby"), Some(p.as_str()))
    );
    assert_eq!(r["metadata"], json!({ "topic": "hi" }));
    let (st, e) = s
        .call_as(&key, Method::POST, &rooms, Some(json!({ "name": "lobby" })))
        .await;
    assert_eq!((st, e["error"].as_str()), (409, Some("conflict")), "{e}");
    let again = json!({ "name": "lobby", "if_not_exists": true });
    let (st, same) = s.call_as(&key, Method::POST, &rooms, Some(again)).await;
    assert_eq!((st, &same), (200, &r), "if_not_exists returns the room as stored");
    for (bad, field) in [
        (json!({ "name": "Lobby" }), "room_name"),
        (json!({ "name": "" }), "room_name"),
        (json!({ "name": "a".repeat(64) }), "room_name"),
        (
            json!({ "name": "ok", "metadata": { "x": "y".repeat(17 * 1024) } }),
            "metadata",
        ),
        (json!({ "name": "ok", "metadata": [1] }), "metadata"),
        (json!({ "name": "ok", "colour": "red" }), "colour"),
        (json!({}), "name"),
    ] {
        let (st, e) = s.call_as(&key, Method::POST, &rooms, Some(bad.clone())).await;
        assert_eq!(st, 400, "{bad}: {e}");
        assert!(e["message"].as_str().unwrap().contains(field), "{bad}: {e}");
    }
    let big = json!({ "name": "ok", "metadata": { "x": "y".repeat(70 * 1024) } });
    assert_eq!(s.call_as(&key, Method::POST, &rooms, Some(big)).await.0, 413);
    for name in ["b-room", "c-room"] {
        assert_eq!(
            s.call_as(&key, Method::POST, &rooms, Some(json!({ "name": name })))
                .await
                .0,
            201
        );
    }
    let (st, l) = s
        .call_as(&key, Method::GET, &format!("{rooms}?limit=2&offset=1"), None)
        .await;
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["total"], 3);
    let listed: Vec<&str> = l["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["b-room", "c-room"], "oldest first");
    for bad in ["limit=0", "limit=1001", "count=5"] {
        assert_eq!(
            s.call_as(&key, Method::GET, &format!("{rooms}?{bad}"), None).await.0,
            400,
            "{bad}"
        );
    }
    // Another project's key sees none of it.
    let (q, other) = s.project("Other").await;
    assert_eq!(s.call_as(&other, Method::GET, &rooms, None).await.0, 404);
    assert_eq!(
        s.call_as(&other, Method::DELETE, &format!("{rooms}/lobby"), None)
            .await
            .0,
        404
    );
    let (_, theirs) = s
        .call_as(&other, Method::GET, &format!("/accounts/projects/{q}/rooms"), None)
        .await;
    assert_eq!(theirs["total"], 0);
    let (st, one) = s.call_as(&key, Method::GET, &format!("{rooms}/lobby"), None).await;
    assert_eq!((st, &one), (200, &r));
    assert_eq!(
        s.call_as(&key, Method::GET, &format!("{rooms}/nowhere"), None).await.0,
        404
    );
    assert_eq!(
        s.call_as(&key, Method::GET, &format!("{rooms}/Bad_Name"), None).await.0,
        400
    );
    assert_eq!(
        s.call_as(&other, Method::GET, &format!("{rooms}/lobby"), None).await.0,
        404
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{rooms}/lobby"), None).await.0,
        204
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{rooms}/lobby"), None).await.0,
        404,
        "deleted once"
    );
});

api_test!(room_grants_give_signed_in_users_a_room_token_through_connect, |s| {
    use crate::oauth_flows::{EMAIL, PASSWORD, app};
    let uid = s.user(EMAIL, PASSWORD).await;
    let (p, key) = s.project("Rooms").await;
    let grants = format!("/accounts/projects/{p}/room-grants");
    let perms = json!({ "messaging": {}, "secrets": { "request_oauth_token": [] }, "future": { "x": 1 } });
    let grant = json!({ "room_name": "lobby", "email": EMAIL, "permissions": perms });
    let (st, e) = s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await;
    assert_eq!(st, 400, "not a member yet: {e}");
    let members = format!("/accounts/projects/{p}/users");
    assert_eq!(
        s.call(Method::POST, &members, Some(json!({ "user_id": uid }))).await.0,
        201
    );
    let (st, e) = s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await;
    assert_eq!((st, e["message"].as_str()), (404, Some("room not found")), "{e}");
    let rooms = format!("/accounts/projects/{p}/rooms");
    assert_eq!(
        s.call_as(&key, Method::POST, &rooms, Some(json!({ "name": "lobby" })))
            .await
            .0,
        201
    );
    let (st, g) = s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await;
    assert_eq!(st, 200, "{g}");
    assert_eq!(
        (g["user_id"].as_str(), g["email"].as_str()),
        (Some(uid.as_str()), Some(EMAIL))
    );
    assert_eq!(g["permissions"], perms, "kept exactly");
    for (bad, status) in [
        (json!({ "room_name": "lobby", "permissions": {} }), 400),
        (
            json!({ "room_name": "lobby", "email": EMAIL, "user_id": uid, "permissions": {} }),
            400,
        ),
        (json!({ "room_name": "lobby", "email": EMAIL, "permissions": [] }), 400),
        (json!({ "room_name": "lobby", "email": EMAIL }), 400),
        (json!({ "room_name": "Lobby", "email": EMAIL, "permissions": {} }), 400),
        (
            json!({ "room_name": "lobby", "email": "nobody@example.com", "permissions": {} }),
            400,
        ),
        (
            json!({ "room_name": "lobby", "email": EMAIL, "permissions": { "x": "y".repeat(17 * 1024) } }),
            400,
        ),
        (
            json!({ "room_name": "lobby", "email": EMAIL, "permissions": "everything" }),
            400,
        ),
    ] {
        let (st, e) = s.call_as(&key, Method::POST, &grants, Some(bad.clone())).await;
        assert_eq!(st, status, "{bad}: {e}");
    }
    // A preset's name stands for its surfaces; the grant is then replaced by the exact scope again.
    let preset = json!({ "room_name": "lobby", "email": EMAIL, "permissions": "user_default" });
    let (st, g) = s.call_as(&key, Method::POST, &grants, Some(preset)).await;
    assert_eq!(st, 200, "{g}");
    assert!(
        g["permissions"]["secrets"].is_object() && g["permissions"].get("llm").is_none(),
        "{g}"
    );
    assert_eq!(s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await.0, 200);
    let (st, l) = s
        .call_as(&key, Method::GET, &format!("{grants}?room_name=lobby&limit=10"), None)
        .await;
    assert_eq!((st, l["total"].as_u64()), (200, Some(1)), "{l}");
    let (_, none) = s
        .call_as(&key, Method::GET, &format!("{grants}?room_name=elsewhere"), None)
        .await;
    assert_eq!(none["total"], 0);

    // The user connects with their own access token.
    let a = app(&s, json!({ "scope": "openid gatehouse_api gatehouse_api.read_only" })).await;
    let b = gatehouse_testkit::Browser::new(&s.base);
    let user = crate::participants::api_token(&s, &a, &b, "openid gatehouse_api").await;
    let connect = format!("/accounts/projects/{p}/rooms/lobby/connect");
    let (st, c) = s.call_as(&user, Method::POST, &connect, Some(json!({}))).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["room_name"], "lobby");
    assert_eq!(c["project_id"], p.as_str());
    assert_eq!(
        c["room_url"],
        format!("{}/rooms/lobby", s.base.replacen("http", "ws", 1))
    );
    let jwt = c["jwt"].as_str().unwrap();
    let res = s
        .http
        .post(format!("{}/api/participant-token/validate", s.base))
        .json(&json!({ "token": jwt }))
        .send()
        .await
        .unwrap();
    let claims: Value = res.json().await.unwrap();
    assert_eq!(claims["name"], EMAIL);
    assert_eq!(
        claims["grants"],
        json!([
            { "name": "room", "scope": "lobby" },
            { "name": "role", "scope": "user" },
            { "name": "api", "scope": perms },
        ])
    );
    let (mut ws, _) = join(&s, "lobby", jwt).await;
    let list = call(&mut ws, 1, "participants.list", json!({})).await;
    assert_eq!(names(&list["body"]), [EMAIL]);
    drop(ws);
    // No grant, the wrong caller, a read-only token, a bad body.
    let (st, e) = s
        .call_as(
            &user,
            Method::POST,
            &format!("/accounts/projects/{p}/rooms/other/connect"),
            Some(json!({})),
        )
        .await;
    assert_eq!((st, e["message"].as_str()), (404, Some("room grant not found")), "{e}");
    assert_eq!(
        s.call_as(&key, Method::POST, &connect, Some(json!({}))).await.0,
        403,
        "an API key is not a user"
    );
    let read_only = crate::participants::api_token(&s, &a, &b, "openid gatehouse_api.read_only").await;
    assert_eq!(
        s.call_as(&read_only, Method::POST, &connect, Some(json!({}))).await.0,
        403
    );
    assert_eq!(
        s.call_as(&user, Method::POST, &connect, Some(json!({ "x": 1 })))
            .await
            .0,
        400
    );
    // Members read no grants and create no rooms without the flag; grants go with their room.
    assert_eq!(s.call_as(&user, Method::GET, &grants, None).await.0, 403);
    assert_eq!(
        s.call_as(&user, Method::POST, &rooms, Some(json!({ "name": "mine" })))
            .await
            .0,
        403
    );
    let flag = json!({ "can_create_rooms": true });
    assert_eq!(
        s.call(Method::PUT, &format!("{members}/{uid}"), Some(flag)).await.0,
        200
    );
    assert_eq!(
        s.call_as(&user, Method::POST, &rooms, Some(json!({ "name": "mine" })))
            .await
            .0,
        201
    );
    assert_eq!(
        s.call_as(&user, Method::DELETE, &format!("{rooms}/mine"), None).await.0,
        403,
        "deleting is for developers"
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{grants}/lobby/{uid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{grants}/lobby/{uid}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        s.call_as(&user, Method::POST, &connect, Some(json!({}))).await.0,
        404,
        "the grant is gone"
    );
});
