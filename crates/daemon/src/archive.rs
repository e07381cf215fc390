//! Tarballs: compression told by magic bytes (and done by Debian's tools, run as processes), a
//! tar reader that checks every member before anything is unpacked, a writer for whole files
//! (raw disk images, `index.yaml`), and a merger that appends the members of another tar stream
//! (what GNU tar makes of a filesystem tree).
//!
//! Rules kept here:
//! - **Nothing leaves its directory.** [`check_archive`] refuses an archive with an absolute
//!   member name, a `..` component, a hard link whose target is not a safe member name, or a
//!   member (or hard link target) whose path goes through a symbolic link of the same archive
//!   (a symlink `x -> /etc` followed by `x/passwd`). Symbolic links themselves may point
//!   anywhere: they are resolved inside the instance, never by the unpacking.
//! - Archives are read as streams: a 2 GiB image is never held in memory.
//! - Member names longer than ustar's 100 bytes are written and read as PAX `path` records;
//!   sizes above ustar's 8 GiB as PAX `size` (GNU base-256 sizes are read too).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

const BLOCK: usize = 512;

/// How a file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lz4,
}

impl Compression {
    /// The compression of data starting with `head` (at least 262 bytes for a plain tar);
    /// `None` (the option) when it is neither a known compression nor a tar archive.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        let starts = |magic: &[u8]| head.starts_with(magic);
        if starts(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if starts(b"BZh") {
            Some(Compression::Bzip2)
        } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
            Some(Compression::Lz4)
        } else if head.len() >= 262 && &head[257..262] == b"ustar" {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// From a `compression_algorithm` value (`gzip` when empty, as Incus's default).
    pub fn parse(name: &str) -> Result<Compression, String> {
        match name {
            "" | "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            "xz" => Ok(Compression::Xz),
            "zstd" => Ok(Compression::Zstd),
            "bzip2" => Ok(Compression::Bzip2),
            "lz4" => Ok(Compression::Lz4),
            other => Err(format!(
                "Unsupported compression algorithm \"{other}\" (gzip, xz, zstd, bzip2, lz4 or none)"
            )),
        }
    }

    /// The tool that handles it (`None` for uncompressed data).
    pub fn tool(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Xz => Some("xz"),
            Compression::Zstd => Some("zstd"),
            Compression::Bzip2 => Some("bzip2"),
            Compression::Lz4 => Some("lz4"),
        }
    }
}

/// The Debian package of a tool, for the error when it is missing.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "xz" => "xz-utils",
        "zstd" => "zstd",
        "bzip2" => "bzip2",
        "lz4" => "lz4",
        "qemu-img" => "qemu-utils",
        "tar" => "tar",
        _ => "gzip",
    }
}

/// Spawns `tool`, mapping "not installed" to an error that names its package.
pub fn spawn(command: &mut Command, tool: &str) -> Result<Child, String> {
    command.spawn().map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{tool} is not installed (install the {} package)", package_of(tool))
        }
        _ => format!("cannot run {tool}: {err}"),
    })
}

/// Waits for a child and turns a failure into a one-line error with its stderr.
pub fn finish(mut child: Child, what: &str) -> Result<(), String> {
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|err| format!("{what}: {err}"))?;
    if status.success() {
        return Ok(());
    }
    let text: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    Err(format!("{what} failed ({status}): {}", text.join(" / ")))
}

