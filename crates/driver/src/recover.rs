//! Recovery: every volume of a pool, found back from its resource definitions' `Aux/Incus/*`
//! properties alone (the way to rebuild a lost database).
//!
//! Rules: only definitions of the pool's resource group whose `Aux/Incus/name` starts with the
//! pool's prefix count. A definition whose properties are incomplete or malformed (unknown type
//! or content type, a name that is no volume's, volume definitions missing) is skipped with a
//! warning; nothing in LINSTOR's answer can make recovery fail or panic. Filesystems are probed
//! on the device (the superblock), not taken from any config.

use crate::config::{Config, KEY_FILESYSTEM, KEY_SIZE, KEY_SIZE_STATE};
use crate::error::{Error, Result};
use crate::host::Filesystem;
use crate::linstor::same_name;
use crate::pool::Pool;
use crate::size;
use crate::volume::{
    volume_number, ContentType, Volume, VolumeId, VolumeType, AUX_CONTENT_TYPE, AUX_NAME, AUX_NAMESPACE,
    AUX_TYPE,
};
use linstor_api::ResourceDefinition;
use linstor_client::ListOpts;
use std::collections::BTreeMap;

/// A volume found back from LINSTOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredVolume {
    pub id: VolumeId,
    pub content_type: ContentType,
    /// The LINSTOR resource definition.
    pub resource_definition: String,
    /// Size of the volume (of a VM's disk), in bytes.
    pub size_bytes: u64,
    /// Size of a VM's config filesystem, in bytes.
    pub config_filesystem_bytes: Option<u64>,
    /// The filesystem found on the device (filesystem volumes and VM config filesystems), when
    /// probed.
    pub filesystem: Option<Filesystem>,
}

impl RecoveredVolume {
    /// The volume with the config recovery can give it: `size`, `size.state` for VMs and
    /// `block.filesystem` when it was probed.
    pub fn to_volume(&self) -> Volume {
        let mut config = Config::new();
        config.insert(KEY_SIZE.to_string(), size::format_size(self.size_bytes));
        if let Some(bytes) = self.config_filesystem_bytes {
            config.insert(KEY_SIZE_STATE.to_string(), size::format_size(bytes));
        }
        if let Some(fs) = self.filesystem {
            config.insert(KEY_FILESYSTEM.to_string(), fs.as_str().to_string());
        }
        Volume { id: self.id.clone(), content_type: self.content_type, config }
    }
}

/// The outcome of [`Pool::list_volumes`]: the volumes, and why others were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeList {
    pub volumes: Vec<RecoveredVolume>,
    pub warnings: Vec<String>,
}

/// What one resource definition is, if it is a volume of the pool.
enum Verdict {
    NotOurs,
    Skip(String),
    Volume(Box<RecoveredVolume>),
}

fn size_of(rd: &ResourceDefinition, number: i32) -> Option<u64> {
    rd.volume_definitions
        .iter()
        .find(|vd| vd.volume_number == Some(number))
        .and_then(|vd| u64::try_from(vd.size_kib).ok())
        .map(|kib| kib.saturating_mul(1024))
}

