//! Snapshots, rollback, restore and clone on real loop devices: on XFS with reflink (an image
//! made and mounted by the test) and on a filesystem without it (the test directory, ext4).
//! Every test needs root and skips with a message otherwise; the test directory's guard
//! unmounts and detaches everything it made.

mod support;

use controller::link::{
    DesiredState, Observed, PoolSpec, RollbackSpec, SnapshotSpec, VolumeSource, VolumeSpec,
};
use satellite::ChangeKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::*;

const MIB: u64 = 1 << 20;

/// A fresh XFS (reflink=1) of `mib` MiB mounted at `<env>/<name>`; `None` when mkfs.xfs is
/// missing. The environment's guard unmounts it.
fn xfs(env: &TestEnv, name: &str, mib: u64) -> Option<PathBuf> {
    if !have("mkfs.xfs") {
        return None;
    }
    let img = env.path(&format!("{name}.img"));
    let mnt = env.path(name);
    std::fs::File::create(&img).unwrap().set_len(mib * MIB).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    run("mkfs.xfs", &["-q", "-m", "reflink=1", img.to_str().unwrap()])?;
    run("mount", &["-o", "loop", img.to_str().unwrap(), mnt.to_str().unwrap()])?;
    Some(mnt)
}

fn logical_block_size(dev: &Path) -> u32 {
    let name = dev.file_name().unwrap().to_str().unwrap();
    std::fs::read_to_string(format!("/sys/block/{name}/queue/logical_block_size"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn snap(rsc: &str, nr: i32, name: &str, pool: &str, take: bool) -> SnapshotSpec {
    SnapshotSpec { resource: rsc.into(), snapshot: name.into(), volume_number: nr, pool: pool.into(), take }
}

fn rollback(id: &str, rsc: &str, nr: i32, pool: &str, snapshot: &str) -> RollbackSpec {
    RollbackSpec {
        id: id.into(),
        resource: rsc.into(),
        volume_number: nr,
        pool: pool.into(),
        snapshot: snapshot.into(),
    }
}

fn from(mut spec: VolumeSpec, source: VolumeSource) -> VolumeSpec {
    spec.source = Some(source);
    spec
}

fn state(
    generation: u64,
    pools: &[PoolSpec],
    volumes: Vec<VolumeSpec>,
    snapshots: Vec<SnapshotSpec>,
    rollbacks: Vec<RollbackSpec>,
) -> DesiredState {
    DesiredState { snapshots, rollbacks, ..desired(generation, pools.to_vec(), volumes) }
}

fn snapshot_report<'a>(
    o: &'a Observed,
    rsc: &str,
    nr: i32,
    snapshot: &str,
) -> &'a controller::link::SnapshotReport {
    o.snapshots
        .iter()
        .find(|s| s.resource == rsc && s.volume_number == nr && s.snapshot == snapshot)
        .unwrap_or_else(|| panic!("no report for snapshot {rsc}/{nr}/{snapshot} in {o:#?}"))
}

fn op<'a>(o: &'a Observed, id: &str) -> &'a controller::link::OpResult {
    o.ops.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no result for {id} in {o:#?}"))
}

/// Data spread over the volume: a few regions, different for each seed.
fn fill(dev: &Path, seed: u8) -> Vec<Vec<u8>> {
    [0u64, 5 * MIB, 17 * MIB + 4096]
        .iter()
        .enumerate()
        .map(|(i, offset)| {
            let data = pattern(seed.wrapping_add(i as u8), 256 * 1024);
            write_at(dev, *offset, &data);
            data
        })
        .collect()
}

fn assert_holds(dev: &Path, expected: &[Vec<u8>], what: &str) {
    for (offset, data) in [0u64, 5 * MIB, 17 * MIB + 4096].iter().zip(expected) {
        assert!(read_at(dev, *offset, data.len()) == *data, "{what}: data at {offset} differs");
    }
}

