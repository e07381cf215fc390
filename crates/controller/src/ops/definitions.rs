//! Resource definitions and volume definitions.

use super::groups::{
    apply_flag_changes, checked_layer_stack, rg_not_found, MAX_PEER_SLOTS, MAX_VOLUME_NUMBER,
};
use super::props::{checked_props, modify_props, PropsChange};
use super::{new_uuid, valid_name, Call};
use crate::model::{DrbdResourceSettings, ResourceDefinition, Txn, VolumeDefinition};
use crate::Controller;
use linstor_api::consts::*;
use linstor_api::names::{check_name, NameKey, NameKind};
use linstor_api::props::PropObject;
use linstor_api::{
    ApiCallRc, ApiCallRcList, Props, ResourceDefinitionCreate, ResourceDefinitionModify,
    VolumeDefinitionCreate, VolumeDefinitionModify, DEFAULT_RESOURCE_GROUP,
};

const RD_CRT: Call = Call::new(MASK_RSC_DFN, MASK_CRT);
const RD_MOD: Call = Call::new(MASK_RSC_DFN, MASK_MOD);
const RD_DEL: Call = Call::new(MASK_RSC_DFN, MASK_DEL);
const VD_CRT: Call = Call::new(MASK_VLM_DFN, MASK_CRT);
const VD_MOD: Call = Call::new(MASK_VLM_DFN, MASK_MOD);
const VD_DEL: Call = Call::new(MASK_VLM_DFN, MASK_DEL);

/// Controller prop with the DRBD minor number range, and its default.
pub const KEY_MINOR_RANGE: &str = "MinorNrAutoRange";
pub const DEFAULT_MINOR_RANGE: (i32, i32) = (1000, 49999);
/// Largest DRBD minor number.
pub const MAX_MINOR: i32 = 1_048_575;
/// Largest volume size in KiB whose size in bytes still fits an i64.
pub const MAX_VOLUME_SIZE_KIB: i64 = i64::MAX / 1024;

pub fn rd_not_found(call: Call, name: &str) -> ApiCallRc {
    call.rc(FAIL_NOT_FOUND_RSC_DFN, format!("Resource definition '{name}' not found."))
        .with_correction("Check the name with 'resource-definition list'.")
}

fn vd_not_found(call: Call, rd: &str, number: i32) -> ApiCallRc {
    call.rc(
        FAIL_NOT_FOUND_VLM_DFN,
        format!("Volume definition with number '{number}' of resource definition '{rd}' not found."),
    )
}

pub fn existing_rd(txn: &Txn, call: Call, name: &str) -> Result<ResourceDefinition, ApiCallRc> {
    txn.state().resource_definition(name).cloned().ok_or_else(|| rd_not_found(call, name))
}

/// What a new resource definition is made of, however it is asked for (create or spawn).
pub struct NewDefinition {
    pub name: Option<String>,
    pub external_name: Option<String>,
    pub resource_group: Option<String>,
    pub props: Props,
    pub layer_stack: Vec<String>,
    pub drbd: DrbdResourceSettings,
}

pub struct CreatedDefinition {
    pub key: NameKey,
    pub name: String,
    pub answer: ApiCallRcList,
}

/// Turns an external name into a valid, unused resource name: invalid characters become
/// '_', a leading digit or '-' gets a '_' in front, and a number is appended on collision.
fn name_from_external(txn: &Txn, external: &str) -> String {
    let mut base: String = external
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    if !base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        base.insert(0, '_');
    }
    if !base.chars().any(|c| c.is_ascii_alphabetic()) {
        base.insert_str(0, "rsc");
    }
    base.truncate(40);
    let taken = |name: &str| txn.state().resource_definition(name).is_some();
    if base.len() >= 2 && !taken(&base) {
        return base;
    }
    (1..).map(|n| format!("{base}_{n}")).find(|name| !taken(name)).unwrap_or(base)
}

fn checked_port(call: Call, port: Option<i32>) -> Result<Option<i32>, ApiCallRc> {
    match port {
        Some(p) if !(1..=65535).contains(&p) => Err(call
            .rc(FAIL_INVLD_RSC_PORT, format!("The DRBD port {p} is invalid."))
            .with_correction("Use a TCP port from 1 to 65535.")),
        other => Ok(other),
    }
}

