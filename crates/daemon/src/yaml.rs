//! The YAML of backup index files (`backup/index.yaml`): written in block style with every
//! string double-quoted (JSON escapes, which YAML shares), and read back from that or from what
//! Incus's Go YAML library writes (plain and quoted scalars, block sequences at their key's
//! indentation, `{}` and `[]`, simple flow sequences, `|` and `>` block scalars). Values are
//! read as JSON values whose scalars are strings; no other YAML is needed.

use serde_json::{Map, Value};

// ---- writing ----------------------------------------------------------------------------------

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn is_empty_container(value: &Value) -> Option<&'static str> {
    match value {
        Value::Object(m) if m.is_empty() => Some("{}"),
        Value::Array(a) if a.is_empty() => Some("[]"),
        _ => None,
    }
}

fn write_map(map: &Map<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (key, value) in map {
        write_entry(&pad, key, value, indent, out);
    }
}

fn write_entry(pad: &str, key: &str, value: &Value, indent: usize, out: &mut String) {
    if let Some(empty) = is_empty_container(value) {
        out.push_str(&format!("{pad}{key}: {empty}\n"));
        return;
    }
    match value {
        Value::Object(inner) => {
            out.push_str(&format!("{pad}{key}:\n"));
            write_map(inner, indent + 2, out);
        }
        Value::Array(items) => {
            out.push_str(&format!("{pad}{key}:\n"));
            write_seq(items, indent, out);
        }
        other => out.push_str(&format!("{pad}{key}: {}\n", scalar(other))),
    }
}

fn write_seq(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Value::Object(map) if !map.is_empty() => {
                let mut first = true;
                for (key, value) in map {
                    let lead = if first { format!("{pad}- ") } else { " ".repeat(indent + 2) };
                    first = false;
                    let mut entry = String::new();
                    write_entry("", key, value, indent + 2, &mut entry);
                    out.push_str(&lead);
                    out.push_str(&entry);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}-\n"));
                write_seq(inner, indent + 2, out);
            }
            other => {
                let text = is_empty_container(other).map(str::to_string).unwrap_or_else(|| scalar(other));
                out.push_str(&format!("{pad}- {text}\n"));
            }
        }
    }
}

/// A JSON object as block-style YAML.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) => write_map(map, 0, &mut out),
        Value::Array(items) => write_seq(items, 0, &mut out),
        other => out.push_str(&format!("{}\n", scalar(other))),
    }
    out
}

// ---- reading ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Line {
    indent: usize,
    text: String,
    number: usize,
}

fn lines_of(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let trimmed = raw.trim_end();
            let content = trimmed.trim_start();
            if content.is_empty() || content.starts_with('#') || content == "---" || content == "..." {
                return None;
            }
            Some(Line { indent: trimmed.len() - content.len(), text: content.to_string(), number: i + 1 })
        })
        .collect()
}

/// Strips a trailing ` # comment` from a plain scalar.
fn strip_comment(text: &str) -> &str {
    match text.find(" #") {
        Some(i) => text[..i].trim_end(),
        None => text,
    }
}

fn parse_scalar(text: &str) -> Result<Value, String> {
    let text = text.trim();
    if text.is_empty() || text == "~" || text == "null" {
        return Ok(Value::Null);
    }
    if text.starts_with('"') {
        let end = text.rfind('"').filter(|e| *e > 0).ok_or_else(|| format!("unterminated string {text}"))?;
        return serde_json::from_str::<String>(&text[..=end])
            .map(Value::String)
            .map_err(|err| format!("bad string {text}: {err}"));
    }
    if let Some(rest) = text.strip_prefix('\'') {
        let end = rest.rfind('\'').ok_or_else(|| format!("unterminated string {text}"))?;
        return Ok(Value::String(rest[..end].replace("''", "'")));
    }
    if text == "{}" {
        return Ok(Value::Object(Map::new()));
    }
    if text == "[]" {
        return Ok(Value::Array(Vec::new()));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.split(',').map(parse_scalar).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let mut map = Map::new();
        for part in inner.split(',') {
            let (k, v) = part.split_once(':').ok_or_else(|| format!("bad flow mapping {text}"))?;
            map.insert(k.trim().trim_matches('"').to_string(), parse_scalar(v)?);
        }
        return Ok(Value::Object(map));
    }
    Ok(Value::String(strip_comment(text).to_string()))
}

/// `key: rest` of a mapping line (the key may be quoted).
fn split_key(text: &str) -> Option<(String, &str)> {
    if let Some(inner) = text.strip_prefix('"') {
        let end = inner.find('"')? + 1;
        let key: String = serde_json::from_str(&text[..=end]).ok()?;
        let rest = text[end + 1..].strip_prefix(':')?;
        return Some((key, rest.trim_start()));
    }
    let colon = text.find(": ").or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
    Some((text[..colon].trim().to_string(), text[colon + 1..].trim_start()))
}

struct Parser {
    lines: Vec<Line>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Line> {
        self.lines.get(self.pos)
    }

    fn error(&self, why: &str) -> String {
        match self.peek() {
            Some(line) => format!("line {}: {why}", line.number),
            None => why.to_string(),
        }
    }

