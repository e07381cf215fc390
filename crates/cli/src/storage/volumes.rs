//! `strand storage volume ...`: Incus's volume commands, plus `mount`, `unmount` and `path` for
//! using a volume without an instance.

use super::client::{segment, Daemon, Result};
use super::format::{print_list, yaml, Format};
use super::{iec, parse_assignments};
use serde_json::{json, Map, Value};

#[derive(clap::Subcommand)]
pub enum VolumeCommand {
    /// Create a volume: `create POOL [TYPE/]NAME [KEY=VALUE...]`.
    Create {
        pool: String,
        volume: String,
        config: Vec<String>,
        /// Content type: filesystem or block (default: filesystem; block for virtual-machine
        /// volumes).
        #[arg(long = "type")]
        content_type: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, default_value = "default")]
        project: String,
        /// Make the (container or virtual-machine) volume from this image of `strand image
        /// import` (fingerprint, or a unique prefix of 12 characters or more).
        #[arg(long)]
        image: Option<String>,
    },
    /// Copy a volume (with its snapshots unless --volume-only): `copy POOL/VOL POOL/NEW`.
    Copy(super::copy::CopyArgs),
    /// Export a custom volume and its snapshots to a backup file: `export POOL VOL FILE`.
    Export(super::copy::ExportArgs),
    /// Import a backup file as a new custom volume: `import POOL FILE [NAME]`.
    Import(super::copy::ImportArgs),
    /// List the volumes of a pool.
    #[command(visible_alias = "ls")]
    List {
        pool: String,
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: Format,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Show a volume's configuration.
    Show {
        pool: String,
        volume: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Get one configuration key of a volume.
    Get {
        pool: String,
        volume: String,
        key: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Set configuration keys of a volume: `KEY=VALUE...` or `KEY VALUE`.
    Set {
        pool: String,
        volume: String,
        args: Vec<String>,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Unset a configuration key of a volume.
    Unset {
        pool: String,
        volume: String,
        key: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Delete a volume.
    #[command(visible_alias = "rm")]
    Delete {
        pool: String,
        volume: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Rename a volume.
    #[command(visible_alias = "mv")]
    Rename {
        pool: String,
        volume: String,
        new_name: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Show information about a volume.
    Info {
        pool: String,
        volume: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Mount a filesystem volume on this machine (at PATH, or at its place under the data directory).
    Mount {
        pool: String,
        volume: String,
        path: Option<String>,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Unmount a volume mounted with `mount`.
    #[command(visible_alias = "umount")]
    Unmount {
        pool: String,
        volume: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
    /// Manage the snapshots of a volume.
    #[command(subcommand)]
    Snapshot(super::snapshots::SnapshotCommand),
    /// Print the block device of a volume (its stable path; a filesystem volume's too).
    Path {
        pool: String,
        volume: String,
        #[arg(long, default_value = "default")]
        project: String,
    },
}

impl VolumeCommand {
    /// The pool and volume the command is about, for its error messages.
    pub fn names(&self) -> (Option<&str>, Option<&str>) {
        match self {
            VolumeCommand::List { pool, .. } => (Some(pool), None),
            VolumeCommand::Create { pool, volume, .. }
            | VolumeCommand::Show { pool, volume, .. }
            | VolumeCommand::Get { pool, volume, .. }
            | VolumeCommand::Set { pool, volume, .. }
            | VolumeCommand::Unset { pool, volume, .. }
            | VolumeCommand::Delete { pool, volume, .. }
            | VolumeCommand::Rename { pool, volume, .. }
            | VolumeCommand::Info { pool, volume, .. }
            | VolumeCommand::Mount { pool, volume, .. }
            | VolumeCommand::Unmount { pool, volume, .. }
            | VolumeCommand::Path { pool, volume, .. } => (Some(pool), Some(volume)),
            VolumeCommand::Snapshot(command) => command.names(),
            VolumeCommand::Copy(args) => (args.source.split('/').next(), None),
            VolumeCommand::Export(args) => (Some(&args.pool), Some(&args.volume)),
            VolumeCommand::Import(args) => (Some(&args.pool), None),
        }
    }
}

/// The Incus volume types a `TYPE/NAME` argument may name, with their URL spelling.
const TYPES: [&str; 4] = ["custom", "container", "virtual-machine", "image"];

/// A volume argument: `NAME` (custom) or `TYPE/NAME`.
pub(super) fn split_volume(arg: &str) -> Result<(&str, &str)> {
    match arg.split_once('/') {
        Some((kind, name)) => {
            let kind = TYPES.iter().find(|t| **t == kind).ok_or_else(|| {
                format!("Invalid storage volume type \"{kind}\" (use one of: {})", TYPES.join(", "))
            })?;
            if name.is_empty() || name.contains('/') {
                return Err(format!("Invalid storage volume \"{arg}\": give NAME or TYPE/NAME").into());
            }
            Ok((kind, name))
        }
        None => Ok(("custom", arg)),
    }
}

pub(super) fn with_project(path: String, project: &str) -> String {
    if project == "default" {
        path
    } else {
        format!("{path}?project={}", segment(project))
    }
}

fn volume_path(pool: &str, volume: &str, project: &str) -> Result<String> {
    let (kind, name) = split_volume(volume)?;
    Ok(with_project(
        format!("/1.0/storage-pools/{}/volumes/{kind}/{}", segment(pool), segment(name)),
        project,
    ))
}

fn sub_path(pool: &str, volume: &str, project: &str, sub: &str) -> Result<String> {
    let (kind, name) = split_volume(volume)?;
    Ok(with_project(
        format!("/1.0/storage-pools/{}/volumes/{kind}/{}/{sub}", segment(pool), segment(name)),
        project,
    ))
}

pub fn run(daemon: &Daemon, command: VolumeCommand) -> Result<()> {
    match command {
        VolumeCommand::Create { pool, volume, config, content_type, description, project, image } => {
            let (kind, name) = split_volume(&volume)?;
            let config: Map<String, Value> =
                parse_assignments_list(&config)?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            if let Some(image) = image {
                return super::copy::create_from_image(
                    daemon,
                    &pool,
                    &volume,
                    &image,
                    config,
                    description,
                    &project,
                );
            }
            let content_type = content_type.unwrap_or_default();
            let body = json!({"name": name, "type": kind, "content_type": content_type,
                              "config": config, "description": description.unwrap_or_default()});
            let path =
                with_project(format!("/1.0/storage-pools/{}/volumes/{kind}", segment(&pool)), &project);
            daemon.request("POST", &path, Some(&body), None)?;
            println!("Storage volume {volume} created");
            Ok(())
        }
        VolumeCommand::List { pool, format, project } => list(daemon, &pool, format, &project),
        VolumeCommand::Show { pool, volume, project } => {
            print!("{}", yaml(&daemon.get(&volume_path(&pool, &volume, &project)?)?.metadata));
            Ok(())
        }
        VolumeCommand::Get { pool, volume, key, project } => {
            let found = daemon.get(&volume_path(&pool, &volume, &project)?)?.metadata;
            println!("{}", found["config"][&key].as_str().unwrap_or_default());
            Ok(())
        }
        VolumeCommand::Set { pool, volume, args, project } => {
            let assignments = parse_assignments(&args)?;
            update(daemon, &volume_path(&pool, &volume, &project)?, |config| {
                for (key, value) in assignments {
                    config.insert(key, Value::String(value));
                }
                Ok(())
            })
        }
        VolumeCommand::Unset { pool, volume, key, project } => {
            update(daemon, &volume_path(&pool, &volume, &project)?, |config| {
                config
                    .remove(&key)
                    .map(|_| ())
                    .ok_or_else(|| format!("The key \"{key}\" does not exist").into())
            })
        }
        VolumeCommand::Delete { pool, volume, project } => {
            daemon.request("DELETE", &volume_path(&pool, &volume, &project)?, None, None)?;
            println!("Storage volume {volume} deleted");
            Ok(())
        }
        VolumeCommand::Rename { pool, volume, new_name, project } => {
            let body = json!({"name": new_name});
            daemon.request("POST", &volume_path(&pool, &volume, &project)?, Some(&body), None)?;
            let (_, old_name) = split_volume(&volume)?;
            println!("Renamed storage volume from \"{old_name}\" to \"{new_name}\"");
            Ok(())
        }
        VolumeCommand::Info { pool, volume, project } => info(daemon, &pool, &volume, &project),
        VolumeCommand::Mount { pool, volume, path, project } => {
            let body = json!({"path": path});
            let answer =
                daemon.request("POST", &sub_path(&pool, &volume, &project, "mount")?, Some(&body), None)?;
            // Where to find it: the mount point of a filesystem, else the block device.
            let meta = &answer.metadata;
            println!("{}", meta["path"].as_str().or(meta["device"].as_str()).unwrap_or_default());
            Ok(())
        }
        VolumeCommand::Unmount { pool, volume, project } => {
            daemon.request(
                "POST",
                &sub_path(&pool, &volume, &project, "unmount")?,
                Some(&json!({})),
                None,
            )?;
            Ok(())
        }
        VolumeCommand::Snapshot(command) => super::snapshots::run(daemon, command),
        VolumeCommand::Copy(args) => super::copy::copy(daemon, args),
        VolumeCommand::Export(args) => super::copy::export(daemon, args),
        VolumeCommand::Import(args) => super::copy::import(daemon, args),
        VolumeCommand::Path { pool, volume, project } => {
            let answer = daemon.get(&sub_path(&pool, &volume, &project, "path")?)?;
            let meta = &answer.metadata;
            println!("{}", meta["device"].as_str().or(meta["path"].as_str()).unwrap_or_default());
            Ok(())
        }
    }
}

fn parse_assignments_list(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|arg| {
            arg.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("'{arg}' is not KEY=VALUE").into())
        })
        .collect()
}

/// Reads the volume, changes its config with `change`, and writes it back guarded by its ETag.
fn update(
    daemon: &Daemon,
    path: &str,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<()>,
) -> Result<()> {
    let answer = daemon.get(path)?;
    let mut config = answer.metadata["config"].as_object().cloned().unwrap_or_default();
    change(&mut config)?;
    let body = json!({"config": config, "description": answer.metadata["description"]});
    daemon.request("PUT", path, Some(&body), answer.etag.as_deref())?;
    Ok(())
}

/// The TYPE column as Incus shows it (`custom`, `virtual-machine (snapshot)`, ...).
fn type_column(volume: &Value) -> String {
    let kind = volume["type"].as_str().unwrap_or_default();
    if volume["name"].as_str().unwrap_or_default().contains('/') {
        format!("{kind} (snapshot)")
    } else {
        kind.to_string()
    }
}

fn list(daemon: &Daemon, pool: &str, format: Format, project: &str) -> Result<()> {
    let path = format!("/1.0/storage-pools/{}/volumes?recursion=1", segment(pool));
    let path = if project == "default" { path } else { format!("{path}&project={}", segment(project)) };
    let volumes = daemon.get(&path)?.metadata;
    let mut rows: Vec<Vec<String>> = volumes
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|v| {
            vec![
                type_column(v),
                v["name"].as_str().unwrap_or_default().to_string(),
                v["description"].as_str().unwrap_or_default().to_string(),
                v["content_type"].as_str().filter(|c| !c.is_empty()).unwrap_or("filesystem").to_string(),
                v["used_by"].as_array().map_or(0, Vec::len).to_string(),
                v["location"].as_str().filter(|l| *l != "none").unwrap_or_default().to_string(),
            ]
        })
        .collect();
    rows.sort();
    print_list(
        format,
        &["TYPE", "NAME", "DESCRIPTION", "CONTENT-TYPE", "USED BY", "LOCATION"],
        &rows,
        &volumes,
    );
    Ok(())
}

fn info(daemon: &Daemon, pool: &str, volume: &str, project: &str) -> Result<()> {
    let found = daemon.get(&volume_path(pool, volume, project)?)?.metadata;
    let state =
        daemon.get(&sub_path(pool, volume, project, "state")?).map(|a| a.metadata).unwrap_or(Value::Null);
    println!("Name: {}", found["name"].as_str().unwrap_or_default());
    println!("Type: {}", found["type"].as_str().unwrap_or_default());
    println!("Content type: {}", found["content_type"].as_str().unwrap_or("filesystem"));
    if let Some(used) = state["usage"]["used"].as_u64() {
        println!("Usage: {}", iec(used));
    }
    if let Some(total) = state["usage"]["total"].as_u64().filter(|t| *t > 0) {
        println!("Total: {}", iec(total));
    }
    if let Some(created) = found["created_at"].as_str().filter(|c| !c.starts_with("0001-")) {
        println!("Created: {created}");
    }
    Ok(())
}
