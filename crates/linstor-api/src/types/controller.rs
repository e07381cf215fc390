use super::Props;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerVersion {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_api_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValueStore {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
}
