//! Snapshot and clone of a filled 1 GiB and a filled 4 GiB volume through the API (`strand up`,
//! default pool on reflink), against the floor: a reflink copy (`FICLONE` + `fsync`) of a filled
//! 4 GiB file by hand on the same filesystem. A reference beside it: an API call that commits
//! and pushes the node's desired state once (a volume definition "resized" to its own size),
//! which every call that reaches the satellite costs. Both sizes are measured interleaved, after
//! a `sync`. Target: O(1), the 4 GiB times within 1.5x of the 1 GiB times. Prints; never fails
//! on a time.

use crate::http::Http;
use crate::process::{free_addr, Strand, TempDir};
use crate::stats::{median, micros};
use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 9;
const GIB_KIB: u64 = 1 << 20;
const CHUNK: usize = 4 << 20;

fn checked(
    response: std::io::Result<crate::http::Response>,
    what: &str,
) -> Result<serde_json::Value, String> {
    let response = response.map_err(|e| format!("{what}: {e}"))?;
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let entries =
        body.as_array().cloned().or_else(|| body["messages"].as_array().cloned()).unwrap_or_default();
    let failed = entries.iter().any(|e| e["ret_code"].as_i64().is_some_and(|rc| (rc >> 62) & 3 == 3));
    if response.status >= 400 || failed {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&response.body)));
    }
    Ok(body)
}

/// Writes `bytes` of non-repeating data (every 4 MiB chunk differs) to `path`, then syncs.
fn fill(path: &Path, bytes: u64) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; CHUNK];
    for word in buf.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
    }
    for n in 0..bytes / CHUNK as u64 {
        buf[..8].copy_from_slice(&n.to_le_bytes());
        file.write_all(&buf).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    file.sync_all().map_err(|e| format!("sync {}: {e}", path.display()))
}

/// One reflink copy by hand: `FICLONE` into a new file and `fsync` it.
fn reflink(src: &Path, dst: &Path) -> Result<(), String> {
    let source = std::fs::File::open(src).map_err(|e| format!("open {}: {e}", src.display()))?;
    let target = std::fs::File::create(dst).map_err(|e| format!("create {}: {e}", dst.display()))?;
    // SAFETY: FICLONE takes the source descriptor as its integer argument.
    let ret = unsafe { libc::ioctl(target.as_raw_fd(), libc::FICLONE, source.as_raw_fd()) };
    if ret != 0 {
        return Err(format!("FICLONE {}: {}", dst.display(), std::io::Error::last_os_error()));
    }
    target.sync_all().map_err(|e| format!("sync {}: {e}", dst.display()))
}

struct Volume {
    name: String,
    gib: u64,
}

