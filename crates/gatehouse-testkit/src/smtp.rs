//! A real SMTP server for the mail flows' tests: Python's `aiosmtpd` (in the virtual environment
//! `.ci/run` makes at `~/.cache/gatehouse/venv-smtp`) on a free loopback port, writing each
//! message it receives, decoded, as one JSON file (`to`, `subject`, `text`, `html`) into a
//! directory the test reads. Without the environment the tests skip with the reason printed,
//! unless `GATEHOUSE_TEST_SMTP=1` demands it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const SERVER: &str = r#"
import email, json, os, sys, threading, uuid
from email import policy
from aiosmtpd.controller import Controller

out, port = sys.argv[1], int(sys.argv[2])

class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "to": envelope.rcpt_tos,
            "from": envelope.mail_from,
            "subject": str(msg["subject"]),
            "text": plain.get_content() if plain else "",
            "html": html.get_content() if html else "",
        }
        name = str(uuid.uuid4())
        with open(os.path.join(out, "." + name), "w") as f:
            json.dump(record, f)
        os.rename(os.path.join(out, "." + name), os.path.join(out, name + ".json"))
        return "250 Message accepted for delivery"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Received {
    /// The first `http(s)://…` link of the plain-text body that contains `path`.
    pub fn link(&self, path: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(path))
            .map(str::to_owned)
    }
}

/// A running SMTP server; stopped (and its directory removed) on drop.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl SmtpServer {
    /// Starts the server, or `None` (the reason printed) when `aiosmtpd` is not installed and
    /// `GATEHOUSE_TEST_SMTP` does not demand it.
    pub async fn start() -> Option<Self> {
        let python = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".cache/gatehouse/venv-smtp/bin/python");
        if !python.exists() {
            let why = format!("no aiosmtpd at {} (.ci/run installs it)", python.display());
            assert!(std::env::var("GATEHOUSE_TEST_SMTP").as_deref() != Ok("1"), "{why}");
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("gatehouse-smtp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mail directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&python)
            .args(["-c", SERVER])
            .arg(&dir)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = Self { child, port, dir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on port {port}");
    }

    /// The `smtp_url` of this server (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, p)| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
            .map(|v| Received {
                to: v["to"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                subject: v["subject"].as_str().unwrap_or("").to_owned(),
                text: v["text"].as_str().unwrap_or("").to_owned(),
                html: v["html"].as_str().unwrap_or("").to_owned(),
            })
            .collect()
    }

    /// The messages to `to` (any case), once there are at least `count` (waits up to 15 s).
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
                .collect();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} messages to {to} arrived: {:?}", self.received());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