/// A decompressed stream of a file: read it, then [`Stream::close`].
pub struct Stream {
    reader: Box<dyn Read + Send>,
    child: Option<Child>,
    pub compression: Compression,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Stream {
    /// Ends the stream: the decompressor's failure (a truncated file) is an error.
    pub fn close(mut self) -> Result<(), String> {
        // Whatever is left is read so that the decompressor ends by itself.
        let _ = std::io::copy(&mut self.reader, &mut std::io::sink());
        match self.child.take() {
            Some(child) => finish(child, "decompressing"),
            None => Ok(()),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first bytes of a file.
pub fn head_of(path: &Path, len: usize) -> Result<Vec<u8>, String> {
    let mut file =
        std::fs::File::open(path).map_err(|err| format!("cannot open {}: {err}", path.display()))?;
    let mut head = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        }
    }
    head.truncate(got);
    Ok(head)
}

/// Opens a tarball (compressed or not) as a stream of tar blocks.
pub fn open_tarball(path: &Path) -> Result<Stream, String> {
    let head = head_of(path, BLOCK)?;
    let compression = Compression::detect(&head)
        .ok_or_else(|| format!("{} is not a tarball (neither compressed nor tar)", path.display()))?;
    match compression.tool() {
        None => {
            let file =
                std::fs::File::open(path).map_err(|err| format!("cannot open {}: {err}", path.display()))?;
            Ok(Stream {
                reader: Box::new(std::io::BufReader::with_capacity(1 << 20, file)),
                child: None,
                compression,
            })
        }
        Some(tool) => {
            let mut command = Command::new(tool);
            command.arg("-dc").arg(path).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = spawn(&mut command, tool)?;
            let stdout: ChildStdout =
                child.stdout.take().ok_or_else(|| format!("{tool} has no output to read"))?;
            Ok(Stream {
                reader: Box::new(std::io::BufReader::with_capacity(1 << 20, stdout)),
                child: Some(child),
                compression,
            })
        }
    }
}

// ---- reading ----------------------------------------------------------------------------------

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// Devices, FIFOs, sparse files and anything else tar knows (its type flag).
    Other(u8),
}

/// A member of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name as stored (leading `./` and trailing `/` removed).
    pub path: String,
    pub kind: Kind,
    /// Bytes of data that follow the header in the archive.
    pub size: u64,
    /// Target of a link.
    pub link: String,
    pub mode: u32,
}

/// The raw blocks of one member: its extension headers (long names, PAX), its header and its
/// data blocks, as they were read (for [`TarReader::copy_entry`]).
struct Raw {
    headers: Vec<u8>,
}

/// Reads tar members one after another.
pub struct TarReader<R: Read> {
    inner: R,
    /// Data bytes of the current member not read yet, and its padding.
    remaining: u64,
    padding: u64,
    raw: Raw,
    done: bool,
}

fn octal(field: &[u8]) -> Result<u64, String> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256: big-endian, the top bit of the first byte set.
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(*b)))
                .ok_or("number too large")?;
        }
        return Ok(value);
    }
    let text: String =
        field.iter().take_while(|b| **b != 0).map(|b| *b as char).collect::<String>().trim().to_string();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(&text, 8).map_err(|_| format!("bad number \"{text}\" in a tar header"))
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn checksum_ok(header: &[u8]) -> bool {
    let stored = octal(&header[148..156]).unwrap_or(u64::MAX);
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, b)| if (148..156).contains(&i) { 32 } else { u64::from(*b) })
        .sum();
    stored == sum
}

/// `len key=value\n` records of a PAX header.
fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|b| *b == b' ') else { break };
        let Ok(len) = std::str::from_utf8(&rest[..space]).unwrap_or("").parse::<usize>() else { break };
        if len <= space || len > rest.len() {
            break;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            out.push((
                String::from_utf8_lossy(&record[..eq]).into_owned(),
                String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
            ));
        }
        rest = &rest[len..];
    }
    out
}

