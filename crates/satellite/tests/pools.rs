//! Pools, providers, layers and device usage on real loop devices and mounts. Every test needs
//! root and skips with a message otherwise; tests that need mkfs tools skip without them.

mod support;

use satellite::ChangeKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use support::*;

#[test]
fn pool_dir_with_missing_parent_reports_why() {
    let Some(env) = TestEnv::new("noparent") else { return };
    let dir = env.path("missing/parent/pool");
    let sat = env.satellite();
    let o = sat.apply(&desired(1, vec![pool("p", "FILE", &dir)], vec![vol("r", 0, "p", 4096)]));
    let err = o.storage_pools[0].error.clone().expect("pool error");
    assert!(err.contains("parent directory") && err.contains("does not exist"), "{err}");
    assert!(report(&o, "r", 0).error.as_deref().unwrap().contains("storage pool p"), "{o:#?}");
    assert!(!dir.exists());
    assert!(env.loops().is_empty());

    // Relative paths are refused as well; a pool dir whose parent exists is created.
    let o = sat.apply(&desired(2, vec![pool("rel", "FILE_THIN", Path::new("rel/dir"))], vec![]));
    assert!(o.storage_pools[0].error.as_deref().unwrap().contains("absolute"));
    let applied = sat.converge(&desired(3, vec![pool("p", "FILE_THIN", &env.path("new"))], vec![]));
    assert_eq!(applied.changes[0].kind, ChangeKind::PoolDirCreated);
    assert!(env.path("new").is_dir());
}

#[test]
fn unsupported_providers_and_layers_are_reported() {
    let Some(env) = TestEnv::new("unsupported") else { return };
    let sat = env.satellite();
    let o = sat.apply(&desired(
        1,
        vec![
            pool("lvm", "LVM", Path::new("vg0")),
            pool("zfs", "ZFS_THIN", Path::new("tank/strand")),
            pool("dl", "DISKLESS", Path::new("")),
            pool("weird", "NOPE", Path::new("x")),
        ],
        vec![vol("a", 0, "lvm", 4096), vol("b", 0, "zfs", 4096), vol("c", 0, "dl", 4096)],
    ));
    assert_eq!(o.providers, vec!["DISKLESS", "FILE", "FILE_THIN"]);
    let reason =
        |k: &str| o.unsupported_providers.iter().find(|(p, _)| p == k).map(|(_, r)| r.clone()).unwrap();
    if !Path::new("/dev/mapper/control").exists() {
        assert!(reason("LVM").contains("device-mapper"), "{}", reason("LVM"));
        assert!(reason("LVM_THIN").contains("device-mapper"));
    }
    if !Path::new("/sys/module/zfs").exists() {
        assert!(reason("ZFS").contains("zfs kernel module"));
    }
    let pool_err = |n: &str| o.storage_pools.iter().find(|p| p.name == n).unwrap().error.clone();
    assert!(pool_err("lvm").unwrap().contains("LVM"));
    assert!(pool_err("zfs").unwrap().contains("ZFS_THIN"));
    assert!(pool_err("weird").unwrap().contains("unknown provider"));
    assert_eq!(pool_err("dl"), None, "a diskless pool is always fine");
    assert!(report(&o, "a", 0).error.as_deref().unwrap().contains("not available"));
    assert!(report(&o, "b", 0).error.is_some());
    assert_eq!(report(&o, "c", 0).disk_state, "Diskless");
    assert!(report(&o, "c", 0).error.as_deref().unwrap().contains("DRBD"));

    if Path::new("/proc/drbd").exists() || Path::new("/sys/module/drbd").exists() {
        eprintln!("DRBD present: layers {:?}", o.layers);
    } else {
        assert_eq!(o.layers, vec!["STORAGE"]);
        assert_eq!(
            o.unsupported_layers,
            vec![("DRBD".to_string(), "the DRBD 9 kernel module is not loaded".to_string())]
        );
    }
    assert!(env.loops().is_empty());
}

#[test]
fn node_name_mismatch_changes_nothing() {
    let Some(env) = TestEnv::new("wrongnode") else { return };
    let dir = env.path("pool");
    let mut d = desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("r", 0, "p", 4096)]);
    d.node_name = "other-node".into();
    let o = env.satellite().apply(&d);
    assert!(o.storage_pools[0].error.as_deref().unwrap().contains("other-node"));
    assert!(report(&o, "r", 0).error.is_some());
    assert!(!dir.exists());
}

#[test]
fn ext4_pool_has_no_reflink() {
    let Some(env) = TestEnv::new("ext4reflink") else { return };
    let dir = env.path("pool");
    let o = env.satellite().apply(&desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![]));
    let fs = std::process::Command::new("stat").args(["-f", "-c", "%T"]).arg(&dir).output();
    let fs = fs.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    eprintln!("fact: pool on {fs}: supports_snapshots={}", o.storage_pools[0].supports_snapshots);
    if fs == "ext2/ext3" {
        assert!(!o.storage_pools[0].supports_snapshots);
    }
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(names.is_empty(), "the probe leaves nothing behind");
}

