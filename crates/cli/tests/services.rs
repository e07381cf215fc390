//! `strand up|controller|satellite|daemon` run `strandd` in strand's place: found next to
//! `strand`, else on `PATH`, with its own options and help.

use std::path::PathBuf;
use std::process::Command;

/// A directory removed on drop, even when the test fails.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_service_runs_strandd_with_its_own_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_strand")).args(["up", "--help"]).output().expect("run strand");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Usage: strand up"), "{text}");
    assert!(text.contains("--node-name"), "strandd's options are not shown: {text}");

    let out = Command::new(env!("CARGO_BIN_EXE_strand")).args(["help", "satellite"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Usage: strand satellite") && text.contains("--node-name"), "{text}");

    let out =
        Command::new(env!("CARGO_BIN_EXE_strand")).args(["controller", "--bogus"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("'--bogus'") && text.contains("Usage: strand controller"), "{text}");
}

#[test]
fn without_strandd_a_service_says_how_to_build_it_and_the_clis_still_work() {
    let dir = TempDir(std::env::temp_dir().join(format!("strand-alone-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let alone = dir.0.join("strand");
    std::fs::copy(env!("CARGO_BIN_EXE_strand"), &alone).expect("copy strand");

    let out = Command::new(&alone).args(["up"]).env("PATH", &dir.0).output().expect("run strand");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("strandd") && text.contains("cargo build --release -p strand"), "{text}");

    let out =
        Command::new(&alone).args(["storage", "volume", "--help"]).env("PATH", &dir.0).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
