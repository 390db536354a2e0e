//! The [`Mailer`]s: SMTP through lettre (implicit TLS with `smtps://`, STARTTLS with
//! `smtp://…?tls=required`, plain SMTP only to a loopback address), or, without SMTP configured,
//! one file per message under `<data_dir>/mail/` whose path is logged, so that a server on one
//! machine can still complete a sign-up. Message bodies carry link secrets and are never logged.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use gatehouse_core::people::Mail;
use gatehouse_core::ports::Mailer;
use gatehouse_core::secret::SecretString;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Mail through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Whether `host` (as a URL writes it) is a loopback address or `localhost`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpMailer {
    /// A mailer for `url` (`smtps://user@host:465`, `smtp://host:587?tls=required`, or
    /// `smtp://127.0.0.1:25` on loopback), signing in with `password` when the URL names a user.
    pub fn new(url: &str, password: Option<&SecretString>, from: &str) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).context("smtp_url is not a URL")?;
        anyhow::ensure!(
            parsed.password().is_none(),
            "smtp_url must not hold the password: give it as smtp_password or GATEHOUSE_SMTP_PASSWORD_FILE"
        );
        let host = parsed.host_str().context("smtp_url has no host")?;
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        match (parsed.scheme(), tls.as_deref()) {
            ("smtps", None) | ("smtp", Some("required")) => {}
            ("smtp", None) => anyhow::ensure!(
                is_loopback(host),
                "smtp_url: plain smtp:// only reaches a loopback address; use smtps:// or smtp://…?tls=required"
            ),
            _ => anyhow::bail!("smtp_url must be smtps://host[:port] or smtp://host[:port]?tls=required"),
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("smtp_url")?
            .timeout(Some(SMTP_TIMEOUT));
        if !parsed.username().is_empty() {
            let user = percent_encoding::percent_decode_str(parsed.username())
                .decode_utf8()
                .context("smtp_url user")?
                .into_owned();
            let password =
                password.context("smtp_url names a user: give smtp_password or GATEHOUSE_SMTP_PASSWORD_FILE")?;
            builder = builder.credentials(Credentials::new(user, password.expose_secret().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from: from
                .parse()
                .context("smtp_from is not a mailbox (name <address> or address)")?,
        })
    }
}

fn message(from: &Mailbox, mail: &Mail) -> anyhow::Result<Message> {
    Message::builder()
        .from(from.clone())
        .to(mail.to.parse().context("the recipient is not a mailbox")?)
        .subject(&mail.subject)
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .context("building the message")
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> gatehouse_core::Result<()> {
        let msg = message(&self.from, mail).map_err(gatehouse_core::Error::unexpected)?;
        self.transport
            .send(msg)
            .await
            .map_err(|e| gatehouse_core::Error::unexpected(anyhow::anyhow!("SMTP: {e}")))?;
        tracing::info!(subject = %mail.subject, "mail sent");
        Ok(())
    }
}

/// Mail written to files (mode 0600) in a directory, one `.eml` per message.
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        Ok(Self {
            dir,
            from: from
                .parse()
                .context("smtp_from is not a mailbox (name <address> or address)")?,
        })
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &Mail) -> gatehouse_core::Result<()> {
        let write = || -> anyhow::Result<PathBuf> {
            let msg = message(&self.from, mail)?;
            crate::config::ensure_private_dir(&self.dir)?;
            let path = self.dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
            let mut file = crate::config::create_private_file(&path)?;
            std::io::Write::write_all(&mut file, &msg.formatted())?;
            Ok(path)
        };
        let path = write().map_err(gatehouse_core::Error::unexpected)?;
        tracing::info!(path = %path.display(), subject = %mail.subject, "no SMTP server is configured: mail written to a file");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_reaches_only_loopback_and_passwords_stay_out_of_the_url() {
        let from = "Gatehouse <gatehouse@example.com>";
        let pw = SecretString::new("pw");
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", None, from).is_ok());
        assert!(SmtpMailer::new("smtp://[::1]:2525", None, from).is_ok());
        assert!(SmtpMailer::new("smtps://mailer@smtp.example.com:465", Some(&pw), from).is_ok());
        assert!(SmtpMailer::new("smtp://smtp.example.com:587?tls=required", None, from).is_ok());
        for (url, why) in [
            ("smtp://smtp.example.com:25", "loopback"),
            ("smtp://smtp.example.com?tls=opportunistic", "smtps://"),
            ("http://smtp.example.com", "smtps://"),
            ("smtps://u:secret@smtp.example.com", "must not hold the password"),
            ("smtps://u@smtp.example.com", "smtp_password"),
        ] {
            let e = SmtpMailer::new(url, None, from)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        assert!(SmtpMailer::new("smtp://127.0.0.1", None, "not a mailbox").is_err());
    }
}
