//! `GET /v1/view/resources` with 100 and 1,000 resources spread over three satellites in
//! network namespaces (the `testbed` harness), against the HTTP floor (`GET
//! /v1/controller/version`) measured in the same run. Every resource has one real volume (a
//! loop device on its satellite). The view must come from the controller's memory: it is
//! also measured with every satellite stopped (SIGSTOP).

use crate::http::Http;
use crate::stats::{median, micros};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use testbed::Cluster;

const SIZES: [usize; 2] = [100, 1_000];
const NODES: [&str; 3] = ["bench-a", "bench-b", "bench-c"];
const VOLUME_KIB: u64 = 4096;
const FLOOR_RUNS: usize = 300;

fn checked(
    response: std::io::Result<crate::http::Response>,
    what: &str,
) -> Result<serde_json::Value, String> {
    let response = response.map_err(|e| format!("{what}: {e}"))?;
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let failed = body.as_array().is_some_and(|entries| {
        entries.iter().any(|e| e["ret_code"].as_i64().is_some_and(|rc| (rc >> 62) & 3 == 3))
    });
    if response.status >= 400 || failed {
        return Err(format!(
            "{what} failed ({}): {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    Ok(body)
}

fn node_status(http: &mut Http, node: &str) -> Result<String, String> {
    let body = checked(http.get(&format!("/v1/nodes/{node}")), "node get")?;
    Ok(body["connection_status"].as_str().unwrap_or_default().to_string())
}

fn add_nodes(http: &mut Http, cluster: &Cluster) -> Result<(), String> {
    for (sat, name) in cluster.satellites.iter().zip(NODES) {
        let node = serde_json::json!({
            "name": name,
            "type": "SATELLITE",
            "net_interfaces": [{"name": "default", "address": sat.addr.to_string(),
                                "satellite_port": testbed::SATELLITE_PORT}],
        });
        checked(http.request("POST", "/v1/nodes", Some(&node.to_string())), "node create")?;
        let started = Instant::now();
        while node_status(http, name)? != "ONLINE" {
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("node {name} did not come online"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let pool = serde_json::json!({
            "storage_pool_name": "DfltStorPool",
            "provider_kind": "FILE_THIN",
            "props": {"StorDriver/StorPoolName": sat.pools_dir.join("dflt").display().to_string()},
        });
        checked(
            http.request("POST", &format!("/v1/nodes/{name}/storage-pools"), Some(&pool.to_string())),
            "pool",
        )?;
    }
    Ok(())
}

/// Creates resources `from..to`, resource `i` on node `i % 3`, one thread per node.
fn create_resources(addr: SocketAddr, from: usize, to: usize) -> Result<(), String> {
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..NODES.len())
            .map(|t| {
                scope.spawn(move || -> Result<(), String> {
                    let mut http = Http::connect(addr).map_err(|e| e.to_string())?;
                    for i in (from..to).filter(|i| i % NODES.len() == t) {
                        let rd = format!("view-{i:05}");
                        let body = format!(r#"{{"resource_definition":{{"name":"{rd}"}}}}"#);
                        checked(http.request("POST", "/v1/resource-definitions", Some(&body)), "rd create")?;
                        let vd = format!(r#"{{"volume_definition":{{"size_kib":{VOLUME_KIB}}}}}"#);
                        let path = format!("/v1/resource-definitions/{rd}/volume-definitions");
                        checked(http.request("POST", &path, Some(&vd)), "vd create")?;
                        let path = format!("/v1/resource-definitions/{rd}/resources/{}", NODES[t]);
                        checked(http.request("POST", &path, Some("{}")), "resource create")?;
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
    results.into_iter().collect::<Result<Vec<()>, String>>().map(|_| ())
}

/// Checks the view lists `size` resources, each with an up-to-date volume.
fn check_view(http: &mut Http, size: usize) -> Result<usize, String> {
    let response = http.get("/v1/view/resources").map_err(|e| e.to_string())?;
    check_answer(&response, size)
}

fn check_answer(response: &crate::http::Response, size: usize) -> Result<usize, String> {
    let view: serde_json::Value = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
    let list = view.as_array().ok_or("the view is not a list")?;
    let up_to_date =
        list.iter().filter(|r| r["volumes"][0]["state"]["disk_state"].as_str() == Some("UpToDate")).count();
    if list.len() != size || up_to_date != size {
        return Err(format!(
            "the view lists {} resources, {up_to_date} up to date; expected {size}",
            list.len()
        ));
    }
    Ok(response.body.len())
}

struct Row {
    size: usize,
    floor_us: f64,
    view_us: f64,
    bytes: usize,
    create_s: f64,
}

impl Row {
    /// Microseconds per resource above the floor.
    fn per_resource(&self) -> f64 {
        (self.view_us - self.floor_us).max(0.0) / self.size as f64
    }
}

fn signal_all(cluster: &Cluster, signal: i32) {
    for sat in &cluster.satellites {
        if let Some(pid) = sat.pid().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: plain kill of a child process we started.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

pub fn run(binary: &Path) -> Result<(), String> {
    if let Some(why) = testbed::unavailable() {
        return Err(format!("the view-resources benchmark cannot run here: {why}"));
    }
    let cluster = Cluster::start("bench-view", binary, &NODES)?;
    let mut http = Http::connect(cluster.rest).map_err(|e| e.to_string())?;
    add_nodes(&mut http, &cluster)?;
    let mut rows = Vec::new();
    let mut created = 0;
    for size in SIZES {
        let started = Instant::now();
        create_resources(cluster.rest, created, size)?;
        let create_s = started.elapsed().as_secs_f64();
        created = size;
        let bytes = check_view(&mut http, size)?;
        let runs = if size <= 100 { 500 } else { 100 };
        // Interleaved, so that both see the same machine.
        let floor = median(FLOOR_RUNS, || {
            let _ = http.get("/v1/controller/version");
        });
        let view = median(runs, || {
            let _ = http.get("/v1/view/resources");
        });
        rows.push(Row { size, floor_us: micros(floor), view_us: micros(view), bytes, create_s });
    }

    // Served from memory: the same view with every satellite stopped.
    signal_all(&cluster, libc::SIGSTOP);
    let stopped = Instant::now();
    let frozen = http.get("/v1/view/resources").map_err(|e| e.to_string());
    let stopped_us = micros(stopped.elapsed());
    signal_all(&cluster, libc::SIGCONT);
    check_answer(&frozen?, created)?;

    println!("## GET /v1/view/resources over 3 satellites (one 4 MiB FILE_THIN volume per resource)\n");
    println!("| resources | floor: GET version p50 | view p50 | view / floor | per resource above floor | answer | created in |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {:.0} µs | {:.0} µs | {:.1}x | {:.2} µs | {} KiB | {:.1} s |",
            row.size,
            row.floor_us,
            row.view_us,
            row.view_us / row.floor_us,
            row.per_resource(),
            row.bytes / 1024,
            row.create_s
        );
    }
    let (small, large) = (&rows[0], &rows[rows.len() - 1]);
    println!();
    println!(
        "per resource at {} vs at {}: {:.2}x (target <= 1.2x)",
        large.size,
        small.size,
        large.per_resource() / small.per_resource()
    );
    println!(
        "view of {} resources with every satellite stopped (SIGSTOP): {:.0} µs, {:.2}x the running p50 \
         (served from the controller's memory)",
        created,
        stopped_us,
        stopped_us / large.view_us
    );
    Ok(())
}
