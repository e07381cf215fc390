//! The driver's snapshots against a real controller on real devices (`strand up`, or the
//! controller named by `STRAND_TEST_CONTROLLER`): data checked by checksum through snapshot,
//! change and restore (to an older snapshot while a newer one exists), the mapping properties
//! through create, rename and delete, stale mappings, Incus's spelling, read-only access to
//! snapshots of xfs, ext4 and btrfs volumes while the volume is mounted, and failures injected
//! at every step of restore, create and read-only mount. Every test needs root and skips with a
//! printed reason otherwise.

mod support;

use driver::snapshots::AUX_SNAPSHOT_MAP;
use driver::{ContentType, Driver, Pool, Unmounted, Volume, VolumeId};
use linstor_api::Props;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support::{mount_options, Cluster, FaultProxy, FaultyHost};

const INCUS_MAP: &str = "Aux/Incus/snapshot-name/";

fn new_pool(c: &Cluster, driver: &Driver, what: &str, extra: &[(&str, &str)]) -> Pool {
    let name = c.group_name(what);
    let mut config = c.pool_config();
    config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pool = c.rt.block_on(driver.create_pool(&name, config)).expect("create pool");
    c.rt.block_on(pool.mount()).expect("mount pool");
    pool
}

fn fs_volume(pool: &Pool, name: &str, fs: &str) -> Volume {
    let mut vol = Volume::new(VolumeId::custom("default", name), ContentType::Filesystem)
        .with_config("block.filesystem", fs)
        .with_config("size", "320MiB");
    pool.fill_volume_config(&mut vol);
    vol
}

