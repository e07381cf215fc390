//! Volume lifecycle on real loop devices: create, I/O, resize, delete, idempotence, restart,
//! reboot, crash leftovers. Every test needs root and skips with a message otherwise.

mod support;

use satellite::loopdev::{KernelLoops, LoopDevices};
use satellite::ChangeKind;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use support::*;

fn sysfs_dio(dev: &Path) -> String {
    let name = dev.file_name().unwrap().to_str().unwrap();
    std::fs::read_to_string(format!("/sys/block/{name}/loop/dio")).unwrap_or_default().trim().to_string()
}

#[test]
fn file_and_file_thin_volumes_are_exact_block_devices() {
    let Some(env) = TestEnv::new("create") else { return };
    let sat = env.satellite();
    let (thick, thin) = (env.path("thick"), env.path("thin"));
    let d = desired(
        1,
        vec![pool("thick", "FILE", &thick), pool("thin", "FILE_THIN", &thin)],
        vec![vol("r1", 0, "thick", 65536), vol("r1", 1, "thin", 10_000)],
    );
    let o = sat.apply(&d);
    assert_eq!(o.node_name, NODE);
    assert_eq!(o.generation, 1);
    for p in &o.storage_pools {
        assert_eq!(p.error, None, "{p:#?}");
        assert!(
            p.total_capacity_kib > 0
                && p.free_capacity_kib > 0
                && p.free_capacity_kib <= p.total_capacity_kib
        );
    }
    let dev0 = healthy(&o, "r1", 0, 65536);
    let dev1 = healthy(&o, "r1", 1, 10_000);
    assert_ne!(dev0, dev1);
    assert_eq!(report(&o, "r1", 0).stable_path.as_deref(), Some(env.dev_dir.join("r1/0").to_str().unwrap()));
    let (f0, f1) = (thick.join("r1_00000.img"), thin.join("r1_00001.img"));
    assert!(report(&o, "r1", 0).allocated_size_kib >= 65536, "FILE is preallocated");
    assert!(report(&o, "r1", 1).allocated_size_kib < 1024, "FILE_THIN is sparse");
    assert_eq!(std::fs::metadata(&f1).unwrap().len(), 10_000 * 1024);
    eprintln!("fact: direct I/O on {} (ext4 backing): dio={}", dev0.display(), sysfs_dio(&dev0));

    // Data written through the stable path lands in the file, at the same offset.
    for (link, file) in [(env.dev_dir.join("r1/0"), &f0), (env.dev_dir.join("r1/1"), &f1)] {
        let data = pattern(7, 64 * 1024);
        write_at(&link, 1 << 20, &data);
        assert_eq!(read_at(&link, 1 << 20, data.len()), data);
        assert_eq!(read_at(file, 1 << 20, data.len()), data);
    }
    assert!(report(&sat.observe(&d), "r1", 1).allocated_size_kib >= 64, "written blocks are allocated");
    assert_eq!(env.loops_for(&f0).len(), 1);
    assert_eq!(env.loops_for(&f1).len(), 1);
}

#[test]
fn grow_and_shrink_follow_the_device() {
    let Some(env) = TestEnv::new("resize") else { return };
    let sat = env.satellite();
    let (thick, thin) = (env.path("thick"), env.path("thin"));
    let pools = vec![pool("thick", "FILE", &thick), pool("thin", "FILE_THIN", &thin)];
    let at = |kib_thin: i64, kib_thick: i64, g: u64| {
        desired(g, pools.clone(), vec![vol("rs", 0, "thin", kib_thin), vol("rs", 1, "thick", kib_thick)])
    };
    let o = sat.apply(&at(32768, 16384, 1));
    let dev = healthy(&o, "rs", 0, 32768);
    let dev_thick = healthy(&o, "rs", 1, 16384);
    let data = pattern(3, 4096);
    write_at(&dev, 1 << 20, &data);

    let applied = sat.converge(&at(65536, 32768, 2));
    assert!(applied
        .changes
        .iter()
        .any(|c| matches!(c.kind, ChangeKind::VolumeResized { from_kib: 32768, to_kib: 65536 })));
    assert!(applied.changes.iter().any(|c| matches!(c.kind, ChangeKind::CapacityRefreshed { .. })));
    assert_eq!(healthy(&applied.observed, "rs", 0, 65536), dev, "same device after grow");
    assert_eq!(healthy(&applied.observed, "rs", 1, 32768), dev_thick);
    assert!(report(&applied.observed, "rs", 1).allocated_size_kib >= 32768, "FILE growth is allocated");
    assert_eq!(read_at(&dev, 1 << 20, data.len()), data);
    // The new range is usable.
    write_at(&dev, 60 << 20, &data);

    let o = sat.apply(&at(16384, 8192, 3));
    assert_eq!(healthy(&o, "rs", 0, 16384), dev, "same device after shrink");
    healthy(&o, "rs", 1, 8192);
    assert_eq!(read_at(&dev, 1 << 20, data.len()), data);
    assert_eq!(std::fs::metadata(thin.join("rs_00000.img")).unwrap().len(), 16384 * 1024);
}

