//! `strand storage volume copy|export|import` and `create --image`: volumes from other volumes,
//! from images and from backup files, as daemon operations followed with a progress line.

use super::client::{segment, Daemon, Result};
use super::transfer;
use super::volumes::{split_volume, with_project};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// `copy SOURCE TARGET`.
#[derive(clap::Args)]
pub struct CopyArgs {
    /// `POOL/VOLUME` or `POOL/VOLUME/SNAPSHOT` (`POOL/TYPE/NAME[/SNAPSHOT]` for other types than
    /// custom).
    pub source: String,
    /// `POOL/NAME` of the new volume (the same pool).
    pub target: String,
    /// Copy the volume without its snapshots.
    #[arg(long)]
    pub volume_only: bool,
    #[arg(long, default_value = "default")]
    pub project: String,
}

/// `export POOL VOLUME FILE`.
#[derive(clap::Args)]
pub struct ExportArgs {
    pub pool: String,
    pub volume: String,
    /// The backup file to write (default `backup.tar.gz`).
    pub file: Option<PathBuf>,
    /// Export the volume without its snapshots.
    #[arg(long)]
    pub volume_only: bool,
    /// gzip (default), xz, zstd, bzip2 or none.
    #[arg(long, default_value = "gzip")]
    pub compression: String,
    #[arg(long, default_value = "default")]
    pub project: String,
}

/// `import POOL FILE [NAME]`.
#[derive(clap::Args)]
pub struct ImportArgs {
    pub pool: String,
    /// A backup file written by `export` (or by `incus storage volume export`).
    pub file: PathBuf,
    /// The new volume's name (default: the name in the backup).
    pub name: Option<String>,
    #[arg(long, default_value = "default")]
    pub project: String,
}

/// `POOL/VOLUME[/SNAPSHOT]` (or `POOL/TYPE/NAME[/SNAPSHOT]`): pool, type, name, snapshot.
fn parse_source(text: &str) -> Result<(String, String, String, Option<String>)> {
    let parts: Vec<&str> = text.split('/').collect();
    let bad = || format!("Invalid volume \"{text}\": give POOL/VOLUME or POOL/VOLUME/SNAPSHOT").into();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let typed = parts.len() >= 3
        && split_volume(&format!("{}/{}", parts[1], parts[2])).is_ok()
        && parts[1] != parts[2];
    let typed = typed && ["custom", "container", "virtual-machine", "image"].contains(&parts[1]);
    match (typed, parts.as_slice()) {
        (true, [pool, kind, name]) => Ok((pool.to_string(), kind.to_string(), name.to_string(), None)),
        (true, [pool, kind, name, snap]) => {
            Ok((pool.to_string(), kind.to_string(), name.to_string(), Some(snap.to_string())))
        }
        (false, [pool, name]) => Ok((pool.to_string(), "custom".into(), name.to_string(), None)),
        (false, [pool, name, snap]) => {
            Ok((pool.to_string(), "custom".into(), name.to_string(), Some(snap.to_string())))
        }
        _ => Err(bad()),
    }
}

pub fn copy(daemon: &Daemon, args: CopyArgs) -> Result<()> {
    let (src_pool, kind, src_name, snapshot) = parse_source(&args.source)?;
    let (dst_pool, dst_name) = match args.target.split_once('/') {
        Some((pool, name)) if !pool.is_empty() && !name.is_empty() && !name.contains('/') => (pool, name),
        _ => return Err(format!("Invalid target \"{}\": give POOL/NAME", args.target).into()),
    };
    let source_name = match &snapshot {
        Some(snap) => format!("{src_name}/{snap}"),
        None => src_name.clone(),
    };
    let body = json!({
        "name": dst_name,
        "type": kind,
        "source": {"type": "copy", "name": source_name, "pool": src_pool, "volume_only": args.volume_only},
    });
    let path =
        with_project(format!("/1.0/storage-pools/{}/volumes/{kind}", segment(dst_pool)), &args.project);
    let envelope = transfer::send_json(daemon, "POST", &path, &body)?;
    transfer::wait(daemon, &envelope, "Copying")?;
    println!("Storage volume copied successfully!");
    Ok(())
}

