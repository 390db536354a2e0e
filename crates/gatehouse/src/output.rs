//! Human output: a small column-aligned table printer and key/value listings.
//!
//! Every cell passes through [`clean`], because names and URIs come from the server and a control
//! character (an ANSI escape, a carriage return) must not be able to rewrite the user's terminal.

/// Spaces between table columns.
const GAP: &str = "  ";

/// A table of text cells with a header row, rendered with columns padded to equal width.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            headers: headers.into_iter().map(|h| clean(h.as_ref())).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are blank and extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.headers.len())
            .map(|c| clean(c.as_ref()))
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
        self
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row, each ending in `\n`, no trailing spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut text = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str(GAP);
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - width(cell)));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// Key/value listing: labels padded to one width, multi-line values indented under the first line.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let label_width = pairs.iter().map(|(k, _)| width(k) + 1).max().unwrap_or(0);
    let mut text = String::new();
    for (key, value) in pairs {
        let label = format!("{key}:");
        let mut lines = value.lines();
        let first = lines.next().map(clean).unwrap_or_default();
        let line = format!("{label:<label_width$}{GAP}{first}");
        text.push_str(line.trim_end());
        text.push('\n');
        for more in lines {
            let line = format!("{:label_width$}{GAP}{}", "", clean(more));
            text.push_str(line.trim_end());
            text.push('\n');
        }
    }
    text
}

/// `yes`/`no` for booleans in tables.
pub fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// An optional value, or `-`.
pub fn or_dash(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "-".to_owned(),
    }
}

/// Replaces control characters by their escaped form (`\n`, `\u{1b}`), keeping text on one line.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Display width, counted in characters (close enough without a Unicode width table).
fn width(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_to_the_widest_cell() {
        let mut table = Table::new(["ID", "NAME", "ENABLED"]);
        table.row(["web", "Web application", "yes"]);
        table.row(["cli-tool", "CLI", "no"]);
        assert_eq!(
            table.render(),
            "ID        NAME             ENABLED\n\
             web       Web application  yes\n\
             cli-tool  CLI              no\n"
        );
    }

    #[test]
    fn lines_have_no_trailing_spaces() {
        let mut table = Table::new(["A", "B"]);
        table.row(["long value", ""]);
        for line in table.render().lines() {
            assert_eq!(line, line.trim_end());
        }
    }

    #[test]
    fn short_rows_are_padded_and_long_rows_cut() {
        let mut table = Table::new(["A", "B"]);
        table.row(["1"]);
        table.row(["1", "2", "3"]);
        assert_eq!(table.len(), 2);
        assert_eq!(table.render(), "A  B\n1\n1  2\n");
    }

    #[test]
    fn empty_table_prints_only_headers() {
        let table = Table::new(["ID", "NAME"]);
        assert!(table.is_empty());
        assert_eq!(table.render(), "ID  NAME\n");
    }

    #[test]
    fn non_ascii_text_is_aligned_by_characters() {
        let mut table = Table::new(["NAME", "X"]);
        table.row(["Zürich", "1"]);
        assert_eq!(table.render(), "NAME    X\nZürich  1\n");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let mut table = Table::new(["NAME"]);
        table.row(["evil\u{1b}[2Jname\r\n"]);
        let text = table.render();
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("evil\\u{1b}[2Jname\\r\\n"));
    }

    #[test]
    fn fields_align_labels_and_indent_continuation_lines() {
        let text = fields(&[
            ("Client ID", "web".into()),
            ("Redirect URIs", "https://a/cb\nhttps://b/cb".into()),
            ("Empty", String::new()),
        ]);
        assert_eq!(
            text,
            "Client ID:      web\n\
             Redirect URIs:  https://a/cb\n                \
             https://b/cb\n\
             Empty:\n"
        );
    }
}
