//! `/console`: the person's projects, the way to get one, and project creation by server admins.

use reqwest::Method;

use super::{PASSWORD, assert_console_page, form_to, sign_in};
use crate::api_test;

api_test!(
    a_user_without_projects_sees_how_to_get_one_and_may_create_their_own,
    |s| {
        s.user("lonely@example.com", PASSWORD).await;
        let (browser, page) = sign_in(&s, "lonely@example.com", "/console").await;
        assert!(page.body.contains("You are not in any project yet"), "{}", page.body);
        assert!(
            page.body.contains("<strong>lonely@example.com</strong>"),
            "the email to give an admin is shown"
        );
        let created = browser
            .submit(&form_to(&page, "/console/projects"), &[("name", "Mine")], None)
            .await;
        let landing = browser.follow(created).await;
        assert!(
            landing.body.contains("Project Mine created.") && landing.body.contains("id=\"new-client\""),
            "its creator administers it"
        );
        let (_, audit) = s.call(Method::GET, "/accounts/projects", None).await;
        assert!(audit.to_string().contains("\"Mine\""));
    }
);

api_test!(
    a_server_admin_creates_a_project_from_the_console_and_lands_on_its_clients,
    |s| {
        let admin = "admin@example.com";
        let id = s.user(admin, PASSWORD).await;
        let (st, v) = s
            .call(
                Method::POST,
                &format!("/accounts/projects/{}/users", s.system_project),
                Some(serde_json::json!({ "user_id": id, "is_admin": true })),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let (browser, page) = sign_in(&s, admin, "/console").await;
        let form = form_to(&page, "/console/projects");
        let empty = browser.submit(&form, &[("name", "")], None).await;
        assert_eq!(empty.status, 400);
        assert!(
            empty
                .body
                .contains("aria-invalid=\"true\" aria-describedby=\"project-name-error\"")
        );
        let created = browser.submit(&form, &[("name", "Orbit")], None).await;
        assert_eq!(created.status, 303);
        let landing = browser.follow(created).await;
        assert_console_page(&landing);
        assert!(landing.url.ends_with("/clients") && landing.body.contains("Project Orbit created."));
        assert!(
            landing.body.contains("<option value=") && landing.body.contains(" selected>Orbit</option>"),
            "the switcher shows the project"
        );
        let switched = browser
            .get(&format!("/console/switch?project={}", s.system_project))
            .await;
        assert_eq!(
            switched.location.as_deref(),
            Some(format!("/console/projects/{}/clients", s.system_project).as_str())
        );
    }
);
