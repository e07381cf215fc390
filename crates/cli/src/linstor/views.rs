//! The `linstor` client's list tables, built from the API objects: the same columns, state
//! texts and orderings.

use super::table::Table;
use super::units::{size_text, timestamp_text};
use linstor_api::{
    ApiCallRc, Node, Props, ResourceDefinition, ResourceGroup, ResourceLayer, ResourceWithVolumes, Snapshot,
    StoragePool, Volume,
};
use std::collections::BTreeMap;

/// `--show-props` entries: `KEY` or `KEY=HEADER`.
pub struct ShowProps(Vec<(String, String)>);

impl ShowProps {
    pub fn parse(args: &[String]) -> ShowProps {
        ShowProps(
            args.iter()
                .map(|arg| match arg.split_once('=') {
                    Some((key, header)) => (key.to_string(), header.to_string()),
                    None => (arg.clone(), arg.clone()),
                })
                .collect(),
        )
    }

    fn add_columns(&self, table: &mut Table) {
        for (_, header) in &self.0 {
            table.add_column(header);
        }
    }

    fn cells(&self, props: &Props) -> Vec<String> {
        self.0.iter().map(|(key, _)| props.get(key).cloned().unwrap_or_default()).collect()
    }
}

fn has_flag(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f == flag)
}

pub fn nodes(nodes: &[Node], show: &ShowProps) -> Table {
    let mut table = Table::new(&["Node", "NodeType", "Addresses", "State"]);
    show.add_columns(&mut table);
    for node in nodes {
        let mut address = String::new();
        for netif in &node.net_interfaces {
            if let (Some(true), Some(port)) = (netif.is_active, netif.satellite_port) {
                let encryption = netif.satellite_encryption_type.as_deref().unwrap_or("PLAIN");
                address = format!("{}:{} ({})", netif.address, port, encryption.to_uppercase());
            }
        }
        let state = if has_flag(&node.flags, "EVICTED") {
            "EVICTED".to_string()
        } else if has_flag(&node.flags, "DELETE") {
            "DELETE".to_string()
        } else if has_flag(&node.flags, "EVACUATE") {
            "EVACUATE".to_string()
        } else {
            connection_state(node.connection_status.as_deref().unwrap_or("UNKNOWN"))
        };
        let mut row = vec![node.name.clone(), node.node_type.clone(), address, state];
        row.extend(show.cells(&node.props));
        table.add_row(row);
    }
    table.sort_by_first_column();
    table
}

fn connection_state(status: &str) -> String {
    match status {
        "OFFLINE" => "OFFLINE",
        "CONNECTED" => "Connected",
        "ONLINE" => "Online",
        "VERSION_MISMATCH" => "OFFLINE(VERSION MISMATCH)",
        "FULL_SYNC_FAILED" => "OFFLINE(FULL SYNC FAILED)",
        "MISSING_EXT_TOOLS" => "OFFLINE(MISSING EXTERNAL TOOLS)",
        "AUTHENTICATION_ERROR" => "OFFLINE(AUTHENTICATION ERROR)",
        "HOSTNAME_MISMATCH" => "OFFLINE(HOSTNAME MISMATCH)",
        "OTHER_CONTROLLER" => "OFFLINE(OTHER_CONTROLLER)",
        "NO_STLT_CONN" => "OFFLINE(NO CONNECTION TO SATELLITE)",
        "UNKNOWN" => "Unknown",
        other => other,
    }
    .to_string()
}

/// Ok, Warning or Error, after the worst of a list of reports.
fn reports_state(reports: &[ApiCallRc]) -> &'static str {
    if reports.iter().any(ApiCallRc::is_error) {
        "Error"
    } else if reports.iter().any(ApiCallRc::is_warning) {
        "Warning"
    } else {
        "Ok"
    }
}

