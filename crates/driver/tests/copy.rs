//! Copies against a real controller on real devices: a volume copied alone and with its
//! snapshots, a volume made from a snapshot, data compared by checksum, filesystem UUIDs
//! compared for xfs and btrfs; and a failure injected at each step of a copy leaves nothing.
//!
//! Snapshots of the sources are made with the LINSTOR snapshot API and the driver's mapping
//! property (`Aux/Incus/SnapshotName/<name>`), as the driver's snapshot code does.
//! Root only; elsewhere each test prints why it is skipped.

mod support;

use driver::config::Config;
use driver::{ContentType, Driver, HostOps, Pool, RealHost, Volume, VolumeId};
use linstor_api::{Props, ResourceDefinitionModify, Snapshot, SnapshotRestore};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use support::{Cluster, FaultProxy, FaultyHost};

fn cfg(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn new_pool(c: &Cluster, driver: &Driver, what: &str, extra: &[(&str, &str)]) -> Pool {
    let name = c.group_name(what);
    let mut config = c.pool_config();
    config.extend(cfg(extra));
    let pool = c.rt.block_on(driver.create_pool(&name, config)).expect("create pool");
    c.rt.block_on(pool.mount()).expect("mount pool");
    pool
}

fn have_tool(tool: &str) -> bool {
    ["/sbin", "/usr/sbin", "/bin", "/usr/bin"].iter().any(|d| Path::new(d).join(tool).exists())
}

/// sha256 of a file, by `sha256sum`.
fn checksum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

fn fs_uuid(device: &Path) -> String {
    let out =
        Command::new("blkid").args(["-p", "-o", "value", "-s", "UUID"]).arg(device).output().expect("blkid");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed).wrapping_add((i >> 12) as u8)).collect()
}

fn rd_name(c: &Cluster, pool: &Pool, id: &VolumeId) -> String {
    c.rt.block_on(pool.resource_definition(id)).expect("lookup").expect("resource definition")
}

fn rd_props(c: &Cluster, rd: &str) -> Props {
    c.rt.block_on(c.client.resource_definition_get(rd)).expect("get rd").props
}

/// A snapshot the way the driver's snapshot code makes one: filesystem synced, a LINSTOR
/// snapshot with a random name, the mapping property on the volume's definition.
fn snapshot(c: &Cluster, pool: &Pool, vol: &Volume, name: &str, mounted_at: Option<&Path>) {
    if let Some(dir) = mounted_at {
        RealHost::new().sync_filesystem(dir).expect("syncfs");
    }
    let rd = rd_name(c, pool, &vol.id);
    let linstor_name = format!("{}snap{:x}{name}", pool.volume_prefix(), std::process::id());
    let request = Snapshot { name: linstor_name.clone(), ..Default::default() };
    c.rt.block_on(c.client.snapshot_create(&rd, &request)).expect("snapshot");
    let change = ResourceDefinitionModify {
        override_props: [(format!("{}{name}", driver::AUX_SNAPSHOT_MAP), linstor_name)].into(),
        ..Default::default()
    };
    c.rt.block_on(c.client.resource_definition_modify(&rd, &change)).expect("mapping");
}

/// Deletes every snapshot of every resource definition of the pool, then its volumes.
fn delete_all(c: &Cluster, pool: &Pool) {
    for rd in c.definitions_of(pool.resource_group()) {
        if let Ok(snaps) = c.rt.block_on(c.client.snapshot_list(&rd.name)) {
            for s in snaps {
                let _ = c.rt.block_on(c.client.snapshot_delete(&rd.name, &s.name, &[]));
            }
        }
        let _ = c.rt.block_on(c.client.resource_definition_delete(&rd.name));
    }
}

