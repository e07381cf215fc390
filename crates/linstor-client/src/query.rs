//! Filters and paging of list calls.

/// Filters and paging for list calls. Each endpoint reads the filters it knows; only fields that
/// are set are sent. Filters are repeated query parameters (`nodes=a&nodes=b`); `props` entries
/// are `key` (the property is set) or `key=value`, all of which must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOpts {
    pub nodes: Vec<String>,
    pub resources: Vec<String>,
    pub storage_pools: Vec<String>,
    pub resource_definitions: Vec<String>,
    pub resource_groups: Vec<String>,
    pub snapshots: Vec<String>,
    pub props: Vec<String>,
    /// Include volume definitions in resource-definition lists.
    pub with_volume_definitions: Option<bool>,
    /// Storage pool views: answer from the controller's cache.
    pub cached: Option<bool>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

impl ListOpts {
    pub fn new() -> ListOpts {
        ListOpts::default()
    }

    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.nodes.push(name.into());
        self
    }

    pub fn resource(mut self, name: impl Into<String>) -> Self {
        self.resources.push(name.into());
        self
    }

    pub fn storage_pool(mut self, name: impl Into<String>) -> Self {
        self.storage_pools.push(name.into());
        self
    }

    pub fn resource_definition(mut self, name: impl Into<String>) -> Self {
        self.resource_definitions.push(name.into());
        self
    }

    pub fn resource_group(mut self, name: impl Into<String>) -> Self {
        self.resource_groups.push(name.into());
        self
    }

    /// Adds a props filter: `key` or `key=value`.
    pub fn prop(mut self, filter: impl Into<String>) -> Self {
        self.props.push(filter.into());
        self
    }

    pub fn with_volume_definitions(mut self) -> Self {
        self.with_volume_definitions = Some(true);
        self
    }

    pub fn page(mut self, offset: usize, limit: usize) -> Self {
        self.offset = Some(offset);
        self.limit = Some(limit);
        self
    }

    /// The query pairs, in a stable order.
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        for (key, values) in [
            ("nodes", &self.nodes),
            ("resources", &self.resources),
            ("storage_pools", &self.storage_pools),
            ("resource_definitions", &self.resource_definitions),
            ("resource_groups", &self.resource_groups),
            ("snapshots", &self.snapshots),
            ("props", &self.props),
        ] {
            pairs.extend(values.iter().map(|v| (key.to_string(), v.clone())));
        }
        if let Some(flag) = self.with_volume_definitions {
            pairs.push(("with_volume_definitions".into(), flag.to_string()));
        }
        if let Some(flag) = self.cached {
            pairs.push(("cached".into(), flag.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset".into(), offset.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit".into(), limit.to_string()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_fields_are_sent() {
        assert!(ListOpts::new().to_query().is_empty());
        let q = ListOpts::new()
            .node("a")
            .node("b")
            .prop("Aux/x=1")
            .with_volume_definitions()
            .page(0, 10)
            .to_query();
        let text: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            text,
            ["nodes=a", "nodes=b", "props=Aux/x=1", "with_volume_definitions=true", "offset=0", "limit=10"]
        );
    }
}