/// Adds a new resource definition (without volumes) to `txn`.
pub fn new_resource_definition(txn: &mut Txn, new: NewDefinition) -> Result<CreatedDefinition, ApiCallRc> {
    let external = new.external_name.filter(|e| !e.is_empty());
    let name = match (new.name.filter(|n| !n.is_empty()), &external) {
        (Some(name), _) => {
            valid_name(RD_CRT, NameKind::ResourceDefinition, &name)?;
            name
        }
        (None, Some(external)) => {
            if let Some(rd) = txn
                .state()
                .resource_definitions
                .values()
                .find(|rd| rd.external_name.as_deref() == Some(external))
            {
                return Err(RD_CRT.rc(
                    FAIL_EXISTS_EXT_NAME,
                    format!("Resource definition '{}' already has the external name '{external}'.", rd.name),
                ));
            }
            name_from_external(txn, external)
        }
        (None, None) => {
            return Err(RD_CRT
                .rc(FAIL_INVLD_RSC_NAME, "The resource definition has neither a name nor an external name.")
                .with_correction("Give 'name' (or 'external_name')."))
        }
    };
    if let Some(existing) = txn.state().resource_definition(&name) {
        return Err(RD_CRT
            .rc(FAIL_EXISTS_RSC_DFN, format!("Resource definition '{}' already exists.", existing.name))
            .with_correction("Choose another name."));
    }
    let group_name =
        new.resource_group.filter(|g| !g.is_empty()).unwrap_or_else(|| DEFAULT_RESOURCE_GROUP.to_string());
    let group = txn.state().resource_group(&group_name).ok_or_else(|| rg_not_found(RD_CRT, &group_name))?;
    if let Some(slots) = new.drbd.peer_slots.filter(|s| !(1..=MAX_PEER_SLOTS).contains(s)) {
        return Err(RD_CRT
            .rc(FAIL_INVLD_REQUEST, format!("{slots} peer slots is invalid; use 1 to {MAX_PEER_SLOTS}.")));
    }
    let rd = ResourceDefinition {
        name: name.clone(),
        uuid: new_uuid(),
        external_name: external,
        resource_group: group.name.clone(),
        props: checked_props(RD_CRT, PropObject::ResourceDefinition, &new.props)?,
        flags: Vec::new(),
        layer_stack: checked_layer_stack(RD_CRT, &new.layer_stack)?,
        drbd: DrbdResourceSettings { port: checked_port(RD_CRT, new.drbd.port)?, ..new.drbd },
        volume_definitions: Vec::new(),
    };
    let answer = vec![RD_CRT
        .created(format!("New resource definition '{name}' created."))
        .with_details(format!("Resource definition '{name}' UUID is: {}", rd.uuid))
        .with_obj_ref("RscDfn", &name)];
    let key = NameKey::new(&name);
    txn.put_resource_definition(rd);
    Ok(CreatedDefinition { key, name, answer })
}

/// What a new volume definition is made of.
pub struct NewVolume {
    pub number: Option<i32>,
    pub size_kib: i64,
    pub flags: Vec<String>,
    pub props: Props,
    pub minor: Option<i32>,
}

fn minor_range(props: &Props) -> (i32, i32) {
    props
        .get(KEY_MINOR_RANGE)
        .and_then(|range| range.split_once('-'))
        .and_then(|(low, high)| Some((low.trim().parse().ok()?, high.trim().parse().ok()?)))
        .filter(|(low, high): &(i32, i32)| 0 <= *low && low <= high && *high <= MAX_MINOR)
        .unwrap_or(DEFAULT_MINOR_RANGE)
}

fn allocate_minor(txn: &Txn, wanted: Option<i32>) -> Result<i32, ApiCallRc> {
    let minors = &txn.state().minors;
    if let Some(minor) = wanted {
        if !(0..=MAX_MINOR).contains(&minor) {
            return Err(VD_CRT.rc(
                FAIL_INVLD_MINOR_NR,
                format!("The minor number {minor} is invalid; use 0 to {MAX_MINOR}."),
            ));
        }
        if minors.contains(&minor) {
            return Err(VD_CRT
                .rc(FAIL_INVLD_MINOR_NR, format!("The minor number {minor} is already in use."))
                .with_correction("Leave the minor number out to get the lowest free one."));
        }
        return Ok(minor);
    }
    let (low, high) = minor_range(&txn.state().controller_props);
    let mut candidate = low;
    for used in minors.range(low..=high) {
        if *used != candidate {
            break;
        }
        candidate += 1;
    }
    if candidate > high {
        return Err(VD_CRT
            .rc(
                FAIL_POOL_EXHAUSTED_MINOR_NR,
                format!("Every DRBD minor number from {low} to {high} is in use."),
            )
            .with_correction(format!("Widen the controller property '{KEY_MINOR_RANGE}'.")));
    }
    Ok(candidate)
}

