"""Hostile input on every route of the object model the controller serves.

For each route (controller, nodes, net interfaces, storage pools, storage pool definitions,
view/storage-pools, resource groups, volume groups, spawn, resource definitions, volume
definitions, key-value store, stats) send, with a fixed seed and a bounded count:
malformed JSON, a 20 MiB body, 100k levels of nesting, non-UTF-8 bytes, every field of a valid
body replaced by a value of the wrong JSON type, odd Content-Types, and random query strings
(percent-encoded random bytes, repeated keys, broken escapes, invalid offset/limit).

Asserted: the controller never dies and never panics, `GET /health` still answers 200, and every
response with status >= 400 is `application/json` holding a non-empty list of objects each with an
integer `ret_code` and a string `message` (what python-linstor and golinstor need to read errors).
"""

import http.client as httpclient
import collections
import json
import random
import re
import time
import urllib.parse

import pytest

from strandtest import ControllerProcess, assert_apicallrc_list, http, split_url

SEED = 0x5742414E  # fixed: the run is reproducible
OVERSIZE = 20 << 20
DEEP = 100000
TIME_BUDGET_S = 55.0
QUERIES_PER_ROUTE = 25
PATHS_PER_ROUTE = 25
RANDOM_DOCS_PER_ROUTE = 25
WRONG_TYPES_PER_FIELD = 3

NODE, NETIF, POOL, SPD, RG, RD, KVS = "fzNode", "fznic", "fzpool", "fzspd", "fzGroup", "fzRes", "fzkvs"

MODIFY = {"override_props": {"Aux/fz": "1"}, "delete_props": ["Aux/gone"], "delete_namespaces": ["Aux/ns"]}
SELECT_FILTER = {
    "place_count": 2, "additional_place_count": 1, "node_name_list": [NODE], "storage_pool": POOL,
    "storage_pool_list": [POOL], "storage_pool_diskless_list": ["DfltDisklessStorPool"],
    "not_place_with_rsc": [RD], "not_place_with_rsc_regex": "^x", "replicas_on_same": ["Aux/a"],
    "replicas_on_different": ["Aux/b"], "x_replicas_on_different_map": {"Aux/c": 2},
    "layer_stack": ["DRBD", "STORAGE"], "provider_list": ["FILE_THIN"], "diskless_on_remaining": False,
    "diskless_type": "DRBD_DISKLESS", "overprovision": 2.0, "port_count": 1,
}
NETIF_BODY = {"name": "nic1", "address": "127.9.0.2", "satellite_port": 3366,
              "satellite_encryption_type": "PLAIN", "is_active": False}

