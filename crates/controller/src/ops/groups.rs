//! Resource groups, their volume groups, and spawning resource definitions from them.

use super::definitions::{add_volume_definition, new_resource_definition, NewDefinition, NewVolume};
use super::props::{checked_props, modify_props, PropsChange};
use super::{new_uuid, valid_name, Call};
use crate::model::{ProviderKind, ResourceGroup, Txn, VolumeGroup};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::{NameKey, NameKind};
use linstor_api::props::PropObject;
use linstor_api::{
    ApiCallRc, ApiCallRcList, AutoSelectFilter, ResourceGroupModify, ResourceGroupSpawn, VolumeGroupModify,
    DEFAULT_RESOURCE_GROUP,
};

const RG_CRT: Call = Call::new(MASK_RSC_GRP, MASK_CRT);
const RG_MOD: Call = Call::new(MASK_RSC_GRP, MASK_MOD);
const RG_DEL: Call = Call::new(MASK_RSC_GRP, MASK_DEL);
const VG_CRT: Call = Call::new(MASK_VLM_GRP, MASK_CRT);
const VG_MOD: Call = Call::new(MASK_VLM_GRP, MASK_MOD);
const VG_DEL: Call = Call::new(MASK_VLM_GRP, MASK_DEL);

/// Volume numbers run from 0 to this (volume definitions and volume groups alike).
pub const MAX_VOLUME_NUMBER: i32 = 65534;
/// DRBD peer slots: 1 to 31.
pub const MAX_PEER_SLOTS: i32 = 31;
pub const LAYERS: [&str; 7] = ["DRBD", "LUKS", "STORAGE", "NVME", "WRITECACHE", "CACHE", "BCACHE"];

pub fn rg_not_found(call: Call, name: &str) -> ApiCallRc {
    call.rc(FAIL_NOT_FOUND_RSC_GRP, format!("Resource group '{name}' not found."))
        .with_correction("Create the resource group first, or check its name with 'resource-group list'.")
}

/// Checks a layer list: known layers, in any case, each once, STORAGE at the bottom.
pub fn checked_layer_stack(call: Call, layers: &[String]) -> Result<Vec<String>, ApiCallRc> {
    let mut stack: Vec<String> = Vec::new();
    for layer in layers {
        let Some(known) = LAYERS.iter().find(|l| l.eq_ignore_ascii_case(layer)) else {
            return Err(call
                .rc(FAIL_INVLD_LAYER_KIND, format!("The layer '{layer}' is unknown."))
                .with_correction(format!("Use layers from: {}.", LAYERS.join(", "))));
        };
        if stack.iter().any(|l| l == known) {
            return Err(call.rc(
                FAIL_INVLD_LAYER_STACK,
                format!("The layer '{known}' appears twice in the layer stack."),
            ));
        }
        stack.push(known.to_string());
    }
    if stack.last().is_some_and(|l| l != "STORAGE") {
        return Err(call
            .rc(
                FAIL_INVLD_LAYER_STACK,
                format!("The layer stack {} does not end with STORAGE.", stack.join(",")),
            )
            .with_correction("Put STORAGE as the last layer, e.g. DRBD,STORAGE."));
    }
    Ok(stack)
}

/// Checks every field of a placement filter and normalizes layer and provider names.
pub fn checked_filter(call: Call, filter: &AutoSelectFilter) -> Result<AutoSelectFilter, ApiCallRc> {
    let mut filter = filter.clone();
    for (field, count) in
        [("place_count", filter.place_count), ("additional_place_count", filter.additional_place_count)]
    {
        if let Some(count) = count {
            let minimum = if field == "place_count" { 1 } else { 0 };
            if count < minimum {
                return Err(call
                    .rc(FAIL_INVLD_PLACE_COUNT, format!("The {field} {count} is invalid."))
                    .with_correction(format!("Use a {field} of at least {minimum}.")));
            }
        }
    }
    for node in &filter.node_name_list {
        valid_name(call, NameKind::Node, node)?;
    }
    for pool in
        filter.storage_pool.iter().chain(&filter.storage_pool_list).chain(&filter.storage_pool_diskless_list)
    {
        valid_name(call, NameKind::StoragePool, pool)?;
    }
    for rsc in &filter.not_place_with_rsc {
        valid_name(call, NameKind::ResourceDefinition, rsc)?;
    }
    if let Some(pattern) = &filter.not_place_with_rsc_regex {
        if let Err(err) = regex::Regex::new(pattern) {
            return Err(call
                .rc(
                    FAIL_INVLD_REQUEST,
                    format!("The regular expression '{pattern}' of not_place_with_rsc_regex is invalid."),
                )
                .with_cause(err.to_string()));
        }
    }
    for (key, count) in &filter.x_replicas_on_different_map {
        if *count < 1 {
            return Err(call.rc(
                FAIL_INVLD_REQUEST,
                format!("x_replicas_on_different_map asks for {count} replicas per value of '{key}'; use at least 1."),
            ));
        }
    }
    filter.layer_stack = checked_layer_stack(call, &filter.layer_stack)?;
    let mut providers = Vec::new();
    for text in &filter.provider_list {
        let kind = ProviderKind::parse(text)
            .ok_or_else(|| call.rc(FAIL_INVLD_PROVIDER, format!("The provider kind '{text}' is invalid.")))?;
        providers.push(kind.as_str().to_string());
    }
    filter.provider_list = providers;
    Ok(filter)
}

