//! Spawning and deploying a 1 GiB FILE_THIN volume through the API (`strand up`), against the
//! floor: `truncate` and `losetup` run by hand on the same filesystem as the pool's files.

use crate::http::Http;
use crate::process::{free_addr, release_loops_under, run_command, Strand, TempDir};
use crate::stats::{median, micros};
use std::path::Path;

const RUNS: usize = 15;
const GIB_KIB: u64 = 1 << 20;

fn checked(response: std::io::Result<crate::http::Response>, what: &str) -> Result<(), String> {
    let response = response.map_err(|e| format!("{what}: {e}"))?;
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let failed = body.as_array().is_some_and(|entries| {
        entries.iter().any(|e| e["ret_code"].as_i64().is_some_and(|rc| (rc >> 62) & 3 == 3))
    });
    if response.status >= 400 || failed {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&response.body)));
    }
    Ok(())
}

pub fn run(binary: &Path) -> Result<(), String> {
    if unsafe_geteuid() != 0 {
        return Err("the spawn benchmark needs root (loop devices)".into());
    }
    let dir = TempDir::new("spawn")?;
    let addr = free_addr()?;
    let dev_dir = dir.0.join("dev");
    let node = format!("bench-{}", std::process::id());
    let dev_dir_text = dev_dir.display().to_string();
    let (strand, _) = Strand::start(
        binary,
        &["up", "--dev-dir", &dev_dir_text, "--node-name", &node],
        &dir.0.join("data"),
        addr,
    )?;
    let mut http = Http::connect(addr).map_err(|e| e.to_string())?;
    checked(
        http.request(
            "POST",
            "/v1/resource-groups",
            Some(r#"{"name":"bench","select_filter":{"place_count":1,"storage_pool":"DfltStorPool"}}"#),
        ),
        "resource group",
    )?;
    let mut n = 0;
    let mut failure = None;
    let api = median(RUNS, || {
        n += 1;
        let body = format!(r#"{{"resource_definition_name":"spawn{n}","volume_sizes":[{GIB_KIB}]}}"#);
        if let Err(err) =
            checked(http.request("POST", "/v1/resource-groups/bench/spawn", Some(&body)), "spawn")
        {
            failure.get_or_insert(err);
        }
    });
    for i in 1..=n {
        let _ = http.request("DELETE", &format!("/v1/resource-definitions/spawn{i}"), None);
    }
    if let Some(err) = failure {
        return Err(err);
    }

    // Next to the pool's files: the XFS image of `strand up`, or the data directory itself
    // where it has reflink.
    let floor_dir = dir.0.join("data").join("pools").join("floor");
    std::fs::create_dir_all(&floor_dir).map_err(|e| e.to_string())?;
    let mut floor_failure = None;
    let mut i = 0;
    let floor = median(RUNS, || {
        i += 1;
        let file = floor_dir.join(format!("f{i}.img")).display().to_string();
        let result = run_command("truncate", &["-s", "1G", &file])
            .and_then(|_| run_command("losetup", &["-f", "--show", "--direct-io=on", &file]));
        if let Err(err) = result {
            floor_failure.get_or_insert(err);
        }
    });
    release_loops_under(&floor_dir);
    let _ = std::fs::remove_dir_all(&floor_dir);
    drop(strand);
    if let Some(err) = floor_failure {
        return Err(err);
    }

    println!("## Spawn and deploy a 1 GiB FILE_THIN volume (`strand up`)\n");
    println!("| what | median of {RUNS} |");
    println!("|---|---:|");
    println!(
        "| floor: `truncate -s 1G` + `losetup -f --show --direct-io=on` by hand | {:.2} ms |",
        micros(floor) / 1000.0
    );
    println!(
        "| `POST /v1/resource-groups/bench/spawn` (1 GiB, place_count 1) until answered | {:.2} ms |",
        micros(api) / 1000.0
    );
    println!();
    println!("spawn vs floor: {:.2}x (target <= 1.5x)", api.as_secs_f64() / floor.as_secs_f64());
    Ok(())
}

fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
