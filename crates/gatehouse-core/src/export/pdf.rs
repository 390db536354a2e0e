//! PDF rendering: a hand-written, uncompressed PDF 1.4 document.
//!
//! A4 landscape pages use the standard Type 1 fonts Helvetica and Helvetica-Bold with
//! `/WinAnsiEncoding`, so nothing is embedded. Every page repeats the title, the
//! generated-at line and the table header, then lists as many rows as fit, and ends with
//! "Page N of M". Cells are measured with Helvetica's metrics and cut with "…" to fit their
//! column, except the Client ID, which wraps onto further lines inside one text object so
//! that text extraction yields each id unbroken. Text outside WinAnsi is printed as `?`.

use super::{ExportRow, HEADERS};

const PAGE_W: f32 = 842.0;
const PAGE_H: f32 = 595.0;
const MARGIN: f32 = 36.0;
/// Column widths in points; they add up to `PAGE_W - 2 * MARGIN`.
const COL_W: [f32; 6] = [165.0, 140.0, 40.0, 150.0, 185.0, 90.0];
/// Horizontal gap kept free at the right of every column.
const GAP: f32 = 6.0;
const LEADING: f32 = 11.0;
const TITLE_Y: f32 = PAGE_H - MARGIN - 14.0;
const SUBTITLE_Y: f32 = TITLE_Y - 16.0;
const HEADER_Y: f32 = SUBTITLE_Y - 20.0;
const FIRST_ROW_Y: f32 = HEADER_Y - 15.0;
/// Table lines per page: baselines from `FIRST_ROW_Y` down to 40 pt.
const LINES_PER_PAGE: usize = 42;
const FOOTER_Y: f32 = 22.0;
/// WinAnsi code of "…".
const ELLIPSIS: u8 = 0x85;

/// A font and size to set text in: (bold?, size in points).
#[derive(Clone, Copy)]
struct Style(bool, f32);

const TITLE: Style = Style(true, 14.0);
const SUBTITLE: Style = Style(false, 9.0);
const HEAD: Style = Style(true, 8.0);
const BODY: Style = Style(false, 8.0);

/// Helvetica advance widths (1/1000 em) of the printable ASCII codes 32..=126.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/// Helvetica-Bold advance widths of the printable ASCII codes 32..=126.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];
/// The characters of WinAnsi codes 0x80..=0x9F (`'\0'` where the code is unassigned).
#[rustfmt::skip]
const WIN_ANSI_80: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0',
    '\0', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

impl Style {
    /// Operands selecting this style: `/F1 8 Tf`.
    fn select(self) -> String {
        format!("/F{} {} Tf", if self.0 { 2 } else { 1 }, self.1)
    }

    /// Width in points of WinAnsi-encoded `text` (non-ASCII codes are approximated).
    fn width(self, text: &[u8]) -> f32 {
        let table = [&HELVETICA, &HELVETICA_BOLD][usize::from(self.0)];
        let units: u32 = text
            .iter()
            .map(|&b| match b {
                32..=126 => u32::from(table[usize::from(b - 32)]),
                ELLIPSIS | 0x89 | 0x8C | 0x97 | 0x99 | 0x9C | 0xC6 | 0xE6 => 1000,
                0xC0..=0xDE => 722,
                _ => 611,
            })
            .sum();
        units as f32 * self.1 / 1000.0
    }
}

/// Encodes `s` in WinAnsiEncoding: characters it lacks become `?`, tabs and line breaks
/// become spaces.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => b' ',
            ' '..='~' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            '\0' => b'?',
            _ => WIN_ANSI_80
                .iter()
                .position(|&x| x == c)
                .map_or(b'?', |i| 0x80 | i as u8),
        })
        .collect()
}

/// Cuts `text` so that it fits in `max` points, marking a cut with "…".
fn fit(text: &[u8], style: Style, max: f32) -> Vec<u8> {
    if style.width(text) <= max {
        return text.to_vec();
    }
    let budget = max - style.width(&[ELLIPSIS]);
    let mut used = 0.0;
    let mut out: Vec<u8> = text
        .iter()
        .copied()
        .take_while(|&b| {
            used += style.width(&[b]);
            used <= budget
        })
        .collect();
    out.push(ELLIPSIS);
    out
}

