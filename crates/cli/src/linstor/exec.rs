//! Runs the commands against the controller: lists become tables (or the controller's JSON with
//! `-m`), mutations print their ApiCallRc answers.

use super::commands::*;
use super::table::{Style, Table};
use super::units::parse_size_kib;
use super::views::{self, ShowProps};
use super::{replies, Failure, Output};
use linstor_api::{
    ApiCallRc, AutoSelectFilter, NetInterface, Node, NodeModify, PropsModify, ResourceDefinition,
    ResourceDefinitionCreate, ResourceDefinitionModify, ResourceGroup, ResourceGroupModify,
    ResourceGroupSpawn, ResourceWithVolumes, Snapshot, StoragePool, VolumeDefinition, VolumeDefinitionCreate,
    VolumeDefinitionModify, VolumeGroup,
};
use linstor_client::{Client, Error, ListOpts};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// What one command needs besides its arguments.
pub struct Context<'a> {
    pub client: &'a Client,
    pub machine: bool,
    pub style: Style,
    pub out: &'a mut Output,
}

impl Context<'_> {
    fn style(&self, pastable: bool) -> Style {
        if pastable {
            Style::Ascii
        } else {
            self.style
        }
    }

    /// GETs a list as JSON: printed as it came with `-m`, decoded otherwise.
    async fn fetch<T: DeserializeOwned>(
        &mut self,
        path: &[&str],
        query: &[(String, String)],
    ) -> Result<Option<T>, Failure> {
        let value: serde_json::Value = self.client.get_json(path, query).await.map_err(Failure::Client)?;
        if self.machine {
            self.out.json(&value);
            return Ok(None);
        }
        serde_json::from_value(value).map(Some).map_err(|err| {
            Failure::Client(Error::Decode { what: format!("/{}", path.join("/")), message: err.to_string() })
        })
    }

    fn table(&mut self, table: &Table, style: Style) {
        self.out.text(&table.render(style));
    }

    /// Prints the answers of one or more mutations; an error among them is the command's error.
    fn answers(&mut self, results: Vec<Result<Vec<ApiCallRc>, Error>>) -> Result<(), Failure> {
        let mut all = Vec::new();
        let mut failed = false;
        for result in results {
            match result {
                Ok(list) => all.extend(list),
                Err(Error::Api(list)) => {
                    failed = true;
                    all.extend(list);
                }
                Err(Error::NotFound(list)) if !list.is_empty() => {
                    failed = true;
                    all.extend(list);
                }
                Err(other) => {
                    self.print_answers(&all);
                    return Err(Failure::Client(other));
                }
            }
        }
        self.print_answers(&all);
        if failed || replies::has_error(&all) {
            return Err(Failure::Printed(super::EXIT_API_ERROR));
        }
        Ok(())
    }

    fn print_answers(&mut self, list: &[ApiCallRc]) {
        if self.machine {
            self.out.json(&list);
        } else {
            self.out.text(&replies::render(list));
        }
    }
}

fn list_opts() -> ListOpts {
    ListOpts::new()
}

fn prop_change(prop: &PropArgs) -> PropsModify {
    let key = prop.full_key();
    match &prop.value {
        Some(value) => {
            PropsModify { override_props: BTreeMap::from([(key, value.clone())]), ..Default::default() }
        }
        None => PropsModify { delete_props: vec![key], ..Default::default() },
    }
}

fn size(text: &str) -> Result<i64, Failure> {
    parse_size_kib(text).map_err(Failure::Usage)
}