/// Checksums of the files on a volume's data, read through a temporary resource definition
/// restored from LINSTOR snapshot `snap` of `rd` (mounted read-only, `nouuid` for xfs).
fn snapshot_checksums(c: &Cluster, rd: &str, snap: &str, files: &[&str]) -> (Vec<String>, String) {
    let tmp = format!("tmpcheck{:x}", rand_u32());
    let create = linstor_api::ResourceDefinitionCreate {
        resource_definition: linstor_api::ResourceDefinition { name: tmp.clone(), ..Default::default() },
        ..Default::default()
    };
    c.rt.block_on(c.client.resource_definition_create(&create)).expect("tmp rd");
    let restore = SnapshotRestore { to_resource: tmp.clone(), ..Default::default() };
    c.rt.block_on(c.client.snapshot_restore_volume_definition(rd, snap, &restore)).expect("restore vd");
    c.rt.block_on(c.client.snapshot_restore_resource(rd, snap, &restore)).expect("restore rsc");
    let volumes = c.rt.block_on(c.client.volume_list(&tmp, &c.node)).expect("volumes");
    let device =
        volumes.iter().find(|v| v.volume_number == Some(0)).and_then(|v| v.device_path.clone()).expect("dev");
    let uuid = fs_uuid(Path::new(&device));
    let dir = c.root.join(format!("check-{tmp}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let fstype = RealHost::new().probe_filesystem(Path::new(&device)).ok().flatten().unwrap_or_default();
    let opts = if fstype == "xfs" { "ro,nouuid" } else { "ro" };
    let ok = Command::new("mount").args(["-o", opts, &device]).arg(&dir).status().expect("mount");
    let sums = if ok.success() {
        let sums = files.iter().map(|f| checksum(&dir.join(f))).collect();
        let _ = Command::new("umount").arg(&dir).status();
        sums
    } else {
        Vec::new()
    };
    let _ = std::fs::remove_dir(&dir);
    let _ = c.rt.block_on(c.client.resource_definition_delete(&tmp));
    assert!(ok.success(), "mount {device} ({fstype})");
    (sums, uuid)
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    u32::from_le_bytes(b)
}

/// The LINSTOR snapshot of Incus snapshot `name` on `rd`.
fn mapped(c: &Cluster, rd: &str, name: &str) -> String {
    rd_props(c, rd)
        .get(&format!("{}{name}", driver::AUX_SNAPSHOT_MAP))
        .cloned()
        .unwrap_or_else(|| panic!("no mapping of {name} on {rd}"))
}

#[test]
fn copies_alone_with_snapshots_and_from_snapshots() {
    let Some(c) = Cluster::start("copies") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "copies", &[("volume.size", "64MiB")]);
    for fs in ["ext4", "xfs", "btrfs"] {
        if !have_tool(&format!("mkfs.{fs}")) {
            eprintln!("skipping {fs}: mkfs.{fs} is missing");
            continue;
        }
        let mut src = Volume::new(VolumeId::custom("default", format!("src-{fs}")), ContentType::Filesystem)
            .with_config("block.filesystem", fs)
            .with_config("size", if fs == "xfs" { "320MiB" } else { "128MiB" });
        pool.fill_volume_config(&mut src);
        c.rt.block_on(pool.create_volume(&src)).expect("create source");
        let mounted = c.rt.block_on(pool.mount_volume(&src)).expect("mount source");
        let dir = mounted.mount_path.clone().expect("mount path");
        std::fs::write(dir.join("a"), pattern(3 << 20, 1)).expect("write a");
        snapshot(&c, &pool, &src, "s1", Some(&dir));
        std::fs::write(dir.join("a"), pattern(3 << 20, 2)).expect("rewrite a");
        std::fs::write(dir.join("b"), pattern(1 << 20, 3)).expect("write b");
        snapshot(&c, &pool, &src, "s2", Some(&dir));
        std::fs::write(dir.join("b"), pattern(1 << 20, 4)).expect("rewrite b");
        RealHost::new().sync_filesystem(&dir).expect("syncfs");
        let now = [checksum(&dir.join("a")), checksum(&dir.join("b"))];
        let src_rd = rd_name(&c, &pool, &src.id);
        let src_uuid = fs_uuid(mounted.device.as_deref().expect("device"));

        // A copy of the volume alone, while the source is mounted.
        let mut alone = Volume { id: VolumeId::custom("default", format!("alone-{fs}")), ..src.clone() };
        alone.config = src.config.clone();
        let report = c.rt.block_on(pool.copy_volume(&src, &alone, false)).expect("copy alone");
        assert!(report.snapshots.is_empty());
        let props = rd_props(&c, &report.resource_definition);
        assert_eq!(props.get("Aux/Incus/name").map(String::as_str), Some(pool.aux_name(&alone.id).as_str()));
        assert_eq!(props.get("Aux/Incus/type").map(String::as_str), Some("custom"));
        assert!(!props.keys().any(|k| k.starts_with("Aux/Incus/SnapshotName/")), "{props:?}");
        assert_eq!(
            props.get("cloned-from").map(|v| v.to_ascii_uppercase()),
            Some(src_rd.to_ascii_uppercase())
        );
        let m = c.rt.block_on(pool.mount_volume(&alone)).expect("mount the copy next to its source");
        let copy_dir = m.mount_path.clone().expect("path");
        assert_eq!([checksum(&copy_dir.join("a")), checksum(&copy_dir.join("b"))], now, "{fs}: copy data");
        let copy_uuid = fs_uuid(m.device.as_deref().expect("device"));
        if fs != "ext4" {
            assert_ne!(copy_uuid, src_uuid, "{fs}: the copy has a new UUID");
        }
        c.rt.block_on(pool.unmount_volume(&alone, false)).expect("unmount copy");

        // A copy with its snapshots: same data per snapshot, oldest first, new UUIDs.
        let mut full = alone.clone();
        full.id = VolumeId::custom("default", format!("full-{fs}"));
        let report = c.rt.block_on(pool.copy_volume(&src, &full, true)).expect("copy with snapshots");
        assert_eq!(report.snapshots, ["s1", "s2"]);
        let full_rd = report.resource_definition.clone();
        let snaps = c.rt.block_on(c.client.snapshot_list(&full_rd)).expect("snapshots of the copy");
        assert_eq!(snaps.len(), 2, "only the two copied snapshots remain: {snaps:?}");
        let ts = |n: &str| {
            snaps
                .iter()
                .find(|s| s.name == n)
                .and_then(|s| s.snapshots.first())
                .and_then(|s| s.create_timestamp)
        };
        let (c1, c2) = (mapped(&c, &full_rd, "s1"), mapped(&c, &full_rd, "s2"));
        assert!(ts(&c1) < ts(&c2), "oldest first");
        for (name, copy_snap) in [("s1", &c1), ("s2", &c2)] {
            let files: Vec<&str> = if name == "s1" { vec!["a"] } else { vec!["a", "b"] };
            let (want, src_snap_uuid) = snapshot_checksums(&c, &src_rd, &mapped(&c, &src_rd, name), &files);
            let (got, copy_snap_uuid) = snapshot_checksums(&c, &full_rd, copy_snap, &files);
            assert_eq!(got, want, "{fs}: snapshot {name} of the copy");
            if fs != "ext4" {
                assert_ne!(copy_snap_uuid, src_snap_uuid, "{fs}: snapshot {name} of the copy has a new UUID");
            }
        }
        let m = c.rt.block_on(pool.mount_volume(&full)).expect("mount the full copy");
        let full_dir = m.mount_path.clone().expect("path");
        assert_eq!(
            [checksum(&full_dir.join("a")), checksum(&full_dir.join("b"))],
            now,
            "{fs}: full copy data"
        );
        if fs != "ext4" {
            assert_ne!(fs_uuid(m.device.as_deref().expect("device")), src_uuid);
        }
        c.rt.block_on(pool.unmount_volume(&full, false)).expect("unmount");

        // A volume from an older snapshot, bigger than it.
        let mut from_snap = alone.clone();
        from_snap.id = VolumeId::custom("default", format!("fromsnap-{fs}"));
        let bigger: u64 = match fs {
            "xfs" => 400,
            "btrfs" => 288,
            _ => 160,
        };
        from_snap.config.insert("size".into(), format!("{bigger}MiB"));
        c.rt.block_on(pool.create_volume_from_snapshot(&src, "s1", &from_snap)).expect("from snapshot");
        let m = c.rt.block_on(pool.mount_volume(&from_snap)).expect("mount from-snapshot copy");
        let snap_dir = m.mount_path.clone().expect("path");
        assert_eq!(std::fs::read(snap_dir.join("a")).expect("a"), pattern(3 << 20, 1));
        assert!(!snap_dir.join("b").exists());
        if fs != "ext4" {
            assert_ne!(fs_uuid(m.device.as_deref().expect("device")), src_uuid);
        }
        let size = support::mounted_fs(&snap_dir).map(|(_, s)| s).unwrap_or(0);
        let src_size = support::mounted_fs(&dir).map(|(_, s)| s).unwrap_or(0);
        assert!(
            size > src_size + (20 << 20),
            "{fs}: the copy from a snapshot grew to its size ({size} after {src_size})"
        );
        c.rt.block_on(pool.unmount_volume(&from_snap, false)).expect("unmount");
        let missing = c.rt.block_on(pool.create_volume_from_snapshot(&src, "nope", &from_snap));
        assert!(missing.is_err());

        c.rt.block_on(pool.unmount_volume(&src, false)).expect("unmount source");
    }
    delete_all(&c, &pool);
}

#[test]
fn a_failure_at_any_step_of_a_copy_leaves_nothing() {
    let Some(c) = Cluster::start("copyfaults") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "copyfaults", &[("volume.size", "320MiB")]);
    let fs = if have_tool("mkfs.xfs") { "xfs" } else { "ext4" };
    let mut src = Volume::new(VolumeId::custom("default", "src"), ContentType::Filesystem)
        .with_config("block.filesystem", fs);
    pool.fill_volume_config(&mut src);
    c.rt.block_on(pool.create_volume(&src)).expect("create source");
    let m = c.rt.block_on(pool.mount_volume(&src)).expect("mount");
    let dir = m.mount_path.clone().expect("path");
    std::fs::write(dir.join("a"), pattern(1 << 20, 9)).expect("write");
    snapshot(&c, &pool, &src, "s1", Some(&dir));
    std::fs::write(dir.join("a"), pattern(1 << 20, 10)).expect("write");
    snapshot(&c, &pool, &src, "s2", Some(&dir));
    c.rt.block_on(pool.unmount_volume(&src, false)).expect("unmount");
    let src_rd = rd_name(&c, &pool, &src.id);
    let src_snaps = |c: &Cluster| {
        let mut names: Vec<String> =
            c.rt.block_on(c.client.snapshot_list(&src_rd))
                .expect("list")
                .into_iter()
                .map(|s| s.name)
                .collect();
        names.sort();
        names
    };
    let before = src_snaps(&c);

    let proxy = c.rt.block_on(FaultProxy::start(&c.url));
    let faulty = Arc::new(FaultyHost::new());
    let faulty_driver = {
        let _guard = c.rt.enter();
        c.driver_with(proxy.client(), faulty.clone())
    };
    let faulty_pool = faulty_driver.open_pool(pool.name(), pool.config().clone()).expect("open");
    enum Fault {
        Linstor(&'static str, &'static str, u32),
        Host(&'static str, u32),
    }
    use Fault::*;
    let faults = [
        Linstor("POST", "v1/resource-definitions/*/clone", 1),
        Linstor("GET", "v1/resource-definitions/*/clone/*", 1),
        // The copy's device, read from the resource view (the clone is placed here).
        Linstor("GET", "v1/view/resources", 1),
        Host("probe_filesystem", 1),
        Host("mount", 1),
        Host("regenerate_uuid", 1),
        // The snapshot chain: temporary snapshot, each restore, each snapshot, each mapping,
        // the last restore and the temporary snapshot's deletion.
        Linstor("POST", "v1/resource-definitions/*/snapshots", 1),
        Linstor("DELETE", "v1/resource-definitions/*/resources/*", 1),
        Linstor("POST", "v1/resource-definitions/*/snapshot-restore-resource/*", 1),
        Host("regenerate_uuid", 2),
        Linstor("POST", "v1/resource-definitions/*/snapshots", 2),
        Linstor("PUT", "v1/resource-definitions/*", 1),
        Linstor("POST", "v1/resource-definitions/*/snapshot-restore-resource/*", 2),
        Linstor("POST", "v1/resource-definitions/*/snapshots", 3),
        Linstor("PUT", "v1/resource-definitions/*", 2),
        Linstor("POST", "v1/resource-definitions/*/snapshot-restore-resource/*", 3),
        Linstor("DELETE", "v1/resource-definitions/*/snapshots/*", 1),
        // The size, last.
        Host("grow_filesystem", 1),
    ];
    let mut dst = Volume { id: VolumeId::custom("default", "dst"), ..src.clone() };
    dst.config.insert("size".into(), "352MiB".into());
    for fault in &faults {
        proxy.clear();
        faulty.clear();
        let what = match fault {
            Linstor(method, path, nth) => {
                proxy.fail(method, path, *nth);
                format!("{method} {path} #{nth}")
            }
            Host(op, nth) => {
                faulty.fail(op, *nth);
                format!("host {op} #{nth}")
            }
        };
        let result = c.rt.block_on(faulty_pool.copy_volume(&src, &dst, true));
        let err = result.expect_err(&what);
        assert!(err.to_string().contains("injected"), "{what}: {err}");
        eprintln!("{what}: {err}");
        // Nothing of the copy is left; the source and its snapshots are as they were.
        assert!(!c.rt.block_on(pool.has_volume(&dst.id)).expect("lookup"), "{what}: the copy is left");
        let left: Vec<String> = c
            .definitions_of(pool.resource_group())
            .into_iter()
            .map(|rd| rd.name)
            .filter(|n| !n.eq_ignore_ascii_case(&src_rd))
            .collect();
        assert!(left.is_empty(), "{what}: resource definitions left: {left:?}");
        assert!(!pool.mount_path(&dst.id).exists(), "{what}: mount directory left");
        assert!(support::mounts_under(&c.state_dir).is_empty(), "{what}: mounts left");
        assert_eq!(src_snaps(&c), before, "{what}: the source's snapshots changed");
    }
    proxy.clear();
    faulty.clear();
    let report = c.rt.block_on(faulty_pool.copy_volume(&src, &dst, true)).expect("without faults");
    assert_eq!(report.snapshots, ["s1", "s2"]);
    delete_all(&c, &pool);
}
