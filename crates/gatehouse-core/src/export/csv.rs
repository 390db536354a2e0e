//! CSV rendering: RFC 4180 with a spreadsheet formula-injection guard.
//!
//! Output is UTF-8 without a byte-order mark, one header row and one record per client,
//! every record terminated by CRLF. A field is enclosed in double quotes when it contains
//! a comma, a double quote, CR or LF, and inner double quotes are doubled.
//!
//! Following OWASP's "CSV Injection" advice, a field that begins with `=`, `+`, `-`, `@`,
//! tab or CR is prefixed with `'` so spreadsheet software shows it as text instead of
//! evaluating it as a formula.

use super::{ExportRow, HEADERS};

/// Renders the header row and one record per row as a CSV document.
pub(super) fn render(rows: &[ExportRow]) -> Vec<u8> {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    write_record(&mut out, HEADERS.iter().copied());
    for row in rows {
        let cells = row.text_cells();
        write_record(&mut out, cells.iter().map(String::as_str));
    }
    out.into_bytes()
}

/// Appends one CRLF-terminated record.
fn write_record<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(out, field);
    }
    out.push_str("\r\n");
}

/// Appends one field: injection-guarded, then quoted if needed.
fn write_field(out: &mut String, field: &str) {
    let guard = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = field.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(client_id: &str, name: &str) -> ExportRow {
        ExportRow {
            client_id: client_id.into(),
            name: name.into(),
            enabled: true,
            client_uri: Some("https://app.example".into()),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            created_at: "2026-11-22T21:59:18Z".into(),
        }
    }

    fn text(rows: &[ExportRow]) -> String {
        String::from_utf8(render(rows)).expect("CSV is UTF-8")
    }

    #[test]
    fn an_empty_export_is_just_the_header_row() {
        assert_eq!(text(&[]), "Client ID,Name,Enabled,URI,Grant types,Created\r\n");
    }

    #[test]
    fn a_plain_row_is_written_unquoted_with_joined_grant_types_quoted() {
        let out = text(&[row("abc", "My app")]);
        assert_eq!(
            out,
            "Client ID,Name,Enabled,URI,Grant types,Created\r\n\
             abc,My app,yes,https://app.example,\"authorization_code, refresh_token\",\
             2026-11-22T21:59:18Z\r\n"
        );
    }

    #[test]
    fn disabled_clients_read_no_and_a_missing_uri_is_an_empty_field() {
        let mut r = row("abc", "x");
        r.enabled = false;
        r.client_uri = None;
        r.grant_types = vec!["client_credentials".into()];
        let out = text(&[r]);
        assert!(out.ends_with("\r\nabc,x,no,,client_credentials,2026-11-22T21:59:18Z\r\n"));
    }

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted_and_inner_quotes_doubled() {
        let out = text(&[
            row("c1", "a,b"),
            row("c2", "say \"hi\""),
            row("c3", "two\nlines"),
            row("c4", "cr\rhere"),
        ]);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines[1].starts_with("c1,\"a,b\",yes,"));
        assert!(lines[2].starts_with("c2,\"say \"\"hi\"\"\",yes,"));
        assert!(lines[3].starts_with("c3,\"two\nlines\",yes,"));
        assert!(lines[4].starts_with("c4,\"cr\rhere\",yes,"));
    }

    #[test]
    fn every_record_ends_with_crlf_and_there_are_no_bare_line_feeds() {
        let out = text(&[row("a", "one"), row("b", "two")]);
        assert!(out.ends_with("\r\n"));
        assert_eq!(out.matches("\r\n").count(), 3);
        assert_eq!(out.matches('\n').count(), 3);
        assert!(!out.starts_with('\u{feff}'));
    }

    #[test]
    fn cells_that_could_start_a_formula_get_a_leading_apostrophe() {
        let out = text(&[
            row("c1", "=1+2"),
            row("c2", "+SUM(A1)"),
            row("c3", "-2"),
            row("c4", "@cmd"),
            row("c5", "\tx"),
            row("c6", "\rx"),
            row("c7", "a=b"),
        ]);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines[1].starts_with("c1,'=1+2,"));
        assert!(lines[2].starts_with("c2,'+SUM(A1),"));
        assert!(lines[3].starts_with("c3,'-2,"));
        assert!(lines[4].starts_with("c4,'@cmd,"));
        assert!(lines[5].starts_with("c5,'\tx,"));
        // The CR forces quoting; the guard goes inside the quotes.
        assert!(out.contains("\r\nc6,\"'\rx\",yes,"));
        assert!(lines.iter().any(|l| l.starts_with("c7,a=b,")));
    }

    #[test]
    fn a_guarded_field_that_also_needs_quoting_keeps_the_apostrophe_inside_the_quotes() {
        let out = text(&[row("c1", "=HYPERLINK(\"http://x\",\"y\")")]);
        assert!(out.contains("c1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",yes,"));
    }

    #[test]
    fn unicode_is_written_as_utf8() {
        let out = render(&[row("c1", "Zoë — 日本")]);
        let expected = "c1,Zoë — 日本,yes".as_bytes();
        assert!(out.windows(expected.len()).any(|w| w == expected));
    }
}