pub async fn run(ctx: &mut Context<'_>, command: Command) -> Result<(), Failure> {
    match command {
        Command::Node(command) => node(ctx, command).await,
        Command::StoragePool(command) => storage_pool(ctx, command).await,
        Command::ResourceGroup(command) => resource_group(ctx, command).await,
        Command::ResourceDefinition(command) => resource_definition(ctx, command).await,
        Command::VolumeDefinition(command) => volume_definition(ctx, command).await,
        Command::Resource(ResourceCommand::List { nodes, resources, props, list }) => {
            let opts = ListOpts { nodes, resources, props, ..list_opts() };
            let Some(found) =
                ctx.fetch::<Vec<ResourceWithVolumes>>(&["v1", "view", "resources"], &opts.to_query()).await?
            else {
                return Ok(());
            };
            let table = views::resources(&found, &ShowProps::parse(&list.show_props));
            let style = ctx.style(list.pastable);
            ctx.table(&table, style);
            Ok(())
        }
        Command::Volume(VolumeCommand::List {
            nodes,
            storage_pools,
            resources,
            hide_replication_states,
            list,
        }) => {
            let opts = ListOpts { nodes, storage_pools, resources, ..list_opts() };
            let Some(found) =
                ctx.fetch::<Vec<ResourceWithVolumes>>(&["v1", "view", "resources"], &opts.to_query()).await?
            else {
                return Ok(());
            };
            let (table, reports) =
                views::volumes(&found, &ShowProps::parse(&list.show_props), hide_replication_states);
            let style = ctx.style(list.pastable);
            ctx.table(&table, style);
            ctx.out.text(&replies::render(&reports));
            Ok(())
        }
        Command::Snapshot(SnapshotCommand::List { nodes, resources, pastable }) => {
            let opts = ListOpts { nodes, resources, ..list_opts() };
            let Some(found) =
                ctx.fetch::<Vec<Snapshot>>(&["v1", "view", "snapshots"], &opts.to_query()).await?
            else {
                return Ok(());
            };
            let style = ctx.style(pastable);
            ctx.table(&views::snapshots(&found), style);
            Ok(())
        }
        Command::Controller(ControllerCommand::Version) => {
            let Some(version) =
                ctx.fetch::<linstor_api::ControllerVersion>(&["v1", "controller", "version"], &[]).await?
            else {
                return Ok(());
            };
            ctx.out.text(&format!(
                "linstor controller {}; GIT-hash: {}\n",
                version.version.unwrap_or_default(),
                version.git_hash.unwrap_or_default()
            ));
            Ok(())
        }
    }
}

async fn node(ctx: &mut Context<'_>, command: NodeCommand) -> Result<(), Failure> {
    let client = ctx.client;
    match command {
        NodeCommand::List { nodes, props, list } => {
            let opts = ListOpts { nodes, props, ..list_opts() };
            let Some(found) = ctx.fetch::<Vec<Node>>(&["v1", "nodes"], &opts.to_query()).await? else {
                return Ok(());
            };
            let style = ctx.style(list.pastable);
            ctx.table(&views::nodes(&found, &ShowProps::parse(&list.show_props)), style);
            Ok(())
        }
        NodeCommand::Create { name, address, node_type, communication_type, port, interface_name } => {
            let ssl = communication_type.eq_ignore_ascii_case("ssl");
            let controller = node_type.eq_ignore_ascii_case("controller");
            let port = port.unwrap_or(match (controller, ssl) {
                (false, false) => linstor_api::DEFAULT_SATELLITE_PORT,
                (false, true) => linstor_api::DEFAULT_SATELLITE_SSL_PORT,
                (true, false) => 3376,
                (true, true) => 3377,
            });
            let node = Node {
                name,
                node_type: node_type.to_lowercase(),
                net_interfaces: vec![NetInterface {
                    name: interface_name,
                    address,
                    satellite_port: Some(i32::from(port)),
                    satellite_encryption_type: Some(communication_type.to_lowercase()),
                    is_active: Some(true),
                    uuid: None,
                }],
                ..Default::default()
            };
            let result = client.node_create(&node).await;
            ctx.answers(vec![result])
        }
        NodeCommand::Delete { names } => {
            let mut results = Vec::new();
            for name in &names {
                results.push(client.node_delete(name).await);
            }
            ctx.answers(results)
        }
        NodeCommand::SetProperty { node, prop } => {
            let change = prop_change(&prop);
            let change = NodeModify {
                override_props: change.override_props,
                delete_props: change.delete_props,
                ..Default::default()
            };
            let result = client.node_modify(&node, &change).await;
            ctx.answers(vec![result])
        }
        NodeCommand::ListProperties { node, pastable } => {
            let Some(found) = ctx.fetch::<Node>(&["v1", "nodes", &node], &[]).await? else {
                return Ok(());
            };
            let style = ctx.style(pastable);
            ctx.table(&views::props(&found.props), style);
            Ok(())
        }
    }
}

