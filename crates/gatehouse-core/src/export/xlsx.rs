//! Excel (`.xlsx`) rendering with `rust_xlsxwriter`.
//!
//! One worksheet, "OAuth clients": a bold header row in row 1 (frozen, with an autofilter),
//! then one row per client. Text is always written as string cells (never formulas, so no
//! injection guard is needed), Enabled as a boolean cell, and Created as the RFC 3339 text.
//! The export title and generation time become the workbook's document title and
//! creation time.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use super::{ExportError, ExportRow, HEADERS};

/// Name of the single worksheet.
const SHEET_NAME: &str = "OAuth clients";
/// Narrowest column, in Excel character units.
const MIN_WIDTH: usize = 8;
/// Widest column (longer text is still complete, just not fully visible).
const MAX_WIDTH: usize = 60;

impl From<XlsxError> for ExportError {
    fn from(e: XlsxError) -> Self {
        ExportError(format!("xlsx: {e}"))
    }
}

/// Renders the workbook and returns the `.xlsx` bytes.
pub(super) fn render(title: &str, generated_at: &str, rows: &[ExportRow]) -> Result<Vec<u8>, ExportError> {
    let mut workbook = Workbook::new();
    let mut props = DocProperties::new().set_title(title);
    // An unparsable timestamp only loses the metadata, not the export.
    if let Ok(created) = ExcelDateTime::parse_from_str(generated_at) {
        props = props.set_creation_datetime(&created);
    }
    workbook.set_properties(&props);

    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(SHEET_NAME)?;

    let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.chars().count()).collect();
    for (col, header) in (0u16..).zip(HEADERS) {
        sheet.write_string_with_format(0, col, header, &bold)?;
    }
    for (row_no, row) in (1u32..).zip(rows) {
        let cells = row.text_cells();
        for (col, text) in (0u16..).zip(&cells) {
            if col == 2 {
                sheet.write_boolean(row_no, col, row.enabled)?;
            } else if !text.is_empty() {
                sheet.write_string(row_no, col, text)?;
            }
            let w = &mut widths[usize::from(col)];
            *w = (*w).max(text.chars().count());
        }
    }

    for (col, width) in (0u16..).zip(widths) {
        let width = (width + 2).clamp(MIN_WIDTH, MAX_WIDTH);
        // Widths are small integers, exactly representable.
        sheet.set_column_width(col, width as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows.len()).map_err(|_| ExportError("too many rows".into()))?;
    sheet.autofilter(0, 0, last_row, 5)?;

    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use std::io::Cursor;

    fn read_back(bytes: Vec<u8>) -> (Vec<String>, calamine::Range<Data>) {
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("valid xlsx");
        let names = wb.sheet_names();
        let range = wb.worksheet_range(SHEET_NAME).expect("sheet exists");
        (names, range)
    }

    fn sample(i: usize) -> ExportRow {
        ExportRow {
            client_id: format!("client-{i:05}-{}", "x".repeat(i % 7)),
            name: format!("App №{i} — Zoë 日本 🚀"),
            enabled: !i.is_multiple_of(3),
            client_uri: i.is_multiple_of(2).then(|| format!("https://app{i}.example/")),
            grant_types: match i % 3 {
                0 => vec![],
                1 => vec!["client_credentials".into()],
                _ => vec!["authorization_code".into(), "refresh_token".into()],
            },
            created_at: format!("2026-11-{:02}T21:59:18Z", 1 + i % 28),
        }
    }

    fn text(cell: &Data) -> String {
        match cell {
            Data::String(s) => s.clone(),
            Data::Empty => String::new(),
            other => panic!("expected a string cell, got {other:?}"),
        }
    }

    fn assert_round_trip(rows: &[ExportRow]) {
        let bytes = render("OAuth clients — project Foo", "2026-11-22T22:00:00Z", rows).expect("renders");
        let (names, range) = read_back(bytes);
        assert_eq!(names, [SHEET_NAME]);
        assert_eq!(range.start(), Some((0, 0)));
        let all: Vec<&[Data]> = range.rows().collect();
        assert_eq!(all.len(), rows.len() + 1);
        let header: Vec<String> = all[0].iter().map(text).collect();
        assert_eq!(header, HEADERS);
        for (got, want) in all[1..].iter().zip(rows) {
            assert_eq!(got.len(), 6);
            assert_eq!(text(&got[0]), want.client_id);
            assert_eq!(text(&got[1]), want.name);
            assert_eq!(got[2], Data::Bool(want.enabled));
            assert_eq!(text(&got[3]), want.client_uri.clone().unwrap_or_default());
            assert_eq!(text(&got[4]), want.grant_types.join(", "));
            assert_eq!(text(&got[5]), want.created_at);
        }
    }

    #[test]
    fn every_cell_of_a_500_row_export_reads_back_equal_to_the_input() {
        let rows: Vec<ExportRow> = (0..500).map(sample).collect();
        assert_round_trip(&rows);
    }

    #[test]
    fn an_empty_export_has_just_the_header_row() {
        assert_round_trip(&[]);
    }

    #[test]
    fn formula_like_and_xml_special_text_is_stored_as_plain_strings() {
        let mut r = sample(1);
        r.name = "=SUM(A1:A9)".into();
        r.client_id = "+1".into();
        r.client_uri = Some("<a href=\"x\">&amp;</a> _x0041_".into());
        assert_round_trip(&[r]);
    }

    #[test]
    fn only_the_header_row_is_bold_and_no_cell_holds_a_formula() {
        let mut r = sample(1);
        r.name = "=1+2".into();
        let bytes = render("t", "2026-11-22T22:00:00Z", &[r]).expect("renders");
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("valid xlsx");
        let styles = wb.worksheet_style(SHEET_NAME).expect("styles");
        let bold = |pos| {
            styles
                .get(pos)
                .and_then(|s| s.font.as_ref())
                .is_some_and(|f| f.is_bold())
        };
        assert!((0..6).all(|c| bold((0, c))), "header cells are bold");
        assert!((0..6).all(|c| !bold((1, c))), "data cells are not bold");
        let formulas = wb.worksheet_formula(SHEET_NAME).expect("formulas");
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formulas");
        assert_eq!(
            wb.worksheet_range(SHEET_NAME).expect("range").get((1, 1)),
            Some(&Data::String("=1+2".into()))
        );
    }

    #[test]
    fn the_document_title_and_creation_time_come_from_the_arguments() {
        let bytes = render("OAuth clients — project Foo", "2026-11-22T22:00:00Z", &[]).expect("renders");
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("valid xlsx");
        let props = wb.workbook_properties().expect("properties");
        assert_eq!(props.title.as_deref(), Some("OAuth clients — project Foo"));
        assert_eq!(props.created.as_deref(), Some("2026-11-22T22:00:00Z"));
    }

    #[test]
    fn an_oversized_cell_is_an_error_not_a_panic() {
        let mut r = sample(1);
        r.name = "x".repeat(40_000);
        let err = render("t", "2026-11-22T22:00:00Z", &[r]).expect_err("too long for Excel");
        assert!(err.to_string().starts_with("export failed: xlsx:"), "{err}");
    }
}