fn padding_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// The name as the archive means it: `./` prefixes and a trailing `/` removed.
fn clean_name(name: &str) -> String {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    n.trim_end_matches('/').to_string()
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R) -> TarReader<R> {
        TarReader { inner, remaining: 0, padding: 0, raw: Raw { headers: Vec::new() }, done: false }
    }

    fn read_block(&mut self) -> Result<Option<[u8; BLOCK]>, String> {
        let mut block = [0u8; BLOCK];
        let mut got = 0;
        while got < BLOCK {
            match self.inner.read(&mut block[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err("the archive ends in the middle of a block".into()),
                Ok(n) => got += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(format!("cannot read the archive: {err}")),
            }
        }
        Ok(Some(block))
    }

    fn read_exact_vec(&mut self, size: u64) -> Result<Vec<u8>, String> {
        if size > 16 << 20 {
            return Err("an extended tar header larger than 16 MiB".into());
        }
        let mut data = vec![0u8; size as usize];
        self.inner.read_exact(&mut data).map_err(|err| format!("cannot read the archive: {err}"))?;
        let mut pad = vec![0u8; padding_of(size) as usize];
        self.inner.read_exact(&mut pad).map_err(|err| format!("cannot read the archive: {err}"))?;
        Ok(data)
    }

    /// Skips what is left of the current member.
    pub fn skip(&mut self) -> Result<(), String> {
        let left = self.remaining + self.padding;
        let copied = std::io::copy(&mut (&mut self.inner).take(left), &mut std::io::sink())
            .map_err(|err| format!("cannot read the archive: {err}"))?;
        if copied != left {
            return Err("the archive ends in the middle of a member".into());
        }
        self.remaining = 0;
        self.padding = 0;
        Ok(())
    }

    /// The next member, `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, String> {
        self.skip()?;
        if self.done {
            return Ok(None);
        }
        self.raw.headers.clear();
        let mut long_name: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut pax: Vec<(String, String)> = Vec::new();
        loop {
            let Some(header) = self.read_block()? else {
                self.done = true;
                return Ok(None);
            };
            if header.iter().all(|b| *b == 0) {
                self.done = true;
                return Ok(None);
            }
            if !checksum_ok(&header) {
                return Err("a tar header has a bad checksum (not a tar archive, or a damaged one)".into());
            }
            self.raw.headers.extend_from_slice(&header);
            let flag = header[156];
            let size = octal(&header[124..136])?;
            match flag {
                b'L' | b'K' | b'x' | b'g' => {
                    let data = self.read_exact_vec(size)?;
                    self.raw.headers.extend_from_slice(&data);
                    self.raw.headers.extend_from_slice(&vec![0u8; padding_of(size) as usize]);
                    match flag {
                        b'L' => long_name = Some(cstr(&data)),
                        b'K' => long_link = Some(cstr(&data)),
                        b'x' => pax.extend(pax_records(&data)),
                        _ => {}
                    }
                    continue;
                }
                _ => {}
            }
            if flag == b'S' && header[482] != 0 {
                // Old GNU sparse: the map goes on in extension blocks, each saying whether
                // another follows.
                loop {
                    let ext = self.read_block()?.ok_or("the archive ends in a sparse map")?;
                    self.raw.headers.extend_from_slice(&ext);
                    if ext[504] == 0 {
                        break;
                    }
                }
            }
            let mut name = cstr(&header[0..100]);
            if &header[257..262] == b"ustar" {
                let prefix = cstr(&header[345..500]);
                if !prefix.is_empty() && flag != b'S' {
                    name = format!("{prefix}/{name}");
                }
            }
            let mut link = cstr(&header[157..257]);
            let mut size = size;
            if let Some(n) = long_name.take() {
                name = n;
            }
            if let Some(l) = long_link.take() {
                link = l;
            }
            for (key, value) in &pax {
                match key.as_str() {
                    "path" => name = value.clone(),
                    "linkpath" => link = value.clone(),
                    "size" => size = value.parse().map_err(|_| format!("bad PAX size \"{value}\""))?,
                    _ => {}
                }
            }
            let kind = match flag {
                b'0' | 0 | b'7' => Kind::File,
                b'5' => Kind::Dir,
                b'2' => Kind::Symlink,
                b'1' => Kind::Hardlink,
                other => Kind::Other(other),
            };
            // Links and directories carry no data whatever their size field says.
            let data = match kind {
                Kind::Dir | Kind::Symlink | Kind::Hardlink => 0,
                Kind::Other(b'3') | Kind::Other(b'4') | Kind::Other(b'6') => 0,
                _ => size,
            };
            self.remaining = data;
            self.padding = padding_of(data);
            let mode = u32::try_from(octal(&header[100..108]).unwrap_or(0o644) & 0o7777).unwrap_or(0o644);
            let trailing_slash = name.ends_with('/');
            let kind = if kind == Kind::File && trailing_slash { Kind::Dir } else { kind };
            return Ok(Some(Entry { path: clean_name(&name), kind, size: data, link, mode }));
        }
    }

    /// Reads the current member's data.
    pub fn data(&mut self) -> EntryData<'_, R> {
        EntryData { reader: self }
    }

    /// Writes the current member as it was read (headers and data) to `out`.
    pub fn copy_entry(&mut self, out: &mut impl Write) -> Result<(), String> {
        out.write_all(&self.raw.headers).map_err(|err| format!("cannot write the archive: {err}"))?;
        let left = self.remaining + self.padding;
        let copied = std::io::copy(&mut (&mut self.inner).take(left), out)
            .map_err(|err| format!("cannot copy a member of the archive: {err}"))?;
        if copied != left {
            return Err("the archive ends in the middle of a member".into());
        }
        self.remaining = 0;
        self.padding = 0;
        Ok(())
    }
}

