//! LINSTOR's name rules: lengths, characters, at least one letter, RFC 1123 node names.
//!
//! Names are identities without regard to case; [`NameKey`] is the case-folded form used
//! as a map key, while the object keeps the spelling it was created with.

use std::fmt;

/// The kinds of names LINSTOR checks, each with its own length limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Node,
    ResourceDefinition,
    ResourceGroup,
    Snapshot,
    StoragePool,
    NetInterface,
    KeyValueStore,
}

impl NameKind {
    /// Minimum and maximum length in bytes.
    pub fn limits(self) -> (usize, usize) {
        match self {
            NameKind::Node => (2, 255),
            NameKind::ResourceDefinition
            | NameKind::ResourceGroup
            | NameKind::Snapshot
            | NameKind::KeyValueStore => (2, 48),
            NameKind::StoragePool => (3, 48),
            NameKind::NetInterface => (3, 32),
        }
    }

    /// How LINSTOR's messages call this kind of object.
    pub fn noun(self) -> &'static str {
        match self {
            NameKind::Node => "node",
            NameKind::ResourceDefinition => "resource",
            NameKind::ResourceGroup => "resource group",
            NameKind::Snapshot => "snapshot",
            NameKind::StoragePool => "storage pool",
            NameKind::NetInterface => "net interface",
            NameKind::KeyValueStore => "key value store",
        }
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    pub kind: NameKind,
    pub name: String,
    pub reason: String,
}

impl NameError {
    pub fn message(&self) -> String {
        if self.kind == NameKind::Node {
            format!("The given node name '{}' is invalid.", self.name)
        } else {
            format!("The specified {} name '{}' is invalid.", self.kind.noun(), self.name)
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.message(), self.reason)
    }
}

impl std::error::Error for NameError {}

/// Checks `name` against LINSTOR's rule for `kind`.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), NameError> {
    let result = match kind {
        NameKind::Node => check_host_name(name, kind.limits()),
        _ => check_generic_name(name, kind.limits()),
    };
    result.map_err(|reason| NameError { kind, name: name.to_string(), reason })
}

fn check_length(name: &str, (min, max): (usize, usize)) -> Result<(), String> {
    if name.len() < min {
        return Err(format!("Invalid name: Name length {} is less than minimum length {min}", name.len()));
    }
    if name.len() > max {
        return Err(format!("Invalid name: Name length {} is greater than maximum length {max}", name.len()));
    }
    Ok(())
}

fn check_generic_name(name: &str, limits: (usize, usize)) -> Result<(), String> {
    check_length(name, limits)?;
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        if !(first.is_ascii_alphabetic() || first == '_') {
            return Err(format!("Invalid name: Cannot begin with character '{first}'"));
        }
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(format!("Invalid name: Cannot contain character '{bad}'"));
    }
    if !name.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(
            "Invalid name: Name must contain at least one character that matches [a-zA-Z]".to_string()
        );
    }
    Ok(())
}

fn check_host_name(name: &str, limits: (usize, usize)) -> Result<(), String> {
    check_length(name, limits)?;
    if name.starts_with('.') {
        return Err("Hostname cannot begin with '.'".to_string());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("Domain name cannot contain an empty label ('..' or a trailing '.')".to_string());
        }
        if label.len() > 63 {
            return Err(format!("Domain name label '{label}' is longer than 63 characters"));
        }
        if let Some(bad) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!("Domain name cannot contain character '{bad}'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("Domain name label '{label}' cannot begin or end with '-'"));
        }
    }
    Ok(())
}

/// The case-folded identity of a LINSTOR name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameKey(String);

impl NameKey {
    pub fn new(name: &str) -> Self {
        NameKey(name.to_ascii_uppercase())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for NameKey {
    fn from(name: &str) -> Self {
        NameKey::new(name)
    }
}

impl fmt::Display for NameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameKind::*;

    #[test]
    fn generic_names() {
        let ok = [
            (ResourceDefinition, "ab"),
            (ResourceDefinition, "_a"),
            (ResourceDefinition, "incus-volume-4df9f0598bd14d73953151614428d298"),
            (ResourceGroup, "DfltRscGrp"),
            (StoragePool, "DfltDisklessStorPool"),
            (NetInterface, "default"),
            (Snapshot, "snap_1"),
        ];
        for (kind, name) in ok {
            assert_eq!(check_name(kind, name), Ok(()), "{name}");
        }
        let bad = [
            (ResourceDefinition, "a", "less than minimum"),
            (ResourceDefinition, &"a".repeat(49) as &str, "greater than maximum"),
            (ResourceDefinition, "1abc", "Cannot begin with character '1'"),
            (ResourceDefinition, "-abc", "Cannot begin"),
            (ResourceDefinition, "ab.c", "Cannot contain character '.'"),
            (ResourceDefinition, "ab c", "Cannot contain character ' '"),
            (ResourceDefinition, "__", "at least one character"),
            (ResourceDefinition, "_1", "at least one character"),
            (ResourceDefinition, "aé", "Cannot contain"),
            (StoragePool, "ab", "less than minimum"),
            (NetInterface, &"n".repeat(33) as &str, "greater than maximum"),
        ];
        for (kind, name, why) in bad {
            let err = check_name(kind, name).expect_err(name);
            assert!(err.reason.contains(why), "{name}: {}", err.reason);
        }
    }

    #[test]
    fn node_names() {
        for name in ["n1", "node-1.example.com", "1node", "Server01"] {
            assert_eq!(check_name(Node, name), Ok(()), "{name}");
        }
        for name in ["n", ".node", "node..a", "node.", "-node", "node-", "no_de", "nö", "a b"] {
            assert!(check_name(Node, name).is_err(), "{name}");
        }
        assert!(check_name(Node, &"a".repeat(64)).is_err());
        let long = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(63)].join(".");
        assert!(check_name(Node, &long).is_ok());
        assert!(check_name(Node, &format!("{long}x")).is_err());
    }

    #[test]
    fn messages_name_the_object() {
        let err = check_name(ResourceDefinition, "1x").unwrap_err();
        assert_eq!(err.message(), "The specified resource name '1x' is invalid.");
        let err = check_name(Node, "-x").unwrap_err();
        assert_eq!(err.message(), "The given node name '-x' is invalid.");
    }

    #[test]
    fn keys_ignore_case() {
        assert_eq!(NameKey::new("Node1"), NameKey::new("NODE1"));
    }
}