# (method, path template, valid body or None, query keys the route knows)
ROUTES = [
    ("GET", "/health", None, []),
    ("GET", "/v1/controller/version", None, []),
    ("GET", "/v1/controller/properties", None, []),
    ("POST", "/v1/controller/properties", MODIFY, []),
    ("DELETE", "/v1/controller/properties/{key}", None, []),
    ("GET", "/v1/nodes", None, ["nodes", "props", "offset", "limit"]),
    ("POST", "/v1/nodes", {"name": "fzn1", "type": "Satellite", "props": {"Aux/a": "b"},
                           "net_interfaces": [dict(NETIF_BODY, name="default")]}, []),
    ("GET", "/v1/nodes/{node}", None, []),
    ("PUT", "/v1/nodes/{node}", dict(MODIFY, node_type="Satellite"), []),
    ("DELETE", "/v1/nodes/{node}", None, []),
    ("GET", "/v1/nodes/{node}/net-interfaces", None, ["offset", "limit"]),
    ("POST", "/v1/nodes/{node}/net-interfaces", NETIF_BODY, []),
    ("GET", "/v1/nodes/{node}/net-interfaces/{netif}", None, []),
    ("PUT", "/v1/nodes/{node}/net-interfaces/{netif}", NETIF_BODY, []),
    ("DELETE", "/v1/nodes/{node}/net-interfaces/{netif}", None, []),
    ("GET", "/v1/nodes/{node}/storage-pools", None, ["nodes", "storage_pools", "offset", "limit", "cached"]),
    ("POST", "/v1/nodes/{node}/storage-pools", {
        "storage_pool_name": "sp1", "provider_kind": "FILE_THIN", "props": {"StorDriver/StorPoolName": "/srv/fz"},
        "free_space_mgr_name": "fz", "external_locking": False}, []),
    ("GET", "/v1/nodes/{node}/storage-pools/{pool}", None, ["cached"]),
    ("PUT", "/v1/nodes/{node}/storage-pools/{pool}", MODIFY, []),
    ("DELETE", "/v1/nodes/{node}/storage-pools/{pool}", None, []),
    ("GET", "/v1/view/storage-pools", None, ["nodes", "storage_pools", "props", "offset", "limit", "cached"]),
    ("GET", "/v1/storage-pool-definitions", None, ["offset", "limit"]),
    ("POST", "/v1/storage-pool-definitions", {"storage_pool_name": "spd1", "props": {"Aux/a": "b"}}, []),
    ("GET", "/v1/storage-pool-definitions/{spd}", None, []),
    ("PUT", "/v1/storage-pool-definitions/{spd}", MODIFY, []),
    ("DELETE", "/v1/storage-pool-definitions/{spd}", None, []),
    ("GET", "/v1/resource-groups", None, ["resource_groups", "props", "offset", "limit"]),
    ("POST", "/v1/resource-groups", {"name": "rg1", "description": "d", "props": {"Aux/a": "b"},
                                     "select_filter": SELECT_FILTER, "peer_slots": 7}, []),
    ("GET", "/v1/resource-groups/{rg}", None, []),
    ("PUT", "/v1/resource-groups/{rg}", dict(MODIFY, description="d", select_filter=SELECT_FILTER,
                                              peer_slots=7), []),
    ("DELETE", "/v1/resource-groups/{rg}", None, []),
    ("POST", "/v1/resource-groups/{rg}/spawn", {
        "resource_definition_name": "rd1", "resource_definition_external_name": "ext", "volume_sizes": [1024],
        "select_filter": SELECT_FILTER, "partial": False, "definitions_only": True, "peer_slots": 7,
        "volume_passphrases": ["pw"], "resource_definition_props": {"Aux/a": "b"}}, []),
    ("GET", "/v1/resource-groups/{rg}/volume-groups", None, ["offset", "limit"]),
    ("POST", "/v1/resource-groups/{rg}/volume-groups", {"volume_number": 1, "props": {"Aux/a": "b"},
                                                        "flags": ["GROSS_SIZE"]}, []),
    ("GET", "/v1/resource-groups/{rg}/volume-groups/{vlmnr}", None, []),
    ("PUT", "/v1/resource-groups/{rg}/volume-groups/{vlmnr}", dict(MODIFY, flags=["-GROSS_SIZE"]), []),
    ("DELETE", "/v1/resource-groups/{rg}/volume-groups/{vlmnr}", None, []),
    ("GET", "/v1/resource-definitions", None, ["resource_definitions", "with_volume_definitions", "props",
                                               "offset", "limit"]),
    ("POST", "/v1/resource-definitions", {
        "drbd_port": 7000, "drbd_secret": "s", "drbd_peer_slots": 7, "drbd_transport_type": "IP",
        "resource_definition": {"name": "rd2", "external_name": "e", "props": {"Aux/a": "b"}, "flags": [],
                                "layer_data": [{"type": "DRBD"}], "resource_group_name": RG}}, []),
    ("GET", "/v1/resource-definitions/{rd}", None, []),
    ("PUT", "/v1/resource-definitions/{rd}", dict(MODIFY, drbd_port=7001, drbd_peer_slots=7,
                                                   layer_stack=["DRBD", "STORAGE"], resource_group=RG), []),
    ("DELETE", "/v1/resource-definitions/{rd}", None, []),
    ("GET", "/v1/resource-definitions/{rd}/volume-definitions", None, ["offset", "limit"]),
    ("POST", "/v1/resource-definitions/{rd}/volume-definitions", {
        "volume_definition": {"volume_number": 1, "size_kib": 1024, "props": {"Aux/a": "b"}, "flags": []},
        "drbd_minor_number": 5000, "passphrase": "x"}, []),
    ("GET", "/v1/resource-definitions/{rd}/volume-definitions/{vlmnr}", None, []),
    ("PUT", "/v1/resource-definitions/{rd}/volume-definitions/{vlmnr}", dict(MODIFY, size_kib=2048,
                                                                              flags=["GROSS_SIZE"]), []),
    ("DELETE", "/v1/resource-definitions/{rd}/volume-definitions/{vlmnr}", None, []),
    ("GET", "/v1/key-value-store", None, []),
    ("GET", "/v1/key-value-store/{kvs}", None, []),
    ("PUT", "/v1/key-value-store/{kvs}", MODIFY, []),
    ("DELETE", "/v1/key-value-store/{kvs}", None, []),
    ("GET", "/v1/stats/nodes", None, []),
    ("GET", "/v1/stats/resource-definitions", None, []),
    ("GET", "/v1/stats/resource-groups", None, []),
    ("GET", "/v1/stats/storage-pools", None, []),
]