fn checked_size(call: Call, size_kib: i64) -> Result<i64, ApiCallRc> {
    if !(1..=MAX_VOLUME_SIZE_KIB).contains(&size_kib) {
        return Err(call
            .rc(FAIL_INVLD_VLM_SIZE, format!("The volume size {size_kib} KiB is invalid."))
            .with_correction(format!("Give a size from 1 to {MAX_VOLUME_SIZE_KIB} KiB.")));
    }
    Ok(size_kib)
}

/// Adds a volume definition to the resource definition `rd` in `txn`.
pub fn add_volume_definition(txn: &mut Txn, rd: &NameKey, new: NewVolume) -> Result<ApiCallRc, ApiCallRc> {
    let mut definition = existing_rd(txn, VD_CRT, rd.as_str())?;
    let number = match new.number {
        Some(number) => number,
        None => (0..=MAX_VOLUME_NUMBER)
            .find(|n| definition.volume_definition(*n).is_none())
            .ok_or_else(|| VD_CRT.rc(FAIL_POOL_EXHAUSTED_VLM_NR, "No volume number is free."))?,
    };
    if !(0..=MAX_VOLUME_NUMBER).contains(&number) {
        return Err(VD_CRT
            .rc(FAIL_INVLD_VLM_NR, format!("The volume number {number} is invalid."))
            .with_correction(format!("Use a volume number from 0 to {MAX_VOLUME_NUMBER}.")));
    }
    if definition.volume_definition(number).is_some() {
        return Err(VD_CRT.rc(
            FAIL_EXISTS_VLM_DFN,
            format!(
                "Volume definition with number '{number}' of resource definition '{}' already exists.",
                definition.name
            ),
        ));
    }
    let size_kib = checked_size(VD_CRT, new.size_kib)?;
    let mut flags = Vec::new();
    apply_flag_changes(VD_CRT, &mut flags, &new.flags)?;
    let vd = VolumeDefinition {
        volume_number: number,
        size_kib,
        minor_number: allocate_minor(txn, new.minor)?,
        uuid: new_uuid(),
        props: checked_props(VD_CRT, PropObject::VolumeDefinition, &new.props)?,
        flags,
    };
    let answer = VD_CRT
        .created(format!(
            "New volume definition with number '{number}' of resource definition '{}' created.",
            definition.name
        ))
        .with_details(format!("Volume definition with number '{number}' UUID is: {}", vd.uuid))
        .with_obj_ref("RscDfn", &definition.name)
        .with_obj_ref("VlmNr", number.to_string());
    definition.volume_definitions.push(vd);
    definition.volume_definitions.sort_by_key(|vd| vd.volume_number);
    txn.put_resource_definition(definition);
    Ok(answer)
}

impl Controller {
    pub fn create_resource_definition(&self, input: ResourceDefinitionCreate) -> ApiCallRcList {
        self.write_answer(|txn| {
            let rd = input.resource_definition;
            let drbd_layer = rd.layer_data.iter().find_map(|layer| layer.data.clone()).unwrap_or_default();
            let created = new_resource_definition(
                txn,
                NewDefinition {
                    name: Some(rd.name),
                    external_name: rd.external_name,
                    resource_group: rd.resource_group_name,
                    props: rd.props,
                    layer_stack: rd.layer_data.iter().map(|layer| layer.layer_type.clone()).collect(),
                    drbd: DrbdResourceSettings {
                        port: input.drbd_port.or(drbd_layer.port),
                        secret: input.drbd_secret.or(drbd_layer.secret),
                        peer_slots: input.drbd_peer_slots.or(drbd_layer.peer_slots),
                        transport_type: input.drbd_transport_type.or(drbd_layer.transport_type),
                    },
                },
            )?;
            Ok(created.answer)
        })
    }