/// The data of the current member (reads stop at its end).
pub struct EntryData<'a, R: Read> {
    reader: &'a mut TarReader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.reader.remaining == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.reader.remaining).unwrap_or(usize::MAX));
        let n = self.reader.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the archive ends early"));
        }
        self.reader.remaining -= n as u64;
        Ok(n)
    }
}

// ---- checking ---------------------------------------------------------------------------------

/// Checks a member name; answers it cleaned.
pub fn safe_path(raw: &str) -> Result<String, String> {
    if raw.starts_with('/') {
        return Err(format!("the archive member \"{raw}\" has an absolute path"));
    }
    let name = clean_name(raw);
    if name.split('/').any(|part| part == "..") {
        return Err(format!("the archive member \"{raw}\" leaves its directory (\"..\")"));
    }
    if name.contains('\0') {
        return Err(format!("the archive member \"{raw}\" has a NUL byte in its name"));
    }
    Ok(name)
}

/// What [`check_archive`] found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Every member's name and kind, in archive order.
    pub entries: Vec<(String, Kind)>,
    /// Each member's data size (same order as `entries`).
    pub sizes: Vec<u64>,
    /// Bytes of data of all members.
    pub data_bytes: u64,
    /// Members whose data was asked for (by name), read into memory.
    pub captured: Vec<(String, Vec<u8>)>,
}

impl Listing {
    pub fn has(&self, path: &str) -> bool {
        self.entries.iter().any(|(p, _)| p == path)
    }

    pub fn kind_of(&self, path: &str) -> Option<Kind> {
        self.entries.iter().find(|(p, _)| p == path).map(|(_, k)| *k)
    }

    /// The data size of member `path`.
    pub fn size_of(&self, path: &str) -> Option<u64> {
        self.entries.iter().position(|(p, _)| p == path).and_then(|i| self.sizes.get(i).copied())
    }

    /// Bytes of data of the members under `dir/`.
    pub fn bytes_under(&self, dir: &str) -> u64 {
        let inside = format!("{dir}/");
        self.entries
            .iter()
            .zip(&self.sizes)
            .filter(|((p, _), _)| p.starts_with(&inside))
            .map(|(_, size)| *size)
            .sum()
    }

    pub fn captured(&self, path: &str) -> Option<&[u8]> {
        self.captured.iter().find(|(p, _)| p == path).map(|(_, d)| d.as_slice())
    }
}

