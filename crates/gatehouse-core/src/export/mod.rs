//! Export of a project's OAuth client list as a downloadable file.
//!
//! [`render`] turns a slice of [`ExportRow`]s into a complete CSV document (RFC 4180, with
//! a formula-injection guard), an Excel workbook (via `rust_xlsxwriter`) or a PDF document
//! (hand-written PDF 1.4 using the standard Helvetica fonts). Every format has the same
//! columns, in this order: Client ID, Name, Enabled, URI, Grant types, Created.
//!
//! This module is pure: it does no I/O and knows nothing of HTTP; the server picks the
//! [`ExportFormat`] from the query string and uses [`ExportFormat::content_type`] and
//! [`ExportFormat::extension`] for the response headers.

mod csv;
mod pdf;
mod xlsx;

/// Column headings, in output order.
const HEADERS: [&str; 6] = ["Client ID", "Name", "Enabled", "URI", "Grant types", "Created"];

/// One row of the client list export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// The OAuth `client_id`.
    pub client_id: String,
    /// Human-readable client name.
    pub name: String,
    /// Whether the client may currently obtain tokens.
    pub enabled: bool,
    /// The client's home page (`client_uri`), if registered.
    pub client_uri: Option<String>,
    /// Grant types the client may use, e.g. `authorization_code`.
    pub grant_types: Vec<String>,
    /// RFC 3339 timestamp, e.g. "2026-11-22T21:59:18Z".
    pub created_at: String,
}

impl ExportRow {
    /// The row's cells as text, in [`HEADERS`] order (Enabled as "yes"/"no", grant types
    /// joined with ", ", a missing URI as the empty string).
    fn text_cells(&self) -> [String; 6] {
        [
            self.client_id.clone(),
            self.name.clone(),
            yes_no(self.enabled).to_owned(),
            self.client_uri.clone().unwrap_or_default(),
            self.grant_types.join(", "),
            self.created_at.clone(),
        ]
    }
}

/// "yes" or "no".
fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The file formats an export can be rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values (RFC 4180), UTF-8 without BOM.
    Csv,
    /// Office Open XML spreadsheet (Excel 2007+).
    Xlsx,
    /// PDF 1.4 document, A4 landscape.
    Pdf,
}

impl ExportFormat {
    /// Parses `csv`, `xlsx`, `pdf` (exactly; lowercase). Returns None otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// MIME type for the `Content-Type` header: `text/csv; charset=utf-8`,
    /// `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` or
    /// `application/pdf`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pdf => "application/pdf",
        }
    }

    /// File extension without dot: csv / xlsx / pdf.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
        }
    }
}

/// Renders `rows` as a complete file.
///
/// `title` (e.g. "OAuth clients — project Foo") heads every PDF page and becomes the
/// document title of the PDF and of the workbook; `generated_at` is an RFC 3339 string
/// printed in the PDF header and recorded as both documents' creation time. CSV uses
/// neither. The workbook sheet itself starts with the header row, so it stays a plain table.
///
/// # Errors
///
/// Returns [`ExportError`] when the workbook cannot be built, for example for a cell
/// longer than Excel's 32,767-character limit or more rows than a worksheet holds. CSV
/// and PDF rendering cannot fail.
pub fn render(
    format: ExportFormat,
    title: &str,
    generated_at: &str,
    rows: &[ExportRow],
) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Csv => Ok(csv::render(rows)),
        ExportFormat::Xlsx => xlsx::render(title, generated_at, rows),
        ExportFormat::Pdf => Ok(pdf::render(title, generated_at, rows)),
    }
}

/// An export could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("export failed: {0}")]
pub struct ExportError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_only_from_exact_lowercase_names() {
        assert_eq!(ExportFormat::parse("csv"), Some(ExportFormat::Csv));
        assert_eq!(ExportFormat::parse("xlsx"), Some(ExportFormat::Xlsx));
        assert_eq!(ExportFormat::parse("pdf"), Some(ExportFormat::Pdf));
        for bad in ["CSV", "Pdf", " xlsx", "xls", "", "pdf "] {
            assert_eq!(ExportFormat::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn each_format_has_its_mime_type_and_extension() {
        assert_eq!(ExportFormat::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!(
            ExportFormat::Xlsx.content_type(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(ExportFormat::Pdf.content_type(), "application/pdf");
        let exts: Vec<_> = [ExportFormat::Csv, ExportFormat::Xlsx, ExportFormat::Pdf]
            .into_iter()
            .map(ExportFormat::extension)
            .collect();
        assert_eq!(exts, ["csv", "xlsx", "pdf"]);
    }

    #[test]
    fn render_dispatches_to_the_requested_format() {
        let rows = [ExportRow {
            client_id: "c1".into(),
            name: "One".into(),
            enabled: true,
            client_uri: None,
            grant_types: vec!["client_credentials".into()],
            created_at: "2026-11-22T21:59:18Z".into(),
        }];
        let csv = render(ExportFormat::Csv, "t", "2026-11-22T22:00:00Z", &rows).expect("csv");
        assert!(csv.starts_with(b"Client ID,"));
        let xlsx = render(ExportFormat::Xlsx, "t", "2026-11-22T22:00:00Z", &rows).expect("xlsx");
        assert!(xlsx.starts_with(b"PK\x03\x04"));
        let pdf = render(ExportFormat::Pdf, "t", "2026-11-22T22:00:00Z", &rows).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-1.4"));
    }

    #[test]
    fn export_error_displays_its_cause() {
        assert_eq!(ExportError("boom".into()).to_string(), "export failed: boom");
    }
}
