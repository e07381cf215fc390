//! Pool and volume configuration: the keys, their defaults and their validation, and how they
//! become LINSTOR properties.
//!
//! Rules kept here (table-tested below):
//! - Every key is checked by name: unknown keys are refused with a message naming the key.
//! - `linstor.resource_group.name` (alias `source`) and `linstor.volume.prefix` must give valid
//!   LINSTOR names: the group name itself, and prefix + 32 hex characters as a resource name.
//! - `drbd.auto_diskful` is a Go duration of at least one minute and a whole number of minutes:
//!   LINSTOR reads `DrbdOptions/auto-diskful` in minutes, and minutes are written.
//! - `linstor.raw.<key>` sets a LINSTOR property verbatim, except the driver's own metadata
//!   (`Aux/Incus/*`), the properties other keys own, and the ones the driver or LINSTOR manage.
//! - Unsetting a key removes its property from LINSTOR (there is no value that means "unset").

use crate::error::{Error, Result};
use crate::size;
use crate::volume::{ContentType, Volume, VolumeType, AUX_NAMESPACE};
use linstor_api::names::{check_name, NameKind};
use linstor_api::props::{check_prop, check_prop_key, PropError, PropObject};
use linstor_api::Props;
use std::collections::BTreeMap;

/// A pool's or a volume's configuration, as Incus keeps it.
pub type Config = BTreeMap<String, String>;

pub const KEY_RESOURCE_GROUP: &str = "linstor.resource_group.name";
pub const KEY_SOURCE: &str = "source";
pub const KEY_PLACE_COUNT: &str = "linstor.resource_group.place_count";
pub const KEY_STORAGE_POOL: &str = "linstor.resource_group.storage_pool";
pub const KEY_VOLUME_PREFIX: &str = "linstor.volume.prefix";
pub const KEY_ON_NO_QUORUM: &str = "drbd.on_no_quorum";
pub const KEY_AUTO_DISKFUL: &str = "drbd.auto_diskful";
pub const KEY_TIEBREAKER: &str = "drbd.auto_add_quorum_tiebreaker";
pub const KEY_PRISTINE: &str = "volatile.pool.pristine";
pub const KEY_INITIAL_SOURCE: &str = "volatile.initial_source";
pub const RAW_PREFIX: &str = "linstor.raw.";
pub const VOLUME_PREFIX_KEYS: &str = "volume.";

pub const KEY_SIZE: &str = "size";
pub const KEY_SIZE_STATE: &str = "size.state";
pub const KEY_FILESYSTEM: &str = "block.filesystem";
pub const KEY_MOUNT_OPTIONS: &str = "block.mount_options";
pub const KEY_CREATE_OPTIONS: &str = "block.create_options";
pub const KEY_REMOVE_SNAPSHOTS: &str = "linstor.remove_snapshots";

/// Defaults Incus applies when it creates a resource group.
pub const DEFAULT_PLACE_COUNT: u32 = 2;
pub const DEFAULT_VOLUME_PREFIX: &str = "incus-volume-";
pub const DEFAULT_ON_NO_QUORUM: &str = "suspend-io";
pub const DEFAULT_FILESYSTEM: &str = "ext4";
pub const DEFAULT_MOUNT_OPTIONS: &str = "discard";
/// `DrbdOptions/Disk/rs-discard-granularity` of resource groups the driver creates.
pub const DEFAULT_RS_DISCARD_GRANULARITY: &str = "1048576";
/// Description of resource groups the driver creates.
pub const RESOURCE_GROUP_DESCRIPTION: &str = "Resource group managed by Incus";

pub const PROP_ON_NO_QUORUM: &str = "DrbdOptions/Resource/on-no-quorum";
pub const PROP_AUTO_DISKFUL: &str = "DrbdOptions/auto-diskful";
pub const PROP_TIEBREAKER: &str = "DrbdOptions/auto-add-quorum-tiebreaker";
pub const PROP_RS_DISCARD_GRANULARITY: &str = "DrbdOptions/Disk/rs-discard-granularity";
pub const PROP_ALLOW_TWO_PRIMARIES: &str = "DrbdOptions/Net/allow-two-primaries";
pub const PROP_EXACT_SIZE: &str = "DrbdOptions/ExactSize";
pub const PROP_QUORUM: &str = "DrbdOptions/Resource/quorum";
pub const PROP_AUTO_VERIFY_ALG: &str = "DrbdOptions/auto-verify-alg";

