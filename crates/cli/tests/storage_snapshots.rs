//! `strand storage volume snapshot ...` end to end: each test runs its own `strand up` on a
//! temporary directory and drives it through the `strand` binary, as a user would. Data is
//! checked by checksum through snapshot, change and restore (an older snapshot while a newer
//! one exists); the seed's `strand linstor snapshot list` and `rd list-properties` tables; read-
//! only mounts; rename and delete keep the mapping properties exact; the daemon takes and
//! expires snapshots on its own (`snapshots.schedule`, `snapshots.expiry`).
//!
//! Root only (loop devices, mkfs, mount); elsewhere each test prints why it is skipped. The
//! guard always cleans up: volumes (their snapshots first) and pools through the storage API,
//! resource definitions through LINSTOR, then strand, mounts and loop devices under the test's
//! directory, and the directory.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

fn checksum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

fn write_data(dir: &Path, seed: u8) -> String {
    let data: Vec<u8> = (0..(2usize << 20)).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)).collect();
    let path = dir.join("data.bin");
    std::fs::write(&path, &data).expect("write");
    std::fs::File::open(&path).and_then(|f| f.sync_all()).expect("sync");
    checksum(&path)
}

#[test]
fn snapshot_change_restore_and_the_seed_tables() {
    let Some(up) = Up::start("cmds") else { return };
    up.storage(&["volume", "create", "default", "vol", "size=64MiB"]).ok();
    let dir = up.dir.join("mnt");
    up.storage(&["volume", "mount", "default", "vol", dir.to_str().expect("path")]).ok();
    let a = write_data(&dir, 1);
    assert_eq!(up.snapshot(&["create", "default", "vol", "s1"]).ok().stdout, "");
    let b = write_data(&dir, 2);
    // Without a name: the pattern's next one, named on stdout as Incus does.
    assert_eq!(up.snapshot(&["create", "default", "vol"]).ok().stdout, "Volume snapshot name is: snap0\n");
    let c = write_data(&dir, 3);
    assert!(a != b && b != c);
    up.snapshot(&["create", "default", "vol", "s1"]).fails(&["already exists"]);
    up.snapshot(&["create", "default", "nope", "s1"]).fails(&["\"nope\" not found"]);

    let rows = table_rows(&up.snapshot(&["list", "default", "vol"]).ok().stdout);
    assert_eq!(rows[0], ["NAME", "TAKEN AT", "EXPIRES AT"]);
    assert_eq!(rows.iter().skip(1).map(|r| r[0].as_str()).collect::<Vec<_>>(), ["s1", "snap0"]);
    assert!(!rows[1][1].is_empty() && rows[1][2].is_empty(), "{rows:?}");
    let json = up.snapshot(&["list", "default", "vol", "--format", "json"]).ok().json();
    assert_eq!(json[0]["name"], "vol/s1");
    let show = up.snapshot(&["show", "default", "vol", "s1"]).ok().stdout;
    assert!(show.contains("name: s1\n") && show.contains("expires_at: \"0001-01-01T00:00:00Z\"\n"), "{show}");
    up.snapshot(&["show", "default", "vol", "nope"]).fails(&["\"nope\" not found"]);

    // Restore the older snapshot while a newer one exists, while the volume is mounted (and
    // bound at the caller's path): the data is s1's, both snapshots are still listed.
    up.snapshot(&["restore", "default", "vol", "s1"]).ok();
    assert_eq!(checksum(&dir.join("data.bin")), a, "data as at s1");
    let json = up.snapshot(&["list", "default", "vol", "--format", "json"]).ok().json();
    let names: Vec<&str> = json.as_array().expect("list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["vol/s1", "vol/snap0"]);
    up.snapshot(&["restore", "default", "vol", "snap0"]).ok();
    assert_eq!(checksum(&dir.join("data.bin")), b, "data as at snap0");
    up.snapshot(&["restore", "default", "vol", "nope"]).fails(&["\"nope\" not found"]);

    // Read-only access to s1 at a path while the volume stays mounted.
    let ro = up.dir.join("ro");
    up.snapshot(&["mount", "default", "vol", "s1", ro.to_str().expect("path")]).ok();
    assert_eq!(checksum(&ro.join("data.bin")), a);
    assert!(std::fs::write(ro.join("x"), b"x").is_err(), "read-only");
    assert_eq!(checksum(&dir.join("data.bin")), b);
    up.snapshot(&["delete", "default", "vol", "s1"]).fails(&["mounted read-only"]);
    up.snapshot(&["unmount", "default", "vol", "s1"]).ok();
    assert!(!ro.join("data.bin").exists(), "unmounted");

    // LINSTOR's view, as in the seed: the mapping property, `snapshot list`, `list-properties`.
    let rd = up.rd_named("incus-volume-default_vol");
    let rd_name = rd["name"].as_str().expect("rd name").to_string();
    let s1 = rd["props"]["Aux/Incus/SnapshotName/s1"].as_str().expect("mapping of s1").to_string();
    let snap0 = rd["props"]["Aux/Incus/SnapshotName/snap0"].as_str().expect("mapping of snap0").to_string();
    assert!(s1.starts_with("incus-volume-") && s1.len() == "incus-volume-".len() + 32, "{s1}");
    let table = table_rows(&up.linstor(&["snapshot", "list"]).ok().stdout);
    assert_eq!(table[0], ["ResourceName", "SnapshotName", "NodeNames", "Volumes", "CreatedOn", "State"]);
    let row = table.iter().find(|r| r[1] == s1).unwrap_or_else(|| panic!("{s1} in {table:?}"));
    assert_eq!(row[0], rd_name);
    assert_eq!(row[2], up.node);
    assert_eq!(row[3], "0: 64 MiB");
    assert!(row[4].len() == "2025-03-13 16:01:31".len(), "{row:?}");
    assert_eq!(row[5], "Successful");
    // Rename and delete keep the properties exact.
    up.snapshot(&["rename", "default", "vol", "s1", "first"]).ok();
    up.snapshot(&["delete", "default", "vol", "snap0"]).ok();
    let props = table_rows(&up.linstor(&["rd", "list-properties", &rd_name]).ok().stdout);
    assert_eq!(props[0], ["Key", "Value"]);
    let aux: Vec<(String, String)> = props
        .iter()
        .filter(|r| r[0].starts_with("Aux/Incus/"))
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        aux,
        [
            ("Aux/Incus/SnapshotName/first".to_string(), s1.clone()),
            ("Aux/Incus/content-type".to_string(), "filesystem".to_string()),
            ("Aux/Incus/name".to_string(), "incus-volume-default_vol".to_string()),
            ("Aux/Incus/type".to_string(), "custom".to_string()),
        ]
    );
    let table = table_rows(&up.linstor(&["snapshot", "list"]).ok().stdout);
    assert!(table.iter().any(|r| r[1] == s1) && !table.iter().any(|r| r[1] == snap0), "{table:?}");

    // A volume with snapshots is deleted with them.
    up.storage(&["volume", "unmount", "default", "vol"]).ok();
    up.storage(&["volume", "delete", "default", "vol"]).ok();
    let table = table_rows(&up.linstor(&["snapshot", "list"]).ok().stdout);
    assert!(!table.iter().any(|r| r[1] == s1), "{table:?}");
    assert!(mounts_under(&up.dir.join("data/storage-pools")).is_empty());
}