#[test]
fn delete_leaves_no_device_file_or_link() {
    let Some(env) = TestEnv::new("delete") else { return };
    let sat = env.satellite();
    let dir = env.path("pool");
    let pools = vec![pool("p", "FILE_THIN", &dir)];
    let o = sat.apply(&desired(
        1,
        pools.clone(),
        vec![vol("a", 0, "p", 4096), vol("a", 1, "p", 4096), vol("b", 0, "p", 4096)],
    ));
    healthy(&o, "a", 0, 4096);
    healthy(&o, "a", 1, 4096);
    let b_dev = healthy(&o, "b", 0, 4096);

    let applied =
        sat.converge(&desired(2, pools.clone(), vec![vol("a", 1, "p", 4096), vol("b", 0, "p", 4096)]));
    assert!(applied.changes.iter().any(|c| c.subject == "volume a/0" && c.kind == ChangeKind::VolumeDeleted));
    assert_eq!(applied.observed.volumes.len(), 2, "{:#?}", applied.observed.volumes);
    assert!(!dir.join("a_00000.img").exists());
    assert!(env.loops_for(&dir.join("a_00000.img")).is_empty());
    assert!(std::fs::symlink_metadata(env.dev_dir.join("a/0")).is_err());
    assert!(env.dev_dir.join("a/1").exists(), "the resource's other volume keeps its link");

    let o = sat.apply(&desired(3, pools, vec![]));
    assert!(o.volumes.is_empty(), "{:#?}", o.volumes);
    assert!(env.loops().is_empty(), "{:#?}", env.loops());
    assert!(!env.dev_dir.join("a").exists() && !env.dev_dir.join("b").exists());
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(!b_dev.as_os_str().is_empty());
}

#[test]
fn second_apply_changes_nothing() {
    let Some(env) = TestEnv::new("idem") else { return };
    let sat = env.satellite();
    let d = desired(
        1,
        vec![pool("p", "FILE", &env.path("pool"))],
        vec![vol("r", 0, "p", 8192), vol("r", 1, "p", 8192)],
    );
    let first = sat.converge(&d);
    assert!(!first.changes.is_empty());
    let second = sat.converge(&d);
    assert!(second.changes.is_empty(), "{:#?}", second.changes);
    assert_eq!(steady(&first.observed), steady(&second.observed));
    assert_eq!(steady(&sat.observe(&d)), steady(&second.observed));
}

#[test]
fn observe_changes_nothing() {
    let Some(env) = TestEnv::new("observe") else { return };
    let sat = env.satellite();
    let dir = env.path("pool");
    let d = desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("r", 0, "p", 4096)]);
    let o = sat.observe(&d);
    assert!(!dir.exists());
    assert!(o.storage_pools[0].error.as_deref().unwrap_or("").contains("does not exist"), "{o:#?}");
    assert!(report(&o, "r", 0).error.is_some());
    assert!(!env.dev_dir.exists());
    sat.apply(&d);
    // A volume that is no longer desired is not removed by observe.
    let o = sat.observe(&desired(2, vec![pool("p", "FILE_THIN", &dir)], vec![]));
    assert!(o.volumes.is_empty());
    assert!(dir.join("r_00000.img").exists());
    assert_eq!(env.loops().len(), 1);
}