EXISTING = {"node": NODE, "netif": NETIF, "pool": POOL, "spd": SPD, "rg": RG, "rd": RD, "kvs": KVS,
            "vlmnr": "0", "key": "Aux/fz/key"}

MALFORMED = [
    b"", b"{", b"}", b"[", b"{\"a\":", b"{\"a\" 1}", b"{'a': 1}", b"{\"a\": 1,}", b"[1, 2,]", b"nul",
    b"tru", b"\"unterminated", b"{\"a\": 01}", b"{\"a\": 1e999999}", b"{\"a\": NaN}", b"{\"a\": -}",
    b"{\"a\": \"\\uD800\"}", b"{\"a\": \"\\x41\"}", b"\x00", b"{\"a\": 1}{\"b\": 2}", b"  \n\t ",
    b"null", b"true", b"0", b"-1", b"\"string\"", b"[]", b"{}", b"[{}]", b"[null]",
    b"\xef\xbb\xbf{}",  # UTF-8 byte-order mark
]
NON_UTF8 = [
    b"\xff\xfe\xfd", b"{\"name\": \"\xff\xfe\"}", b"{\"override_props\": {\"Aux/\xc3\x28\": \"x\"}}",
    b"{\"name\": \"\xed\xa0\x80\"}", b"\xc0\xaf", b"{\"name\": \"caf\xe9\"}",
]
WRONG_VALUES = [None, True, False, 0, -1, 1.5, -1e308, 2 ** 63, -(2 ** 63) - 1, 2 ** 80, "", "x" * 300,
                "\u0000", "\ud7ff\ue000", [], [None], [1, "a"], {}, {"": ""}, {"a": [1]}]
QUERY_KEYS_EXTRA = ["offset", "limit", "props", "nodes", "cached", "with_volume_definitions", "", "%", "a b",
                    "offset[]", "LIMIT"]
QUERY_BAD_VALUES = ["-1", "abc", "99999999999999999999", "1e3", "", "0x10", "1.5", " 1", "+1", "%", "%zz",
                    "%FF%FE", "=", "==", "true", "null", "9" * 400]


