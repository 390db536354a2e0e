//! The pages, rendered on the server: plain HTML that works without JavaScript.
//!
//! Everything that comes from outside (the prompt's fields, the provider's error, the room and
//! identity settings) goes through [`escape`]; only the fixed markup here is written raw.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::prompts::Pending;

/// How often the list of prompts reloads itself, in seconds.
const REFRESH_SECS: u32 = 5;

/// `s` made safe for HTML text and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What every page says about where the app sits.
#[derive(Debug, Clone, Copy)]
pub struct Seat<'a> {
    pub room: &'a str,
    pub identity: &'a str,
    /// This app's OAuth callback, which a prompt must name for the answer to come back here.
    pub callback: &'a str,
    /// The token the page's state-changing links and forms carry.
    pub csrf: &'a str,
}

/// `GET /`: the open prompts, each with Allow and Reject.
pub fn index(seat: Seat<'_>, prompts: &[Pending], now: OffsetDateTime) -> String {
    let mut body = format!(
        "<h1>Consent requests</h1>\n<p>Room <b>{}</b>, as <b>{}</b>. This page reloads every {REFRESH_SECS} s \
         (<a href=\"/\">reload now</a>).</p>\n",
        escape(seat.room),
        escape(seat.identity),
    );
    if prompts.is_empty() {
        body.push_str("<p>No requests are waiting.</p>\n");
    }
    for p in prompts {
        body.push_str(&prompt(seat, p, now));
    }
    layout("Consent requests", true, &body)
}

fn prompt(seat: Seat<'_>, p: &Pending, now: OffsetDateTime) -> String {
    let request = &p.prompt.request;
    let mut out = String::from("<section class=\"prompt\">\n");
    let _ = writeln!(
        out,
        "<p><b>{}</b> asks for access to your account at <b>{}</b> (client <code>{}</code>).</p>",
        escape(&p.prompt.requested_by.name),
        escape(&crate::provider_host(&request.authorization_endpoint)),
        escape(&request.client_id),
    );
    let scopes: Vec<String> = request
        .scopes
        .iter()
        .map(|s| format!("<code>{}</code>", escape(s)))
        .collect();
    let scopes = if scopes.is_empty() {
        "the provider's default".to_owned()
    } else {
        scopes.join(" ")
    };
    let _ = writeln!(out, "<p>Scopes: {scopes}</p>");
    let left = (p.expires - now).whole_seconds().max(0);
    let _ = writeln!(out, "<p>Open until {} (in {left} s).</p>", escape(&p.prompt.expires_at));
    if request.redirect_uri == seat.callback {
        let _ = writeln!(
            out,
            "<p><a class=\"allow\" href=\"/prompts/{}/allow?csrf={}\">Allow</a></p>",
            p.n,
            escape(seat.csrf)
        );
    } else {
        let _ = writeln!(
            out,
            "<p class=\"warn\">The provider would send the answer to <code>{}</code>, not to this app \
             (<code>{}</code>), so it can only be rejected here.</p>",
            escape(&request.redirect_uri),
            escape(seat.callback)
        );
    }
    let _ = writeln!(
        out,
        "<form method=\"post\" action=\"/prompts/{}/reject\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></form>",
        p.n,
        escape(seat.csrf)
    );
    out.push_str("</section>\n");
    out
}

/// A page that tells the outcome of something: a title and some lines of text.
pub fn notice(title: &str, lines: &[String]) -> String {
    let mut body = format!("<h1>{}</h1>\n", escape(title));
    for line in lines {
        let _ = writeln!(body, "<p>{}</p>", escape(line));
    }
    body.push_str("<p><a href=\"/\">Back to the requests</a></p>\n");
    layout(title, false, &body)
}

fn layout(title: &str, refresh: bool, body: &str) -> String {
    let refresh = if refresh {
        format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\n")
    } else {
        String::new()
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{refresh}<title>{}</title>\n\
         <style>body{{font-family:sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}}\
         .prompt{{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}}\
         .warn{{color:#a40}}a.allow{{font-weight:bold}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use gatehouse_types::{ConsentPrompt, ConsentRequest, Requester};

    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_prompt_shows_its_fields_escaped() {
        let seat = Seat {
            room: "demo",
            identity: "alice",
            callback: "http://127.0.0.1:3001/callback",
            csrf: "token",
        };
        let p = Pending {
            n: 7,
            prompt: ConsentPrompt {
                request_id: "r".into(),
                requested_by: Requester {
                    participant_id: None,
                    name: "<script>alert(1)</script>".into(),
                },
                request: ConsentRequest {
                    client_id: "c\"lient".into(),
                    authorization_endpoint: "https://accounts.example.com/o/authorize".into(),
                    scopes: vec!["email".into(), "<b>".into()],
                    redirect_uri: seat.callback.into(),
                },
                challenge: None,
                state: "s".into(),
                expires_at: "2026-01-01T10:05:00Z".into(),
            },
            expires: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(60),
        };
        let page = index(seat, &[p], OffsetDateTime::UNIX_EPOCH);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("c&quot;lient"));
        assert!(page.contains("<code>&lt;b&gt;</code>"));
        assert!(page.contains("accounts.example.com"));
        assert!(page.contains("in 60 s"));
        assert!(page.contains("href=\"/prompts/7/allow?csrf=token\""));
        assert!(page.contains("action=\"/prompts/7/reject\""));
    }
}
