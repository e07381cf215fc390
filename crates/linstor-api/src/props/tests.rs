use super::*;

use PropObject::*;

#[derive(Debug)]
enum Want {
    /// accepted; the stored value
    Ok(&'static str),
    BadKey,
    Unknown,
    BadValue,
}

fn outcome(res: &Result<String, PropError>) -> String {
    match res {
        Ok(v) => format!("Ok({v})"),
        Err(PropError::InvalidKey { .. }) => "BadKey".to_owned(),
        Err(PropError::UnknownKey { .. }) => "Unknown".to_owned(),
        Err(PropError::InvalidValue { .. }) => "BadValue".to_owned(),
    }
}

fn want(w: &Want) -> String {
    match w {
        Want::Ok(v) => format!("Ok({v})"),
        other => format!("{other:?}"),
    }
}

const REMOTE_ID: &str = "Cluster/Remote/0e4b6c1a-2f3d-4a5b-8c7d-9e0f1a2b3c4d";

#[rustfmt::skip]
const CASES: &[(&[PropObject], &str, &str, Want)] = &[
    // DRBD net option, boolean yes/no, normalized to lower case
    (&[ResourceDefinition, ResourceGroup, Controller], "DrbdOptions/Net/allow-two-primaries", "yes", Want::Ok("yes")),
    (&[ResourceDefinition], "DrbdOptions/Net/allow-two-primaries", "YES", Want::Ok("yes")),
    (&[ResourceDefinition, ResourceGroup], "DrbdOptions/Net/allow-two-primaries", "maybe", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/Net/allow-two-primaries", "true", Want::BadValue),
    (&[ResourceConnection, NodeConnection], "DrbdOptions/Net/protocol", "A", Want::Ok("A")),
    (&[ResourceConnection], "DrbdOptions/Net/protocol", "a", Want::BadValue),
    // LINSTOR has no DrbdOptions/* whitelist for resources and nodes
    (&[Resource, Node, StoragePool, Snapshot], "DrbdOptions/Net/allow-two-primaries", "yes", Want::Unknown),
    // DRBD handler option (symbol)
    (&[ResourceDefinition, ResourceGroup, Controller], "DrbdOptions/Resource/on-no-quorum", "io-error", Want::Ok("io-error")),
    (&[ResourceDefinition], "DrbdOptions/Resource/on-no-quorum", "suspend-io", Want::Ok("suspend-io")),
    (&[ResourceDefinition], "DrbdOptions/Resource/on-no-quorum", "bla", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/Resource/on-no-quorum", "IO-ERROR", Want::BadValue),
    // numeric-or-symbol
    (&[ResourceDefinition], "DrbdOptions/Resource/quorum", "majority", Want::Ok("majority")),
    (&[ResourceDefinition], "DrbdOptions/Resource/quorum", "2", Want::Ok("2")),
    (&[ResourceDefinition], "DrbdOptions/Resource/quorum", "0", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/Resource/quorum", "33", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/Resource/quorum", "most", Want::BadValue),
    // numeric DRBD options: plain integers within min..max, no unit suffixes
    (&[VolumeDefinition, VolumeGroup, Volume, ResourceDefinition], "DrbdOptions/Disk/al-extents", "6007", Want::Ok("6007")),
    (&[VolumeDefinition], "DrbdOptions/Disk/al-extents", "66", Want::BadValue),
    (&[VolumeDefinition], "DrbdOptions/Disk/al-extents", "65535", Want::BadValue),
    (&[VolumeDefinition], "DrbdOptions/Disk/al-extents", "6k", Want::BadValue),
    (&[VolumeDefinition], "DrbdOptions/Disk/disk-timeout", "-1", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/PeerDevice/c-max-rate", "4194304", Want::Ok("4194304")),
    (&[ResourceDefinition], "DrbdOptions/PeerDevice/c-max-rate", "100M", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/Net/max-buffers", "36k", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/Net/max-buffers", "+8000", Want::Ok("+8000")),
    (&[VolumeDefinition], "DrbdOptions/Disk/block-size", "4096", Want::Ok("4096")),
    // resync-after takes a resource name in LINSTOR
    (&[ResourceDefinition, VolumeDefinition], "DrbdOptions/Disk/resync-after", "other-rsc/0", Want::Ok("other-rsc/0")),
    // per-peer options are not volume-definition options
    (&[VolumeDefinition, Volume], "DrbdOptions/PeerDevice/c-max-rate", "100", Want::Unknown),
    (&[VolumeDefinition], "DrbdOptions/Net/protocol", "C", Want::Unknown),
    (&[ResourceConnection], "DrbdOptions/Disk/al-extents", "6007", Want::Unknown),
    // switches of drbdsetup are not options
    (&[ResourceDefinition], "DrbdOptions/Disk/set-defaults", "yes", Want::Unknown),
    (&[ResourceDefinition], "DrbdOptions/Disk/diskless", "yes", Want::Unknown),
    (&[ResourceDefinition], "DrbdOptions/Net/_name", "x", Want::Unknown),
    // handlers: free text, controller and resource definition/group
    (&[Controller, ResourceDefinition, ResourceGroup], "DrbdOptions/Handlers/split-brain", "/usr/lib/drbd/notify.sh root", Want::Ok("/usr/lib/drbd/notify.sh root")),
    (&[VolumeDefinition, Node], "DrbdOptions/Handlers/split-brain", "x", Want::Unknown),
    // LINSTOR's own DrbdOptions keys
    (&[ResourceDefinition, ResourceGroup, Controller], "DrbdOptions/auto-diskful", "30", Want::Ok("30")),
    (&[ResourceDefinition], "DrbdOptions/auto-diskful", "-1", Want::Ok("-1")),
    (&[ResourceDefinition], "DrbdOptions/auto-diskful", "soon", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/auto-diskful", "9223372036854775808", Want::BadValue),
    (&[ResourceDefinition], "DrbdOptions/ExactSize", "true", Want::Ok("true")),
    (&[ResourceDefinition], "DrbdOptions/ExactSize", "Yes", Want::Ok("true")),
    (&[ResourceDefinition], "DrbdOptions/ExactSize", "FALSE", Want::Ok("false")),
    (&[ResourceDefinition], "DrbdOptions/ExactSize", "1", Want::BadValue),
    (&[ResourceGroup, Resource], "DrbdOptions/ExactSize", "true", Want::Unknown),
    (&[Controller, ResourceDefinition], "DrbdOptions/auto-quorum", "suspend-io", Want::Ok("suspend-io")),
    (&[Controller], "DrbdOptions/auto-add-quorum-tiebreaker", "True", Want::Ok("true")),
    (&[Resource, StoragePool, Node], "DrbdOptions/SkipDisk", "True", Want::Ok("True")),
    (&[Resource], "DrbdOptions/SkipDisk", "true", Want::BadValue),
    // storage pool names
    (&[ResourceDefinition, ResourceGroup, VolumeDefinition, VolumeGroup, Resource, Volume, Node], "StorPoolName", "DfltStorPool", Want::Ok("DfltStorPool")),
    (&[ResourceDefinition], "StorPoolName", "ab", Want::BadValue),
    (&[ResourceDefinition], "StorPoolName", "-pool", Want::BadValue),
    (&[ResourceDefinition], "StorPoolName", "pool\n", Want::BadValue),
    (&[ResourceDefinition], "StorPoolName", "paaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Want::Ok("paaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
    (&[ResourceDefinition], "StorPoolName", "paaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Want::BadValue),
    (&[StoragePool], "StorDriver/StorPoolName", "/var/lib/x", Want::Ok("/var/lib/x")),
    (&[StoragePool], "StorDriver/StorPoolName", "vg/thin_pool", Want::Ok("vg/thin_pool")),
    (&[StoragePool], "StorDriver/StorPoolName", "vg thin", Want::BadValue),
    (&[StoragePool], "StorDriver/StorPoolName", "", Want::BadValue),
    (&[ResourceDefinition], "StorDriver/StorPoolName", "vg", Want::Unknown),
    (&[StoragePool], "StorDriver/LvcreateType", "raid1", Want::Ok("raid1")),
    (&[StoragePool], "StorDriver/LvcreateOptions", "", Want::Ok("")),
    (&[StoragePool], "StorDriver/LvcreateOptions", "a\rb", Want::BadValue),
    (&[StoragePool], "StorDriver/FileDir", "/srv/pool", Want::Ok("/srv/pool")),
    (&[ResourceDefinition, VolumeDefinition], "StorPoolNameDrbdMeta", ".internal", Want::Ok(".internal")),
    (&[ResourceDefinition], "StorPoolNameDrbdMeta", "", Want::Ok("")),
    (&[ResourceDefinition], "StorPoolNameDrbdMeta", "meta_pool", Want::Ok("meta_pool")),
    (&[ResourceDefinition], "StorPoolNameDrbdMeta", "x", Want::BadValue),
    // Aux/ is free-form everywhere, but the key must be well-formed
    (PropObject::ALL.as_slice(), "Aux/anything/goes", "whatever", Want::Ok("whatever")),
    (PropObject::ALL.as_slice(), "Aux/x", "", Want::Ok("")),
    (PropObject::ALL.as_slice(), "Aux/", "x", Want::BadKey),
    (PropObject::ALL.as_slice(), "Aux//x", "x", Want::BadKey),
    (PropObject::ALL.as_slice(), "/Aux/x", "x", Want::BadKey),
    (PropObject::ALL.as_slice(), "", "x", Want::BadKey),
    (PropObject::ALL.as_slice(), "Aux/a\0b", "x", Want::BadKey),
    (PropObject::ALL.as_slice(), "Aux/a\nb", "x", Want::BadKey),
    (&[ResourceDefinition], "aux/x", "x", Want::Unknown),
    (&[ResourceDefinition], "Aux", "x", Want::Unknown),
    // other free namespaces, per object
    (&[Controller, Node, ResourceDefinition, ResourceGroup, VolumeDefinition, VolumeGroup, Snapshot], "EBS/Tags/team", "a", Want::Ok("a")),
    (&[Resource, StoragePool], "EBS/Tags/team", "a", Want::Unknown),
    (&[StoragePool], "SED/secret", "a", Want::Ok("a")),
    (&[NodeConnection, ResourceConnection], "Paths/path1/node-a", "default", Want::Ok("default")),
    (&[ResourceDefinition], "Paths/path1/node-a", "default", Want::Unknown),
    // not whitelisted
    (&[ResourceDefinition], "NoSuchKey", "1", Want::Unknown),
    (&[Snapshot], "StorPoolName", "DfltStorPool", Want::Unknown),
    (&[KeyValueStore], "NoSuchKey", "1", Want::Ok("1")),
    (&[KeyValueStore], "any/thing/at/all", "\u{1F600}", Want::Ok("\u{1F600}")),
    (&[KeyValueStore], "any//thing", "x", Want::BadKey),
    // ranges
    (&[ResourceDefinition, ResourceGroup, Controller], "PeerSlotsNewResource", "7", Want::Ok("7")),
    (&[Resource], "PeerSlots", "1", Want::Ok("1")),
    (&[Resource], "PeerSlots", "31", Want::Ok("31")),
    (&[Resource], "PeerSlots", "0", Want::BadValue),
    (&[Resource], "PeerSlots", "32", Want::BadValue),
    (&[Resource], "PeerSlots", " 7", Want::BadValue),
    (&[Resource], "PeerSlots", "7.0", Want::BadValue),
    (&[ResourceDefinition], "PeerSlots", "7", Want::Unknown),
    (&[Controller, ResourceDefinition], "NVMe/Port", "4420", Want::Ok("4420")),
    (&[Controller], "NVMe/Port", "65536", Want::BadValue),
    // float ranges
    (&[StoragePool, StoragePoolDefinition, Controller], "MaxOversubscriptionRatio", "20", Want::Ok("20")),
    (&[StoragePool], "MaxOversubscriptionRatio", "2.5", Want::Ok("2.5")),
    (&[StoragePool], "MaxOversubscriptionRatio", "1e3", Want::Ok("1e3")),
    (&[StoragePool], "MaxOversubscriptionRatio", "0", Want::Ok("0")),
    (&[StoragePool], "MaxOversubscriptionRatio", "1000.0", Want::Ok("1000.0")),
    (&[StoragePool], "MaxOversubscriptionRatio", "1000.5", Want::BadValue),
    (&[StoragePool], "MaxOversubscriptionRatio", "-0.5", Want::BadValue),
    (&[StoragePool], "MaxOversubscriptionRatio", "NaN", Want::BadValue),
    (&[StoragePool], "MaxOversubscriptionRatio", "inf", Want::BadValue),
    (&[StoragePool], "MaxOversubscriptionRatio", "ten", Want::BadValue),
    (&[StoragePool], "MaxOversubscriptionRatio", "", Want::BadValue),
    (&[ResourceDefinition], "MaxOversubscriptionRatio", "2", Want::Unknown),
    // other regex rules must match the whole value
    (&[Controller], "TcpPortAutoRange", "7000-7999", Want::Ok("7000-7999")),
    (&[Controller], "TcpPortAutoRange", "x7000-7999", Want::BadValue),
    (&[Controller], "TcpPortAutoRange", "7000-7999\n", Want::BadValue),
    (&[Controller], "Autoplacer/Weights/MaxFreeSpace", "1.5", Want::Ok("1.5")),
    (&[Controller], "Autoplacer/Weights/MaxFreeSpace", "1.5x", Want::BadValue),
    (&[Controller, Node, StoragePool, ResourceDefinition], "Autoplacer/MinThinFreeSpace", "10%", Want::Ok("10%")),
    (&[Controller], "Autoplacer/MinThinFreeSpace", "1.5 GiB", Want::Ok("1.5 GiB")),
    (&[Controller], "Autoplacer/MinThinFreeSpace", "1.5 XB", Want::BadValue),
    (&[ResourceDefinition, Node], "Writecache/Size", "100%", Want::Ok("100%")),
    (&[ResourceDefinition], "Writecache/Size", "5.5%", Want::Ok("5.5%")),
    (&[ResourceDefinition], "Writecache/Size", "4096", Want::Ok("4096")),
    (&[ResourceDefinition], "Writecache/Size", "12", Want::BadValue),
    (&[VolumeDefinition], "DrbdCurrentGi", "0123456789abcdef", Want::Ok("0123456789abcdef")),
    (&[VolumeDefinition], "DrbdCurrentGi", "0123456789abcdeg", Want::BadValue),
    (&[Controller, StoragePoolDefinition, ResourceDefinition], "Clone/DdBlocksize", "64k", Want::Ok("64k")),
    (&[Controller], "Clone/DdBlocksize", "0k", Want::BadValue),
    // symbols and true/false booleans from the LINSTOR table
    (&[ResourceDefinition, Resource, VolumeDefinition], "FileSystem/Type", "xfs", Want::Ok("xfs")),
    (&[ResourceDefinition], "FileSystem/Type", "btrfs", Want::BadValue),
    (&[ResourceDefinition], "Writecache/Options/Fua", "On", Want::Ok("On")),
    (&[Controller, Node], "AutoplaceTarget", "no", Want::Ok("false")),
    (&[Controller], "AutoplaceTarget", "nope", Want::BadValue),
    (&[Controller], "REST/AutoHTTPS", "TRUE", Want::Ok("true")),
    // internal rules are still settable
    (&[Controller, Node], "Site", "east", Want::Ok("east")),
    (&[ResourceDefinition], "DrbdProxy/CompressionType", "zstd", Want::Ok("zstd")),
    // remote clusters on the controller
    (&[Controller], REMOTE_ID, "other", Want::Ok("other")),
    (&[Controller], REMOTE_ID, "much-too-long-name", Want::BadValue),
    (&[Controller], "Cluster/Remote/not-a-uuid", "other", Want::BadKey),
    (&[ResourceDefinition], REMOTE_ID, "other", Want::Unknown),
];

#[test]
fn props_table_cases() {
    let mut failures = Vec::new();
    for (objects, key, value, expected) in CASES {
        for object in *objects {
            let got = check_prop(*object, key, value);
            if outcome(&got) != want(expected) {
                failures.push(format!(
                    "{object:?} {key:?}={value:?}: got {}, want {}",
                    outcome(&got),
                    want(expected)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn props_tables_are_sorted_and_unique() {
    for object in PropObject::ALL {
        let table = rules(object);
        for pair in table.windows(2) {
            assert!(pair[0].key < pair[1].key, "{object:?}: {} before {}", pair[0].key, pair[1].key);
        }
        for rule in table {
            assert!(check_prop_key(rule.key).is_ok(), "{object:?}: malformed key {}", rule.key);
        }
    }
}

#[test]
fn props_patterns_compile() {
    assert_eq!(COMPILED.len(), rules::REGEX_PATTERNS.len());
    for (pattern, compiled) in rules::REGEX_PATTERNS.iter().zip(COMPILED.iter()) {
        assert!(compiled.is_some(), "pattern does not compile: {pattern}");
    }
    for object in PropObject::ALL {
        for rule in rules(object) {
            if let RuleKind::Regex { id, .. } = rule.kind {
                assert!(id < COMPILED.len(), "{}: pattern id {id} out of range", rule.key);
            }
        }
    }
}

#[test]
fn props_symbol_rules_accept_their_first_value() {
    let mut seen = 0;
    for object in PropObject::ALL {
        for rule in rules(object) {
            let first = match rule.kind {
                RuleKind::Symbol(values) | RuleKind::NumericOrSymbol { symbols: values, .. } => values[0],
                _ => continue,
            };
            seen += 1;
            assert_eq!(check_prop(object, rule.key, first).as_deref(), Ok(first), "{object:?} {}", rule.key);
            let wrong = format!("{first}x");
            assert!(check_prop(object, rule.key, &wrong).is_err(), "{object:?} {}={wrong}", rule.key);
        }
    }
    assert!(seen > 20, "only {seen} symbol rules found");
}

#[test]
fn props_range_rules_check_both_bounds() {
    for object in PropObject::ALL {
        for rule in rules(object) {
            let (min, max) = match rule.kind {
                RuleKind::Range { min, max } | RuleKind::NumericOrSymbol { min, max, .. } => (min, max),
                _ => continue,
            };
            for ok in [min, max] {
                assert!(rule.check(&ok.to_string()).is_some(), "{}: {ok} refused", rule.key);
            }
            for bad in [min.checked_sub(1), max.checked_add(1)].into_iter().flatten() {
                assert!(rule.check(&bad.to_string()).is_none(), "{}: {bad} accepted", rule.key);
            }
        }
    }
}

#[test]
fn props_every_rule_has_a_description() {
    for object in PropObject::ALL {
        for rule in rules(object) {
            let text = describe_rule(object, rule.key);
            if object == ResourceGroup && rule.key == "DrbdOptions/ExactSize" {
                assert_eq!(text, None);
            } else {
                assert_eq!(text, Some(rule.describe()), "{object:?} {}", rule.key);
            }
        }
    }
}

#[test]
fn props_descriptions() {
    let d = |o, k| describe_rule(o, k).unwrap_or_default();
    assert_eq!(d(Resource, "PeerSlots"), "an integer from 1 to 31");
    assert_eq!(d(ResourceDefinition, "DrbdOptions/Resource/on-no-quorum"), "one of: io-error, suspend-io");
    assert_eq!(d(ResourceDefinition, "DrbdOptions/Net/ping-int"), "an integer from 1 to 120, in seconds");
    assert_eq!(
        d(ResourceDefinition, "DrbdOptions/PeerDevice/c-max-rate"),
        "an integer from 0 to 4194304, in KiB/second"
    );
    assert_eq!(d(StoragePool, "MaxOversubscriptionRatio"), "a number from 0 to 1000");
    assert_eq!(d(ResourceDefinition, "DrbdOptions/ExactSize"), "true, false, yes or no");
    assert_eq!(d(ResourceDefinition, "DrbdOptions/Net/allow-two-primaries"), "yes or no");
    assert_eq!(
        d(ResourceDefinition, "StorPoolName"),
        "a value matching the pattern ^[a-zA-Z0-9_][a-zA-Z0-9_-]{2,47}$"
    );
    assert_eq!(d(ResourceDefinition, "Aux/x"), "any text (free-form key)");
    assert_eq!(describe_rule(ResourceDefinition, "NoSuchKey"), None);
    assert_eq!(describe_rule(ResourceDefinition, "Aux//x"), None);
}

#[test]
fn props_error_messages() {
    let err = check_prop(ResourceDefinition, "NoSuchKey", "1").unwrap_err();
    assert_eq!(err.to_string(), "Invalid property key: NoSuchKey");
    assert_eq!(err.cause(), "The key 'NoSuchKey' is not whitelisted.");
    assert_eq!(err.key(), "NoSuchKey");

    let err = check_prop(Resource, "PeerSlots", "99").unwrap_err();
    assert_eq!(err.to_string(), "Invalid property(PeerSlots) value: 99");
    assert_eq!(err.key(), "PeerSlots");
    assert_eq!(err.details(), Some("an integer from 1 to 31"));
    assert_eq!(err.cause(), "The key 'PeerSlots' does not accept the value '99'.");

    let err = check_prop(Node, "Aux//x", "1").unwrap_err();
    assert_eq!(err.to_string(), "Invalid property key: Aux//x");
    assert_eq!(err.cause(), "The key 'Aux//x' is malformed: the key has an empty path segment.");
    assert_eq!(err.details(), None);
    assert_eq!(err.key(), "Aux//x");
    let _: &dyn std::error::Error = &err;
}

#[test]
fn props_key_syntax() {
    let long_ok = format!("Aux/{}", "k".repeat(MAX_KEY_LEN - 4));
    assert_eq!(check_prop_key(&long_ok), Ok(()));
    assert!(check_prop_key(&format!("{long_ok}k")).is_err());
    // length counts UTF-16 units like LINSTOR: an astral character counts twice
    let astral = format!("Aux/{}", "\u{1F600}".repeat((MAX_KEY_LEN - 4) / 2 + 1));
    assert!(check_prop_key(&astral).is_err());
    for bad in ["", "/", "a/", "/a", "a//b", "a\u{7f}", "a\u{85}b", "a\tb"] {
        assert!(check_prop_key(bad).is_err(), "{bad:?} accepted");
    }
    for good in ["a", "Aux/x y", "Aux/ünï/cödé", "DrbdOptions/Net/protocol", "NoSuchKey"] {
        assert_eq!(check_prop_key(good), Ok(()), "{good:?}");
    }
}

#[test]
fn props_delete_checks() {
    assert_eq!(check_prop_delete(ResourceDefinition, "Aux/x"), Ok(()));
    assert_eq!(check_prop_delete(ResourceDefinition, "DrbdOptions/Net/protocol"), Ok(()));
    assert_eq!(check_prop_delete(KeyValueStore, "whatever/key"), Ok(()));
    assert!(matches!(check_prop_delete(ResourceDefinition, "NoSuchKey"), Err(PropError::UnknownKey { .. })));
    assert!(matches!(check_prop_delete(ResourceDefinition, "Aux/"), Err(PropError::InvalidKey { .. })));
    assert_eq!(check_prop_key("NoSuchKey"), Ok(()));
}

/// Small deterministic generator, so the fuzz test needs no extra crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn props_never_panic() {
    let pieces = [
        "",
        "/",
        "//",
        "Aux",
        "Aux/",
        "DrbdOptions",
        "DrbdOptions/Net/",
        "Cluster/Remote/",
        "x",
        "\0",
        "\n",
        "\r",
        "\u{85}",
        "\u{2028}",
        "é",
        "\u{1F600}",
        "\u{FFFF}",
        "0",
        "-1",
        "+",
        "9223372036854775807",
        "99999999999999999999",
        "1e309",
        "NaN",
        "inf",
        "1.5f",
        ".",
        "yes",
        "True",
        "%",
        "-",
        "0e4b6c1a-2f3d-4a5b-8c7d-9e0f1a2b3c4d",
    ];
    let mut keys: Vec<String> =
        PropObject::ALL.iter().flat_map(|o| rules(*o)).map(|r| r.key.to_owned()).collect();
    keys.extend(["Aux/x".to_owned(), REMOTE_ID.to_owned(), "x".repeat(300), "\u{1F600}".repeat(200)]);
    let mut values: Vec<String> =
        vec!["x".repeat(1 << 20), "\0".repeat(1000), "9".repeat(500), "é".repeat(5000)];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..400 {
        let n = (rng.next() % 6) as usize;
        keys.push((0..n).map(|_| rng.pick(&pieces)).collect());
        values.push((0..n).map(|_| rng.pick(&pieces)).collect());
    }
    for object in PropObject::ALL {
        for (i, key) in keys.iter().enumerate() {
            for value in values.iter().skip(i % 7).step_by(7) {
                let res = check_prop(object, key, value);
                if let Err(err) = &res {
                    assert_eq!(err.key(), key);
                    let _ = err.to_string();
                    let _ = err.cause();
                }
            }
            let _ = check_prop_key(key);
            let _ = check_prop_delete(object, key);
            let _ = describe_rule(object, key);
        }
    }
}