class Fuzzer(object):
    def __init__(self, ctrl):
        self.ctrl = ctrl
        self.rnd = random.Random(SEED)
        self.failures = []
        self.notes = []
        self.count = 0
        self.started = time.monotonic()
        self.statuses = collections.Counter()

    # -- sending --------------------------------------------------------------------------------

    def send(self, method, path, data=None, content_type="application/json", what=""):
        """Send one request with exact bytes; check what came back."""
        self.count += 1
        host, port = split_url(self.ctrl.url)
        conn = httpclient.HTTPConnection(host, port, timeout=60)
        status, headers, body = None, {}, b""
        sent_all = True
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            if content_type is not None and data is not None:
                conn.putheader("Content-Type", content_type)
            conn.putheader("Content-Length", str(len(data) if data is not None else 0))
            conn.endheaders()
            if data:
                try:
                    view = memoryview(data)
                    for off in range(0, len(data), 1 << 20):
                        conn.send(view[off:off + (1 << 20)])
                except (BrokenPipeError, ConnectionResetError):
                    sent_all = False
            try:
                resp = conn.getresponse()
                status = resp.status
                headers = dict((k.lower(), v) for k, v in resp.getheaders())
                body = resp.read()
            except (OSError, httpclient.HTTPException) as err:
                if sent_all:
                    self.fail(method, path, what, "no response: {!r}".format(err))
                else:
                    self.notes.append("{} {} ({}): connection closed while the body was sent".format(
                        method, path[:80], what))
                self.check_alive(method, path, what)
                return
        finally:
            conn.close()
        self.statuses[status] += 1
        self.check_response(method, path, what, status, headers, body)

    def check_alive(self, method, path, what):
        if not self.ctrl.alive():
            raise AssertionError("controller died after {} {} ({}):\n{}".format(
                method, path[:200], what, self.ctrl.log_tail()))

    def fail(self, method, path, what, problem):
        self.failures.append("{} {} [{}]: {}".format(method, path[:160], what, problem))

    def check_response(self, method, path, what, status, headers, body):
        if status >= 400:
            ctype = headers.get("content-type", "")
            if not ctype.startswith("application/json"):
                self.fail(method, path, what, "status {} with Content-Type {!r}: {!r}".format(status, ctype, body[:200]))
                return
            try:
                parsed = json.loads(body.decode("utf-8"))
                assert_apicallrc_list(parsed)
            except (ValueError, UnicodeDecodeError, AssertionError) as err:
                self.fail(method, path, what, "status {} body is not an ApiCallRc list ({}): {!r}".format(
                    status, str(err)[:200], body[:200]))
        elif path.split("?")[0] != "/health":
            try:
                json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.fail(method, path, what, "status {} body is not JSON: {!r}".format(status, body[:200]))

    # -- generators -----------------------------------------------------------------------------

    def random_bytes(self, n):
        return bytes(self.rnd.randrange(256) for _ in range(n))

    def random_segment(self):
        choice = self.rnd.randrange(9)
        if choice == 0:
            return urllib.parse.quote_from_bytes(self.random_bytes(self.rnd.randrange(1, 24)), safe="")
        if choice == 1:
            return "x" * self.rnd.choice([49, 256, 5000])
        if choice == 2:
            return self.rnd.choice(["-1", "65535", "99999999999999999999", "0x10", "1.5", "%20", "..", "%2E%2E"])
        if choice == 3:
            return urllib.parse.quote("名前-ünï", safe="")
        if choice == 4:
            return "%2F".join(["a", "b"])
        if choice == 5:
            return "%FF%FE"
        if choice == 6:
            return "%00"
        if choice == 7:
            return "bad%20name"
        return "fz" + "".join(self.rnd.choice("abcXYZ019_-") for _ in range(self.rnd.randrange(1, 12)))

    def fill(self, template, random_params=False):
        def repl(match):
            key = match.group(1)
            if random_params and self.rnd.random() < 0.7:
                return self.random_segment()
            if key == "key":
                return EXISTING[key]
            return urllib.parse.quote(EXISTING[key], safe="")
        return re.sub(r"\{(\w+)\}", repl, template)

    def random_query(self, known):
        parts = []
        keys = known + QUERY_KEYS_EXTRA
        for _ in range(self.rnd.randrange(1, 8)):
            kind = self.rnd.randrange(6)
            key = self.rnd.choice(keys)
            if kind == 0:
                value = urllib.parse.quote_from_bytes(self.random_bytes(self.rnd.randrange(0, 16)), safe="")
            elif kind == 1:
                value = self.rnd.choice(QUERY_BAD_VALUES).replace(" ", "%20")
            elif kind == 2:
                value = urllib.parse.quote(self.rnd.choice(["Aux/a=b", "Aux/a", "=", "a=b=c", "", "ünï"]), safe="")
            elif kind == 3:
                parts.append(urllib.parse.quote_from_bytes(self.random_bytes(self.rnd.randrange(1, 10)), safe=""))
                continue
            elif kind == 4:
                parts.append(urllib.parse.quote(key, safe="%"))  # no '='
                continue
            else:
                value = str(self.rnd.randrange(-5, 5))
            parts.append("{}={}".format(urllib.parse.quote(key, safe="%"), value))
        if self.rnd.random() < 0.3:
            parts.append(parts[0] if parts else "offset=1")  # repeated key
        sep = self.rnd.choice(["&", "&", "&&", ";"])
        return sep.join(parts)

    def random_json(self, depth):
        kind = self.rnd.randrange(8 if depth > 0 else 5)
        if kind == 0:
            return None
        if kind == 1:
            return self.rnd.choice([True, False])
        if kind == 2:
            return self.rnd.choice([0, -1, 7, 2 ** 31, 2 ** 63 - 1, -(2 ** 63), 2 ** 64, 0.5, -1e300])
        if kind == 3:
            return "".join(chr(self.rnd.choice([self.rnd.randrange(32, 127), self.rnd.randrange(0x80, 0xd7ff)]))
                           for _ in range(self.rnd.randrange(0, 12)))
        if kind == 4:
            return self.rnd.choice(["name", "Aux/a", "DfltRscGrp", NODE, RD, RG, "satellite", "FILE_THIN", ""])
        if kind == 5:
            return [self.random_json(depth - 1) for _ in range(self.rnd.randrange(0, 4))]
        keys = ["name", "type", "props", "override_props", "delete_props", "select_filter", "volume_sizes",
                "size_kib", "volume_number", "resource_definition", "volume_definition", "net_interfaces",
                "storage_pool_name", "provider_kind", "place_count", "flags", "definitions_only", "x"]
        return dict((self.rnd.choice(keys), self.random_json(depth - 1)) for _ in range(self.rnd.randrange(0, 5)))

    @staticmethod
    def leaf_paths(value, path=()):
        yield path
        if isinstance(value, dict):
            for k, v in value.items():
                for p in Fuzzer.leaf_paths(v, path + (k,)):
                    yield p
        elif isinstance(value, list):
            for i, v in enumerate(value):
                for p in Fuzzer.leaf_paths(v, path + (i,)):
                    yield p

    @staticmethod
    def replaced(template, path, new):
        if not path:
            return new
        doc = json.loads(json.dumps(template))
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = new
        return doc

    def wrong_type_bodies(self, template):
        for path in self.leaf_paths(template):
            current = template
            for step in path:
                current = current[step]
            candidates = [v for v in WRONG_VALUES if type(v) is not type(current)]
            for new in self.rnd.sample(candidates, WRONG_TYPES_PER_FIELD):
                yield path, json.dumps(self.replaced(template, path, new)).encode("utf-8")

    # -- the campaign ---------------------------------------------------------------------------

    def over_budget(self):
        return time.monotonic() - self.started > TIME_BUDGET_S

    def run_route(self, method, template, valid_body, query_keys):
        path = self.fill(template)
        # random query strings on the route with valid path params, and with random path params
        for _ in range(QUERIES_PER_ROUTE):
            self.send(method, path + "?" + self.random_query(query_keys),
                      data=json.dumps(valid_body).encode() if valid_body is not None else None, what="query")
        if "{" in template:
            for _ in range(PATHS_PER_ROUTE):
                self.send(method, self.fill(template, random_params=True),
                          data=json.dumps(valid_body).encode() if valid_body is not None else None,
                          what="path params")
        # a method the route does not take
        self.send("PATCH", path, b"{}", what="wrong method")
        if valid_body is None:
            return
        for _ in range(RANDOM_DOCS_PER_ROUTE):
            self.send(method, path, json.dumps(self.random_json(4)).encode(), what="random document")
        for raw in MALFORMED:
            self.send(method, path, raw, what="malformed {!r}".format(raw[:20]))
        for raw in NON_UTF8:
            self.send(method, path, raw, what="non-utf8 {!r}".format(raw[:20]))
        self.send(method, path, b"[" * DEEP, what="deep [")
        self.send(method, path, b"{\"a\":" * DEEP + b"1" + b"}" * DEEP, what="deep {")
        self.send(method, path, b"[" * DEEP + b"]" * DEEP, what="deep [] balanced")
        self.send(method, path, b"{\"props\": " + b"[" * 5000 + b"]" * 5000 + b"}", what="deep inside a field")
        for wpath, raw in self.wrong_type_bodies(valid_body):
            self.send(method, path, raw, what="wrong type at {}".format("/".join(map(str, wpath)) or "root"))
        for ctype in (None, "text/plain", "application/json; charset=utf-8", "application/x-www-form-urlencoded"):
            self.send(method, path, json.dumps(valid_body).encode(), content_type=ctype,
                      what="content-type {!r}".format(ctype))
        self.send(method, path, b"{\"name\": \"" + b"a" * OVERSIZE + b"\"}", what="20 MiB body")
        self.send(method, path + "?" + "&".join("props=Aux/k{}={}".format(i, "v" * 50) for i in range(100)),
                  json.dumps(valid_body).encode(), what="very long query")