/// Splits `text` into pieces of at most `max` points each in [`BODY`] (at least one piece).
fn wrap(text: &[u8], max: f32) -> Vec<Vec<u8>> {
    let (mut lines, mut line, mut used) = (Vec::new(), Vec::new(), 0.0);
    for &b in text {
        let w = BODY.width(&[b]);
        if !line.is_empty() && used + w > max {
            lines.push(std::mem::take(&mut line));
            used = 0.0;
        }
        line.push(b);
        used += w;
    }
    lines.push(line);
    lines
}

/// A table row ready to print: the wrapped client id and the other, fitted, cells.
struct Row {
    id_lines: Vec<Vec<u8>>,
    cells: [Vec<u8>; 5],
}

impl Row {
    fn new(row: &ExportRow) -> Self {
        let [id, rest @ ..] = row.text_cells();
        let mut id_lines = wrap(&win_ansi(&id), COL_W[0] - GAP);
        // Only an id longer than a whole page (over a thousand characters) is cut.
        if id_lines.len() > LINES_PER_PAGE {
            id_lines.truncate(LINES_PER_PAGE);
            if let Some(last) = id_lines.last_mut() {
                last.push(ELLIPSIS);
            }
        }
        let cells = std::array::from_fn(|i| fit(&win_ansi(&rest[i]), BODY, COL_W[i + 1] - GAP));
        Row { id_lines, cells }
    }
}

/// Escapes WinAnsi bytes as a PDF literal string, `(` … `)`, in 7-bit ASCII.
fn pdf_string(text: &[u8]) -> String {
    let mut out = String::from("(");
    for &b in text {
        match b {
            b'(' | b')' | b'\\' => out.extend(['\\', char::from(b)]),
            32..=126 => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out + ")"
}

/// Appends a text object showing `lines`, one under the other, from (`x`, `y`) down.
fn show(out: &mut String, style: Style, x: f32, y: f32, lines: &[Vec<u8>]) {
    out.push_str(&format!("BT {} {x:.2} {y:.2} Td", style.select()));
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str(&format!(" 0 {} Td", -LEADING));
        }
        out.push_str(&format!(" {} Tj", pdf_string(line)));
    }
    out.push_str(" ET\n");
}

/// The content stream of one page.
fn page_content(title: &[u8], subtitle: &[u8], rows: &[Row], page: usize, pages: usize) -> String {
    let mut out = String::with_capacity(400 * (rows.len() + 1));
    let full = PAGE_W - 2.0 * MARGIN;
    show(&mut out, TITLE, MARGIN, TITLE_Y, &[fit(title, TITLE, full)]);
    let subtitle = fit(subtitle, SUBTITLE, full);
    show(&mut out, SUBTITLE, MARGIN, SUBTITLE_Y, &[subtitle]);
    let col_x: Vec<f32> = COL_W
        .iter()
        .scan(MARGIN, |x, w| Some(std::mem::replace(x, *x + w)))
        .collect();
    for (&x, header) in col_x.iter().zip(HEADERS) {
        show(&mut out, HEAD, x, HEADER_Y, &[win_ansi(header)]);
    }
    let (rule_y, right) = (HEADER_Y - 4.0, PAGE_W - MARGIN);
    out.push_str(&format!("0.5 w {MARGIN} {rule_y} m {right} {rule_y} l S\n"));
    let mut y = FIRST_ROW_Y;
    for row in rows {
        show(&mut out, BODY, col_x[0], y, &row.id_lines);
        for (&x, cell) in col_x[1..].iter().zip(&row.cells) {
            if !cell.is_empty() {
                show(&mut out, BODY, x, y, std::slice::from_ref(cell));
            }
        }
        y -= LEADING * row.id_lines.len() as f32;
    }
    if rows.is_empty() {
        show(&mut out, BODY, MARGIN, y, &[win_ansi("No clients.")]);
    }
    let footer = win_ansi(&format!("Page {page} of {pages}"));
    let footer_x = right - BODY.width(&footer);
    show(&mut out, BODY, footer_x, FOOTER_Y, &[footer]);
    out
}

