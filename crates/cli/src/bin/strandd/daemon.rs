//! `strand daemon`: the storage daemon (Incus storage REST API on `DATA/unix.socket`) against
//! any LINSTOR cluster; and the same daemon inside `strand up`, against its own controller.

use crate::serve::{runtime, stop_requested};
use ::daemon::{Daemon, DaemonOptions};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Directory of the daemon's database (storage.db), socket (unix.socket) and mount points.
    #[arg(long, default_value = crate::DEFAULT_DATA_DIR, env = "STRAND_DIR")]
    data_dir: PathBuf,
    /// LINSTOR controllers, comma-separated (stored as storage.linstor.controller_connection;
    /// when left out, the stored value is used, else http://localhost:3370).
    #[arg(long)]
    controllers: Option<String>,
    /// This host's LINSTOR node name, when it is not the host name (stored as
    /// storage.linstor.satellite.name).
    #[arg(long)]
    satellite_name: Option<String>,
}

pub fn run(args: Args) -> Result<(), String> {
    let options = DaemonOptions {
        controllers: args.controllers,
        satellite_name: args.satellite_name,
        ..DaemonOptions::new(args.data_dir)
    };
    runtime()?.block_on(async move { Daemon::open(options)?.serve(stop_requested()).await })
}

/// The address to reach a controller listening on `listen` from this host.
fn local_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

/// For `strand up`: the storage daemon on `DATA/unix.socket`, pointed at the controller this
/// process serves on `listen`, with this node as its satellite. Call inside the runtime. Its
/// socket is bound (clients wait) but it answers only once [`Daemon::spawn`]ed.
pub fn open_embedded(data_dir: &Path, listen: SocketAddr, node_name: &str) -> Result<Daemon, String> {
    let options = DaemonOptions {
        controllers: Some(local_url(listen)),
        satellite_name: Some(node_name.to_string()),
        ..DaemonOptions::new(data_dir)
    };
    Daemon::open(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_url_of_a_listen_address() {
        assert_eq!(local_url("0.0.0.0:3370".parse().unwrap()), "http://127.0.0.1:3370");
        assert_eq!(local_url("127.0.0.1:4000".parse().unwrap()), "http://127.0.0.1:4000");
        assert_eq!(local_url("[::]:3370".parse().unwrap()), "http://[::1]:3370");
    }
}
