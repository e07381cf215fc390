//! The LINSTOR calls the driver is made of, each with its error context, its retries and the
//! checks it does on LINSTOR's answer.

use crate::driver::Shared;
use crate::error::{Error, Result};
use crate::volume::{VolumeType, AUX_NAME, AUX_TYPE};
use linstor_api::consts::{FAIL_IN_USE, FAIL_NOT_FOUND_RSC_DFN, FAIL_UNKNOWN_ERROR, WARN_NOT_FOUND};
use linstor_api::{
    PropsModify, Resource, ResourceDefinition, ResourceDefinitionModify, ResourceMakeAvailable,
    ResourceWithVolumes,
};
use linstor_client::ListOpts;
use std::path::PathBuf;

/// Resource flags of resources without a disk of their own.
const DISKLESS_FLAGS: [&str; 2] = ["DISKLESS", "DRBD_DISKLESS"];
const TIE_BREAKER: &str = "TIE_BREAKER";
/// Flags of resources that need LINSTOR's make-available before use.
const NOT_READY_FLAGS: [&str; 4] = [TIE_BREAKER, "DELETE", "DRBD_DELETE", "INACTIVE"];

fn has_flag(resource: &Resource, flags: &[&str]) -> bool {
    resource.flags.iter().any(|f| flags.contains(&f.as_str()))
}

/// A volume's device on this node.
pub(crate) struct Attached {
    pub device: PathBuf,
    /// The node's resource has no disk of its own (it reads and writes over the network).
    pub diskless: bool,
}

impl Attached {
    fn of(resource: &ResourceWithVolumes, number: i32) -> Option<Attached> {
        let device = resource
            .volumes
            .iter()
            .find(|v| v.volume_number == Some(number))
            .and_then(|v| v.device_path.as_deref())
            .filter(|p| !p.is_empty())?;
        Some(Attached {
            device: PathBuf::from(device),
            diskless: has_flag(&resource.resource, &DISKLESS_FLAGS),
        })
    }

    /// The device, if the resource can be used as it is.
    fn usable(resource: &ResourceWithVolumes, number: i32) -> Option<Attached> {
        if has_flag(&resource.resource, &NOT_READY_FLAGS) {
            return None;
        }
        Attached::of(resource, number)
    }
}

pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Shared {
    /// The resource definition of a volume: a props-filtered list, re-checked here (some
    /// controllers ignore or mishandle repeated `props` filters), limited to the pool's group.
    pub async fn find_rd(
        &self,
        group: &str,
        aux_name: &str,
        vol_type: VolumeType,
        with_volumes: bool,
    ) -> Result<Option<ResourceDefinition>> {
        self.find_rd_other_than(group, aux_name, vol_type, with_volumes, None).await
    }

    /// [`Shared::find_rd`], not counting the resource definition named `except`.
    pub async fn find_rd_other_than(
        &self,
        group: &str,
        aux_name: &str,
        vol_type: VolumeType,
        with_volumes: bool,
        except: Option<&str>,
    ) -> Result<Option<ResourceDefinition>> {
        let mut opts = ListOpts::new()
            .prop(format!("{AUX_NAME}={aux_name}"))
            .prop(format!("{AUX_TYPE}={}", vol_type.as_str()));
        if with_volumes {
            opts = opts.with_volume_definitions();
        }
        let list = self
            .client
            .resource_definition_list(&opts)
            .await
            .map_err(Error::linstor("Unable to get the LINSTOR resource definitions"))?;
        let mut matching: Vec<ResourceDefinition> = list
            .into_iter()
            .filter(|rd| {
                !except.is_some_and(|name| same_name(&rd.name, name))
                    && rd.props.get(AUX_NAME).map(String::as_str) == Some(aux_name)
                    && rd.props.get(AUX_TYPE).map(String::as_str) == Some(vol_type.as_str())
                    && rd.resource_group_name.as_deref().is_some_and(|g| same_name(g, group))
            })
            .collect();
        match matching.len() {
            0 => Ok(None),
            1 => Ok(matching.pop()),
            _ => {
                let names: Vec<&str> = matching.iter().map(|rd| rd.name.as_str()).collect();
                Err(Error::Inconsistent(format!(
                    "Multiple resource definitions found for volume {aux_name} ({}): delete the extra ones \
                     (check their {AUX_NAME} and {AUX_TYPE} properties)",
                    names.join(", ")
                )))
            }
        }
    }

    /// Sets and deletes properties of a resource definition.
    pub async fn modify_rd(
        &self,
        rd: &str,
        set: linstor_api::Props,
        delete: Vec<String>,
        context: &str,
    ) -> Result<()> {
        if set.is_empty() && delete.is_empty() {
            return Ok(());
        }
        let change =
            ResourceDefinitionModify { override_props: set, delete_props: delete, ..Default::default() };
        self.client
            .resource_definition_modify(rd, &change)
            .await
            .map(|_| ())
            .map_err(Error::linstor(format!("{context} (resource definition {rd})")))
    }

    /// Deletes a resource definition, trying again while LINSTOR says it is in use (DRBD
    /// demotes asynchronously after the last close). `false` when it did not exist.
    pub async fn delete_rd(&self, rd: &str) -> Result<bool> {
        let mut attempt = 1;
        loop {
            match self.client.resource_definition_delete(rd).await {
                Ok(answer) => return Ok(!answer.iter().any(|rc| rc.is(WARN_NOT_FOUND))),
                Err(err) if err.is_not_found() || err.is(FAIL_NOT_FOUND_RSC_DFN) => return Ok(false),
                Err(err)
                    if (err.is(FAIL_IN_USE) || err.is(FAIL_UNKNOWN_ERROR))
                        && attempt < self.busy_retries.max(1) =>
                {
                    attempt += 1;
                    tokio::time::sleep(self.busy_interval).await;
                }
                Err(err) => {
                    return Err(Error::linstor(format!(
                        "Unable to delete the resource definition {rd} (if it is in use, stop what uses it and try again)"
                    ))(err))
                }
            }
        }
    }

    /// Makes the resource usable on this node: LINSTOR creates a diskless resource when a
    /// diskful one exists elsewhere, a diskful one when none exists, and does nothing when the
    /// node has one already.
    pub async fn make_available(&self, rd: &str) -> Result<()> {
        // `{}`: diskful is false by default, as Incus sends it.
        let request = ResourceMakeAvailable::default();
        self.client
            .resource_make_available(rd, &self.node, &request)
            .await
            .map(|_| ())
            .map_err(Error::linstor(format!("Could not make resource {rd} available on node {}", self.node)))
    }

    /// This node's resource of `rd`, as LINSTOR's resource view shows it.
    async fn local_resource(&self, rd: &str) -> Result<Option<ResourceWithVolumes>> {
        let opts = ListOpts::new().resource(rd).node(self.node.clone());
        let resources = self
            .client
            .resource_view(&opts)
            .await
            .map_err(Error::linstor(format!("Unable to get the resources of {rd}")))?;
        Ok(resources
            .into_iter()
            .find(|r| same_name(&r.resource.name, rd) && same_name(&r.resource.node_name, &self.node)))
    }

    /// The device of volume `number` of `rd` on this node. A resource this node has already
    /// serves as it is; otherwise LINSTOR makes one available here first (as it does for a
    /// tie-breaker, which it then keeps, or a resource on its way out or inactive).
    pub async fn device_path(&self, rd: &str, number: i32) -> Result<PathBuf> {
        Ok(self.attach(rd, number).await?.device)
    }

    /// [`Shared::device_path`], and whether the resource here is diskless.
    pub(crate) async fn attach(&self, rd: &str, number: i32) -> Result<Attached> {
        if let Some(attached) = self.local_resource(rd).await?.and_then(|r| Attached::usable(&r, number)) {
            return Ok(attached);
        }
        self.make_available(rd).await?;
        self.local_resource(rd).await?.and_then(|r| Attached::of(&r, number)).ok_or_else(|| {
            Error::Inconsistent(format!(
                "LINSTOR reports no device for volume {number} of {rd} on node {} (is the resource deployed there?)",
                self.node
            ))
        })
    }

    /// Removes this node's diskless resource of `rd` (the one `make_available` created), unless
    /// LINSTOR keeps it as a tie-breaker or something has it open. `true` if one was removed.
    pub async fn detach_local(&self, rd: &str) -> Result<bool> {
        let Some(with_volumes) = self.local_resource(rd).await? else { return Ok(false) };
        let resource = &with_volumes.resource;
        let in_use = resource.state.as_ref().and_then(|s| s.in_use).unwrap_or(false);
        if !has_flag(resource, &DISKLESS_FLAGS) || has_flag(resource, &[TIE_BREAKER]) || in_use {
            return Ok(false);
        }
        match self.client.resource_delete(rd, &self.node, true).await {
            Ok(_) => Ok(true),
            Err(err) if err.is_not_found() => Ok(false),
            Err(err) => Err(Error::linstor(format!(
                "Could not delete the diskless resource of {rd} on node {}",
                self.node
            ))(err)),
        }
    }

    /// Sets and deletes properties of a resource group.
    pub async fn modify_rg_props(
        &self,
        group: &str,
        set: linstor_api::Props,
        delete: Vec<String>,
        context: &str,
    ) -> Result<()> {
        if set.is_empty() && delete.is_empty() {
            return Ok(());
        }
        let change = PropsModify { override_props: set, delete_props: delete, ..Default::default() };
        self.client
            .call_rc(linstor_client::Method::PUT, &["v1", "resource-groups", group], &[], Some(&change))
            .await
            .map(|_| ())
            .map_err(Error::linstor(format!("{context} (resource group {group})")))
    }
}