/// The pool's record on its resource group, so that pools can be found back from LINSTOR.
pub const AUX_POOL_NAME: &str = "Aux/Incus/pool-name";
/// `true` on resource groups the driver created (only those are deleted with their pool).
pub const AUX_POOL_CREATED: &str = "Aux/Incus/pool-created";
/// `Aux/Incus/pool-config/<key>` = the pool's config value of `<key>`.
pub const AUX_POOL_CONFIG_PREFIX: &str = "Aux/Incus/pool-config/";

/// The Incus keys that own a DRBD property, and that property.
const DRBD_KEYS: [(&str, &str); 3] = [
    (KEY_ON_NO_QUORUM, PROP_ON_NO_QUORUM),
    (KEY_AUTO_DISKFUL, PROP_AUTO_DISKFUL),
    (KEY_TIEBREAKER, PROP_TIEBREAKER),
];

/// Properties `linstor.raw.*` may not set: the driver needs them as they are, or LINSTOR
/// computes them.
const MANAGED_PROPS: [&str; 4] =
    [PROP_ALLOW_TWO_PRIMARIES, PROP_QUORUM, PROP_AUTO_VERIFY_ALG, PROP_EXACT_SIZE];

/// Incus's boolean spellings.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn check_bool(key: &str, value: &str) -> Result<()> {
    parse_bool(value).map(|_| ()).ok_or_else(|| Error::invalid(key, value, "must be true or false"))
}

fn non_empty<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// The resource group of a pool: `source`, else `linstor.resource_group.name`, else the pool
/// name.
pub fn resource_group_name(pool: &str, config: &Config) -> String {
    non_empty(config, KEY_SOURCE)
        .or_else(|| non_empty(config, KEY_RESOURCE_GROUP))
        .unwrap_or(pool)
        .to_string()
}

/// The pool's volume prefix (`incus-volume-` unless set).
pub fn volume_prefix(config: &Config) -> String {
    non_empty(config, KEY_VOLUME_PREFIX).unwrap_or(DEFAULT_VOLUME_PREFIX).to_string()
}

/// `DrbdOptions/auto-diskful` from a `drbd.auto_diskful` duration: whole minutes, at least one.
pub fn auto_diskful_minutes(key: &str, value: &str) -> Result<u64> {
    let nanos = size::parse_duration(value).map_err(|why| Error::invalid(key, value, why))?;
    const MINUTE: u128 = 60_000_000_000;
    if nanos < MINUTE {
        return Err(Error::invalid(key, value, "must be at least 1m (one minute)"));
    }
    if nanos % MINUTE != 0 {
        return Err(Error::invalid(
            key,
            value,
            "must be a whole number of minutes (LINSTOR counts this property in minutes), like 5m or 1h",
        ));
    }
    u64::try_from(nanos / MINUTE).map_err(|_| Error::invalid(key, value, "the duration is too long"))
}

fn check_drbd_key(key: &str, name: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    match name {
        KEY_ON_NO_QUORUM => match value {
            "io-error" | "suspend-io" => Ok(()),
            _ => Err(Error::invalid(key, value, "must be io-error or suspend-io")),
        },
        KEY_AUTO_DISKFUL => auto_diskful_minutes(key, value).map(|_| ()),
        _ => check_bool(key, value),
    }
}