    pub fn modify_resource_definition(&self, name: &str, input: ResourceDefinitionModify) -> ApiCallRcList {
        self.write_answer(|txn| {
            let mut rd = existing_rd(txn, RD_MOD, name)?;
            if let Some(group_name) = input.resource_group.as_deref().filter(|g| !g.is_empty()) {
                let group =
                    txn.state().resource_group(group_name).ok_or_else(|| rg_not_found(RD_MOD, group_name))?;
                rd.resource_group = group.name.clone();
            }
            if !input.layer_stack.is_empty() {
                rd.layer_stack = checked_layer_stack(RD_MOD, &input.layer_stack)?;
            }
            if input.drbd_port.is_some() {
                rd.drbd.port = checked_port(RD_MOD, input.drbd_port)?;
            }
            if let Some(slots) = input.drbd_peer_slots {
                if !(1..=MAX_PEER_SLOTS).contains(&slots) {
                    return Err(RD_MOD.rc(
                        FAIL_INVLD_REQUEST,
                        format!("{slots} peer slots is invalid; use 1 to {MAX_PEER_SLOTS}."),
                    ));
                }
                rd.drbd.peer_slots = Some(slots);
            }
            let change = PropsChange {
                override_props: &input.override_props,
                delete_props: &input.delete_props,
                delete_namespaces: &input.delete_namespaces,
            };
            let mut answer = modify_props(RD_MOD, PropObject::ResourceDefinition, &mut rd.props, change)?;
            answer.push(
                RD_MOD
                    .modified(format!("Resource definition '{}' modified.", rd.name))
                    .with_details(format!("Resource definition '{}' UUID is: {}", rd.name, rd.uuid))
                    .with_obj_ref("RscDfn", &rd.name),
            );
            txn.put_resource_definition(rd);
            Ok(answer)
        })
    }

    /// Deletes a resource definition with every replica; answers once the satellites removed
    /// their devices and files.
    pub async fn delete_resource_definition(&self, name: &str) -> ApiCallRcList {
        self.refresh_in_use(name, None).await;
        self.write_and_sync(|txn| {
            let key = NameKey::new(name);
            let Some(rd) = txn.state().resource_definitions.get(&key).cloned() else {
                return Ok(vec![
                    RD_DEL.rc(WARN_NOT_FOUND, format!("Resource definition '{name}' not found."))
                ]);
            };
            if txn.state().snapshots_of(&key).next().is_some() {
                return Err(RD_DEL
                    .rc(
                        FAIL_EXISTS_SNAPSHOT_DFN,
                        format!("Cannot delete resource definition '{}' because it has snapshots.", rd.name),
                    )
                    .with_correction("Delete its snapshots first."));
            }
            if let Some(clone) = super::snapshots::clones_from(txn.state(), &rd.name) {
                return Err(RD_DEL
                    .rc(
                        FAIL_IN_USE,
                        format!("Resource definition '{}' is being cloned into '{clone}'.", rd.name),
                    )
                    .with_correction("Wait until the clone is complete, or delete the clone first."));
            }
            let resources: Vec<crate::model::Resource> = txn.state().resources_of(&key).cloned().collect();
            for resource in &resources {
                self.refuse_if_in_use(RD_DEL, resource)?;
            }
            for resource in &resources {
                txn.remove_resource(&key, &NameKey::new(&resource.node_name));
            }
            txn.remove_resource_definition(&key);
            Ok(vec![RD_DEL
                .deleted(format!("Resource definition '{}' deleted.", rd.name))
                .with_details(format!("Resource definition '{}' UUID was: {}", rd.name, rd.uuid))
                .with_obj_ref("RscDfn", &rd.name)])
        })
        .await
    }

    pub async fn create_volume_definition(
        &self,
        rd_name: &str,
        input: VolumeDefinitionCreate,
    ) -> ApiCallRcList {
        self.write_and_sync(|txn| {
            let rd = existing_rd(txn, VD_CRT, rd_name)?;
            let vd = input.volume_definition;
            let answer = add_volume_definition(
                txn,
                &NameKey::new(&rd.name),
                NewVolume {
                    number: vd.volume_number,
                    size_kib: vd.size_kib,
                    flags: vd.flags,
                    props: vd.props,
                    minor: input.drbd_minor_number,
                },
            )?;
            Ok(vec![answer])
        })
        .await
    }

