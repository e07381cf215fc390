//! Incremental runs on real loop devices: only what changed is worked on, the rest is checked
//! quickly, and anything that does not check out goes through the whole convergence.

mod support;

use satellite::loopdev::{DeviceStatus, KernelLoops, LoopDevice, LoopDevices, LoopError};
use satellite::{ChangeKind, Satellite};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// The kernel's loop devices, counting how often every device was listed.
struct CountingLoops {
    kernel: KernelLoops,
    scans: Arc<AtomicUsize>,
}

impl LoopDevices for CountingLoops {
    fn scan(&self) -> Result<Vec<LoopDevice>, LoopError> {
        self.scans.fetch_add(1, Ordering::SeqCst);
        self.kernel.scan()
    }
    fn get(&self, number: u32) -> Result<Option<LoopDevice>, LoopError> {
        self.kernel.get(number)
    }
    fn status(&self, dev: &LoopDevice) -> Result<Option<DeviceStatus>, LoopError> {
        self.kernel.status(dev)
    }
    fn attach(&self, file: &Path) -> Result<LoopDevice, LoopError> {
        self.kernel.attach(file)
    }
    fn refresh_capacity(&self, dev: &LoopDevice) -> Result<u64, LoopError> {
        self.kernel.refresh_capacity(dev)
    }
    fn clear_autoclear(&self, dev: &LoopDevice) -> Result<satellite::action::SetAction, LoopError> {
        self.kernel.clear_autoclear(dev)
    }
    fn detach(
        &self,
        dev: &LoopDevice,
        expected: Option<satellite::FileId>,
    ) -> Result<satellite::action::DeleteAction, LoopError> {
        self.kernel.detach(dev, expected)
    }
}

/// A satellite whose incremental runs check every unchanged volume (no trust window).
fn counting_satellite(env: &TestEnv) -> (Satellite, Arc<AtomicUsize>) {
    counting_satellite_trusting(env, Duration::ZERO)
}

fn counting_satellite_trusting(env: &TestEnv, recheck_every: Duration) -> (Satellite, Arc<AtomicUsize>) {
    let scans = Arc::new(AtomicUsize::new(0));
    let host = satellite::Host {
        loops: Box::new(CountingLoops { kernel: KernelLoops::new(), scans: Arc::clone(&scans) }),
        links: Box::new(satellite::devlinks::FsDevLinks::new(&env.dev_dir)),
        usage: Box::new(satellite::usage::KernelUsage::new()),
    };
    let config =
        satellite::SatelliteConfig::new(NODE).with_dev_dir(&env.dev_dir).with_recheck_every(recheck_every);
    (Satellite::with_host(config, host).unwrap(), scans)
}

fn incremental(mut d: controller::link::DesiredState) -> controller::link::DesiredState {
    d.incremental = true;
    d
}

#[test]
fn changes_are_applied_without_listing_every_device() {
    let Some(env) = TestEnv::new("incr") else { return };
    let dir = env.path("pool");
    let pools = vec![pool("p", "FILE_THIN", &dir)];
    let (sat, scans) = counting_satellite(&env);
    let o = sat.apply(&desired(1, pools.clone(), vec![vol("a", 0, "p", 4096)]));
    healthy(&o, "a", 0, 4096);
    assert_eq!(scans.load(Ordering::SeqCst), 1, "a full run lists the devices once");

    // A new volume: created, attached and linked; the verified one is only checked.
    let both = vec![vol("a", 0, "p", 4096), vol("b", 0, "p", 8192)];
    let applied = sat.converge(&incremental(desired(2, pools.clone(), both.clone())));
    let o = &applied.observed;
    healthy(o, "a", 0, 4096);
    let dev_b = healthy(o, "b", 0, 8192);
    assert_eq!(scans.load(Ordering::SeqCst), 1, "an incremental create lists no devices");
    assert!(applied.changes.iter().all(|c| c.subject == "volume b/0"), "{:#?}", applied.changes);
    assert_eq!(std::fs::read_link(env.dev_dir.join("b/0")).unwrap(), dev_b);

    // Nothing changed: nothing done.
    let applied = sat.converge(&incremental(desired(3, pools.clone(), both.clone())));
    assert!(applied.changes.is_empty(), "{:#?}", applied.changes);
    assert_eq!(steady(&applied.observed).volumes, steady(o).volumes);

    // A removed volume goes entirely: device, link and file.
    let applied = sat.converge(&incremental(desired(4, pools.clone(), vec![vol("b", 0, "p", 8192)])));
    assert!(applied.changes.iter().any(|c| c.subject == "volume a/0" && c.kind == ChangeKind::VolumeDeleted));
    assert_eq!(applied.observed.volumes.len(), 1);
    assert!(!dir.join("a_00000.img").exists());
    assert!(!env.dev_dir.join("a/0").exists());
    assert!(env.loops_for(&dir.join("a_00000.img")).is_empty());
    assert_eq!(env.loops().len(), 1);
    assert_eq!(scans.load(Ordering::SeqCst), 1, "an incremental removal lists no devices");

    // Not incremental: the full run checks and sweeps everything again.
    let o = sat.apply(&desired(5, pools, vec![vol("b", 0, "p", 8192)]));
    healthy(&o, "b", 0, 8192);
    assert_eq!(scans.load(Ordering::SeqCst), 2);
}