/// Checks one `linstor.raw.<prop>` entry. `key` is the whole config key (for messages).
fn check_raw(key: &str, prop: &str, value: &str, object: PropObject) -> Result<()> {
    if prop.is_empty() {
        return Err(Error::unknown(
            key,
            "name a LINSTOR property after linstor.raw., like linstor.raw.DrbdOptions/Net/max-buffers",
        ));
    }
    let starts_with = |text: &str, prefix: &str| {
        text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts_with(prop, AUX_NAMESPACE) {
        return Err(Error::unknown(key, "Incus metadata (Aux/Incus/*) cannot be set by hand"));
    }
    if let Some((owner, _)) = DRBD_KEYS.iter().find(|(_, p)| p.eq_ignore_ascii_case(prop)) {
        return Err(Error::unknown(
            key,
            format!("DRBD property \"{prop}\" must be set with the \"{owner}\" key"),
        ));
    }
    if MANAGED_PROPS.iter().any(|p| p.eq_ignore_ascii_case(prop)) {
        return Err(Error::unknown(
            key,
            format!(
                "DRBD property \"{prop}\" is managed by the driver or by LINSTOR and cannot be set by hand"
            ),
        ));
    }
    check_prop_key(prop)
        .map_err(|err| Error::unknown(key, format!("not a valid LINSTOR property key ({})", err.cause())))?;
    if value.is_empty() {
        return Ok(());
    }
    match check_prop(object, prop, value) {
        Ok(_) | Err(PropError::UnknownKey { .. }) => Ok(()),
        Err(err @ PropError::InvalidValue { .. }) => Err(Error::invalid(
            key,
            value,
            format!("LINSTOR would refuse it ({})", err.details().unwrap_or("invalid value")),
        )),
        Err(err) => Err(Error::unknown(key, err.cause())),
    }
}

/// Validates a pool's configuration (creation or update): every key by name and value.
pub fn validate_pool_config(pool: &str, config: &Config) -> Result<()> {
    if pool.is_empty() {
        return Err(Error::invalid("name", pool, "a pool needs a name"));
    }
    for (key, value) in config {
        check_pool_key(key, value)?;
    }
    if let (Some(source), Some(name)) = (non_empty(config, KEY_SOURCE), non_empty(config, KEY_RESOURCE_GROUP))
    {
        if source != name {
            return Err(Error::invalid(
                KEY_SOURCE,
                source,
                format!("\"source\" and \"{KEY_RESOURCE_GROUP}\" must not differ (\"{name}\"); set only one"),
            ));
        }
    }
    let group = resource_group_name(pool, config);
    check_name(NameKind::ResourceGroup, &group).map_err(|err| {
        let key = if non_empty(config, KEY_SOURCE).is_some() {
            KEY_SOURCE
        } else if non_empty(config, KEY_RESOURCE_GROUP).is_some() {
            KEY_RESOURCE_GROUP
        } else {
            "name"
        };
        Error::invalid(
            key,
            &group,
            format!(
                "not a valid LINSTOR resource group name ({}); set {KEY_RESOURCE_GROUP} to one",
                err.reason
            ),
        )
    })?;
    Ok(())
}

fn check_pool_key(key: &str, value: &str) -> Result<()> {
    match key {
        KEY_RESOURCE_GROUP | KEY_SOURCE | KEY_INITIAL_SOURCE | KEY_PRISTINE => Ok(()),
        KEY_PLACE_COUNT => check_place_count(key, value),
        KEY_STORAGE_POOL => {
            if value.is_empty() {
                return Ok(());
            }
            check_name(NameKind::StoragePool, value).map_err(|err| {
                Error::invalid(key, value, format!("not a valid LINSTOR storage pool name ({})", err.reason))
            })
        }
        KEY_VOLUME_PREFIX => check_prefix(key, value),
        KEY_ON_NO_QUORUM | KEY_AUTO_DISKFUL | KEY_TIEBREAKER => check_drbd_key(key, key, value),
        "source.wipe" | "rsync.compression" => {
            if value.is_empty() {
                Ok(())
            } else {
                check_bool(key, value)
            }
        }
        "rsync.bwlimit" => Ok(()),
        _ if key.starts_with("user.") => Ok(()),
        _ if key.starts_with(RAW_PREFIX) => {
            check_raw(key, &key[RAW_PREFIX.len()..], value, PropObject::ResourceGroup)
        }
        _ if key.starts_with(VOLUME_PREFIX_KEYS) => {
            check_volume_key(key, &key[VOLUME_PREFIX_KEYS.len()..], value, VolumeKeyScope::PoolDefault)
        }
        _ => Err(Error::unknown(key, "not a configuration key of linstor storage pools")),
    }
}

fn check_place_count(key: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    match value.parse::<u32>() {
        Ok(n) if n >= 1 && n <= i32::MAX as u32 => Ok(()),
        Ok(_) => Err(Error::invalid(key, value, "must be at least 1 (the number of diskful replicas)")),
        Err(_) => Err(Error::invalid(key, value, "must be a whole number (the number of diskful replicas)")),
    }
}

/// The prefix must leave room for 32 hex characters in a LINSTOR resource name.
fn check_prefix(key: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    let sample = format!("{value}{}", "0".repeat(32));
    check_name(NameKind::ResourceDefinition, &sample).map_err(|err| {
        Error::invalid(
            key,
            value,
            format!(
                "the prefix followed by 32 hex characters must be a valid LINSTOR resource name ({}): \
                 use at most 16 characters, letters, digits, '_' and '-', starting with a letter or '_'",
                err.reason
            ),
        )
    })
}

/// Where a volume key is checked: in a volume's own config, or as a pool's `volume.*` default.
#[derive(Debug, Clone, Copy)]
enum VolumeKeyScope {
    Volume { vol_type: VolumeType, content: ContentType },
    PoolDefault,
}

/// Validates a volume's configuration.
pub fn validate_volume_config(volume: &Volume) -> Result<()> {
    let scope = VolumeKeyScope::Volume { vol_type: volume.id.vol_type, content: volume.content_type };
    for (key, value) in &volume.config {
        check_volume_key(key, key, value, scope)?;
    }
    Ok(())
}

/// Checks one volume key. `key` is the whole config key (for messages), `name` the volume key
/// (`key` without `volume.` for pool defaults).
fn check_volume_key(key: &str, name: &str, value: &str, scope: VolumeKeyScope) -> Result<()> {
    let takes_filesystem = match scope {
        VolumeKeyScope::PoolDefault => true,
        VolumeKeyScope::Volume { vol_type, content } => {
            content == ContentType::Filesystem
                || (matches!(vol_type, VolumeType::VirtualMachine | VolumeType::Image)
                    && content == ContentType::Block)
        }
    };
    match name {
        KEY_SIZE | KEY_SIZE_STATE => size::parse_size(value).map(|_| ()).map_err(|why| Error::invalid(key, value, why)),
        KEY_FILESYSTEM | KEY_MOUNT_OPTIONS | KEY_CREATE_OPTIONS if !takes_filesystem => Err(Error::unknown(
            key,
            "only filesystem volumes and virtual machines have a filesystem; block and ISO volumes take none",
        )),
        KEY_FILESYSTEM => match value {
            "" | "ext4" | "xfs" | "btrfs" => Ok(()),
            _ => Err(Error::invalid(key, value, "must be ext4, xfs or btrfs")),
        },
        KEY_MOUNT_OPTIONS | KEY_CREATE_OPTIONS => Ok(()),
        KEY_ON_NO_QUORUM | KEY_AUTO_DISKFUL | KEY_TIEBREAKER => check_drbd_key(key, name, value),
        KEY_REMOVE_SNAPSHOTS | "security.shifted" | "security.unmapped" | "security.shared" => {
            if value.is_empty() {
                Ok(())
            } else {
                check_bool(key, value)
            }
        }
        "snapshots.expiry" | "snapshots.expiry.manual" | "snapshots.pattern" | "snapshots.schedule" => {
            match crate::schedule::check_key(name, value) {
                Some(Err(why)) => Err(Error::invalid(key, value, why)),
                _ => Ok(()),
            }
        }
        "initial.uid" | "initial.gid" => {
            if value.is_empty() || value.parse::<u32>().is_ok() {
                Ok(())
            } else {
                Err(Error::invalid(key, value, "must be a user or group id (a whole number)"))
            }
        }
        "initial.mode" => {
            if value.is_empty() || (value.len() <= 4 && u32::from_str_radix(value, 8).is_ok()) {
                Ok(())
            } else {
                Err(Error::invalid(key, value, "must be an octal mode, like 0755"))
            }
        }
        _ if name.starts_with("user.") => Ok(()),
        _ if name.starts_with(RAW_PREFIX) => match scope {
            VolumeKeyScope::Volume { .. } => {
                check_raw(key, &name[RAW_PREFIX.len()..], value, PropObject::ResourceDefinition)
            }
            VolumeKeyScope::PoolDefault => Err(Error::unknown(
                key,
                "linstor.raw.* cannot be a pool default; set it on each volume, or as linstor.raw.* of the pool",
            )),
        },
        _ if name.starts_with("volatile.") && matches!(scope, VolumeKeyScope::Volume { .. }) => Ok(()),
        _ => Err(Error::unknown(key, "not a configuration key of linstor storage volumes")),
    }
}

/// LINSTOR properties a config asks for: the `drbd.*` keys and `linstor.raw.*`.
pub(crate) fn linstor_props(config: &Config) -> Result<Props> {
    let mut props = Props::new();
    for (key, prop) in DRBD_KEYS {
        if let Some(value) = non_empty(config, key) {
            props.insert(prop.to_string(), drbd_value(key, value)?);
        }
    }
    for (key, value) in config.range(RAW_PREFIX.to_string()..) {
        let Some(prop) = key.strip_prefix(RAW_PREFIX) else { break };
        if !value.is_empty() {
            props.insert(prop.to_string(), value.clone());
        }
    }
    Ok(props)
}

/// The property value of a `drbd.*` key.
fn drbd_value(key: &str, value: &str) -> Result<String> {
    match key {
        KEY_AUTO_DISKFUL => auto_diskful_minutes(key, value).map(|m| m.to_string()),
        KEY_TIEBREAKER => Ok(parse_bool(value).unwrap_or(true).to_string()),
        _ => Ok(value.to_string()),
    }
}

/// What changes on LINSTOR when a config goes from `old` to `new`: properties to set and to
/// delete. `reset_discard` (resource groups) sets `rs-discard-granularity` back to the driver's
/// default instead of deleting it.
pub(crate) fn linstor_props_change(
    old: &Config,
    new: &Config,
    reset_discard: bool,
) -> Result<(Props, Vec<String>)> {
    let before = linstor_props(old)?;
    let after = linstor_props(new)?;
    let mut set = Props::new();
    let mut delete = Vec::new();
    for (prop, value) in &after {
        if before.get(prop) != Some(value) {
            set.insert(prop.clone(), value.clone());
        }
    }
    for prop in before.keys() {
        if after.contains_key(prop) {
            continue;
        }
        if reset_discard && prop == PROP_RS_DISCARD_GRANULARITY {
            set.insert(prop.clone(), DEFAULT_RS_DISCARD_GRANULARITY.to_string());
        } else {
            delete.push(prop.clone());
        }
    }
    Ok((set, delete))
}

/// Config keys whose value differs between `old` and `new` (set, changed or removed).
pub fn changed_keys(old: &Config, new: &Config) -> Vec<String> {
    let mut keys: Vec<String> = old
        .iter()
        .filter(|(k, v)| new.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(new.keys().filter(|k| !old.contains_key(*k)).cloned())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The place count of a config (`None` when unset).
pub(crate) fn place_count(config: &Config) -> Option<u32> {
    non_empty(config, KEY_PLACE_COUNT).and_then(|v| v.parse().ok())
}

pub(crate) fn storage_pool(config: &Config) -> Option<String> {
    non_empty(config, KEY_STORAGE_POOL).map(str::to_string)
}

/// A config's values read back from LINSTOR properties (for resource groups the driver
/// adopts or recovers): `drbd.*` keys from their DRBD properties.
pub(crate) fn drbd_keys_from_props(props: &Props) -> Config {
    let mut config = Config::new();
    let get = |prop: &str| props.iter().find(|(k, _)| k.eq_ignore_ascii_case(prop)).map(|(_, v)| v.clone());
    if let Some(v) = get(PROP_ON_NO_QUORUM) {
        config.insert(KEY_ON_NO_QUORUM.to_string(), v);
    }
    if let Some(minutes) = get(PROP_AUTO_DISKFUL).and_then(|v| v.trim().parse::<u64>().ok()) {
        config.insert(KEY_AUTO_DISKFUL.to_string(), size::minutes_to_duration(minutes));
    }
    if let Some(v) = get(PROP_TIEBREAKER).and_then(|v| parse_bool(&v)) {
        config.insert(KEY_TIEBREAKER.to_string(), v.to_string());
    }
    config
}

/// Keys of a volume's config that a pool's `volume.*` defaults fill in when the volume does not
/// set them, following Incus: `block.*` only for filesystems and VM disks, `size` only for
/// custom volumes, `security.shifted`/`unmapped` only for custom filesystems and
/// `security.shared` only for custom block volumes.
pub(crate) fn fill_volume_defaults(pool_config: &Config, volume: &mut Volume) {
    let vol_type = volume.id.vol_type;
    let content = volume.content_type;
    let takes_filesystem = content == ContentType::Filesystem || volume.is_vm_block();
    for (key, value) in pool_config.range(VOLUME_PREFIX_KEYS.to_string()..) {
        let Some(name) = key.strip_prefix(VOLUME_PREFIX_KEYS) else { break };
        let wanted = match name {
            KEY_FILESYSTEM | KEY_MOUNT_OPTIONS | KEY_CREATE_OPTIONS => takes_filesystem,
            KEY_SIZE => vol_type == VolumeType::Custom,
            "security.shifted" | "security.unmapped" => {
                vol_type == VolumeType::Custom && content == ContentType::Filesystem
            }
            "security.shared" => vol_type == VolumeType::Custom && content == ContentType::Block,
            _ => true,
        };
        if wanted && !volume.config.contains_key(name) {
            volume.config.insert(name.to_string(), value.clone());
        }
    }
    if takes_filesystem {
        for (key, default) in
            [(KEY_FILESYSTEM, DEFAULT_FILESYSTEM), (KEY_MOUNT_OPTIONS, DEFAULT_MOUNT_OPTIONS)]
        {
            if non_empty(&volume.config, key).is_none() {
                volume.config.insert(key.to_string(), default.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::VolumeId;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pool_keys_refused_with_the_key_named() {
        let table: &[(&str, &str)] = &[
            ("lvm.vg_name", "vg0"),
            ("zfs.pool_name", "x"),
            (KEY_AUTO_DISKFUL, "1s"),
            (KEY_AUTO_DISKFUL, "bla"),
            (KEY_AUTO_DISKFUL, "90s"),
            (KEY_ON_NO_QUORUM, "bla"),
            (KEY_TIEBREAKER, "bla"),
            (KEY_PLACE_COUNT, "0"),
            (KEY_PLACE_COUNT, "-1"),
            (KEY_PLACE_COUNT, "two"),
            (KEY_STORAGE_POOL, "a"),
            (KEY_STORAGE_POOL, "bad name"),
            (KEY_VOLUME_PREFIX, "this-prefix-is-too-long-"),
            (KEY_VOLUME_PREFIX, "incus-volume-1234"),
            (KEY_VOLUME_PREFIX, "1abc-"),
            (KEY_VOLUME_PREFIX, "a.b"),
            (KEY_RESOURCE_GROUP, "bad.name"),
            (KEY_SOURCE, "x"),
            ("linstor.raw.Aux/Incus/name", "x"),
            ("linstor.raw.DrbdOptions/Resource/on-no-quorum", "io-error"),
            ("linstor.raw.DrbdOptions/auto-diskful", "5"),
            ("linstor.raw.DrbdOptions/Net/allow-two-primaries", "no"),
            ("linstor.raw.DrbdOptions/Resource/quorum", "off"),
            ("linstor.raw.DrbdOptions/auto-verify-alg", "crc32c"),
            ("linstor.raw.", "x"),
            ("linstor.raw.a//b", "x"),
            ("linstor.raw.DrbdOptions/Disk/rs-discard-granularity", "lots"),
            ("volume.linstor.raw.DrbdOptions/Net/max-buffers", "8000"),
            ("volume.block.filesystem", "ntfs"),
            ("volume.size", "big"),
            ("volume.drbd.auto_diskful", "30s"),
            ("volume.zfs.remove_snapshots", "true"),
            ("volume.volatile.x", "1"),
            ("source.wipe", "maybe"),
        ];
        for (key, value) in table {
            let err = validate_pool_config("pool1", &cfg(&[(key, value)])).expect_err(key);
            let text = err.to_string();
            assert!(text.contains(&format!("\"{key}\"")), "{key}={value}: {text}");
            assert_eq!(err.key(), Some(*key), "{key}={value}: {text}");
        }
    }

    #[test]
    fn pool_keys_accepted() {
        let good = cfg(&[
            (KEY_RESOURCE_GROUP, "rg_1"),
            (KEY_SOURCE, "rg_1"),
            (KEY_PLACE_COUNT, "3"),
            (KEY_STORAGE_POOL, "DfltStorPool"),
            (KEY_VOLUME_PREFIX, "abcdefghijklmnop"),
            (KEY_ON_NO_QUORUM, "io-error"),
            (KEY_AUTO_DISKFUL, "1h30m"),
            (KEY_TIEBREAKER, "false"),
            (KEY_PRISTINE, "true"),
            (KEY_INITIAL_SOURCE, "rg_1"),
            ("linstor.raw.DrbdOptions/Disk/rs-discard-granularity", "524288"),
            ("linstor.raw.BCache/PoolName", "cache1"),
            ("linstor.raw.Some/Future/Key", "anything"),
            ("volume.size", "25MiB"),
            ("volume.block.filesystem", "xfs"),
            ("volume.block.mount_options", "noatime"),
            ("volume.block.create_options", "-m 0"),
            ("volume.drbd.on_no_quorum", "suspend-io"),
            ("volume.linstor.remove_snapshots", "true"),
            ("volume.snapshots.pattern", "snap%d"),
            ("user.note", "hello"),
            ("rsync.bwlimit", "10MB"),
            ("rsync.compression", "false"),
        ]);
        validate_pool_config("pool1", &good).expect("valid");
        validate_pool_config("pool1", &Config::new()).expect("empty is valid");
    }

    #[test]
    fn source_and_name_must_agree_and_resolve_in_order() {
        let both = cfg(&[(KEY_SOURCE, "a1"), (KEY_RESOURCE_GROUP, "b1")]);
        let err = validate_pool_config("p1", &both).expect_err("differ");
        assert_eq!(err.key(), Some(KEY_SOURCE));
        assert_eq!(resource_group_name("p1", &Config::new()), "p1");
        assert_eq!(resource_group_name("p1", &cfg(&[(KEY_RESOURCE_GROUP, "g1")])), "g1");
        assert_eq!(resource_group_name("p1", &cfg(&[(KEY_SOURCE, "s1")])), "s1");
        let err = validate_pool_config("bad.pool", &Config::new()).expect_err("pool name is no RG name");
        assert_eq!(err.key(), Some("name"));
    }

    #[test]
    fn auto_diskful_is_written_in_minutes() {
        let props = linstor_props(&cfg(&[(KEY_AUTO_DISKFUL, "1h"), (KEY_TIEBREAKER, "no")])).expect("props");
        assert_eq!(props.get(PROP_AUTO_DISKFUL).map(String::as_str), Some("60"));
        assert_eq!(props.get(PROP_TIEBREAKER).map(String::as_str), Some("false"));
        assert_eq!(auto_diskful_minutes(KEY_AUTO_DISKFUL, "5m").expect("5m"), 5);
        let back = drbd_keys_from_props(&[(PROP_AUTO_DISKFUL.to_string(), "90".to_string())].into());
        assert_eq!(back.get(KEY_AUTO_DISKFUL).map(String::as_str), Some("1h30m"));
    }

    #[test]
    fn unsetting_removes_properties() {
        let old = cfg(&[
            (KEY_AUTO_DISKFUL, "5m"),
            (KEY_TIEBREAKER, "true"),
            (KEY_ON_NO_QUORUM, "io-error"),
            ("linstor.raw.DrbdOptions/Disk/rs-discard-granularity", "524288"),
            ("linstor.raw.BCache/PoolName", "x"),
        ]);
        let new = cfg(&[(KEY_ON_NO_QUORUM, "suspend-io"), (KEY_AUTO_DISKFUL, "")]);
        let (set, delete) = linstor_props_change(&old, &new, true).expect("change");
        assert_eq!(
            set,
            [
                (PROP_ON_NO_QUORUM.to_string(), "suspend-io".to_string()),
                (PROP_RS_DISCARD_GRANULARITY.to_string(), DEFAULT_RS_DISCARD_GRANULARITY.to_string()),
            ]
            .into()
        );
        assert_eq!(delete, vec!["BCache/PoolName", PROP_TIEBREAKER, PROP_AUTO_DISKFUL]);
        let (_, delete) = linstor_props_change(&old, &Config::new(), false).expect("change");
        assert!(delete.contains(&PROP_RS_DISCARD_GRANULARITY.to_string()));
        assert_eq!(
            changed_keys(&old, &new),
            vec![
                "drbd.auto_add_quorum_tiebreaker".to_string(),
                "drbd.auto_diskful".to_string(),
                "drbd.on_no_quorum".to_string(),
                "linstor.raw.BCache/PoolName".to_string(),
                "linstor.raw.DrbdOptions/Disk/rs-discard-granularity".to_string(),
            ]
        );
    }

    #[test]
    fn volume_keys() {
        let fs = Volume::new(VolumeId::custom("default", "v"), ContentType::Filesystem);
        let block = Volume::new(VolumeId::custom("default", "b"), ContentType::Block);
        let vm = Volume::new(VolumeId::virtual_machine("default", "vm"), ContentType::Block);
        for (vol, key, value, ok) in [
            (&fs, KEY_FILESYSTEM, "btrfs", true),
            (&fs, KEY_FILESYSTEM, "zfs", false),
            (&vm, KEY_FILESYSTEM, "xfs", true),
            (&block, KEY_FILESYSTEM, "ext4", false),
            (&block, KEY_MOUNT_OPTIONS, "noatime", false),
            (&block, KEY_SIZE, "1GiB", true),
            (&fs, KEY_SIZE, "1.5GiB", false),
            (&fs, KEY_AUTO_DISKFUL, "5m", true),
            (&fs, KEY_AUTO_DISKFUL, "1s", false),
            (&fs, "linstor.raw.DrbdOptions/Net/max-buffers", "8000", true),
            (&fs, "linstor.raw.Aux/Incus/type", "custom", false),
            (&fs, "linstor.raw.DrbdOptions/ExactSize", "false", false),
            (&fs, "volatile.uuid", "x", true),
            (&fs, "initial.mode", "0755", true),
            (&fs, "initial.mode", "rwx", false),
            (&fs, "zfs.blocksize", "8KiB", false),
        ] {
            let vol = vol.clone().with_config(key, value);
            let result = validate_volume_config(&vol);
            assert_eq!(result.is_ok(), ok, "{key}={value} on {:?}: {result:?}", vol.content_type);
            if let Err(err) = result {
                assert_eq!(err.key(), Some(key));
            }
        }
    }

    #[test]
    fn pool_defaults_fill_volumes() {
        let pool = cfg(&[
            ("volume.size", "25MiB"),
            ("volume.block.filesystem", "xfs"),
            ("volume.drbd.on_no_quorum", "io-error"),
            ("volume.security.shared", "true"),
        ]);
        let mut custom_fs = Volume::new(VolumeId::custom("default", "v"), ContentType::Filesystem);
        fill_volume_defaults(&pool, &mut custom_fs);
        assert_eq!(
            custom_fs.config,
            cfg(&[
                ("size", "25MiB"),
                ("block.filesystem", "xfs"),
                ("block.mount_options", "discard"),
                ("drbd.on_no_quorum", "io-error")
            ])
        );
        let mut container = Volume::new(VolumeId::container("default", "c"), ContentType::Filesystem)
            .with_config("block.filesystem", "btrfs");
        fill_volume_defaults(&pool, &mut container);
        assert_eq!(container.config.get("size"), None);
        assert_eq!(container.config.get("block.filesystem").map(String::as_str), Some("btrfs"));
        let mut block = Volume::new(VolumeId::custom("default", "b"), ContentType::Block);
        fill_volume_defaults(&pool, &mut block);
        assert_eq!(block.config.get("block.filesystem"), None);
        assert_eq!(block.config.get("security.shared").map(String::as_str), Some("true"));
    }
}
