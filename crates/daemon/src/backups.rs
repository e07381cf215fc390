//! Custom volume backups in Incus's layout (non-optimized): a tarball, gzip by default, with
//! `backup/index.yaml`, then the data of each snapshot, oldest first, then the volume's:
//! `backup/volume-snapshots/<snap>/...` and `backup/volume/...` for filesystem volumes (their
//! files), `backup/volume-snapshots/<snap>.img` and `backup/volume.img` for block volumes (the
//! raw device).
//!
//! Backups made by `POST .../backups` are kept as `DATA/backups/custom/<pool>/<project>_<volume>/
//! <name>` with `<name>.json` (what Incus's API shows of a backup) until deleted.
//!
//! Rules kept here:
//! - A backup file appears under its name only when complete (written as `.<name>.part`,
//!   synced, renamed).
//! - Filesystem trees are written by GNU tar (owners numeric, extended attributes, hard links,
//!   long names) and its members appended to the one archive; block devices are read whole.
//! - An import reads the whole archive once to check it ([`crate::archive::check_archive`]:
//!   nothing leaves its directory) and to read its index before anything is made; filesystem
//!   data is then unpacked by GNU tar into the mounted volume, block data written to the device
//!   (runs of zeros as `BLKZEROOUT`, so thin volumes stay thin).

use crate::archive::{self, Compression, Kind, Listing};
use crate::backend::Config;
use crate::db::{SnapshotRow, VolumeKey, VolumeRow};
use crate::yaml;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};

/// What the API shows of a backup (`StorageVolumeBackup`), and what is kept about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    pub name: String,
    pub created_at: String,
    /// `0001-01-01T00:00:00Z` for none.
    pub expires_at: String,
    pub volume_only: bool,
    pub optimized_storage: bool,
    #[serde(default)]
    pub compression_algorithm: String,
}

/// The backups of the data directory.
#[derive(Debug, Clone)]
pub struct Backups {
    dir: PathBuf,
}

impl Backups {
    pub fn new(data_dir: &Path) -> Backups {
        Backups { dir: data_dir.join("backups") }
    }

    /// Removes what a daemon that stopped left half-written: uploads, and backups being made.
    pub fn sweep(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join(".incoming"));
        fn walk(dir: &Path) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&path);
                } else if entry.file_name().to_string_lossy().ends_with(".part") {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        walk(&self.dir.join("custom"));
    }

    /// Where uploads are spooled.
    pub fn incoming(&self) -> Result<PathBuf, String> {
        let dir = self.dir.join(".incoming");
        std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(dir)
    }

    pub fn volume_dir(&self, key: &VolumeKey) -> PathBuf {
        self.dir.join("custom").join(&key.pool).join(format!("{}_{}", key.project, key.name))
    }

    pub fn file(&self, key: &VolumeKey, name: &str) -> PathBuf {
        self.volume_dir(key).join(name)
    }

    fn info_file(&self, key: &VolumeKey, name: &str) -> PathBuf {
        self.volume_dir(key).join(format!("{name}.json"))
    }

    pub fn get(&self, key: &VolumeKey, name: &str) -> Option<BackupInfo> {
        let text = std::fs::read(self.info_file(key, name)).ok()?;
        let info: BackupInfo = serde_json::from_slice(&text).ok()?;
        (info.name == name && self.file(key, name).is_file()).then_some(info)
    }

    pub fn list(&self, key: &VolumeKey) -> Vec<BackupInfo> {
        let Ok(entries) = std::fs::read_dir(self.volume_dir(key)) else { return Vec::new() };
        let mut out: Vec<BackupInfo> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .filter_map(|name| self.get(key, &name))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name)));
        out
    }

    /// `backup0`, `backup1`, ...: the first free one.
    pub fn next_name(&self, key: &VolumeKey) -> String {
        (0..)
            .map(|n| format!("backup{n}"))
            .find(|n| !self.info_file(key, n).exists() && !self.file(key, n).exists())
            .unwrap_or_default()
    }

    /// Where a backup is written until it is complete.
    pub fn part_file(&self, key: &VolumeKey, name: &str) -> Result<PathBuf, String> {
        let dir = self.volume_dir(key);
        std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(dir.join(format!(".{name}.part")))
    }

    /// Keeps a completed backup under its name.
    pub fn commit(&self, key: &VolumeKey, info: &BackupInfo, part: &Path) -> Result<(), String> {
        let text = serde_json::to_vec_pretty(info).map_err(|e| e.to_string())?;
        std::fs::write(self.info_file(key, &info.name), text)
            .map_err(|err| format!("cannot write the backup's description: {err}"))?;
        std::fs::rename(part, self.file(key, &info.name))
            .map_err(|err| format!("cannot keep the backup: {err}"))
    }

    pub fn delete(&self, key: &VolumeKey, name: &str) -> Result<bool, String> {
        let existed = self.get(key, name).is_some();
        for path in [self.file(key, name), self.info_file(key, name)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(format!("cannot delete {}: {err}", path.display())),
            }
        }
        let _ = std::fs::remove_dir(self.volume_dir(key));
        Ok(existed)
    }

    pub fn rename(&self, key: &VolumeKey, name: &str, new_name: &str) -> Result<(), String> {
        let mut info = self.get(key, name).ok_or("Storage volume backup not found")?;
        if self.get(key, new_name).is_some() {
            return Err(format!("Backup \"{new_name}\" already exists"));
        }
        std::fs::rename(self.file(key, name), self.file(key, new_name))
            .map_err(|err| format!("cannot rename the backup: {err}"))?;
        info.name = new_name.to_string();
        let text = serde_json::to_vec_pretty(&info).map_err(|e| e.to_string())?;
        std::fs::write(self.info_file(key, new_name), text)
            .map_err(|err| format!("cannot write the backup's description: {err}"))?;
        let _ = std::fs::remove_file(self.info_file(key, name));
        Ok(())
    }
}

