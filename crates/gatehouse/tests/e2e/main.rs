//! End-to-end tests: the CLI against the real server, started in-process on port 0 with a fresh
//! database. Every test runs on SQLite, and on PostgreSQL too when `GATEHOUSE_TEST_POSTGRES_URL`
//! is set (then it must be reachable: an unreachable database fails the run instead of skipping).
//!
//! Commands are parsed and run as `main.rs` runs them, with stdout captured; a failure is seen as
//! the user sees it, an exit code and the `{err:#}` line. The sign-in commands are in [`auth`],
//! `keys rotate` in [`keys`].

use base64::Engine as _;
use calamine::{Reader as _, Xlsx};
use clap::Parser as _;
use gatehouse::Cli;
use gatehouse_core::time::SystemClock;
use gatehouse_testkit::{Backend, TestServer, backends};
use serde_json::{Value, json};

/// What a command printed on success, or its exit code and error message.
type Outcome = Result<String, (i32, String)>;

/// Splits a command line as a shell would: on spaces, except inside single quotes.
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut in_word) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => (quoted, in_word) = (!quoted, true),
            ' ' if !quoted => {
                if std::mem::take(&mut in_word) {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {line:?}");
    words.extend(in_word.then_some(word));
    words
}

/// Parses and runs one command line, as `main.rs` does.
async fn run_cli(argv: Vec<String>) -> Outcome {
    let cli = Cli::try_parse_from(argv).map_err(|e| (e.exit_code(), e.to_string()))?;
    let mut out = Vec::new();
    match gatehouse::run_with_output(cli, &mut out).await {
        Ok(()) => Ok(String::from_utf8(out).expect("stdout is UTF-8")),
        Err(err) => Err((i32::from(gatehouse::exit_code(&err)), format!("{err:#}"))),
    }
}

/// Asserts a failure as the user sees it: exit code 1 and one line that mentions `needle`.
fn assert_fails_with(outcome: Outcome, needle: &str) -> String {
    let (code, message) = outcome.expect_err("the command fails");
    assert_eq!(code, 1, "exit code of {message:?}");
    assert!(!message.contains('\n'), "the error is one line: {message:?}");
    assert!(message.contains(needle), "{message:?} should mention {needle:?}");
    message
}

fn parse(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {value}"))
}

/// A running server (its bootstrap admin key, its directory for `cli.json` and files) that
/// runs CLI commands against itself.
struct Gatehouse(TestServer);

impl std::ops::Deref for Gatehouse {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.0
    }
}

impl std::ops::DerefMut for Gatehouse {
    fn deref_mut(&mut self) -> &mut TestServer {
        &mut self.0
    }
}

