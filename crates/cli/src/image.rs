//! `strand image`: the storage daemon's image store. `import FILE` uploads an Incus unified
//! image (a tarball, possibly compressed, with `metadata.yaml` and `rootfs/`, or `rootfs.img`
//! for a virtual machine) or a qcow2 or raw disk image, and prints its fingerprint (SHA-256 of
//! the file); `strand storage volume create POOL container/NAME --image FP` then makes volumes
//! from it.

use crate::storage::client::{segment, socket_in, Daemon};
use crate::storage::format::table;
use crate::storage::transfer;
use serde_json::Value;
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
    /// Import an image file and print its fingerprint.
    Import {
        /// An Incus unified image tarball, or a qcow2 or raw disk image (virtual machines).
        file: PathBuf,
    },
    /// List the imported images.
    #[command(visible_alias = "ls")]
    List,
    /// Delete an image (volumes made from it stay).
    #[command(visible_alias = "rm")]
    Delete { fingerprint: String },
}

/// Bytes in IEC units, two decimals.
fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
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

pub fn run(args: Args) -> Result<(), String> {
    let daemon = Daemon::new(socket_in(&args.data_dir));
    match args.command {
        Command::Import { file } => {
            if !file.is_file() {
                return Err(format!("{} is not a file", file.display()));
            }
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let headers = [("X-Strand-Filename", name)];
            let envelope = transfer::upload(&daemon, "POST", "/1.0/images", &file, &headers, "Uploading")?;
            let op = transfer::wait(&daemon, &envelope, "Checking")?;
            let fingerprint =
                op["metadata"]["fingerprint"].as_str().ok_or("the daemon named no fingerprint")?;
            println!("{fingerprint}");
            Ok(())
        }
        Command::List => {
            let answer = daemon.get("/1.0/images?recursion=1")?;
            let rows: Vec<Vec<String>> = answer
                .metadata
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|image: &Value| {
                    let text = |k: &str| image[k].as_str().unwrap_or_default().to_string();
                    vec![
                        text("fingerprint").chars().take(12).collect(),
                        text("type"),
                        text("format"),
                        size_text(image["size"].as_u64().unwrap_or(0)),
                        text("filename"),
                        text("created_at"),
                    ]
                })
                .collect();
            print!("{}", table(&["FINGERPRINT", "TYPE", "FORMAT", "SIZE", "FILE", "IMPORTED AT"], &rows));
            Ok(())
        }
        Command::Delete { fingerprint } => {
            daemon.request("DELETE", &format!("/1.0/images/{}", segment(&fingerprint)), None, None)?;
            Ok(())
        }
    }
}
