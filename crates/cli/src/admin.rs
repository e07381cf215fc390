//! `strand admin`: administration of the storage daemon.
//!
//! `strand admin recover` rebuilds the storage daemon's database (`DATA/storage.db`) from the
//! LINSTOR side after it was lost: pools from their resource groups' `Aux/Incus/pool-*`
//! records, volumes from their resource definitions' `Aux/Incus/*` properties. It runs while
//! the daemon runs (`POST /1.0/strand/recover`), writes only the rows that are missing and
//! reports what it found, what it recovered and what it skipped, with the reason.

use crate::storage::client::{socket_in, Daemon};
use crate::storage::format::{table, yaml};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Rebuild the storage daemon's database from LINSTOR (pools and volumes it lost).
    Recover {
        /// Data directory of the storage daemon (its socket is DIR/unix.socket).
        #[arg(long, env = "STRAND_DIR", default_value = crate::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Only report what would be recovered.
        #[arg(long)]
        dry_run: bool,
        /// Output format of the report.
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Table,
    Json,
    Yaml,
}

pub fn run(args: Args) -> Result<(), String> {
    match args.command {
        Command::Recover { data_dir, dry_run, format } => recover(&data_dir, dry_run, format),
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn recover(data_dir: &std::path::Path, dry_run: bool, format: ReportFormat) -> Result<(), String> {
    let daemon = Daemon::new(socket_in(data_dir));
    let report =
        daemon.request("POST", "/1.0/strand/recover", Some(&json!({"dry_run": dry_run})), None)?.metadata;
    match format {
        ReportFormat::Json => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
        ReportFormat::Yaml => print!("{}", yaml(&report)),
        ReportFormat::Table => print!("{}", render(&report)),
    }
    Ok(())
}

/// The report as tables and a summary line.
fn render(report: &Value) -> String {
    let dry_run = report["dry_run"].as_bool().unwrap_or(false);
    let status = |value: &Value| match value.as_str() {
        Some("recovered") if dry_run => "to recover".to_string(),
        Some("present") => "already known".to_string(),
        other => other.unwrap_or_default().to_string(),
    };
    let pools = items(&report["pools"]);
    let volumes = items(&report["volumes"]);
    let skipped = items(&report["skipped"]);
    let mut out = String::new();
    if !pools.is_empty() {
        let rows: Vec<Vec<String>> =
            pools.iter().map(|p| vec![text(&p["name"]), status(&p["status"])]).collect();
        out.push_str("Storage pools found on LINSTOR:\n");
        out.push_str(&table(&["NAME", "STATUS"], &rows));
    }
    if !volumes.is_empty() {
        let rows: Vec<Vec<String>> = volumes
            .iter()
            .map(|v| {
                vec![
                    text(&v["pool"]),
                    text(&v["project"]),
                    text(&v["type"]),
                    text(&v["name"]),
                    text(&v["content_type"]),
                    text(&v["size"]),
                    status(&v["status"]),
                ]
            })
            .collect();
        out.push_str("Storage volumes found on LINSTOR:\n");
        out.push_str(&table(&["POOL", "PROJECT", "TYPE", "NAME", "CONTENT-TYPE", "SIZE", "STATUS"], &rows));
    }
    for item in skipped {
        let pool = text(&item["pool"]);
        if pool.is_empty() {
            out.push_str(&format!("Skipped: {}\n", text(&item["reason"])));
        } else {
            out.push_str(&format!("Skipped in storage pool \"{pool}\": {}\n", text(&item["reason"])));
        }
    }
    let new_pools = pools.iter().filter(|p| p["status"] == "recovered").count();
    let new_volumes = volumes.iter().filter(|v| v["status"] == "recovered").count();
    let verb = if dry_run { "Would recover" } else { "Recovered" };
    out.push_str(&format!(
        "{verb} {} and {} ({} and {} already known; {} skipped)\n",
        count(new_pools, "storage pool", "storage pools"),
        count(new_volumes, "volume", "volumes"),
        count(pools.len() - new_pools, "pool", "pools"),
        count(volumes.len() - new_volumes, "volume", "volumes"),
        skipped.len(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_table() {
        let report = json!({
            "dry_run": false,
            "pools": [{"name": "default", "status": "recovered"}],
            "volumes": [{"pool": "default", "project": "default", "type": "custom", "name": "vol",
                         "content_type": "filesystem", "size": "1GiB", "status": "recovered"},
                        {"pool": "default", "project": "default", "type": "container", "name": "c1",
                         "content_type": "filesystem", "size": "10GiB", "status": "present"}],
            "skipped": [{"pool": "default", "reason": "resource definition x: unknown Aux/Incus/type \"bogus\""}],
        });
        let text = render(&report);
        assert!(text.contains("| default | recovered |"), "{text}");
        assert!(
            text.contains("| default | default | custom    | vol  | filesystem   | 1GiB  | recovered     |"),
            "{text}"
        );
        assert!(text.contains("already known"), "{text}");
        assert!(text.contains("Skipped in storage pool \"default\": resource definition x"), "{text}");
        assert!(text.ends_with(
            "Recovered 1 storage pool and 1 volume (0 pools and 1 volume already known; 1 skipped)\n"
        ));
    }
}