impl Gatehouse {
    async fn start(backend: &Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// [`Gatehouse::start`] with settings changed by `tune`.
    async fn start_with(backend: &Backend, tune: impl FnOnce(&mut gatehouse_server::Config)) -> Self {
        let clock = std::sync::Arc::new(SystemClock);
        let s = TestServer::spawn_named("gh_cli_", backend.clone(), tune, clock).await;
        assert!(!s.admin_key.is_empty(), "a fresh database is bootstrapped");
        Self(s)
    }

    /// Runs `gatehouse LINE` against this server, authenticated with `key`.
    async fn run_as(&self, key: &str, line: &str) -> Outcome {
        let mut argv = vec![
            "gatehouse".to_owned(),
            format!("--server={}", self.base),
            format!("--api-key={key}"),
            format!("--cli-config={}", self.dir.join("cli.json").display()),
        ];
        argv.extend(words(line));
        run_cli(argv).await
    }

    /// Runs a command as the server admin.
    async fn run(&self, line: &str) -> Outcome {
        self.run_as(&self.admin_key, line).await
    }

    /// Runs a command that must succeed, with `-o json`, as `key`; returns what it printed.
    async fn json_as(&self, key: &str, line: &str) -> Value {
        match self.run_as(key, &format!("-o json {line}")).await {
            Ok(stdout) => parse(&stdout),
            Err((code, message)) => panic!("`gatehouse {line}` failed ({code}): {message}"),
        }
    }

    /// [`Gatehouse::json_as`] as the server admin.
    async fn json(&self, line: &str) -> Value {
        self.json_as(&self.admin_key, line).await
    }

    /// A new active project (as the admin) and an API key of it: `(key id, key value)`.
    async fn project_with_key(&self, name: &str) -> (String, String) {
        self.json(&format!("project create --name '{name}' --activate")).await;
        let key = self.json("api-key create --name backend").await;
        (str_of(&key, "id").to_owned(), str_of(&key, "value").to_owned())
    }

    /// A path in the private directory.
    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

/// A test run once per backend, each time on a fresh server bound to `$gh`.
macro_rules! e2e_test {
    ($name:ident, |$gh:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in crate::backends() {
                eprintln!("backend: {}", backend.name());
                let $gh = crate::Gatehouse::start(&backend).await;
                $body
                $gh.stop().await;
            }
        }
    };
}

mod auth;
mod idp;
mod keys;
mod llm;
mod nodes;
mod oauth2;
mod projects;
mod resources;
mod rooms;
mod users;

e2e_test!(the_readme_walkthrough_works_end_to_end, |gh| {
    assert!(
        std::env::var_os("GATEHOUSE_PROJECT").is_none(),
        "unset GATEHOUSE_PROJECT: it overrides the active project under test"
    );
    let project = gh.json("project create --name Acme --activate").await;
    assert_eq!(project["name"], "Acme");
    assert_eq!(gh.json("project get").await["id"], project["id"], "Acme is active");

    let created_key = gh.json("api-key create --name backend").await;
    let key = str_of(&created_key, "value");
    assert!(key.starts_with("ma-"), "{key}");
    let keys = gh.run("-o json api-key list").await.expect("api-key list");
    assert!(keys.contains(str_of(&created_key, "id")), "{keys}");
    assert!(!keys.contains(key), "the value is shown once, at creation");

    // From here on, as the new key.
    let create = "client create --name 'Acme web' --redirect-uri https://app.acme.example/callback \
                  --scope 'openid profile email'";
    let created = gh.json_as(key, create).await;
    let client = &created["client"];
    let id = str_of(client, "client_id");
    let secret = str_of(client, "client_secret");
    assert_eq!(client["project_id"], project["id"]);
    assert_eq!(client["redirect_uris"], json!(["https://app.acme.example/callback"]));
    assert_eq!(client["scope"], "openid profile email");

    let shown = gh.run_as(key, &format!("client get {id}")).await.expect("client get");
    assert!(shown.contains(id) && shown.contains("Acme web"), "{shown}");
    assert!(!shown.contains(secret), "the secret is never shown again: {shown}");
    let shown = gh.json_as(key, &format!("client get {id}")).await;
    assert_eq!(shown["client"]["has_client_secret"], true);
    assert!(shown["client"].get("client_secret").is_none(), "{shown}");

    let updated = gh
        .json_as(key, &format!("client update {id} --name 'Acme web v2'"))
        .await;
    assert_eq!(updated["client"]["name"], "Acme web v2");
    assert_eq!(
        updated["client"]["redirect_uris"], client["redirect_uris"],
        "the rest is unchanged"
    );

    let rotated = gh
        .json_as(key, &format!("client rotate-secret {id} --grace-seconds 60"))
        .await;
    let new_secret = str_of(&rotated, "client_secret");
    assert!(!new_secret.is_empty() && new_secret != secret, "a new secret");

    let other = gh
        .json_as(
            key,
            "client create --name Billing --redirect-uri https://billing.example/cb",
        )
        .await;
    let other = str_of(&other["client"], "client_id");
    let acme = gh.json_as(key, "client list --filter acme").await;
    assert_eq!(acme["total"], 1, "{acme}");
    assert_eq!(acme["clients"][0]["client_id"], id);
    assert_eq!(gh.json_as(key, "client list").await["total"], 2);
    let mut all = vec![id.to_owned(), other.to_owned()];
    all.sort();

    let xlsx = gh.file("clients.xlsx");
    let printed = gh
        .run_as(key, &format!("client export --format xlsx --out '{xlsx}'"))
        .await;
    assert_eq!(printed.expect("xlsx export"), format!("{xlsx}\n"));
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).expect("a real workbook");
    let sheet = book.worksheet_range_at(0).expect("a sheet").expect("readable");
    let mut ids: Vec<String> = sheet.rows().skip(1).map(|row| row[0].to_string()).collect();
    ids.sort();
    assert_eq!(ids, all);

    let pdf = gh.file("clients.pdf");
    let printed = gh
        .run_as(key, &format!("client export --format pdf --out '{pdf}'"))
        .await;
    printed.expect("pdf export");
    let doc = lopdf::Document::load_mem(&std::fs::read(&pdf).expect("the PDF")).expect("a real PDF");
    let text = doc.extract_text(&doc.get_pages().into_keys().collect::<Vec<_>>());
    let text = text.expect("the PDF has text");
    for id in &all {
        assert!(text.contains(id.as_str()), "{id} missing from the PDF text");
    }

    let csv = gh.run_as(key, "client export --format csv --out -").await;
    let csv = csv.expect("csv export to stdout");
    let lines: Vec<&str> = csv.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("Client ID,"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(all.iter().all(|id| csv.contains(id.as_str())), "{csv}");

    let deleted = gh.run_as(key, &format!("client delete {id}")).await;
    assert_eq!(deleted.expect("client delete"), format!("Deleted client {id}.\n"));
    assert_fails_with(gh.run_as(key, &format!("client get {id}")).await, "404");
    assert_eq!(gh.json_as(key, "client list").await["total"], 1);
});

e2e_test!(a_keys_secret_round_trips_and_its_listing_never_shows_the_data, |gh| {
    let (_, key) = gh.project_with_key("Secrets").await;
    let data = json!({ "DATABASE_URL": "postgres://db.internal/app", "GREETING": "hello world" });
    let info = gh
        .json_as(
            &key,
            &format!("secret create --name app-env --type keys --data '{data}'"),
        )
        .await;
    assert_eq!((&info["name"], &info["type"]), (&json!("app-env"), &json!("keys")));
    let id = str_of(&info, "id");

    let listed = gh.run_as(&key, "-o json secret list").await.expect("secret list");
    assert!(
        !listed.contains("db.internal") && !listed.contains("data_base64"),
        "{listed}"
    );
    assert_eq!(parse(&listed)["secrets"], json!([info]));

    let secret = gh.json_as(&key, &format!("secret get {id}")).await;
    let bytes = base64::engine::general_purpose::STANDARD.decode(str_of(&secret, "data_base64"));
    let bytes = bytes.expect("base64");
    assert_eq!(serde_json::from_slice::<Value>(&bytes).expect("JSON data"), data);
    let table = gh.run_as(&key, &format!("secret get {id}")).await.expect("secret get");
    assert!(table.contains("GREETING      hello world"), "{table}");

    let deleted = gh.run_as(&key, &format!("secret delete {id}")).await;
    assert_eq!(deleted.expect("secret delete"), format!("Deleted secret {id}.\n"));
    assert_eq!(gh.json_as(&key, "secret list").await["secrets"], json!([]));
    assert_fails_with(gh.run_as(&key, &format!("secret get {id}")).await, "404");
});

e2e_test!(the_audit_log_lists_what_was_done_newest_first_and_by_which_key, |gh| {
    let (key_id, key) = gh.project_with_key("Audited").await;
    let created = gh
        .json_as(&key, "client create --name App --redirect-uri https://a.example/cb")
        .await;
    let id = str_of(&created["client"], "client_id");
    for line in [
        format!("client update {id} --name Renamed"),
        format!("client rotate-secret {id}"),
        format!("client delete {id}"),
    ] {
        gh.run_as(&key, &line).await.expect("client command");
    }

    let audit = gh.json_as(&key, "audit list").await;
    let events = audit["events"].as_array().expect("events");
    assert_eq!(audit["total"], events.len(), "{audit}");
    let actions: Vec<&str> = events.iter().map(|e| str_of(e, "action")).collect();
    let newest_first = [
        "client.delete",
        "client.secret.rotate",
        "client.update",
        "client.create",
        "api_key.create",
        "project.create",
    ];
    assert_eq!(actions, newest_first, "{audit}");
    let create = &events[3];
    let actor = (str_of(create, "actor_type"), str_of(create, "actor_id"));
    assert_eq!(actor, ("api_key", key_id.as_str()));
    assert_eq!(str_of(create, "target_id"), id);
});

e2e_test!(a_wrong_api_key_fails_with_401_on_one_line, |gh| {
    gh.run("project list").await.expect("the admin key works");
    let message = assert_fails_with(gh.run_as("ma-not-a-real-key", "project list").await, "401");
    assert!(
        !message.contains("ma-not-a-real-key"),
        "the key is not echoed: {message}"
    );
});

e2e_test!(an_unknown_project_fails_with_404, |gh| {
    let missing = uuid::Uuid::new_v4();
    assert_fails_with(gh.run(&format!("--project {missing} client list")).await, "404");
    // A project that exists but is not the key's own is just as unknown to it.
    let (_, key) = gh.project_with_key("Tenant").await;
    let line = format!("--project {} client list", gh.system_project);
    assert_fails_with(gh.run_as(&key, &line).await, "404");
});

e2e_test!(a_client_without_redirect_uris_is_refused_naming_the_field, |gh| {
    let (_, key) = gh.project_with_key("Validation").await;
    let message = assert_fails_with(gh.run_as(&key, "client create --name x").await, "redirect_uris");
    assert!(message.starts_with("400 "), "{message}");
    assert_eq!(gh.json_as(&key, "client list").await["total"], 0, "nothing was created");
});

e2e_test!(a_deleted_api_key_is_refused_with_401_at_once, |gh| {
    let (key_id, key) = gh.project_with_key("Revocation").await;
    gh.run_as(&key, "client list").await.expect("the key works before");
    let revoked = gh.run(&format!("api-key delete {key_id}")).await;
    assert_eq!(revoked.expect("api-key delete"), format!("Revoked API key {key_id}.\n"));
    assert_fails_with(gh.run_as(&key, "client list").await, "401");
    let keys = gh.run("-o json api-key list").await.expect("api-key list");
    assert!(!keys.contains(&key_id), "{keys}");
});

#[tokio::test]
async fn an_unreachable_server_fails_with_exit_code_one_on_one_line() {
    let config = std::env::temp_dir().join(format!("gatehouse-cli-e2e-{}/cli.json", uuid::Uuid::new_v4().simple()));
    let line = format!(
        "gatehouse --server http://127.0.0.1:1 --api-key ma-unused --cli-config {} project list",
        config.display()
    );
    let message = assert_fails_with(run_cli(words(&line)).await, "request failed");
    assert!(message.contains("127.0.0.1:1"), "{message}");
}

#[test]
fn command_lines_split_like_a_shell() {
    assert_eq!(words(" a  'b c' '' d"), ["a", "b c", "", "d"]);
}