/// `create POOL TYPE/NAME --image FP [KEY=VALUE...]`.
pub fn create_from_image(
    daemon: &Daemon,
    pool: &str,
    volume: &str,
    image: &str,
    config: Map<String, Value>,
    description: Option<String>,
    project: &str,
) -> Result<()> {
    let (kind, name) = split_volume(volume)?;
    if !matches!(kind, "container" | "virtual-machine") {
        return Err(format!(
            "Only container and virtual-machine volumes are made from images (give container/{name} or virtual-machine/{name})"
        )
        .into());
    }
    let body = json!({
        "name": name,
        "type": kind,
        "config": config,
        "description": description.unwrap_or_default(),
        "source": {"type": "image", "fingerprint": image},
    });
    let path = with_project(format!("/1.0/storage-pools/{}/volumes/{kind}", segment(pool)), project);
    let envelope = transfer::send_json(daemon, "POST", &path, &body)?;
    transfer::wait(daemon, &envelope, "Creating")?;
    println!("Storage volume {volume} created");
    Ok(())
}

fn backups_path(pool: &str, volume: &str, project: &str, sub: &str) -> Result<String> {
    let (kind, name) = split_volume(volume)?;
    if kind != "custom" {
        return Err("Only custom volumes are exported (as Incus does)".into());
    }
    Ok(with_project(
        format!("/1.0/storage-pools/{}/volumes/custom/{}/backups{sub}", segment(pool), segment(name)),
        project,
    ))
}

pub fn export(daemon: &Daemon, args: ExportArgs) -> Result<()> {
    let file = args.file.unwrap_or_else(|| PathBuf::from("backup.tar.gz"));
    if file.exists() {
        return Err(format!("{} exists already", file.display()).into());
    }
    let body = json!({
        "name": "",
        "volume_only": args.volume_only,
        "optimized_storage": false,
        "compression_algorithm": args.compression,
    });
    let envelope = transfer::send_json(
        daemon,
        "POST",
        &backups_path(&args.pool, &args.volume, &args.project, "")?,
        &body,
    )?;
    let op = transfer::wait(daemon, &envelope, "Backing up")?;
    let backup = op["resources"]["backups"]
        .as_array()
        .and_then(|list| list.first())
        .and_then(Value::as_str)
        .and_then(|url| url.rsplit('/').next())
        .map(str::to_string)
        .ok_or("the daemon did not name the backup it made")?;
    let sub = format!("/{}", segment(&backup));
    let download_path = {
        let base = backups_path(&args.pool, &args.volume, &args.project, &sub)?;
        match base.split_once('?') {
            Some((path, query)) => format!("{path}/export?{query}"),
            None => format!("{base}/export"),
        }
    };
    let result = transfer::download(daemon, &download_path, &file, "Exporting");
    // The backup is the daemon's copy: it goes whether the download worked or not.
    let removed =
        daemon.request("DELETE", &backups_path(&args.pool, &args.volume, &args.project, &sub)?, None, None);
    let bytes = result?;
    removed?;
    println!("Backup exported successfully! ({} written to {})", super::iec(bytes), file.display());
    Ok(())
}

pub fn import(daemon: &Daemon, args: ImportArgs) -> Result<()> {
    let mut headers = Vec::new();
    if let Some(name) = &args.name {
        headers.push(("X-Incus-name", name.clone()));
    }
    let path =
        with_project(format!("/1.0/storage-pools/{}/volumes/custom", segment(&args.pool)), &args.project);
    let envelope = transfer::upload(daemon, "POST", &path, &args.file, &headers, "Uploading")?;
    transfer::wait(daemon, &envelope, "Importing")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let s = |t: &str| parse_source(t).map_err(|e| e.message);
        assert_eq!(s("p/v").unwrap(), ("p".into(), "custom".into(), "v".into(), None));
        assert_eq!(s("p/v/s0").unwrap(), ("p".into(), "custom".into(), "v".into(), Some("s0".into())));
        assert_eq!(s("p/container/c1").unwrap(), ("p".into(), "container".into(), "c1".into(), None));
        assert_eq!(
            s("p/virtual-machine/v1/snap").unwrap(),
            ("p".into(), "virtual-machine".into(), "v1".into(), Some("snap".into()))
        );
        assert!(s("p").is_err());
        assert!(s("p//v").is_err());
        assert!(s("p/a/b/c/d").is_err());
    }
}