/// Groups rows into pages of at most `LINES_PER_PAGE` table lines (always one page).
fn paginate(rows: Vec<Row>) -> Vec<Vec<Row>> {
    let mut pages = vec![Vec::new()];
    let mut used = 0;
    for row in rows {
        let lines = row.id_lines.len();
        if used + lines > LINES_PER_PAGE {
            pages.push(Vec::new());
            used = 0;
        }
        used += lines;
        if let Some(page) = pages.last_mut() {
            page.push(row);
        }
    }
    pages
}

/// `D:YYYYMMDDHHmmSSZ` for an RFC 3339 timestamp, if it parses.
fn pdf_date(rfc3339: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s) = (t.hour(), t.minute(), t.second());
    Some(format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z"))
}

/// Renders the complete PDF document.
pub(super) fn render(title: &str, generated_at: &str, rows: &[ExportRow]) -> Vec<u8> {
    let (n, plural) = (rows.len(), if rows.len() == 1 { "" } else { "s" });
    let subtitle = win_ansi(&format!("Generated {generated_at} — {n} client{plural}"));
    let title_bytes = win_ansi(title);
    let pages = paginate(rows.iter().map(Row::new).collect());

    // Objects: 1 catalog, 2 page tree, 3-4 fonts, 5 info, then each page and its content.
    let kids: String = (0..pages.len()).map(|i| format!("{} 0 R ", 6 + 2 * i)).collect();
    let count = pages.len();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{kids}] /Count {count} >>"),
    ];
    for base in ["Helvetica", "Helvetica-Bold"] {
        objects.push(format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
        ));
    }
    let utf16_title: String = title.encode_utf16().map(|u| format!("{u:04X}")).collect();
    let date = pdf_date(generated_at)
        .map(|d| format!(" /CreationDate ({d})"))
        .unwrap_or_default();
    let info = format!("<< /Title <FEFF{utf16_title}> /Producer (Gatehouse){date} >>");
    objects.push(info);
    for (i, page_rows) in pages.iter().enumerate() {
        let content = page_content(&title_bytes, &subtitle, page_rows, i + 1, pages.len());
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            7 + 2 * i
        ));
        let length = content.len();
        objects.push(format!("<< /Length {length} >>\nstream\n{content}\nendstream"));
    }

    // Everything after the binary-marker comment is ASCII, so byte offsets are string offsets.
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for (i, body) in objects.iter().enumerate() {
        xref.push_str(&format!("{:010} 00000 n \n", out.len()));
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let size = objects.len() + 1;
    let trailer = format!("trailer\n<< /Size {size} /Root 1 0 R /Info 5 0 R >>\nstartxref\n");
    let xref_at = out.len();
    out.extend_from_slice(format!("{xref}{trailer}{xref_at}\n%%EOF\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "2026-11-22T22:00:00Z";

    fn row(i: usize) -> ExportRow {
        ExportRow {
            client_id: format!("{i:08x}-4b1c-9d2e-{:012x}", i * 7919),
            name: format!("Client number {i}"),
            enabled: i.is_multiple_of(2),
            client_uri: (!i.is_multiple_of(3)).then(|| format!("https://c{i}.example.com/")),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            created_at: "2026-11-22T21:59:18Z".into(),
        }
    }

    /// Loads the PDF with lopdf and returns (page count, text of all pages).
    fn extract(pdf: &[u8]) -> (usize, String) {
        let doc = lopdf::Document::load_mem(pdf).expect("lopdf parses the document");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        let text = doc.extract_text(&pages).expect("text extracts");
        (pages.len(), text)
    }

    fn text_of(r: ExportRow) -> String {
        extract(&render("t", AT, &[r])).1
    }

    #[test]
    fn every_client_id_of_a_1000_row_export_is_in_the_extracted_text_of_several_pages() {
        let mut rows: Vec<ExportRow> = (0..1000).map(row).collect();
        // Ids may be up to 128 characters of `A-Za-z0-9._~-`: long ones wrap, not get cut.
        for r in rows.iter_mut().step_by(97) {
            r.client_id = format!("{}.WM~_{}", r.client_id, "MW".repeat(60));
        }
        let (pages, text) = extract(&render("OAuth clients — project Foo", AT, &rows));
        assert!(pages > 1, "{pages} pages");
        for r in &rows {
            assert!(text.contains(&r.client_id), "missing {}", r.client_id);
        }
        assert!(text.contains("OAuth clients — project Foo\nGenerated 2026-11-22T22:00:00Z"));
        assert!(text.contains("— 1000 clients"));
        assert!(text.contains(&format!("Page 1 of {pages}\n")));
        assert!(text.contains(&format!("Page {pages} of {pages}\n")));
        assert_eq!(text.matches("Client ID").count(), pages, "header on every page");
    }

    #[test]
    fn a_name_with_parentheses_and_backslashes_round_trips() {
        let mut r = row(1);
        r.name = r"A (b) \c\ (d".into();
        assert!(text_of(r).contains("\nA (b) \\c\\ (d\n"));
    }

    #[test]
    fn win_ansi_text_round_trips_and_other_characters_become_question_marks() {
        let mut r = row(1);
        r.name = "Zoë’s café €5 日本\tx".into();
        assert!(text_of(r).contains("\nZoë’s café €5 ?? x\n"));
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis_to_fit_their_column() {
        let mut r = row(1);
        r.name = "N".repeat(200);
        r.client_uri = Some(format!("https://{}.example/", "u".repeat(200)));
        let text = text_of(r);
        let name = text.lines().find(|l| l.starts_with("NNN")).expect("name");
        assert!(name.ends_with('…') && name.len() < 200, "{name}");
        assert!(BODY.width(&win_ansi(name)) <= COL_W[1] - GAP);
        assert!(text.lines().any(|l| l.starts_with("https://uuu") && l.ends_with('…')));
        assert!(
            text.contains("\nauthorization_code, refresh_token\n"),
            "short cells stay"
        );
    }

    #[test]
    fn a_client_id_wider_than_its_column_wraps_onto_more_lines() {
        let id = "x".repeat(100);
        let lines = wrap(&win_ansi(&id), COL_W[0] - GAP);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), id.as_bytes());
        assert!(lines.iter().all(|l| BODY.width(l) <= COL_W[0] - GAP));
        for typical in ["0195f2a4-7c1e-7d3a-9b8c-4e5f6a7b8c9d", "Xq3vM9_wZ-2LkTnYpR8sJw"] {
            let lines = wrap(&win_ansi(typical), COL_W[0] - GAP);
            assert_eq!(lines.len(), 1, "UUIDs and generated ids fit on one line");
        }
    }

    #[test]
    fn an_empty_export_is_one_page_saying_so() {
        let (pages, text) = extract(&render("t", AT, &[]));
        assert_eq!(pages, 1);
        assert!(text.contains("— 0 clients\n") && text.contains("No clients.\n"));
        assert!(text.contains("Page 1 of 1\n"));
    }

    #[test]
    fn the_file_is_pdf_1_4_with_standard_fonts_and_an_exact_xref_table() {
        let pdf = render("t", AT, &(0..100).map(row).collect::<Vec<_>>());
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        assert!(pdf[16..].is_ascii(), "7-bit clean after the binary marker");
        // Byte-for-byte text, so that string offsets are file offsets.
        let text: String = pdf
            .iter()
            .map(|&b| char::from(if b.is_ascii() { b } else { b'?' }))
            .collect();
        for font in ["Helvetica", "Helvetica-Bold"] {
            assert!(text.contains(&format!("/BaseFont /{font} /Encoding /WinAnsiEncoding")));
        }
        assert!(text.contains("/MediaBox [0 0 842 595]"));
        assert!(text.contains("/CreationDate (D:20261122220000Z)"));
        let tail = text.rsplit("startxref\n").next().unwrap_or_default();
        let start: usize = tail.trim_end_matches("\n%%EOF\n").parse().expect("offset");
        let xref = &text[start..];
        assert!(xref.starts_with("xref\n0 "), "startxref points at the xref table");
        let entries: Vec<&str> = xref.split('\n').skip(2).take_while(|l| l.len() == 19).collect();
        assert_eq!(entries[0], "0000000000 65535 f ");
        for (n, entry) in entries.iter().enumerate().skip(1) {
            let offset: usize = entry[..10].parse().expect("10-digit offset");
            assert!(text[offset..].starts_with(&format!("{n} 0 obj\n")), "object {n}");
        }
        assert!(xref.contains(&format!("trailer\n<< /Size {} ", entries.len())));
    }
}
