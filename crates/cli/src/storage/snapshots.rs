//! `strand storage volume snapshot ...`: Incus's snapshot commands (`create`, `delete`,
//! `list`, `rename`, `restore`, `show`) and Strand's read-only `mount` and `unmount` of a
//! snapshot on this machine.

use super::client::{segment, Daemon, Error, Result};
use super::format::{print_list, yaml, Format};
use super::volumes::{split_volume, with_project};
use serde_json::json;

#[derive(clap::Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot of a volume: `create POOL [TYPE/]VOLUME [SNAPSHOT]` (named by the
    /// volume's `snapshots.pattern` when no name is given).
    Create {
        pool: String,
        volume: String,
        snapshot: Option<String>,
        /// Ignore the volume's `snapshots.expiry` (the snapshot never expires).
        #[arg(long)]
        no_expiry: bool,
        /// Replace a snapshot of that name if there is one.
        #[arg(long)]
        reuse: bool,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Delete a snapshot.
    #[command(visible_alias = "rm")]
    Delete {
        pool: String,
        volume: String,
        snapshot: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// List the snapshots of a volume.
    #[command(visible_alias = "ls")]
    List {
        pool: String,
        volume: String,
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: Format,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Rename a snapshot.
    #[command(visible_alias = "mv")]
    Rename {
        pool: String,
        volume: String,
        snapshot: String,
        new_name: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Restore a volume to one of its snapshots (newer snapshots are kept).
    Restore {
        pool: String,
        volume: String,
        snapshot: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Show a snapshot.
    Show {
        pool: String,
        volume: String,
        snapshot: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Mount a snapshot read-only on this machine at PATH (a copy of it: the volume may be in
    /// use meanwhile); without PATH, print where it is mounted (or its device).
    Mount {
        pool: String,
        volume: String,
        snapshot: String,
        path: Option<String>,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Unmount a snapshot mounted with `mount` (its temporary copy goes with the last user).
    #[command(visible_alias = "umount")]
    Unmount {
        pool: String,
        volume: String,
        snapshot: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
}

impl SnapshotCommand {
    /// The pool and volume the command is about, for its error messages.
    pub fn names(&self) -> (Option<&str>, Option<&str>) {
        match self {
            SnapshotCommand::Create { pool, volume, .. }
            | SnapshotCommand::Delete { pool, volume, .. }
            | SnapshotCommand::List { pool, volume, .. }
            | SnapshotCommand::Rename { pool, volume, .. }
            | SnapshotCommand::Restore { pool, volume, .. }
            | SnapshotCommand::Show { pool, volume, .. }
            | SnapshotCommand::Mount { pool, volume, .. }
            | SnapshotCommand::Unmount { pool, volume, .. } => (Some(pool), Some(volume)),
        }
    }
}

/// `/1.0/storage-pools/<pool>/volumes/<type>/<volume>[/<sub>]` without the project.
fn volume_base(pool: &str, volume: &str) -> Result<String> {
    let (kind, name) = split_volume(volume)?;
    Ok(format!("/1.0/storage-pools/{}/volumes/{kind}/{}", segment(pool), segment(name)))
}

fn snapshot_path(pool: &str, volume: &str, snapshot: &str, sub: &str, project: &str) -> Result<String> {
    let mut path = format!("{}/snapshots/{}", volume_base(pool, volume)?, segment(snapshot));
    if !sub.is_empty() {
        path.push('/');
        path.push_str(sub);
    }
    Ok(with_project(path, project))
}

/// "not found" answers name the snapshot.
fn name_snapshot(err: Error, snapshot: &str, volume: &str) -> Error {
    if err.status == 404 && err.message == "Storage volume snapshot not found" {
        return Error {
            status: 404,
            message: format!("Storage volume snapshot \"{snapshot}\" not found for volume \"{volume}\""),
        };
    }
    err
}

pub fn run(daemon: &Daemon, command: SnapshotCommand) -> Result<()> {
    match command {
        SnapshotCommand::Create { pool, volume, snapshot, no_expiry, reuse, description, project } => {
            // The volume first: its "not found" is clearer than the snapshot's.
            daemon.get(&with_project(volume_base(&pool, &volume)?, &project))?;
            if let (true, Some(name)) = (reuse, snapshot.as_deref()) {
                let path = snapshot_path(&pool, &volume, name, "", &project)?;
                match daemon.get(&path) {
                    Ok(_) => {
                        daemon.request("DELETE", &path, None, None)?;
                    }
                    Err(err) if err.status == 404 => {}
                    Err(err) => return Err(err),
                }
            }
            let mut body = json!({"name": snapshot.clone().unwrap_or_default()});
            if no_expiry {
                body["expires_at"] = json!("0001-01-01T00:00:00Z");
            }
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            let path = with_project(format!("{}/snapshots", volume_base(&pool, &volume)?), &project);
            let answer = daemon.request("POST", &path, Some(&body), None)?;
            if snapshot.is_none() {
                let url = answer
                    .operation
                    .as_ref()
                    .and_then(|op| op["resources"]["storage_volume_snapshots"][0].as_str())
                    .ok_or("Didn't get name of new volume snapshot from the server")?;
                let name = url.split('?').next().unwrap_or(url).rsplit('/').next().unwrap_or_default();
                println!("Volume snapshot name is: {}", percent_decode(name));
            }
            Ok(())
        }
        SnapshotCommand::Delete { pool, volume, snapshot, project } => {
            let path = snapshot_path(&pool, &volume, &snapshot, "", &project)?;
            daemon.request("DELETE", &path, None, None).map_err(|e| name_snapshot(e, &snapshot, &volume))?;
            Ok(())
        }
        SnapshotCommand::List { pool, volume, format, project } => {
            list(daemon, &pool, &volume, format, &project)
        }
        SnapshotCommand::Rename { pool, volume, snapshot, new_name, project } => {
            let path = snapshot_path(&pool, &volume, &snapshot, "", &project)?;
            daemon
                .request("POST", &path, Some(&json!({"name": new_name})), None)
                .map_err(|e| name_snapshot(e, &snapshot, &volume))?;
            println!("Renamed storage volume snapshot from \"{snapshot}\" to \"{new_name}\"");
            Ok(())
        }
        SnapshotCommand::Restore { pool, volume, snapshot, project } => {
            let path = with_project(volume_base(&pool, &volume)?, &project);
            let current = daemon.get(&path)?;
            let body = json!({"config": null, "description": "", "restore": snapshot});
            daemon
                .request("PUT", &path, Some(&body), current.etag.as_deref())
                .map_err(|e| name_snapshot(e, &snapshot, &volume))?;
            Ok(())
        }
        SnapshotCommand::Show { pool, volume, snapshot, project } => {
            let path = snapshot_path(&pool, &volume, &snapshot, "", &project)?;
            let found = daemon.get(&path).map_err(|e| name_snapshot(e, &snapshot, &volume))?;
            print!("{}", yaml(&found.metadata));
            Ok(())
        }
        SnapshotCommand::Mount { pool, volume, snapshot, path, project } => {
            let url = snapshot_path(&pool, &volume, &snapshot, "mount", &project)?;
            let answer = daemon
                .request("POST", &url, Some(&json!({"path": path})), None)
                .map_err(|e| name_snapshot(e, &snapshot, &volume))?;
            let meta = &answer.metadata;
            println!("{}", meta["path"].as_str().or(meta["device"].as_str()).unwrap_or_default());
            Ok(())
        }
        SnapshotCommand::Unmount { pool, volume, snapshot, project } => {
            let url = snapshot_path(&pool, &volume, &snapshot, "unmount", &project)?;
            daemon
                .request("POST", &url, Some(&json!({})), None)
                .map_err(|e| name_snapshot(e, &snapshot, &volume))?;
            Ok(())
        }
    }
}

fn list(daemon: &Daemon, pool: &str, volume: &str, format: Format, project: &str) -> Result<()> {
    daemon.get(&with_project(volume_base(pool, volume)?, project))?;
    let mut path = format!("{}/snapshots?recursion=1", volume_base(pool, volume)?);
    if project != "default" {
        path.push_str(&format!("&project={}", segment(project)));
    }
    let snapshots = daemon.get(&path)?.metadata;
    let rows: Vec<Vec<String>> = snapshots
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or_default();
            vec![
                name.rsplit_once('/').map_or(name, |(_, snap)| snap).to_string(),
                s["created_at"].as_str().map(local_time).unwrap_or_default(),
                s["expires_at"].as_str().map(local_time).unwrap_or_default(),
            ]
        })
        .collect();
    print_list(format, &["NAME", "TAKEN AT", "EXPIRES AT"], &rows, &snapshots);
    Ok(())
}

/// Undoes the percent-encoding of a URL segment.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An RFC 3339 UTC time of the daemon as Incus's lists show times: local, `2006/01/02 15:04
/// MST`. Go's zero time (no time) is empty.
fn local_time(text: &str) -> String {
    if text.is_empty() || text.starts_with("0001-01-01") {
        return String::new();
    }
    let Some(secs) = utc_seconds(text) else { return text.to_string() };
    let Some(t) = libc::time_t::try_from(secs).ok() else { return text.to_string() };
    // SAFETY: tm is plain data; localtime_r fills it from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return text.to_string();
    }
    let mut buf = [0u8; 64];
    // SAFETY: the format is NUL-terminated, the buffer's size is passed, tm was filled above.
    let len =
        unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Y/%m/%d %H:%M %Z".as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS...Z`.
fn utc_seconds(text: &str) -> Option<i64> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !text.ends_with(['Z', 'z']) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_names() {
        assert_eq!(utc_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(utc_seconds("2026-02-01T00:00:00.123456789Z"), Some(1_769_904_000));
        assert_eq!(utc_seconds("2026-02-01T00:00:00+01:00"), None);
        assert_eq!(local_time("0001-01-01T00:00:00Z"), "");
        assert!(local_time("2026-02-01T00:00:00Z").starts_with("2026/0"));
        assert_eq!(percent_decode("snap%200"), "snap 0");
        assert_eq!(percent_decode("snap0"), "snap0");
        assert_eq!(percent_decode("bad%2"), "bad%2");
        let err = name_snapshot(
            Error { status: 404, message: "Storage volume snapshot not found".into() },
            "s",
            "v",
        );
        assert_eq!(err.message, "Storage volume snapshot \"s\" not found for volume \"v\"");
    }
}
