//! Tables drawn as the `linstor` client draws them.
//!
//! Every column is as wide as its widest line; cells have one space of padding on each side.
//! With box characters (UTF-8):
//!
//! ```text
//! ╭──────────────────╮   top:    ╭ + ─ × (Σ widths + 3 · columns − 1) + ╮
//! ┊ Name ┊ State     ┊   rows:   ┊ cell ┊ cell ┊
//! ╞══════════════════╡   under the header
//! ┊ a    ┊ ok        ┊
//! ╰──────────────────╯   bottom
//! ```
//!
//! In ASCII the same shapes use `+ - | =`. When any cell spans several lines, a dotted line
//! (`┄`, or `-` in ASCII) separates the rows.

/// Which characters draw the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Utf8,
    Ascii,
}

struct Frame {
    top: (char, char, char),
    header: (char, char, char),
    row: (char, char, char),
    bottom: (char, char, char),
    pipe: char,
}

impl Style {
    fn frame(self) -> Frame {
        match self {
            Style::Utf8 => Frame {
                top: ('╭', '─', '╮'),
                header: ('╞', '═', '╡'),
                row: ('╞', '┄', '╡'),
                bottom: ('╰', '─', '╯'),
                pipe: '┊',
            },
            Style::Ascii => Frame {
                top: ('+', '-', '+'),
                header: ('|', '=', '|'),
                row: ('|', '-', '|'),
                bottom: ('+', '-', '+'),
                pipe: '|',
            },
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    right: bool,
}

/// A table: named columns, rows of text cells (which may hold several lines).
#[derive(Debug, Clone, Default)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Table {
        let mut table = Table::default();
        for header in headers {
            table.add_column(header.as_ref());
        }
        table
    }

    pub fn add_column(&mut self, name: &str) {
        self.columns.push(Column { name: name.to_string(), right: false });
    }

    /// Right-aligns the text of a column (header included).
    pub fn align_right(&mut self, name: &str) {
        for column in self.columns.iter_mut().filter(|c| c.name == name) {
            column.right = true;
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub fn add_row(&mut self, mut row: Vec<String>) {
        row.resize(self.columns.len(), String::new());
        self.rows.push(row);
    }

    /// Sorts the rows by the first column in natural order (`n2` before `n10`), keeping the
    /// order of rows with equal keys, as the `linstor` client groups its lists.
    pub fn sort_by_first_column(&mut self) {
        self.rows.sort_by(|a, b| natural_cmp(&a[0], &b[0]));
    }

    pub fn render(&self, style: Style) -> String {
        let frame = style.frame();
        let header: Vec<String> = self.columns.iter().map(|c| c.name.replace('_', " ")).collect();
        let mut widths: Vec<usize> = header.iter().map(|h| text_width(h)).collect();
        let mut multi_line = header.iter().any(|h| h.contains('\n'));
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                widths[index] = widths[index].max(text_width(cell));
                multi_line |= cell.contains('\n');
            }
        }
        let inner = widths.iter().sum::<usize>() + 3 * self.columns.len() - 1;
        let line = |(left, fill, right): (char, char, char)| {
            let mut text = String::with_capacity(inner + 2);
            text.push(left);
            text.push_str(&fill.to_string().repeat(inner));
            text.push(right);
            text.push('\n');
            text
        };
        let mut out = line(frame.top);
        out.push_str(&self.render_row(&header, &widths, frame.pipe));
        out.push_str(&line(frame.header));
        for (index, row) in self.rows.iter().enumerate() {
            out.push_str(&self.render_row(row, &widths, frame.pipe));
            if multi_line && index + 1 < self.rows.len() {
                out.push_str(&line(frame.row));
            }
        }
        out.push_str(&line(frame.bottom));
        out
    }

    fn render_row(&self, cells: &[String], widths: &[usize], pipe: char) -> String {
        let lines: Vec<Vec<&str>> = cells.iter().map(|c| c.split('\n').collect()).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        let mut out = String::new();
        for line_index in 0..height {
            out.push(pipe);
            for (column, parts) in lines.iter().enumerate() {
                let text = parts.get(line_index).copied().unwrap_or("");
                let pad = widths[column].saturating_sub(text_width(text));
                out.push(' ');
                if self.columns[column].right {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(text);
                } else {
                    out.push_str(text);
                    out.push_str(&" ".repeat(pad));
                }
                out.push(' ');
                out.push(pipe);
            }
            out.push('\n');
        }
        out
    }
}

