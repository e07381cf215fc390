//! `strand storage` and `strand admin recover` end to end: each test runs its own `strand up`
//! (controller, satellite, storage daemon, the `default` pool of the first start) on a
//! temporary directory and drives it through the `strand` binary, as a user would.
//!
//! Root only (loop devices, mkfs, mount); elsewhere each test prints why it is skipped. The
//! guard always cleans up, whatever happened: it deletes the volumes and pools through the
//! storage API and the resource definitions through LINSTOR, stops strand, unmounts everything
//! under the test's directory, detaches the loop devices whose files lie there and removes it.

mod support;

use std::path::{Path, PathBuf};
use support::*;

/// Two image fingerprints, as in the seed's table.
const IMAGE_BLOCK: &str = "d21a26af7d5a95c3aa6e923257a1cb5cd765b102796b92ab111fb29ebfb86137";
const IMAGE_FS: &str = "e3b67bf05e20c6c977f161a425733b00efe88834914e7fc8dd910c4b51cd5804";
/// Whether this process may grow a mounted ext4 filesystem (`CAP_SYS_RESOURCE`).
fn can_grow_mounted_ext4() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << 24) != 0)
}

#[test]
fn fresh_machine_default_pool_seed_tables_and_formats() {
    let Some(up) = Up::start("tour") else { return };

    // The pool of the first start, in every format.
    let pools = up.storage(&["list"]).ok().stdout;
    assert_eq!(
        pools,
        "+---------+---------+-------------+---------+---------+\n\
         |  NAME   | DRIVER  | DESCRIPTION | USED BY |  STATE  |\n\
         +---------+---------+-------------+---------+---------+\n\
         | default | linstor |             | 0       | CREATED |\n\
         +---------+---------+-------------+---------+---------+\n"
    );
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "default,linstor,,0,CREATED\n");
    let json = up.storage(&["list", "--format", "json"]).ok().json();
    assert_eq!(json[0]["name"], "default");
    assert_eq!(json[0]["config"]["linstor.resource_group.place_count"], "1");
    assert_eq!(json[0]["config"]["linstor.resource_group.storage_pool"], "DfltStorPool");
    let yaml = up.storage(&["list", "--format", "yaml"]).ok().stdout;
    assert!(yaml.starts_with("- config:\n"), "{yaml}");
    assert!(yaml.contains("  name: default\n") && yaml.contains("  driver: linstor\n"), "{yaml}");
    let show = up.storage(&["show", "default"]).ok().stdout;
    assert!(show.contains("  linstor.resource_group.place_count: \"1\"\n"), "{show}");
    assert!(show.contains("  linstor.resource_group.storage_pool: DfltStorPool\n"), "{show}");

    // `strand storage volume create default vol` on a fresh machine, and LINSTOR's view of it
    // (the seed's second table).
    assert_eq!(
        up.storage(&["volume", "create", "default", "vol"]).ok().stdout,
        "Storage volume vol created\n"
    );
    let rds = up
        .linstor(&[
            "rd",
            "list",
            "--show-props",
            "Aux/Incus/name",
            "Aux/Incus/content-type",
            "Aux/Incus/type",
        ])
        .ok()
        .stdout;
    let rows = table_rows(&rds);
    assert_eq!(
        rows[0],
        [
            "ResourceName",
            "Port",
            "ResourceGroup",
            "Layers",
            "State",
            "Aux/Incus/name",
            "Aux/Incus/content-type",
            "Aux/Incus/type"
        ]
    );
    assert_eq!(rows.len(), 2, "{rds}");
    assert!(
        rows[1][0].starts_with("incus-volume-") && rows[1][0].len() == "incus-volume-".len() + 32,
        "{rds}"
    );
    assert_eq!(rows[1][2], "default");
    assert_eq!(rows[1][5..], ["incus-volume-default_vol", "filesystem", "custom"]);

    // The seed's first table: every type, both content types.
    for (volume, extra) in [
        ("container/c1", vec!["size=64MiB"]),
        ("blk", vec!["--type", "block", "size=64MiB"]),
        (&format!("image/{IMAGE_BLOCK}"), vec!["--type", "block", "size=64MiB"]),
        (&format!("image/{IMAGE_FS}"), vec!["size=64MiB"]),
        ("virtual-machine/v1", vec!["size=64MiB"]),
    ] {
        let mut args = vec!["volume", "create", "default", volume];
        args.extend(extra);
        up.storage(&args).ok();
    }
    let table = up.storage(&["volume", "list", "default"]).ok().stdout;
    let rule =
        format!("+-----------------+{}+-------------+--------------+---------+----------+", "-".repeat(66));
    let row = |kind: &str, name: &str, content: &str| {
        format!("| {kind:<15} | {name:<64} |             | {content:<12} | 0       |          |")
    };
    let expected = [
        rule.clone(),
        format!("|      TYPE       | {:^64} | DESCRIPTION | CONTENT-TYPE | USED BY | LOCATION |", "NAME"),
        rule.clone(),
        row("container", "c1", "filesystem"),
        rule.clone(),
        row("custom", "blk", "block"),
        rule.clone(),
        row("custom", "vol", "filesystem"),
        rule.clone(),
        row("image", IMAGE_BLOCK, "block"),
        rule.clone(),
        row("image", IMAGE_FS, "filesystem"),
        rule.clone(),
        row("virtual-machine", "v1", "block"),
        rule.clone(),
    ]
    .join("\n")
        + "\n";
    assert_eq!(table, expected);
    // LINSTOR knows them by the seed's Aux/Incus/type values.
    let rds = up.linstor(&["rd", "list", "--show-props", "Aux/Incus/name", "Aux/Incus/type"]).ok().stdout;
    let aux: Vec<(String, String)> =
        table_rows(&rds).into_iter().skip(1).map(|r| (r[5].clone(), r[6].clone())).collect();
    for expected in [
        ("incus-volume-c1", "containers"),
        ("incus-volume-v1", "virtual-machines"),
        ("incus-volume-default_blk", "custom"),
    ] {
        assert!(aux.iter().any(|(n, t)| (n.as_str(), t.as_str()) == expected), "{expected:?} in {rds}");
    }
    assert!(aux.contains(&(format!("incus-volume-{IMAGE_BLOCK}"), "images".to_string())), "{rds}");
    // A VM is its disk (volume 0) and a 500 MiB config filesystem (volume 1).
    let vds = up.linstor(&["-m", "vd", "list"]).ok().json();
    let mut vm_sizes: Vec<i64> = Vec::new();
    for rd in vds
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .flat_map(|x| x.as_array().cloned().unwrap_or_else(|| vec![x.clone()]))
    {
        if rd["props"]["Aux/Incus/name"] == "incus-volume-v1" {
            for vd in rd["volume_definitions"].as_array().map(Vec::as_slice).unwrap_or_default() {
                vm_sizes.push(vd["size_kib"].as_i64().unwrap_or(0));
            }
        }
    }
    assert_eq!(vm_sizes, [64 * 1024, 500 * 1024], "{vds}");

    // Every list format.
    let csv = up.storage(&["volume", "list", "default", "--format", "csv"]).ok().stdout;
    assert_eq!(
        csv,
        format!(
            "container,c1,,filesystem,0,\ncustom,blk,,block,0,\ncustom,vol,,filesystem,0,\n\
             image,{IMAGE_BLOCK},,block,0,\nimage,{IMAGE_FS},,filesystem,0,\nvirtual-machine,v1,,block,0,\n"
        )
    );
    let json = up.storage(&["volume", "list", "default", "--format", "json"]).ok().json();
    let names: Vec<String> = json
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|v| {
            format!(
                "{}/{}/{}",
                v["type"].as_str().unwrap_or(""),
                v["name"].as_str().unwrap_or(""),
                v["content_type"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "container/c1/filesystem".to_string(),
            "custom/blk/block".to_string(),
            "custom/vol/filesystem".to_string(),
            format!("image/{IMAGE_BLOCK}/block"),
            format!("image/{IMAGE_FS}/filesystem"),
            "virtual-machine/v1/block".to_string(),
        ]
    );
    let yaml = up.storage(&["volume", "list", "default", "--format", "yaml"]).ok().stdout;
    assert_eq!(
        yaml.matches("\n- config:\n").count() + usize::from(yaml.starts_with("- config:\n")),
        6,
        "{yaml}"
    );
    assert!(yaml.contains("  name: vol\n") && yaml.contains("  type: virtual-machine\n"), "{yaml}");

    // Types keep their content types; names follow their type's rules.
    up.storage(&["volume", "create", "default", "virtual-machine/v2", "--type", "filesystem"])
        .fails(&["virtual-machine", "filesystem"]);
    up.storage(&["volume", "create", "default", "container/c2", "--type", "block"])
        .fails(&["container", "block"]);
    up.storage(&["volume", "create", "default", "image/abc"]).fails(&["abc", "fingerprint"]);
    up.storage(&["volume", "create", "default", "tape/t1"]).fails(&["tape"]);
    up.storage(&["volume", "create", "default", "vol"]).fails(&["already exists"]);

    // Deleting every type.
    for volume in ["container/c1", "virtual-machine/v1", &format!("image/{IMAGE_BLOCK}")] {
        assert_eq!(
            up.storage(&["volume", "delete", "default", volume]).ok().stdout,
            format!("Storage volume {volume} deleted\n")
        );
    }
    let left = up.storage(&["volume", "list", "default", "--format", "csv"]).ok().stdout;
    assert_eq!(
        left,
        format!("custom,blk,,block,0,\ncustom,vol,,filesystem,0,\nimage,{IMAGE_FS},,filesystem,0,\n")
    );
}

