//! What the two binaries of this package share: `strand` (the CLIs) and `strandd` (the
//! services `strand up|controller|satellite|daemon` run).

/// The data directory of `strand up` and `strand controller` when none is given.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/strand";

/// The binary of the long-running services, next to `strand`.
pub const SERVICES_BINARY: &str = "strandd";

/// `name` in a directory of `PATH`, if it is an executable file there.
pub fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|path| path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}
