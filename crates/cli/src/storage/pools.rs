//! `strand storage create|list|show|get|set|unset|delete|info`.

use super::client::{segment, Daemon, Result};
use super::format::{print_list, yaml, Format};
use super::iec;
use serde_json::{json, Map, Value};

fn pool_path(pool: &str) -> String {
    format!("/1.0/storage-pools/{}", segment(pool))
}

fn config_of(assignments: &[String]) -> Result<Map<String, Value>> {
    assignments
        .iter()
        .map(|arg| {
            arg.split_once('=')
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .ok_or_else(|| format!("'{arg}' is not KEY=VALUE").into())
        })
        .collect()
}

pub fn create(
    daemon: &Daemon,
    pool: &str,
    driver: &str,
    config: &[String],
    description: Option<String>,
) -> Result<()> {
    let body = json!({"name": pool, "driver": driver, "config": config_of(config)?, "description": description.unwrap_or_default()});
    daemon.request("POST", "/1.0/storage-pools", Some(&body), None)?;
    println!("Storage pool {pool} created");
    Ok(())
}

pub fn list(daemon: &Daemon, format: Format) -> Result<()> {
    let pools = daemon.get("/1.0/storage-pools?recursion=1")?.metadata;
    let mut rows: Vec<Vec<String>> = pools
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            vec![
                p["name"].as_str().unwrap_or_default().to_string(),
                p["driver"].as_str().unwrap_or_default().to_string(),
                p["description"].as_str().unwrap_or_default().to_string(),
                p["used_by"].as_array().map_or(0, Vec::len).to_string(),
                p["status"].as_str().unwrap_or_default().to_ascii_uppercase(),
            ]
        })
        .collect();
    rows.sort();
    print_list(format, &["NAME", "DRIVER", "DESCRIPTION", "USED BY", "STATE"], &rows, &pools);
    Ok(())
}

pub fn show(daemon: &Daemon, pool: &str) -> Result<()> {
    print!("{}", yaml(&daemon.get(&pool_path(pool))?.metadata));
    Ok(())
}

pub fn get(daemon: &Daemon, pool: &str, key: &str) -> Result<()> {
    let found = daemon.get(&pool_path(pool))?.metadata;
    println!("{}", found["config"][key].as_str().unwrap_or_default());
    Ok(())
}

/// Reads the pool, changes its config with `change`, and writes it back guarded by its ETag.
fn update(
    daemon: &Daemon,
    pool: &str,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<()>,
) -> Result<()> {
    let answer = daemon.get(&pool_path(pool))?;
    let mut config = answer.metadata["config"].as_object().cloned().unwrap_or_default();
    change(&mut config)?;
    let body = json!({"config": config, "description": answer.metadata["description"]});
    daemon.request("PUT", &pool_path(pool), Some(&body), answer.etag.as_deref())?;
    Ok(())
}

pub fn set(daemon: &Daemon, pool: &str, assignments: &[(String, String)]) -> Result<()> {
    update(daemon, pool, |config| {
        for (key, value) in assignments {
            config.insert(key.clone(), Value::String(value.clone()));
        }
        Ok(())
    })
}

pub fn unset(daemon: &Daemon, pool: &str, key: &str) -> Result<()> {
    update(daemon, pool, |config| {
        config.remove(key).map(|_| ()).ok_or_else(|| format!("The key \"{key}\" does not exist").into())
    })
}

pub fn delete(daemon: &Daemon, pool: &str) -> Result<()> {
    daemon.request("DELETE", &pool_path(pool), None, None)?;
    println!("Storage pool {pool} deleted");
    Ok(())
}

pub fn info(daemon: &Daemon, pool: &str) -> Result<()> {
    let found = daemon.get(&pool_path(pool))?.metadata;
    let resources = daemon.get(&format!("{}/resources", pool_path(pool)))?.metadata;
    let used = resources["space"]["used"].as_u64().unwrap_or(0);
    let total = resources["space"]["total"].as_u64().unwrap_or(0);
    let mut volumes: Vec<String> = found["used_by"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|u| u.as_str())
        .filter_map(|u| u.split('?').next())
        .filter_map(|u| u.rsplit('/').next().map(str::to_string))
        .collect();
    volumes.sort();
    let info = json!({
        "info": {
            "description": found["description"],
            "driver": found["driver"],
            "name": found["name"],
            "space used": iec(used),
            "total space": iec(total),
        },
        "used by": {"volumes": volumes},
    });
    print!("{}", yaml(&info));
    Ok(())
}