#[test]
fn config_keys_errors_and_placement() {
    let Some(up) = Up::start("config") else { return };

    // Pools: create, get, set, unset, info, delete.
    up.storage(&[
        "create",
        "p2",
        "linstor",
        "linstor.resource_group.place_count=1",
        "--description",
        "second",
    ])
    .ok();
    assert_eq!(up.storage(&["get", "p2", "linstor.resource_group.place_count"]).ok().stdout, "1\n");
    up.storage(&["set", "p2", "volume.size=96MiB"]).ok();
    up.storage(&["set", "p2", "drbd.on_no_quorum", "io-error"]).ok();
    assert_eq!(up.storage(&["get", "p2", "volume.size"]).ok().stdout, "96MiB\n");
    assert_eq!(up.storage(&["get", "p2", "drbd.on_no_quorum"]).ok().stdout, "io-error\n");
    up.storage(&["unset", "p2", "volume.size"]).ok();
    assert_eq!(up.storage(&["get", "p2", "volume.size"]).ok().stdout, "\n");
    let info = up.storage(&["info", "p2"]).ok().stdout;
    assert!(info.starts_with("info:\n  description: second\n  driver: linstor\n  name: p2\n"), "{info}");
    assert!(info.contains("  total space: ") && info.contains("used by:\n  volumes: []\n"), "{info}");
    assert_eq!(up.storage(&["delete", "p2"]).ok().stdout, "Storage pool p2 deleted\n");

    // Volumes: create with config, get, set, unset, show, info.
    up.storage(&["volume", "create", "default", "v1", "size=48MiB", "--description", "first"]).ok();
    assert_eq!(up.storage(&["volume", "get", "default", "v1", "size"]).ok().stdout, "48MiB\n");
    assert_eq!(up.storage(&["volume", "get", "default", "v1", "block.filesystem"]).ok().stdout, "ext4\n");
    up.storage(&["volume", "set", "default", "v1", "user.note=hello"]).ok();
    assert_eq!(up.storage(&["volume", "get", "default", "v1", "user.note"]).ok().stdout, "hello\n");
    up.storage(&["volume", "unset", "default", "v1", "user.note"]).ok();
    let show = up.storage(&["volume", "show", "default", "v1"]).ok().stdout;
    assert!(!show.contains("user.note"), "{show}");
    assert!(show.contains("  size: 48MiB\n") && show.contains("description: first\n"), "{show}");
    assert!(show.contains("content_type: filesystem\n") && show.contains("type: custom\n"), "{show}");
    let info = up.storage(&["volume", "info", "default", "v1"]).ok().stdout;
    assert!(info.starts_with("Name: v1\nType: custom\nContent type: filesystem\n"), "{info}");
    assert!(info.contains("Total: 48.00MiB\n"), "{info}");

    // Bad keys and values are refused with a message that names them; nothing changes.
    up.storage(&["set", "default", "bogus.key=1"]).fails(&["\"bogus.key\""]);
    up.storage(&["create", "p3", "linstor", "zfs.pool_name=x"]).fails(&["\"zfs.pool_name\""]);
    up.storage(&["create", "p3", "linstor", "linstor.resource_group.place_count=zero"])
        .fails(&["linstor.resource_group.place_count", "zero"]);
    up.storage(&["volume", "set", "default", "v1", "bogus.key=1"]).fails(&["\"bogus.key\""]);
    up.storage(&["volume", "set", "default", "v1", "size=lots"]).fails(&["\"size\"", "lots"]);
    up.storage(&["volume", "set", "default", "v1", "block.filesystem=xfs"]).fails(&["block.filesystem"]);
    up.storage(&["volume", "create", "default", "v2", "zfs.blocksize=8k"]).fails(&["zfs.blocksize"]);
    up.storage(&["volume", "unset", "default", "v1", "nokey"]).fails(&["\"nokey\""]);
    up.storage(&["unset", "default", "nokey"]).fails(&["\"nokey\""]);
    up.storage(&["volume", "create", "default", "v2", "notkeyvalue"]).fails(&["notkeyvalue"]);
    assert_eq!(up.storage(&["volume", "get", "default", "v1", "size"]).ok().stdout, "48MiB\n");
    assert!(up.storage(&["list", "--format", "csv"]).ok().stdout.lines().count() == 1);

    // Missing objects are named.
    up.storage(&["show", "nopool"]).fails(&["Storage pool \"nopool\" not found"]);
    up.storage(&["volume", "show", "default", "novol"])
        .fails(&["Storage volume \"novol\" not found in storage pool \"default\""]);
    up.storage(&["volume", "get", "nopool", "v1", "size"]).fails(&["\"nopool\""]);
    up.storage(&["volume", "delete", "default", "container/c9"]).fails(&["\"container/c9\"", "\"default\""]);
    // No daemon there: says where it looked and what to do.
    up.command(&["storage", "--data-dir", &up.dir.join("nowhere").display().to_string(), "list"], false)
        .fails(&["cannot reach the storage daemon", "nowhere"]);

    // A volume that cannot be placed: how many replicas, how many nodes, which key.
    up.storage(&[
        "create",
        "two",
        "linstor",
        "linstor.resource_group.place_count=2",
        "linstor.resource_group.storage_pool=DfltStorPool",
    ])
    .ok();
    up.storage(&["volume", "create", "two", "v", "size=32MiB"]).fails(&[
        "asks for 2 replicas",
        "only 1 node can hold one",
        "linstor.resource_group.place_count=1",
    ]);
    up.storage(&["volume", "create", "default", "huge", "size=900TiB"]).fails(&[
        "asks for 1 replica",
        "no node can hold one",
        "linstor.resource_group.storage_pool",
    ]);
    // Nothing was left behind by the failed creates.
    assert_eq!(up.storage(&["volume", "list", "two", "--format", "csv"]).ok().stdout, "");
    let rds = up.linstor(&["rd", "list", "--show-props", "Aux/Incus/name"]).ok().stdout;
    assert_eq!(table_rows(&rds).len(), 2, "only v1 is left: {rds}");
    // Fixed with the key it names.
    up.storage(&["set", "two", "linstor.resource_group.place_count=1"]).ok();
    up.storage(&["volume", "create", "two", "v", "size=32MiB"]).ok();
}

