//! Names the API accepts, and URLs built from them.

/// Characters an API name may not contain (besides whitespace and `/`).
const FORBIDDEN: &[char] = &['$', '?', '&', '+', '"', '\'', '`', '*', '\\'];

/// Checks an Incus API name (pools, volumes, projects): 1 to 64 characters, no whitespace,
/// no `/` and none of `$ ? & + " ' \` *`, starting and ending with a letter or digit.
pub fn check_api_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Name is required".into());
    }
    if name.chars().count() > 64 {
        return Err("Name is too long (64 characters at most)".into());
    }
    if name.chars().any(char::is_whitespace) {
        return Err("Name cannot contain white space".into());
    }
    if name.contains('/') {
        return Err("Name cannot contain \"/\"".into());
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c) || c.is_control()) {
        return Err(format!("Name cannot contain {c:?}"));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Err("Name must start and end with a letter or a digit".into());
    }
    Ok(())
}

/// Checks a project name: an API name without `_` (the storage side joins project and
/// volume names with it).
pub fn check_project_name(name: &str) -> Result<(), String> {
    check_api_name(name)?;
    if name.contains('_') {
        return Err("Project names cannot contain \"_\"".into());
    }
    Ok(())
}

/// Escapes one URL path segment (everything but unreserved characters).
pub fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Escapes a query value.
pub fn escape_query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `/1.0/storage-pools/<pool>`.
pub fn pool_url(pool: &str) -> String {
    format!("/1.0/storage-pools/{}", escape_segment(pool))
}

/// `/1.0/storage-pools/<pool>/volumes/<type>/<name>[?project=<p>]` (the project only when it
/// is not `default`).
pub fn volume_url(pool: &str, vol_type: &str, name: &str, project: &str) -> String {
    let mut url = format!("{}/volumes/{vol_type}/{}", pool_url(pool), escape_segment(name));
    if project != crate::DEFAULT_PROJECT {
        url.push_str("?project=");
        url.push_str(&escape_query(project));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names() {
        for good in ["a", "vol1", "my-vol.2", "A_b", "x".repeat(64).as_str(), "é1é".trim_matches('é')] {
            assert_eq!(check_api_name(good), Ok(()), "{good}");
        }
        for bad in [
            "", "-a", "a-", "a b", "a/b", "a$b", "a?b", "a&b", "a+b", "a\"b", "a'b", "a`b", "a*b", "a\\b",
            "a\tb",
        ] {
            assert!(check_api_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_api_name(&"x".repeat(65)).is_err());
        assert!(check_project_name("my_project").is_err());
        assert_eq!(check_project_name("p1"), Ok(()));
    }

    #[test]
    fn urls() {
        assert_eq!(
            volume_url("default", "custom", "vol1", "default"),
            "/1.0/storage-pools/default/volumes/custom/vol1"
        );
        assert_eq!(
            volume_url("p", "custom", "a%b#c", "proj"),
            "/1.0/storage-pools/p/volumes/custom/a%25b%23c?project=proj"
        );
    }
}
