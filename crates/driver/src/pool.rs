//! Pools: one LINSTOR resource group each.
//!
//! Rules kept here:
//! - A pool creates its resource group, or adopts an existing one. An adopted group keeps what
//!   it has: keys the user did not give are read back from it (so the config shows LINSTOR's
//!   real values); keys the user gave are applied to it.
//! - The pool records its name and config on the group (`Aux/Incus/pool-name`,
//!   `Aux/Incus/pool-config/*`) and whether the driver created the group
//!   (`Aux/Incus/pool-created`). Only a group the driver created is deleted with the pool; an
//!   adopted group only loses the record. A group that records another pool is refused.
//! - Updates reach LINSTOR both ways: setting a key sets its property or filter, unsetting it
//!   deletes the property or resets the filter. The group's name and the volume prefix never
//!   change.

use crate::config::{self, *};
use crate::driver::{Driver, Shared};
use crate::error::{Error, Result};
use crate::linstor::same_name;
use crate::undo::Undo;
use crate::volume::{Volume, VolumeType};
use linstor_api::{AutoSelectFilter, Props, ResourceGroup};
use linstor_client::{ListOpts, Method};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

/// A storage pool of the driver: its name, its config and its resource group.
#[derive(Clone)]
pub struct Pool {
    pub(crate) shared: Arc<Shared>,
    name: String,
    config: Config,
    group: String,
    prefix: String,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name)
            .field("resource_group", &self.group)
            .field("prefix", &self.prefix)
            .field("config", &self.config)
            .finish()
    }
}

/// Capacity of a pool: the storage pools its resource group places on, over all nodes (raw
/// capacity, not divided by the number of replicas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolResources {
    pub total_bytes: u64,
    pub used_bytes: u64,
}

/// A pool found back from its resource group's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredPool {
    pub name: String,
    pub resource_group: String,
    pub config: Config,
    /// The driver created the group (it goes when the pool is deleted).
    pub created_by_driver: bool,
}

/// Directories of a pool, one per volume type, with Incus's modes.
const TYPE_DIRS: [(VolumeType, u32); 4] = [
    (VolumeType::Container, 0o711),
    (VolumeType::VirtualMachine, 0o711),
    (VolumeType::Image, 0o700),
    (VolumeType::Custom, 0o711),
];

/// The props recording a pool on its group.
fn pool_record(name: &str, config: &Config, created: bool) -> Props {
    let mut props = Props::new();
    props.insert(AUX_POOL_NAME.to_string(), name.to_string());
    props.insert(AUX_POOL_CREATED.to_string(), created.to_string());
    for (key, value) in config {
        if !value.is_empty() {
            props.insert(format!("{AUX_POOL_CONFIG_PREFIX}{key}"), value.clone());
        }
    }
    props
}

fn non_empty(config: &Config, key: &str) -> bool {
    config.get(key).is_some_and(|v| !v.is_empty())
}

/// The storage pools a group's filter names (`storage_pool_list`, else `storage_pool`).
fn filter_pools(filter: &AutoSelectFilter) -> Vec<String> {
    if filter.storage_pool_list.is_empty() {
        filter.storage_pool.iter().filter(|p| !p.is_empty()).cloned().collect()
    } else {
        filter.storage_pool_list.clone()
    }
}

impl Driver {
    /// Checks a pool's config without touching anything.
    pub fn validate_pool_config(name: &str, config: &Config) -> Result<()> {
        config::validate_pool_config(name, config)
    }

    /// A handle on an existing pool, from the config [`Driver::create_pool`] returned (kept by
    /// the daemon). No I/O.
    pub fn open_pool(&self, name: &str, config: Config) -> Result<Pool> {
        config::validate_pool_config(name, &config)?;
        Ok(Pool::new(Arc::clone(&self.shared), name, config))
    }