// ---- the index ------------------------------------------------------------------------------

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `backup/index.yaml` of a custom volume (Incus's `backup.Info`).
pub fn index_yaml(volume: &VolumeRow, snapshots: &[SnapshotRow]) -> String {
    let snapshot_objects: Vec<Value> = snapshots
        .iter()
        .map(|s| {
            json!({
                "description": s.description,
                "expires_at": s.expires_at.clone().unwrap_or_else(|| ZERO_TIME.to_string()),
                "name": s.name,
                "config": s.config,
                "content_type": volume.content_type.as_str(),
                "created_at": s.created_at,
            })
        })
        .collect();
    let mut index = json!({
        "name": volume.name,
        "backend": "linstor",
        "pool": volume.pool,
        "optimized": false,
        "optimized_header": false,
        "type": "custom",
        "config": {
            "volume": {
                "config": volume.config,
                "description": volume.description,
                "name": volume.name,
                "type": "custom",
                "used_by": [],
                "location": "none",
                "content_type": volume.content_type.as_str(),
                "project": volume.project,
                "created_at": volume.created_at,
            },
            "volume_snapshots": snapshot_objects,
        },
    });
    if !snapshots.is_empty() {
        if let Value::Object(map) = &mut index {
            map.insert(
                "snapshots".into(),
                json!(snapshots.iter().map(|s| s.name.clone()).collect::<Vec<_>>()),
            );
        }
    }
    yaml::to_yaml(&index)
}

/// A snapshot as an index describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSnapshot {
    pub name: String,
    pub description: String,
    pub expires_at: Option<String>,
    pub created_at: Option<String>,
    pub config: Config,
}

/// What an import needs of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub backend: String,
    pub optimized: bool,
    pub volume_type: String,
    pub content_type: String,
    pub description: String,
    pub config: Config,
    /// Oldest first.
    pub snapshots: Vec<IndexSnapshot>,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn config_of(value: &Value) -> Config {
    value.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect()).unwrap_or_default()
}

fn time_of(value: &Value) -> Option<String> {
    Some(text(value)).filter(|t| !t.is_empty() && !t.starts_with("0001-01-01"))
}

