//! Names of volume files in a FILE/FILE_THIN pool directory: `<rsc>_<vlmnr:05>.img`, as LINSTOR
//! names them, and `<rsc>_<vlmnr:05>.img.tmp` while a volume is being created.
//!
//! Only names that parse here are ever touched in a pool directory; everything else in it
//! (other files, other numbering, the reflink probe) is left alone.

use std::path::{Path, PathBuf};

pub const VOLUME_SUFFIX: &str = ".img";
pub const TEMP_SUFFIX: &str = ".tmp";
/// Volume numbers are written with exactly five digits.
pub const MAX_VOLUME_NUMBER: i32 = 99_999;

pub fn volume_file_name(resource: &str, volume_number: i32) -> String {
    format!("{resource}_{volume_number:05}{VOLUME_SUFFIX}")
}

pub fn volume_path(dir: &Path, resource: &str, volume_number: i32) -> PathBuf {
    dir.join(volume_file_name(resource, volume_number))
}

pub fn temp_path(volume: &Path) -> PathBuf {
    let mut s = volume.as_os_str().to_owned();
    s.push(TEMP_SUFFIX);
    PathBuf::from(s)
}

/// Checks that a resource name and volume number make a safe file name (the controller
/// validates LINSTOR's own name rules; this only guards the filesystem).
pub fn validate(resource: &str, volume_number: i32) -> Result<(), String> {
    if resource.is_empty()
        || resource.starts_with('.')
        || resource.len() > 200
        || resource.chars().any(|c| c == '/' || c == '\0' || c.is_control())
    {
        return Err(format!("resource name {resource:?} cannot be used as a file name"));
    }
    if !(0..=MAX_VOLUME_NUMBER).contains(&volume_number) {
        return Err(format!("volume number {volume_number} is out of range 0..={MAX_VOLUME_NUMBER}"));
    }
    Ok(())
}

/// `(resource, volume number)` of a volume file name, if it is exactly `<rsc>_<5 digits>.img`.
pub fn parse_volume_file_name(name: &str) -> Option<(String, i32)> {
    let stem = name.strip_suffix(VOLUME_SUFFIX)?;
    let (resource, digits) = stem.rsplit_once('_')?;
    if digits.len() != 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: i32 = digits.parse().ok()?;
    validate(resource, number).ok()?;
    Some((resource.to_string(), number))
}

/// Like [`parse_volume_file_name`] for the temporary name of a volume being created.
pub fn parse_temp_file_name(name: &str) -> Option<(String, i32)> {
    parse_volume_file_name(name.strip_suffix(TEMP_SUFFIX)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(volume_file_name("demo", 0), "demo_00000.img");
        assert_eq!(volume_file_name("demo", 12), "demo_00012.img");
        assert_eq!(parse_volume_file_name("demo_00000.img"), Some(("demo".into(), 0)));
        assert_eq!(parse_volume_file_name("my_rsc_00001_00002.img"), Some(("my_rsc_00001".into(), 2)));
        assert_eq!(temp_path(Path::new("/p/a_00000.img")), PathBuf::from("/p/a_00000.img.tmp"));
        assert_eq!(parse_temp_file_name("a_00003.img.tmp"), Some(("a".into(), 3)));
    }

    #[test]
    fn foreign_names_are_rejected() {
        for name in [
            "demo_0000.img",
            "demo_000000.img",
            "demo_00000.img.bak",
            "demo_0000a.img",
            "_00000.img",
            ".hidden_00000.img",
            "demo00000.img",
            "demo_00000.IMG",
            "notes.txt",
            "demo_00000.img.tmp",
            "demo_+0001.img",
        ] {
            assert_eq!(parse_volume_file_name(name), None, "{name}");
        }
        assert_eq!(parse_temp_file_name("demo_00000.img"), None);
    }

    #[test]
    fn validation() {
        assert!(validate("ok", 0).is_ok());
        assert!(validate("a/b", 0).is_err());
        assert!(validate("", 0).is_err());
        assert!(validate("..", 0).is_err());
        assert!(validate("ok", -1).is_err());
        assert!(validate("ok", 100_000).is_err());
    }
}
