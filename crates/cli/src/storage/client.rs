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

    /// The daemon's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn connect(&self) -> std::result::Result<UnixStream, String> {
        let stream = UnixStream::connect(&self.socket).map_err(|err| {
            format!(
                "cannot reach the storage daemon at {}: {err} (is `strand up` or `strand daemon` running? \
                 set --data-dir or STRAND_DIR to its data directory)",
                self.socket.display()
            )
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(3600))).map_err(|e| e.to_string())?;
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
        let envelope: Value = serde_json::from_slice(&payload)
            .map_err(|_| format!("the daemon answered {status} with a body that is not JSON"))?;
        match envelope["type"].as_str() {
            Some("error") => Err(Error {
                status: envelope["error_code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(status),
                message: envelope["error"].as_str().unwrap_or("unknown error").to_string(),
            }),
            Some("async") => {
                let operation = envelope["operation"].as_str().unwrap_or_default().to_string();
                self.wait(&operation)
            }
            _ => Ok(Answer {
                metadata: envelope["metadata"].clone(),
                etag: header(&headers, "etag"),
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
    ) -> std::result::Result<Exchange, String> {
        let mut stream = self.connect()?;
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
        let io = |err: std::io::Error| format!("talking to the storage daemon failed: {err}");
        // One write: the daemon may answer (and close) before it reads a body it does not
        // need; its answer is read even then.
        let mut request = head.into_bytes();
        request.extend_from_slice(body.as_bytes());
        match stream.write_all(&request) {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => return Err(io(err)),
            _ => {}
        }
        let mut reader = BufReader::new(stream);
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
        let payload = if header(&headers, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            read_chunked(&mut reader).map_err(io)?
        } else if let Some(length) = header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok())
        {
            let mut payload = vec![0; length];
            reader.read_exact(&mut payload).map_err(io)?;
            payload
        } else {
            let mut payload = Vec::new();
            reader.read_to_end(&mut payload).map_err(io)?;
            payload
        };
        Ok((status, headers, payload))
    }
}

/// A raw answer: status, headers (names lower-cased) and body.
type Exchange = (u16, Vec<(String, String)>, Vec<u8>);

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut payload = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        if size == 0 {
            let mut end = String::new();
            reader.read_line(&mut end)?;
            return Ok(payload);
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        chunk.truncate(size);
        payload.extend(chunk);
    }
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