#[test]
fn restart_finds_the_same_device() {
    let Some(env) = TestEnv::new("restart") else { return };
    let dir = env.path("pool");
    let d =
        desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("r", 0, "p", 4096), vol("s", 3, "p", 2048)]);
    let before = env.satellite().apply(&d);
    let dev_r = healthy(&before, "r", 0, 4096);
    let dev_s = healthy(&before, "s", 3, 2048);

    let sat = env.satellite();
    assert_eq!(
        steady(&sat.observe(&d)),
        steady(&before),
        "a new instance sees the same state before applying"
    );
    let applied = sat.converge(&d);
    assert!(applied.changes.is_empty(), "{:#?}", applied.changes);
    assert_eq!(healthy(&applied.observed, "r", 0, 4096), dev_r);
    assert_eq!(healthy(&applied.observed, "s", 3, 2048), dev_s);
    assert_eq!(env.loops_for(&dir.join("r_00000.img")).len(), 1);
    assert_eq!(env.loops_for(&dir.join("s_00003.img")).len(), 1);
}

#[test]
fn reboot_reattaches_everything_with_data() {
    let Some(env) = TestEnv::new("reboot") else { return };
    let (thick, thin) = (env.path("thick"), env.path("thin"));
    let d = desired(
        1,
        vec![pool("thick", "FILE", &thick), pool("thin", "FILE_THIN", &thin)],
        vec![vol("r", 0, "thick", 4096), vol("r", 1, "thin", 8192)],
    );
    let sat = env.satellite();
    let o = sat.apply(&d);
    let old = [healthy(&o, "r", 0, 4096), healthy(&o, "r", 1, 8192)];
    let data = pattern(9, 8192);
    write_at(&env.dev_dir.join("r/0"), 4096, &data);
    write_at(&env.dev_dir.join("r/1"), 4096, &data);

    // "Reboot": every loop device goes away; then someone else takes the old numbers.
    let loops = KernelLoops::new();
    for dev in env.loops() {
        loops.detach(&dev, None).unwrap();
    }
    assert!(env.loops().is_empty());
    // Squatters take the old numbers where they can (another test may be quicker).
    let mut squatted = Vec::new();
    for (i, old_dev) in old.iter().enumerate() {
        let s = env.path(&format!("squat{i}.img"));
        std::fs::File::create(&s).unwrap().set_len(1 << 20).unwrap();
        let ok = std::process::Command::new("losetup")
            .arg(old_dev)
            .arg(&s)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        squatted.push(ok);
    }
    let o = sat.observe(&d);
    assert_eq!(report(&o, "r", 0).disk_state, "Failed");
    assert!(report(&o, "r", 0).error.as_deref().unwrap().contains("not attached"), "{o:#?}");

    let sat = env.satellite();
    let applied = sat.converge(&d);
    let attached = applied.changes.iter().filter(|c| matches!(c.kind, ChangeKind::Attached { .. })).count();
    assert_eq!(attached, 2, "{:#?}", applied.changes);
    let new = [healthy(&applied.observed, "r", 0, 4096), healthy(&applied.observed, "r", 1, 8192)];
    for (n, o) in new.iter().zip(&old) {
        eprintln!("reboot: {} -> {}", o.display(), n.display());
    }
    for ((n, o), squatted) in new.iter().zip(&old).zip(&squatted) {
        if *squatted {
            assert_ne!(n, o, "the squatter holds the old number");
        }
    }
    let linked = applied.changes.iter().filter(|c| matches!(c.kind, ChangeKind::Linked { .. })).count();
    assert_eq!(linked, new.iter().zip(&old).filter(|(n, o)| n != o).count(), "{:#?}", applied.changes);
    assert_eq!(read_at(&env.dev_dir.join("r/0"), 4096, data.len()), data);
    assert_eq!(read_at(&env.dev_dir.join("r/1"), 4096, data.len()), data);
    assert!(sat.converge(&d).changes.is_empty());
}

