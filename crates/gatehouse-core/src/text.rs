//! Checks of free text that crosses into the domain: names, descriptions, emails, list filters,
//! protocol values (ids, secrets, codes) and the JSON objects stored as text. Every use case runs
//! its text input through here, so that a field is refused with the same words wherever it
//! arrives, and refused the same on SQLite and PostgreSQL (which cannot store U+0000 in `text` or
//! `jsonb` and would fail the statement instead of the input).
//!
//! The rules, by kind of text ("control character" is Unicode `Cc`: C0, DEL and C1):
//!
//! - **Names, emails, filters, search strings and protocol values** ([`check_name`],
//!   [`check_email`], [`check_filter`], [`check_text`]): no control character at all. They are
//!   one line, shown in lists, compared and looked up; a tab or newline in them is a mistake or a
//!   trick (a forged log line, a look-alike name).
//! - **Descriptions** ([`check_description`]): free text that may span lines, so tab, line feed
//!   and carriage return are allowed; every other control character (NUL, ESC, bell, …) is refused.
//! - **JSON kept as given** ([`check_json`]: room metadata, grant permissions, participant `api`
//!   grants, client metadata; [`check_no_nul`] for the strings of such data): no NUL in any key
//!   or string at any depth. Other control characters
//!   are data the caller owns, and JSON carries them escaped.
//!
//! Each failure is [`Error::Invalid`] with the field's wire name, answered as 400.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Longest email address (RFC 5321 §4.5.3.1: a 254-octet path).
pub const MAX_EMAIL: usize = 254;

/// Whether a description may hold `c`: tab, line feed and carriage return, and no other control.
fn description_char(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// Checks a protocol value (a client id, a secret, a code) or a looked-up key (an email to find):
/// at most `max` bytes, no control characters, and not empty when `required`.
pub(crate) fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if value.len() > max {
        return Err(Error::invalid(field, format!("must be at most {max} bytes")));
    }
    no_control(field, value)
}

/// Refuses any control character, naming the rule that failed so a person can fix the input.
fn no_control(field: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks a required display name: 1–`max` characters, not blank, no control characters.
pub(crate) fn check_name(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be 1-{max} characters")));
    }
    no_control(field, value)
}

/// Checks a free-text description: at most `max` characters; tabs and line breaks are text, any
/// other control character is refused.
pub(crate) fn check_description(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max || !value.chars().all(description_char) {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters without control characters other than tab and line breaks"),
        ));
    }
    Ok(())
}

/// Checks a list filter or search string: trimmed, `None` when blank, at most `max` characters,
/// no control characters.
pub(crate) fn check_filter<'a>(field: &str, value: Option<&'a str>, max: usize) -> Result<Option<&'a str>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    no_control(field, value)?;
    Ok(Some(value))
}

/// Checks an email address to store, trimmed: one `@`, a non-empty local part, a dotted domain,
/// at most [`MAX_EMAIL`] bytes, no spaces or control characters. Returns it trimmed.
pub(crate) fn check_email<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    let email = value.trim();
    if email.len() > MAX_EMAIL || !is_plausible_email(email) {
        return Err(Error::invalid(field, "must be an email address"));
    }
    Ok(email)
}

/// Checks an email address to look up (a member to add, a user to grant, a sign-in): trimmed, at
/// most `max` bytes, no control characters. Whether it names anyone is the caller's question.
pub(crate) fn check_email_ref<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str> {
    let email = value.trim();
    check_text(field, email, max, false)?;
    Ok(email)
}

/// One `@`, a non-empty local part, a dotted domain, no spaces or control characters.
fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks JSON kept as given: no NUL in any key or string, at any depth.
pub(crate) fn check_json(field: &str, value: &Value) -> Result<()> {
    match value {
        Value::String(s) => check_no_nul(field, s),
        Value::Array(items) => items.iter().try_for_each(|v| check_json(field, v)),
        Value::Object(map) => check_json_map(field, map),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// [`check_json`] of an object.
pub(crate) fn check_json_map(field: &str, map: &Map<String, Value>) -> Result<()> {
    for (k, v) in map {
        check_no_nul(field, k)?;
        check_json(field, v)?;
    }
    Ok(())
}

/// Checks a key or string of data kept as given (JSON, client metadata): no NUL.
pub(crate) fn check_no_nul(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid(
            field,
            "must not contain NUL (\\u0000) in any key or string",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_need_one_at_and_a_dotted_domain() {
        assert_eq!(check_email("email", " ada@example.com ").unwrap(), "ada@example.com");
        for bad in [
            "ada",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@.com",
            "ada\0@example.com",
        ] {
            assert!(check_email("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_keep_tabs_and_line_breaks_and_refuse_other_controls() {
        check_description("description", "one\ttwo\r\nthree\n", 100).unwrap();
        for bad in ["a\0b", "\u{7}", "\u{1b}[31m", "\u{7f}", "\u{85}"] {
            let e = check_description("description", bad, 100).unwrap_err();
            assert!(e.to_string().starts_with("description: "), "{e}");
        }
    }

    #[test]
    fn names_emails_and_filters_refuse_tabs_and_newlines_too() {
        assert!(check_name("name", "a\tb", 10).is_err());
        assert!(check_email_ref("email", "a\nb@example.com", 254).is_err());
        assert!(check_filter("filter", Some("a\tb"), 10).is_err());
        assert_eq!(check_filter("filter", Some("  "), 10).unwrap(), None);
        assert_eq!(check_filter("filter", Some(" ab "), 10).unwrap(), Some("ab"));
    }

    #[test]
    fn nul_anywhere_in_json_is_refused() {
        check_json("metadata", &json!({ "a": ["\u{1}", { "b": null }] })).unwrap();
        for bad in [
            json!("\u{0}"),
            json!({ "a": [{ "b": "x\u{0}" }] }),
            json!({ "k\u{0}": 1 }),
        ] {
            let e = check_json("metadata", &bad).unwrap_err();
            assert!(e.to_string().starts_with("metadata: "), "{e}");
        }
    }

    proptest! {
        #[test]
        fn check_text_accepts_exactly_short_text_without_controls(s in "\\PC{0,12}|.{0,12}|[\\x00-\\x1f\\x7f-\\x9f a]{0,6}", max in 0usize..40, required: bool) {
            let fits = s.len() <= max && !(required && s.is_empty());
            let clean = !s.chars().any(|c| c.is_control());
            prop_assert_eq!(check_text("f", &s, max, required).is_ok(), fits && clean);
        }

        #[test]
        fn check_description_accepts_exactly_short_text_without_forbidden_controls(s in "\\PC{0,12}|.{0,12}|[\\x00-\\x1f\\x7f-\\x9f a]{0,6}", max in 0usize..20) {
            let allowed = s.chars().all(|c| !c.is_control() || c == '\t' || c == '\n' || c == '\r');
            prop_assert_eq!(check_description("f", &s, max).is_ok(), s.chars().count() <= max && allowed);
        }
    }
}
