//! `strand`: the command users type. The CLIs live here — `storage` (Incus's syntax, through
//! the storage daemon), `linstor` (the `linstor` client's syntax), `admin` and `image` — in a
//! binary kept small so that each command starts fast; the long-running services (`up`,
//! `controller`, `satellite`, `daemon`) are `strandd`'s, which `strand` executes in its place.

mod admin;
mod image;
mod linstor;
mod services;
mod storage;

use clap::{Args as _, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

pub use strand_shared::DEFAULT_DATA_DIR;

#[derive(Parser)]
#[command(name = "strand", version, about = "Strand: LINSTOR-compatible storage for Incus, in one command")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a whole single-machine cluster: controller, local satellite, default pool.
    #[command(disable_help_flag = true)]
    Up(services::Args),
    /// Run the LINSTOR-compatible controller (REST API v1).
    #[command(disable_help_flag = true)]
    Controller(services::Args),
    /// Run a satellite that a controller on another host connects to.
    #[command(disable_help_flag = true)]
    Satellite(services::Args),
    /// Manage storage pools and volumes in Incus's syntax (through the storage daemon).
    Storage(storage::Args),
    /// Run the storage daemon (Incus storage API on DATA/unix.socket) against a LINSTOR cluster.
    #[command(disable_help_flag = true)]
    Daemon(services::Args),
    /// Talk to a LINSTOR controller in the `linstor` client's syntax.
    Linstor(linstor::Args),
    /// Administer the storage daemon (`recover`: rebuild its database from LINSTOR).
    Admin(admin::Args),
    /// Import, list and delete images (volumes are made from them with `storage volume create
    /// POOL container/NAME --image FP`).
    Image(image::Args),
}

/// Parses the command line building only the one CLI it names: building clap's whole tree of
/// commands (every `linstor` and `storage` command with all their options) costs more than
/// many commands take to run. A command line that does not parse this way — help, version,
/// an error, a service's arguments — goes through the whole tree, which answers it as usual.
fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match args.get(1).and_then(|arg| arg.to_str()) {
        Some("storage") => Some(storage::Args::augment_args(clap::Command::new("storage"))),
        Some("linstor") => Some(linstor::Args::augment_args(clap::Command::new("linstor"))),
        Some("admin") => Some(admin::Args::augment_args(clap::Command::new("admin"))),
        Some("image") => Some(image::Args::augment_args(clap::Command::new("image"))),
        _ => None,
    };
    cli.and_then(|cli| clap::Command::new("strand").subcommand(cli).try_get_matches_from(&args).ok())
        .and_then(|matches| Cli::from_arg_matches(&matches).ok())
        .unwrap_or_else(|| Cli::parse_from(args))
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).take(3).collect();
    let words: Vec<&str> = args.iter().map(|a| a.to_str().unwrap_or_default()).collect();
    let result = match words.as_slice() {
        // `strand help up`: the service's options are strandd's.
        ["help", service] if services::SERVICES.contains(service) => services::exec_help(service),
        _ => run(parse().command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Up(args) => services::exec("up", args),
        Command::Controller(args) => services::exec("controller", args),
        Command::Satellite(args) => services::exec("satellite", args),
        Command::Daemon(args) => services::exec("daemon", args),
        Command::Storage(args) => storage::run(args),
        Command::Linstor(args) => linstor::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Image(args) => image::run(args),
    }
}
