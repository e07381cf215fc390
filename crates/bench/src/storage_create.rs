//! `strand storage volume create` of a 1 GiB ext4 volume, through the CLI binary as a user
//! types it (`strand up`'s `default` pool), against the floor: the same by hand on the same
//! filesystem (`truncate` + `losetup` + `mkfs.ext4`).
//!
//! The series run interleaved (one of each per round) so that the machine's load hits them
//! alike. Two floors: `mkfs.ext4` with its defaults (what one types by hand), and with the
//! options the driver uses (Incus's: `-E nodiscard,lazy_itable_init=0,lazy_journal_init=0`,
//! inode tables and journal zeroed now). The reference "one CLI call" is `strand storage volume
//! show`: a process start and one answer of the daemon, the fixed cost of any command.
//!
//! The ratio that counts is the median of the rounds' own ratios (each round's create over the
//! floor measured right after it): on a shared VM the machine's speed drifts over a run by
//! more than the difference measured, and a pair measured together drifts together. The
//! ratio of the two medians is printed too.

use crate::process::{cli as strand, release_loops_under, run_command, up_with_default_pool, TempDir};
use crate::stats::{median_of, micros, paired_ratio, timed};
use std::path::Path;
use std::time::Duration;

const RUNS: usize = 21;
const DRIVER_MKFS_OPTIONS: &str = "nodiscard,lazy_itable_init=0,lazy_journal_init=0";

/// One floor run: a 1 GiB sparse file, a loop device on it, ext4 on that.
fn floor(dir: &Path, name: &str, mkfs_options: Option<&str>) -> Result<(), String> {
    let file = dir.join(format!("{name}.img")).display().to_string();
    run_command("truncate", &["-s", "1G", &file])?;
    let device = run_command("losetup", &["-f", "--show", "--direct-io=on", &file])?;
    let mut args = vec!["-q"];
    if let Some(options) = mkfs_options {
        args.extend(["-E", options]);
    }
    args.push(&device);
    run_command("mkfs.ext4", &args).map(|_| ())
}

pub fn run(binary: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the storage-create benchmark needs root (loop devices, mkfs)".into());
    }
    let dir = TempDir::new("storage-create")?;
    let (strand_up, data) = up_with_default_pool(binary, &dir.0)?;
    strand(binary, &data, &["storage", "volume", "create", "default", "probe", "size=16MiB"])?;
    // The floor's files live next to the pool's (the XFS image of `strand up`, or the data
    // directory's own filesystem where it has reflink).
    let floor_dir = data.join("pools").join("floor");
    std::fs::create_dir_all(&floor_dir).map_err(|e| format!("{}: {e}", floor_dir.display()))?;

    let (mut create, mut by_hand, mut by_hand_driver, mut show) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut failure = None;
    for i in 0..RUNS {
        let round = (|| -> Result<(), String> {
            let name = format!("bench{i}");
            create.push(
                timed(|| {
                    strand(binary, &data, &["storage", "volume", "create", "default", &name, "size=1GiB"])
                        .map(|_| ())
                })?
                .0,
            );
            by_hand.push(timed(|| floor(&floor_dir, &format!("plain{i}"), None))?.0);
            by_hand_driver
                .push(timed(|| floor(&floor_dir, &format!("incus{i}"), Some(DRIVER_MKFS_OPTIONS)))?.0);
            show.push(
                timed(|| {
                    strand(binary, &data, &["storage", "volume", "show", "default", "probe"]).map(|_| ())
                })?
                .0,
            );
            Ok(())
        })();
        if let Err(err) = round {
            failure = Some(err);
            break;
        }
    }
    for i in 0..RUNS {
        let _ = strand(binary, &data, &["storage", "volume", "delete", "default", &format!("bench{i}")]);
    }
    let _ = strand(binary, &data, &["storage", "volume", "delete", "default", "probe"]);
    release_loops_under(&floor_dir);
    let _ = std::fs::remove_dir_all(&floor_dir);
    drop(strand_up);
    if let Some(err) = failure {
        return Err(err);
    }

    let (paired, paired_driver) = (paired_ratio(&create, &by_hand), paired_ratio(&create, &by_hand_driver));
    let (create, by_hand, by_hand_driver, show) =
        (median_of(create), median_of(by_hand), median_of(by_hand_driver), median_of(show));
    let ms = |d: Duration| micros(d) / 1000.0;
    println!("## `strand storage volume create` of a 1 GiB ext4 volume (`strand-bench storage-create`)\n");
    println!("| what | median of {RUNS} (interleaved) |");
    println!("|---|---:|");
    println!("| floor: `truncate -s 1G` + `losetup -f --show --direct-io=on` + `mkfs.ext4 -q` by hand | {:.2} ms |", ms(by_hand));
    println!(
        "| the same with the driver's (Incus's) `mkfs.ext4 -q -E {DRIVER_MKFS_OPTIONS}` | {:.2} ms |",
        ms(by_hand_driver)
    );
    println!(
        "| `strand storage volume create default VOL size=1GiB` (CLI, `strand up`) | {:.2} ms |",
        ms(create)
    );
    println!("| reference: one CLI call, `strand storage volume show default VOL` | {:.2} ms |", ms(show));
    println!();
    println!(
        "storage volume create vs floor, the median of the {RUNS} rounds' own ratios: {paired:.2}x (target <= 1.3x); \
         vs the floor with the driver's mkfs options: {paired_driver:.2}x"
    );
    println!(
        "the ratio of the medians above: {:.2}x vs the floor, {:.2}x vs the floor with the driver's options",
        create.as_secs_f64() / by_hand.as_secs_f64(),
        create.as_secs_f64() / by_hand_driver.as_secs_f64()
    );
    Ok(())
}
