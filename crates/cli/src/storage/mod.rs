//! `strand storage`: Incus's storage commands over the storage daemon's unix socket.

pub(crate) mod client;
mod copy;
pub(crate) mod format;
mod pools;
mod snapshots;
pub(crate) mod transfer;
mod volumes;

use client::Daemon;
use format::Format;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Data directory of the storage daemon (its socket is DIR/unix.socket).
    #[arg(long, env = "STRAND_DIR", default_value = crate::DEFAULT_DATA_DIR, global = true)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a storage pool: `create POOL linstor [KEY=VALUE...]`.
    Create {
        pool: String,
        driver: String,
        config: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List storage pools.
    #[command(visible_alias = "ls")]
    List {
        #[arg(long, short = 'f', value_enum, default_value = "table")]
        format: Format,
    },
    /// Show a storage pool's configuration.
    Show { pool: String },
    /// Get one configuration key of a storage pool.
    Get { pool: String, key: String },
    /// Set configuration keys of a storage pool: `set POOL KEY=VALUE...` or `set POOL KEY VALUE`.
    Set { pool: String, args: Vec<String> },
    /// Unset a configuration key of a storage pool.
    Unset { pool: String, key: String },
    /// Delete a storage pool.
    #[command(visible_alias = "rm")]
    Delete { pool: String },
    /// Show usage information of a storage pool.
    Info { pool: String },
    /// Manage storage volumes.
    #[command(subcommand)]
    Volume(volumes::VolumeCommand),
}

pub fn run(args: Args) -> Result<(), String> {
    let daemon = Daemon::new(client::socket_in(&args.data_dir));
    let (pool, volume) = args.command.names();
    let (pool, volume) = (pool.map(str::to_string), volume.map(str::to_string));
    let result = match args.command {
        Command::Create { pool, driver, config, description } => {
            pools::create(&daemon, &pool, &driver, &config, description)
        }
        Command::List { format } => pools::list(&daemon, format),
        Command::Show { pool } => pools::show(&daemon, &pool),
        Command::Get { pool, key } => pools::get(&daemon, &pool, &key),
        Command::Set { pool, args } => {
            parse_assignments(&args).map_err(Into::into).and_then(|a| pools::set(&daemon, &pool, &a))
        }
        Command::Unset { pool, key } => pools::unset(&daemon, &pool, &key),
        Command::Delete { pool } => pools::delete(&daemon, &pool),
        Command::Info { pool } => pools::info(&daemon, &pool),
        Command::Volume(command) => volumes::run(&daemon, command),
    };
    result.map_err(|err| name_missing(err, pool.as_deref(), volume.as_deref()))
}

impl Command {
    /// The pool and volume the command is about, for its error messages.
    fn names(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Command::Create { pool, .. }
            | Command::Show { pool }
            | Command::Get { pool, .. }
            | Command::Set { pool, .. }
            | Command::Unset { pool, .. }
            | Command::Delete { pool }
            | Command::Info { pool } => (Some(pool), None),
            Command::List { .. } => (None, None),
            Command::Volume(command) => command.names(),
        }
    }
}

/// The daemon's "not found" answers name no object (as Incus's): the message says which.
fn name_missing(err: client::Error, pool: Option<&str>, volume: Option<&str>) -> String {
    match (err.status, err.message.as_str(), pool, volume) {
        (404, "Storage pool not found", Some(pool), _) => format!("Storage pool \"{pool}\" not found"),
        (404, "Storage volume not found", Some(pool), Some(volume)) => {
            format!("Storage volume \"{volume}\" not found in storage pool \"{pool}\"")
        }
        _ => err.message,
    }
}

/// `KEY=VALUE...` or a single `KEY VALUE`, as Incus takes them.
fn parse_assignments(args: &[String]) -> Result<Vec<(String, String)>, String> {
    if let [key, value] = args {
        if !key.contains('=') {
            return Ok(vec![(key.clone(), value.clone())]);
        }
    }
    if args.is_empty() {
        return Err("give KEY=VALUE (or KEY VALUE)".to_string());
    }
    args.iter()
        .map(|arg| {
            arg.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("'{arg}' is not KEY=VALUE"))
        })
        .collect()
}

/// Sizes in IEC units with two decimals, as Incus prints them (`1.50GiB`).
fn iec(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_objects_are_named() {
        let err = |status, message: &str| client::Error { status, message: message.to_string() };
        assert_eq!(
            name_missing(err(404, "Storage volume not found"), Some("p"), Some("container/c1")),
            "Storage volume \"container/c1\" not found in storage pool \"p\""
        );
        assert_eq!(
            name_missing(err(404, "Storage pool not found"), Some("p"), Some("v")),
            "Storage pool \"p\" not found"
        );
        assert_eq!(name_missing(err(400, "Invalid option \"x\""), Some("p"), None), "Invalid option \"x\"");
    }

    #[test]
    fn assignments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_assignments(&args(&["size", "1GiB"])).unwrap(), [("size".into(), "1GiB".into())]);
        assert_eq!(
            parse_assignments(&args(&["a=1", "b=x=y"])).unwrap(),
            [("a".into(), "1".into()), ("b".into(), "x=y".into())]
        );
        assert!(parse_assignments(&args(&["a=1", "b"])).is_err());
        assert!(parse_assignments(&[]).is_err());
    }

    #[test]
    fn iec_sizes() {
        assert_eq!(iec(512), "512B");
        assert_eq!(iec(1536), "1.50KiB");
        assert_eq!(iec(10 << 30), "10.00GiB");
    }
}