/// `sha256sum` of a file.
fn checksum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    assert!(out.status.success(), "sha256sum {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// Writes `len` bytes made from `seed` to `dir/name`, synced; answers their checksum.
fn write_data(dir: &Path, name: &str, seed: u8, len: usize) -> String {
    let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
    let path = dir.join(name);
    std::fs::write(&path, &data).expect("write");
    std::fs::File::open(&path).and_then(|f| f.sync_all()).expect("sync");
    checksum(&path)
}

fn rd_props(c: &Cluster, pool: &Pool, id: &VolumeId) -> (String, Props) {
    let name = c.rt.block_on(pool.resource_definition(id)).expect("lookup").expect("the volume's definition");
    let rd = c.rt.block_on(c.client.resource_definition_get(&name)).expect("get definition");
    (name, rd.props)
}

/// The mapping properties (both spellings) of a volume's definition.
fn mappings(c: &Cluster, pool: &Pool, id: &VolumeId) -> Vec<(String, String)> {
    rd_props(c, pool, id)
        .1
        .into_iter()
        .filter(|(k, _)| k.starts_with(AUX_SNAPSHOT_MAP) || k.starts_with(INCUS_MAP))
        .collect()
}

fn linstor_snapshots(c: &Cluster, rd: &str) -> Vec<String> {
    let mut names: Vec<String> =
        c.rt.block_on(c.client.snapshot_list(rd)).expect("snapshots").into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

fn names(c: &Cluster, pool: &Pool, vol: &Volume) -> Vec<String> {
    c.rt.block_on(pool.list_snapshots(vol)).expect("list").into_iter().map(|s| s.name).collect()
}

/// Deletes a volume's snapshots, then the volume.
fn delete_all(c: &Cluster, pool: &Pool, vol: &Volume) {
    for snapshot in c.rt.block_on(pool.list_snapshots(vol)).expect("list") {
        c.rt.block_on(pool.delete_snapshot(vol, &snapshot.name)).expect("delete snapshot");
    }
    c.rt.block_on(pool.delete_volume(vol)).expect("delete volume");
}

/// Nothing of a snapshot's read-only access is left: no temporary definition, no mount, no
/// directory.
fn assert_no_snapshot_copy(c: &Cluster, pool: &Pool, vol: &Volume, snapshot: &str) {
    let aux = format!("{}{}/{snapshot}", pool.volume_prefix(), vol.id.storage_name());
    let copies: Vec<String> = c
        .definitions_of(pool.resource_group())
        .into_iter()
        .filter(|rd| rd.props.get("Aux/Incus/name") == Some(&aux))
        .map(|rd| rd.name)
        .collect();
    assert!(copies.is_empty(), "temporary copies of {snapshot} left: {copies:?}");
    let path = pool.snapshot_mount_path(&vol.id, snapshot);
    assert!(!path.exists(), "{} is left", path.display());
    assert!(!path.parent().is_some_and(Path::exists), "{:?} is left", path.parent());
    let mounts: Vec<PathBuf> = support::mounts_under(&c.state_dir)
        .into_iter()
        .filter(|m| m.to_string_lossy().contains("-snapshots"))
        .collect();
    assert!(mounts.is_empty(), "snapshot mounts left: {mounts:?}");
}

#[test]
fn snapshot_change_restore_rename_delete() {
    let Some(c) = Cluster::start("snaps") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "snaps", &[]);
    let vol = fs_volume(&pool, "data", "ext4");
    c.rt.block_on(pool.create_volume(&vol)).expect("create");
    let mounted = c.rt.block_on(pool.mount_volume(&vol)).expect("mount");
    let dir = mounted.mount_path.clone().expect("mount path");
    let a = write_data(&dir, "file.bin", 1, 3 << 20);
    let s1 = c.rt.block_on(pool.create_snapshot(&vol, "s1")).expect("snapshot s1");
    assert!(s1.successful && s1.created_ms.is_some(), "{s1:?}");
    assert!(s1.linstor_name.starts_with(pool.volume_prefix()), "{}", s1.linstor_name);
    assert_eq!(s1.linstor_name.len(), pool.volume_prefix().len() + 32);
    let b = write_data(&dir, "file.bin", 2, 3 << 20);
    let s2 = c.rt.block_on(pool.create_snapshot(&vol, "s2")).expect("snapshot s2");
    let now = write_data(&dir, "file.bin", 3, 3 << 20);
    assert!(a != b && b != now);
    let err = c.rt.block_on(pool.create_snapshot(&vol, "s1")).expect_err("taken");
    assert!(err.is_already_exists(), "{err}");
    assert_eq!(
        mappings(&c, &pool, &vol.id),
        [
            (format!("{AUX_SNAPSHOT_MAP}s1"), s1.linstor_name.clone()),
            (format!("{AUX_SNAPSHOT_MAP}s2"), s2.linstor_name.clone())
        ]
    );
    assert_eq!(names(&c, &pool, &vol), ["s1", "s2"]);

    // Restore the older snapshot while the newer one exists, the volume mounted: the data is
    // s1's, both snapshots stay, the volume is mounted again.
    let restored = c.rt.block_on(pool.restore_snapshot(&vol, "s1")).expect("restore s1");
    assert!(restored.deleted_snapshots.is_empty());
    assert_eq!(checksum(&dir.join("file.bin")), a, "data as at s1");
    assert_eq!(names(&c, &pool, &vol), ["s1", "s2"]);
    assert_eq!(c.rt.block_on(pool.mount_users(&vol.id)).filesystem, 1);
    // And forward again to s2, then unmounted back to s1.
    c.rt.block_on(pool.restore_snapshot(&vol, "s2")).expect("restore s2");
    assert_eq!(checksum(&dir.join("file.bin")), b, "data as at s2");
    assert_eq!(c.rt.block_on(pool.unmount_volume(&vol, false)).expect("unmount"), Unmounted::Unmounted);
    c.rt.block_on(pool.restore_snapshot(&vol, "s1")).expect("restore s1 unmounted");
    let again = c.rt.block_on(pool.mount_volume(&vol)).expect("mount");
    assert_eq!(checksum(&again.mount_path.clone().expect("path").join("file.bin")), a);
    assert_eq!(c.rt.block_on(pool.unmount_volume(&vol, false)).expect("unmount"), Unmounted::Unmounted);
    let err = c.rt.block_on(pool.restore_snapshot(&vol, "nope")).expect_err("no such snapshot");
    assert!(err.is_not_found(), "{err}");

    // Rename: the property moves, the LINSTOR snapshot keeps its name.
    c.rt.block_on(pool.rename_snapshot(&vol, "s1", "first")).expect("rename");
    assert_eq!(
        mappings(&c, &pool, &vol.id),
        [
            (format!("{AUX_SNAPSHOT_MAP}first"), s1.linstor_name.clone()),
            (format!("{AUX_SNAPSHOT_MAP}s2"), s2.linstor_name.clone())
        ]
    );
    let err = c.rt.block_on(pool.rename_snapshot(&vol, "first", "s2")).expect_err("taken");
    assert!(err.is_already_exists(), "{err}");
    let err = c.rt.block_on(pool.rename_snapshot(&vol, "s1", "x")).expect_err("gone");
    assert!(err.is_not_found(), "{err}");
    let (rd, _) = rd_props(&c, &pool, &vol.id);
    let mut both = vec![s1.linstor_name.clone(), s2.linstor_name.clone()];
    both.sort();
    assert_eq!(linstor_snapshots(&c, &rd), both);

    // Delete: the LINSTOR snapshot and the property go; the other stays exactly.
    assert!(c.rt.block_on(pool.delete_snapshot(&vol, "s2")).expect("delete s2"));
    assert_eq!(mappings(&c, &pool, &vol.id), [(format!("{AUX_SNAPSHOT_MAP}first"), s1.linstor_name.clone())]);
    assert_eq!(linstor_snapshots(&c, &rd), std::slice::from_ref(&s1.linstor_name));
    let err = c.rt.block_on(pool.delete_snapshot(&vol, "s2")).expect_err("gone");
    assert!(err.is_not_found(), "{err}");

    // Stale mappings (their LINSTOR snapshot is gone) are removed when seen, and deleting
    // such a snapshot succeeds (Incus leaves the property behind).
    let stale: Props = [
        (format!("{AUX_SNAPSHOT_MAP}ghost"), "incus-volume-00000000000000000000000000000000".to_string()),
        (format!("{INCUS_MAP}ghost2"), "incus-volume-11111111111111111111111111111111".to_string()),
    ]
    .into();
    let change = linstor_api::ResourceDefinitionModify { override_props: stale, ..Default::default() };
    c.rt.block_on(c.client.resource_definition_modify(&rd, &change)).expect("set stale mappings");
    assert!(!c.rt.block_on(pool.delete_snapshot(&vol, "ghost2")).expect("delete a stale one"));
    assert_eq!(names(&c, &pool, &vol), ["first"]);
    assert_eq!(mappings(&c, &pool, &vol.id), [(format!("{AUX_SNAPSHOT_MAP}first"), s1.linstor_name.clone())]);

    // Incus's spelling is read, and a rename keeps it.
    let legacy = format!("{}{}", pool.volume_prefix(), "abcdef0123456789abcdef0123456789");
    let request =
        linstor_api::Snapshot { name: legacy.clone(), resource_name: Some(rd.clone()), ..Default::default() };
    c.rt.block_on(c.client.snapshot_create(&rd, &request)).expect("a snapshot made by Incus");
    let by_incus: Props = [(format!("{INCUS_MAP}from-incus"), legacy.clone())].into();
    let change = linstor_api::ResourceDefinitionModify { override_props: by_incus, ..Default::default() };
    c.rt.block_on(c.client.resource_definition_modify(&rd, &change)).expect("Incus's mapping");
    assert_eq!(names(&c, &pool, &vol), ["first", "from-incus"]);
    c.rt.block_on(pool.rename_snapshot(&vol, "from-incus", "renamed")).expect("rename");
    assert_eq!(
        mappings(&c, &pool, &vol.id),
        [
            (format!("{AUX_SNAPSHOT_MAP}first"), s1.linstor_name.clone()),
            (format!("{INCUS_MAP}renamed"), legacy.clone())
        ]
    );
    c.rt.block_on(pool.restore_snapshot(&vol, "renamed")).expect("restore Incus's snapshot");
    assert!(c.rt.block_on(pool.delete_snapshot(&vol, "renamed")).expect("delete"));
    assert_eq!(linstor_snapshots(&c, &rd), std::slice::from_ref(&s1.linstor_name));
    delete_all(&c, &pool, &vol);
}

#[test]
fn restore_of_a_block_volume_keeps_newer_snapshots() {
    let Some(c) = Cluster::start("snapblock") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "snapblock", &[]);
    let mut vol =
        Volume::new(VolumeId::custom("default", "raw"), ContentType::Block).with_config("size", "16MiB");
    pool.fill_volume_config(&mut vol);
    c.rt.block_on(pool.create_volume(&vol)).expect("create");
    let device = c.rt.block_on(pool.volume_disk_path(&vol)).expect("device");
    let write = |seed: u8| {
        let data: Vec<u8> = (0..(8usize << 20)).map(|i| (i as u8).wrapping_add(seed)).collect();
        let mut file = std::fs::OpenOptions::new().write(true).open(&device).expect("open device");
        std::io::Write::write_all(&mut file, &data).expect("write device");
        file.sync_all().expect("sync device");
    };
    let sum = || {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("head -c {} {} | sha256sum", 8usize << 20, device.display()))
            .output()
            .expect("checksum");
        String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
    };
    write(1);
    let a = sum();
    c.rt.block_on(pool.create_snapshot(&vol, "s1")).expect("s1");
    write(2);
    let b = sum();
    c.rt.block_on(pool.create_snapshot(&vol, "s2")).expect("s2");
    write(3);
    assert_ne!(sum(), b);
    c.rt.block_on(pool.restore_snapshot(&vol, "s1")).expect("restore s1");
    assert_eq!(sum(), a);
    assert_eq!(names(&c, &pool, &vol), ["s1", "s2"]);
    // A block device in use on this host is refused.
    c.rt.block_on(pool.mount_volume(&vol)).expect("use the block device");
    let err = c.rt.block_on(pool.restore_snapshot(&vol, "s2")).expect_err("in use");
    assert!(err.is_in_use(), "{err}");
    assert_eq!(c.rt.block_on(pool.unmount_volume(&vol, false)).expect("unmount"), Unmounted::Unmounted);
    c.rt.block_on(pool.restore_snapshot(&vol, "s2")).expect("restore s2");
    assert_eq!(sum(), b);
    // Read-only access to a block snapshot: its device holds the snapshot's data.
    let copy = c.rt.block_on(pool.mount_snapshot(&vol, "s1")).expect("mount snapshot");
    let copy_device = copy.device.clone().expect("device of the copy");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("head -c {} {} | sha256sum", 8usize << 20, copy_device.display()))
        .output()
        .expect("checksum");
    assert_eq!(String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default(), a);
    assert_eq!(c.rt.block_on(pool.unmount_snapshot(&vol, "s1")).expect("unmount"), Unmounted::Unmounted);
    assert_no_snapshot_copy(&c, &pool, &vol, "s1");
    delete_all(&c, &pool, &vol);
}