#[test]
fn snapshots_rollback_to_any_restore_and_clone_on_xfs() {
    let Some(env) = TestEnv::new("snapxfs") else { return };
    let Some(mnt) = xfs(&env, "xfs", 600) else { return };
    let dir = mnt.join("pool");
    let pools = [pool("x", "FILE_THIN", &dir)];
    let sat = env.satellite();
    let vol0 = vol("r", 0, "x", 32 * 1024);
    let o = sat.apply(&state(1, &pools, vec![vol0.clone()], vec![], vec![]));
    assert!(o.storage_pools[0].supports_snapshots);
    let link = env.dev_dir.join("r/0");
    healthy(&o, "r", 0, 32 * 1024);

    // s1, s2 and newer data.
    let a = fill(&link, 1);
    let applied =
        sat.converge(&state(2, &pools, vec![vol0.clone()], vec![snap("r", 0, "s1", "x", true)], vec![]));
    let r = snapshot_report(&applied.observed, "r", 0, "s1");
    assert!(r.exists && r.error.is_none(), "{r:#?}");
    assert_eq!(r.size_kib, 32 * 1024);
    assert!(applied.changes.iter().any(|c| c.kind == ChangeKind::SnapshotTaken));
    let s1_file = dir.join("r_00000_s1.img");
    assert!(s1_file.is_file() && !dir.join("r_00000_s1.img.tmp").exists());
    let b = fill(&link, 2);
    let both = |take2: bool| vec![snap("r", 0, "s1", "x", false), snap("r", 0, "s2", "x", take2)];
    let o = sat.apply(&state(3, &pools, vec![vol0.clone()], both(true), vec![]));
    assert!(snapshot_report(&o, "r", 0, "s2").exists);
    let c = fill(&link, 3);
    // Reads through the device are cached now: the rollback must not show them.
    assert_holds(&link, &c, "before the rollback");
    let before_dev = healthy(&o, "r", 0, 32 * 1024);

    // Roll back to the OLDER snapshot; the newer one stays.
    let o = sat.apply(&state(
        4,
        &pools,
        vec![vol0.clone()],
        both(false),
        vec![rollback("rb1", "r", 0, "x", "s1")],
    ));
    assert_eq!(op(&o, "rb1").error, None);
    assert_holds(&link, &a, "after the rollback to s1");
    assert!(dir.join("r_00000_s2.img").is_file());
    let dev = healthy(&o, "r", 0, 32 * 1024);
    assert_eq!(env.loops_for(&dir.join("r_00000.img")).len(), 1);
    // The file now shares blocks with its snapshots; the device must look the same anyway
    // (a filesystem made with 1 KiB blocks has to mount again).
    assert_eq!(logical_block_size(&dev), 512, "same geometry after the rollback");
    eprintln!("fact: rollback re-attached {} as {}", before_dev.display(), dev.display());
    // The same id never runs twice (new data survives further applies).
    let d = fill(&link, 4);
    let o = sat.apply(&state(
        5,
        &pools,
        vec![vol0.clone()],
        both(false),
        vec![rollback("rb1", "r", 0, "x", "s1")],
    ));
    assert_eq!(op(&o, "rb1").error, None);
    assert_holds(&link, &d, "a rollback id runs once");
    // Then to the newer one.
    let o = sat.apply(&state(
        6,
        &pools,
        vec![vol0.clone()],
        both(false),
        vec![rollback("rb2", "r", 0, "x", "s2")],
    ));
    assert_eq!(op(&o, "rb2").error, None);
    assert!(o.ops.iter().all(|r| r.id != "rb1"), "results of ids no longer desired are forgotten");
    assert_holds(&link, &b, "after the rollback to s2");

    // A rollback while the device is held open is refused and changes nothing.
    let holder = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_EXCL).open(&link).unwrap();
    let o = sat.apply(&state(
        7,
        &pools,
        vec![vol0.clone()],
        both(false),
        vec![rollback("rb3", "r", 0, "x", "s1")],
    ));
    let err = op(&o, "rb3").error.clone().expect("refused while in use");
    assert!(err.contains("in use"), "{err}");
    drop(holder);
    assert_holds(&link, &b, "after the refused rollback");

    // Restore s1 into a new volume, clone the live volume: reflink, at once.
    let restored = from(
        vol("n", 0, "x", 32 * 1024),
        VolumeSource::Snapshot { resource: "r".into(), snapshot: "s1".into(), pool: "x".into() },
    );
    let cloned =
        from(vol("c", 0, "x", 32 * 1024), VolumeSource::Volume { resource: "r".into(), pool: "x".into() });
    let vols = vec![vol0.clone(), restored.clone(), cloned.clone()];
    let applied = sat.converge(&state(8, &pools, vols.clone(), both(false), vec![]));
    let o = &applied.observed;
    assert_eq!(logical_block_size(&healthy(o, "n", 0, 32 * 1024)), 512);
    assert_eq!(logical_block_size(&healthy(o, "c", 0, 32 * 1024)), 512);
    assert_eq!(applied.changes.iter().filter(|c| matches!(c.kind, ChangeKind::MadeFrom { .. })).count(), 2);
    assert_holds(&env.dev_dir.join("n/0"), &a, "restored from s1");
    assert_holds(&env.dev_dir.join("c/0"), &b, "cloned from r");
    // The clone shares the source's blocks.
    let shared = std::fs::metadata(dir.join("c_00000.img")).unwrap().blocks();
    eprintln!("fact: clone allocation as reported by st_blocks: {} KiB", shared / 2);
    // A source never overwrites a volume that exists.
    let e = fill(&env.dev_dir.join("n/0"), 9);
    sat.apply(&state(9, &pools, vols.clone(), both(false), vec![]));
    assert_holds(&env.dev_dir.join("n/0"), &e, "the source is used only to create");

    // A snapshot that is not taken now is never made from newer data.
    let mut snaps = both(false);
    snaps.push(snap("r", 0, "late", "x", false));
    let o = sat.apply(&state(10, &pools, vols.clone(), snaps, vec![]));
    let late = snapshot_report(&o, "r", 0, "late");
    assert!(!late.exists && late.error.as_deref().unwrap().contains("does not exist"), "{late:#?}");
    assert!(!dir.join("r_00000_late.img").exists());

    // Undesired snapshot files go; desired ones are found again by a new satellite.
    let o = sat.apply(&state(11, &pools, vols.clone(), vec![snap("r", 0, "s2", "x", false)], vec![]));
    assert!(!s1_file.exists());
    assert!(snapshot_report(&o, "r", 0, "s2").exists);
    drop(sat);
    let again = env.satellite();
    let o = again.observe(&state(12, &pools, vols.clone(), vec![snap("r", 0, "s2", "x", false)], vec![]));
    assert!(snapshot_report(&o, "r", 0, "s2").exists);
    // A snapshot survives its volume, and goes with its snapshot.
    let o = again.apply(&state(13, &pools, vec![], vec![snap("r", 0, "s2", "x", false)], vec![]));
    assert!(o.volumes.is_empty(), "{o:#?}");
    assert!(dir.join("r_00000_s2.img").is_file() && !dir.join("r_00000.img").exists());
    again.apply(&state(14, &pools, vec![], vec![], vec![]));
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(env.loops().iter().all(|d| !d.backing_file.starts_with(&dir)));
}

