//! Serde types of the REST API v1 objects. Responses leave out empty lists, maps and unset
//! fields (as LINSTOR does); decoding tolerates unknown fields and missing collections.
//! Enum-like values (node types, provider kinds, layer types, flags) stay strings, so that a
//! value a newer controller adds never makes decoding fail.

mod controller;
mod groups;
mod nodes;
mod resources;
mod snapshots;
mod storage;

pub use controller::*;
pub use groups::*;
pub use nodes::*;
pub use resources::*;
pub use snapshots::*;
pub use storage::*;

use std::collections::BTreeMap;

/// A property map: keys are `/`-separated paths, values are strings.
pub type Props = BTreeMap<String, String>;

/// The body every object's props are modified with.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PropsModify {
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub override_props: Props,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_props: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_namespaces: Vec<String>,
}

/// `{"count": n}` of the `/v1/stats/*` endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Count {
    pub count: i64,
}