async fn storage_pool(ctx: &mut Context<'_>, command: StoragePoolCommand) -> Result<(), Failure> {
    let client = ctx.client;
    match command {
        StoragePoolCommand::List { nodes, storage_pools, props, list } => {
            let opts = ListOpts { nodes, storage_pools, props, ..list_opts() };
            let Some(found) =
                ctx.fetch::<Vec<StoragePool>>(&["v1", "view", "storage-pools"], &opts.to_query()).await?
            else {
                return Ok(());
            };
            let (table, reports) = views::storage_pools(&found, &ShowProps::parse(&list.show_props));
            let style = ctx.style(list.pastable);
            ctx.table(&table, style);
            ctx.out.text(&replies::render(&reports));
            Ok(())
        }
        StoragePoolCommand::Create(kind) => {
            let (provider, args) = match kind {
                PoolKind::Lvm(args) => ("LVM", args),
                PoolKind::Lvmthin(args) => ("LVM_THIN", args),
                PoolKind::Zfs(args) => ("ZFS", args),
                PoolKind::Zfsthin(args) => ("ZFS_THIN", args),
                PoolKind::File(args) => ("FILE", args),
                PoolKind::Filethin(args) => ("FILE_THIN", args),
                PoolKind::Diskless { node, name } => {
                    let pool = StoragePool {
                        storage_pool_name: name,
                        provider_kind: "DISKLESS".to_string(),
                        ..Default::default()
                    };
                    let result = client.storage_pool_create(&node, &pool).await;
                    return ctx.answers(vec![result]);
                }
            };
            let mut props = BTreeMap::new();
            match provider {
                "LVM" => {
                    props.insert("StorDriver/LvmVg".to_string(), args.backing.clone());
                }
                "LVM_THIN" => {
                    let Some((vg, thin)) = args.backing.split_once('/') else {
                        return Err(Failure::Usage(format!(
                            "Pool name '{}' does not have format VG/LV",
                            args.backing
                        )));
                    };
                    props.insert("StorDriver/LvmVg".to_string(), vg.to_string());
                    props.insert("StorDriver/ThinPool".to_string(), thin.to_string());
                }
                "ZFS" => {
                    props.insert("StorDriver/ZPool".to_string(), args.backing.clone());
                }
                "ZFS_THIN" => {
                    props.insert("StorDriver/ZPoolThin".to_string(), args.backing.clone());
                }
                _ => {
                    props.insert("StorDriver/FileDir".to_string(), args.backing.clone());
                }
            }
            let pool = StoragePool {
                storage_pool_name: args.name,
                provider_kind: provider.to_string(),
                props,
                shared_space: args.shared_space,
                external_locking: args.external_locking.then_some(true),
                ..Default::default()
            };
            let result = client.storage_pool_create(&args.node, &pool).await;
            ctx.answers(vec![result])
        }
        StoragePoolCommand::Delete { mut names } => {
            let pool = names.pop().unwrap_or_default();
            let mut results = Vec::new();
            for node in &names {
                results.push(client.storage_pool_delete(node, &pool).await);
            }
            ctx.answers(results)
        }
    }
}