#[test]
fn drift_found_by_the_quick_check_is_repaired() {
    let Some(env) = TestEnv::new("incr-drift") else { return };
    let dir = env.path("pool");
    let pools = vec![pool("p", "FILE_THIN", &dir)];
    let (sat, _) = counting_satellite(&env);
    let vols = vec![vol("a", 0, "p", 4096), vol("b", 0, "p", 4096)];
    let dev_a = healthy(&sat.apply(&desired(1, pools.clone(), vols.clone())), "a", 0, 4096);
    let data = pattern(5, 4096);
    write_at(&dev_a, 0, &data);

    // Detached by hand (as a reboot would) and the other link removed.
    run("losetup", &["-d", dev_a.to_str().unwrap()]).unwrap();
    std::fs::remove_file(env.dev_dir.join("b/0")).unwrap();
    let o = sat.apply(&incremental(desired(2, pools.clone(), vols.clone())));
    let dev_a = healthy(&o, "a", 0, 4096);
    healthy(&o, "b", 0, 4096);
    assert_eq!(read_at(&dev_a, 0, data.len()), data);
    assert_eq!(env.loops_for(&dir.join("a_00000.img")).len(), 1);

    // A file grown behind the satellite's back is put back to its size.
    let file_b = dir.join("b_00000.img");
    std::fs::OpenOptions::new().write(true).open(&file_b).unwrap().set_len(8192 * 1024).unwrap();
    let o = sat.apply(&incremental(desired(3, pools, vols)));
    healthy(&o, "b", 0, 4096);
    assert_eq!(std::fs::metadata(&file_b).unwrap().len(), 4096 * 1024);
}

#[test]
fn a_volume_checked_recently_is_trusted_until_its_check_is_due() {
    let Some(env) = TestEnv::new("incr-trust") else { return };
    let dir = env.path("pool");
    let pools = vec![pool("p", "FILE_THIN", &dir)];
    let window = Duration::from_millis(400);
    let (sat, _) = counting_satellite_trusting(&env, window);
    let vols = vec![vol("a", 0, "p", 4096)];
    healthy(&sat.apply(&desired(1, pools.clone(), vols.clone())), "a", 0, 4096);

    // A link removed by hand right after the run: the next push trusts the check it just made.
    std::fs::remove_file(env.dev_dir.join("a/0")).unwrap();
    let o = sat.apply(&incremental(desired(2, pools.clone(), vols.clone())));
    assert_eq!(report(&o, "a", 0).error, None);
    assert!(!env.dev_dir.join("a/0").exists(), "checked again inside the window");

    // Whether it is in use is read on every push, trusted or not.
    let dev = env.loops_for(&dir.join("a_00000.img")).pop().expect("device");
    let held = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_EXCL).open(&dev.path).unwrap();
    let o = sat.apply(&incremental(desired(3, pools.clone(), vols.clone())));
    assert!(o.volumes[0].in_use, "{:?}", o.volumes[0]);
    drop(held);

    // Once the check is due, the push finds the missing link and puts it back.
    std::thread::sleep(window);
    let o = sat.apply(&incremental(desired(4, pools, vols)));
    healthy(&o, "a", 0, 4096);
    assert!(env.dev_dir.join("a/0").exists(), "the link was not put back once the check was due");
}

#[test]
fn in_use_is_current_and_a_busy_volume_is_kept() {
    let Some(env) = TestEnv::new("incr-busy") else { return };
    if !have("mkfs.ext4") {
        return;
    }
    let dir = env.path("pool");
    let mnt = env.path("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let pools = vec![pool("p", "FILE_THIN", &dir)];
    let (sat, _) = counting_satellite(&env);
    let vols = vec![vol("m", 0, "p", 32768), vol("n", 0, "p", 4096)];
    let o = sat.apply(&desired(1, pools.clone(), vols.clone()));
    assert!(!report(&o, "m", 0).in_use);
    let link = env.dev_dir.join("m/0");
    run("mkfs.ext4", &["-q", "-F", link.to_str().unwrap()]).unwrap();
    run("mount", &[link.to_str().unwrap(), mnt.to_str().unwrap()]).unwrap();

    let o = sat.apply(&incremental(desired(2, pools.clone(), vols)));
    assert!(report(&o, "m", 0).in_use, "the quick check asks again whether the device is in use");

    // Removing the mounted volume fails and says why; the data stays.
    let o = sat.apply(&incremental(desired(3, pools.clone(), vec![vol("n", 0, "p", 4096)])));
    let left = report(&o, "m", 0);
    assert!(left.error.as_deref().is_some_and(|e| e.contains("in use")), "{left:#?}");
    assert!(dir.join("m_00000.img").exists());

    // Once unmounted, the next run (a full one, as the last was not healthy) removes it.
    run("umount", &[mnt.to_str().unwrap()]).unwrap();
    let o = sat.apply(&incremental(desired(4, pools, vec![vol("n", 0, "p", 4096)])));
    assert_eq!(o.volumes.len(), 1, "{:#?}", o.volumes);
    assert!(!dir.join("m_00000.img").exists());
}
