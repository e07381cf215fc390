//! The LINSTOR calls the driver is made of, each with its error context, its retries and the
//! checks it does on LINSTOR's answer.

use crate::driver::Shared;
use crate::error::{Error, Result};
use crate::volume::{VolumeType, AUX_NAME, AUX_TYPE};
use linstor_api::consts::{FAIL_IN_USE, FAIL_NOT_FOUND_RSC_DFN, FAIL_UNKNOWN_ERROR, WARN_NOT_FOUND};
use linstor_api::{PropsModify, ResourceDefinition, ResourceDefinitionModify, ResourceMakeAvailable};
use linstor_client::ListOpts;
use std::path::PathBuf;

/// Resource flags of resources without a disk of their own.
const DISKLESS_FLAGS: [&str; 2] = ["DISKLESS", "DRBD_DISKLESS"];
const TIE_BREAKER: &str = "TIE_BREAKER";

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
                rd.props.get(AUX_NAME).map(String::as_str) == Some(aux_name)
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

    /// The device of volume `number` of `rd` on this node, after making it available here.
    pub async fn device_path(&self, rd: &str, number: i32) -> Result<PathBuf> {
        self.make_available(rd).await?;
        let volumes = self.client.volume_list(rd, &self.node).await.map_err(Error::linstor(format!(
            "Unable to get the LINSTOR volumes of {rd} on node {}",
            self.node
        )))?;
        volumes
            .iter()
            .find(|v| v.volume_number == Some(number))
            .and_then(|v| v.device_path.as_deref())
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| {
                Error::Inconsistent(format!(
                    "LINSTOR reports no device for volume {number} of {rd} on node {} (is the resource deployed there?)",
                    self.node
                ))
            })
    }

    /// Removes this node's diskless resource of `rd` (the one `make_available` created), unless
    /// LINSTOR keeps it as a tie-breaker or something has it open. `true` if one was removed.
    pub async fn detach_local(&self, rd: &str) -> Result<bool> {
        let opts = ListOpts::new().resource(rd).node(self.node.clone());
        let resources = self
            .client
            .resource_view(&opts)
            .await
            .map_err(Error::linstor(format!("Unable to get the resources of {rd}")))?;
        let mut removed = false;
        for with_volumes in resources {
            let resource = &with_volumes.resource;
            if !same_name(&resource.name, rd) || !same_name(&resource.node_name, &self.node) {
                continue;
            }
            let diskless = resource.flags.iter().any(|f| DISKLESS_FLAGS.contains(&f.as_str()));
            let tie_breaker = resource.flags.iter().any(|f| f == TIE_BREAKER);
            let in_use = resource.state.as_ref().and_then(|s| s.in_use).unwrap_or(false);
            if !diskless || tie_breaker || in_use {
                continue;
            }
            match self.client.resource_delete(rd, &self.node, true).await {
                Ok(_) => removed = true,
                Err(err) if err.is_not_found() => {}
                Err(err) => {
                    return Err(Error::linstor(format!(
                        "Could not delete the diskless resource of {rd} on node {}",
                        self.node
                    ))(err))
                }
            }
        }
        Ok(removed)
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