#[test]
fn crash_leftovers_are_cleaned_and_foreign_files_kept() {
    let Some(env) = TestEnv::new("leftovers") else { return };
    let dir = env.path("pool");
    std::fs::create_dir_all(&dir).unwrap();
    // A creation killed halfway, foreign files, an undesired volume and an orphaned device.
    std::fs::File::create(dir.join("r_00000.img.tmp")).unwrap().set_len(1024).unwrap();
    let foreign = ["notes.txt", "r_0000.img", "x_00000.img.bak", "other.img", "r_00000.IMG", "y_123456.img"];
    for f in foreign {
        std::fs::write(dir.join(f), b"keep me").unwrap();
    }
    std::fs::File::create(dir.join("old_00000.img")).unwrap().set_len(1 << 20).unwrap();
    let gone = dir.join("gone_00002.img");
    std::fs::File::create(&gone).unwrap().set_len(1 << 20).unwrap();
    let loops = KernelLoops::new();
    let orphan = loops.attach(&gone).unwrap();
    std::fs::remove_file(&gone).unwrap();
    let old_dev = loops.attach(&dir.join("old_00000.img")).unwrap();

    let sat = env.satellite();
    let applied = sat.converge(&desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("r", 0, "p", 4096)]));
    healthy(&applied.observed, "r", 0, 4096);
    assert_eq!(std::fs::metadata(dir.join("r_00000.img")).unwrap().len(), 4096 * 1024);
    assert!(!dir.join("r_00000.img.tmp").exists());
    assert!(!dir.join("old_00000.img").exists());
    for f in foreign {
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), b"keep me", "{f}");
    }
    let remaining = env.loops();
    assert_eq!(remaining.len(), 1, "{remaining:#?}");
    assert_eq!(remaining[0].backing_file, dir.join("r_00000.img"));
    let detached = |dev: &std::path::Path| {
        applied
            .changes
            .iter()
            .any(|c| c.kind == ChangeKind::LoopDetached { device: dev.display().to_string() })
    };
    assert!(detached(&orphan.path), "orphan detached: {:#?}", applied.changes);
    assert!(detached(&old_dev.path), "undesired volume detached: {:#?}", applied.changes);
    let kinds: Vec<_> = applied.changes.iter().map(|c| c.to_string()).collect();
    eprintln!("changes: {kinds:#?}");
    assert!(applied.changes.iter().any(|c| c.kind == ChangeKind::StaleTempRemoved));
}

#[test]
fn double_attachment_is_repaired() {
    let Some(env) = TestEnv::new("double") else { return };
    let dir = env.path("pool");
    let d = desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![vol("r", 0, "p", 4096)]);
    let sat = env.satellite();
    let dev = healthy(&sat.apply(&d), "r", 0, 4096);
    let extra = KernelLoops::new().attach(&dir.join("r_00000.img")).unwrap();
    assert_eq!(env.loops_for(&dir.join("r_00000.img")).len(), 2);
    let o = sat.observe(&d);
    assert!(report(&o, "r", 0).error.as_deref().unwrap_or("").contains("attached 2 times"), "{o:#?}");
    let applied = sat.converge(&d);
    assert_eq!(healthy(&applied.observed, "r", 0, 4096), dev, "the linked device is kept");
    assert_eq!(env.loops_for(&dir.join("r_00000.img")).len(), 1);
    assert!(!env.loops().iter().any(|l| l.number == extra.number));
}

#[test]
fn pools_outside_the_desired_state_are_not_touched() {
    let Some(env) = TestEnv::new("untouched") else { return };
    let (a, b) = (env.path("a"), env.path("b"));
    let sat = env.satellite();
    let o = sat.apply(&desired(
        1,
        vec![pool("a", "FILE_THIN", &a), pool("b", "FILE_THIN", &b)],
        vec![vol("r", 0, "a", 4096), vol("s", 0, "b", 4096)],
    ));
    let dev = healthy(&o, "r", 0, 4096);
    let applied = sat.converge(&desired(2, vec![pool("b", "FILE_THIN", &b)], vec![vol("s", 0, "b", 4096)]));
    assert!(applied.changes.is_empty(), "{:#?}", applied.changes);
    assert!(a.join("r_00000.img").exists());
    assert_eq!(env.loops_for(&a.join("r_00000.img")).len(), 1);
    assert_eq!(std::fs::read_link(env.dev_dir.join("r/0")).unwrap(), dev, "its link stays valid");
}