/// The backing pool of a storage pool, as `PoolName` shows it.
fn backing_pool(pool: &StoragePool) -> String {
    let get = |key: &str| pool.props.get(&format!("StorDriver/{key}")).cloned();
    if let Some(name) = get("StorPoolName") {
        return name;
    }
    match pool.provider_kind.as_str() {
        "LVM" | "SPDK" => get("LvmVg").unwrap_or_default(),
        "LVM_THIN" => {
            format!("{}/{}", get("LvmVg").unwrap_or_default(), get("ThinPool").unwrap_or_default())
        }
        "ZFS" => get("ZPool").unwrap_or_default(),
        "ZFS_THIN" => get("ZPoolThin").unwrap_or_default(),
        "FILE" | "FILE_THIN" => get("FileDir").unwrap_or_default(),
        _ => String::new(),
    }
}

/// The storage pool table and the reports of the pools (printed under it).
pub fn storage_pools(pools: &[StoragePool], show: &ShowProps) -> (Table, Vec<ApiCallRc>) {
    let mut table = Table::new(&[
        "StoragePool",
        "Node",
        "Driver",
        "PoolName",
        "FreeCapacity",
        "TotalCapacity",
        "CanSnapshots",
        "State",
        "SharedName",
    ]);
    table.align_right("FreeCapacity");
    table.align_right("TotalCapacity");
    show.add_columns(&mut table);
    let mut reports: Vec<ApiCallRc> = Vec::new();
    for pool in pools {
        let diskless = matches!(pool.provider_kind.as_str(), "DISKLESS" | "EBS_INIT" | "EBS_TARGET");
        let (free, total) = match (diskless, pool.free_capacity) {
            (false, Some(free)) => (size_text(free), pool.total_capacity.map(size_text).unwrap_or_default()),
            _ => (String::new(), String::new()),
        };
        for report in &pool.reports {
            if !reports.contains(report) {
                reports.push(report.clone());
            }
        }
        let snapshots = pool.supports_snapshots.unwrap_or_else(|| {
            pool.static_traits.get("SupportsSnapshots").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        });
        let shared = pool.free_space_mgr_name.clone().filter(|name| !name.contains(':')).unwrap_or_default();
        let mut row = vec![
            pool.storage_pool_name.clone(),
            pool.node_name.clone().unwrap_or_default(),
            pool.provider_kind.clone(),
            backing_pool(pool),
            free,
            total,
            if snapshots { "True" } else { "False" }.to_string(),
            reports_state(&pool.reports).to_string(),
            shared,
        ];
        row.extend(show.cells(&pool.props));
        table.add_row(row);
    }
    table.sort_by_first_column();
    (table, reports)
}

/// A Python-style list: `['a', 'b']`.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The select filter as the client shows it: one `Name: value` line per set field.
fn select_filter_text(group: &ResourceGroup) -> String {
    let Some(filter) = &group.select_filter else { return String::new() };
    let mut lines = Vec::new();
    if let Some(count) = filter.place_count.filter(|c| *c != 0) {
        lines.push(format!("PlaceCount: {count}"));
    }
    let pools = if filter.storage_pool_list.is_empty() {
        filter.storage_pool.iter().cloned().collect::<Vec<_>>()
    } else {
        filter.storage_pool_list.clone()
    };
    if !pools.is_empty() {
        lines.push(format!("StoragePool(s): {}", pools.join(", ")));
    }
    if let Some(value) = filter.diskless_on_remaining {
        lines.push(format!("DisklessOnRemaining: {}", if value { "True" } else { "False" }));
    }
    if !filter.not_place_with_rsc.is_empty() {
        lines.push(format!("NotPlaceWithRsc: {}", py_list(&filter.not_place_with_rsc)));
    }
    if let Some(regex) = filter.not_place_with_rsc_regex.as_deref().filter(|r| !r.is_empty()) {
        lines.push(format!("NotPlaceWithRscRegex: {regex}"));
    }
    if !filter.replicas_on_same.is_empty() {
        lines.push(format!("ReplicasOnSame: {}", py_list(&filter.replicas_on_same)));
    }
    if !filter.replicas_on_different.is_empty() {
        lines.push(format!("ReplicasOnDifferent: {}", py_list(&filter.replicas_on_different)));
    }
    if !filter.x_replicas_on_different_map.is_empty() {
        let pairs: Vec<String> =
            filter.x_replicas_on_different_map.iter().map(|(k, v)| format!("'{k}': {v}")).collect();
        lines.push(format!("XReplicasOnDifferent: {{{}}}", pairs.join(", ")));
    }
    if !filter.layer_stack.is_empty() {
        lines.push(format!("LayerStack: {}", py_list(&filter.layer_stack)));
    }
    if !filter.provider_list.is_empty() {
        lines.push(format!("ProviderList: {}", py_list(&filter.provider_list)));
    }
    lines.join("\n")
}