/// Empties the named list fields of a filter.
fn clear_lists(filter: &mut AutoSelectFilter, cleared: &[String]) {
    for field in cleared {
        match field.as_str() {
            "node_name_list" => filter.node_name_list.clear(),
            "storage_pool_list" => {
                filter.storage_pool_list.clear();
                filter.storage_pool = None;
            }
            "storage_pool_diskless_list" => filter.storage_pool_diskless_list.clear(),
            "not_place_with_rsc" => filter.not_place_with_rsc.clear(),
            "replicas_on_same" => filter.replicas_on_same.clear(),
            "replicas_on_different" => filter.replicas_on_different.clear(),
            "x_replicas_on_different_map" => filter.x_replicas_on_different_map.clear(),
            "layer_stack" => filter.layer_stack.clear(),
            "provider_list" => filter.provider_list.clear(),
            _ => {}
        }
    }
}

fn checked_peer_slots(call: Call, peer_slots: Option<i32>) -> Result<Option<i32>, ApiCallRc> {
    match peer_slots {
        Some(slots) if !(1..=MAX_PEER_SLOTS).contains(&slots) => Err(call
            .rc(FAIL_INVLD_REQUEST, format!("{slots} peer slots is invalid."))
            .with_correction(format!("Use 1 to {MAX_PEER_SLOTS} peer slots."))),
        other => Ok(other),
    }
}

/// Checks `GROSS_SIZE`-style flag changes: `FLAG` adds, `-FLAG` removes.
pub fn apply_flag_changes(call: Call, flags: &mut Vec<String>, changes: &[String]) -> Result<(), ApiCallRc> {
    for change in changes {
        let (remove, name) = match change.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, change.as_str()),
        };
        if !name.eq_ignore_ascii_case("GROSS_SIZE") {
            return Err(call
                .rc(FAIL_INVLD_REQUEST, format!("The flag '{change}' cannot be set here."))
                .with_correction("Only GROSS_SIZE (or -GROSS_SIZE to remove it) can be changed."));
        }
        flags.retain(|f| f != "GROSS_SIZE");
        if !remove {
            flags.push("GROSS_SIZE".to_string());
        }
    }
    Ok(())
}

fn existing_group(txn: &Txn, call: Call, name: &str) -> Result<ResourceGroup, ApiCallRc> {
    txn.state().resource_group(name).cloned().ok_or_else(|| rg_not_found(call, name))
}

fn vg_not_found(call: Call, group: &str, number: i32) -> ApiCallRc {
    call.rc(
        FAIL_NOT_FOUND_VLM_GRP,
        format!("Volume group with number '{number}' of resource group '{group}' not found."),
    )
}

impl Controller {
    pub fn create_resource_group(&self, input: linstor_api::ResourceGroup) -> ApiCallRcList {
        self.write_answer(|txn| {
            valid_name(RG_CRT, NameKind::ResourceGroup, &input.name)?;
            if let Some(existing) = txn.state().resource_group(&input.name) {
                return Err(RG_CRT
                    .rc(FAIL_EXISTS_RSC_GRP, format!("Resource group '{}' already exists.", existing.name)));
            }
            let group = ResourceGroup {
                name: input.name.clone(),
                uuid: new_uuid(),
                description: input.description.filter(|d| !d.is_empty()),
                props: checked_props(RG_CRT, PropObject::ResourceGroup, &input.props)?,
                select_filter: checked_filter(RG_CRT, &input.select_filter.unwrap_or_default())?,
                peer_slots: checked_peer_slots(RG_CRT, input.peer_slots)?,
                volume_groups: Vec::new(),
            };
            let answer = vec![RG_CRT
                .created(format!("New resource group '{}' created.", group.name))
                .with_details(format!("Resource group '{}' UUID is: {}", group.name, group.uuid))
                .with_obj_ref("RscGrp", &group.name)];
            txn.put_resource_group(group);
            Ok(answer)
        })
    }