#[test]
fn a_pool_without_reflink_refuses_snapshots_and_copies_clones_in_the_background() {
    let Some(env) = TestEnv::new("snapcopy") else { return };
    let dir = env.path("pool");
    let pools = [pool("p", "FILE_THIN", &dir)];
    let sat = env.satellite();
    let o = sat.apply(&state(1, &pools, vec![vol("r", 0, "p", 64 * 1024)], vec![], vec![]));
    if o.storage_pools[0].supports_snapshots {
        eprintln!("skipping: the test directory's filesystem makes reflink copies");
        return;
    }
    let link = env.dev_dir.join("r/0");
    let a = fill(&link, 5);
    let o = sat.apply(&state(
        2,
        &pools,
        vec![vol("r", 0, "p", 64 * 1024)],
        vec![snap("r", 0, "s", "p", true)],
        vec![],
    ));
    let r = snapshot_report(&o, "r", 0, "s");
    assert!(!r.exists, "{r:#?}");
    let why = r.error.clone().unwrap();
    assert!(why.contains("reflink") && why.contains("XFS") && why.contains("btrfs"), "{why}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing but the volume");

    // A clone is copied in the background (sparse), reported cloning meanwhile.
    let vols = vec![
        vol("r", 0, "p", 64 * 1024),
        from(vol("c", 0, "p", 64 * 1024), VolumeSource::Volume { resource: "r".into(), pool: "p".into() }),
    ];
    let applied = sat.converge(&state(3, &pools, vols.clone(), vec![], vec![]));
    assert!(
        applied.changes.iter().any(|c| matches!(c.kind, ChangeKind::CopyStarted { .. })),
        "{:#?}",
        applied.changes
    );
    let started = Instant::now();
    let o = loop {
        let o = sat.apply(&state(4, &pools, vols.clone(), vec![], vec![]));
        let c = report(&o, "c", 0);
        assert_eq!(c.error, None, "{c:#?}");
        if !c.cloning {
            break o;
        }
        assert_eq!(c.disk_state, "Inconsistent");
        assert!(started.elapsed() < Duration::from_secs(60), "the copy did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    healthy(&o, "c", 0, 64 * 1024);
    assert_holds(&env.dev_dir.join("c/0"), &a, "copied");
    let allocated = std::fs::metadata(dir.join("c_00000.img")).unwrap().blocks() * 512;
    assert!(allocated < 8 * MIB, "holes stay holes: {allocated}");

    // A copy whose volume is no longer desired is cancelled and leaves nothing.
    let big = vec![
        vol("r", 0, "p", 64 * 1024),
        from(vol("d", 0, "p", 64 * 1024), VolumeSource::Volume { resource: "r".into(), pool: "p".into() }),
    ];
    sat.apply(&state(5, &pools, big, vec![], vec![]));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        sat.apply(&state(6, &pools, vec![vol("r", 0, "p", 64 * 1024)], vec![], vec![]));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        if names == ["r_00000.img"] {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: {names:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn thick_clones_are_allocated() {
    let Some(env) = TestEnv::new("snapthick") else { return };
    let Some(mnt) = xfs(&env, "xfs", 400) else { return };
    let dir = mnt.join("thick");
    let pools = [pool("t", "FILE", &dir)];
    let sat = env.satellite();
    sat.apply(&state(1, &pools, vec![vol("r", 0, "t", 32 * 1024)], vec![], vec![]));
    let a = fill(&env.dev_dir.join("r/0"), 7);
    let vols = vec![
        vol("r", 0, "t", 32 * 1024),
        from(vol("c", 0, "t", 32 * 1024), VolumeSource::Volume { resource: "r".into(), pool: "t".into() }),
    ];
    let o = sat.apply(&state(2, &pools, vols, vec![snap("r", 0, "s", "t", true)], vec![]));
    healthy(&o, "c", 0, 32 * 1024);
    assert!(snapshot_report(&o, "r", 0, "s").exists);
    assert!(report(&o, "c", 0).allocated_size_kib >= 32 * 1024, "{:#?}", report(&o, "c", 0));
    assert_holds(&env.dev_dir.join("c/0"), &a, "thick clone");
    sat.apply(&state(3, &pools, vec![], vec![], vec![]));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}
