//! The command line of `strand linstor`, in the `linstor` client's syntax and short aliases.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Nodes of the cluster.
    #[command(subcommand, visible_alias = "n")]
    Node(NodeCommand),
    /// Storage pools of the nodes.
    #[command(subcommand, name = "storage-pool", visible_alias = "sp")]
    StoragePool(StoragePoolCommand),
    /// Resource groups: templates for resource definitions.
    #[command(subcommand, name = "resource-group", visible_alias = "rg")]
    ResourceGroup(ResourceGroupCommand),
    /// Resource definitions.
    #[command(subcommand, name = "resource-definition", visible_alias = "rd")]
    ResourceDefinition(ResourceDefinitionCommand),
    /// Volume definitions of resource definitions.
    #[command(subcommand, name = "volume-definition", visible_alias = "vd")]
    VolumeDefinition(VolumeDefinitionCommand),
    /// Resources: resource definitions deployed on nodes.
    #[command(subcommand, visible_alias = "r")]
    Resource(ResourceCommand),
    /// Volumes of resources.
    #[command(subcommand, visible_alias = "v")]
    Volume(VolumeCommand),
    /// Snapshots of resource definitions.
    #[command(subcommand, visible_alias = "s")]
    Snapshot(SnapshotCommand),
    /// The controller itself.
    #[command(subcommand, visible_alias = "c")]
    Controller(ControllerCommand),
}

/// Options every list command takes.
#[derive(Args, Debug, Default, Clone)]
pub struct ListArgs {
    /// Add one column per property key; `KEY=HEADER` names the column.
    #[arg(long = "show-props", num_args = 1.., value_name = "KEY")]
    pub show_props: Vec<String>,
    /// Pastable output: plain ASCII.
    #[arg(short = 'p', long)]
    pub pastable: bool,
}

/// A property to set, or to delete when no value is given.
#[derive(Args, Debug)]
pub struct PropArgs {
    /// The property key.
    pub key: String,
    /// The new value; without it the property is deleted.
    pub value: Option<String>,
    /// Put the key in the auxiliary namespace (`Aux/KEY`).
    #[arg(long)]
    pub aux: bool,
}

