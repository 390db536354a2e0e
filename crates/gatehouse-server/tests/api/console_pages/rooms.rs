//! Rooms and room grants: create a room, grant a member a preset or a custom scope, revoke the
//! grant and delete the room behind confirmations.

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::{PASSWORD, form_to};

api_test!(a_developer_creates_a_room_grants_a_member_revokes_and_deletes_it, |s| {
    let (p, key, me, browser, page) = admin(&s, "rooms@example.com", "rooms").await;
    let guest = s.user("guest@example.com", PASSWORD).await;
    let base = format!("/console/projects/{p}/rooms");
    let members = browser.get(&format!("/console/projects/{p}/members")).await;
    submit(
        &browser,
        &members,
        &format!("/console/projects/{p}/members"),
        &[("email", "guest@example.com")],
    )
    .await;
    assert_eq!(
        crate::people::answer(&s.base, "guest@example.com", PASSWORD, "accept").await,
        200
    );
    let invalid = browser
        .submit(&form_to(&page, &base), &[("name", "Team Standup")], None)
        .await;
    assert_eq!(invalid.status, 400);
    assert!(
        invalid.body.contains("id=\"name-error\">must be 1-63 characters"),
        "{}",
        invalid.body
    );
    assert!(invalid.body.contains("value=\"Team Standup\""));
    let created = submit(&browser, &page, &base, &[("name", "team-standup")]).await;
    assert!(created.body.contains("Room team-standup created."), "{}", created.body);
    assert_audited(&s, &key, &p, "room.create", &me).await;
    let taken = browser
        .submit(&form_to(&created, &base), &[("name", "team-standup")], None)
        .await;
    assert_eq!(taken.status, 400);
    assert!(
        taken
            .body
            .contains("id=\"name-error\">a room named team-standup already exists"),
        "{}",
        taken.body
    );
    let grants = format!("{base}/grants");
    let bad = browser
        .submit(
            &form_to(&created, &grants),
            &[
                ("room_name", "team-standup"),
                ("email", "guest@example.com"),
                ("preset", "custom"),
                ("custom", "{not json"),
            ],
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"custom-error\">is not JSON"), "{}", bad.body);
    assert!(bad.body.contains("{not json</textarea>"), "what was typed is kept");
    let stranger = browser
        .submit(
            &form_to(&created, &grants),
            &[
                ("room_name", "team-standup"),
                ("email", "stranger@example.com"),
                ("preset", "full"),
            ],
            None,
        )
        .await;
    assert!(
        stranger.body.contains("id=\"email-error\">no member of the project"),
        "{}",
        stranger.body
    );
    let granted = submit(
        &browser,
        &created,
        &grants,
        &[
            ("room_name", "team-standup"),
            ("email", "guest@example.com"),
            ("preset", "user_default"),
        ],
    )
    .await;
    assert!(
        granted.body.contains("guest@example.com may use room team-standup."),
        "{}",
        granted.body
    );
    assert_audited(&s, &key, &p, "room_grant.put", &me).await;
    let revoke = format!("{base}/team-standup/grants/{guest}/revoke");
    assert!(granted.body.contains(&format!("href=\"{revoke}\"")), "{}", granted.body);
    let confirm = browser.get(&revoke).await;
    assert!(
        confirm
            .body
            .contains("Revoke the grant of guest@example.com in room team-standup?")
    );
    let revoked = submit(&browser, &confirm, &revoke, &[]).await;
    assert!(revoked.body.contains("Room grant revoked.") && revoked.body.contains("No room grants yet."));
    assert_audited(&s, &key, &p, "room_grant.delete", &me).await;
    let delete = format!("{base}/team-standup/delete");
    let confirm = browser.get(&delete).await;
    assert!(confirm.body.contains("Delete the room team-standup"));
    let deleted = submit(&browser, &confirm, &delete, &[]).await;
    assert!(deleted.body.contains("Room team-standup deleted.") && deleted.body.contains("No rooms yet."));
    assert_audited(&s, &key, &p, "room.delete", &me).await;
});