/// Reads one resource definition (pure: no I/O).
fn examine(rd: &ResourceDefinition, group: &str, prefix: &str) -> Verdict {
    if !rd.resource_group_name.as_deref().is_some_and(|g| same_name(g, group)) {
        return Verdict::NotOurs;
    }
    let has_aux = rd.props.keys().any(|k| k.starts_with(AUX_NAMESPACE));
    let (name, vol_type, content) =
        match (rd.props.get(AUX_NAME), rd.props.get(AUX_TYPE), rd.props.get(AUX_CONTENT_TYPE)) {
            (Some(n), Some(t), Some(c)) => (n, t, c),
            _ if has_aux => {
                return Verdict::Skip(format!(
                    "resource definition {}: one of {AUX_NAME}, {AUX_TYPE}, {AUX_CONTENT_TYPE} is missing",
                    rd.name
                ))
            }
            _ => {
                return Verdict::Skip(format!(
                    "resource definition {}: not an Incus volume (no {AUX_NAME})",
                    rd.name
                ))
            }
        };
    let Some(storage_name) = name.strip_prefix(prefix) else {
        return Verdict::Skip(format!(
            "resource definition {}: {AUX_NAME} \"{name}\" does not start with the pool's prefix \"{prefix}\"",
            rd.name
        ));
    };
    let Some(vol_type) = VolumeType::parse(vol_type) else {
        return Verdict::Skip(format!("resource definition {}: unknown {AUX_TYPE} \"{vol_type}\"", rd.name));
    };
    let Some(content) = ContentType::parse(content) else {
        return Verdict::Skip(format!(
            "resource definition {}: unknown {AUX_CONTENT_TYPE} \"{content}\"",
            rd.name
        ));
    };
    if storage_name.contains('/') {
        return Verdict::Skip(format!(
            "resource definition {}: \"{storage_name}\" is a temporary snapshot mount, not a volume",
            rd.name
        ));
    }
    let Some(id) = VolumeId::from_storage_name(vol_type, storage_name) else {
        return Verdict::Skip(format!(
            "resource definition {}: \"{storage_name}\" is not the name of a {vol_type} volume",
            rd.name
        ));
    };
    let count = rd.volume_definitions.len();
    let volume = Volume::new(id.clone(), content);
    let main = volume_number(vol_type, content, count);
    let Some(size_bytes) = size_of(rd, main) else {
        return Verdict::Skip(format!(
            "resource definition {}: volume definition {main} is missing",
            rd.name
        ));
    };
    let config_filesystem_bytes = if volume.is_vm_block() {
        let number = volume_number(vol_type, ContentType::Filesystem, count);
        match size_of(rd, number).filter(|_| number == 1) {
            Some(bytes) => Some(bytes),
            None => {
                return Verdict::Skip(format!(
                    "resource definition {}: the config filesystem (volume definition 1) of {id} is missing",
                    rd.name
                ))
            }
        }
    } else {
        None
    };
    Verdict::Volume(Box::new(RecoveredVolume {
        id,
        content_type: content,
        resource_definition: rd.name.clone(),
        size_bytes,
        config_filesystem_bytes,
        filesystem: None,
    }))
}

impl Pool {
    /// Every volume of the pool, from LINSTOR alone: type, content type and size from the
    /// resource definitions; with `probe_filesystems`, the filesystem read from each device
    /// (made available on this host for the time of the probe). Malformed definitions are
    /// skipped with a warning.
    pub async fn list_volumes(&self, probe_filesystems: bool) -> Result<VolumeList> {
        let definitions = self
            .shared
            .client
            .resource_definition_list(&ListOpts::new().with_volume_definitions())
            .await
            .map_err(Error::linstor("Unable to get the LINSTOR resource definitions"))?;
        let mut list = VolumeList::default();
        let mut seen: BTreeMap<VolumeId, String> = BTreeMap::new();
        for rd in &definitions {
            match examine(rd, self.resource_group(), self.volume_prefix()) {
                Verdict::NotOurs => {}
                Verdict::Skip(why) => {
                    tracing::warn!("storage pool {}: skipping {why}", self.name());
                    list.warnings.push(why);
                }
                Verdict::Volume(found) => {
                    if let Some(first) = seen.get(&found.id) {
                        let why = format!(
                            "resource definition {}: {} is also resource definition {first}; keeping {first}",
                            found.resource_definition, found.id
                        );
                        tracing::warn!("storage pool {}: skipping {why}", self.name());
                        list.warnings.push(why);
                        continue;
                    }
                    seen.insert(found.id.clone(), found.resource_definition.clone());
                    list.volumes.push(*found);
                }
            }
        }
        if probe_filesystems {
            for found in &mut list.volumes {
                let volume = Volume::new(found.id.clone(), found.content_type);
                if !(volume.has_filesystem() || volume.is_vm_block()) {
                    continue;
                }
                let count = if found.config_filesystem_bytes.is_some() { 2 } else { 1 };
                let number = volume_number(found.id.vol_type, ContentType::Filesystem, count);
                match self.probe(&found.id, &found.resource_definition, number).await {
                    Ok(fs) => found.filesystem = fs,
                    Err(err) => {
                        let why = format!("{}: could not probe its filesystem: {err}", found.id);
                        tracing::warn!("storage pool {}: {why}", self.name());
                        list.warnings.push(why);
                    }
                }
            }
        }
        list.volumes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(list)
    }