impl PropArgs {
    pub fn full_key(&self) -> String {
        if self.aux {
            format!("Aux/{}", self.key)
        } else {
            self.key.clone()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// List nodes.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        /// Only these nodes.
        #[arg(short = 'n', long, num_args = 1..)]
        nodes: Vec<String>,
        /// Only nodes with these properties (`KEY` or `KEY=VALUE`).
        #[arg(long, num_args = 1..)]
        props: Vec<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Register a node.
    #[command(visible_alias = "c")]
    Create {
        /// Name of the node; must match its host name.
        name: String,
        /// Address of the node's satellite.
        address: String,
        /// satellite, combined, controller or auxiliary.
        #[arg(long, default_value = "satellite", value_parser = ["satellite", "combined", "controller", "auxiliary"], ignore_case = true)]
        node_type: String,
        /// plain or ssl.
        #[arg(long, default_value = "plain", value_parser = ["plain", "ssl"], ignore_case = true)]
        communication_type: String,
        /// Port of the satellite (default 3366 plain, 3367 ssl).
        #[arg(short = 'p', long, value_parser = clap::value_parser!(u16).range(1..))]
        port: Option<u16>,
        /// Name of the network interface.
        #[arg(long, default_value = "default")]
        interface_name: String,
    },
    /// Delete nodes.
    #[command(visible_alias = "d")]
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Set (or delete) a property of a node.
    #[command(name = "set-property", visible_alias = "sp")]
    SetProperty {
        node: String,
        #[command(flatten)]
        prop: PropArgs,
    },
    /// List the properties of a node.
    #[command(name = "list-properties", visible_alias = "lp")]
    ListProperties {
        node: String,
        #[arg(short = 'p', long)]
        pastable: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum StoragePoolCommand {
    /// List storage pools.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        /// Only pools of these nodes.
        #[arg(short = 'n', long, num_args = 1..)]
        nodes: Vec<String>,
        /// Only these pools.
        #[arg(short = 's', long, num_args = 1..)]
        storage_pools: Vec<String>,
        /// Only pools with these properties (`KEY` or `KEY=VALUE`).
        #[arg(long, num_args = 1..)]
        props: Vec<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Create a storage pool.
    #[command(subcommand, visible_alias = "c")]
    Create(PoolKind),
    /// Delete a storage pool from nodes.
    #[command(visible_alias = "d")]
    Delete {
        /// The nodes, then the pool.
        #[arg(required = true, num_args = 2.., value_name = "NODE... POOL")]
        names: Vec<String>,
    },
}

/// Where a new pool keeps its data.
#[derive(Args, Debug)]
pub struct PoolArgs {
    /// The node of the new pool.
    pub node: String,
    /// The name of the new pool.
    pub name: String,
    /// The backing pool: volume group, `VG/THINPOOL`, zpool or directory.
    pub backing: String,
    /// Identifier of storage shared by several nodes.
    #[arg(long)]
    pub shared_space: Option<String>,
    /// Skip LINSTOR's locking for shared pools.
    #[arg(long)]
    pub external_locking: bool,
}

#[derive(Subcommand, Debug)]
pub enum PoolKind {
    /// An LVM volume group.
    Lvm(PoolArgs),
    /// An LVM thin pool (`VG/THINPOOL`).
    Lvmthin(PoolArgs),
    /// A ZFS zpool.
    Zfs(PoolArgs),
    /// A thin ZFS zpool.
    Zfsthin(PoolArgs),
    /// Files in a directory.
    File(PoolArgs),
    /// Sparse files in a directory.
    #[command(alias = "file_thin", alias = "file-thin")]
    Filethin(PoolArgs),
    /// A pool without storage, for diskless resources.
    Diskless { node: String, name: String },
}

/// Placement rules, as `rg create`, `rg modify` and `rg spawn` take them.
#[derive(Args, Debug, Default, Clone)]
pub struct PlacementArgs {
    /// Number of diskful replicas.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub place_count: Option<i32>,
    /// Storage pools to place in.
    #[arg(short = 's', long, num_args = 0..)]
    pub storage_pool: Option<Vec<String>>,
    /// Storage pools for diskless resources.
    #[arg(long, num_args = 0..)]
    pub diskless_storage_pool: Option<Vec<String>>,
    /// Avoid nodes where these resources are.
    #[arg(long, num_args = 0..)]
    pub do_not_place_with: Option<Vec<String>>,
    /// Avoid nodes with resources matching this regular expression.
    #[arg(long)]
    pub do_not_place_with_regex: Option<String>,
    /// Replicas on nodes that share these Aux properties.
    #[arg(long, num_args = 0..)]
    pub replicas_on_same: Option<Vec<String>>,
    /// Replicas on nodes that differ in these Aux properties.
    #[arg(long, num_args = 0..)]
    pub replicas_on_different: Option<Vec<String>>,
    /// Place diskless resources on the remaining nodes.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub diskless_on_remaining: Option<bool>,
    /// Layers, top first (`drbd,storage`).
    #[arg(short = 'l', long, value_delimiter = ',')]
    pub layer_list: Option<Vec<String>>,
    /// Allowed provider kinds (`lvm,file_thin`).
    #[arg(long, visible_alias = "prov", value_delimiter = ',')]
    pub providers: Option<Vec<String>>,
}

pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(format!("'{text}' is not a boolean (true or false)")),
    }
}

#[derive(Subcommand, Debug)]
pub enum ResourceGroupCommand {
    /// List resource groups.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        /// Only these groups.
        #[arg(short = 'r', long, num_args = 1..)]
        resource_groups: Vec<String>,
        /// Only groups with these properties (`KEY` or `KEY=VALUE`).
        #[arg(long, num_args = 1..)]
        props: Vec<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Create a resource group.
    #[command(visible_alias = "c")]
    Create {
        name: String,
        /// Description of the group.
        #[arg(short = 'd', long)]
        description: Option<String>,
        /// DRBD peer slots of new resources.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=31))]
        peer_slots: Option<i32>,
        #[command(flatten)]
        placement: PlacementArgs,
    },
    /// Change a resource group.
    #[command(visible_alias = "m")]
    Modify {
        name: String,
        #[arg(short = 'd', long)]
        description: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=31))]
        peer_slots: Option<i32>,
        #[command(flatten)]
        placement: PlacementArgs,
    },
    /// Delete a resource group.
    #[command(visible_alias = "d")]
    Delete { name: String },
    /// Create a resource definition with volumes from a group, and place it.
    #[command(name = "spawn-resources", visible_alias = "spawn")]
    Spawn {
        /// The group to spawn from.
        resource_group: String,
        /// The new resource definition.
        resource_definition: String,
        /// Sizes of the volumes (`10G`, `500M`, `1024K`; GiB without a unit).
        volume_sizes: Vec<String>,
        /// Allow fewer sizes than the group has volume groups.
        #[arg(short = 'p', long)]
        partial: bool,
        /// Only create the definitions, do not place resources.
        #[arg(short = 'd', long = "definitions-only", alias = "definition-only")]
        definition_only: bool,
        /// User-specified name of the resource definition.
        #[arg(long)]
        external_name: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=31))]
        peer_slots: Option<i32>,
        #[command(flatten)]
        placement: PlacementArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ResourceDefinitionCommand {
    /// List resource definitions.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        /// Only these resource definitions.
        #[arg(short = 'r', long, num_args = 1..)]
        resource_definitions: Vec<String>,
        /// Only definitions with these properties (`KEY` or `KEY=VALUE`).
        #[arg(long, num_args = 1..)]
        props: Vec<String>,
        /// Show the user-specified names.
        #[arg(short = 'e', long)]
        external_name: bool,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Create a resource definition.
    #[command(visible_alias = "c")]
    Create {
        name: String,
        /// DRBD port.
        #[arg(short = 'p', long, value_parser = clap::value_parser!(i32).range(1..=65535))]
        port: Option<i32>,
        /// User-specified name.
        #[arg(short = 'e', long)]
        external_name: Option<String>,
        /// Layers, top first (`drbd,storage`).
        #[arg(short = 'l', long, value_delimiter = ',')]
        layer_list: Vec<String>,
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=31))]
        peer_slots: Option<i32>,
        /// The resource group of the definition.
        #[arg(long)]
        resource_group: Option<String>,
    },
    /// Delete resource definitions.
    #[command(visible_alias = "d")]
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
        /// Accepted for compatibility; deletions are always synchronous.
        #[arg(long = "async")]
        async_: bool,
    },
    /// Set (or delete) a property of a resource definition.
    #[command(name = "set-property", visible_alias = "sp")]
    SetProperty {
        name: String,
        #[command(flatten)]
        prop: PropArgs,
    },
    /// List the properties of a resource definition.
    #[command(name = "list-properties", visible_alias = "lp")]
    ListProperties {
        name: String,
        #[arg(short = 'p', long)]
        pastable: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum VolumeDefinitionCommand {
    /// List volume definitions.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        /// Only volume definitions of these resource definitions.
        #[arg(short = 'r', long, num_args = 1..)]
        resource_definitions: Vec<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Add a volume to a resource definition.
    #[command(visible_alias = "c")]
    Create {
        resource_definition: String,
        /// Size (`10G`, `500M`, `1024K`; GiB without a unit).
        size: String,
        /// Volume number (the lowest free one by default).
        #[arg(long)]
        vlmnr: Option<i32>,
        /// DRBD minor number.
        #[arg(long)]
        minor: Option<i32>,
        /// The size includes the DRBD metadata.
        #[arg(long)]
        gross: bool,
    },
    /// Resize a volume definition.
    #[command(name = "set-size", visible_alias = "size")]
    SetSize {
        resource_definition: String,
        volume_number: i32,
        /// New size (`10G`, `500M`, `1024K`; GiB without a unit).
        size: String,
        #[arg(long)]
        gross: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ResourceCommand {
    /// List resources.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        #[arg(short = 'n', long, num_args = 1..)]
        nodes: Vec<String>,
        #[arg(short = 'r', long, num_args = 1..)]
        resources: Vec<String>,
        #[arg(long, num_args = 1..)]
        props: Vec<String>,
        #[command(flatten)]
        list: ListArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// List volumes.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        #[arg(short = 'n', long, num_args = 1..)]
        nodes: Vec<String>,
        #[arg(short = 's', long, num_args = 1..)]
        storage_pools: Vec<String>,
        #[arg(short = 'r', long, num_args = 1..)]
        resources: Vec<String>,
        /// Hide the replication states column.
        #[arg(long, visible_alias = "hrep")]
        hide_replication_states: bool,
        #[command(flatten)]
        list: ListArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// List snapshots.
    #[command(visible_alias = "l", alias = "ls")]
    List {
        #[arg(short = 'n', long, num_args = 1..)]
        nodes: Vec<String>,
        #[arg(short = 'r', long, num_args = 1..)]
        resources: Vec<String>,
        #[arg(short = 'p', long)]
        pastable: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ControllerCommand {
    /// Version of the controller.
    #[command(visible_alias = "v")]
    Version,
}
