//! Output in the formats Incus offers: its bordered table, CSV, JSON and YAML.

use serde_json::Value;

/// `--format` of list commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
    Csv,
}

/// A table as Incus draws it: `+---+` borders, centred headers, a rule after every row.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).max().unwrap_or(0).max(h.len())
        })
        .collect();
    let rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+\n";
    let mut out = rule.clone();
    for (header, width) in headers.iter().zip(&widths) {
        let left = (width - header.len()) / 2;
        let right = width - header.len() - left;
        out.push_str(&format!("| {}{}{} ", " ".repeat(left), header, " ".repeat(right)));
    }
    out.push_str("|\n");
    out.push_str(&rule);
    for row in rows {
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            out.push_str(&format!("| {}{} ", cell, " ".repeat(width - cell.chars().count())));
        }
        out.push_str("|\n");
        out.push_str(&rule);
    }
    out
}

/// Rows as CSV (no header line, as Incus prints them).
pub fn csv(rows: &[Vec<String>]) -> String {
    let field = |cell: &String| {
        if cell.contains([',', '"', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.clone()
        }
    };
    rows.iter().map(|row| row.iter().map(field).collect::<Vec<_>>().join(",") + "\n").collect()
}

/// Prints list output in the chosen format: rows for table and CSV, the server's objects
/// for JSON and YAML.
pub fn print_list(format: Format, headers: &[&str], rows: &[Vec<String>], objects: &Value) {
    match format {
        Format::Table => print!("{}", table(headers, rows)),
        Format::Csv => print!("{}", csv(rows)),
        Format::Json => println!("{}", serde_json::to_string(objects).unwrap_or_default()),
        Format::Yaml => print!("{}", yaml(objects)),
    }
}

/// A JSON value as YAML (block style, as `incus ... show` prints).
pub fn yaml(value: &Value) -> String {
    let mut out = String::new();
    write_yaml(value, 0, &mut out);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn scalar(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s),
        Value::Array(a) if a.is_empty() => "[]".to_string(),
        Value::Object(o) if o.is_empty() => "{}".to_string(),
        _ => return None,
    })
}

/// A string as a YAML scalar: plain where YAML reads it back as the same string, quoted
/// otherwise (empty, number-, bool- or time-like, or holding YAML syntax).
fn yaml_string(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needs_quotes = text.is_empty()
        || text.parse::<f64>().is_ok()
        || ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"].contains(&lower.as_str())
        || text.starts_with(|c: char| " -?:,[]{}#&*!|>'\"%@`".contains(c))
        || text.ends_with(' ')
        || text.contains(": ")
        || text.contains(" #")
        || text.contains(['\n', '\t', '"', '\\'])
        || (text.starts_with(|c: char| c.is_ascii_digit()) && text.contains(':'));
    if needs_quotes {
        serde_json::to_string(text).unwrap_or_default()
    } else {
        text.to_string()
    }
}

fn write_yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}{}: {text}\n", yaml_string(key))),
                    None => {
                        out.push_str(&format!("{pad}{}:\n", yaml_string(key)));
                        let child = if item.is_array() { indent } else { indent + 2 };
                        write_yaml(item, child, out);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        let mut nested = String::new();
                        write_yaml(item, indent + 2, &mut nested);
                        out.push_str(&format!("{pad}- {}", nested.trim_start()));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn incus_table_layout() {
        let rows = vec![vec!["custom".to_string(), "vol".to_string()]];
        let text = table(&["TYPE", "NAME"], &rows);
        assert_eq!(
            text,
            "+--------+------+\n|  TYPE  | NAME |\n+--------+------+\n| custom | vol  |\n+--------+------+\n"
        );
    }

    #[test]
    fn yaml_of_a_volume() {
        let volume = json!({"config": {"size": "10GiB"}, "description": "", "name": "vol", "used_by": [],
                            "list": ["a", {"b": 1}], "flag": "true", "time": "0001-01-01T00:00:00Z"});
        assert_eq!(
            yaml(&volume),
            "config:\n  size: 10GiB\ndescription: \"\"\nflag: \"true\"\nlist:\n- a\n- b: 1\nname: vol\n\
             time: \"0001-01-01T00:00:00Z\"\nused_by: []\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv(&[vec!["a,b".into(), "c".into()]]), "\"a,b\",c\n");
    }
}
