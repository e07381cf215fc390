//! The image store: images imported with `strand image import` (`POST /1.0/images`), kept
//! under their SHA-256 fingerprint as `DATA/images/<fingerprint>` (the file as given) with
//! `DATA/images/<fingerprint>.json` (what it is).
//!
//! Rules kept here:
//! - An image is checked whole before it is kept: an Incus unified image (a tarball, possibly
//!   compressed, with `metadata.yaml` and `rootfs/` for containers or `rootfs.img` for virtual
//!   machines) must pass [`crate::archive::check_archive`] (no member leaves its directory); a
//!   disk image for virtual machines must be qcow2 (as `qemu-img info` reads it) or raw (a whole
//!   number of 512-byte sectors).
//! - The file is moved into place only when its description is written, so a fingerprint that
//!   is listed is always complete. Importing the same file twice is not an error.
//! - Unpacking onto a volume: GNU tar (which knows the compressions) into the mounted
//!   filesystem, owners numeric, extended attributes kept; `qemu-img convert` onto the block
//!   device of a virtual machine's disk.

use crate::archive::{self, Compression, Kind};
use crate::backend::DataPaths;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `container` or `virtual-machine`.
pub const CONTAINER: &str = "container";
pub const VIRTUAL_MACHINE: &str = "virtual-machine";

/// What an image is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub fingerprint: String,
    /// `container` or `virtual-machine`.
    #[serde(rename = "type")]
    pub image_type: String,
    /// `unified` (an Incus image tarball), `qcow2` or `raw`.
    pub format: String,
    /// Compression of a unified tarball (`gzip`, `xz`, ..., `none`).
    #[serde(default)]
    pub compression: String,
    /// Bytes of the file.
    pub size: u64,
    /// Bytes it takes unpacked: the data of its members, or a disk image's virtual size.
    pub unpacked_size: u64,
    /// The file name it was imported from.
    #[serde(default)]
    pub filename: String,
    pub created_at: String,
}

/// The image store of a data directory.
#[derive(Debug, Clone)]
pub struct Images {
    dir: PathBuf,
}