fn make_volume(http: &mut Http, node: &str, name: &str, gib: u64) -> Result<(), String> {
    checked(
        http.request(
            "POST",
            "/v1/resource-definitions",
            Some(&format!(r#"{{"resource_definition":{{"name":"{name}"}}}}"#)),
        ),
        "resource definition",
    )?;
    checked(
        http.request(
            "POST",
            &format!("/v1/resource-definitions/{name}/volume-definitions"),
            Some(&format!(r#"{{"volume_definition":{{"size_kib":{}}}}}"#, gib * GIB_KIB)),
        ),
        "volume definition",
    )?;
    checked(
        http.request(
            "POST",
            &format!("/v1/resource-definitions/{name}/resources"),
            Some(&format!(r#"[{{"resource":{{"node_name":"{node}"}}}}]"#)),
        ),
        "resource",
    )?;
    Ok(())
}

/// Median time of `RUNS` calls of `op(n)`; the first error stops the benchmark.
fn timed(mut op: impl FnMut(usize) -> Result<(), String>) -> Result<Duration, String> {
    let mut n = 0;
    let mut failure = None;
    let time = median(RUNS, || {
        n += 1;
        if let Err(err) = op(n) {
            failure.get_or_insert(err);
        }
    });
    match failure {
        Some(err) => Err(err),
        None => Ok(time),
    }
}

fn ms(d: Duration) -> f64 {
    micros(d) / 1000.0
}

fn clone_and_wait(http: &mut Http, src: &str, clone: &str) -> Result<(), String> {
    checked(
        http.request(
            "POST",
            &format!("/v1/resource-definitions/{src}/clone"),
            Some(&format!(r#"{{"name":"{clone}"}}"#)),
        ),
        "clone",
    )?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status =
            checked(http.get(&format!("/v1/resource-definitions/{src}/clone/{clone}")), "clone status")?;
        match status["status"].as_str() {
            Some("COMPLETE") => return Ok(()),
            Some("CLONING") if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            other => return Err(format!("clone {clone}: status {other:?}")),
        }
    }
}

pub fn run(binary: &Path) -> Result<(), String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the snapshots benchmark needs root (loop devices, the XFS image mount)".into());
    }
    let dir = TempDir::new("snapshots")?;
    let addr: SocketAddr = free_addr()?;
    let dev_dir = dir.0.join("dev");
    let data = dir.0.join("data");
    let node = format!("bench-{}", std::process::id());
    let dev_text = dev_dir.display().to_string();
    let (strand, _) =
        Strand::start(binary, &["up", "--dev-dir", &dev_text, "--node-name", &node], &data, addr)?;
    let mut http = Http::connect(addr).map_err(|e| e.to_string())?;
    let pools = checked(http.get("/v1/view/storage-pools"), "storage pools")?;
    let reflink_pool = pools
        .as_array()
        .and_then(|list| list.iter().find(|p| p["storage_pool_name"] == "DfltStorPool"))
        .is_some_and(|p| p["supports_snapshots"] == true);
    if !reflink_pool {
        return Err("the default pool does not support snapshots here (is xfsprogs installed?)".into());
    }

    // The floor: a filled 4 GiB file on the same filesystem, reflinked by hand.
    let floor_src = data.join("pools").join("bench-floor.img");
    eprintln!("filling the 4 GiB floor file and the 1 GiB and 4 GiB volumes ...");
    fill(&floor_src, 4 << 30)?;
    let floor = timed(|n| {
        let copy = data.join("pools").join(format!("bench-floor-{n}.img"));
        let result = reflink(&floor_src, &copy);
        let _ = std::fs::remove_file(&copy);
        result
    })?;
    let _ = std::fs::remove_file(&floor_src);

    let volumes = [Volume { name: "bench1g".into(), gib: 1 }, Volume { name: "bench4g".into(), gib: 4 }];
    for volume in &volumes {
        make_volume(&mut http, &node, &volume.name, volume.gib)?;
        fill(&dev_dir.join(&volume.name).join("0"), volume.gib << 30)?;
    }
    // Both sizes are measured under the same conditions: written back, then interleaved.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    std::thread::sleep(Duration::from_secs(2));
    let mut samples: Vec<[Vec<Duration>; 3]> = volumes.iter().map(|_| Default::default()).collect();
    for n in 1..=RUNS {
        for (i, volume) in volumes.iter().enumerate() {
            let name = &volume.name;
            let started = Instant::now();
            checked(
                http.request(
                    "POST",
                    &format!("/v1/resource-definitions/{name}/snapshots"),
                    Some(&format!(r#"{{"name":"s{n}"}}"#)),
                ),
                "snapshot",
            )?;
            samples[i][0].push(started.elapsed());
            let started = Instant::now();
            clone_and_wait(&mut http, name, &format!("{name}c{n}"))?;
            samples[i][1].push(started.elapsed());
            let started = Instant::now();
            checked(
                http.request(
                    "PUT",
                    &format!("/v1/resource-definitions/{name}/volume-definitions/0"),
                    Some(&format!(r#"{{"size_kib":{}}}"#, volume.gib * GIB_KIB)),
                ),
                "volume definition",
            )?;
            samples[i][2].push(started.elapsed());
        }
    }
    for volume in &volumes {
        let name = &volume.name;
        for n in 1..=RUNS {
            let _ = http.request("DELETE", &format!("/v1/resource-definitions/{name}c{n}"), None);
            let _ = http.request("DELETE", &format!("/v1/resource-definitions/{name}/snapshots/s{n}"), None);
        }
        let _ = http.request("DELETE", &format!("/v1/resource-definitions/{name}"), None);
    }
    let med = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let rows: Vec<(u64, Duration, Duration, Duration)> = volumes
        .iter()
        .zip(samples)
        .map(|(v, [snap, clone, push])| (v.gib, med(snap), med(clone), med(push)))
        .collect();

    println!(
        "strand-bench snapshots: median of {RUNS} runs, default pool of `strand up` (FILE_THIN on reflink)"
    );
    println!();
    println!("floor: reflink copy (FICLONE + fsync) of a filled 4 GiB file by hand: {:8.2} ms", ms(floor));
    println!();
    println!(
        "{:>8} | {:>11} | {:>8} | {:>11} | {:>8} | {:>17}",
        "volume", "snapshot ms", "x floor", "clone ms", "x floor", "one push ms (ref)"
    );
    for (gib, snapshot, clone, push) in &rows {
        println!(
            "{:>4} GiB | {:>11.2} | {:>8.1} | {:>11.2} | {:>8.1} | {:>17.2}",
            gib,
            ms(*snapshot),
            ms(*snapshot) / ms(floor),
            ms(*clone),
            ms(*clone) / ms(floor),
            ms(*push)
        );
    }
    if let [(_, s1, c1, _), (_, s4, c4, _)] = rows.as_slice() {
        println!();
        println!(
            "4 GiB / 1 GiB: snapshot {:.2}x, clone {:.2}x (target: within 1.5x, i.e. O(1) in the volume size)",
            ms(*s4) / ms(*s1),
            ms(*c4) / ms(*c1)
        );
    }
    println!(
        "(\"one push\": an API call that commits and pushes the node's desired state once, doing \
         nothing else; what every call that reaches the satellite costs on this host)"
    );
    drop(http);
    drop(strand);
    Ok(())
}