/// The proper ancestors of a path (`a/b/c` → `a`, `a/b`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Reads a whole archive and checks every member ([module rules](self)); the data of members
/// named in `capture` (up to 1 MiB each) is kept.
pub fn check_archive(reader: impl Read, capture: &[&str]) -> Result<Listing, String> {
    let mut tar = TarReader::new(reader);
    let mut listing = Listing::default();
    let mut symlinks: HashSet<String> = HashSet::new();
    let mut hardlinks: Vec<(String, String)> = Vec::new();
    while let Some(entry) = tar.next_entry()? {
        let path = safe_path(&entry.path)?;
        if path.is_empty() {
            continue;
        }
        match entry.kind {
            Kind::Symlink => {
                symlinks.insert(path.clone());
            }
            Kind::Hardlink => {
                let target = safe_path(&entry.link)
                    .map_err(|why| format!("the hard link \"{path}\" points outside the archive: {why}"))?;
                hardlinks.push((path.clone(), target));
            }
            _ => {}
        }
        if capture.contains(&path.as_str()) && entry.kind == Kind::File {
            if entry.size > 1 << 20 {
                return Err(format!("{path} is larger than 1 MiB"));
            }
            let mut data = Vec::new();
            tar.data().read_to_end(&mut data).map_err(|err| format!("cannot read {path}: {err}"))?;
            listing.captured.push((path.clone(), data));
        }
        listing.data_bytes = listing.data_bytes.saturating_add(entry.size);
        listing.sizes.push(entry.size);
        listing.entries.push((path, entry.kind));
    }
    for (path, _) in &listing.entries {
        if let Some(link) = ancestors(path).find(|a| symlinks.contains(*a)) {
            return Err(format!(
                "the archive member \"{path}\" would be written through the symbolic link \"{link}\""
            ));
        }
    }
    for (path, target) in &hardlinks {
        if let Some(link) = ancestors(target).find(|a| symlinks.contains(*a)) {
            return Err(format!(
                "the hard link \"{path}\" points through the symbolic link \"{link}\" of the archive"
            ));
        }
    }
    Ok(listing)
}

// ---- writing ----------------------------------------------------------------------------------

fn put_octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let text = format!("{value:0width$o}");
    let bytes = text.as_bytes();
    let start = bytes.len().saturating_sub(width);
    field[..width].copy_from_slice(&bytes[start..]);
    field[width] = 0;
}

fn header(name: &[u8], size: u64, mode: u32, mtime: u64, flag: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    put_octal(&mut h[100..108], u64::from(mode));
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    put_octal(&mut h[124..136], size.min(0o77777777777));
    put_octal(&mut h[136..148], mtime);
    h[156] = flag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
    put_octal(&mut h[148..155], sum);
    h[155] = b' ';
    h
}

fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

/// Writes a member header (with a PAX header first when the name or size needs one).
pub fn write_header(
    out: &mut impl Write,
    path: &str,
    kind: Kind,
    size: u64,
    mode: u32,
    mtime: u64,
) -> Result<(), String> {
    let io = |err: std::io::Error| format!("cannot write the archive: {err}");
    let mut records = String::new();
    if path.len() > 100 {
        records.push_str(&pax_record("path", path));
    }
    if size > 0o77777777777 {
        records.push_str(&pax_record("size", &size.to_string()));
    }
    if !records.is_empty() {
        let pax_name = format!("PaxHeaders/{}", path.rsplit('/').next().unwrap_or("x"));
        out.write_all(&header(pax_name.as_bytes(), records.len() as u64, 0o644, mtime, b'x')).map_err(io)?;
        out.write_all(records.as_bytes()).map_err(io)?;
        out.write_all(&vec![0u8; padding_of(records.len() as u64) as usize]).map_err(io)?;
    }
    let flag = match kind {
        Kind::Dir => b'5',
        Kind::Symlink => b'2',
        Kind::Hardlink => b'1',
        Kind::File => b'0',
        Kind::Other(f) => f,
    };
    let name = if kind == Kind::Dir { format!("{path}/") } else { path.to_string() };
    out.write_all(&header(name.as_bytes(), if kind == Kind::File { size } else { 0 }, mode, mtime, flag))
        .map_err(io)
}

/// Writes a directory member.
pub fn write_dir(out: &mut impl Write, path: &str, mtime: u64) -> Result<(), String> {
    write_header(out, path, Kind::Dir, 0, 0o755, mtime)
}

/// Writes a file member of `size` bytes read from `data` (which must give exactly that many).
pub fn write_file(
    out: &mut impl Write,
    path: &str,
    size: u64,
    mode: u32,
    mtime: u64,
    data: &mut impl Read,
) -> Result<(), String> {
    write_header(out, path, Kind::File, size, mode, mtime)?;
    let copied = std::io::copy(&mut data.take(size), out)
        .map_err(|err| format!("cannot write {path} into the archive: {err}"))?;
    if copied != size {
        return Err(format!("{path} ended after {copied} of {size} bytes"));
    }
    out.write_all(&vec![0u8; padding_of(size) as usize])
        .map_err(|err| format!("cannot write the archive: {err}"))
}

