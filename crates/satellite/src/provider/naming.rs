//! Names of volume files in a FILE/FILE_THIN pool directory: `<rsc>_<vlmnr:05>.img`, as LINSTOR
//! names them, and `<rsc>_<vlmnr:05>.img.tmp` while a volume is being created. Snapshots are
//! `<rsc>_<vlmnr:05>_<snap>.img` (LINSTOR's naming too), `.img.tmp` while being taken.
//!
//! A snapshot name starts with a letter or `_`, so a snapshot file never ends in `_<5 digits>.img`
//! and never reads as a volume file.
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

pub fn snapshot_file_name(resource: &str, volume_number: i32, snapshot: &str) -> String {
    format!("{resource}_{volume_number:05}_{snapshot}{VOLUME_SUFFIX}")
}

pub fn snapshot_path(dir: &Path, resource: &str, volume_number: i32, snapshot: &str) -> PathBuf {
    dir.join(snapshot_file_name(resource, volume_number, snapshot))
}

/// Checks that a snapshot name makes a safe file name that cannot be read as a volume's.
pub fn validate_snapshot(snapshot: &str) -> Result<(), String> {
    let first_ok = snapshot.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if !first_ok
        || snapshot.len() > 200
        || snapshot.chars().any(|c| c == '/' || c == '\0' || c.is_control() || c.is_whitespace())
    {
        return Err(format!("snapshot name {snapshot:?} cannot be used in a file name"));
    }
    Ok(())
}

/// `(resource, volume number, snapshot)` of a snapshot file name `<rsc>_<5 digits>_<snap>.img`.
/// A name that is a volume file name is not a snapshot's. Where a resource name itself holds
/// `_<5 digits>_`, the leftmost reading is answered (callers compare whole names).
pub fn parse_snapshot_file_name(name: &str) -> Option<(String, i32, String)> {
    if parse_volume_file_name(name).is_some() {
        return None;
    }
    let stem = name.strip_suffix(VOLUME_SUFFIX)?;
    let bytes = stem.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] != b'_' || i + 7 > bytes.len() || bytes[i + 6] != b'_' {
            continue;
        }
        if !bytes[i + 1..i + 6].iter().all(u8::is_ascii_digit) {
            continue;
        }
        let (resource, digits, snapshot) = (&stem[..i], &stem[i + 1..i + 6], &stem[i + 7..]);
        let Ok(number) = digits.parse::<i32>() else { continue };
        if validate(resource, number).is_ok() && validate_snapshot(snapshot).is_ok() {
            return Some((resource.to_string(), number, snapshot.to_string()));
        }
    }
    None
}

/// Like [`parse_snapshot_file_name`] for the temporary name of a snapshot being taken.
pub fn parse_snapshot_temp_name(name: &str) -> Option<(String, i32, String)> {
    parse_snapshot_file_name(name.strip_suffix(TEMP_SUFFIX)?)
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
    fn snapshot_names() {
        assert_eq!(snapshot_file_name("demo", 1, "s1"), "demo_00001_s1.img");
        assert_eq!(parse_snapshot_file_name("demo_00001_s1.img"), Some(("demo".into(), 1, "s1".into())));
        assert_eq!(
            parse_snapshot_file_name("my_rsc_00002_snap_2.img"),
            Some(("my_rsc".into(), 2, "snap_2".into()))
        );
        // A volume file is never a snapshot file, and the other way round.
        assert_eq!(parse_snapshot_file_name("demo_00000.img"), None);
        assert_eq!(parse_volume_file_name("demo_00001_s1.img"), None);
        assert_eq!(parse_snapshot_file_name("demo_00001_1s.img"), None);
        assert_eq!(parse_snapshot_file_name("demo_00001_.img"), None);
        assert_eq!(parse_snapshot_file_name("demo_0001_s.img"), None);
        assert_eq!(parse_snapshot_file_name("_00001_s.img"), None);
        assert_eq!(parse_snapshot_file_name("demo_00001_s1.img.tmp"), None);
        assert_eq!(parse_snapshot_temp_name("demo_00001_s1.img.tmp"), Some(("demo".into(), 1, "s1".into())));
        assert!(validate_snapshot("s1").is_ok());
        assert!(validate_snapshot("_x").is_ok());
        assert!(validate_snapshot("1x").is_err());
        assert!(validate_snapshot("a/b").is_err());
        assert!(validate_snapshot("").is_err());
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