#[test]
fn read_only_snapshots_of_xfs_ext4_btrfs_while_mounted() {
    let Some(c) = Cluster::start("snapro") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "snapro", &[]);
    let uuid = |dev: &Path| {
        let out =
            Command::new("blkid").args(["-p", "-o", "value", "-s", "UUID"]).arg(dev).output().expect("blkid");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    for fs in ["xfs", "ext4", "btrfs"] {
        let vol = fs_volume(&pool, &format!("ro-{fs}"), fs);
        c.rt.block_on(pool.create_volume(&vol)).unwrap_or_else(|e| panic!("create {fs}: {e}"));
        let mounted = c.rt.block_on(pool.mount_volume(&vol)).expect("mount");
        let dir = mounted.mount_path.clone().expect("path");
        let device = mounted.device.clone().expect("device");
        let a = write_data(&dir, "file.bin", 7, 2 << 20);
        c.rt.block_on(pool.create_snapshot(&vol, "s1")).expect("snapshot");
        let b = write_data(&dir, "file.bin", 8, 2 << 20);

        // While the volume stays mounted with newer data.
        let first = c.rt.block_on(pool.mount_snapshot(&vol, "s1")).unwrap_or_else(|e| panic!("{fs}: {e}"));
        let path = first.mount_path.clone().expect("snapshot mount path");
        assert_eq!(path, pool.snapshot_mount_path(&vol.id, "s1"));
        assert!(path.to_string_lossy().contains("/custom-snapshots/default_ro-"), "{}", path.display());
        assert_eq!(checksum(&path.join("file.bin")), a, "{fs}: the snapshot's data");
        assert_eq!(checksum(&dir.join("file.bin")), b, "{fs}: the volume's data");
        let options = mount_options(&path);
        assert!(options.split(',').any(|o| o == "ro"), "{fs}: {options}");
        if fs == "xfs" {
            assert!(options.contains("nouuid"), "{fs}: {options}");
        }
        let copy_device = first.device.clone().expect("copy device");
        if fs == "btrfs" {
            assert_ne!(uuid(&copy_device), uuid(&device), "btrfs: the copy has a UUID of its own");
        }
        let write = std::fs::write(path.join("new"), b"x");
        assert!(write.is_err(), "{fs}: the snapshot is read-only");
        let second = c.rt.block_on(pool.mount_snapshot(&vol, "s1")).expect("second user");
        assert_eq!(second.users, 2);
        let err = c.rt.block_on(pool.delete_snapshot(&vol, "s1")).expect_err("mounted");
        assert!(err.is_in_use(), "{err}");
        let err = c.rt.block_on(pool.rename_snapshot(&vol, "s1", "s1b")).expect_err("mounted");
        assert!(err.is_in_use(), "{err}");
        assert_eq!(
            c.rt.block_on(pool.unmount_snapshot(&vol, "s1")).expect("unmount"),
            Unmounted::StillInUse { users: 1 }
        );
        assert_eq!(checksum(&path.join("file.bin")), a);
        assert_eq!(c.rt.block_on(pool.unmount_snapshot(&vol, "s1")).expect("unmount"), Unmounted::Unmounted);
        assert_no_snapshot_copy(&c, &pool, &vol, "s1");
        assert_eq!(c.rt.block_on(pool.unmount_snapshot(&vol, "s1")).expect("again"), Unmounted::NotMounted);
        // The volume itself was never disturbed.
        assert_eq!(checksum(&dir.join("file.bin")), b);
        assert_eq!(c.rt.block_on(pool.unmount_volume(&vol, false)).expect("unmount"), Unmounted::Unmounted);
        delete_all(&c, &pool, &vol);
    }
    assert!(support::mounts_under(&c.state_dir).is_empty(), "{:?}", support::mounts_under(&c.state_dir));
}

