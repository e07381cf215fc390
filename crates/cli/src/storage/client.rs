//! A small blocking HTTP/1.1 client for the storage daemon's unix socket, speaking the Incus
//! envelope: sync answers carry `metadata`, errors carry `error`, async answers name an
//! operation that is waited for.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Daemon {
    socket: PathBuf,
}

/// A failed command: the daemon's HTTP status (0 when the failure is not the daemon's answer)
/// and its one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: u16,
    pub message: String,
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error { status: 0, message }
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error { status: 0, message: message.to_string() }
    }
}

impl From<Error> for String {
    fn from(err: Error) -> String {
        err.message
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// An answer of the daemon: its metadata, and its `ETag` header when there is one.
pub struct Answer {
    pub metadata: Value,
    pub etag: Option<String>,
    /// The finished operation, when the answer was an operation's (its `resources` name what
    /// it made).
    pub operation: Option<Value>,
}

impl Daemon {
    pub fn new(socket: PathBuf) -> Daemon {
        Daemon { socket }
    }

    /// A connection to the daemon whose reads give up after `timeout`.
    pub(crate) fn connect(&self, timeout: Duration) -> Result<UnixStream> {
        let stream = UnixStream::connect(&self.socket).map_err(|err| {
            format!(
                "cannot reach the storage daemon at {}: {err} (is `strand up` or `strand daemon` running? \
                 set --data-dir or STRAND_DIR to its data directory)",
                self.socket.display()
            )
        })?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        Ok(stream)
    }

    /// Sends one request and decodes the envelope; async answers are waited for.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Answer> {
        let (status, headers, payload) = self.exchange(method, path, body, if_match)?;
        let envelope = envelope(status, &payload)?;
        match envelope["type"].as_str() {
            Some("async") => {
                let operation = envelope["operation"].as_str().unwrap_or_default().to_string();
                self.wait(&operation)
            }
            _ => Ok(Answer {
                metadata: envelope["metadata"].clone(),
                etag: header(&headers, "etag").map(str::to_string),
                operation: None,
            }),
        }
    }

    pub fn get(&self, path: &str) -> Result<Answer> {
        self.request("GET", path, None, None)
    }

    /// Waits for an operation to finish; its metadata on success, its error otherwise.
    fn wait(&self, operation: &str) -> Result<Answer> {
        if operation.is_empty() {
            return Err("the daemon started an operation without naming it".into());
        }
        let answer = self.request("GET", &format!("{operation}/wait?timeout=-1"), None, None)?;
        let op = &answer.metadata;
        match op["status"].as_str() {
            Some("Success") => {
                Ok(Answer { metadata: op["metadata"].clone(), etag: None, operation: Some(op.clone()) })
            }
            _ => Err(op["err"].as_str().filter(|e| !e.is_empty()).unwrap_or("the operation failed").into()),
        }
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(u16, Headers, Vec<u8>)> {
        let mut stream = self.connect(Duration::from_secs(3600))?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: strand\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(etag) = if_match {
            head.push_str(&format!("If-Match: {etag}\r\n"));
        }
        head.push_str("\r\n");
        // One write: the daemon may answer (and close) before it reads a body it does not
        // need; its answer is read even then.
        let mut request = head.into_bytes();
        request.extend_from_slice(body.as_bytes());
        match stream.write_all(&request) {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => return Err(io(err)),
            _ => {}
        }
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader)?;
        let payload = read_body(&mut reader, &headers)?;
        Ok((status, headers, payload))
    }
}

pub(crate) fn io(err: std::io::Error) -> Error {
    format!("talking to the storage daemon failed: {err}").into()
}

/// An answer's headers, names lower-cased.
pub(crate) type Headers = Vec<(String, String)>;

/// Status line and headers of an answer.
pub(crate) fn read_head(reader: &mut impl BufRead) -> Result<(u16, Headers)> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(io)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(io)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    Ok((status, headers))
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The body of an answer (chunked, by length, or to the end).
pub(crate) fn read_body(reader: &mut impl BufRead, headers: &[(String, String)]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).map_err(io)?;
            let size =
                u64::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if size == 0 {
                let mut end = String::new();
                reader.read_line(&mut end).map_err(io)?;
                return Ok(body);
            }
            // The chunk and its CRLF, read as far as they go (no allocation by a size read
            // from the wire).
            let read = reader.by_ref().take(size).read_to_end(&mut body).map_err(io)?;
            if read as u64 != size {
                return Err("the daemon's answer ended inside a chunk".into());
            }
            let mut crlf = String::new();
            reader.read_line(&mut crlf).map_err(io)?;
        }
    }
    match header(headers, "content-length").and_then(|v| v.parse::<u64>().ok()) {
        Some(len) => {
            let read = reader.by_ref().take(len).read_to_end(&mut body).map_err(io)?;
            if read as u64 != len {
                return Err("the daemon's answer ended early".into());
            }
        }
        None => {
            reader.read_to_end(&mut body).map_err(io)?;
        }
    }
    Ok(body)
}

/// Decodes an envelope: its `error` as an [`Error`], anything else as it is.
pub(crate) fn envelope(status: u16, body: &[u8]) -> Result<Value> {
    let envelope: Value = serde_json::from_slice(body)
        .map_err(|_| format!("the daemon answered {status} with a body that is not JSON"))?;
    if envelope["type"].as_str() == Some("error") {
        return Err(Error {
            status: envelope["error_code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(status),
            message: envelope["error"].as_str().unwrap_or("unknown error").to_string(),
        });
    }
    Ok(envelope)
}

/// The socket of the daemon for a data directory.
pub fn socket_in(data_dir: &Path) -> PathBuf {
    data_dir.join("unix.socket")
}

/// Percent-encodes one path segment.
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
