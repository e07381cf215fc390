//! `strandd`: Strand's long-running services — `up` (controller, local satellite and storage
//! daemon in one process), `controller`, `satellite` and `daemon`. Users type `strand up` and
//! so on; `strand` executes this binary in its place.

mod daemon;
mod default_pool;
mod pool_fs;
mod satellite;
mod serve;
mod up;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub use strand_shared::DEFAULT_DATA_DIR;

#[derive(Parser)]
#[command(name = "strandd", version, about = "Strand's services: controller, satellite and storage daemon")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole single-machine cluster: controller, local satellite, default pool.
    Up(UpArgs),
    /// Run the LINSTOR-compatible controller (REST API v1).
    Controller(ControllerArgs),
    /// Run a satellite that a controller on another host connects to.
    Satellite(SatelliteArgs),
    /// Run the storage daemon (Incus storage API on DATA/unix.socket) against a LINSTOR cluster.
    Daemon(daemon::Args),
}

#[derive(clap::Args)]
struct UpArgs {
    /// Address and port of the LINSTOR REST API.
    #[arg(long, default_value = "127.0.0.1:3370")]
    listen: SocketAddr,
    /// Directory for the database and the default storage pool.
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "STRAND_DIR")]
    data_dir: PathBuf,
    /// LINSTOR node name of this machine (default: the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Directory of the stable device links (default /dev/strand).
    #[arg(long)]
    dev_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ControllerArgs {
    /// Address and port of the REST API.
    #[arg(long, default_value = "127.0.0.1:3370")]
    listen: SocketAddr,
    /// Directory for the controller's database.
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "STRAND_DIR")]
    data_dir: PathBuf,
}

#[derive(clap::Args)]
struct SatelliteArgs {
    /// Address and port the controller connects to.
    #[arg(long, default_value = "0.0.0.0:3366")]
    listen: SocketAddr,
    /// Directory of the satellite's own files (one satellite per directory).
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "STRAND_DIR")]
    data_dir: PathBuf,
    /// LINSTOR node name this satellite serves (default: the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Directory of the stable device links (default /dev/strand).
    #[arg(long)]
    dev_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRAND_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Up(args) => up::up(up::UpOptions {
            listen: args.listen,
            data_dir: args.data_dir,
            node_name: args.node_name,
            dev_dir: args.dev_dir,
        }),
        Command::Controller(args) => serve::controller(args.listen, &args.data_dir),
        Command::Satellite(args) => satellite::satellite(satellite::SatelliteOptions {
            listen: args.listen,
            data_dir: args.data_dir,
            node_name: args.node_name,
            dev_dir: args.dev_dir,
        }),
        Command::Daemon(args) => daemon::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}
