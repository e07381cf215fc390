//! Controller addresses as LINSTOR clients accept them.
//!
//! Accepted forms: `host`, `host:port`, `[v6addr]`, `[v6addr]:port`, a bare IPv6 address
//! (`::1`, which cannot carry a port), each optionally prefixed with a scheme: `http://`,
//! `https://`, `linstor://` (plain HTTP) or `linstor+ssl://` (HTTPS). Without a port the default
//! of the scheme applies: 3370 for plain HTTP, 3371 for HTTPS.

use crate::Error;
use linstor_api::{DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PORT};
use std::fmt;

/// How a controller is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => DEFAULT_HTTP_PORT,
            Scheme::Https => DEFAULT_HTTPS_PORT,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One controller: scheme, host (without brackets) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ControllerUrl {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

impl ControllerUrl {
    /// Parses one controller address; `default_scheme` applies when the text names none.
    pub fn parse_with_default(text: &str, default_scheme: Scheme) -> Result<ControllerUrl, Error> {
        let bad = |why: &str| Error::Config(format!("invalid controller address '{text}': {why}"));
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((name, rest)) => {
                let scheme = match name.to_ascii_lowercase().as_str() {
                    "http" | "linstor" => Scheme::Http,
                    "https" | "linstor+ssl" => Scheme::Https,
                    _ => return Err(bad("the scheme must be http, https, linstor or linstor+ssl")),
                };
                (scheme, rest)
            }
            None => (default_scheme, trimmed),
        };
        // A trailing slash is harmless; any other path is not something a controller address has.
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(bad("a controller address has no path"));
        }
        if rest.contains('@') {
            return Err(bad("user information in the address is not supported"));
        }
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (host, after) =
                inner.split_once(']').ok_or_else(|| bad("the '[' of an IPv6 address is not closed"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| bad("unexpected text after ']'"))?),
            };
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("the text in brackets is not an IPv6 address"));
            }
            (host, port)
        } else if rest.matches(':').count() > 1 {
            // A bare IPv6 address: it cannot carry a port without brackets.
            if rest.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address (use [address]:port for a port)"));
            }
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if host.chars().any(|c| c.is_whitespace() || c == '[' || c == ']') {
            return Err(bad("the host contains invalid characters"));
        }
        let port = match port {
            None => scheme.default_port(),
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        Ok(ControllerUrl { scheme, host: host.to_string(), port })
    }

    /// Parses one controller address, plain HTTP unless the text says otherwise.
    pub fn parse(text: &str) -> Result<ControllerUrl, Error> {
        ControllerUrl::parse_with_default(text, Scheme::Http)
    }

    /// Parses a list of addresses separated by commas and/or whitespace (the form of
    /// `LS_CONTROLLERS` and `--controllers`).
    pub fn parse_list(text: &str, default_scheme: Scheme) -> Result<Vec<ControllerUrl>, Error> {
        let list: Vec<ControllerUrl> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(|part| ControllerUrl::parse_with_default(part, default_scheme))
            .collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err(Error::Config("no controller address given".to_string()));
        }
        Ok(list)
    }

    /// The host as it goes into a URL: IPv6 addresses in brackets.
    pub fn host_for_url(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `scheme://host:port`, without a trailing slash.
    pub fn base(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host_for_url(), self.port)
    }
}

impl fmt::Display for ControllerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base())
    }
}

impl std::str::FromStr for ControllerUrl {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ControllerUrl::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_accepted_forms() {
        let cases: &[(&str, Scheme, &str, u16)] = &[
            ("ctrl", Scheme::Http, "ctrl", 3370),
            ("ctrl:4000", Scheme::Http, "ctrl", 4000),
            ("127.0.0.1", Scheme::Http, "127.0.0.1", 3370),
            ("127.0.0.1:3370", Scheme::Http, "127.0.0.1", 3370),
            ("http://ctrl", Scheme::Http, "ctrl", 3370),
            ("http://ctrl:8080/", Scheme::Http, "ctrl", 8080),
            ("https://ctrl", Scheme::Https, "ctrl", 3371),
            ("HTTPS://ctrl:443", Scheme::Https, "ctrl", 443),
            ("linstor://ctrl", Scheme::Http, "ctrl", 3370),
            ("linstor+ssl://ctrl", Scheme::Https, "ctrl", 3371),
            ("linstor+ssl://ctrl:9000", Scheme::Https, "ctrl", 9000),
            ("[::1]", Scheme::Http, "::1", 3370),
            ("[::1]:4000", Scheme::Http, "::1", 4000),
            ("::1", Scheme::Http, "::1", 3370),
            ("fe80::1:2", Scheme::Http, "fe80::1:2", 3370),
            ("https://[2001:db8::7]", Scheme::Https, "2001:db8::7", 3371),
            ("linstor+ssl://[2001:db8::7]:3400", Scheme::Https, "2001:db8::7", 3400),
            ("  ctrl  ", Scheme::Http, "ctrl", 3370),
        ];
        for (text, scheme, host, port) in cases {
            let url = ControllerUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((url.scheme, url.host.as_str(), url.port), (*scheme, *host, *port), "{text}");
        }
    }

    #[test]
    fn default_scheme_applies_only_without_a_scheme() {
        let url = ControllerUrl::parse_with_default("ctrl", Scheme::Https).unwrap();
        assert_eq!((url.scheme, url.port), (Scheme::Https, 3371));
        let url = ControllerUrl::parse_with_default("http://ctrl", Scheme::Https).unwrap();
        assert_eq!((url.scheme, url.port), (Scheme::Http, 3370));
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for text in [
            "",
            "   ",
            "ftp://ctrl",
            "ctrl:0",
            "ctrl:70000",
            "ctrl:port",
            "ctrl:",
            "[::1",
            "[::1]x",
            "[not-v6]:3370",
            "http://ctrl/v1",
            "::g",
            ":3370",
            "user@ctrl",
            "http://",
        ] {
            assert!(ControllerUrl::parse(text).is_err(), "{text:?} should be refused");
        }
    }

    #[test]
    fn renders_bases_with_brackets_for_ipv6() {
        assert_eq!(ControllerUrl::parse("::1").unwrap().base(), "http://[::1]:3370");
        assert_eq!(ControllerUrl::parse("linstor+ssl://h").unwrap().base(), "https://h:3371");
        assert_eq!(ControllerUrl::parse("h:1").unwrap().to_string(), "http://h:1");
    }

    #[test]
    fn parses_lists() {
        let list = ControllerUrl::parse_list("a, b:1 ,[::1]:2  linstor+ssl://c", Scheme::Http).unwrap();
        let bases: Vec<String> = list.iter().map(ControllerUrl::base).collect();
        assert_eq!(bases, ["http://a:3370", "http://b:1", "http://[::1]:2", "https://c:3371"]);
        assert!(ControllerUrl::parse_list(" , ", Scheme::Http).is_err());
        assert!(ControllerUrl::parse_list("a,ftp://b", Scheme::Http).is_err());
    }
}
