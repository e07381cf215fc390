#!/usr/bin/env python3
"""Generate crates/linstor-api/src/props/rules.rs: the property whitelist tables.

Inputs (read-only), by default from ../shared/reference relative to the repository root:
  linstor-properties.json  rule definitions and the rule names each object accepts
  linstor-consts.json      constant names used to spell the keys of those rules
  drbdsetup.xml            DRBD options, turned into DrbdOptions/{Disk,Net,Resource,PeerDevice}/* rules

Usage: python3 tools/gen_props.py [REFERENCE_DIR]

The output only depends on the inputs (sorted, no timestamps), so running it twice gives the
same file. The Rust build does not need python: the generated file is committed.
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
REF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "reference")
DST = os.path.join(REPO, "crates", "linstor-api", "src", "props", "rules.rs")


def die(msg):
    sys.stderr.write("gen_props.py: " + msg + "\n")
    sys.exit(1)


def load_json(name):
    with open(os.path.join(REF, name), encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------
# Inputs

CONSTS = {e["name"]: e for e in load_json("linstor-consts.json") if "name" in e}
PROPS = load_json("linstor-properties.json")
DRBD_XML = ET.parse(os.path.join(REF, "drbdsetup.xml")).getroot()


def const_str(name):
    e = CONSTS.get(name)
    if e is None or e.get("type") != "string":
        die("constant %s is missing or not a string" % name)
    return e["value"]


def resolve_key(key):
    if isinstance(key, str):
        return key
    return "/".join(const_str(n) for n in key)


# Our object tables and the whitelist object names they are built from. Objects of the
# whitelist that Strand does not model (the drbd-proxy sections) are skipped on purpose.
OBJECT_TABLES = {
    "CONTROLLER": "controller",
    "NODE": "node",
    "STORAGE_POOL_DEFINITION": "storagepool-definition",
    "STORAGE_POOL": "storagepool",
    "RESOURCE_DEFINITION": "resource-definition",
    "RESOURCE": "resource",
    "VOLUME_DEFINITION": "volume-definition",
    "VOLUME": "volume",
    "NODE_CONNECTION": None,
    "RESOURCE_CONNECTION": None,
}
SKIPPED_OBJECTS = {"drbd-proxy", "drbd-proxy-zlib", "drbd-proxy-lzma", "drbd-proxy-zstd"}

# drbdsetup command -> key namespace constant. `new-peer` carries the net options and
# `new-minor` adds a few disk options.
DRBD_COMMANDS = {
    "disk-options": "NAMESPC_DRBD_DISK_OPTIONS",
    "new-minor": "NAMESPC_DRBD_DISK_OPTIONS",
    "new-peer": "NAMESPC_DRBD_NET_OPTIONS",
    "resource-options": "NAMESPC_DRBD_RESOURCE_OPTIONS",
    "peer-device-options": "NAMESPC_DRBD_PEER_DEVICE_OPTIONS",
}
# Options that are command switches, not settings.
DRBD_SKIPPED_OPTIONS = {"set-defaults", "_name", "diskless"}
# Options whose drbdsetup type is not what LINSTOR accepts (it takes a resource name).
DRBD_STRING_OVERRIDES = {"resync-after"}
# Which drbdsetup commands each object table takes its DrbdOptions/* keys from.
DRBD_OBJECT_COMMANDS = {
    "CONTROLLER": ["disk-options", "new-minor", "new-peer", "resource-options", "peer-device-options"],
    "RESOURCE_DEFINITION": ["disk-options", "new-minor", "new-peer", "resource-options", "peer-device-options"],
    "VOLUME_DEFINITION": ["disk-options", "new-minor"],
    "VOLUME": ["disk-options", "new-minor"],
    "NODE_CONNECTION": ["new-peer", "peer-device-options"],
    "RESOURCE_CONNECTION": ["new-peer", "peer-device-options"],
}
# DRBD handler scripts (drbd.conf `handlers` section); free-form command lines.
DRBD_HANDLERS = [
    "after-resync-target", "before-resync-source", "before-resync-target", "fence-peer",
    "initial-split-brain", "local-io-error", "out-of-sync", "pri-lost", "pri-lost-after-sb",
    "pri-on-incon-degr", "quorum-lost", "split-brain", "unfence-peer",
]
DRBD_HANDLER_OBJECTS = ["CONTROLLER", "RESOURCE_DEFINITION"]


# ---------------------------------------------------------------------------------------------
# Regex translation: the whitelist patterns are Java patterns, written as Java string literals
# and matched against the whole value. Translate to an anchored pattern for the regex crate
# with the same meaning: ASCII \d and \s, and `.` excluding Java's line terminators.

JAVA_DOT = r"[^\n\r\x{85}\x{2028}\x{2029}]"
ESCAPES = {"d": "[0-9]", "s": r"[\t\n\x0B\x0C\r ]"}


def java_literal(text):
    # The JSON holds the text of a Java string literal: `\\` stands for one backslash.
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] != "\\":
                die("unexpected escape in regex %r" % text)
            out.append("\\")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def translate_regex(java):
    out, i, in_class = [], 0, False
    while i < len(java):
        ch = java[i]
        if ch == "\\":
            nxt = java[i + 1] if i + 1 < len(java) else die("dangling backslash in %r" % java)
            if nxt in ESCAPES and not in_class:
                out.append(ESCAPES[nxt])
            elif nxt in ".[]()|?*+{}^$-/\\":
                out.append("\\" + nxt)
            else:
                die("unsupported escape \\%s in %r" % (nxt, java))
            i += 2
            continue
        if in_class:
            if ch == "[":
                die("nested character class in %r" % java)
            if ch == "]":
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if java[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
        elif ch == ".":
            out.append(JAVA_DOT)
        else:
            out.append(ch)
        i += 1
    if in_class:
        die("unterminated character class in %r" % java)
    return "^(?:" + "".join(out) + ")$"


# ---------------------------------------------------------------------------------------------
# Rules

SYMBOL_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")


class Rule:
    def __init__(self, ident, key, kind, internal=False, unit=None):
        self.ident, self.key, self.kind, self.internal, self.unit = ident, key, kind, internal, unit
        if not key.isascii() or key.startswith("/") or key.endswith("/") or "//" in key:
            die("odd key %r" % key)


regexes = []  # distinct translated patterns, in order of first use


def regex_id(java):
    pattern = translate_regex(java)
    if pattern not in regexes:
        regexes.append(pattern)
    return regexes.index(pattern)


def symbols(values, what):
    if not values:
        die("%s: no values" % what)
    for v in values:
        if not SYMBOL_RE.match(v):
            die("%s: value %r would need regex escaping" % (what, v))
    return list(values)


def as_bool(v):
    return v is True or (isinstance(v, str) and v.lower() == "true")


def whitelist_rule(name, spec):
    key = resolve_key(spec["key"])
    kind = spec["type"]
    if kind == "regex":
        java = java_literal(spec["value"])
        k = ("Regex", regex_id(java), java)
    elif kind == "symbol":
        k = ("Symbol", symbols(spec["values"], name))
    elif kind == "string":
        k = ("Text",)
    elif kind == "long":
        k = ("Long",)
    elif kind == "boolean":
        k = ("YesNo",)
    elif kind == "boolean_true_false":
        k = ("TrueFalse",)
    elif kind == "range":
        k = ("Range", int(spec["min"]), int(spec["max"]))
    elif kind == "range-float":
        k = ("RangeFloat", float(spec["min_float"]), float(spec["max_float"]))
    elif kind == "numeric-or-symbol":
        k = ("NumericOrSymbol", int(spec["min"]), int(spec["max"]), symbols(spec["values"], name))
    else:
        die("rule %s: unknown type %r" % (name, kind))
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        die("rule name %r is not an identifier" % name)
    return Rule(name.upper(), key, k, as_bool(spec.get("internal", False)), spec.get("unit"))


def drbd_unit(option):
    unit = option.findtext("unit")
    prefix = option.findtext("unit_prefix")
    if unit is None:
        return None
    if prefix == "k" and unit.startswith("bytes"):
        return "KiB" + unit[len("bytes"):]
    if prefix == "s" and unit == "bytes":
        return "512-byte sectors"
    return unit


def drbd_rule(namespace, option):
    name, kind = option.get("name"), option.get("type")
    key = namespace + "/" + name
    ident = "OPT_" + re.sub(r"[^A-Z0-9]", "_", key[len("DrbdOptions/"):].upper())
    if name in DRBD_STRING_OVERRIDES or kind == "string":
        k = ("Text",)
    elif kind == "boolean":
        k = ("YesNo",)
    elif kind == "handler":
        k = ("Symbol", symbols([h.text for h in option.findall("handler")], key))
    elif kind == "numeric":
        if option.find("min") is None or option.find("max") is None:
            die("%s: numeric option without min/max" % key)
        k = ("Range", int(option.findtext("min")), int(option.findtext("max")))
    elif kind == "numeric-or-symbol":
        k = ("NumericOrSymbol", int(option.findtext("min")), int(option.findtext("max")),
             symbols([s.text for s in option.findall("symbol")], key))
    else:
        die("%s: unknown drbdsetup option type %r" % (key, kind))
    unit = None if k[0] == "Text" else drbd_unit(option)
    return Rule(ident, key, k, True, unit)


rules = {}  # ident -> Rule
tables = {t: {} for t in OBJECT_TABLES}  # table -> key -> ident


def add(table, rule):
    prev = tables[table].get(rule.key)
    if prev is not None and prev != rule.ident:
        die("%s: key %s claimed by both %s and %s" % (table, rule.key, prev, rule.ident))
    tables[table][rule.key] = rule.ident


for obj in PROPS["objects"]:
    if obj not in SKIPPED_OBJECTS and obj not in OBJECT_TABLES.values():
        die("whitelist object %r is not mapped to a table" % obj)

wanted = {name for t, obj in OBJECT_TABLES.items() if obj for name in PROPS["objects"][obj]}
for name in sorted(wanted):
    rules[name.upper()] = whitelist_rule(name, PROPS["properties"][name])
for table, obj in OBJECT_TABLES.items():
    for name in PROPS["objects"].get(obj, []) if obj else []:
        add(table, rules[name.upper()])

drbd_by_command = {}
for command in DRBD_XML.findall("command"):
    cmd = command.get("name")
    if cmd not in DRBD_COMMANDS:
        continue
    namespace = const_str(DRBD_COMMANDS[cmd])
    for option in command.findall("option"):
        if option.get("name") in DRBD_SKIPPED_OPTIONS:
            continue
        if option.get("type") == "flag":
            die("%s: unexpected flag option %s" % (cmd, option.get("name")))
        rule = drbd_rule(namespace, option)
        if rule.ident in rules:
            die("duplicate rule %s" % rule.ident)
        rules[rule.ident] = rule
        drbd_by_command.setdefault(cmd, []).append(rule)
for cmd in DRBD_COMMANDS:
    if cmd not in drbd_by_command:
        die("drbdsetup.xml has no command %s" % cmd)
for table, cmds in DRBD_OBJECT_COMMANDS.items():
    for cmd in cmds:
        for rule in drbd_by_command[cmd]:
            add(table, rule)

handler_ns = const_str("NAMESPC_DRBD_HANDLER_OPTIONS")
for h in DRBD_HANDLERS:
    rule = Rule("OPT_HANDLERS_" + h.upper().replace("-", "_"), handler_ns + "/" + h, ("Text",), True)
    rules[rule.ident] = rule
    for table in DRBD_HANDLER_OBJECTS:
        add(table, rule)


# ---------------------------------------------------------------------------------------------
# Output

def rs_str(s):
    return json.dumps(s, ensure_ascii=False)


def rs_float(f):
    text = repr(float(f))
    return text if ("." in text or "e" in text) else text + ".0"


def rs_kind(k):
    tag = k[0]
    if tag == "Regex":
        return "RuleKind::Regex { id: %d, pattern: %s }" % (k[1], rs_str(k[2]))
    if tag == "Symbol":
        return "RuleKind::Symbol(&[%s])" % ", ".join(rs_str(v) for v in k[1])
    if tag in ("Text", "Long", "YesNo", "TrueFalse"):
        return "RuleKind::" + tag
    if tag == "Range":
        return "RuleKind::Range { min: %d, max: %d }" % (k[1], k[2])
    if tag == "RangeFloat":
        return "RuleKind::RangeFloat { min: %s, max: %s }" % (rs_float(k[1]), rs_float(k[2]))
    if tag == "NumericOrSymbol":
        return "RuleKind::NumericOrSymbol { min: %d, max: %d, symbols: &[%s] }" % (
            k[1], k[2], ", ".join(rs_str(v) for v in k[3]))
    die("no output for %r" % (k,))


out = [
    "// @generated by tools/gen_props.py from linstor-properties.json, linstor-consts.json and",
    "// drbdsetup.xml. Do not edit; change the generator and run it again.",
    "//! Property rules and the per-object whitelist tables (sorted by key for binary search).",
    "",
    "use super::{Rule, RuleKind};",
    "",
    "/// Whole-value patterns of the `Regex` rules, translated to the regex crate's syntax.",
    "pub(super) static REGEX_PATTERNS: [&str; %d] = [" % len(regexes),
]
out += ["    %s," % rs_str(p) for p in regexes]
out += ["];", ""]
for ident in sorted(rules):
    r = rules[ident]
    unit = "Some(%s)" % rs_str(r.unit) if r.unit else "None"
    out.append("pub(super) static %s: Rule = Rule { key: %s, kind: %s, internal: %s, unit: %s };" % (
        ident, rs_str(r.key), rs_kind(r.kind), "true" if r.internal else "false", unit))
used = {ident for t in tables.values() for ident in t.values()}
if used != set(rules):
    die("unused rules: %s" % sorted(set(rules) - used))
for table in OBJECT_TABLES:
    entries = sorted(tables[table].items())
    out.append("")
    out.append("pub(super) static %s: [&Rule; %d] = [" % (table, len(entries)))
    out += ["    &%s," % ident for _, ident in entries]
    out.append("];")

text = "\n".join(out) + "\n"
old = None
if os.path.exists(DST):
    with open(DST, encoding="utf-8") as f:
        old = f.read()
if old != text:
    with open(DST, "w", encoding="utf-8") as f:
        f.write(text)
print("%s %s: %d rules, %d patterns, %s" % (
    "wrote" if old != text else "unchanged", os.path.relpath(DST, REPO), len(rules), len(regexes),
    ", ".join("%s=%d" % (t.lower(), len(v)) for t, v in tables.items())))