    /// Modifies a resource group. `cleared` names the list fields of the select filter the
    /// request gave as empty lists, which LINSTOR clears (`storage_pool_list` clears
    /// `storage_pool` too).
    pub fn modify_resource_group(
        &self,
        name: &str,
        input: ResourceGroupModify,
        cleared: &[String],
    ) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut group = existing_group(txn, RG_MOD, name)?;
            if let Some(description) = input.description {
                group.description = Some(description).filter(|d| !d.is_empty());
            }
            if let Some(filter) = &input.select_filter {
                let mut merged = group.select_filter.merged_with(filter);
                clear_lists(&mut merged, cleared);
                group.select_filter = checked_filter(RG_MOD, &merged)?;
            }
            if input.peer_slots.is_some() {
                group.peer_slots = checked_peer_slots(RG_MOD, input.peer_slots)?;
            }
            let change = PropsChange {
                override_props: &input.override_props,
                delete_props: &input.delete_props,
                delete_namespaces: &input.delete_namespaces,
            };
            let mut answer = modify_props(RG_MOD, PropObject::ResourceGroup, &mut group.props, change)?;
            answer.push(
                RG_MOD
                    .modified(format!("Resource group '{}' modified.", group.name))
                    .with_details(format!("Resource group '{}' UUID is: {}", group.name, group.uuid)),
            );
            txn.put_resource_group(group);
            Ok(answer)
        })
    }

    pub fn delete_resource_group(&self, name: &str) -> ApiCallRcList {
        self.write_answer(|txn| {
            let key = NameKey::new(name);
            let Some(group) = txn.state().resource_groups.get(&key).cloned() else {
                return Ok(vec![RG_DEL.rc(WARN_NOT_FOUND, format!("Resource group '{name}' not found."))]);
            };
            if key == NameKey::new(DEFAULT_RESOURCE_GROUP) {
                return Err(RG_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!("The default resource group '{}' cannot be deleted.", group.name),
                    )
                    .with_cause("Resource definitions created without a group belong to it."));
            }
            let members: Vec<String> = txn
                .state()
                .resource_definitions
                .values()
                .filter(|rd| NameKey::new(&rd.resource_group) == key)
                .map(|rd| rd.name.clone())
                .take(10)
                .collect();
            if !members.is_empty() {
                return Err(RG_DEL
                    .rc(
                        FAIL_EXISTS_RSC_DFN,
                        format!("Resource group '{}' still has resource definitions.", group.name),
                    )
                    .with_cause(format!("Resource definitions in the group include: {}", members.join(", ")))
                    .with_correction(
                        "Delete those resource definitions, or move them to another group, first.",
                    ));
            }
            txn.remove_resource_group(&key);
            Ok(vec![RG_DEL
                .deleted(format!("Resource group '{}' deleted.", group.name))
                .with_details(format!("Resource group '{}' UUID was: {}", group.name, group.uuid))])
        })
    }

    pub fn create_volume_group(&self, group_name: &str, input: linstor_api::VolumeGroup) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut group = existing_group(txn, VG_CRT, group_name)?;
            let number = match input.volume_number {
                Some(number) => number,
                None => (0..=MAX_VOLUME_NUMBER)
                    .find(|n| group.volume_groups.iter().all(|vg| vg.volume_number != *n))
                    .ok_or_else(|| VG_CRT.rc(FAIL_POOL_EXHAUSTED_VLM_NR, "No volume number is free."))?,
            };
            if !(0..=MAX_VOLUME_NUMBER).contains(&number) {
                return Err(VG_CRT
                    .rc(FAIL_INVLD_VLM_NR, format!("The volume number {number} is invalid."))
                    .with_correction(format!("Use a volume number from 0 to {MAX_VOLUME_NUMBER}.")));
            }
            if group.volume_groups.iter().any(|vg| vg.volume_number == number) {
                return Err(VG_CRT.rc(
                    FAIL_EXISTS_VLM_GRP,
                    format!(
                        "Volume group with number '{number}' of resource group '{}' already exists.",
                        group.name
                    ),
                ));
            }
            let mut flags = Vec::new();
            apply_flag_changes(VG_CRT, &mut flags, &input.flags)?;
            let vg = VolumeGroup {
                volume_number: number,
                uuid: new_uuid(),
                props: checked_props(VG_CRT, PropObject::VolumeGroup, &input.props)?,
                flags,
            };
            let answer = vec![VG_CRT
                .created(format!(
                    "New volume group with number '{number}' of resource group '{}' created.",
                    group.name
                ))
                .with_details(format!("Volume group UUID is: {}", vg.uuid))];
            group.volume_groups.push(vg);
            group.volume_groups.sort_by_key(|vg| vg.volume_number);
            txn.put_resource_group(group);
            Ok(answer)
        })
    }

    pub fn modify_volume_group(
        &self,
        group_name: &str,
        number: i32,
        input: VolumeGroupModify,
    ) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut group = existing_group(txn, VG_MOD, group_name)?;
            let group_display = group.name.clone();
            let Some(vg) = group.volume_groups.iter_mut().find(|vg| vg.volume_number == number) else {
                return Err(vg_not_found(VG_MOD, &group_display, number));
            };
            apply_flag_changes(VG_MOD, &mut vg.flags, &input.flags)?;
            let change = PropsChange {
                override_props: &input.override_props,
                delete_props: &input.delete_props,
                delete_namespaces: &input.delete_namespaces,
            };
            let mut answer = modify_props(VG_MOD, PropObject::VolumeGroup, &mut vg.props, change)?;
            answer.push(VG_MOD.modified(format!(
                "Volume group with number '{number}' of resource group '{group_display}' modified."
            )));
            txn.put_resource_group(group);
            Ok(answer)
        })
    }

    pub fn delete_volume_group(&self, group_name: &str, number: i32) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut group = existing_group(txn, VG_DEL, group_name)?;
            let before = group.volume_groups.len();
            group.volume_groups.retain(|vg| vg.volume_number != number);
            if group.volume_groups.len() == before {
                return Ok(vec![VG_DEL.rc(
                    WARN_NOT_FOUND,
                    format!(
                        "Volume group with number '{number}' of resource group '{}' not found.",
                        group.name
                    ),
                )]);
            }
            let answer = vec![VG_DEL.deleted(format!(
                "Volume group with number '{number}' of resource group '{}' deleted.",
                group.name
            ))];
            txn.put_resource_group(group);
            Ok(answer)
        })
    }

    /// Creates a resource definition with its volume definitions from a resource group inside
    /// `txn`, and places it unless asked for definitions only. Answers with the RD's name.
    pub fn spawn_in(
        &self,
        txn: &mut Txn,
        group_name: &str,
        input: ResourceGroupSpawn,
    ) -> Result<(ApiCallRcList, String), ApiCallRc> {
        let call = Call::new(MASK_RSC_GRP, MASK_CRT);
        {
            let group = existing_group(txn, call, group_name)?;
            let mut answer = Vec::new();
            let partial = if group.volume_groups.is_empty() {
                if !input.volume_sizes.is_empty() {
                    answer.push(call.rc(
                        INFO_NOOP,
                        format!(
                            "Resource group '{}' has no volume groups; spawning in partial mode.",
                            group.name
                        ),
                    ));
                }
                true
            } else {
                input.partial.unwrap_or(false)
            };
            let groups = &group.volume_groups;
            if !partial && input.volume_sizes.len() != groups.len() {
                return Err(call
                    .rc(
                        FAIL_INVLD_VLM_SIZES,
                        format!(
                            "{} volume sizes were given, but resource group '{}' has {} volume groups.",
                            input.volume_sizes.len(),
                            group.name,
                            groups.len()
                        ),
                    )
                    .with_correction("Give one size per volume group, or spawn with partial=true."));
            }
            let filter = checked_filter(
                call,
                &group.select_filter.merged_with(&input.select_filter.unwrap_or_default()),
            )?;
            let rd = new_resource_definition(
                txn,
                NewDefinition {
                    name: input.resource_definition_name.clone(),
                    external_name: input.resource_definition_external_name.clone(),
                    resource_group: Some(group.name.clone()),
                    props: input.resource_definition_props.clone(),
                    layer_stack: Vec::new(),
                    drbd: crate::model::DrbdResourceSettings {
                        peer_slots: checked_peer_slots(call, input.peer_slots)?,
                        ..Default::default()
                    },
                },
            )?;
            answer.extend(rd.answer);
            let mut next_number = 0;
            for (index, size) in input.volume_sizes.iter().enumerate() {
                let template = groups.get(index);
                let number = template.map_or(next_number, |vg| vg.volume_number);
                next_number = number + 1;
                answer.push(add_volume_definition(
                    txn,
                    &rd.key,
                    NewVolume {
                        number: Some(number),
                        size_kib: *size,
                        flags: template.map(|vg| vg.flags.clone()).unwrap_or_default(),
                        props: Default::default(),
                        minor: None,
                    },
                )?);
            }
            if input.definitions_only.unwrap_or(false) || filter.place_count.is_none() {
                answer.push(call.rc(
                    INFO_NO_RSC_SPAWNED,
                    format!(
                        "Resource definition '{}' and {} volume definition(s) created; no resources deployed.",
                        rd.name,
                        input.volume_sizes.len()
                    ),
                ));
                return Ok((answer, rd.name));
            }
            answer.extend(self.autoplace_in(txn, &rd.key, &filter, &[])?);
            Ok((answer, rd.name))
        }
    }
}
