//! Placement failures, said the way a user can act on them.
//!
//! When LINSTOR cannot place a new volume (`FAIL_NOT_ENOUGH_NODES`), the error names how many
//! replicas the pool asks for, how many nodes can hold one, and the key to change, in one line.
//!
//! Rules: the replicas asked for are the pool's `linstor.resource_group.place_count` (else
//! what the controller says it needed). The nodes that can hold one are what the controller
//! says (Strand's: "needs N more replica(s), M can be placed"); a controller that does not say
//! (LINBIT's) has them counted here: nodes with a diskful storage pool of the group's filter
//! and enough free space. The controller's cause is kept, in parentheses.

use crate::config::{self, Config, KEY_PLACE_COUNT, KEY_STORAGE_POOL};
use crate::driver::Shared;
use crate::error::Error;
use crate::volume::VolumeId;
use linstor_client::ListOpts;
use std::collections::BTreeSet;

/// What the controller's answer says: replicas still needed, replicas that can be placed, cause.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub needed: Option<u64>,
    pub possible: Option<u64>,
    pub cause: Option<String>,
}

/// The first number after `after` in `text`.
fn number_after(text: &str, after: &str) -> Option<u64> {
    let start = text.find(after)? + after.len();
    let digits: String =
        text[start..].chars().skip_while(|c| *c == ' ').take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The number right before `before` in `text`.
fn number_before(text: &str, before: &str) -> Option<u64> {
    let end = text.find(before)?;
    let head = text[..end].trim_end();
    let digits: String = head.chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// Reads a `FAIL_NOT_ENOUGH_NODES` answer (pure).
pub(crate) fn read_refusal(err: &linstor_client::Error) -> Refusal {
    let Some(rc) = err.entries().iter().find(|rc| rc.is_error()) else { return Refusal::default() };
    Refusal {
        needed: number_after(&rc.message, "needs "),
        possible: number_before(&rc.message, "can be placed"),
        cause: rc
            .cause
            .as_deref()
            .or(rc.details.as_deref())
            .map(|c| c.trim().trim_end_matches('.').replace('\n', " "))
            .filter(|c| !c.is_empty()),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one-line message (pure).
pub(crate) fn message(
    id: &VolumeId,
    pool: &str,
    asked: Option<u64>,
    possible: u64,
    cause: Option<&str>,
) -> String {
    let asks = match asked {
        Some(n) => format!(
            "storage pool \"{pool}\" asks for {} ({KEY_PLACE_COUNT}={n})",
            plural(n, "replica", "replicas")
        ),
        None => format!("storage pool \"{pool}\" asks for more replicas ({KEY_PLACE_COUNT})"),
    };
    let can = match possible {
        0 => "no node can hold one".to_string(),
        n => format!("only {} can hold one", plural(n, "node", "nodes")),
    };
    let cause = cause.map(|c| format!(" (LINSTOR: {c})")).unwrap_or_default();
    let fix = match possible {
        0 => format!(
            "check {KEY_STORAGE_POOL} and the free space of the nodes' storage pools, or add nodes with storage"
        ),
        n => format!("set {KEY_PLACE_COUNT}={n} on the pool (strand storage set {pool} {KEY_PLACE_COUNT}={n}), or add nodes with storage"),
    };
    format!("Cannot place {id}: {asks} but {can}{cause}; {fix}")
}

impl Shared {
    /// Nodes with a diskful storage pool that the filter allows and that has `size_kib` free.
    async fn capable_nodes(&self, storage_pool: Option<&str>, size_kib: u64) -> Option<u64> {
        let pools = self.client.storage_pool_view(&ListOpts::new()).await.ok()?;
        let nodes: BTreeSet<String> = pools
            .iter()
            .filter(|p| !p.provider_kind.eq_ignore_ascii_case("DISKLESS"))
            .filter(|p| storage_pool.map_or(true, |want| p.storage_pool_name.eq_ignore_ascii_case(want)))
            .filter(|p| p.free_capacity.map_or(true, |free| u64::try_from(free).unwrap_or(0) >= size_kib))
            .filter_map(|p| p.node_name.as_ref().map(|n| n.to_ascii_uppercase()))
            .collect();
        Some(nodes.len() as u64)
    }

    /// The error for a volume LINSTOR could not place.
    pub(crate) async fn placement_error(
        &self,
        id: &VolumeId,
        pool: &str,
        pool_config: &Config,
        size_kib: u64,
        err: &linstor_client::Error,
    ) -> Error {
        let refusal = read_refusal(err);
        let asked = config::place_count(pool_config).map(u64::from).or(refusal.needed);
        let possible = match refusal.possible {
            Some(n) => Some(n),
            None => self.capable_nodes(config::storage_pool(pool_config).as_deref(), size_kib).await,
        };
        match possible {
            Some(possible) => {
                Error::CannotPlace { message: message(id, pool, asked, possible, refusal.cause.as_deref()) }
            }
            None => Error::CannotPlace {
                message: format!(
                    "Cannot place {id}: LINSTOR has not enough nodes for the {} storage pool \"{pool}\" asks for \
                     ({}); lower {KEY_PLACE_COUNT} or add nodes with storage",
                    asked.map(|n| plural(n, "replica", "replicas")).unwrap_or_else(|| "replicas".into()),
                    err
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linstor_api::consts::FAIL_NOT_ENOUGH_NODES;
    use linstor_api::ApiCallRc;

    fn refusal(message: &str, cause: Option<&str>) -> linstor_client::Error {
        let mut rc = ApiCallRc::new(FAIL_NOT_ENOUGH_NODES, message.to_string());
        if let Some(cause) = cause {
            rc = rc.with_cause(cause.to_string());
        }
        linstor_client::Error::Api(vec![rc])
    }

    #[test]
    fn strand_answers_are_read() {
        let err = refusal(
            "Not enough available nodes: 'rd' needs 2 more replica(s), 1 can be placed.",
            Some("Of 2 candidate storage pool(s): 1 diskless; 1 usable pool(s) on 1 node(s)."),
        );
        assert_eq!(
            read_refusal(&err),
            Refusal {
                needed: Some(2),
                possible: Some(1),
                cause: Some(
                    "Of 2 candidate storage pool(s): 1 diskless; 1 usable pool(s) on 1 node(s)".into()
                ),
            }
        );
        let linbit = refusal("Not enough available nodes", None);
        assert_eq!(read_refusal(&linbit), Refusal::default());
    }

    #[test]
    fn messages_name_the_numbers_and_the_key() {
        let id = VolumeId::custom("default", "v");
        let text = message(&id, "two", Some(2), 1, Some("1 diskless"));
        assert_eq!(
            text,
            "Cannot place custom volume \"v\": storage pool \"two\" asks for 2 replicas \
             (linstor.resource_group.place_count=2) but only 1 node can hold one (LINSTOR: 1 diskless); \
             set linstor.resource_group.place_count=1 on the pool \
             (strand storage set two linstor.resource_group.place_count=1), or add nodes with storage"
        );
        let none = message(&id, "p", Some(1), 0, None);
        assert!(none
            .contains("asks for 1 replica (linstor.resource_group.place_count=1) but no node can hold one"));
        assert!(none.contains("linstor.resource_group.storage_pool"));
        assert!(!text.contains('\n') && !none.contains('\n'));
    }
}