    /// Creates a pool: creates its resource group, or adopts an existing one, and records the
    /// pool on it. The returned pool's [`Pool::config`] is the config to keep: defaults filled
    /// in, an adopted group's real values read back, `volatile.pool.pristine` set when the
    /// group was created. Call [`Pool::mount`] next. On failure nothing is left behind.
    pub async fn create_pool(&self, name: &str, mut config: Config) -> Result<Pool> {
        config::validate_pool_config(name, &config)?;
        let group = resource_group_name(name, &config);
        if let Some(source) = config.get(KEY_SOURCE).filter(|s| !s.is_empty()).cloned() {
            config.entry(KEY_INITIAL_SOURCE.to_string()).or_insert(source);
        }
        config.insert(KEY_SOURCE.to_string(), group.clone());
        config.insert(KEY_RESOURCE_GROUP.to_string(), group.clone());
        config.insert(KEY_VOLUME_PREFIX.to_string(), volume_prefix(&config));
        config.remove(KEY_PRISTINE);
        let existing = match self.shared.client.resource_group_get(&group).await {
            Ok(rg) => Some(rg),
            Err(err) if err.is_not_found() => None,
            Err(err) => {
                return Err(Error::linstor(format!(
                    "Could not check if LINSTOR resource group {group} exists"
                ))(err))
            }
        };
        let mut undo = Undo::new(format!("create storage pool {name}"));
        let result = async {
            let config = match existing {
                None => self.create_group(name, &group, config, &mut undo).await?,
                Some(rg) => self.adopt_group(name, rg, config, &mut undo).await?,
            };
            let pool = Pool::new(Arc::clone(&self.shared), name, config);
            for dir in pool.make_dirs()? {
                undo.push(format!("remove {}", dir.display()), move || async move {
                    std::fs::remove_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))
                });
            }
            Ok(pool)
        }
        .await;
        undo.finish(result).await
    }

    async fn create_group(
        &self,
        name: &str,
        group: &str,
        mut config: Config,
        undo: &mut Undo,
    ) -> Result<Config> {
        for (key, default) in [
            (KEY_PLACE_COUNT, DEFAULT_PLACE_COUNT.to_string()),
            (KEY_ON_NO_QUORUM, DEFAULT_ON_NO_QUORUM.to_string()),
            (KEY_TIEBREAKER, "true".to_string()),
        ] {
            if !non_empty(&config, key) {
                config.insert(key.to_string(), default);
            }
        }
        config.insert(KEY_PRISTINE.to_string(), "true".to_string());
        let filter = AutoSelectFilter {
            place_count: config::place_count(&config).and_then(|n| i32::try_from(n).ok()),
            storage_pool: config::storage_pool(&config),
            ..Default::default()
        };
        let rg = ResourceGroup {
            name: group.to_string(),
            description: Some(RESOURCE_GROUP_DESCRIPTION.to_string()),
            select_filter: Some(filter),
            ..Default::default()
        };
        self.shared
            .client
            .resource_group_create(&rg)
            .await
            .map_err(Error::linstor(format!("Could not create LINSTOR resource group {group}")))?;
        let client = self.shared.client.clone();
        let group_name = group.to_string();
        undo.push(format!("delete resource group {group}"), move || async move {
            client.resource_group_delete(&group_name).await.map(|_| ()).map_err(|e| e.to_string())
        });
        let mut props = linstor_props(&config)?;
        props
            .entry(PROP_RS_DISCARD_GRANULARITY.to_string())
            .or_insert_with(|| DEFAULT_RS_DISCARD_GRANULARITY.to_string());
        props.extend(pool_record(name, &config, true));
        self.shared
            .modify_rg_props(
                group,
                props,
                Vec::new(),
                "Could not set properties on the LINSTOR resource group",
            )
            .await?;
        Ok(config)
    }

    async fn adopt_group(
        &self,
        name: &str,
        rg: ResourceGroup,
        mut config: Config,
        undo: &mut Undo,
    ) -> Result<Config> {
        if let Some(owner) = rg.props.get(AUX_POOL_NAME).filter(|owner| owner.as_str() != name) {
            return Err(Error::InUse {
                what: format!("LINSTOR resource group \"{}\"", rg.name),
                hint: format!(
                    "it backs storage pool \"{owner}\"; give this pool another {KEY_RESOURCE_GROUP}"
                ),
            });
        }
        // The group may be this very pool's, created by the driver (a pool made again after its
        // database was lost): it stays the driver's, to be deleted with the pool.
        let ours = rg.props.get(AUX_POOL_NAME).is_some_and(|owner| owner.as_str() == name)
            && rg.props.get(AUX_POOL_CREATED).and_then(|v| parse_bool(v)).unwrap_or(false);
        let filter = rg.select_filter.clone().unwrap_or_default();
        let mut new_filter = serde_json::Map::new();
        match config::place_count(&config) {
            Some(count) if filter.place_count != i32::try_from(count).ok() => {
                new_filter.insert("place_count".into(), count.into());
            }
            Some(_) => {}
            None => {
                if let Some(count) = filter.place_count {
                    config.insert(KEY_PLACE_COUNT.to_string(), count.to_string());
                }
            }
        }
        let current_pool = filter_pools(&filter).into_iter().next();
        match config::storage_pool(&config) {
            Some(pool) if !current_pool.as_deref().is_some_and(|c| same_name(c, &pool)) => {
                new_filter.insert("storage_pool".into(), pool.into());
            }
            Some(_) => {}
            None => {
                if let Some(pool) = current_pool.clone() {
                    config.insert(KEY_STORAGE_POOL.to_string(), pool);
                }
            }
        }
        for (key, value) in drbd_keys_from_props(&rg.props) {
            if !non_empty(&config, &key) {
                config.insert(key, value);
            }
        }
        let mut set: Props =
            linstor_props(&config)?.into_iter().filter(|(k, v)| rg.props.get(k) != Some(v)).collect();
        if ours {
            config.insert(KEY_PRISTINE.to_string(), "true".to_string());
        } else {
            config.remove(KEY_PRISTINE);
        }
        set.extend(pool_record(name, &config, ours));
        // A record left by an earlier life of the pool: keys no longer in its config go.
        let stale: Vec<String> = rg
            .props
            .keys()
            .filter(|k| k.starts_with(AUX_POOL_CONFIG_PREFIX) && !set.contains_key(k.as_str()))
            .cloned()
            .collect();
        // Undo: every property back to what it was, the filter too.
        let mut restore: Props =
            stale.iter().filter_map(|k| rg.props.get(k).map(|v| (k.clone(), v.clone()))).collect();
        let mut remove = Vec::new();
        for key in set.keys() {
            match rg.props.get(key) {
                Some(old) => {
                    restore.insert(key.clone(), old.clone());
                }
                None => remove.push(key.clone()),
            }
        }
        let mut old_filter = serde_json::Map::new();
        if new_filter.contains_key("place_count") {
            if let Some(count) = filter.place_count {
                old_filter.insert("place_count".into(), count.into());
            }
        }
        if new_filter.contains_key("storage_pool") {
            match &current_pool {
                Some(pool) => old_filter.insert("storage_pool".into(), pool.clone().into()),
                None => old_filter.insert("storage_pool_list".into(), serde_json::Value::Array(Vec::new())),
            };
        }
        let body = rg_modify_body(&new_filter, &set, &stale);
        modify_rg(&self.shared, &rg.name, &body, "Could not update the LINSTOR resource group").await?;
        let shared = Arc::clone(&self.shared);
        let group = rg.name.clone();
        undo.push(format!("restore resource group {group}"), move || async move {
            let body = rg_modify_body(&old_filter, &restore, &remove);
            modify_rg(&shared, &group, &body, "restore").await.map_err(|e| e.to_string())
        });
        Ok(config)
    }

    /// Pools recorded on resource groups (to rebuild a lost database).
    pub async fn recover_pools(&self) -> Result<Vec<RecoveredPool>> {
        let groups = self
            .shared
            .client
            .resource_group_list(&ListOpts::new())
            .await
            .map_err(Error::linstor("Unable to get the LINSTOR resource groups"))?;
        let mut pools = Vec::new();
        for rg in groups {
            let Some(name) = rg.props.get(AUX_POOL_NAME).filter(|n| !n.is_empty()) else { continue };
            let config: Config = rg
                .props
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(AUX_POOL_CONFIG_PREFIX).map(|k| (k.to_string(), v.clone()))
                })
                .collect();
            let created = rg.props.get(AUX_POOL_CREATED).and_then(|v| parse_bool(v)).unwrap_or(false);
            pools.push(RecoveredPool {
                name: name.clone(),
                resource_group: rg.name.clone(),
                config,
                created_by_driver: created,
            });
        }
        pools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(pools)
    }
}