#[test]
fn xfs_pool_with_reflink_supports_snapshots() {
    let Some(env) = TestEnv::new("xfs") else { return };
    if !have("mkfs.xfs") {
        return;
    }
    let img = env.path("xfs.img");
    let mnt = env.path("xfs");
    std::fs::File::create(&img).unwrap().set_len(300 << 20).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    run("mkfs.xfs", &["-q", "-m", "reflink=1", img.to_str().unwrap()]).unwrap();
    run("mount", &["-o", "loop", img.to_str().unwrap(), mnt.to_str().unwrap()]).unwrap();
    let dir = mnt.join("pool");
    let sat = env.satellite();
    let d = desired(1, vec![pool("x", "FILE", &dir)], vec![vol("r", 0, "x", 65536)]);
    let o = sat.apply(&d);
    let p = &o.storage_pools[0];
    assert_eq!(p.error, None);
    assert!(p.supports_snapshots, "XFS with reflink=1 clones");
    assert!(p.total_capacity_kib > 200_000 && p.total_capacity_kib < 300 * 1024, "{p:#?}");
    let dev = healthy(&o, "r", 0, 65536);
    let name = dev.file_name().unwrap().to_str().unwrap().to_string();
    let dio = std::fs::read_to_string(format!("/sys/block/{name}/loop/dio")).unwrap_or_default();
    eprintln!("fact: direct I/O on XFS backing: dio={}", dio.trim());
    let data = pattern(5, 8192);
    write_at(&dev, 0, &data);
    assert_eq!(read_at(&dir.join("r_00000.img"), 0, data.len()), data);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "only the volume: {leftovers:?}");
    // The pool fills up: a FILE volume larger than the free space fails cleanly.
    let o = sat.apply(&desired(
        2,
        vec![pool("x", "FILE", &dir)],
        vec![vol("r", 0, "x", 65536), vol("big", 0, "x", 400 << 10)],
    ));
    assert!(report(&o, "big", 0).error.is_some(), "{o:#?}");
    assert!(!dir.join("big_00000.img").exists() && !dir.join("big_00000.img.tmp").exists());
    healthy(&o, "r", 0, 65536);
}

#[test]
fn in_use_while_held_exclusively() {
    let Some(env) = TestEnv::new("excl") else { return };
    let dir = env.path("pool");
    let d = desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("r", 0, "p", 4096)]);
    let sat = env.satellite();
    let dev = healthy(&sat.apply(&d), "r", 0, 4096);
    assert!(!report(&sat.observe(&d), "r", 0).in_use);
    let holder =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_EXCL).open(&dev).expect("exclusive open");
    assert!(report(&sat.observe(&d), "r", 0).in_use);
    // Deleting a volume in use is refused and reported; nothing is removed.
    let gone = desired(2, vec![pool("p", "FILE_THIN", &dir)], vec![]);
    let o = sat.apply(&gone);
    let r = report(&o, "r", 0);
    assert!(r.error.as_deref().unwrap().contains("in use"), "{r:#?}");
    assert!(dir.join("r_00000.img").exists());
    assert_eq!(env.loops().len(), 1);
    drop(holder);
    assert!(!report(&sat.observe(&d), "r", 0).in_use);
    let o = sat.apply(&gone);
    assert!(o.volumes.is_empty(), "{o:#?}");
    assert!(env.loops().is_empty());
}

#[test]
fn in_use_while_mounted() {
    let Some(env) = TestEnv::new("mounted") else { return };
    if !have("mkfs.ext4") {
        return;
    }
    let dir = env.path("pool");
    let mnt = env.path("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let d = desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("m", 0, "p", 32768)]);
    let sat = env.satellite();
    healthy(&sat.apply(&d), "m", 0, 32768);
    let link = env.dev_dir.join("m/0");
    run("mkfs.ext4", &["-q", "-F", link.to_str().unwrap()]).unwrap();
    run("mount", &[link.to_str().unwrap(), mnt.to_str().unwrap()]).unwrap();
    std::fs::write(mnt.join("hello"), b"world").unwrap();
    assert!(report(&sat.observe(&d), "m", 0).in_use);
    // A detach by hand while mounted only marks the device for autoclear; apply takes the
    // mark away again, so the device survives the unmount.
    let dev = std::fs::read_link(&link).unwrap();
    run("losetup", &["-d", dev.to_str().unwrap()]).unwrap();
    let name = dev.file_name().unwrap().to_str().unwrap().to_string();
    let autoclear = || std::fs::read_to_string(format!("/sys/block/{name}/loop/autoclear")).unwrap();
    assert_eq!(autoclear().trim(), "1");
    // Growing a mounted volume works; the filesystem can then be resized by its owner.
    let d2 = desired(2, vec![pool("p", "FILE_THIN", &dir)], vec![vol("m", 0, "p", 65536)]);
    let applied = sat.converge(&d2);
    assert!(
        applied.changes.iter().any(|c| matches!(c.kind, ChangeKind::AutoclearCleared { .. })),
        "{:#?}",
        applied.changes
    );
    assert_eq!(autoclear().trim(), "0");
    let o = applied.observed;
    assert_eq!(healthy(&o, "m", 0, 65536), dev);
    assert!(report(&o, "m", 0).in_use);
    run("umount", &[mnt.to_str().unwrap()]).unwrap();
    assert_eq!(healthy(&sat.observe(&d2), "m", 0, 65536), dev, "still attached after the unmount");
    run("mount", &[link.to_str().unwrap(), mnt.to_str().unwrap()]).unwrap();
    assert_eq!(std::fs::read(mnt.join("hello")).unwrap(), b"world");
    let o = sat.apply(&desired(3, vec![pool("p", "FILE_THIN", &dir)], vec![]));
    assert!(report(&o, "m", 0).error.as_deref().unwrap().contains("in use"));
    run("umount", &[mnt.to_str().unwrap()]).unwrap();
    assert!(!report(&sat.observe(&d2), "m", 0).in_use);
    let o = sat.apply(&desired(4, vec![pool("p", "FILE_THIN", &dir)], vec![]));
    assert!(o.volumes.is_empty(), "{o:#?}");
    assert!(env.loops().is_empty());
}