def seed_objects(url):
    steps = [
        ("POST", "/v1/nodes", {"name": NODE, "type": "Satellite",
                               "net_interfaces": [{"name": "default", "address": "127.9.0.1"}]}),
        ("POST", "/v1/nodes/{}/net-interfaces".format(NODE), {"name": NETIF, "address": "127.9.0.3"}),
        ("POST", "/v1/nodes/{}/storage-pools".format(NODE), {"storage_pool_name": POOL, "provider_kind": "FILE_THIN",
                                                            "props": {"StorDriver/StorPoolName": "/srv/fz"}}),
        ("POST", "/v1/storage-pool-definitions", {"storage_pool_name": SPD}),
        ("POST", "/v1/resource-groups", {"name": RG, "select_filter": {"place_count": 1}}),
        ("POST", "/v1/resource-groups/{}/volume-groups".format(RG), {"volume_number": 0}),
        ("POST", "/v1/resource-definitions", {"resource_definition": {"name": RD, "resource_group_name": RG}}),
        ("POST", "/v1/resource-definitions/{}/volume-definitions".format(RD), {"volume_definition": {"size_kib": 1024}}),
        ("PUT", "/v1/key-value-store/{}".format(KVS), {"override_props": {"a": "b"}}),
        ("POST", "/v1/controller/properties", {"override_props": {"Aux/fz/key": "v"}}),
    ]
    for method, path, body in steps:
        resp = http(url, method, path, body)
        assert resp.status in (200, 201), (method, path, resp)