fn select_filter(placement: PlacementArgs) -> Option<AutoSelectFilter> {
    let aux = |list: Option<Vec<String>>| {
        list.map(|keys| {
            keys.into_iter().map(|k| if k.starts_with("Aux/") { k } else { format!("Aux/{k}") }).collect()
        })
    };
    let filter = AutoSelectFilter {
        place_count: placement.place_count,
        storage_pool_list: placement.storage_pool.unwrap_or_default(),
        storage_pool_diskless_list: placement.diskless_storage_pool.unwrap_or_default(),
        not_place_with_rsc: placement.do_not_place_with.unwrap_or_default(),
        not_place_with_rsc_regex: placement.do_not_place_with_regex,
        replicas_on_same: aux(placement.replicas_on_same).unwrap_or_default(),
        replicas_on_different: aux(placement.replicas_on_different).unwrap_or_default(),
        diskless_on_remaining: placement.diskless_on_remaining,
        layer_stack: placement.layer_list.unwrap_or_default().into_iter().map(|l| l.to_uppercase()).collect(),
        provider_list: placement
            .providers
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.to_uppercase())
            .collect(),
        ..Default::default()
    };
    (filter != AutoSelectFilter::default()).then_some(filter)
}

async fn resource_group(ctx: &mut Context<'_>, command: ResourceGroupCommand) -> Result<(), Failure> {
    let client = ctx.client;
    match command {
        ResourceGroupCommand::List { resource_groups, props, list } => {
            let opts = ListOpts { resource_groups, props, ..list_opts() };
            let Some(found) =
                ctx.fetch::<Vec<ResourceGroup>>(&["v1", "resource-groups"], &opts.to_query()).await?
            else {
                return Ok(());
            };
            let mut numbers = BTreeMap::new();
            for group in &found {
                let vgs: Vec<VolumeGroup> =
                    client.volume_group_list(&group.name).await.map_err(Failure::Client)?;
                numbers.insert(group.name.clone(), vgs.iter().filter_map(|vg| vg.volume_number).collect());
            }
            let style = ctx.style(list.pastable);
            ctx.table(&views::resource_groups(&found, &numbers, &ShowProps::parse(&list.show_props)), style);
            Ok(())
        }
        ResourceGroupCommand::Create { name, description, peer_slots, placement } => {
            let group = ResourceGroup {
                name,
                description,
                peer_slots,
                select_filter: select_filter(placement),
                ..Default::default()
            };
            let result = client.resource_group_create(&group).await;
            ctx.answers(vec![result])
        }
        ResourceGroupCommand::Modify { name, description, peer_slots, placement } => {
            let change = ResourceGroupModify {
                description,
                peer_slots,
                select_filter: select_filter(placement),
                ..Default::default()
            };
            let result = client.resource_group_modify(&name, &change).await;
            ctx.answers(vec![result])
        }
        ResourceGroupCommand::Delete { name } => {
            let result = client.resource_group_delete(&name).await;
            ctx.answers(vec![result])
        }
        ResourceGroupCommand::Spawn {
            resource_group,
            resource_definition,
            volume_sizes,
            partial,
            definition_only,
            external_name,
            peer_slots,
            placement,
        } => {
            let sizes = volume_sizes.iter().map(|s| size(s)).collect::<Result<Vec<_>, _>>()?;
            let spawn = ResourceGroupSpawn {
                resource_definition_name: Some(resource_definition),
                resource_definition_external_name: external_name,
                volume_sizes: sizes,
                partial: Some(partial),
                definitions_only: Some(definition_only),
                peer_slots,
                select_filter: select_filter(placement),
                ..Default::default()
            };
            let result = client.resource_group_spawn(&resource_group, &spawn).await;
            ctx.answers(vec![result])
        }
    }
}

