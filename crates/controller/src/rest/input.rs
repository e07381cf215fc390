//! Reading requests: strict JSON bodies (unknown fields refused, as LINSTOR does) and query
//! strings with repeated keys.

use super::reply::Reply;
use crate::ops::{valid_name, Call};
use linstor_api::names::NameKind;
use serde::de::DeserializeOwned;

/// Parses a JSON object body into `T`, refusing unknown fields, trailing data, bad encodings
/// and any other top-level value (serde would read an array as a struct's fields).
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reply> {
    expect_top_level(bytes, b'{', "an object")?;
    parse(bytes)
}

/// Parses a JSON array body into `T`, with the same checks as [`body`].
pub fn array_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reply> {
    expect_top_level(bytes, b'[', "an array")?;
    parse(bytes)
}

fn expect_top_level(bytes: &[u8], open: u8, what: &str) -> Result<(), Reply> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(first) if *first == open => Ok(()),
        _ => Err(Reply::bad_request(
            "Unable to parse input json.",
            format!("The request body must be {what}."),
        )),
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reply> {
    let mut unknown = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_ignored::deserialize(&mut deserializer, |path| unknown.push(path.to_string()))
        .map_err(|err| Reply::bad_request("Unable to parse input json.", err.to_string()))?;
    deserializer.end().map_err(|err| Reply::bad_request("Unable to parse input json.", err.to_string()))?;
    if !unknown.is_empty() {
        return Err(Reply::bad_request(
            "Unable to parse input json.",
            format!("Unrecognized field(s): {}", unknown.join(", ")),
        ));
    }
    Ok(value)
}

/// The parsed query string of a request.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    /// Every value of a repeated parameter, in order. Comma-separated values are split too.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Every value of a repeated parameter, taken whole (for `props` filters, which may hold commas).
    pub fn all_whole(&self, name: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()).collect()
    }

    fn last(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn number(&self, name: &str) -> Result<usize, Reply> {
        match self.last(name) {
            None | Some("") => Ok(0),
            Some(text) => text.parse().map_err(|_| {
                Reply::bad_request(
                    format!("The query parameter '{name}' must be a number."),
                    format!("'{text}' is not a non-negative integer."),
                )
            }),
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, Reply> {
        match self.last(name) {
            None | Some("") => Ok(false),
            Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
            Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
            Some(text) => Err(Reply::bad_request(
                format!("The query parameter '{name}' must be true or false."),
                format!("'{text}' is neither."),
            )),
        }
    }

    /// `offset` and `limit` (0 = no limit).
    pub fn paging(&self) -> Result<(usize, usize), Reply> {
        Ok((self.number("offset")?, self.number("limit")?))
    }

    /// Names of a filter parameter, each checked against `kind`'s rule.
    pub fn names(&self, name: &str, kind: NameKind, object: i64) -> Result<Vec<String>, Reply> {
        let names = self.all(name);
        for value in &names {
            valid_name(Call::new(object, 0), kind, value).map_err(Reply::error)?;
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Small {
        #[serde(default)]
        a: i32,
    }

    #[test]
    fn unknown_fields_and_trailing_data_are_refused() {
        assert_eq!(body::<Small>(br#"{"a":1}"#).ok(), Some(Small { a: 1 }));
        assert!(body::<Small>(br#"{"a":1,"b":2}"#).is_err());
        assert!(body::<Small>(br#"{"a":1} x"#).is_err());
        assert!(body::<Small>(b"\xff\xfe").is_err());
        assert!(body::<Small>(b"").is_err());
        let deep = "[".repeat(100_000);
        assert!(body::<Small>(deep.as_bytes()).is_err());
        assert!(body::<Small>(b"[1]").is_err());
        assert!(array_body::<Vec<Small>>(b" [{}]").is_ok());
        assert!(array_body::<Vec<Small>>(b"{}").is_err());
    }

    #[test]
    fn repeated_query_parameters() {
        let q = Query::parse(Some("nodes=a&nodes=b,c&props=Aux/x%3D1&limit=5&props=k"));
        assert_eq!(q.all("nodes"), ["a", "b", "c"]);
        assert_eq!(q.all_whole("props"), ["Aux/x=1", "k"]);
        assert_eq!(q.paging().ok(), Some((0, 5)));
        assert!(Query::parse(Some("limit=-1")).paging().is_err());
        assert!(Query::parse(Some("nodes=bad_name")).names("nodes", NameKind::Node, 0).is_err());
    }
}