/// A driver whose host operations and LINSTOR calls can be made to fail.
struct Faulty {
    proxy: FaultProxy,
    host: Arc<FaultyHost>,
    pool: Pool,
}

fn faulty(c: &Cluster, pool: &Pool) -> Faulty {
    let proxy = c.rt.block_on(FaultProxy::start(&c.url));
    let host = Arc::new(FaultyHost::new());
    let driver = {
        let _guard = c.rt.enter();
        c.driver_with(proxy.client(), host.clone())
    };
    let pool = driver.open_pool(pool.name(), pool.config().clone()).expect("open");
    Faulty { proxy, host, pool }
}

enum Fault {
    Linstor(&'static str, &'static str, u32),
    Host(&'static str, u32),
}

impl Faulty {
    fn arm(&self, fault: &Fault) -> String {
        self.proxy.clear();
        self.host.clear();
        match fault {
            Fault::Linstor(method, path, nth) => {
                self.proxy.fail(method, path, *nth);
                format!("{method} {path} #{nth}")
            }
            Fault::Host(op, nth) => {
                self.host.fail(op, *nth);
                format!("host {op} #{nth}")
            }
        }
    }
}

#[test]
fn a_failure_at_any_step_of_restore_leaves_nothing() {
    let Some(c) = Cluster::start("snapfaults") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "snapfaults", &[]);
    let f = faulty(&c, &pool);
    let vol = fs_volume(&pool, "r", "ext4");
    c.rt.block_on(pool.create_volume(&vol)).expect("create");
    // Mounted through the faulty driver: restore unmounts and mounts it again.
    let dir = c.rt.block_on(f.pool.mount_volume(&vol)).expect("mount").mount_path.expect("path");
    let a = write_data(&dir, "file.bin", 1, 1 << 20);
    c.rt.block_on(f.pool.create_snapshot(&vol, "s1")).expect("s1");
    let b = write_data(&dir, "file.bin", 2, 1 << 20);
    c.rt.block_on(f.pool.create_snapshot(&vol, "s2")).expect("s2");
    let now = write_data(&dir, "file.bin", 3, 1 << 20);
    let before = mappings(&c, &pool, &vol.id);
    let (rd, _) = rd_props(&c, &pool, &vol.id);
    let linstor_before = linstor_snapshots(&c, &rd);