/// Whether `text` is a full fingerprint (64 lowercase hex characters).
pub fn is_fingerprint(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn qemu_img_info(path: &Path) -> Result<(String, u64), String> {
    let mut command = Command::new("qemu-img");
    command
        .args(["info", "--output=json"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = archive::spawn(&mut command, "qemu-img")?;
    let out = child.wait_with_output().map_err(|err| format!("qemu-img info: {err}"))?;
    if !out.status.success() {
        return Err(format!("qemu-img info failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let info: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|err| format!("qemu-img info answered no JSON: {err}"))?;
    let format = info["format"].as_str().unwrap_or("raw").to_string();
    let size = info["virtual-size"].as_u64().ok_or("qemu-img info gave no virtual size")?;
    Ok((format, size))
}

/// What a file is: (type, format, compression, unpacked size).
fn inspect(path: &Path) -> Result<(String, String, String, u64), String> {
    let head = archive::head_of(path, 512)?;
    if head.starts_with(b"QFI\xfb") {
        let (format, size) = qemu_img_info(path)?;
        if format != "qcow2" {
            return Err(format!("{} is a {format} image, not qcow2", path.display()));
        }
        return Ok((VIRTUAL_MACHINE.into(), "qcow2".into(), String::new(), size));
    }
    if let Some(compression) = Compression::detect(&head) {
        let mut stream = archive::open_tarball(path)?;
        let listing = archive::check_archive(&mut stream, &["metadata.yaml"]);
        let closed = stream.close();
        let listing = listing.map_err(|why| format!("not a usable image: {why}"))?;
        closed?;
        if !listing.has("metadata.yaml") {
            return Err("not an Incus image: the tarball has no metadata.yaml".into());
        }
        let image_type = match (listing.kind_of("rootfs.img"), listing.kind_of("rootfs")) {
            (Some(Kind::File), _) => VIRTUAL_MACHINE,
            (_, Some(Kind::Dir)) => CONTAINER,
            _ if listing.entries.iter().any(|(p, _)| p.starts_with("rootfs/")) => CONTAINER,
            _ => return Err("not an Incus image: the tarball has neither rootfs/ nor rootfs.img".into()),
        };
        let name = compression.tool().unwrap_or("none").to_string();
        return Ok((image_type.into(), "unified".into(), name, listing.data_bytes));
    }
    let size = std::fs::metadata(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?.len();
    if size == 0 || !size.is_multiple_of(512) {
        return Err(format!(
            "{} is neither an Incus image tarball nor a disk image (qcow2, or raw: a whole number of 512-byte sectors)",
            path.display()
        ));
    }
    Ok((VIRTUAL_MACHINE.into(), "raw".into(), String::new(), size))
}

impl Images {
    pub fn new(data_dir: &Path) -> Images {
        Images { dir: data_dir.join("images") }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where uploads are spooled (made if missing, mode 0700).
    pub fn spool_dir(&self) -> Result<PathBuf, String> {
        let dir = self.dir.join(".incoming");
        std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        Ok(dir)
    }

    /// Removes what a daemon that stopped left half-written: uploads and descriptions.
    pub fn sweep(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join(".incoming"));
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if (name.starts_with('.') && name.ends_with(".tmp")) || name.ends_with(".part") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn file(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(fingerprint)
    }

    fn info_file(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.json"))
    }

    /// A VM image's disk taken out of its unified tarball (kept next to it).
    fn disk_file(&self, fingerprint: &str) -> PathBuf {
        self.dir.join(format!("{fingerprint}.rootfs.img"))
    }

    /// Adds an uploaded file (`fingerprint` its SHA-256): checked, described, moved into
    /// place. Answers the image and whether it is new. The upload is removed either way.
    pub fn add(&self, upload: &Path, fingerprint: &str, filename: &str) -> Result<(ImageInfo, bool), String> {
        let result = self.add_inner(upload, fingerprint, filename);
        let _ = std::fs::remove_file(upload);
        result
    }

    fn add_inner(
        &self,
        upload: &Path,
        fingerprint: &str,
        filename: &str,
    ) -> Result<(ImageInfo, bool), String> {
        if !is_fingerprint(fingerprint) {
            return Err(format!("invalid fingerprint \"{fingerprint}\""));
        }
        if let Some(existing) = self.get(fingerprint) {
            return Ok((existing, false));
        }
        let (image_type, format, compression, mut unpacked_size) = inspect(upload)?;
        let size = std::fs::metadata(upload).map_err(|err| format!("cannot read the upload: {err}"))?.len();
        if format == "unified" && image_type == VIRTUAL_MACHINE {
            let disk = self.disk_file(fingerprint);
            extract_member(upload, "rootfs.img", &disk)?;
            match qemu_img_info(&disk) {
                Ok((_, virtual_size)) => unpacked_size = virtual_size,
                Err(err) => {
                    let _ = std::fs::remove_file(&disk);
                    return Err(err);
                }
            }
        }
        let info = ImageInfo {
            fingerprint: fingerprint.to_string(),
            image_type,
            format,
            compression,
            size,
            unpacked_size,
            filename: filename.to_string(),
            created_at: crate::time::now(),
        };
        let text = serde_json::to_vec_pretty(&info).map_err(|err| err.to_string())?;
        let tmp = self.dir.join(format!(".{fingerprint}.json.tmp"));
        std::fs::write(&tmp, text).map_err(|err| format!("cannot write {}: {err}", tmp.display()))?;
        std::fs::rename(upload, self.file(fingerprint))
            .map_err(|err| format!("cannot store the image {fingerprint}: {err}"))?;
        std::fs::rename(&tmp, self.info_file(fingerprint))
            .map_err(|err| format!("cannot store the description of {fingerprint}: {err}"))?;
        Ok((info, true))
    }

    /// An image by fingerprint, or by a unique prefix of at least 12 characters.
    pub fn get(&self, fingerprint: &str) -> Option<ImageInfo> {
        if is_fingerprint(fingerprint) {
            let text = std::fs::read(self.info_file(fingerprint)).ok()?;
            let info: ImageInfo = serde_json::from_slice(&text).ok()?;
            return self.file(fingerprint).is_file().then_some(info);
        }
        if fingerprint.len() < 12 {
            return None;
        }
        let mut found: Vec<ImageInfo> =
            self.list().into_iter().filter(|i| i.fingerprint.starts_with(fingerprint)).collect();
        (found.len() == 1).then(|| found.remove(0))
    }

    /// Every image, by fingerprint.
    pub fn list(&self) -> Vec<ImageInfo> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut out: Vec<ImageInfo> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .filter(|fp| is_fingerprint(fp))
            .filter_map(|fp| self.get(&fp))
            .collect();
        out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        out
    }

    /// Deletes an image's files (its volumes in pools stay). `false` when there was none.
    pub fn delete(&self, fingerprint: &str) -> Result<bool, String> {
        let Some(info) = self.get(fingerprint) else { return Ok(false) };
        let fp = info.fingerprint;
        std::fs::remove_file(self.info_file(&fp))
            .map_err(|err| format!("cannot delete image {fp}: {err}"))?;
        let _ = std::fs::remove_file(self.file(&fp));
        let _ = std::fs::remove_file(self.disk_file(&fp));
        Ok(true)
    }

    /// Unpacks an image onto a volume's data: a container image's tarball into the mounted
    /// filesystem, a VM image's disk onto the block device (and its `metadata.yaml` into the
    /// config filesystem).
    pub fn unpack(&self, info: &ImageInfo, target: &DataPaths) -> Result<(), String> {
        let file = self.file(&info.fingerprint);
        if info.image_type == CONTAINER {
            let dir = target.path.as_deref().ok_or("the image volume has no filesystem mounted")?;
            return untar(&file, dir, &[], 0);
        }
        let device = target.device.as_deref().ok_or("the image volume has no block device")?;
        let (source, format) = match info.format.as_str() {
            "unified" => (self.disk_file(&info.fingerprint), None),
            "qcow2" => (file.clone(), Some("qcow2")),
            _ => (file.clone(), Some("raw")),
        };
        let mut command = Command::new("qemu-img");
        command.args(["convert", "-n"]);
        if let Some(format) = format {
            command.args(["-f", format]);
        }
        command
            .args(["-O", "raw"])
            .arg(&source)
            .arg(device)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = archive::spawn(&mut command, "qemu-img")?;
        archive::finish(child, "qemu-img convert")?;
        if let (Some(dir), "unified") = (target.path.as_deref(), info.format.as_str()) {
            extract_member(&file, "metadata.yaml", &dir.join("metadata.yaml"))?;
        }
        Ok(())
    }
}

/// Unpacks (the members under `members` of) a tarball into `dir`, dropping `strip` leading
/// components: owners numeric, permissions and extended attributes kept. The archive must have
/// passed [`archive::check_archive`].
pub fn untar(tarball: &Path, dir: &Path, members: &[&str], strip: u32) -> Result<(), String> {
    let mut command = Command::new("tar");
    command
        .arg("-x")
        .arg("-f")
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .args(["--numeric-owner", "--xattrs", "--xattrs-include=*", "--delay-directory-restore"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if strip > 0 {
        command.arg(format!("--strip-components={strip}"));
    }
    command.args(members);
    let child = archive::spawn(&mut command, "tar")?;
    archive::finish(child, "unpacking with tar")
}

/// Copies one member of a tarball to `to`.
fn extract_member(tarball: &Path, member: &str, to: &Path) -> Result<(), String> {
    let mut stream = archive::open_tarball(tarball)?;
    let mut tar = archive::TarReader::new(&mut stream);
    let mut found = false;
    while let Some(entry) = tar.next_entry()? {
        if entry.path == member && entry.kind == Kind::File {
            let tmp = to.with_extension("part");
            let mut out = std::fs::File::create(&tmp)
                .map_err(|err| format!("cannot create {}: {err}", tmp.display()))?;
            std::io::copy(&mut tar.data(), &mut out)
                .map_err(|err| format!("cannot extract {member}: {err}"))?;
            out.sync_all().map_err(|err| format!("cannot write {}: {err}", tmp.display()))?;
            std::fs::rename(&tmp, to).map_err(|err| format!("cannot write {}: {err}", to.display()))?;
            found = true;
            break;
        }
    }
    drop(tar);
    stream.close()?;
    if !found {
        return Err(format!("the image has no {member}"));
    }
    Ok(())
}

/// The size of the image volume of an image in a pool whose volumes default to
/// `default_size` bytes: the default, unless the image needs more (its data and a quarter more
/// for filesystem overhead, plus 256 MiB; a disk image its virtual size).
pub fn image_volume_size(info: &ImageInfo, default_size: u64) -> u64 {
    const MIB: u64 = 1 << 20;
    let needed = if info.image_type == CONTAINER {
        info.unpacked_size.saturating_add(info.unpacked_size / 4).saturating_add(256 * MIB)
    } else {
        info.unpacked_size
    };
    let needed = needed.div_ceil(MIB) * MIB;
    needed.max(default_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(kind: &str, unpacked: u64) -> ImageInfo {
        ImageInfo {
            fingerprint: "a".repeat(64),
            image_type: kind.into(),
            format: "unified".into(),
            compression: "gzip".into(),
            size: 1,
            unpacked_size: unpacked,
            filename: String::new(),
            created_at: String::new(),
        }
    }

    #[test]
    fn fingerprints() {
        assert!(is_fingerprint(&"0123456789abcdef".repeat(4)));
        assert!(!is_fingerprint(&"0123456789ABCDEF".repeat(4)));
        assert!(!is_fingerprint("abc"));
    }

    #[test]
    fn image_volumes_fit_their_image() {
        const GIB: u64 = 1 << 30;
        assert_eq!(image_volume_size(&image(CONTAINER, 100 << 20), 10 * GIB), 10 * GIB);
        let big = image_volume_size(&image(CONTAINER, 10 * GIB), GIB);
        assert!(big >= 12 * GIB && big.is_multiple_of(1 << 20));
        assert_eq!(image_volume_size(&image(VIRTUAL_MACHINE, 20 * GIB), 10 * GIB), 20 * GIB);
    }

    #[test]
    fn files_are_told_apart() {
        let dir = std::env::temp_dir().join(format!("strand-images-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let raw = dir.join("disk.raw");
        std::fs::write(&raw, vec![0u8; 4096]).unwrap();
        let (t, f, _, size) = inspect(&raw).unwrap();
        assert_eq!((t.as_str(), f.as_str(), size), (VIRTUAL_MACHINE, "raw", 4096));
        let text = dir.join("notes.txt");
        std::fs::write(&text, b"hello").unwrap();
        assert!(inspect(&text).is_err());
        // A tarball without metadata.yaml is not an image.
        let tree = dir.join("tree");
        std::fs::create_dir_all(tree.join("rootfs")).unwrap();
        let tarball = dir.join("x.tar");
        let ok = Command::new("tar").arg("-cf").arg(&tarball).arg("-C").arg(&tree).arg(".").status();
        if ok.is_ok_and(|s| s.success()) {
            assert!(inspect(&tarball).unwrap_err().contains("metadata.yaml"));
            std::fs::write(tree.join("metadata.yaml"), b"architecture: x86_64\n").unwrap();
            let ok = Command::new("tar").arg("-czf").arg(&tarball).arg("-C").arg(&tree).arg(".").status();
            assert!(ok.is_ok_and(|s| s.success()));
            let (t, f, c, _) = inspect(&tarball).unwrap();
            assert_eq!((t.as_str(), f.as_str(), c.as_str()), (CONTAINER, "unified", "gzip"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
