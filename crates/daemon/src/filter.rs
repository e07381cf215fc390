//! The `filter=` query language of list endpoints.
//!
//! A filter is a chain of comparisons `FIELD eq|ne VALUE`, each optionally preceded by
//! `not`, joined by `and` / `or` and evaluated strictly left to right (no precedence). Values
//! may be quoted with `"` or `'` to hold spaces.
//!
//! - `FIELD` is a path in the object's JSON form (`name`, `type`, `config.block.filesystem`);
//!   map keys may themselves contain dots. A field the object does not have reads as `""`.
//! - A `VALUE` with a `,` is a list of alternatives compared for equality, ignoring case.
//!   Otherwise it is a case-insensitive regular expression, anchored at both ends unless it
//!   contains `^` or `$`; a value that is not a valid expression is compared for equality.
//! - An empty filter keeps everything.

use regex::RegexBuilder;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    join: Join,
    negate: bool,
    field: String,
    equal: bool,
    value: String,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    clauses: Vec<Clause>,
}

/// Splits on whitespace, keeping quoted parts together (quotes removed).
fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_token = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_token = true;
            }
            None if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut current));
                    in_token = false;
                }
            }
            None => {
                current.push(c);
                in_token = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quoted value is not closed".into());
    }
    if in_token {
        tokens.push(current);
    }
    Ok(tokens)
}

impl Filter {
    /// Parses a filter; `None` when it is empty.
    pub fn parse(text: &str) -> Result<Option<Filter>, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Ok(None);
        }
        let mut clauses = Vec::new();
        let mut i = 0;
        let mut join = Join::And;
        loop {
            let mut negate = false;
            while tokens.get(i).is_some_and(|t| t.eq_ignore_ascii_case("not")) {
                negate = !negate;
                i += 1;
            }
            let (Some(field), Some(op), Some(value)) = (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2))
            else {
                return Err(format!(
                    "incomplete comparison at \"{}\"",
                    tokens[i.min(tokens.len() - 1)..].join(" ")
                ));
            };
            let equal = match op.to_ascii_lowercase().as_str() {
                "eq" => true,
                "ne" => false,
                other => return Err(format!("unknown operator \"{other}\" (use eq or ne)")),
            };
            clauses.push(Clause { join, negate, field: field.clone(), equal, value: value.clone() });
            i += 3;
            match tokens.get(i).map(|t| t.to_ascii_lowercase()) {
                None => break,
                Some(word) if word == "and" => join = Join::And,
                Some(word) if word == "or" => join = Join::Or,
                Some(word) => return Err(format!("expected \"and\" or \"or\", found \"{word}\"")),
            }
            i += 1;
            if i >= tokens.len() {
                return Err("the filter ends with a dangling \"and\"/\"or\"".into());
            }
        }
        Ok(Some(Filter { clauses }))
    }

    /// Whether `object` (a JSON object) passes the filter.
    pub fn matches(&self, object: &Value) -> bool {
        let mut result = true;
        for (index, clause) in self.clauses.iter().enumerate() {
            let actual = lookup(object, &clause.field).unwrap_or_default();
            let hit = value_matches(&actual, &clause.value) == clause.equal;
            let hit = hit != clause.negate;
            result = if index == 0 {
                hit
            } else {
                match clause.join {
                    Join::And => result && hit,
                    Join::Or => result || hit,
                }
            };
        }
        result
    }
}

/// The string form of a field of `object` (see the module doc for paths).
fn lookup(object: &Value, path: &str) -> Option<String> {
    match object {
        Value::Object(map) => {
            if let Some(value) = map.get(path) {
                return Some(leaf(value));
            }
            // The longest key that prefixes the path first (map keys may contain dots).
            let parts: Vec<&str> = path.split('.').collect();
            for split in (1..parts.len()).rev() {
                let key = parts[..split].join(".");
                if let Some(value) = map.get(&key) {
                    if let Some(found) = lookup(value, &parts[split..].join(".")) {
                        return Some(found);
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            let item = items.get(head.parse::<usize>().ok()?)?;
            if rest.is_empty() {
                Some(leaf(item))
            } else {
                lookup(item, rest)
            }
        }
        _ => None,
    }
}

fn leaf(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn value_matches(actual: &str, wanted: &str) -> bool {
    if wanted.contains(',') {
        let actual = actual.to_lowercase();
        return wanted.split(',').any(|w| w.to_lowercase() == actual);
    }
    let pattern = if wanted.contains('^') || wanted.contains('$') {
        wanted.to_string()
    } else {
        format!("^(?:{wanted})$")
    };
    match RegexBuilder::new(&pattern).case_insensitive(true).size_limit(1 << 20).build() {
        Ok(regex) => regex.is_match(actual),
        Err(_) => actual.to_lowercase() == wanted.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vol() -> Value {
        json!({
            "name": "vol1", "type": "custom", "content_type": "filesystem", "description": "My data",
            "project": "default", "config": {"size": "1GiB", "block.filesystem": "ext4"}, "used_by": [],
            "snapshot": "false"
        })
    }

    fn check(filter: &str) -> bool {
        Filter::parse(filter).unwrap().unwrap().matches(&vol())
    }

    #[test]
    fn empty_filters_keep_everything() {
        assert_eq!(Filter::parse(""), Ok(None));
        assert_eq!(Filter::parse("   "), Ok(None));
    }

    #[test]
    fn comparisons() {
        let table = [
            ("name eq vol1", true),
            ("name eq VOL1", true),
            ("name eq vol", false),
            ("name ne vol", true),
            ("name eq (^vol$|^vol.*)", true),
            ("name eq v.*", true),
            ("name eq ol", false),
            ("name eq ol1$", true),
            ("type eq custom,image", true),
            ("type eq CUSTOM,image", true),
            ("type eq container,image", false),
            ("config.block.filesystem eq ext4", true),
            ("config.size eq 1GiB", true),
            ("config.missing eq x", false),
            ("config.missing eq ''", true),
            ("description eq \"my data\"", true),
            ("description eq 'My data'", true),
            ("not name eq vol1", false),
            ("not not name eq vol1", true),
            ("name eq x or type eq custom", true),
            ("name eq x and type eq custom", false),
            ("name eq vol1 and type eq custom and content_type eq block", false),
            // Left to right: (false or true) and true.
            ("name eq x or type eq custom and snapshot eq false", true),
            // Left to right: (true and false) or true.
            ("name eq vol1 and type eq x or project eq default", true),
            ("name eq [", false),
            ("nosuchfield eq ''", true),
        ];
        for (filter, want) in table {
            assert_eq!(check(filter), want, "{filter}");
        }
    }

    #[test]
    fn syntax_errors() {
        for bad in ["name", "name eq", "name gt 1", "name eq a xor b eq c", "name eq a and", "name eq \"open"]
        {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }
}