    // Steps before the data changes: everything stays as it was, mounted.
    for fault in [
        Fault::Linstor("GET", "v1/resource-definitions", 1),
        Fault::Linstor("GET", "v1/resource-definitions/*/snapshots", 1),
        Fault::Host("is_mounted", 1),
        Fault::Host("unmount", 1),
        Fault::Linstor("POST", "v1/resource-definitions/*/snapshot-rollback/*", 1),
    ] {
        let what = f.arm(&fault);
        let err = c.rt.block_on(f.pool.restore_snapshot(&vol, "s1")).expect_err(&what);
        let text = err.to_string();
        assert!(text.contains("injected"), "{what}: {text}");
        if matches!(fault, Fault::Linstor("POST", ..)) {
            // Against a controller that refuses while newer snapshots exist: the error names
            // the key (the injected refusal is a FAIL_UNKNOWN_ERROR, like LINBIT's).
            assert!(err.is_not_supported(), "{what}: {text}");
            assert!(text.contains("linstor.remove_snapshots=true"), "{what}: {text}");
        }
        assert_eq!(checksum(&dir.join("file.bin")), now, "{what}: data unchanged");
        assert_eq!(support::mounted_fs(&dir).map(|m| m.0).as_deref(), Some("ext4"), "{what}: mounted again");
        assert_eq!(c.rt.block_on(f.pool.mount_users(&vol.id)).filesystem, 1, "{what}");
        assert_eq!(mappings(&c, &pool, &vol.id), before, "{what}");
        assert_eq!(linstor_snapshots(&c, &rd), linstor_before, "{what}");
    }

