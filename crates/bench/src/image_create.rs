//! `strand storage volume create default container/NAME --image FP` from a 200 MiB and from a
//! 2 GiB container image, through the CLI binary as a user types it (`strand up`'s `default`
//! pool, the images' volumes made already), against the floor: a reflink copy by hand
//! (`cp --reflink=always`) of each image volume's backing file on the same filesystem.
//!
//! The target is a creation time independent of the image's size: 2 GiB within 1.5x of
//! 200 MiB. The series run interleaved (one of each per round). Also printed, once: the import
//! of each image and its first use in the pool (the unpack into its image volume), which do
//! depend on the size.

use crate::process::{cli as strand, release_loops_under, up_with_default_pool, TempDir};
use crate::stats::{median_of as median, micros, timed};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const RUNS: usize = 11;
const MIB: usize = 1 << 20;

/// An uncompressed Incus unified image of about `mib` MiB of file data (64 MiB files of
/// pseudo-random bytes, as an image's binaries and libraries do not compress to nothing).
fn make_image(dir: &Path, name: &str, mib: usize) -> Result<PathBuf, String> {
    let tree = dir.join(format!("{name}-tree"));
    let bin = tree.join("rootfs/usr/lib");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    std::fs::write(tree.join("metadata.yaml"), "architecture: x86_64\ncreation_date: 1700000000\n")
        .map_err(|e| e.to_string())?;
    let mut state: u64 = 0x2545_f491_4f6c_dd1d ^ mib as u64;
    let mut left = mib * MIB;
    let mut n = 0;
    let mut chunk = vec![0u8; MIB];
    while left > 0 {
        let size = left.min(64 * MIB);
        let path = bin.join(format!("lib{n}.so"));
        let mut file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for _ in 0..size / MIB {
            for word in chunk.chunks_exact_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            file.write_all(&chunk).map_err(|e| e.to_string())?;
        }
        left -= size;
        n += 1;
    }
    let tarball = dir.join(format!("{name}.tar"));
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&tree)
        .arg(".")
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    if !status.success() {
        return Err("tar failed".into());
    }
    let _ = std::fs::remove_dir_all(&tree);
    Ok(tarball)
}

/// The backing file of a volume's block device (`strand storage volume path` → loop device →
/// sysfs).
fn backing_file(binary: &Path, data: &Path, volume: &str) -> Result<PathBuf, String> {
    let device = strand(binary, data, &["storage", "volume", "path", "default", volume])?;
    let real = std::fs::canonicalize(device.trim()).map_err(|e| format!("{}: {e}", device.trim()))?;
    let name = real.file_name().and_then(|n| n.to_str()).ok_or("no device name")?;
    let backing = std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file"))
        .map_err(|e| format!("{name} is not a loop device: {e}"))?;
    Ok(PathBuf::from(backing.trim()))
}