/// Ends an archive (two zero blocks).
pub fn write_end(out: &mut impl Write) -> Result<(), String> {
    out.write_all(&[0u8; 2 * BLOCK]).map_err(|err| format!("cannot write the archive: {err}"))
}

/// Appends every member of the tar stream `from` to `out` (its end marker left out).
pub fn append_members(from: impl Read, out: &mut impl Write) -> Result<u64, String> {
    let mut tar = TarReader::new(from);
    let mut count = 0;
    while tar.next_entry()?.is_some() {
        tar.copy_entry(out)?;
        count += 1;
    }
    // The rest (padding up to GNU tar's record size) is read so that the writer ends cleanly.
    let _ = std::io::copy(&mut tar.inner, &mut std::io::sink());
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(members: &[(&str, Kind, &[u8], &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, kind, data, link) in members {
            match kind {
                Kind::File => {
                    write_file(&mut out, path, data.len() as u64, 0o644, 0, &mut &data[..]).unwrap()
                }
                Kind::Symlink | Kind::Hardlink => {
                    // A link header with its target.
                    let mut h = header(
                        path.as_bytes(),
                        0,
                        0o777,
                        0,
                        if *kind == Kind::Symlink { b'2' } else { b'1' },
                    );
                    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
                    h[148..156].copy_from_slice(b"        ");
                    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
                    put_octal(&mut h[148..155], sum);
                    h[155] = b' ';
                    out.extend_from_slice(&h);
                }
                other => write_header(&mut out, path, *other, 0, 0o755, 0).unwrap(),
            }
        }
        write_end(&mut out).unwrap();
        out
    }

    #[test]
    fn compression_by_magic() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Some(Compression::Gzip));
        assert_eq!(Compression::detect(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1]), Some(Compression::Xz));
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Some(Compression::Zstd));
        let tar = build(&[("a", Kind::File, b"x", "")]);
        assert_eq!(Compression::detect(&tar), Some(Compression::None));
        assert_eq!(Compression::detect(b"QFI\xfb not a tarball"), None);
        assert_eq!(Compression::parse("").unwrap(), Compression::Gzip);
        assert!(Compression::parse("rar").is_err());
    }

    #[test]
    fn members_round_trip_with_long_names_and_data() {
        let long = format!("backup/volume-snapshots/{}.img", "s".repeat(120));
        let tar = build(&[
            ("backup", Kind::Dir, b"", ""),
            ("backup/index.yaml", Kind::File, b"name: v\n", ""),
            (&long, Kind::File, &[7u8; 1000], ""),
        ]);
        let listing = check_archive(&tar[..], &["backup/index.yaml"]).unwrap();
        let names: Vec<&str> = listing.entries.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["backup", "backup/index.yaml", long.as_str()]);
        assert_eq!(listing.captured("backup/index.yaml"), Some(&b"name: v\n"[..]));
        assert_eq!(listing.data_bytes, 8 + 1000);
        let mut reader = TarReader::new(&tar[..]);
        let mut found = Vec::new();
        while let Some(e) = reader.next_entry().unwrap() {
            if e.path == long {
                reader.data().read_to_end(&mut found).unwrap();
            }
        }
        assert_eq!(found, vec![7u8; 1000]);
    }

    #[test]
    fn escapes_are_refused() {
        let cases: Vec<Vec<u8>> = vec![
            build(&[("/etc/passwd", Kind::File, b"x", "")]),
            build(&[("rootfs/../../etc/passwd", Kind::File, b"x", "")]),
            build(&[("rootfs/x", Kind::Symlink, b"", "/etc"), ("rootfs/x/passwd", Kind::File, b"x", "")]),
            build(&[("rootfs/x/passwd", Kind::File, b"x", ""), ("rootfs/x", Kind::Symlink, b"", "/etc")]),
            build(&[("rootfs/h", Kind::Hardlink, b"", "/etc/shadow")]),
            build(&[("rootfs/h", Kind::Hardlink, b"", "../../etc/shadow")]),
            build(&[
                ("rootfs/l", Kind::Symlink, b"", "/etc"),
                ("rootfs/h", Kind::Hardlink, b"", "rootfs/l/shadow"),
            ]),
        ];
        for (i, tar) in cases.iter().enumerate() {
            assert!(check_archive(&tar[..], &[]).is_err(), "case {i} was accepted");
        }
        // Symlinks may point anywhere; hard links within the archive are fine.
        let fine = build(&[
            ("./rootfs/bin", Kind::Symlink, b"", "usr/bin"),
            ("rootfs/etc/mtab", Kind::Symlink, b"", "/proc/self/mounts"),
            ("rootfs/a", Kind::File, b"x", ""),
            ("rootfs/b", Kind::Hardlink, b"", "rootfs/a"),
        ]);
        let listing = check_archive(&fine[..], &[]).unwrap();
        assert_eq!(listing.kind_of("rootfs/bin"), Some(Kind::Symlink));
        assert!(listing.has("rootfs/b"));
    }

    #[test]
    fn damaged_archives_are_errors() {
        let mut tar = build(&[("a", Kind::File, &[1u8; 600], "")]);
        tar[10] ^= 0xff;
        assert!(check_archive(&tar[..], &[]).unwrap_err().contains("checksum"));
        let short = build(&[("a", Kind::File, &[1u8; 600], "")]);
        assert!(check_archive(&short[..700], &[]).is_err());
    }

    #[test]
    fn members_of_another_stream_are_appended() {
        let inner = build(&[("x", Kind::File, b"hello", ""), ("y", Kind::Dir, b"", "")]);
        let mut out = Vec::new();
        write_file(&mut out, "first", 3, 0o644, 0, &mut &b"abc"[..]).unwrap();
        assert_eq!(append_members(&inner[..], &mut out).unwrap(), 2);
        write_end(&mut out).unwrap();
        let listing = check_archive(&out[..], &["x"]).unwrap();
        let names: Vec<&str> = listing.entries.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["first", "x", "y"]);
        assert_eq!(listing.captured("x"), Some(&b"hello"[..]));
    }

    #[test]
    fn pax_records_have_their_own_length() {
        let r = pax_record("path", "abc");
        assert_eq!(r, "12 path=abc\n");
        assert_eq!(r.len(), 12);
        let big = pax_record("path", &"a".repeat(95));
        assert_eq!(big.len(), big.split(' ').next().unwrap().parse::<usize>().unwrap());
    }
}

