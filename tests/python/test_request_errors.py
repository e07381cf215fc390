"""Bodies that do not parse: 400 with one API_CALL_PARSE_ERROR entry, and nothing created."""

import json

import pytest
from linstor import sharedconsts as C

from strandtest import assert_apicallrc_list, get_json, http, q, rc, uniq

PARSE_ERROR = rc(C.API_CALL_PARSE_ERROR)


def assert_parse_error(resp, what=""):
    assert resp.status == 400, "{}: {!r}".format(what, resp)
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    assert_apicallrc_list(resp.json, what)
    assert [e["ret_code"] for e in resp.json] == [PARSE_ERROR], "{}: {!r}".format(what, resp.json)


def test_parse_error_code_value():
    # 0x0FFFFFFFFFFFFFFD | MASK_ERROR as a signed 64-bit number
    assert PARSE_ERROR == -3458764513820540931


def test_unknown_field_in_node_create(url):
    name = uniq("unk")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name, "type": "Satellite", "flavour": "vanilla",
        "net_interfaces": [{"name": "default", "address": "127.5.0.1"}]})
    assert_parse_error(resp, "unknown top-level field")
    assert get_json(url, "/v1/nodes?nodes=" + q(name)) == []


def test_unknown_nested_field(url):
    name = uniq("unk")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name, "type": "Satellite",
        "net_interfaces": [{"name": "default", "address": "127.5.0.2", "speed": "fast"}]})
    assert_parse_error(resp, "unknown field inside a net interface")
    assert get_json(url, "/v1/nodes?nodes=" + q(name)) == []

    rd = uniq("unk")
    resp = http(url, "POST", "/v1/resource-definitions", {"resource_definition": {"name": rd, "colour": "red"}})
    assert_parse_error(resp, "unknown field inside resource_definition")
    assert get_json(url, "/v1/resource-definitions?resource_definitions=" + q(rd)) == []


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/v1/resource-definitions", {"resource_definition": {"name": "x1"}, "bogus": 1}),
    ("POST", "/v1/resource-groups", {"name": "x2", "select_filter": {"place_count": 1, "bogus": 1}}),
    ("POST", "/v1/storage-pool-definitions", {"storage_pool_name": "xyz", "bogus": True}),
    ("POST", "/v1/controller/properties", {"override_props": {}, "bogus": []}),
    ("PUT", "/v1/key-value-store/kvsx", {"override_props": {"a": "b"}, "bogus": {}}),
    ("POST", "/v1/resource-groups/DfltRscGrp/spawn", {"resource_definition_name": "x3", "volume_sizes": [1],
                                                      "definitions_only": True, "bogus": 0}),
])
def test_unknown_fields_everywhere(url, method, path, body):
    assert_parse_error(http(url, method, path, body), path)


@pytest.mark.parametrize("raw", [
    b"{", b"{\"name\": ", b"[1, 2", b"nul", b"{\"name\": \"x\",}", b"\x00\x01",
    b"{\"name\": \"\xff\xfe\"}",
])
def test_malformed_json(url, raw):
    assert_parse_error(http(url, "POST", "/v1/resource-definitions", raw=raw), repr(raw))


# Only mismatches that LINSTOR's Jackson rejects too (it coerces numbers to strings and floats
# to integers, so those are left out).
@pytest.mark.parametrize("body", [
    {"resource_definition": {"name": {"first": "x"}}},
    {"resource_definition": "rd"},
    {"resource_definition": {"name": "x4", "props": ["a"]}},
    {"resource_definition": {"name": "x6"}, "drbd_port": "port"},
    {"resource_definition": {"name": "x7", "flags": "DELETE"}},
    [],
    "string",
])
def test_wrong_types(url, body):
    assert_parse_error(http(url, "POST", "/v1/resource-definitions", body), repr(body))


def test_array_is_not_an_object(url):
    """An array where the schema has an object does not parse (Jackson rejects it); it must not be
    read as the object's fields in declaration order."""
    rd = uniq("arr")
    resp = http(url, "POST", "/v1/resource-definitions", raw=json.dumps(
        [None, None, None, None, {"name": rd}]).encode())
    assert_parse_error(resp, "RD create as a positional array")
    assert get_json(url, "/v1/resource-definitions?resource_definitions=" + q(rd)) == []
    node = uniq("arr")
    resp = http(url, "POST", "/v1/nodes", raw=json.dumps(
        [node, "Satellite", [], {}, [{"name": "default", "address": "127.5.0.9"}]]).encode())
    assert_parse_error(resp, "node create as a positional array")
    assert get_json(url, "/v1/nodes?nodes=" + q(node)) == []


def test_wrong_types_in_volume_definition(api, url):
    rd = uniq("types")
    api.resource_dfn_create(rd)
    path = "/v1/resource-definitions/{}/volume-definitions".format(q(rd))
    for body in ({"volume_definition": {"size_kib": "big"}},
                 {"volume_definition": {"size_kib": 1 << 70}},
                 {"volume_definition": {"size_kib": 1024, "volume_number": "zero"}}):
        assert_parse_error(http(url, "POST", path, body), repr(body))
    assert get_json(url, path) == []


def test_missing_body(url):
    resp = http(url, "POST", "/v1/resource-definitions")
    assert resp.status == 400, resp
    assert_apicallrc_list(resp.json)