#[test]
fn concurrent_applies_attach_once() {
    let Some(env) = TestEnv::new("concurrent") else { return };
    let dir = env.path("pool");
    let d = desired(1, vec![pool("p", "FILE_THIN", &dir)], (0..4).map(|i| vol("c", i, "p", 2048)).collect());
    let sat = Arc::new(env.satellite());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (sat, d) = (sat.clone(), d.clone());
            std::thread::spawn(move || sat.apply(&d))
        })
        .collect();
    for t in threads {
        let o = t.join().unwrap();
        for i in 0..4 {
            healthy(&o, "c", i, 2048);
        }
    }
    for i in 0..4 {
        assert_eq!(env.loops_for(&dir.join(format!("c_0000{i}.img"))).len(), 1);
    }
}

#[test]
fn bad_volumes_keep_their_errors_to_themselves() {
    let Some(env) = TestEnv::new("local") else { return };
    let dir = env.path("pool");
    let sat = env.satellite();
    let o = sat.apply(&desired(
        1,
        vec![pool("p", "FILE_THIN", &dir)],
        vec![
            vol("bad/name", 0, "p", 4096),
            vol("neg", 0, "p", -5),
            vol("nopool", 0, "missing", 4096),
            vol("good", 0, "p", 4096),
            vol("good", 0, "p", 4096),
            vol("big", 0, "p", i64::MAX / 512),
        ],
    ));
    assert!(report(&o, "bad/name", 0).error.is_some());
    assert!(report(&o, "neg", 0).error.as_deref().unwrap().contains("not positive"));
    assert!(report(&o, "nopool", 0).error.as_deref().unwrap().contains("missing"));
    assert!(report(&o, "big", 0).error.is_some(), "{o:#?}");
    assert_eq!(o.volumes.iter().filter(|v| v.resource == "good").count(), 2);
    assert!(o.volumes.iter().filter(|v| v.resource == "good").any(|v| v
        .error
        .as_deref()
        .unwrap_or("")
        .contains("twice")));
    assert_eq!(o.volumes.iter().filter(|v| v.resource == "good" && v.error.is_none()).count(), 1);
    assert!(!dir.join("big_00000.img").exists() && !dir.join("big_00000.img.tmp").exists());
    assert_eq!(env.loops().len(), 1);
}

/// Prints how long a 1 GiB FILE_THIN volume takes against `truncate` + `losetup` by hand.
#[test]
fn timing_of_create_and_attach() {
    let Some(env) = TestEnv::new("timing") else { return };
    let dir = env.path("pool");
    let sat = env.satellite();
    sat.apply(&desired(1, vec![pool("p", "FILE_THIN", &dir)], vec![]));
    let floor_file = env.path("floor.img");
    let t = Instant::now();
    std::fs::File::create(&floor_file).unwrap().set_len(1 << 30).unwrap();
    let Some(out) = run("losetup", &["-f", "--show", floor_file.to_str().unwrap()]) else { return };
    let floor = t.elapsed();
    assert!(!out.stdout.is_empty());
    let t = Instant::now();
    let o = sat.apply(&desired(2, vec![pool("p", "FILE_THIN", &dir)], vec![vol("t", 0, "p", 1 << 20)]));
    let ours = t.elapsed();
    healthy(&o, "t", 0, 1 << 20);
    let t = Instant::now();
    sat.apply(&desired(2, vec![pool("p", "FILE_THIN", &dir)], vec![vol("t", 0, "p", 1 << 20)]));
    let noop = t.elapsed();
    let t = Instant::now();
    sat.apply(&desired(3, vec![pool("p", "FILE", &dir)], vec![vol("t", 1, "p", 1 << 20)]));
    let thick = t.elapsed();
    eprintln!(
        "fact: 1 GiB FILE_THIN create+attach+link {ours:?} vs truncate+losetup {floor:?} ({:.2}x); \
         no-op apply {noop:?}; delete it + create a 1 GiB FILE (fallocate) {thick:?}",
        ours.as_secs_f64() / floor.as_secs_f64()
    );
}