/// Resource groups; `volume_numbers` holds the volume group numbers of each group.
pub fn resource_groups(
    groups: &[ResourceGroup],
    volume_numbers: &BTreeMap<String, Vec<i32>>,
    show: &ShowProps,
) -> Table {
    let mut table = Table::new(&["ResourceGroup", "SelectFilter", "VlmNrs", "Description"]);
    show.add_columns(&mut table);
    for group in groups {
        let numbers = volume_numbers
            .get(&group.name)
            .map(|n| n.iter().map(i32::to_string).collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        let mut row = vec![
            group.name.clone(),
            select_filter_text(group),
            numbers,
            group.description.clone().unwrap_or_default(),
        ];
        row.extend(show.cells(&group.props));
        table.add_row(row);
    }
    table.sort_by_first_column();
    table
}

fn definition_state(rd: &ResourceDefinition) -> &'static str {
    if has_flag(&rd.flags, "DELETE") || has_flag(&rd.flags, "FAILED") {
        "DELETE"
    } else if has_flag(&rd.flags, "CLONING") || has_flag(&rd.flags, "RESTORE_TARGET") {
        "CLONING"
    } else {
        "ok"
    }
}

pub fn resource_definitions(rds: &[ResourceDefinition], show: &ShowProps, external_name: bool) -> Table {
    let mut headers = vec!["ResourceName"];
    if external_name {
        headers.push("External");
    }
    headers.extend(["Port", "ResourceGroup", "Layers", "State"]);
    let mut table = Table::new(&headers);
    show.add_columns(&mut table);
    for rd in rds {
        let mut row = vec![rd.name.clone()];
        if external_name {
            row.push(rd.external_name.clone().unwrap_or_else(|| "-".to_string()));
        }
        let port = rd
            .layer_data
            .iter()
            .filter(|layer| layer.layer_type == "DRBD")
            .find_map(|layer| layer.data.as_ref().and_then(|d| d.port))
            .map(|p| p.to_string())
            .unwrap_or_default();
        let layers: Vec<&str> = rd.layer_data.iter().map(|l| l.layer_type.as_str()).collect();
        row.extend([
            port,
            rd.resource_group_name.clone().unwrap_or_default(),
            layers.join(","),
            definition_state(rd).to_string(),
        ]);
        row.extend(show.cells(&rd.props));
        table.add_row(row);
    }
    table.sort_by_first_column();
    table
}

pub fn volume_definitions(rds: &[ResourceDefinition], show: &ShowProps) -> Table {
    let mut table = Table::new(&["ResourceName", "VolumeNr", "VolumeMinor", "Size", "Gross", "State"]);
    show.add_columns(&mut table);
    for rd in rds {
        for vd in &rd.volume_definitions {
            let state = if has_flag(&vd.flags, "DELETE") {
                "DELETING"
            } else if has_flag(&vd.flags, "RESIZE") {
                "resizing"
            } else {
                "ok"
            };
            let minor = vd
                .layer_data
                .iter()
                .filter(|layer| layer.layer_type == "DRBD")
                .find_map(|layer| layer.data.as_ref().and_then(|d| d.minor_number))
                .map(|m| m.to_string())
                .unwrap_or_default();
            let mut row = vec![
                rd.name.clone(),
                vd.volume_number.map(|n| n.to_string()).unwrap_or_default(),
                minor,
                size_text(vd.size_kib),
                if has_flag(&vd.flags, "GROSS_SIZE") { "+" } else { "" }.to_string(),
                state.to_string(),
            ];
            row.extend(show.cells(&vd.props));
            table.add_row(row);
        }
    }
    table.sort_by_first_column();
    table
}