    // The mount after the rollback fails: the volume is restored and left unmounted (no
    // user counted), nothing else changed.
    let what = f.arm(&Fault::Host("mount", 1));
    let err = c.rt.block_on(f.pool.restore_snapshot(&vol, "s2")).expect_err(&what);
    assert!(err.to_string().contains("could not be mounted again"), "{err}");
    assert!(support::mounted_fs(&dir).is_none(), "{what}");
    assert_eq!(c.rt.block_on(f.pool.mount_users(&vol.id)).total(), 0);
    f.host.clear();
    let dir = c.rt.block_on(f.pool.mount_volume(&vol)).expect("mount").mount_path.expect("path");
    assert_eq!(checksum(&dir.join("file.bin")), b, "restored to s2");
    assert_eq!(mappings(&c, &pool, &vol.id), before);

    // A refusing controller and linstor.remove_snapshots=true: the newer snapshot goes first,
    // then the rollback works. A failure deleting it leaves everything.
    let mut keen = vol.clone();
    keen.config.insert("linstor.remove_snapshots".into(), "true".into());
    f.proxy.clear();
    f.proxy.fail("POST", "v1/resource-definitions/*/snapshot-rollback/*", 1);
    f.proxy.fail("DELETE", "v1/resource-definitions/*/snapshots/*", 1);
    let err = c.rt.block_on(f.pool.restore_snapshot(&keen, "s1")).expect_err("delete fails");
    assert!(err.to_string().contains("s2"), "{err}");
    assert_eq!(mappings(&c, &pool, &vol.id), before);
    assert_eq!(checksum(&dir.join("file.bin")), b);
    f.proxy.clear();
    f.proxy.fail("POST", "v1/resource-definitions/*/snapshot-rollback/*", 1);
    let restored = c.rt.block_on(f.pool.restore_snapshot(&keen, "s1")).expect("restored after deleting s2");
    assert_eq!(restored.deleted_snapshots, ["s2"]);
    assert_eq!(checksum(&dir.join("file.bin")), a);
    assert_eq!(names(&c, &pool, &vol), ["s1"]);
    assert_eq!(mappings(&c, &pool, &vol.id), before[..1]);
    // The pool's volume.linstor.remove_snapshots does it too.
    c.rt.block_on(f.pool.create_snapshot(&vol, "s3")).expect("s3");
    let keen_pool = f.pool.update({
        let mut config = f.pool.config().clone();
        config.insert("volume.linstor.remove_snapshots".into(), "true".into());
        config
    });
    let keen_pool = c.rt.block_on(keen_pool).expect("pool update");
    f.proxy.clear();
    f.proxy.fail("POST", "v1/resource-definitions/*/snapshot-rollback/*", 1);
    let restored = c.rt.block_on(keen_pool.restore_snapshot(&vol, "s1")).expect("pool key");
    assert_eq!(restored.deleted_snapshots, ["s3"]);
    f.proxy.clear();