    /// Modifies a volume definition; a new size reaches every replica before the call answers,
    /// and a size a satellite cannot reach is set back.
    pub async fn modify_volume_definition(
        &self,
        rd_name: &str,
        number: i32,
        input: VolumeDefinitionModify,
    ) -> ApiCallRcList {
        let old_size = self
            .state()
            .resource_definition(rd_name)
            .and_then(|rd| rd.volume_definition(number))
            .map(|vd| vd.size_kib);
        let result = self.write_tracked(|txn| {
            let mut rd = existing_rd(txn, VD_MOD, rd_name)?;
            let rd_display = rd.name.clone();
            let Some(vd) = rd.volume_definitions.iter_mut().find(|vd| vd.volume_number == number) else {
                return Err(vd_not_found(VD_MOD, &rd_display, number));
            };
            if let Some(size) = input.size_kib {
                vd.size_kib = checked_size(VD_MOD, size)?;
            }
            apply_flag_changes(VD_MOD, &mut vd.flags, &input.flags)?;
            let change = PropsChange {
                override_props: &input.override_props,
                delete_props: &input.delete_props,
                delete_namespaces: &input.delete_namespaces,
            };
            let mut answer = modify_props(VD_MOD, PropObject::VolumeDefinition, &mut vd.props, change)?;
            answer.push(
                VD_MOD
                    .modified(format!(
                        "Volume definition with number '{number}' of resource definition '{rd_display}' modified."
                    ))
                    .with_details(format!("Volume definition with number '{number}' UUID is: {}", vd.uuid)),
            );
            txn.put_resource_definition(rd);
            Ok(answer)
        });
        let (mut answer, touched) = match result {
            Ok(ok) => ok,
            Err(err) => return vec![err],
        };
        answer.extend(self.sync_nodes(&touched).await);
        let nodes: Vec<NameKey> = touched.iter().cloned().collect();
        let failures = self.volume_failures(rd_name, &nodes);
        let (false, Some(old_size)) = (failures.is_empty(), old_size) else { return answer };
        for (node, message) in failures {
            answer.push(
                VD_MOD
                    .rc(
                        FAIL_UNKNOWN_ERROR,
                        format!("(Node: '{node}') Volume {number} of '{rd_name}' could not be resized."),
                    )
                    .with_cause(message),
            );
        }
        let undo = self.write_tracked(|txn| {
            let mut rd = existing_rd(txn, VD_MOD, rd_name)?;
            if let Some(vd) = rd.volume_definitions.iter_mut().find(|vd| vd.volume_number == number) {
                vd.size_kib = old_size;
            }
            txn.put_resource_definition(rd);
            Ok(())
        });
        match undo {
            Ok(((), touched)) => {
                answer.extend(self.sync_nodes(&touched).await);
                answer.push(
                    VD_MOD.rc(
                        INFO_NOOP,
                        format!("The size of volume {number} was set back to {old_size} KiB."),
                    ),
                );
            }
            Err(err) => answer.push(err),
        }
        answer
    }

    pub async fn delete_volume_definition(&self, rd_name: &str, number: i32) -> ApiCallRcList {
        self.refresh_in_use(rd_name, None).await;
        self.write_and_sync(|txn| {
            let mut rd = existing_rd(txn, VD_DEL, rd_name)?;
            let Some(index) = rd.volume_definitions.iter().position(|vd| vd.volume_number == number) else {
                return Ok(vec![VD_DEL.rc(
                    WARN_NOT_FOUND,
                    format!(
                        "Volume definition with number '{number}' of resource definition '{}' not found.",
                        rd.name
                    ),
                )]);
            };
            let vd = rd.volume_definitions.remove(index);
            let rd_key = NameKey::new(&rd.name);
            let resources: Vec<crate::model::Resource> = txn.state().resources_of(&rd_key).cloned().collect();
            for mut resource in resources {
                self.refuse_if_in_use(VD_DEL, &resource)?;
                resource.volumes.retain(|v| v.volume_number != number);
                txn.put_resource(resource);
            }
            let answer = vec![VD_DEL
                .deleted(format!(
                    "Volume definition with number '{number}' of resource definition '{}' deleted.",
                    rd.name
                ))
                .with_details(format!("Volume definition with number '{number}' UUID was: {}", vd.uuid))];
            txn.put_resource_definition(rd);
            Ok(answer)
        })
        .await
    }
}

/// True when `name` is a valid resource definition name (for filters).
pub fn is_valid_rd_name(name: &str) -> bool {
    check_name(NameKind::ResourceDefinition, name).is_ok()
}