#[cfg(test)]
mod gnu_tar_tests {
    use super::*;

    /// What GNU tar writes (long names, symlinks, hard links, gzip) reads back.
    #[test]
    fn gnu_tar_archives_read_back() {
        if Command::new("tar").arg("--version").output().is_err() {
            eprintln!("skipping: no tar");
            return;
        }
        let dir = std::env::temp_dir().join(format!("strand-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let tree = dir.join("tree");
        let deep = tree.join("rootfs").join("d".repeat(80)).join("e".repeat(80));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("file"), b"payload").unwrap();
        std::fs::write(tree.join("metadata.yaml"), b"architecture: x86_64\n").unwrap();
        std::os::unix::fs::symlink("/etc", tree.join("rootfs/etc-link")).unwrap();
        std::fs::hard_link(deep.join("file"), tree.join("rootfs/hard")).unwrap();
        let out = dir.join("image.tar.gz");
        let status =
            Command::new("tar").arg("-czf").arg(&out).arg("-C").arg(&tree).arg(".").status().unwrap();
        assert!(status.success());
        let mut stream = open_tarball(&out).unwrap();
        assert_eq!(stream.compression, Compression::Gzip);
        let listing = check_archive(&mut stream, &["metadata.yaml"]).unwrap();
        stream.close().unwrap();
        assert_eq!(listing.captured("metadata.yaml"), Some(&b"architecture: x86_64\n"[..]));
        let long = format!("rootfs/{}/{}/file", "d".repeat(80), "e".repeat(80));
        assert!(listing.has(&long), "{:?}", listing.entries);
        assert_eq!(listing.kind_of("rootfs/etc-link"), Some(Kind::Symlink));
        assert!(listing.kind_of("rootfs/hard").is_some() || listing.kind_of(&long) == Some(Kind::Hardlink));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