#[test]
fn a_virtual_machine_snapshot_as_in_the_seed() {
    let Some(up) = Up::start("vm") else { return };
    up.storage(&["volume", "create", "default", "virtual-machine/v1"]).ok();
    up.snapshot(&["create", "default", "virtual-machine/v1", "snap0"]).ok();
    let rd = up.rd_named("incus-volume-v1");
    let rd_name = rd["name"].as_str().expect("name").to_string();
    let linstor_name = rd["props"]["Aux/Incus/SnapshotName/snap0"].as_str().expect("mapping").to_string();
    let table = table_rows(&up.linstor(&["snapshot", "list"]).ok().stdout);
    let row = table.iter().find(|r| r[1] == linstor_name).unwrap_or_else(|| panic!("{table:?}"));
    assert_eq!(
        row.iter().map(String::as_str).collect::<Vec<_>>()[..4],
        [rd_name.as_str(), linstor_name.as_str(), up.node.as_str(), "0: 10 GiB, 1: 500 MiB"]
    );
    assert_eq!(row[5], "Successful");
    let props = table_rows(&up.linstor(&["rd", "list-properties", &rd_name]).ok().stdout);
    let keys: Vec<&str> = props.iter().skip(1).map(|r| r[0].as_str()).collect();
    for key in ["Aux/Incus/SnapshotName/snap0", "Aux/Incus/content-type", "Aux/Incus/name", "Aux/Incus/type"]
    {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert!(
        props.iter().any(|r| r[0] == "DrbdOptions/Net/allow-two-primaries" && r[1] == "yes"),
        "{props:?}"
    );
    // Read-only access to a VM snapshot: its config filesystem mounted, its disk's device.
    let out = up.snapshot(&["mount", "default", "virtual-machine/v1", "snap0"]).ok().stdout;
    assert!(out.trim().ends_with("virtual-machines-snapshots/v1/snap0"), "{out}");
    up.snapshot(&["unmount", "default", "virtual-machine/v1", "snap0"]).ok();
    up.snapshot(&["delete", "default", "virtual-machine/v1", "snap0"]).ok();
    up.storage(&["volume", "delete", "default", "virtual-machine/v1"]).ok();
}

#[test]
fn the_daemon_takes_and_expires_snapshots_on_schedule() {
    let Some(up) = Up::start("sched") else { return };
    up.storage(&["volume", "create", "default", "auto", "size=16MiB"]).ok();
    up.storage(&["volume", "set", "default", "auto", "snapshots.schedule=61 * * * *"])
        .fails(&["snapshots.schedule"]);
    up.storage(&["volume", "set", "default", "auto", "snapshots.schedule=@startup"]).fails(&["instances"]);
    up.storage(&["volume", "set", "default", "auto", "snapshots.expiry=1x"]).fails(&["snapshots.expiry"]);
    up.storage(&["volume", "set", "default", "auto", "snapshots.pattern={{ creation_date }}"])
        .fails(&["snapshots.pattern"]);
    up.storage(&[
        "volume",
        "set",
        "default",
        "auto",
        "snapshots.schedule=* * * * *",
        "snapshots.expiry=1M",
        "snapshots.pattern=auto-%d",
    ])
    .ok();
    // A manual snapshot expires after snapshots.expiry too (no snapshots.expiry.manual), unless
    // asked not to.
    up.snapshot(&["create", "default", "auto", "manual", "--no-expiry"]).ok();
    let show = up.snapshot(&["show", "default", "auto", "manual"]).ok().stdout;
    assert!(show.contains("expires_at: \"0001-01-01T00:00:00Z\""), "{show}");
    let names = |up: &Up| -> Vec<String> {
        let json = up.snapshot(&["list", "default", "auto", "--format", "json"]).ok().json();
        json.as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s["name"].as_str().map(|n| n.trim_start_matches("auto/").to_string()))
            .collect()
    };
    // Taken at the next minute...
    let deadline = Instant::now() + Duration::from_secs(80);
    while !names(&up).contains(&"auto-0".to_string()) {
        assert!(Instant::now() < deadline, "no scheduled snapshot: {:?}\n{}", names(&up), up.log());
        std::thread::sleep(Duration::from_secs(1));
    }
    let show = up.snapshot(&["show", "default", "auto", "auto-0"]).ok().stdout;
    assert!(!show.contains("expires_at: \"0001-01-01T00:00:00Z\""), "an expiry: {show}");
    // ... and deleted once a minute has passed.
    let deadline = Instant::now() + Duration::from_secs(100);
    while names(&up).contains(&"auto-0".to_string()) {
        assert!(Instant::now() < deadline, "auto-0 never expired: {:?}\n{}", names(&up), up.log());
        std::thread::sleep(Duration::from_secs(1));
    }
    up.storage(&["volume", "unset", "default", "auto", "snapshots.schedule"]).ok();
    // The database and LINSTOR agree (tried again if an expiry falls in between).
    let mapped = |up: &Up| -> Vec<String> {
        let rd = up.rd_named("incus-volume-default_auto");
        let mut keys: Vec<String> = rd["props"]
            .as_object()
            .map(|p| {
                p.keys()
                    .filter_map(|k| k.strip_prefix("Aux/Incus/SnapshotName/"))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys
    };
    let mut agreed = false;
    for _ in 0..5 {
        let mut left = names(&up);
        left.sort();
        assert!(left.contains(&"manual".to_string()), "{left:?}");
        if mapped(&up) == left {
            agreed = true;
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(agreed, "snapshots {:?} vs mappings {:?}", names(&up), mapped(&up));
}
