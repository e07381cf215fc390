//! `strand up|controller|satellite|daemon`: the long-running services are in `strandd` (the
//! controller, satellite and storage daemon make a large binary, and a large binary starts
//! slowly — every CLI command would pay for it). `strand` replaces itself with `strandd`,
//! found next to its own binary or else on `PATH`, keeping its process id, so signals, exit
//! status and `--help` are `strandd`'s.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use strand_shared::{find_on_path, SERVICES_BINARY};

/// The service's own arguments, parsed by `strandd`.
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// The services `strandd` runs.
pub const SERVICES: [&str; 4] = ["up", "controller", "satellite", "daemon"];

/// Runs `strandd SERVICE ARGS...` in place of this process; returns only when it cannot.
pub fn exec(service: &str, args: Args) -> Result<(), String> {
    exec_strandd([OsString::from(service)].into_iter().chain(args.args))
}

/// `strand help SERVICE`: the service's own help, from `strandd`.
pub fn exec_help(service: &str) -> Result<(), String> {
    exec_strandd(["help", service].map(OsString::from))
}

fn exec_strandd(args: impl IntoIterator<Item = OsString>) -> Result<(), String> {
    let binary = services_binary()?;
    let err = Command::new(&binary).arg0("strand").args(args).exec();
    Err(format!("cannot run {}: {err}", binary.display()))
}

fn services_binary() -> Result<PathBuf, String> {
    let beside =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(SERVICES_BINARY)));
    if let Some(path) = beside.as_ref().filter(|path| path.is_file()) {
        return Ok(path.clone());
    }
    find_on_path(SERVICES_BINARY).ok_or_else(|| {
        format!(
            "{SERVICES_BINARY}, which runs the services, is neither next to strand{} nor on PATH; \
             build both binaries with `cargo build --release -p strand`",
            beside.map(|path| format!(" ({})", path.display())).unwrap_or_default()
        )
    })
}