/// Layer types of a resource's layer tree, top first, each once.
fn layer_stack(layer: Option<&ResourceLayer>) -> Vec<String> {
    fn walk(layer: &ResourceLayer, out: &mut Vec<String>) {
        if !layer.layer_type.is_empty() && !out.contains(&layer.layer_type) {
            out.push(layer.layer_type.clone());
        }
        for child in &layer.children {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    if let Some(layer) = layer {
        walk(layer, &mut out);
    }
    out
}

/// State text of a volume and whether it is a healthy one (the client's green), as `r l` and
/// `v l` show it.
fn volume_state(volume: &Volume, resource_flags: &[String]) -> (String, bool) {
    let prefix = if has_flag(&volume.flags, "RESIZE") { "Resizing, " } else { "" };
    let expects_disk_state = volume.layer_data_list.first().is_some_and(|layer| layer.layer_type == "DRBD");
    let disk_state = volume.state.as_ref().and_then(|s| s.disk_state.as_deref());
    if !expects_disk_state {
        return (format!("{prefix}Created"), true);
    }
    match disk_state {
        None => (format!("{prefix}Unknown"), false),
        Some("DUnknown") => (format!("{prefix}Unknown"), false),
        Some("Diskless") => {
            if !has_flag(resource_flags, "DISKLESS") {
                (format!("{prefix}Diskless"), false)
            } else if has_flag(resource_flags, "TIE_BREAKER") {
                ("TieBreaker".to_string(), true)
            } else {
                (format!("{prefix}Diskless"), true)
            }
        }
        Some(state @ ("UpToDate" | "Created" | "Attached")) => (format!("{prefix}{state}"), true),
        Some(state) => (format!("{prefix}{state}"), false),
    }
}

pub fn resources(resources: &[ResourceWithVolumes], show: &ShowProps) -> Table {
    let mut table = Table::new(&["ResourceName", "Node", "Layers", "Usage", "Conns", "State", "CreatedOn"]);
    table.align_right("State");
    show.add_columns(&mut table);
    for rsc in resources {
        let r = &rsc.resource;
        let layers = layer_stack(r.layer_object.as_ref()).join(",");
        let mut usage = String::new();
        let mut state = "Unknown".to_string();
        if has_flag(&r.flags, "DELETE") || has_flag(&r.flags, "DRBD_DELETE") {
            state = "DELETING".to_string();
        } else if has_flag(&r.flags, "INACTIVE") {
            state = "INACTIVE".to_string();
        } else if let Some(rsc_state) = &r.state {
            usage = match rsc_state.in_use {
                Some(true) => "InUse".to_string(),
                Some(false) => "Unused".to_string(),
                None => String::new(),
            };
            for volume in &rsc.volumes {
                let (text, healthy) = volume_state(volume, &r.flags);
                state = text;
                if has_flag(&r.flags, "EVACUATE") {
                    state.push_str(", Evacuating");
                }
                if !healthy {
                    break;
                }
            }
        }
        let mut conns = String::new();
        if state != "Unknown" {
            let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
            if let Some(drbd) = r.layer_object.as_ref().and_then(|l| l.drbd.as_ref()) {
                for (peer, connection) in &drbd.connections {
                    if connection.connected != Some(true) {
                        failed
                            .entry(connection.message.clone().unwrap_or_default())
                            .or_default()
                            .push(peer.clone());
                    }
                }
            }
            conns = if failed.is_empty() {
                "Ok".to_string()
            } else {
                failed
                    .iter()
                    .map(|(message, peers)| format!("{message}({})", peers.join(",")))
                    .collect::<Vec<_>>()
                    .join(",")
            };
        }
        let mut row = vec![
            r.name.clone(),
            r.node_name.clone(),
            layers,
            usage,
            conns,
            state,
            r.create_timestamp.map(timestamp_text).unwrap_or_default(),
        ];
        row.extend(show.cells(&r.props));
        table.add_row(row);
    }
    table.sort_by_first_column();
    table
}

fn drbd_minor(volume: &Volume) -> Option<i64> {
    volume
        .layer_data_list
        .iter()
        .filter(|layer| layer.layer_type == "DRBD")
        .find_map(|layer| layer.data.as_ref()?.get("drbd_volume_definition")?.get("minor_number")?.as_i64())
}

fn replication_text(volume: &Volume) -> String {
    let Some(states) = volume.state.as_ref().map(|s| &s.replication_states) else { return String::new() };
    if states.is_empty() {
        return String::new();
    }
    let established =
        states.values().filter(|s| s.replication_state.as_deref() == Some("Established")).count();
    if established == states.len() {
        return format!("Established({established})");
    }
    states
        .iter()
        .map(|(peer, state)| {
            let name = state.replication_state.as_deref().unwrap_or("Unknown");
            let percent =
                state.done_percentage.map(|p| format!("{p:.2}%")).unwrap_or_else(|| "?".to_string());
            match name {
                "SyncTarget" | "PausedSyncS" | "PausedSyncT" | "VerifyT" => {
                    format!("{peer}: {name}({percent})")
                }
                _ => format!("{peer}: {name}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The volume table and the reports of the volumes (printed under it).
pub fn volumes(
    resources: &[ResourceWithVolumes],
    show: &ShowProps,
    hide_replication: bool,
) -> (Table, Vec<ApiCallRc>) {
    let mut headers = vec![
        "Resource",
        "Node",
        "StoragePool",
        "VolNr",
        "MinorNr",
        "DeviceName",
        "Allocated",
        "InUse",
        "State",
    ];
    if !hide_replication {
        headers.push("Repl");
    }
    let mut table = Table::new(&headers);
    for column in ["VolNr", "MinorNr", "Allocated", "State"] {
        table.align_right(column);
    }
    show.add_columns(&mut table);
    let mut reports = Vec::new();
    for rsc in resources {
        let r = &rsc.resource;
        if has_flag(&r.flags, "INACTIVE") && !has_flag(&r.flags, "EVICTED") {
            continue;
        }
        let usage = match r.state.as_ref().and_then(|s| s.in_use) {
            Some(true) => "InUse",
            Some(false) => "Unused",
            None => "",
        };
        for volume in &rsc.volumes {
            let state = if volume.reports.iter().any(ApiCallRc::is_error) {
                "Error".to_string()
            } else {
                volume_state(volume, &r.flags).0
            };
            reports.extend(volume.reports.iter().cloned());
            let mut row = vec![
                r.name.clone(),
                r.node_name.clone(),
                volume.storage_pool_name.clone().unwrap_or_default(),
                volume.volume_number.map(|n| n.to_string()).unwrap_or_default(),
                drbd_minor(volume).map(|m| m.to_string()).unwrap_or_default(),
                volume.device_path.clone().unwrap_or_default(),
                volume.allocated_size_kib.filter(|s| *s != 0).map(size_text).unwrap_or_default(),
                usage.to_string(),
                state,
            ];
            if !hide_replication {
                row.push(replication_text(volume));
            }
            row.extend(show.cells(&volume.props));
            table.add_row(row);
        }
    }
    (table, reports)
}

fn snapshot_state(snapshot: &Snapshot) -> String {
    let flags = &snapshot.flags;
    if has_flag(flags, "DELETE") {
        return "DELETING".to_string();
    }
    if has_flag(flags, "FAILED_DEPLOYMENT") {
        return "Failed".to_string();
    }
    if has_flag(flags, "FAILED_DISCONNECT") {
        return "Satellite disconnected".to_string();
    }
    if !has_flag(flags, "SUCCESSFUL") {
        return "Incomplete".to_string();
    }
    if has_flag(flags, "BACKUP") && has_flag(flags, "SHIPPING") {
        if snapshot.snapshots.iter().any(|s| has_flag(&s.flags, "BACKUP_SOURCE")) {
            return "Shipping".to_string();
        }
        if snapshot.snapshots.iter().any(|s| has_flag(&s.flags, "BACKUP_TARGET")) {
            return "Restoring".to_string();
        }
    }
    let sub_state = snapshot
        .snapshots
        .iter()
        .flat_map(|s| s.snapshot_volumes.iter())
        .find_map(|v| v.state.as_deref().filter(|s| !s.is_empty() && *s != "completed"));
    match sub_state {
        Some(sub) => format!("Successful ({sub})"),
        None => "Successful".to_string(),
    }
}

pub fn snapshots(snapshots: &[Snapshot]) -> Table {
    let mut table =
        Table::new(&["ResourceName", "SnapshotName", "NodeNames", "Volumes", "CreatedOn", "State"]);
    for snapshot in snapshots {
        let volumes: Vec<String> = snapshot
            .volume_definitions
            .iter()
            .map(|v| {
                format!(
                    "{}: {}",
                    v.volume_number.map(|n| n.to_string()).unwrap_or_default(),
                    size_text(v.size_kib.unwrap_or(0))
                )
            })
            .collect();
        let created = snapshot
            .snapshots
            .first()
            .and_then(|s| s.create_timestamp)
            .map(timestamp_text)
            .unwrap_or_default();
        table.add_row(vec![
            snapshot.resource_name.clone().unwrap_or_default(),
            snapshot.name.clone(),
            snapshot.nodes.join(", "),
            volumes.join(", "),
            created,
            snapshot_state(snapshot),
        ]);
    }
    table
}

/// `Key`/`Value`, sorted by key.
pub fn props(props: &Props) -> Table {
    let mut table = Table::new(&["Key", "Value"]);
    for (key, value) in props {
        table.add_row(vec![key.clone(), value.clone()]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linstor::table::Style;
    use linstor_api::{
        AutoSelectFilter, NetInterface, SnapshotNode, SnapshotVolumeDefinition, VolumeDefinition,
    };

    #[test]
    fn node_rows_show_the_active_address_and_state() {
        let node = Node {
            name: "alpha".into(),
            node_type: "SATELLITE".into(),
            connection_status: Some("OFFLINE".into()),
            net_interfaces: vec![NetInterface {
                name: "default".into(),
                address: "127.0.0.1".into(),
                satellite_port: Some(3366),
                satellite_encryption_type: Some("plain".into()),
                is_active: Some(true),
                uuid: None,
            }],
            ..Default::default()
        };
        let text = nodes(&[node], &ShowProps::parse(&[])).render(Style::Ascii);
        assert!(text.contains("| alpha | SATELLITE | 127.0.0.1:3366 (PLAIN) | OFFLINE |"), "{text}");
    }

    #[test]
    fn select_filters_read_like_the_client() {
        let group = ResourceGroup {
            name: "g".into(),
            select_filter: Some(AutoSelectFilter {
                place_count: Some(2),
                storage_pool_list: vec!["p1".into(), "p2".into()],
                layer_stack: vec!["DRBD".into(), "STORAGE".into()],
                diskless_on_remaining: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            select_filter_text(&group),
            "PlaceCount: 2\nStoragePool(s): p1, p2\nDisklessOnRemaining: False\nLayerStack: ['DRBD', 'STORAGE']"
        );
    }

    #[test]
    fn snapshot_rows_match_the_seed() {
        let snapshot = Snapshot {
            name: "snap".into(),
            resource_name: Some("rd".into()),
            nodes: vec!["server01".into(), "server02".into()],
            flags: vec!["SUCCESSFUL".into()],
            volume_definitions: vec![
                SnapshotVolumeDefinition {
                    volume_number: Some(0),
                    size_kib: Some(10 << 20),
                    ..Default::default()
                },
                SnapshotVolumeDefinition {
                    volume_number: Some(1),
                    size_kib: Some(500 << 10),
                    ..Default::default()
                },
            ],
            snapshots: vec![SnapshotNode { create_timestamp: Some(0), ..Default::default() }],
            ..Default::default()
        };
        let table = snapshots(&[snapshot]);
        let text = table.render(Style::Ascii);
        assert!(
            text.contains("| rd           | snap         | server01, server02 | 0: 10 GiB, 1: 500 MiB |"),
            "{text}"
        );
        assert!(text.contains("| Successful |"), "{text}");
    }

    #[test]
    fn volume_definitions_show_size_and_state() {
        let rd = ResourceDefinition {
            name: "rd".into(),
            volume_definitions: vec![VolumeDefinition {
                volume_number: Some(0),
                size_kib: 1536,
                flags: vec!["RESIZE".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = volume_definitions(&[rd], &ShowProps::parse(&[])).render(Style::Ascii);
        assert!(
            text.contains("| rd           | 0        |             | 1.50 MiB |       | resizing |"),
            "{text}"
        );
    }
}
