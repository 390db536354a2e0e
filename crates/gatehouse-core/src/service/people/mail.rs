//! The messages of the mail flows, in plain text and simple HTML. Links point at the issuer.

use crate::people::{INVITATION_TTL_SECS, Mail, RESET_LINK_TTL_SECS, SIGNUP_LINK_TTL_SECS};
use crate::service::Gatehouse;

/// HTML-escapes text for element content and quoted attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A mail of paragraphs and one link, both as text and as HTML.
fn compose(to: &str, subject: &str, paragraphs: &[&str], link: (&str, &str)) -> Mail {
    let (label, url) = link;
    let mut text = String::new();
    let mut html = String::from("<!doctype html><html><body style=\"font-family: sans-serif; line-height: 1.5\">");
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", esc(p)));
    }
    text.push_str(&format!("{label}: {url}\n\n-- \nGatehouse\n"));
    html.push_str(&format!(
        "<p><a href=\"{0}\">{1}</a></p><p style=\"color: #555\">{0}</p><p style=\"color: #555\">Gatehouse</p></body></html>",
        esc(url),
        esc(label)
    ));
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

fn hours(secs: i64) -> i64 {
    secs / 3600
}

impl Gatehouse {
    fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.provider.config.issuer)
    }

    pub(super) fn verify_mail(&self, to: &str, token: &str) -> Mail {
        compose(
            to,
            "Confirm your email address",
            &[
                "Someone, hopefully you, asked to create a Gatehouse account with this address.",
                &format!(
                    "Follow the link within {} hours to confirm the address and finish. If it was not you, ignore this mail: no account is created.",
                    hours(SIGNUP_LINK_TTL_SECS)
                ),
            ],
            ("Confirm my address", &self.link("/signup/verify", token)),
        )
    }

    pub(super) fn already_registered_mail(&self, to: &str) -> Mail {
        compose(
            to,
            "You already have an account",
            &[
                "Someone, hopefully you, asked to create a Gatehouse account with this address, which already has one.",
                "Sign in with it; if you forgot its password, the sign-in page lets you set a new one. If it was not you, ignore this mail.",
            ],
            ("Sign in", &format!("{}/login", self.provider.config.issuer)),
        )
    }

    pub(super) fn reset_mail(&self, to: &str, token: &str) -> Mail {
        compose(
            to,
            "Set a new password",
            &[
                "Someone, hopefully you, asked to set a new password for the Gatehouse account of this address.",
                &format!(
                    "Follow the link within {} hour to choose a new one; doing so signs the account out everywhere. If it was not you, ignore this mail: the password stays as it is.",
                    hours(RESET_LINK_TTL_SECS)
                ),
            ],
            ("Choose a new password", &self.link("/reset/confirm", token)),
        )
    }

    /// The invitation to `project`; `offers_sign_up`: the project's sign-up policy lets an
    /// invited person without an account create one.
    pub(super) fn invitation_mail(
        &self,
        to: &str,
        project: &str,
        has_account: bool,
        offers_sign_up: bool,
        token: &str,
    ) -> Mail {
        let issuer = &self.provider.config.issuer;
        let ttl = format!(
            "The invitation waits {} days for your answer.",
            hours(INVITATION_TTL_SECS) / 24
        );
        let intro = format!("You are invited to join the project \u{201c}{project}\u{201d} on Gatehouse.");
        if has_account || !offers_sign_up {
            let next = if has_account {
                "Sign in and accept it on your account page."
            } else {
                "Ask this server's administrators for an account with this address, then sign in and accept it on your account page."
            };
            compose(
                to,
                &format!("Join {project} on Gatehouse"),
                &[&intro, next, &ttl],
                ("Open my account page", &format!("{issuer}/account")),
            )
        } else {
            compose(
                to,
                &format!("Join {project} on Gatehouse"),
                &[
                    &intro,
                    "Create your account with this address through the link, then accept the invitation on your account page.",
                    &ttl,
                ],
                ("Create my account", &format!("{issuer}/signup?invitation={token}")),
            )
        }
    }
}
