//! `auth login|whoami|logout` against the real server: the device sign-in approved (or denied)
//! in a form-following browser, the saved tokens used, refreshed and revoked.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser as _;
use gatehouse::Cli;
use gatehouse_client::types::CreateUser;
use gatehouse_client::{Client, Credential};
use gatehouse_testkit::Browser;
use serde_json::Value;

use super::{Gatehouse, Outcome, assert_fails_with, parse, run_cli, str_of, words};

/// Standard output shared with a command still running, so its prompt can be read mid-way.
#[derive(Clone, Default)]
struct SharedOut(Arc<Mutex<Vec<u8>>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOut {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("stdout is UTF-8")
    }

    /// The user code, read from the `…?user_code=XXXX-XXXX` link of the prompt.
    async fn user_code(&self) -> String {
        for _ in 0..400 {
            let text = self.text();
            if let Some(rest) = text.split("user_code=").nth(1) {
                let code: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                if code.len() == 9 {
                    return code;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no user code was printed: {:?}", self.text());
    }
}

impl Gatehouse {
    /// `gatehouse LINE` with this server and config directory, and no API key: the saved
    /// sign-in is the credential.
    fn signed_in_argv(&self, line: &str) -> Vec<String> {
        let mut argv = vec![
            "gatehouse".to_owned(),
            format!("--server={}", self.base),
            format!("--cli-config={}", self.dir.join("cli.json").display()),
        ];
        argv.extend(words(line));
        argv
    }

    pub(super) async fn run_signed_in(&self, line: &str) -> Outcome {
        run_cli(self.signed_in_argv(line)).await
    }

    fn credentials_file(&self) -> PathBuf {
        self.dir.join("credentials.json")
    }

    /// The one sign-in saved in `credentials.json`.
    fn saved_tokens(&self) -> Value {
        let text = std::fs::read_to_string(self.credentials_file()).expect("credentials.json");
        let saved = parse(&text);
        let servers = saved["servers"].as_object().expect("servers");
        assert_eq!(servers.len(), 1, "{servers:?}");
        assert!(servers.contains_key(&format!("{}/", self.base)), "{servers:?}");
        servers.values().next().expect("one").clone()
    }

    /// A user with a password, created by the server admin.
    pub(super) async fn user(&self, email: &str, password: &str) {
        let admin = Client::new(&self.base, Some(Credential::new(self.admin_key.clone()))).expect("client");
        let input = CreateUser {
            email: email.into(),
            name: "Dana Developer".into(),
            password: password.into(),
        };
        admin.create_user(&input).await.expect("user created");
    }

    /// Runs `auth login` while a browser signs in as `email` and answers `decision` for the
    /// printed code; returns what login printed and how it ended.
    pub(super) async fn login_answered(&self, email: &str, password: &str, decision: &str) -> (String, Outcome) {
        let out = SharedOut::default();
        let cli = Cli::try_parse_from(self.signed_in_argv("auth login")).expect("parses");
        let mut writer = out.clone();
        let login = async {
            match gatehouse::run_with_output(cli, &mut writer).await {
                Ok(()) => Ok(String::new()),
                Err(err) => Err((i32::from(gatehouse::exit_code(&err)), format!("{err:#}"))),
            }
        };
        let browser = async {
            let code = out.user_code().await;
            assert!(out.text().contains(&format!("{}/device ", self.base)), "{}", out.text());
            self.answer_device_request(&code, email, password, decision).await;
        };
        let (outcome, ()) = tokio::join!(login, browser);
        (out.text(), outcome)
    }

    /// Signs in at `/login` in a browser, enters the code at `/device`, and answers `decision`
    /// (`allow` or `deny`) on the confirmation page.
    async fn answer_device_request(&self, user_code: &str, email: &str, password: &str, decision: &str) {
        let browser = Browser::new(&self.base);
        let page = browser
            .follow(browser.get(&format!("/device?user_code={user_code}")).await)
            .await;
        let form = page.form();
        assert_eq!(form.action, "/login", "signing in comes first: {}", page.body);
        let page = browser
            .submit(&form, &[("email", email), ("password", password)], None)
            .await;
        let page = browser.follow(page).await;
        let form = page.form();
        assert_eq!(form.action, "/device", "{}", page.body);
        let code = form.fields.iter().find(|(name, _)| name == "user_code");
        assert_eq!(
            code.map(|(_, v)| v.as_str()),
            Some(user_code),
            "the link prefills the code"
        );
        let page = browser.submit(&form, &[], None).await;
        let form = page.form();
        assert_eq!(form.action, "/device/confirm", "{}", page.body);
        let page = browser.submit(&form, &[], Some(("decision", decision))).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
}

fn assert_no_api_key_in_environment() {
    assert!(
        std::env::var_os("GATEHOUSE_API_KEY").is_none(),
        "unset GATEHOUSE_API_KEY: it replaces the saved sign-in under test"
    );
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

e2e_test!(device_sign_in_works_refreshes_an_expired_token_and_signs_out, |gh| {
    assert_no_api_key_in_environment();
    let (email, password) = ("dana@acme.example", "correct horse battery staple");
    gh.user(email, password).await;
    assert_fails_with(gh.run_signed_in("auth whoami").await, "not signed in");

    let (printed, outcome) = gh.login_answered(email, password, "allow").await;
    outcome.expect("auth login succeeds");
    assert!(
        printed.ends_with(&format!("Signed in to {}/ as Dana Developer <{email}>.\n", gh.base)),
        "{printed}"
    );

    #[cfg(unix)]
    assert_eq!(mode(&gh.credentials_file()), 0o600, "credentials are owner-only");
    let first = gh.saved_tokens();
    let (access, refresh) = (str_of(&first, "access_token"), str_of(&first, "refresh_token"));
    assert!(
        !printed.contains(access) && !printed.contains(refresh),
        "no token is printed"
    );
    assert_eq!(first["client_id"], "gatehouse-cli");

    let me = parse(&gh.run_signed_in("-o json auth whoami").await.expect("whoami"));
    assert_eq!(me["email"], email);
    let shown = gh.run_signed_in("auth whoami").await.expect("whoami");
    assert!(shown.contains(&format!("Email:    {email}")), "{shown}");

    // The access token expired: the next command refreshes it first, and saves the rotated pair.
    let mut expired = parse(&std::fs::read_to_string(gh.credentials_file()).expect("read"));
    for tokens in expired["servers"].as_object_mut().expect("servers").values_mut() {
        tokens["expires_at"] = 0.into();
    }
    std::fs::write(gh.credentials_file(), expired.to_string()).expect("write");
    let project = parse(
        &gh.run_signed_in("-o json project create --name Mine")
            .await
            .expect("as the user"),
    );
    assert_eq!(project["name"], "Mine");
    let second = gh.saved_tokens();
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "the refresh token rotated"
    );
    assert_ne!(second["access_token"], first["access_token"]);
    assert!(second["expires_at"].as_u64().expect("expires_at") > gatehouse::credentials::now());
    #[cfg(unix)]
    assert_eq!(
        mode(&gh.credentials_file()),
        0o600,
        "still owner-only after the refresh"
    );
    let listed = gh
        .run_signed_in("-o json project list")
        .await
        .expect("no second refresh needed");
    assert_eq!(parse(&listed)["projects"][0]["id"], project["id"]);

    let signed_out = gh.run_signed_in("auth logout").await.expect("logout");
    assert_eq!(signed_out, format!("Signed out of {}/.\n", gh.base));
    assert!(!gh.credentials_file().exists(), "the credentials file is removed");
    let oauth = Client::new(&gh.base, None).expect("client");
    for spent in [str_of(&second, "refresh_token"), refresh] {
        let refused = oauth.refresh_token("gatehouse-cli", spent).await.expect_err("revoked");
        assert_eq!(refused.code(), Some("invalid_grant"), "{refused}");
    }
    assert_fails_with(gh.run_signed_in("auth whoami").await, "not signed in");
    let again = gh.run_signed_in("auth logout").await.expect("logout twice");
    assert_eq!(again, format!("Not signed in to {}/.\n", gh.base));
});

e2e_test!(a_denied_device_sign_in_fails_on_one_line_and_saves_nothing, |gh| {
    assert_no_api_key_in_environment();
    let (email, password) = ("eve@acme.example", "another long password");
    gh.user(email, password).await;
    let (_, outcome) = gh.login_answered(email, password, "deny").await;
    assert_fails_with(outcome, "denied");
    assert!(!gh.credentials_file().exists());
});

e2e_test!(whoami_with_an_api_key_names_its_project, |gh| {
    let shown = gh.json("auth whoami").await;
    assert_eq!(shown["project"]["id"], gh.system_project.as_str());
    assert!(shown["api_key_id"].is_string(), "{shown}");
    let table = gh.run("auth whoami").await.expect("whoami");
    assert!(table.contains(&gh.system_project), "{table}");
});
