//! Which layers this node can serve. STORAGE always; DRBD only where the DRBD 9 kernel module
//! is loaded: `/proc/drbd` says `version: 9.x`, or `/sys/module/drbd/version` starts with `9`.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSupport {
    pub layers: Vec<String>,
    pub unsupported: Vec<(String, String)>,
}

impl LayerSupport {
    pub fn detect() -> LayerSupport {
        LayerSupport::detect_at(Path::new("/proc/drbd"), Path::new("/sys/module/drbd/version"))
    }

    pub fn detect_at(proc_drbd: &Path, module_version: &Path) -> LayerSupport {
        let version = std::fs::read_to_string(proc_drbd)
            .ok()
            .and_then(|t| proc_drbd_version(&t))
            .or_else(|| std::fs::read_to_string(module_version).ok().map(|v| v.trim().to_string()))
            .filter(|v| !v.is_empty());
        match version {
            Some(v) if major(&v) == Some(9) => {
                LayerSupport { layers: vec!["DRBD".into(), "STORAGE".into()], unsupported: Vec::new() }
            }
            Some(v) => LayerSupport {
                layers: vec!["STORAGE".into()],
                unsupported: vec![(
                    "DRBD".into(),
                    format!("the loaded DRBD kernel module is version {v}; DRBD 9 is needed"),
                )],
            },
            None => LayerSupport {
                layers: vec!["STORAGE".into()],
                unsupported: vec![("DRBD".into(), "the DRBD 9 kernel module is not loaded".into())],
            },
        }
    }

    pub fn supports(&self, layer: &str) -> bool {
        self.layers.iter().any(|l| l.eq_ignore_ascii_case(layer))
    }

    /// Why `layer` is not available, if it is not.
    pub fn reason(&self, layer: &str) -> Option<&str> {
        self.unsupported.iter().find(|(l, _)| l.eq_ignore_ascii_case(layer)).map(|(_, r)| r.as_str())
    }
}

/// The version in `/proc/drbd`'s first line, `version: 9.2.8 (api:2/proto:86-122)`.
fn proc_drbd_version(text: &str) -> Option<String> {
    let rest = text.lines().next()?.trim().strip_prefix("version:")?;
    Some(rest.split_whitespace().next()?.to_string())
}

fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn with_files(tag: &str, proc: Option<&str>, module: Option<&str>) -> LayerSupport {
        let dir = std::env::temp_dir().join(format!("strand-layers-{tag}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        if let Some(p) = proc {
            fs::write(dir.join("drbd"), p).unwrap();
        }
        if let Some(m) = module {
            fs::write(dir.join("version"), m).unwrap();
        }
        let s = LayerSupport::detect_at(&dir.join("drbd"), &dir.join("version"));
        fs::remove_dir_all(&dir).unwrap();
        s
    }

    #[test]
    fn no_drbd() {
        let s = with_files("none", None, None);
        assert_eq!(s.layers, vec!["STORAGE"]);
        assert_eq!(
            s.unsupported,
            vec![("DRBD".to_string(), "the DRBD 9 kernel module is not loaded".to_string())]
        );
        assert!(!s.supports("drbd"));
        assert!(s.reason("DRBD").is_some());
    }

    #[test]
    fn drbd9_from_proc() {
        let s = with_files("p9", Some("version: 9.2.8 (api:2/proto:86-122)\nGIT-hash: x\n"), None);
        assert_eq!(s.layers, vec!["DRBD", "STORAGE"]);
        assert!(s.unsupported.is_empty());
    }

    #[test]
    fn drbd9_from_module() {
        assert!(with_files("m9", None, Some("9.1.19\n")).supports("DRBD"));
    }

    #[test]
    fn drbd8_is_not_enough() {
        let s = with_files("p8", Some("version: 8.4.11 (api:1/proto:86-101)\n"), None);
        assert_eq!(s.layers, vec!["STORAGE"]);
        assert!(s.reason("DRBD").unwrap().contains("8.4.11"));
    }
}