pub fn run(binary: &Path) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the image-create benchmark needs root (loop devices, mkfs, mount)".into());
    }
    let dir = TempDir::new("image-create")?;
    let (strand_up, data) = up_with_default_pool(binary, &dir.0)?;
    let sizes = [("small", 200usize), ("large", 2048usize)];
    let mut fingerprints = Vec::new();
    let mut imports = Vec::new();
    let mut first_uses = Vec::new();
    for (name, mib) in sizes {
        let tarball = make_image(&dir.0, name, mib)?;
        let (took, fp) = timed(|| {
            strand(binary, &data, &["image", "import", &tarball.display().to_string()])
                .map(|s| s.trim().to_string())
        })?;
        let _ = std::fs::remove_file(&tarball);
        imports.push(took);
        let (took, _) = timed(|| {
            strand(
                binary,
                &data,
                &[
                    "storage",
                    "volume",
                    "create",
                    "default",
                    &format!("container/first-{name}"),
                    "--image",
                    &fp,
                ],
            )
        })?;
        first_uses.push(took);
        fingerprints.push(fp);
    }
    let floor_dir = data.join("pools").join("floor");
    std::fs::create_dir_all(&floor_dir).map_err(|e| format!("{}: {e}", floor_dir.display()))?;
    let mut sources = Vec::new();
    for fp in &fingerprints {
        sources.push(backing_file(binary, &data, &format!("image/{fp}"))?);
    }

    let mut creates: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut floors: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut failure = None;
    'rounds: for i in 0..RUNS {
        for (k, fp) in fingerprints.iter().enumerate() {
            let volume = format!("container/c{k}-{i}");
            match timed(|| {
                strand(binary, &data, &["storage", "volume", "create", "default", &volume, "--image", fp])
            }) {
                Ok((took, _)) => creates[k].push(took),
                Err(err) => {
                    failure = Some(err);
                    break 'rounds;
                }
            }
            let copy = floor_dir.join(format!("copy{k}-{i}"));
            let reflink = timed(|| {
                let status = Command::new("cp")
                    .arg("--reflink=always")
                    .arg(&sources[k])
                    .arg(&copy)
                    .status()
                    .map_err(|e| format!("cp: {e}"))?;
                if status.success() {
                    Ok(())
                } else {
                    Err("cp --reflink=always failed (no reflink on the pool's filesystem?)".to_string())
                }
            });
            match reflink {
                Ok((took, ())) => floors[k].push(took),
                Err(err) => {
                    failure = Some(err);
                    break 'rounds;
                }
            }
            let _ = std::fs::remove_file(&copy);
        }
    }
    // Clean up: every volume, then the images.
    if let Ok(list) = strand(binary, &data, &["storage", "volume", "list", "default", "--format", "csv"]) {
        for line in list.lines() {
            let mut cells = line.split(',');
            if let (Some(kind), Some(name)) = (cells.next(), cells.next()) {
                let _ = strand(
                    binary,
                    &data,
                    &["storage", "volume", "delete", "default", &format!("{kind}/{name}")],
                );
            }
        }
    }
    for fp in &fingerprints {
        let _ = strand(binary, &data, &["image", "delete", fp]);
    }
    release_loops_under(&floor_dir);
    let _ = std::fs::remove_dir_all(&floor_dir);
    drop(strand_up);
    if let Some(err) = failure {
        return Err(err);
    }

    let [small, large] = creates.map(median);
    let [floor_small, floor_large] = floors.map(median);
    let ms = |d: Duration| micros(d) / 1000.0;
    let secs = |d: Duration| d.as_secs_f64();
    println!("## A container volume from an image (`strand-bench image-create`)\n");
    println!("| what | 200 MiB image | 2 GiB image |");
    println!("|---|---:|---:|");
    println!(
        "| once: `strand image import FILE` (upload, SHA-256, check of every member) | {:.2} s | {:.2} s |",
        secs(imports[0]),
        secs(imports[1])
    );
    println!(
        "| once: first `storage volume create ... --image` in the pool (the image volume made and unpacked, then the clone) | {:.2} s | {:.2} s |",
        secs(first_uses[0]),
        secs(first_uses[1])
    );
    println!(
        "| floor: `cp --reflink=always` of the image volume's backing file, by hand (median of {RUNS}) | {:.2} ms | {:.2} ms |",
        ms(floor_small),
        ms(floor_large)
    );
    println!(
        "| `strand storage volume create default container/NAME --image FP` (CLI, median of {RUNS}, interleaved) | {:.2} ms | {:.2} ms |",
        ms(small),
        ms(large)
    );
    println!();
    println!(
        "create from the 2 GiB image vs from the 200 MiB image: {:.2}x (target <= 1.5x); vs the reflink floor: {:.2}x (200 MiB), {:.2}x (2 GiB)",
        secs(large) / secs(small),
        secs(small) / secs(floor_small),
        secs(large) / secs(floor_large)
    );
    Ok(())
}