@pytest.fixture(scope="module")
def fuzz_controller():
    ctrl = ControllerProcess("fuzz")
    try:
        ctrl.start()
        seed_objects(ctrl.url)
        yield ctrl
    finally:
        ctrl.cleanup()


def test_fuzz_every_route(fuzz_controller):
    ctrl = fuzz_controller
    fuzzer = Fuzzer(ctrl)
    skipped = []
    # deletes last, so the objects the other routes point at exist while they are fuzzed
    ordered = sorted(ROUTES, key=lambda r: r[0] == "DELETE")
    for method, template, body, query_keys in ordered:
        if fuzzer.over_budget():
            skipped.append("{} {}".format(method, template))
            continue
        fuzzer.run_route(method, template, body, query_keys)
        fuzzer.check_alive(method, template, "after route")

    resp = http(ctrl.url, "GET", "/health")
    assert resp.status == 200, resp
    assert ctrl.alive()
    log = ctrl.log_tail(limit=10 ** 7)
    panics = [line for line in log.splitlines() if "panicked" in line]

    summary = "{} requests in {:.1f} s; statuses {}; {} failures; notes: {}".format(
        fuzzer.count, time.monotonic() - fuzzer.started, dict(sorted(fuzzer.statuses.items())),
        len(fuzzer.failures), fuzzer.notes[:5])
    print(summary)
    # the campaign reached the controller's error paths, not just one of them
    assert {400, 404, 500} <= set(fuzzer.statuses), summary
    assert not skipped, "time budget exhausted, routes not fuzzed: {}".format(skipped)
    assert not panics, "the controller panicked:\n" + "\n".join(panics[:10])
    assert not fuzzer.failures, summary + "\n" + "\n".join(fuzzer.failures[:40])