async fn resource_definition(
    ctx: &mut Context<'_>,
    command: ResourceDefinitionCommand,
) -> Result<(), Failure> {
    let client = ctx.client;
    match command {
        ResourceDefinitionCommand::List { resource_definitions, props, external_name, list } => {
            let opts = ListOpts { resource_definitions, props, ..list_opts() };
            let Some(found) = ctx
                .fetch::<Vec<ResourceDefinition>>(&["v1", "resource-definitions"], &opts.to_query())
                .await?
            else {
                return Ok(());
            };
            let style = ctx.style(list.pastable);
            let table =
                views::resource_definitions(&found, &ShowProps::parse(&list.show_props), external_name);
            ctx.table(&table, style);
            Ok(())
        }
        ResourceDefinitionCommand::Create {
            name,
            port,
            external_name,
            layer_list,
            peer_slots,
            resource_group,
        } => {
            let create = ResourceDefinitionCreate {
                drbd_port: port,
                drbd_peer_slots: peer_slots,
                resource_definition: ResourceDefinition {
                    name,
                    external_name,
                    resource_group_name: resource_group,
                    layer_data: layer_list
                        .iter()
                        .map(|layer| linstor_api::ResourceDefinitionLayer {
                            layer_type: layer.to_uppercase(),
                            data: None,
                        })
                        .collect(),
                    ..Default::default()
                },
                ..Default::default()
            };
            let result = client.resource_definition_create(&create).await;
            ctx.answers(vec![result])
        }
        ResourceDefinitionCommand::Delete { names, async_: _ } => {
            let mut results = Vec::new();
            for name in &names {
                results.push(client.resource_definition_delete(name).await);
            }
            ctx.answers(results)
        }
        ResourceDefinitionCommand::SetProperty { name, prop } => {
            let change = prop_change(&prop);
            let change = ResourceDefinitionModify {
                override_props: change.override_props,
                delete_props: change.delete_props,
                ..Default::default()
            };
            let result = client.resource_definition_modify(&name, &change).await;
            ctx.answers(vec![result])
        }
        ResourceDefinitionCommand::ListProperties { name, pastable } => {
            let Some(found) =
                ctx.fetch::<ResourceDefinition>(&["v1", "resource-definitions", &name], &[]).await?
            else {
                return Ok(());
            };
            let style = ctx.style(pastable);
            ctx.table(&views::props(&found.props), style);
            Ok(())
        }
    }
}

async fn volume_definition(ctx: &mut Context<'_>, command: VolumeDefinitionCommand) -> Result<(), Failure> {
    let client = ctx.client;
    match command {
        VolumeDefinitionCommand::List { resource_definitions, list } => {
            let opts = ListOpts { resource_definitions, with_volume_definitions: Some(true), ..list_opts() };
            let Some(found) = ctx
                .fetch::<Vec<ResourceDefinition>>(&["v1", "resource-definitions"], &opts.to_query())
                .await?
            else {
                return Ok(());
            };
            let style = ctx.style(list.pastable);
            ctx.table(&views::volume_definitions(&found, &ShowProps::parse(&list.show_props)), style);
            Ok(())
        }
        VolumeDefinitionCommand::Create { resource_definition, size: size_text, vlmnr, minor, gross } => {
            let create = VolumeDefinitionCreate {
                volume_definition: VolumeDefinition {
                    volume_number: vlmnr,
                    size_kib: size(&size_text)?,
                    flags: if gross { vec!["GROSS_SIZE".to_string()] } else { Vec::new() },
                    ..Default::default()
                },
                drbd_minor_number: minor,
                ..Default::default()
            };
            let result = client.volume_definition_create(&resource_definition, &create).await;
            ctx.answers(vec![result])
        }
        VolumeDefinitionCommand::SetSize { resource_definition, volume_number, size: size_text, gross } => {
            let change = VolumeDefinitionModify {
                size_kib: Some(size(&size_text)?),
                flags: if gross { vec!["GROSS_SIZE".to_string()] } else { Vec::new() },
                ..Default::default()
            };
            let result = client.volume_definition_modify(&resource_definition, volume_number, &change).await;
            ctx.answers(vec![result])
        }
    }
}