    /// The filesystem on volume `number` of `rd`, read on this host.
    async fn probe(&self, id: &VolumeId, rd: &str, number: i32) -> Result<Option<Filesystem>> {
        let lock = self.shared.mounts.volume(self.name(), id);
        let refs = lock.lock().await;
        let device = self.shared.device_path(rd, number).await;
        let result = match &device {
            Ok(device) => {
                let dev = device.clone();
                self.shared
                    .host(move |h| h.probe_filesystem(&dev))
                    .await
                    .map(|found| found.as_deref().and_then(Filesystem::parse))
                    .map_err(Error::host(format!("Could not probe {}", device.display())))
            }
            Err(_) => Ok(None),
        };
        if refs.total() == 0 {
            if let Err(err) = self.shared.detach_local(rd).await {
                tracing::warn!("{id}: {err}");
            }
        }
        device?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linstor_api::VolumeDefinition;

    fn rd(name: &str, group: &str, props: &[(&str, &str)], sizes_kib: &[i64]) -> ResourceDefinition {
        ResourceDefinition {
            name: name.to_string(),
            resource_group_name: Some(group.to_string()),
            props: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            volume_definitions: sizes_kib
                .iter()
                .enumerate()
                .map(|(i, kib)| VolumeDefinition {
                    volume_number: Some(i as i32),
                    size_kib: *kib,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn verdict(rd: &ResourceDefinition) -> std::result::Result<RecoveredVolume, String> {
        match examine(rd, "pool1", "incus-volume-") {
            Verdict::NotOurs => Err("not ours".into()),
            Verdict::Skip(why) => Err(why),
            Verdict::Volume(v) => Ok(*v),
        }
    }

    const FS: [(&str, &str); 3] =
        [(AUX_NAME, "incus-volume-default_vol"), (AUX_TYPE, "custom"), (AUX_CONTENT_TYPE, "filesystem")];

    #[test]
    fn good_definitions_become_volumes() {
        let found = verdict(&rd("incus-volume-0a", "POOL1", &FS, &[10240])).expect("volume");
        assert_eq!(found.id, VolumeId::custom("default", "vol"));
        assert_eq!(found.content_type, ContentType::Filesystem);
        assert_eq!(found.size_bytes, 10240 * 1024);
        let vm = rd(
            "incus-volume-0b",
            "pool1",
            &[(AUX_NAME, "incus-volume-p_v1"), (AUX_TYPE, "virtual-machines"), (AUX_CONTENT_TYPE, "block")],
            &[20480, 512000],
        );
        let found = verdict(&vm).expect("vm");
        assert_eq!(found.id, VolumeId::virtual_machine("p", "v1"));
        assert_eq!(found.size_bytes, 20480 * 1024);
        assert_eq!(found.config_filesystem_bytes, Some(512000 * 1024));
        let volume = found.to_volume();
        assert_eq!(volume.config.get("size.state").map(String::as_str), Some("500MiB"));
    }

    #[test]
    fn malformed_definitions_are_skipped_not_fatal() {
        assert!(matches!(examine(&rd("x", "other", &FS, &[1]), "pool1", "incus-volume-"), Verdict::NotOurs));
        let cases = [
            rd("a", "pool1", &[(AUX_NAME, "incus-volume-default_vol")], &[1]),
            rd(
                "b",
                "pool1",
                &[(AUX_NAME, "incus-volume-default_vol"), (AUX_TYPE, "bogus"), (AUX_CONTENT_TYPE, "block")],
                &[1],
            ),
            rd(
                "c",
                "pool1",
                &[(AUX_NAME, "incus-volume-default_vol"), (AUX_TYPE, "custom"), (AUX_CONTENT_TYPE, "bogus")],
                &[1],
            ),
            rd(
                "d",
                "pool1",
                &[(AUX_NAME, "other-prefix-vol"), (AUX_TYPE, "custom"), (AUX_CONTENT_TYPE, "block")],
                &[1],
            ),
            rd(
                "e",
                "pool1",
                &[
                    (AUX_NAME, "incus-volume-c1/snap0"),
                    (AUX_TYPE, "containers"),
                    (AUX_CONTENT_TYPE, "filesystem"),
                ],
                &[1],
            ),
            rd(
                "f",
                "pool1",
                &[(AUX_NAME, "incus-volume-novolume"), (AUX_TYPE, "custom"), (AUX_CONTENT_TYPE, "block")],
                &[1],
            ),
            rd("g", "pool1", &FS, &[]),
            rd(
                "h",
                "pool1",
                &[(AUX_NAME, "incus-volume-v1"), (AUX_TYPE, "virtual-machines"), (AUX_CONTENT_TYPE, "block")],
                &[1],
            ),
            rd("i", "pool1", &[], &[1]),
        ];
        for case in &cases {
            let why = verdict(case).expect_err(&case.name);
            assert!(why.contains(&format!("resource definition {}", case.name)), "{why}");
        }
    }
}