    /// A block scalar (`|`, `>`) whose lines are indented deeper than `parent`.
    fn block_scalar(&mut self, parent: usize, style: &str) -> Value {
        let mut parts = Vec::new();
        let mut base = None;
        while let Some(line) = self.peek() {
            if line.indent <= parent {
                break;
            }
            let base = *base.get_or_insert(line.indent);
            parts.push(format!("{}{}", " ".repeat(line.indent.saturating_sub(base)), line.text));
            self.pos += 1;
        }
        let joined = if style.starts_with('>') { parts.join(" ") } else { parts.join("\n") };
        Value::String(if style.ends_with('-') { joined } else { format!("{joined}\n") })
    }

    /// The value of a key whose line ended after the colon.
    fn nested(&mut self, indent: usize) -> Result<Value, String> {
        match self.peek() {
            Some(line) if line.indent > indent => self.node(line.indent),
            Some(line) if line.indent == indent && line.text.starts_with('-') => self.node(indent),
            _ => Ok(Value::Null),
        }
    }

    fn node(&mut self, indent: usize) -> Result<Value, String> {
        let Some(first) = self.peek() else { return Ok(Value::Null) };
        if first.text == "-" || first.text.starts_with("- ") {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        }
    }

    fn value_after(&mut self, rest: &str, indent: usize) -> Result<Value, String> {
        if rest.is_empty() {
            return self.nested(indent);
        }
        if rest.starts_with('|') || rest.starts_with('>') {
            return Ok(self.block_scalar(indent, rest));
        }
        parse_scalar(rest)
    }

    fn mapping(&mut self, indent: usize) -> Result<Value, String> {
        let mut map = Map::new();
        while let Some(line) = self.peek().cloned() {
            if line.indent < indent || line.text.starts_with("- ") || line.text == "-" {
                break;
            }
            if line.indent > indent {
                return Err(self.error("unexpected indentation"));
            }
            let (key, rest) = split_key(&line.text).ok_or_else(|| self.error("expected \"key: value\""))?;
            self.pos += 1;
            let value = self.value_after(rest, indent)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    fn sequence(&mut self, indent: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        while let Some(line) = self.peek().cloned() {
            if line.indent != indent || !(line.text == "-" || line.text.starts_with("- ")) {
                break;
            }
            let rest = line.text[1..].trim_start().to_string();
            if rest.is_empty() {
                self.pos += 1;
                items.push(self.nested(indent)?);
                continue;
            }
            let inner = indent + (line.text.len() - rest.len());
            if split_key(&rest).is_some() {
                // A mapping whose first key is on the dash's line: read it as if that line were
                // indented like the keys that follow.
                self.lines[self.pos] = Line { indent: inner, text: rest, number: line.number };
                items.push(self.mapping(inner)?);
            } else {
                self.pos += 1;
                items.push(self.value_after(&rest, indent)?);
            }
        }
        Ok(Value::Array(items))
    }
}

/// Reads YAML into a JSON value (scalars as strings, `null` for empty values).
pub fn from_yaml(text: &str) -> Result<Value, String> {
    let lines = lines_of(text);
    let indent = lines.first().map(|l| l.indent).unwrap_or(0);
    let mut parser = Parser { lines, pos: 0 };
    let value = parser.node(indent)?;
    if parser.pos < parser.lines.len() {
        return Err(parser.error("unexpected content"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn incus_index_files_read() {
        // As Incus's Go YAML library writes a custom volume backup's index.
        let text = r#"name: vol1
backend: zfs
pool: default
snapshots:
- snap0
- snap1
optimized: false
optimized_header: false
type: custom
config:
  volume:
    config:
      size: 1GiB
    description: "my volume: data"
    name: vol1
    type: custom
    used_by: []
    location: none
    content_type: filesystem
    project: default
    created_at: 2024-05-01T10:00:00Z
  volume_snapshots:
  - description: ""
    expires_at: 0001-01-01T00:00:00Z
    name: snap0
    config:
      size: 1GiB
    content_type: filesystem
    created_at: 2024-05-01T10:05:00Z
  - description: |-
      two
      lines
    expires_at: 2030-01-01T00:00:00Z
    name: snap1
    config: {}
    content_type: filesystem
    created_at: 2024-05-01T10:06:00Z
"#;
        let v = from_yaml(text).unwrap();
        assert_eq!(v["snapshots"], json!(["snap0", "snap1"]));
        assert_eq!(v["config"]["volume"]["config"]["size"], "1GiB");
        assert_eq!(v["config"]["volume"]["description"], "my volume: data");
        assert_eq!(v["config"]["volume"]["used_by"], json!([]));
        assert_eq!(v["config"]["volume_snapshots"][0]["name"], "snap0");
        assert_eq!(v["config"]["volume_snapshots"][0]["config"]["size"], "1GiB");
        assert_eq!(v["config"]["volume_snapshots"][1]["description"], "two\nlines");
        assert_eq!(v["config"]["volume_snapshots"][1]["config"], json!({}));
        assert_eq!(v["optimized"], "false");
    }

    #[test]
    fn written_yaml_reads_back() {
        let value = json!({
            "name": "v: 1 # not a comment",
            "snapshots": ["a", "b"],
            "empty": [],
            "config": {"volume": {"config": {"size": "1GiB"}, "description": "line\nnext \"quoted\""},
                       "volume_snapshots": [{"name": "a", "config": {}}, {"name": "b", "config": {"k": "v"}}]},
        });
        let text = to_yaml(&value);
        assert_eq!(from_yaml(&text).unwrap(), value, "{text}");
    }

    #[test]
    fn bad_yaml_is_an_error() {
        assert!(from_yaml("a: b\n   c: d\n").is_err());
        assert!(from_yaml("a: \"unterminated\n").is_err());
    }
}