    assert_eq!(c.rt.block_on(f.pool.unmount_volume(&vol, false)).expect("unmount"), Unmounted::Unmounted);
    delete_all(&c, &pool, &vol);
    assert!(support::mounts_under(&c.state_dir).is_empty());
}

#[test]
fn a_failure_at_any_step_of_create_or_read_only_mount_leaves_nothing() {
    let Some(c) = Cluster::start("snapfaults2") else { return };
    let driver = c.driver();
    let pool = new_pool(&c, &driver, "snapfaults2", &[]);
    let f = faulty(&c, &pool);
    let vol = fs_volume(&pool, "m", "btrfs");
    c.rt.block_on(pool.create_volume(&vol)).expect("create");
    let (rd, _) = rd_props(&c, &pool, &vol.id);
    for fault in [
        Fault::Linstor("POST", "v1/resource-definitions/*/snapshots", 1),
        Fault::Linstor("PUT", "v1/resource-definitions/*", 1),
        Fault::Host("is_mounted", 1),
    ] {
        let what = f.arm(&fault);
        let err = c.rt.block_on(f.pool.create_snapshot(&vol, "s1")).expect_err(&what);
        assert!(err.to_string().contains("injected"), "{what}: {err}");
        assert!(linstor_snapshots(&c, &rd).is_empty(), "{what}: {:?}", linstor_snapshots(&c, &rd));
        assert!(mappings(&c, &pool, &vol.id).is_empty(), "{what}");
    }
    f.proxy.clear();
    f.host.clear();
    c.rt.block_on(f.pool.create_snapshot(&vol, "s1")).expect("s1");

    for fault in [
        Fault::Linstor("POST", "v1/resource-definitions", 1),
        Fault::Linstor("POST", "v1/resource-definitions/*/snapshot-restore-volume-definition/*", 1),
        Fault::Linstor("POST", "v1/resource-definitions/*/snapshot-restore-resource/*", 1),
        // The copy's device, from the resource view (the copy is restored onto this node).
        Fault::Linstor("GET", "v1/view/resources", 1),
        Fault::Host("flush_device", 1),
        Fault::Host("is_mounted", 1),
        Fault::Host("regenerate_uuid", 1),
        Fault::Host("mount", 1),
    ] {
        let what = f.arm(&fault);
        let err = c.rt.block_on(f.pool.mount_snapshot(&vol, "s1")).expect_err(&what);
        assert!(err.to_string().contains("injected"), "{what}: {err}");
        assert_eq!(c.rt.block_on(f.pool.snapshot_mount_users(&vol.id, "s1")).total(), 0, "{what}");
        assert_no_snapshot_copy(&c, &pool, &vol, "s1");
        assert_eq!(names(&c, &pool, &vol), ["s1"], "{what}");
    }
    f.proxy.clear();
    f.host.clear();
    // An unmount that fails keeps the user counted; the next one cleans up.
    c.rt.block_on(f.pool.mount_snapshot(&vol, "s1")).expect("mount");
    f.host.fail("unmount", 1);
    c.rt.block_on(f.pool.unmount_snapshot(&vol, "s1")).expect_err("injected");
    assert_eq!(c.rt.block_on(f.pool.snapshot_mount_users(&vol.id, "s1")).filesystem, 1);
    f.host.clear();
    assert_eq!(c.rt.block_on(f.pool.unmount_snapshot(&vol, "s1")).expect("unmount"), Unmounted::Unmounted);
    assert_no_snapshot_copy(&c, &pool, &vol, "s1");
    // A copy left by a daemon that stopped (another driver's mount table) goes with the next
    // unmount, mount or delete of that snapshot.
    c.rt.block_on(pool.mount_snapshot(&vol, "s1")).expect("mount by another driver");
    assert_eq!(c.rt.block_on(f.pool.unmount_snapshot(&vol, "s1")).expect("cleanup"), Unmounted::NotMounted);
    assert_no_snapshot_copy(&c, &pool, &vol, "s1");
    delete_all(&c, &f.pool, &vol);
}