#[test]
fn pool_dir_through_a_symlink() {
    let Some(env) = TestEnv::new("symlink") else { return };
    let real = env.path("real");
    std::fs::create_dir_all(&real).unwrap();
    let via = env.path("via");
    std::os::unix::fs::symlink(&real, &via).unwrap();
    let d = desired(1, vec![pool("p", "FILE_THIN", &via)], vec![vol("r", 0, "p", 4096)]);
    let dev = healthy(&env.satellite().apply(&d), "r", 0, 4096);
    assert!(real.join("r_00000.img").exists());
    let applied = env.satellite().converge(&d);
    assert!(applied.changes.is_empty(), "{:#?}", applied.changes);
    assert_eq!(healthy(&applied.observed, "r", 0, 4096), dev);
    let o = env.satellite().apply(&desired(2, vec![pool("p", "FILE_THIN", &via)], vec![]));
    assert!(o.volumes.is_empty());
    assert!(env.loops().is_empty());
}

/// Loop devices that refuse to attach: creation must leave nothing behind.
struct NoAttach(KernelLoops);

impl LoopDevices for NoAttach {
    fn scan(&self) -> Result<Vec<satellite::loopdev::LoopDevice>, satellite::loopdev::LoopError> {
        self.0.scan()
    }
    fn get(&self, n: u32) -> Result<Option<satellite::loopdev::LoopDevice>, satellite::loopdev::LoopError> {
        self.0.get(n)
    }
    fn status(
        &self,
        dev: &satellite::loopdev::LoopDevice,
    ) -> Result<Option<satellite::loopdev::DeviceStatus>, satellite::loopdev::LoopError> {
        self.0.status(dev)
    }
    fn attach(&self, _: &Path) -> Result<satellite::loopdev::LoopDevice, satellite::loopdev::LoopError> {
        Err(satellite::loopdev::LoopError::NoFreeDevice(0))
    }
    fn refresh_capacity(
        &self,
        dev: &satellite::loopdev::LoopDevice,
    ) -> Result<u64, satellite::loopdev::LoopError> {
        self.0.refresh_capacity(dev)
    }
    fn clear_autoclear(
        &self,
        dev: &satellite::loopdev::LoopDevice,
    ) -> Result<satellite::action::SetAction, satellite::loopdev::LoopError> {
        self.0.clear_autoclear(dev)
    }
    fn detach(
        &self,
        dev: &satellite::loopdev::LoopDevice,
        expected: Option<satellite::FileId>,
    ) -> Result<satellite::action::DeleteAction, satellite::loopdev::LoopError> {
        self.0.detach(dev, expected)
    }
}

#[test]
fn failed_creation_leaves_nothing_behind() {
    let Some(env) = TestEnv::new("undo") else { return };
    let dir = env.path("pool");
    let host = satellite::Host {
        loops: Box::new(NoAttach(KernelLoops::new())),
        links: Box::new(satellite::devlinks::FsDevLinks::new(&env.dev_dir)),
        usage: Box::new(satellite::usage::KernelUsage::new()),
    };
    let config = satellite::SatelliteConfig::new(NODE).with_dev_dir(&env.dev_dir);
    let sat = satellite::Satellite::with_host(config, host).unwrap();
    let o = sat.apply(&desired(
        1,
        vec![pool("p", "FILE_THIN", &dir), pool("t", "FILE", &dir)],
        // 1 PiB: more than ext4 allows in one file (EFBIG) / than the disk holds (ENOSPC).
        vec![vol("r", 0, "p", 4096), vol("huge", 0, "p", 1 << 40), vol("huge", 1, "t", 1 << 40)],
    ));
    assert!(report(&o, "r", 0).error.as_deref().unwrap().contains("no free loop device"), "{o:#?}");
    assert!(report(&o, "huge", 0).error.is_some(), "{o:#?}");
    assert!(report(&o, "huge", 1).error.is_some(), "{o:#?}");
    eprintln!("fact: 1 PiB volume: {:?} / {:?}", report(&o, "huge", 0).error, report(&o, "huge", 1).error);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(!env.dev_dir.join("r").exists());
    assert!(env.loops().is_empty());
}
