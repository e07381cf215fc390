//! The controller at 100, 1,000 and 10,000 resource definitions: props-filtered lookup against
//! the HTTP floor, listing cost per RD, memory, and cold start.

use crate::http::Http;
use crate::process::{free_addr, Strand, TempDir};
use crate::stats::{median, median_of, micros, rss_kib};
use std::path::Path;
use std::time::Instant;

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const LOOKUPS: usize = 300;

fn create_body(i: usize) -> String {
    format!(
        r#"{{"resource_definition":{{"name":"bench-{i:05}","props":{{"Aux/Incus/name":"incus-volume-default_v{i}","Aux/Incus/type":"custom","Aux/Incus/content-type":"filesystem"}}}}}}"#
    )
}

fn lookup_path(i: usize) -> String {
    format!("/v1/resource-definitions?props=Aux/Incus/name%3Dincus-volume-default_v{i}&props=Aux/Incus/type%3Dcustom")
}

struct Row {
    size: usize,
    floor_us: f64,
    lookup_us: f64,
    list_us_per_rd: f64,
    rss_mib: f64,
    create_us: f64,
}

/// Fills the controller up to `target` RDs from `from`, on `threads` connections; answers the
/// mean time per create.
fn create_range(
    addr: std::net::SocketAddr,
    from: usize,
    target: usize,
    threads: usize,
) -> Result<f64, String> {
    let started = Instant::now();
    let chunks: Vec<(usize, usize)> = (0..threads)
        .map(|t| {
            let per = (target - from).div_ceil(threads);
            let lo = from + t * per;
            (lo.min(target), (lo + per).min(target))
        })
        .collect();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(lo, hi)| {
                scope.spawn(move || -> Result<(), String> {
                    let mut http = Http::connect(addr).map_err(|e| e.to_string())?;
                    for i in lo..hi {
                        let response = http
                            .request("POST", "/v1/resource-definitions", Some(&create_body(i)))
                            .map_err(|e| e.to_string())?;
                        if response.status != 201 {
                            return Err(format!("create {i} answered {}", response.status));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a create thread panicked".into())))
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(micros(started.elapsed()) / (target - from).max(1) as f64)
}

/// Lets the machine finish the writeback of the creates (thousands of fsynced commits) before
/// measuring, so that the measurements see the controller and not the disk.
fn settle() {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    std::thread::sleep(std::time::Duration::from_secs(2));
}

pub fn run(binary: &Path) -> Result<(), String> {
    let dir = TempDir::new("scale")?;
    let addr = free_addr()?;
    let (strand, _) = Strand::start(binary, &["controller"], &dir.0, addr)?;
    let mut http = Http::connect(addr).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut created = 0;
    for size in SIZES {
        let create_us = create_range(addr, created, size, 4)?;
        created = size;
        settle();
        let mut check = |path: &str| -> Result<usize, String> {
            let response = http.get(path).map_err(|e| e.to_string())?;
            let list: serde_json::Value =
                serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
            Ok(list.as_array().map_or(0, Vec::len))
        };
        if check(&lookup_path(size / 2))? != 1 || check("/v1/resource-definitions")? != size {
            return Err(format!("the controller does not answer the expected RDs at {size}"));
        }
        // Floor and lookup requests alternate, so that drift of the machine hits both alike.
        let (mut lookups, mut floors) = (Vec::new(), Vec::new());
        let mut n = 0usize;
        for _ in 0..LOOKUPS {
            n = (n * 7919 + 13) % size;
            let started = Instant::now();
            let _ = http.get(&lookup_path(n));
            lookups.push(started.elapsed());
            let started = Instant::now();
            let _ = http.get("/v1/controller/version");
            floors.push(started.elapsed());
        }
        let (lookup, floor) = (median_of(lookups), median_of(floors));
        let list = median(5, || {
            let _ = http.get("/v1/resource-definitions");
        });
        rows.push(Row {
            size,
            floor_us: micros(floor),
            lookup_us: micros(lookup),
            list_us_per_rd: micros(list) / size as f64,
            rss_mib: rss_kib(strand.pid()).unwrap_or(0) as f64 / 1024.0,
            create_us,
        });
    }
    drop(http);
    drop(strand);
    let (restarted, cold_start) = Strand::start(binary, &["controller"], &dir.0, addr)?;
    let mut http = Http::connect(addr).map_err(|e| e.to_string())?;
    let listed = http.get("/v1/resource-definitions").map_err(|e| e.to_string())?;
    let count = serde_json::from_slice::<serde_json::Value>(&listed.body)
        .map_err(|e| e.to_string())?
        .as_array()
        .map_or(0, Vec::len);
    let rss_after_start = rss_kib(restarted.pid()).unwrap_or(0) as f64 / 1024.0;
    drop(restarted);

    println!("## Controller at scale (RDs with three Aux props each)\n");
    println!("| RDs | floor: GET version p50 | props lookup p50 | lookup / floor | list: per RD | create: per RD | RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {:.0} µs | {:.0} µs | {:.2}x | {:.2} µs | {:.0} µs | {:.1} MiB |",
            row.size,
            row.floor_us,
            row.lookup_us,
            row.lookup_us / row.floor_us,
            row.list_us_per_rd,
            row.create_us,
            row.rss_mib
        );
    }
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    println!();
    println!(
        "lookup at {} vs at {}, each against the floor measured with it: {:.2}x (target <= 1.5x)",
        last.size,
        first.size,
        (last.lookup_us / last.floor_us) / (first.lookup_us / first.floor_us)
    );
    println!(
        "lookup at {} vs at {}, raw: {:.2}x (the floor itself moved {:.2}x between the two: the machine, not the lookup)",
        last.size,
        first.size,
        last.lookup_us / first.lookup_us,
        last.floor_us / first.floor_us
    );
    println!("lookup at {} vs floor: {:.2}x (target <= 3x)", last.size, last.lookup_us / last.floor_us);
    println!(
        "list per RD at {} vs at {}: {:.2}x (linear listing: ~1x)",
        last.size,
        rows[1].size,
        last.list_us_per_rd / rows[1].list_us_per_rd
    );
    println!(
        "RSS at {}: {:.1} MiB (target < 100 MiB); right after a cold start: {rss_after_start:.1} MiB",
        last.size, last.rss_mib
    );
    println!(
        "cold start with {count} RDs: {:.0} ms until /health answers",
        cold_start.as_secs_f64() * 1000.0
    );
    Ok(())
}
