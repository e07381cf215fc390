//! Files to and from the storage daemon: uploads (images, backups to import) and downloads
//! (exported backups) streamed over the unix socket, and operations waited for, each with a
//! progress line on a terminal (stderr; nothing when it is not a terminal).

use super::client::{envelope, header, io, read_body, read_head, Daemon, Result};
use serde_json::Value;
use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const CHUNK: usize = 1 << 20;

/// A progress line on stderr, redrawn at most ten times a second.
pub struct Progress {
    label: String,
    total: Option<u64>,
    started: Instant,
    last: Option<Instant>,
    shown: bool,
    tty: bool,
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

impl Progress {
    pub fn new(label: impl Into<String>, total: Option<u64>) -> Progress {
        // SAFETY: isatty only looks at the descriptor.
        let tty = unsafe { libc::isatty(2) } == 1;
        Progress { label: label.into(), total, started: Instant::now(), last: None, shown: false, tty }
    }

    /// The line for `done` bytes.
    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let speed = human(done as f64 / secs);
        match self.total.filter(|t| *t > 0) {
            Some(total) => {
                let percent = (done.min(total) as f64 * 100.0 / total as f64).floor();
                let width = 30usize;
                let filled = ((percent / 100.0) * width as f64) as usize;
                format!(
                    "{}: [{}{}] {percent:>3}% {} / {} ({speed}/s)",
                    self.label,
                    "#".repeat(filled),
                    " ".repeat(width - filled),
                    human(done as f64),
                    human(total as f64)
                )
            }
            None => format!("{}: {} ({speed}/s)", self.label, human(done as f64)),
        }
    }

    pub fn update(&mut self, done: u64) {
        if !self.tty {
            return;
        }
        if self.last.is_some_and(|l| l.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.last = Some(Instant::now());
        self.shown = true;
        eprint!("\r\x1b[2K{}", self.line(done));
        let _ = std::io::stderr().flush();
    }

    /// A stage of work whose size is not known: the text itself.
    pub fn stage(&mut self, text: &str) {
        if !self.tty {
            return;
        }
        self.shown = true;
        eprint!("\r\x1b[2K{}: {text}", self.label);
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&mut self) {
        if self.tty && self.shown {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
        self.shown = false;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Transfers and the operations after them can take long: a day's read timeout.
fn connect(daemon: &Daemon) -> Result<UnixStream> {
    daemon.connect(Duration::from_secs(24 * 3600))
}

/// Sends a JSON request and answers its envelope as it is (an operation is not waited for).
pub fn send_json(daemon: &Daemon, method: &str, path: &str, body: &Value) -> Result<Value> {
    let mut stream = connect(daemon)?;
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: strand\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let payload = read_body(&mut reader, &headers)?;
    envelope(status, &payload)
}

/// Sends `file` as the body of `method path` (with `headers`), showing the upload's progress;
/// answers the envelope.
pub fn upload(
    daemon: &Daemon,
    method: &str,
    path: &str,
    file: &Path,
    headers: &[(&str, String)],
    label: &str,
) -> Result<Value> {
    let mut source =
        std::fs::File::open(file).map_err(|err| format!("cannot open {}: {err}", file.display()))?;
    let size = source.metadata().map_err(|err| format!("cannot read {}: {err}", file.display()))?.len();
    let mut stream = connect(daemon)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: strand\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io)?;
    let mut progress = Progress::new(label, Some(size));
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    loop {
        let n = source.read(&mut buf).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
        if n == 0 {
            break;
        }
        match stream.write_all(&buf[..n]) {
            Ok(()) => {}
            // The daemon answered (and closed) early: its answer says why.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(err) => return Err(io(err)),
        }
        sent += n as u64;
        progress.update(sent);
    }
    progress.update(sent);
    progress.finish();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let body = read_body(&mut reader, &headers)?;
    envelope(status, &body)
}

/// Writes the body of `GET path` to `to` (a new file, removed again on failure), showing the
/// download's progress.
pub fn download(daemon: &Daemon, path: &str, to: &Path, label: &str) -> Result<u64> {
    let mut stream = connect(daemon)?;
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: unix.socket\r\nUser-Agent: strand\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).map_err(io)?;
    let mut reader = BufReader::with_capacity(CHUNK, stream);
    let (status, headers) = read_head(&mut reader)?;
    if status != 200 || header(&headers, "content-type").is_some_and(|t| t.starts_with("application/json")) {
        let body = read_body(&mut reader, &headers)?;
        envelope(status, &body)?;
        return Err(format!("the daemon answered {status} instead of the file").into());
    }
    let total = header(&headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|err| format!("cannot create {}: {err}", to.display()))?;
    let result = (|| -> Result<u64> {
        let mut progress = Progress::new(label, total);
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0u64;
        loop {
            let want = match total {
                Some(t) => usize::try_from((t - got).min(CHUNK as u64)).unwrap_or(CHUNK),
                None => CHUNK,
            };
            if want == 0 {
                break;
            }
            let n = reader.read(&mut buf[..want]).map_err(io)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(|err| format!("cannot write {}: {err}", to.display()))?;
            got += n as u64;
            progress.update(got);
        }
        progress.finish();
        if total.is_some_and(|t| t != got) {
            return Err(format!("the download ended after {got} bytes").into());
        }
        out.sync_all().map_err(|err| format!("cannot write {}: {err}", to.display()))?;
        Ok(got)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(to);
    }
    result
}

/// Waits for an operation (named by an async envelope, or its URL), showing the progress its
/// metadata reports; answers the finished operation.
pub fn wait(daemon: &Daemon, envelope: &Value, label: &str) -> Result<Value> {
    let url = envelope["operation"].as_str().unwrap_or_default().to_string();
    if envelope["type"].as_str() != Some("async") || url.is_empty() {
        return Ok(envelope["metadata"].clone());
    }
    let mut progress = Progress::new(label, None);
    loop {
        let answer = daemon.get(&format!("{url}/wait?timeout=1"))?;
        let op = answer.metadata;
        if op["status_code"].as_u64().is_some_and(|c| c >= 200) {
            progress.finish();
            if op["status"].as_str() == Some("Success") {
                return Ok(op);
            }
            return Err(op["err"]
                .as_str()
                .filter(|e| !e.is_empty())
                .unwrap_or("the operation failed")
                .into());
        }
        let p = &op["metadata"]["progress"];
        if let (Some(done), Some(total)) = (p["processed"].as_u64(), p["total"].as_u64()) {
            if progress.total != Some(total) {
                progress = Progress::new(
                    format!("{label} ({})", p["stage"].as_str().unwrap_or("working")),
                    Some(total),
                );
            }
            progress.update(done);
        } else if let Some(stage) = p["stage"].as_str() {
            match p["processed_bytes"].as_u64() {
                Some(bytes) => progress.stage(&format!("{stage}, {} written", human(bytes as f64))),
                None => progress.stage(stage),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines() {
        let p = Progress {
            label: "Uploading".into(),
            total: Some(200),
            started: Instant::now(),
            last: None,
            shown: false,
            tty: false,
        };
        let line = p.line(50);
        assert!(line.starts_with("Uploading: [#######"), "{line}");
        assert!(line.contains(" 25% "), "{line}");
        let q = Progress {
            label: "x".into(),
            total: None,
            started: Instant::now(),
            last: None,
            shown: false,
            tty: false,
        };
        assert!(q.line(2048).contains("2.0KiB"));
    }
}