#[test]
fn mount_write_unmount_rename_grow_and_delete() {
    let Some(up) = Up::start("mount") else { return };
    let target = up.dir.join("mnt");
    let target_text = target.display().to_string();

    // XFS grows while mounted on any host.
    up.storage(&["volume", "create", "default", "data", "block.filesystem=xfs", "size=320MiB"]).ok();
    assert_eq!(
        up.storage(&["volume", "mount", "default", "data", &target_text]).ok().stdout.trim(),
        target_text
    );
    std::fs::write(target.join("hello.txt"), b"hello from strand\n").expect("write");
    let statvfs_bytes = |path: &Path| {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a NUL-terminated path and a zeroed statvfs to fill.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
        st.f_blocks as u64 * st.f_frsize as u64
    };
    let before = statvfs_bytes(&target);
    up.storage(&["volume", "set", "default", "data", "size=640MiB"]).ok();
    let after = statvfs_bytes(&target);
    assert!(after > before + (256 << 20), "the mounted filesystem grew: {before} -> {after}");
    assert_eq!(up.storage(&["volume", "get", "default", "data", "size"]).ok().stdout, "640MiB\n");
    let info = up.storage(&["volume", "info", "default", "data"]).ok().stdout;
    assert!(info.contains("Total: 640.00MiB\n"), "{info}");

    // Unmount, and mount again (at its own place this time): the data is there.
    up.storage(&["volume", "unmount", "default", "data"]).ok();
    assert!(mounts_under(&target).is_empty(), "still mounted at {target_text}");
    assert!(!target.join("hello.txt").exists());
    let path = PathBuf::from(up.storage(&["volume", "mount", "default", "data"]).ok().stdout.trim());
    assert!(path.starts_with(up.data().join("storage-pools/default/custom")), "{}", path.display());
    assert_eq!(std::fs::read(path.join("hello.txt")).expect("read back"), b"hello from strand\n");
    // Its block device, at its stable path.
    let device = PathBuf::from(up.storage(&["volume", "path", "default", "data"]).ok().stdout.trim());
    assert!(device.starts_with(up.dir.join("dev")), "{}", device.display());
    assert!(std::fs::metadata(&device)
        .map(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()))
        .unwrap_or(false));
    // Mounted volumes are neither renamed nor deleted.
    up.storage(&["volume", "rename", "default", "data", "data2"]).fails(&["in use", "unmount"]);
    up.storage(&["volume", "delete", "default", "data"]).fails(&["in use", "unmount"]);
    up.storage(&["volume", "unmount", "default", "data"]).ok();

    // Rename, then the data under the new name.
    assert_eq!(
        up.storage(&["volume", "rename", "default", "data", "data2"]).ok().stdout,
        "Renamed storage volume from \"data\" to \"data2\"\n"
    );
    up.storage(&["volume", "show", "default", "data"]).fails(&["\"data\" not found"]);
    let rds = up.linstor(&["rd", "list", "--show-props", "Aux/Incus/name"]).ok().stdout;
    assert!(
        rds.contains("incus-volume-default_data2") && !rds.contains("incus-volume-default_data "),
        "{rds}"
    );
    let path = PathBuf::from(up.storage(&["volume", "mount", "default", "data2"]).ok().stdout.trim());
    assert_eq!(std::fs::read(path.join("hello.txt")).expect("read after rename"), b"hello from strand\n");
    up.storage(&["volume", "unmount", "default", "data2"]).ok();

    // ext4 grows while mounted only with CAP_SYS_RESOURCE; without it the driver says why.
    up.storage(&["volume", "create", "default", "e4", "size=64MiB"]).ok();
    let path = PathBuf::from(up.storage(&["volume", "mount", "default", "e4"]).ok().stdout.trim());
    std::fs::write(path.join("f"), b"x").expect("write ext4");
    if can_grow_mounted_ext4() {
        up.storage(&["volume", "set", "default", "e4", "size=128MiB"]).ok();
    } else {
        up.storage(&["volume", "set", "default", "e4", "size=128MiB"])
            .fails(&["CAP_SYS_RESOURCE", "unmount it first"]);
        up.storage(&["volume", "unmount", "default", "e4"]).ok();
        up.storage(&["volume", "set", "default", "e4", "size=128MiB"]).ok();
        let path = PathBuf::from(up.storage(&["volume", "mount", "default", "e4"]).ok().stdout.trim());
        assert!(statvfs_bytes(&path) > 100 << 20, "the ext4 filesystem grew while unmounted");
    }
    assert_eq!(std::fs::read(path.join("f")).expect("read ext4"), b"x");
    up.storage(&["volume", "unmount", "default", "e4"]).ok();

    // A block volume: mount answers its device; no path to bind it at.
    up.storage(&["volume", "create", "default", "raw", "--type", "block", "size=16MiB"]).ok();
    let device = up.storage(&["volume", "mount", "default", "raw"]).ok().stdout;
    assert!(Path::new(device.trim()).starts_with(up.dir.join("dev")), "{device}");
    up.storage(&["volume", "unmount", "default", "raw"]).ok();
    up.storage(&["volume", "mount", "default", "raw", &target_text]).fails(&["block", "device"]);

    // Delete: gone from the daemon and from LINSTOR.
    for volume in ["data2", "e4", "raw"] {
        up.storage(&["volume", "delete", "default", volume]).ok();
    }
    assert_eq!(up.storage(&["volume", "list", "default", "--format", "csv"]).ok().stdout, "");
    let rds = up.linstor(&["rd", "list", "--show-props", "Aux/Incus/name"]).ok().stdout;
    assert_eq!(table_rows(&rds).len(), 1, "no resource definition is left: {rds}");
    // The pool goes once it is empty.
    up.storage(&["delete", "default"]).ok();
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "");
}