/// Width of the widest line of a cell, in characters.
fn text_width(text: &str) -> usize {
    text.split('\n').map(|line| line.chars().count()).max().unwrap_or(0)
}

/// Compares texts with runs of digits compared as numbers.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(text: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = text.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &text[start..i]));
                start = i;
            }
        }
        out
    }
    if a.is_empty() || b.is_empty() {
        return a.cmp(b);
    }
    let (left, right) = (chunks(a), chunks(b));
    for ((left_digits, l), (right_digits, r)) in left.iter().zip(right.iter()) {
        let order = if *left_digits && *right_digits {
            let (l_trim, r_trim) = (l.trim_start_matches('0'), r.trim_start_matches('0'));
            l_trim.len().cmp(&r_trim.len()).then_with(|| l_trim.cmp(r_trim))
        } else {
            l.cmp(r)
        };
        if order != std::cmp::Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut table = Table::new(&["Node", "NodeType", "Addresses", "State"]);
        table.add_row(vec![
            "alpha".into(),
            "SATELLITE".into(),
            "127.0.0.1:3366 (PLAIN)".into(),
            "Online".into(),
        ]);
        table
    }

    #[test]
    fn utf8_frame_matches_the_linstor_client() {
        let expected = "\
╭─────────────────────────────────────────────────────╮
┊ Node  ┊ NodeType  ┊ Addresses              ┊ State  ┊
╞═════════════════════════════════════════════════════╡
┊ alpha ┊ SATELLITE ┊ 127.0.0.1:3366 (PLAIN) ┊ Online ┊
╰─────────────────────────────────────────────────────╯
";
        assert_eq!(sample().render(Style::Utf8), expected);
    }

    #[test]
    fn ascii_frame_uses_the_same_shape() {
        let expected = "\
+-----------------------------------------------------+
| Node  | NodeType  | Addresses              | State  |
|=====================================================|
| alpha | SATELLITE | 127.0.0.1:3366 (PLAIN) | Online |
+-----------------------------------------------------+
";
        assert_eq!(sample().render(Style::Ascii), expected);
    }

    #[test]
    fn border_width_follows_the_formula() {
        let table = sample();
        let text = table.render(Style::Utf8);
        let top = text.lines().next().unwrap();
        // Σ widths (5 + 9 + 22 + 6) + 3 · 4 − 1 = 53 dashes between the corners.
        assert_eq!(top.chars().count(), 53 + 2);
        for line in text.lines() {
            assert_eq!(line.chars().count(), 55, "{line}");
        }
    }

    #[test]
    fn multi_line_cells_and_right_alignment() {
        let mut table = Table::new(&["Name", "Filter", "Size"]);
        table.align_right("Size");
        table.add_row(vec!["a".into(), "PlaceCount: 2\nStoragePool(s): p".into(), "1 GiB".into()]);
        table.add_row(vec!["b".into(), "".into(), "10 MiB".into()]);
        let expected = "\
+-----------------------------------+
| Name | Filter            |   Size |
|===================================|
| a    | PlaceCount: 2     |  1 GiB |
|      | StoragePool(s): p |        |
|-----------------------------------|
| b    |                   | 10 MiB |
+-----------------------------------+
";
        assert_eq!(table.render(Style::Ascii), expected);
    }

    #[test]
    fn header_underscores_become_spaces_and_short_rows_are_filled() {
        let mut table = Table::new(&["Pool_Name", "X"]);
        table.add_row(vec!["p".into()]);
        let text = table.render(Style::Ascii);
        assert!(text.contains("| Pool Name | X |"), "{text}");
        assert!(text.contains("| p         |   |"), "{text}");
    }

    #[test]
    fn sorting_is_natural_and_stable() {
        let mut table = Table::new(&["Name", "N"]);
        for (name, n) in [("n10", "1"), ("n2", "2"), ("n2", "3"), ("a", "4"), ("n1", "5")] {
            table.add_row(vec![name.into(), n.into()]);
        }
        table.sort_by_first_column();
        let order: Vec<&str> = table.rows.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(order, ["4", "5", "2", "3", "1"]);
        assert_eq!(natural_cmp("vol-9", "vol-10"), std::cmp::Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), std::cmp::Ordering::Greater);
    }
}