pub fn parse_index(data: &[u8]) -> Result<Index, String> {
    let text_data = std::str::from_utf8(data).map_err(|_| "backup/index.yaml is not UTF-8".to_string())?;
    let v = yaml::from_yaml(text_data).map_err(|why| format!("backup/index.yaml: {why}"))?;
    let volume = &v["config"]["volume"];
    if volume.is_null() {
        return Err("backup/index.yaml has no config.volume (not a custom volume backup)".into());
    }
    let details = v["config"]["volume_snapshots"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> =
        v["snapshots"].as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default();
    let mut snapshots = Vec::new();
    for name in &names {
        // Names in the details are short (`snap0`), or `vol/snap0` in older exports.
        let found = details.iter().find(|d| {
            let n = text(&d["name"]);
            n == *name || n.rsplit('/').next() == Some(name.as_str())
        });
        let d = found.cloned().unwrap_or(Value::Null);
        snapshots.push(IndexSnapshot {
            name: name.clone(),
            description: text(&d["description"]),
            expires_at: time_of(&d["expires_at"]),
            created_at: time_of(&d["created_at"]),
            config: config_of(&d["config"]),
        });
    }
    let content_type =
        Some(text(&volume["content_type"])).filter(|c| !c.is_empty()).unwrap_or("filesystem".into());
    Ok(Index {
        name: Some(text(&v["name"])).filter(|n| !n.is_empty()).unwrap_or_else(|| text(&volume["name"])),
        backend: text(&v["backend"]),
        optimized: text(&v["optimized"]) == "true",
        volume_type: Some(text(&v["type"])).filter(|t| !t.is_empty()).unwrap_or("custom".into()),
        content_type,
        description: text(&volume["description"]),
        config: config_of(&volume["config"]),
        snapshots,
    })
}

// ---- writing an archive -----------------------------------------------------------------------

/// Counts what goes through.
struct Counting<W: Write> {
    inner: W,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

enum Sink {
    File(std::io::BufWriter<std::fs::File>),
    Pipe(std::io::BufWriter<ChildStdin>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(w) => w.write(buf),
            Sink::Pipe(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(w) => w.flush(),
            Sink::Pipe(w) => w.flush(),
        }
    }
}

/// The archive being written: into a file, through a compressor when there is one.
pub struct Output {
    writer: Counting<Sink>,
    compressor: Option<Child>,
    path: PathBuf,
    pub written: Arc<std::sync::atomic::AtomicU64>,
}

pub type SharedOutput = Arc<Mutex<Output>>;

impl Output {
    pub fn create(path: &Path, compression: Compression) -> Result<Output, String> {
        let file =
            std::fs::File::create(path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (sink, compressor) = match compression.tool() {
            None => (Sink::File(std::io::BufWriter::with_capacity(1 << 20, file)), None),
            Some(tool) => {
                let mut command = Command::new(tool);
                command.arg("-c").stdin(Stdio::piped()).stdout(Stdio::from(file)).stderr(Stdio::piped());
                if tool == "zstd" {
                    command.arg("-q");
                }
                let mut child = archive::spawn(&mut command, tool)?;
                let stdin = child.stdin.take().ok_or_else(|| format!("{tool} takes no input"))?;
                (Sink::Pipe(std::io::BufWriter::with_capacity(1 << 20, stdin)), Some(child))
            }
        };
        Ok(Output {
            writer: Counting { inner: sink, count: Arc::clone(&written) },
            compressor,
            path: path.to_path_buf(),
            written,
        })
    }

    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.writer
    }

    /// Ends the archive, waits for the compressor and syncs the file.
    pub fn finish(mut self) -> Result<(), String> {
        archive::write_end(&mut self.writer)?;
        self.writer.flush().map_err(|err| format!("cannot write the archive: {err}"))?;
        let Output { writer, compressor, path, .. } = self;
        drop(writer);
        if let Some(child) = compressor {
            archive::finish(child, "compressing the backup")?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|err| format!("cannot open {}: {err}", path.display()))?;
        file.sync_all().map_err(|err| format!("cannot write {}: {err}", path.display()))
    }
}

fn lock(out: &SharedOutput) -> std::sync::MutexGuard<'_, Output> {
    out.lock().unwrap_or_else(|p| p.into_inner())
}

/// Escapes a sed replacement (delimiter `,`).
fn sed_replacement(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '\\' | '&' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends the tree under `dir` as `prefix/...` (GNU tar writes it; its members are copied).
pub fn write_tree(out: &SharedOutput, dir: &Path, prefix: &str) -> Result<(), String> {
    let mut command = Command::new("tar");
    command
        .arg("-c")
        .arg("-C")
        .arg(dir)
        .args(["--numeric-owner", "--xattrs", "--xattrs-include=*"])
        .arg(format!("--transform=s,^\\.,{},S", sed_replacement(prefix)))
        .arg(".")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = archive::spawn(&mut command, "tar")?;
    let stdout = child.stdout.take().ok_or("tar gives no output")?;
    let appended = {
        let mut guard = lock(out);
        archive::append_members(std::io::BufReader::with_capacity(1 << 20, stdout), guard.writer())
    };
    let finished = archive::finish(child, &format!("archiving {}", dir.display()));
    appended?;
    finished
}

/// The size of a block device (or file).
pub fn device_size(device: &Path) -> Result<u64, String> {
    let mut file =
        std::fs::File::open(device).map_err(|err| format!("cannot open {}: {err}", device.display()))?;
    file.seek(SeekFrom::End(0)).map_err(|err| format!("cannot size {}: {err}", device.display()))
}

/// Appends a block device whole as file member `name`.
pub fn write_image(out: &SharedOutput, device: &Path, name: &str) -> Result<(), String> {
    let size = device_size(device)?;
    let file =
        std::fs::File::open(device).map_err(|err| format!("cannot open {}: {err}", device.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut guard = lock(out);
    archive::write_file(guard.writer(), name, size, 0o600, now_secs(), &mut reader)
}

/// Appends a file member from memory, and directory members.
pub fn write_bytes(out: &SharedOutput, name: &str, data: &[u8]) -> Result<(), String> {
    let mut guard = lock(out);
    archive::write_file(guard.writer(), name, data.len() as u64, 0o644, now_secs(), &mut &data[..])
}

pub fn write_dir(out: &SharedOutput, name: &str) -> Result<(), String> {
    let mut guard = lock(out);
    archive::write_dir(guard.writer(), name, now_secs())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

// ---- reading an archive back onto volumes -----------------------------------------------------

/// Checks an uploaded backup and reads its index.
pub fn inspect(path: &Path) -> Result<(Index, Listing), String> {
    let mut stream = archive::open_tarball(path)?;
    let listing = archive::check_archive(&mut stream, &["backup/index.yaml"]);
    let closed = stream.close();
    let listing = listing.map_err(|why| format!("Not a usable backup: {why}"))?;
    closed?;
    let data =
        listing.captured("backup/index.yaml").ok_or("Not a backup: the tarball has no backup/index.yaml")?;
    let index = parse_index(data)?;
    Ok((index, listing))
}

/// Empties a mounted filesystem's root (its `lost+found` stays).
pub fn wipe(dir: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|err| format!("cannot read {}: {err}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() == "lost+found" {
            continue;
        }
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|err| format!("cannot remove {}: {err}", path.display()))?;
    }
    Ok(())
}

/// Replaces a mounted filesystem's files by the tree `member` of the archive.
pub fn restore_tree(tarball: &Path, listing: &Listing, member: &str, dir: &Path) -> Result<(), String> {
    wipe(dir)?;
    let inside = format!("{member}/");
    if !listing.entries.iter().any(|(p, _)| p.starts_with(&inside)) {
        return Ok(());
    }
    let strip = u32::try_from(member.split('/').count()).unwrap_or(u32::MAX);
    crate::images::untar(tarball, dir, &[member], strip)
}

const BLKZEROOUT: libc::Ioctl = 0x127f;

/// Zeroes `len` bytes at `offset` of a device (`BLKZEROOUT`), or writes zeros where it cannot.
fn zero_range(file: &mut std::fs::File, offset: u64, len: u64, zeros: &[u8]) -> std::io::Result<()> {
    if offset.is_multiple_of(512) && len.is_multiple_of(512) {
        let range: [u64; 2] = [offset, len];
        // SAFETY: BLKZEROOUT reads two u64 from the pointer, valid for the call.
        if unsafe { libc::ioctl(file.as_raw_fd(), BLKZEROOUT, range.as_ptr()) } == 0 {
            return Ok(());
        }
    }
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(&zeros[..usize::try_from(len).unwrap_or(zeros.len()).min(zeros.len())])
}

/// Writes file member `member` of the archive onto a block device.
pub fn restore_image(tarball: &Path, member: &str, device: &Path) -> Result<(), String> {
    let mut stream = archive::open_tarball(tarball)?;
    let mut tar = archive::TarReader::new(&mut stream);
    let mut found = false;
    while let Some(entry) = tar.next_entry()? {
        if entry.path != member || entry.kind != Kind::File {
            continue;
        }
        found = true;
        let capacity = device_size(device)?;
        if entry.size > capacity {
            return Err(format!(
                "{member} ({} bytes) does not fit on {} ({capacity} bytes)",
                entry.size,
                device.display()
            ));
        }
        let mut dev = std::fs::OpenOptions::new()
            .write(true)
            .open(device)
            .map_err(|err| format!("cannot open {}: {err}", device.display()))?;
        let mut data = tar.data();
        let mut buf = vec![0u8; 1 << 20];
        let zeros = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                let n =
                    data.read(&mut buf[filled..]).map_err(|err| format!("cannot read {member}: {err}"))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            let chunk = &buf[..filled];
            let io = |err: std::io::Error| format!("cannot write {}: {err}", device.display());
            if chunk.iter().all(|b| *b == 0) {
                zero_range(&mut dev, offset, filled as u64, &zeros).map_err(io)?;
            } else {
                dev.seek(SeekFrom::Start(offset)).map_err(io)?;
                dev.write_all(chunk).map_err(io)?;
            }
            offset += filled as u64;
        }
        dev.sync_all().map_err(|err| format!("cannot write {}: {err}", device.display()))?;
        break;
    }
    drop(tar);
    let closed = stream.close();
    if !found {
        return Err(format!("the backup has no {member}"));
    }
    // Stopping early (the member found) is not a failure of the decompressor.
    if let Err(err) = closed {
        tracing::debug!("after {member}: {err}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{ContentType, VolumeType};

    fn row() -> VolumeRow {
        VolumeRow {
            pool: "default".into(),
            project: "default".into(),
            vol_type: VolumeType::Custom,
            name: "vol1".into(),
            description: "data: mine".into(),
            content_type: ContentType::Filesystem,
            config: [("size".to_string(), "1GiB".to_string())].into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn snap(name: &str) -> SnapshotRow {
        SnapshotRow {
            volume: VolumeKey {
                pool: "default".into(),
                project: "default".into(),
                vol_type: VolumeType::Custom,
                name: "vol1".into(),
            },
            name: name.into(),
            description: format!("about {name}"),
            expires_at: None,
            created_at: "2026-01-02T00:00:00Z".into(),
            config: Config::new(),
        }
    }

    #[test]
    fn indexes_round_trip() {
        let text = index_yaml(&row(), &[snap("s0"), snap("s1")]);
        let index = parse_index(text.as_bytes()).unwrap();
        assert_eq!(index.name, "vol1");
        assert_eq!(index.content_type, "filesystem");
        assert_eq!(index.description, "data: mine");
        assert_eq!(index.config.get("size").map(String::as_str), Some("1GiB"));
        let names: Vec<&str> = index.snapshots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s0", "s1"]);
        assert_eq!(index.snapshots[1].description, "about s1");
        assert_eq!(index.snapshots[0].expires_at, None);
        assert!(!index.optimized);
        let alone = parse_index(index_yaml(&row(), &[]).as_bytes()).unwrap();
        assert!(alone.snapshots.is_empty());
        assert!(parse_index(b"name: x\n").is_err());
    }

    #[test]
    fn sed_replacements_are_escaped() {
        assert_eq!(
            sed_replacement("backup/volume-snapshots/a,b&c\\d"),
            "backup/volume-snapshots/a\\,b\\&c\\\\d"
        );
    }

    #[test]
    fn trees_and_images_round_trip_through_an_archive() {
        if Command::new("tar").arg("--version").output().is_err() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("strand-backup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let tree = dir.join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::write(tree.join("sub/file"), b"content").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", tree.join("link")).unwrap();
        let image = dir.join("disk.img");
        let mut data = vec![0u8; 3 << 20];
        data[5] = 1;
        data[(2 << 20) + 7] = 9;
        std::fs::write(&image, &data).unwrap();
        let path = dir.join("backup.tar.gz");
        let out: SharedOutput = Arc::new(Mutex::new(Output::create(&path, Compression::Gzip).unwrap()));
        write_dir(&out, "backup").unwrap();
        write_bytes(&out, "backup/index.yaml", index_yaml(&row(), &[snap("s0")]).as_bytes()).unwrap();
        write_dir(&out, "backup/volume-snapshots").unwrap();
        write_tree(&out, &tree, "backup/volume-snapshots/s0").unwrap();
        write_tree(&out, &tree, "backup/volume").unwrap();
        write_image(&out, &image, "backup/volume.img").unwrap();
        let output = Arc::try_unwrap(out).ok().unwrap().into_inner().unwrap();
        output.finish().unwrap();
        let (index, listing) = inspect(&path).unwrap();
        assert_eq!(index.snapshots.len(), 1);
        assert!(listing.has("backup/volume-snapshots/s0/sub/file"), "{:?}", listing.entries);
        assert_eq!(listing.kind_of("backup/volume/link"), Some(Kind::Symlink));
        let target = dir.join("restored");
        std::fs::create_dir_all(target.join("lost+found")).unwrap();
        std::fs::write(target.join("stale"), b"x").unwrap();
        restore_tree(&path, &listing, "backup/volume-snapshots/s0", &target).unwrap();
        assert_eq!(std::fs::read(target.join("sub/file")).unwrap(), b"content");
        assert!(!target.join("stale").exists() && target.join("lost+found").is_dir());
        let disk = dir.join("restored.img");
        std::fs::write(&disk, vec![0xffu8; 4 << 20]).unwrap();
        restore_image(&path, "backup/volume.img", &disk).unwrap();
        let back = std::fs::read(&disk).unwrap();
        assert_eq!(&back[..3 << 20], &data[..]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