/// The body of a resource group modification: filter fields, props to set and to delete.
fn rg_modify_body(
    filter: &serde_json::Map<String, serde_json::Value>,
    set: &Props,
    delete: &[String],
) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    if !filter.is_empty() {
        body.insert("select_filter".into(), serde_json::Value::Object(filter.clone()));
    }
    if !set.is_empty() {
        body.insert("override_props".into(), serde_json::json!(set));
    }
    if !delete.is_empty() {
        body.insert("delete_props".into(), serde_json::json!(delete));
    }
    serde_json::Value::Object(body)
}

/// `PUT /v1/resource-groups/{group}` with a hand-made body: an empty `storage_pool_list` must
/// reach LINSTOR (it clears the list), which the typed request cannot send.
async fn modify_rg(shared: &Shared, group: &str, body: &serde_json::Value, context: &str) -> Result<()> {
    if body.as_object().is_some_and(|b| b.is_empty()) {
        return Ok(());
    }
    shared
        .client
        .call_rc(Method::PUT, &["v1", "resource-groups", group], &[], Some(body))
        .await
        .map(|_| ())
        .map_err(Error::linstor(format!("{context} (resource group {group})")))
}

impl Pool {
    pub(crate) fn new(shared: Arc<Shared>, name: &str, config: Config) -> Pool {
        let group = resource_group_name(name, &config);
        let prefix = volume_prefix(&config);
        Pool { shared, name: name.to_string(), config, group, prefix }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The LINSTOR resource group behind the pool.
    pub fn resource_group(&self) -> &str {
        &self.group
    }

    /// The prefix of the pool's resource definition names and `Aux/Incus/name` values.
    pub fn volume_prefix(&self) -> &str {
        &self.prefix
    }

    /// The LINSTOR node this host is.
    pub fn node_name(&self) -> &str {
        &self.shared.node
    }

    /// `<state_dir>/storage-pools/<pool>`.
    pub fn pool_dir(&self) -> PathBuf {
        self.shared.state_dir.join("storage-pools").join(&self.name)
    }

    /// Creates the pool's directories; answers those it created.
    fn make_dirs(&self) -> Result<Vec<PathBuf>> {
        let mut created = Vec::new();
        let root = self.pool_dir();
        let mut dirs = vec![(root.clone(), 0o711)];
        dirs.extend(TYPE_DIRS.iter().map(|(t, mode)| (root.join(t.as_str()), *mode)));
        for (dir, mode) in dirs {
            if dir.is_dir() {
                continue;
            }
            std::fs::create_dir_all(&dir)
                .map_err(Error::io(format!("Could not create {}", dir.display())))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                .map_err(Error::io(format!("Could not set the mode of {}", dir.display())))?;
            created.push(dir);
        }
        created.reverse();
        Ok(created)
    }

    /// Removes the pool's directories that are empty (never anything with content: a volume
    /// could be mounted there).
    fn remove_dirs(&self) {
        let root = self.pool_dir();
        for (vol_type, _) in TYPE_DIRS {
            let dir = root.join(vol_type.as_str());
            if let Err(err) = std::fs::remove_dir(&dir) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("storage pool {}: leaving {}: {err}", self.name, dir.display());
                }
            }
        }
        if let Err(err) = std::fs::remove_dir(&root) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("storage pool {}: leaving {}: {err}", self.name, root.display());
            }
        }
    }

    /// Checks that this host's LINSTOR node can serve volumes (it is `ONLINE`) and makes the
    /// pool's local directories. Every cluster member calls it.
    pub async fn mount(&self) -> Result<bool> {
        self.check_node().await?;
        self.make_dirs()?;
        Ok(true)
    }

    /// Nothing to do: the group stays, volumes are unmounted one by one.
    pub async fn unmount(&self) -> Result<bool> {
        Ok(true)
    }

    /// Refuses when this host's LINSTOR node is unknown or not `ONLINE`.
    pub async fn check_node(&self) -> Result<()> {
        let node = &self.shared.node;
        match self.shared.client.node_get(node).await {
            Ok(found) => match found.connection_status.as_deref() {
                Some(status) if status.eq_ignore_ascii_case("ONLINE") => Ok(()),
                status => Err(Error::NodeUnavailable {
                    node: node.clone(),
                    state: status.unwrap_or("in an unknown state").to_string(),
                    hint: "start its LINSTOR satellite and check that the controller can reach it".into(),
                }),
            },
            Err(err) if err.is_not_found() => Err(Error::NodeUnavailable {
                node: node.clone(),
                state: "not known to the LINSTOR controller".into(),
                hint: "register this host as a LINSTOR satellite, or set storage.linstor.satellite.name to its LINSTOR node name".into(),
            }),
            Err(err) => Err(Error::linstor(format!("Could not get LINSTOR node {node}"))(err)),
        }
    }

    /// Capacity of the storage pools the group places on (all non-diskless pools when the
    /// group names none).
    pub async fn resources(&self) -> Result<PoolResources> {
        let rg = self
            .shared
            .client
            .resource_group_get(&self.group)
            .await
            .map_err(Error::linstor(format!("Could not get LINSTOR resource group {}", self.group)))?;
        let wanted = filter_pools(&rg.select_filter.unwrap_or_default());
        let mut opts = ListOpts::new();
        for pool in &wanted {
            opts = opts.storage_pool(pool.clone());
        }
        let pools = self
            .shared
            .client
            .storage_pool_view(&opts)
            .await
            .map_err(Error::linstor("Could not get the LINSTOR storage pools"))?;
        let (mut total, mut free) = (0u64, 0u64);
        for pool in pools {
            if pool.provider_kind.eq_ignore_ascii_case("DISKLESS") {
                continue;
            }
            if !wanted.is_empty() && !wanted.iter().any(|w| same_name(w, &pool.storage_pool_name)) {
                continue;
            }
            let pool_total = u64::try_from(pool.total_capacity.unwrap_or(0)).unwrap_or(0);
            let pool_free = u64::try_from(pool.free_capacity.unwrap_or(0)).unwrap_or(0).min(pool_total);
            total = total.saturating_add(pool_total);
            free = free.saturating_add(pool_free);
        }
        Ok(PoolResources {
            total_bytes: total.saturating_mul(1024),
            used_bytes: (total - free).saturating_mul(1024),
        })
    }

    /// Applies a new config. Refuses changes of the resource group and of the volume prefix.
    /// Set keys reach LINSTOR as properties and filter values; unset keys delete their
    /// property (`rs-discard-granularity` goes back to the driver's default) or reset their
    /// filter value (place count 2, no storage pool). Answers the updated pool.
    pub async fn update(&self, new_config: Config) -> Result<Pool> {
        let mut new = new_config;
        let asked = changed_keys(&self.config, &new);
        for key in [KEY_RESOURCE_GROUP, KEY_SOURCE] {
            let value = new.get(key).filter(|v| !v.is_empty());
            if asked.iter().any(|k| k == key) && value.is_some_and(|v| !same_name(v, &self.group)) {
                return Err(Error::Immutable {
                    key: key.to_string(),
                    reason: format!("the pool's LINSTOR resource group is \"{}\" for good", self.group),
                });
            }
        }
        if asked.iter().any(|k| k == KEY_VOLUME_PREFIX) && volume_prefix(&new) != self.prefix {
            return Err(Error::Immutable {
                key: KEY_VOLUME_PREFIX.to_string(),
                reason: format!("the pool's volumes are named with \"{}\"", self.prefix),
            });
        }
        new.insert(KEY_SOURCE.to_string(), self.group.clone());
        new.insert(KEY_RESOURCE_GROUP.to_string(), self.group.clone());
        new.insert(KEY_VOLUME_PREFIX.to_string(), self.prefix.clone());
        for (key, value) in &self.config {
            if key.starts_with("volatile.") && !new.contains_key(key) {
                new.insert(key.clone(), value.clone());
            }
        }
        config::validate_pool_config(&self.name, &new)?;
        let changed = changed_keys(&self.config, &new);
        if changed.is_empty() {
            return Ok(Pool::new(Arc::clone(&self.shared), &self.name, new));
        }
        let mut filter = serde_json::Map::new();
        if changed.iter().any(|k| k == KEY_PLACE_COUNT) {
            let count = config::place_count(&new).unwrap_or(DEFAULT_PLACE_COUNT);
            filter.insert("place_count".into(), count.into());
        }
        let clear_pool =
            changed.iter().any(|k| k == KEY_STORAGE_POOL) && config::storage_pool(&new).is_none();
        if let Some(pool) =
            config::storage_pool(&new).filter(|_| changed.iter().any(|k| k == KEY_STORAGE_POOL))
        {
            filter.insert("storage_pool".into(), pool.into());
        }
        let (mut set, mut delete) = linstor_props_change(&self.config, &new, true)?;
        for key in &changed {
            let prop = format!("{AUX_POOL_CONFIG_PREFIX}{key}");
            match new.get(key).filter(|v| !v.is_empty()) {
                Some(value) => {
                    set.insert(prop, value.clone());
                }
                None => delete.push(prop),
            }
        }
        if clear_pool {
            self.clear_storage_pool().await?;
        }
        let body = rg_modify_body(&filter, &set, &delete);
        modify_rg(&self.shared, &self.group, &body, "Could not update the LINSTOR resource group").await?;
        Ok(Pool::new(Arc::clone(&self.shared), &self.name, new))
    }

    /// Clears the group's storage pool filter (an empty `storage_pool_list`), and checks that
    /// the controller did.
    async fn clear_storage_pool(&self) -> Result<()> {
        let body = serde_json::json!({ "select_filter": { "storage_pool_list": [] } });
        modify_rg(
            &self.shared,
            &self.group,
            &body,
            "Could not clear the storage pool of the LINSTOR resource group",
        )
        .await?;
        let rg = self
            .shared
            .client
            .resource_group_get(&self.group)
            .await
            .map_err(Error::linstor(format!("Could not get LINSTOR resource group {}", self.group)))?;
        let left = filter_pools(&rg.select_filter.unwrap_or_default());
        if !left.is_empty() {
            return Err(Error::Inconsistent(format!(
                "The LINSTOR controller kept storage pool {} in the placement rules of resource group {} when asked to \
                 clear them; set {KEY_STORAGE_POOL} to the storage pool to use instead of unsetting it",
                left.join(", "),
                self.group
            )));
        }
        Ok(())
    }

    /// Deletes the pool: its resource group if the driver created it (LINSTOR refuses while
    /// volumes remain), else only the pool's record on the group; then its local directories.
    /// `true` when the group was deleted.
    pub async fn delete(&self) -> Result<bool> {
        let rg = match self.shared.client.resource_group_get(&self.group).await {
            Ok(rg) => rg,
            Err(err) if err.is_not_found() => {
                tracing::warn!(
                    "storage pool {}: LINSTOR resource group {} does not exist",
                    self.name,
                    self.group
                );
                self.remove_dirs();
                return Ok(false);
            }
            Err(err) => {
                return Err(Error::linstor(format!("Could not get LINSTOR resource group {}", self.group))(
                    err,
                ))
            }
        };
        if let Some(owner) = rg.props.get(AUX_POOL_NAME).filter(|owner| owner.as_str() != self.name) {
            tracing::warn!(
                "storage pool {}: resource group {} records pool {owner}; leaving it alone",
                self.name,
                self.group
            );
            self.remove_dirs();
            return Ok(false);
        }
        let created = match rg.props.get(AUX_POOL_CREATED) {
            Some(value) => parse_bool(value).unwrap_or(false),
            None => self.config.get(KEY_PRISTINE).and_then(|v| parse_bool(v)).unwrap_or(false),
        };
        if created {
            self.shared.client.resource_group_delete(&self.group).await.map_err(Error::linstor(format!(
                "Could not delete LINSTOR resource group {} (delete the pool's volumes first)",
                self.group
            )))?;
        } else {
            let ours: Vec<String> = rg
                .props
                .keys()
                .filter(|k| {
                    k.as_str() == AUX_POOL_NAME
                        || k.as_str() == AUX_POOL_CREATED
                        || k.starts_with(AUX_POOL_CONFIG_PREFIX)
                })
                .cloned()
                .collect();
            self.shared
                .modify_rg_props(&self.group, Props::new(), ours, "Could not remove the pool's record")
                .await?;
        }
        self.remove_dirs();
        Ok(created)
    }

    /// Fills a volume's config with the pool's `volume.*` defaults (and the driver's own:
    /// `block.filesystem` ext4, `block.mount_options` discard for volumes with a filesystem).
    pub fn fill_volume_config(&self, volume: &mut Volume) {
        config::fill_volume_defaults(&self.config, volume);
    }

    /// Checks a volume's identity and config.
    pub fn validate_volume(&self, volume: &Volume) -> Result<()> {
        volume.id.check().map_err(|why| Error::invalid("name", &volume.id.name, why))?;
        config::validate_volume_config(volume)
    }
}
