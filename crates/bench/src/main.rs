//! `strand-bench`: Strand's benchmarks. Each prints its measurements together with a floor
//! measured in the same run, and the ratio between them; none fails on a wall-clock time.
//!
//! Usage: `strand-bench scale|spawn|view-resources|snapshots|storage-create|image-create [--strand PATH]` (PATH defaults to the `strand` binary
//! next to this one).

mod http;
mod image_create;
mod process;
mod scale;
mod snapshots;
mod spawn;
mod stats;
mod storage_create;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

fn strand_binary(args: &[String]) -> PathBuf {
    if let Some(i) = args.iter().position(|a| a == "--strand") {
        if let Some(path) = args.get(i + 1) {
            return PathBuf::from(path);
        }
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("strand")))
        .unwrap_or_else(|| PathBuf::from("strand"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let binary = strand_binary(&args);
    let result = match args.first().map(String::as_str) {
        Some("scale") => scale::run(&binary),
        Some("spawn") => spawn::run(&binary),
        Some("view-resources") => view::run(&binary),
        Some("snapshots") => snapshots::run(&binary),
        Some("storage-create") => storage_create::run(&binary),
        Some("image-create") => image_create::run(&binary),
        _ => Err(
            "usage: strand-bench scale|spawn|view-resources|snapshots|storage-create|image-create [--strand PATH]"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("strand-bench: {message}");
            ExitCode::FAILURE
        }
    }
}