#[test]
fn recover_rebuilds_a_lost_database() {
    let Some(mut up) = Up::start("recover") else { return };
    up.storage(&[
        "create",
        "p2",
        "linstor",
        "linstor.resource_group.place_count=1",
        "linstor.resource_group.storage_pool=DfltStorPool",
        "volume.size=40MiB",
    ])
    .ok();
    up.storage(&["volume", "create", "default", "vol", "size=48MiB"]).ok();
    up.storage(&["volume", "create", "default", "blk", "--type", "block", "size=24MiB"]).ok();
    up.storage(&["volume", "create", "default", "xf", "block.filesystem=xfs", "size=320MiB"]).ok();
    up.storage(&["volume", "create", "p2", "container/c1", "size=44MiB"]).ok();
    // The pool's volume.size.
    up.storage(&["volume", "create", "p2", "cv"]).ok();
    up.storage(&["volume", "create", "p2", "virtual-machine/v1", "size=32MiB"]).ok();
    up.storage(&["volume", "create", "p2", &format!("image/{IMAGE_FS}"), "size=36MiB"]).ok();
    // Data written before the loss is there after it.
    let path = PathBuf::from(up.storage(&["volume", "mount", "default", "vol"]).ok().stdout.trim());
    std::fs::write(path.join("keep.txt"), b"kept").expect("write");
    up.storage(&["volume", "unmount", "default", "vol"]).ok();
    // A resource definition of the pool's group with malformed Aux props: skipped, with why.
    up.linstor(&["rd", "create", "--resource-group", "default", "bogus1"]).ok();
    up.linstor(&["rd", "set-property", "bogus1", "Aux/Incus/name", "incus-volume-default_x"]).ok();
    up.linstor(&["rd", "set-property", "bogus1", "Aux/Incus/type", "tapes"]).ok();
    up.linstor(&["rd", "set-property", "bogus1", "Aux/Incus/content-type", "block"]).ok();
    up.linstor(&["vd", "create", "bogus1", "8M"]).ok();
    let before_default = up.storage(&["volume", "list", "default", "--format", "csv"]).ok().stdout;
    let before_p2 = up.storage(&["volume", "list", "p2", "--format", "csv"]).ok().stdout;

    // The database is lost while strand is stopped.
    up.stop();
    for file in ["storage.db", "storage.db-wal", "storage.db-shm"] {
        let _ = std::fs::remove_file(up.data().join(file));
    }
    up.run_strand();
    // Not a first start: the default pool is not made again.
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "");

    // A dry run writes nothing.
    let dry = up.command(&["admin", "recover", "--dry-run", "--format", "json"], true).ok().json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["pools"].as_array().map(Vec::len), Some(2), "{dry}");
    assert_eq!(dry["volumes"].as_array().map(Vec::len), Some(7), "{dry}");
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "");

    // The table report (with --data-dir, not STRAND_DIR).
    let data = up.data().display().to_string();
    let report = up.command(&["admin", "recover", "--data-dir", &data], false).ok().stdout;
    assert!(
        report.contains("| default | recovered |") && report.contains("| p2      | recovered |"),
        "{report}"
    );
    assert!(
        report.contains("Skipped in storage pool \"default\": resource definition bogus1: unknown Aux/Incus/type \"tapes\""),
        "{report}"
    );
    assert!(
        report.ends_with(
            "Recovered 2 storage pools and 7 volumes (0 pools and 0 volumes already known; 1 skipped)\n"
        ),
        "{report}"
    );

    // Pools and volumes are back: types, content types, sizes.
    let pools = up.storage(&["list", "--format", "csv"]).ok().stdout;
    assert_eq!(pools, "default,linstor,,3,CREATED\np2,linstor,,4,CREATED\n");
    assert_eq!(up.storage(&["volume", "list", "default", "--format", "csv"]).ok().stdout, before_default);
    assert_eq!(up.storage(&["volume", "list", "p2", "--format", "csv"]).ok().stdout, before_p2);
    assert_eq!(up.storage(&["get", "p2", "volume.size"]).ok().stdout, "40MiB\n");
    assert_eq!(up.storage(&["get", "p2", "linstor.resource_group.place_count"]).ok().stdout, "1\n");
    for (pool, volume, size) in [
        ("default", "vol", "48MiB"),
        ("default", "blk", "24MiB"),
        ("default", "xf", "320MiB"),
        ("p2", "container/c1", "44MiB"),
        ("p2", "cv", "40MiB"),
        ("p2", "virtual-machine/v1", "32MiB"),
        ("p2", &format!("image/{IMAGE_FS}"), "36MiB"),
    ] {
        assert_eq!(
            up.storage(&["volume", "get", pool, volume, "size"]).ok().stdout,
            format!("{size}\n"),
            "{volume}"
        );
    }
    assert_eq!(up.storage(&["volume", "get", "default", "xf", "block.filesystem"]).ok().stdout, "xfs\n");
    assert_eq!(
        up.storage(&["volume", "get", "p2", "virtual-machine/v1", "size.state"]).ok().stdout,
        "500MiB\n"
    );
    let show = up.storage(&["volume", "show", "default", "blk"]).ok().stdout;
    assert!(show.contains("content_type: block\n"), "{show}");

    // Again: nothing is duplicated.
    let again = up.command(&["admin", "recover", "--format", "json"], true).ok().json();
    let statuses: Vec<&str> = again["volumes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v["status"].as_str())
        .collect();
    assert_eq!(statuses, ["present"; 7], "{again}");
    assert_eq!(up.storage(&["volume", "list", "default", "--format", "csv"]).ok().stdout, before_default);

    // The recovered volumes work: the data is there, they grow, rename and go.
    let path = PathBuf::from(up.storage(&["volume", "mount", "default", "vol"]).ok().stdout.trim());
    assert_eq!(std::fs::read(path.join("keep.txt")).expect("read"), b"kept");
    up.storage(&["volume", "unmount", "default", "vol"]).ok();
    up.storage(&["volume", "rename", "default", "vol", "vol2"]).ok();
    up.storage(&["volume", "set", "default", "vol2", "size=64MiB"]).ok();
    up.storage(&["volume", "delete", "p2", "virtual-machine/v1"]).ok();
    up.linstor(&["rd", "delete", "bogus1"]).ok();

    // After a restart nothing changes (and still no default pool of a first start).
    up.restart();
    assert_eq!(
        up.storage(&["list", "--format", "csv"]).ok().stdout,
        "default,linstor,,3,CREATED\np2,linstor,,3,CREATED\n"
    );
}

#[test]
fn the_default_pool_is_made_only_on_first_start() {
    let Some(mut up) = Up::start("first") else { return };
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "default,linstor,,0,CREATED\n");
    assert!(!up.data().join("default-pool.pending").exists());
    up.storage(&["delete", "default"]).ok();
    up.restart();
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "");
    // A first start that was interrupted before the pool was made makes it at the next start.
    std::fs::write(up.data().join("default-pool.pending"), b"").expect("marker");
    up.restart();
    assert_eq!(up.storage(&["list", "--format", "csv"]).ok().stdout, "default,linstor,,0,CREATED\n");
    assert!(!up.data().join("default-pool.pending").exists());
}
