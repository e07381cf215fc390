//! Copies, images and backups end to end: each test runs its own `strand up` and drives it with
//! the `strand` binary as a user would; data is compared by SHA-256 checksum.
//!
//! - copies alone and with snapshots: the same data per snapshot, a new filesystem UUID for xfs
//!   and btrfs; a volume from a snapshot;
//! - 20 container volumes made at once from one image: all made, one image volume in the pool;
//!   a disk image for VMs; a tarball that leaves its directory is refused;
//! - export, then import into a second pool (and under another name): the same data and
//!   snapshots, filesystem and block volumes.
//!
//! Root only (loop devices, mkfs, mount); elsewhere each test prints why it is skipped. The
//! guard always cleans up: volumes (snapshots first) and pools through the storage API, images,
//! resource definitions through LINSTOR, then strand stops and everything under the test's
//! directory is unmounted, detached and removed.

use linstor_client::ListOpts;
mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::*;

fn checksum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// Checksums of every regular file under `dir` (relative path → sum), `lost+found` left out.
fn tree_sums(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            if rel == "lost+found" {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                walk(root, &path, out);
            } else if kind.is_file() {
                out.push((rel, checksum(&path)));
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
                out.push((rel, format!("-> {target}")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn fs_uuid(device: &str) -> String {
    let out =
        Command::new("blkid").args(["-p", "-o", "value", "-s", "UUID", device]).output().expect("blkid");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn device_of(up: &Up, pool: &str, volume: &str) -> String {
    up.storage(&["volume", "path", pool, volume]).ok().line()
}

fn snapshot_names(up: &Up, pool: &str, volume: &str) -> Vec<String> {
    // The NAME column of `snapshot list`, oldest first.
    let run = up.storage(&["volume", "snapshot", "list", pool, volume]).ok();
    run.stdout
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(1)
        .filter_map(|l| l.trim_matches('|').split('|').next().map(|c| c.trim().to_string()))
        .filter(|n| !n.is_empty())
        .collect()
}

#[test]
fn copies_alone_with_snapshots_and_from_a_snapshot() {
    let Some(up) = Up::start("copy") else { return };
    let mut filesystems = vec!["xfs", "ext4"];
    if have_tool("mkfs.btrfs") {
        filesystems.push("btrfs");
    } else {
        eprintln!("btrfs skipped: mkfs.btrfs is missing (install btrfs-progs)");
    }
    for fs in filesystems {
        let src = format!("src-{fs}");
        let size = if fs == "xfs" { "320MiB" } else { "128MiB" };
        up.storage(&[
            "volume",
            "create",
            "default",
            &src,
            &format!("size={size}"),
            &format!("block.filesystem={fs}"),
        ])
        .ok();
        let dir = up.mount("default", &src, None);
        std::fs::write(dir.join("a"), pattern(3 << 20, 1)).expect("write");
        up.storage(&["volume", "snapshot", "create", "default", &src, "s1"]).ok();
        std::fs::write(dir.join("a"), pattern(3 << 20, 2)).expect("write");
        std::fs::create_dir_all(dir.join("d")).expect("mkdir");
        std::fs::write(dir.join("d/b"), pattern(1 << 20, 3)).expect("write");
        up.storage(&["volume", "snapshot", "create", "default", &src, "s2"]).ok();
        std::fs::write(dir.join("d/b"), pattern(1 << 20, 4)).expect("write");
        let now = tree_sums(&dir);
        let src_uuid = fs_uuid(&device_of(&up, "default", &src));

        // With its snapshots (the default), alone, and from a snapshot; the source stays mounted.
        let full = format!("full-{fs}");
        let alone = format!("alone-{fs}");
        let from = format!("from-{fs}");
        let run = up.storage(&["volume", "copy", &format!("default/{src}"), &format!("default/{full}")]).ok();
        assert!(run.stdout.contains("copied"), "{run:?}");
        up.storage(&[
            "volume",
            "copy",
            &format!("default/{src}"),
            &format!("default/{alone}"),
            "--volume-only",
        ])
        .ok();
        up.storage(&["volume", "copy", &format!("default/{src}/s1"), &format!("default/{from}")]).ok();
        assert_eq!(snapshot_names(&up, "default", &full), ["s1", "s2"], "{fs}");
        assert!(snapshot_names(&up, "default", &alone).is_empty(), "{fs}");
        assert!(snapshot_names(&up, "default", &from).is_empty(), "{fs}");

        for copy in [&full, &alone] {
            let copy_dir = up.mount("default", copy, None);
            assert_eq!(tree_sums(&copy_dir), now, "{fs}: {copy} has the source's data");
            let uuid = fs_uuid(&device_of(&up, "default", copy));
            if fs != "ext4" {
                assert_ne!(uuid, src_uuid, "{fs}: {copy} has a new filesystem UUID");
            }
            up.unmount("default", copy, None);
        }
        let from_dir = up.mount("default", &from, None);
        let s1_sums = {
            let snap = up.mount("default", &src, Some("s1"));
            let sums = tree_sums(&snap);
            up.unmount("default", &src, Some("s1"));
            sums
        };
        assert_eq!(tree_sums(&from_dir), s1_sums, "{fs}: the volume from s1");
        if fs != "ext4" {
            assert_ne!(
                fs_uuid(&device_of(&up, "default", &from)),
                src_uuid,
                "{fs}: new UUID from a snapshot"
            );
        }
        up.unmount("default", &from, None);
        for snap in ["s1", "s2"] {
            let theirs = up.mount("default", &src, Some(snap));
            let want = tree_sums(&theirs);
            up.unmount("default", &src, Some(snap));
            let ours = up.mount("default", &full, Some(snap));
            assert_eq!(tree_sums(&ours), want, "{fs}: snapshot {snap} of the copy");
            up.unmount("default", &full, Some(snap));
        }
        // The full copy's UUID differs from the alone copy's too: each copy is a filesystem of its own.
        if fs != "ext4" {
            assert_ne!(
                fs_uuid(&device_of(&up, "default", &full)),
                fs_uuid(&device_of(&up, "default", &alone))
            );
        }
        up.unmount("default", &src, None);
    }
    // Refusals: an existing target, a missing source.
    up.storage(&["volume", "copy", "default/src-xfs", "default/full-xfs"]).fails_saying("already exists");
    up.storage(&["volume", "copy", "default/nothing", "default/new"]).fails_saying("not found");
}

/// An Incus unified image: `metadata.yaml` and `rootfs/`, gzip-compressed.
fn make_image(dir: &Path, data_mib: usize) -> PathBuf {
    let tree = dir.join("image-tree");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(tree.join("rootfs/etc")).expect("tree");
    std::fs::create_dir_all(tree.join("rootfs/usr/bin")).expect("tree");
    std::fs::write(tree.join("metadata.yaml"), "architecture: x86_64\ncreation_date: 1700000000\n")
        .expect("write");
    std::fs::write(tree.join("rootfs/etc/hostname"), "image\n").expect("write");
    std::os::unix::fs::symlink("usr/bin", tree.join("rootfs/bin")).expect("symlink");
    std::fs::write(tree.join("rootfs/usr/bin/blob"), pattern(data_mib << 20, 7)).expect("write");
    let file = dir.join("image.tar.gz");
    let ok = Command::new("tar").arg("-czf").arg(&file).arg("-C").arg(&tree).arg(".").status().expect("tar");
    assert!(ok.success());
    file
}

#[test]
fn twenty_containers_from_one_image_at_once() {
    let Some(up) = Up::start("image") else { return };
    let file = make_image(&up.dir, 8);
    let fp = up.strand(&["image", "import", file.to_str().expect("path")]).ok().line();
    assert_eq!(fp.len(), 64, "{fp}");
    assert_eq!(fp, checksum(&file), "the fingerprint is the file's SHA-256");
    // The same file again: the same image.
    assert_eq!(up.strand(&["image", "import", file.to_str().expect("path")]).ok().line(), fp);

    // 20 at once, each its own `strand` process.
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let (data, name) = (up.data(), format!("container/c{i}"));
            let fp = fp.clone();
            std::thread::spawn(move || {
                Command::new(STRAND)
                    .args(["storage", "volume", "create", "default", &name, "--image", &fp])
                    .env("STRAND_DIR", data)
                    .env("STRAND_LOG", "warn")
                    .stdin(Stdio::null())
                    .output()
                    .expect("run strand")
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let out = handle.join().expect("thread");
        assert!(out.status.success(), "c{i}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let volumes = up.storage(&["volume", "list", "default", "--format", "json"]).ok().json();
    let list = volumes.as_array().expect("list");
    let containers = list.iter().filter(|v| v["type"] == "container").count();
    let images: Vec<&Value> = list.iter().filter(|v| v["type"] == "image").collect();
    assert_eq!(containers, 20);
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0]["name"], fp.as_str());
    // LINSTOR holds exactly one image resource definition too.
    let (rt, client) = up.client();
    let rds = rt
        .block_on(client.resource_definition_list(&ListOpts::new().prop("Aux/Incus/type=images")))
        .expect("list");
    let rds: Vec<_> = rds
        .into_iter()
        .filter(|rd| rd.props.get("Aux/Incus/type").map(String::as_str) == Some("images"))
        .collect();
    assert_eq!(rds.len(), 1, "{rds:?}");
    // Each instance holds the image's files.
    let want = checksum(&up.dir.join("image-tree/rootfs/usr/bin/blob"));
    for name in ["container/c0", "container/c19"] {
        let dir = up.mount("default", name, None);
        assert_eq!(checksum(&dir.join("rootfs/usr/bin/blob")), want, "{name}");
        assert_eq!(std::fs::read_link(dir.join("rootfs/bin")).expect("link"), PathBuf::from("usr/bin"));
        up.unmount("default", name, None);
    }
    // A bigger instance grows; the image's volume does not change.
    up.storage(&["volume", "create", "default", "container/big", "--image", &fp[..12], "size=12GiB"]).ok();
    let shown = up.storage(&["volume", "show", "default", "container/big"]).ok().stdout;
    assert!(shown.contains("size: 12GiB"), "{shown}");

    // A tarball whose member leaves its directory is refused and not kept.
    let evil = up.dir.join("evil.tar");
    let tree = up.dir.join("evil-tree");
    std::fs::create_dir_all(tree.join("rootfs")).expect("tree");
    std::fs::write(tree.join("metadata.yaml"), "architecture: x86_64\n").expect("write");
    std::fs::write(up.dir.join("outside"), "x").expect("write");
    let ok = Command::new("tar")
        .arg("-cf")
        .arg(&evil)
        .arg("-C")
        .arg(&tree)
        .args(["metadata.yaml", "rootfs", "--absolute-names"])
        .arg(up.dir.join("outside"))
        .status()
        .expect("tar");
    assert!(ok.success());
    up.strand(&["image", "import", evil.to_str().expect("path")]).fails_saying("absolute path");
    let listed = up.strand(&["image", "list"]).ok().stdout;
    assert_eq!(listed.matches(&fp[..12]).count(), 1, "{listed}");
    assert_eq!(listed.lines().filter(|l| l.starts_with("| ")).count(), 2, "only one image: {listed}");
    up.storage(&["volume", "create", "default", "container/x", "--image", &"0".repeat(64)])
        .fails_saying("not found");

    // A disk image for virtual machines (qcow2).
    if have_tool("qemu-img") {
        let raw = up.dir.join("disk.raw");
        let mut disk = pattern(4 << 20, 9);
        disk.resize(64 << 20, 0);
        std::fs::write(&raw, &disk).expect("write");
        let qcow2 = up.dir.join("disk.qcow2");
        let ok = Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(&raw)
            .arg(&qcow2)
            .status();
        assert!(ok.expect("qemu-img").success());
        let vm_fp = up.strand(&["image", "import", qcow2.to_str().expect("path")]).ok().line();
        up.storage(&["volume", "create", "default", "virtual-machine/v1", "--image", &vm_fp]).ok();
        up.storage(&["volume", "create", "default", "container/wrong", "--image", &vm_fp])
            .fails_saying("virtual-machine image");
        up.mount("default", "virtual-machine/v1", None);
        let device = device_of(&up, "default", "virtual-machine/v1");
        let mut head = vec![0u8; 4 << 20];
        let mut f = std::fs::File::open(&device).expect("open the VM's disk");
        std::io::Read::read_exact(&mut f, &mut head).expect("read");
        assert!(head == disk[..4 << 20], "the VM's disk holds the image");
        drop(f);
        up.unmount("default", "virtual-machine/v1", None);
    } else {
        eprintln!("VM images skipped: qemu-img is missing (install qemu-utils)");
    }
}

#[test]
fn export_then_import_into_another_pool() {
    let Some(up) = Up::start("backup") else { return };
    up.storage(&[
        "create",
        "second",
        "linstor",
        "linstor.resource_group.place_count=1",
        "linstor.resource_group.storage_pool=DfltStorPool",
    ])
    .ok();
    // A filesystem volume with two snapshots.
    up.storage(&["volume", "create", "default", "vol", "size=64MiB"]).ok();
    let dir = up.mount("default", "vol", None);
    std::fs::write(dir.join("a"), pattern(2 << 20, 1)).expect("write");
    std::os::unix::fs::symlink("/etc/hostname", dir.join("link")).expect("symlink");
    up.storage(&["volume", "snapshot", "create", "default", "vol", "first"]).ok();
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("sub/b"), pattern(1 << 20, 2)).expect("write");
    up.storage(&["volume", "snapshot", "create", "default", "vol", "second"]).ok();
    std::fs::remove_file(dir.join("a")).expect("rm");
    let mut want = vec![(None, tree_sums(&dir))];
    up.unmount("default", "vol", None);
    for snap in ["first", "second"] {
        let p = up.mount("default", "vol", Some(snap));
        want.push((Some(snap), tree_sums(&p)));
        up.unmount("default", "vol", Some(snap));
    }
    let file = up.dir.join("vol.tar.gz");
    let run = up.storage(&["volume", "export", "default", "vol", file.to_str().expect("path")]).ok();
    assert!(run.stdout.contains("exported"), "{run:?}");
    // Incus's layout.
    let listing = Command::new("tar").arg("-tzf").arg(&file).output().expect("tar");
    let names = String::from_utf8_lossy(&listing.stdout).into_owned();
    for member in [
        "backup/index.yaml",
        "backup/volume/sub/b",
        "backup/volume-snapshots/first/a",
        "backup/volume-snapshots/second/sub/b",
    ] {
        assert!(names.lines().any(|l| l == member), "{member} missing: {names}");
    }
    // The backup the daemon made for the export is gone again.
    assert!(
        std::fs::read_dir(up.data().join("backups/custom/default/default_vol"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0
    );

    // Into the second pool, under its own name and another one.
    up.storage(&["volume", "import", "second", file.to_str().expect("path")]).ok();
    up.storage(&["volume", "import", "second", file.to_str().expect("path"), "again"]).ok();
    up.storage(&["volume", "import", "second", file.to_str().expect("path")]).fails_saying("already exists");
    for name in ["vol", "again"] {
        assert_eq!(snapshot_names(&up, "second", name), ["first", "second"]);
        for (snap, sums) in &want {
            let p = up.mount("second", name, *snap);
            assert_eq!(&tree_sums(&p), sums, "{name} {snap:?}");
            up.unmount("second", name, *snap);
        }
    }

    // A block volume and its snapshot, byte for byte.
    up.storage(&["volume", "create", "default", "blk", "--type", "block", "size=16MiB"]).ok();
    let device = up.mount("default", "blk", None);
    let first = pattern(16 << 20, 5);
    std::fs::write(&device, &first).expect("write the device");
    up.unmount("default", "blk", None);
    up.storage(&["volume", "snapshot", "create", "default", "blk", "s"]).ok();
    let device = up.mount("default", "blk", None);
    let mut second = vec![0u8; 16 << 20];
    second[..1 << 20].copy_from_slice(&pattern(1 << 20, 6));
    std::fs::write(&device, &second).expect("write the device");
    up.unmount("default", "blk", None);
    let blk_file = up.dir.join("blk.tar.xz");
    up.storage(&[
        "volume",
        "export",
        "default",
        "blk",
        blk_file.to_str().expect("path"),
        "--compression",
        "xz",
    ])
    .ok();
    up.storage(&["volume", "import", "second", blk_file.to_str().expect("path")]).ok();
    let device = up.mount("second", "blk", None);
    assert!(std::fs::read(&device).expect("read") == second, "the imported block volume");
    up.unmount("second", "blk", None);
    let device = up.mount("second", "blk", Some("s"));
    assert!(std::fs::read(&device).expect("read") == first, "its snapshot");
    up.unmount("second", "blk", Some("s"));

    // Not a backup: refused, nothing made.
    let junk = up.dir.join("junk.tar.gz");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&junk)
        .arg("-C")
        .arg(&up.dir)
        .arg("up.log")
        .status()
        .expect("tar");
    assert!(ok.success());
    up.storage(&["volume", "import", "second", junk.to_str().expect("path"), "junk"])
        .fails_saying("index.yaml");
    let listed = up.storage(&["volume", "list", "second", "--format", "json"]).ok().json();
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
}
