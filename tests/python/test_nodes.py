"""Nodes and net interfaces, through python-linstor and raw HTTP."""

import pytest
from linstor import sharedconsts as C

from strandtest import (
    assert_apicallrc_list, assert_has_code, assert_has_code_bits, assert_no_error,
    assert_success, get_json, http, is_error, q, rc, uniq,
)

NODE_CREATED = 20709377  # MASK_NODE | MASK_CRT | CREATED, as LINSTOR documents it


def test_node_created_code_matches_masks():
    assert rc(C.MASK_NODE, C.MASK_CRT, C.CREATED) == NODE_CREATED
    assert rc(C.FAIL_EXISTS_NODE, C.MASK_NODE, C.MASK_CRT) == -4611686018406678028


def node_json(url, name):
    return get_json(url, "/v1/nodes/" + q(name))


def test_node_create_and_list(api, url):
    name = uniq("node")
    replies = api.node_create(name, "Satellite", "127.1.0.1", property_dict={"Aux/site": "a"})
    assert_success(replies, NODE_CREATED, "node create")

    nodes = api.node_list_raise()
    mine = nodes.node(name)
    assert mine is not None, [n.name for n in nodes.nodes]
    assert mine.type == "SATELLITE"
    assert mine.props.get("Aux/site") == "a"
    assert [(n.name, n.address, n.stlt_port, n.stlt_encryption_type) for n in mine.net_interfaces] \
        == [("default", "127.1.0.1", 3366, "PLAIN")]

    raw = node_json(url, name)
    assert raw["name"] == name
    assert raw["type"] == "SATELLITE"
    assert raw["connection_status"] == "OFFLINE"
    assert isinstance(raw.get("uuid"), str) and raw["uuid"]


def test_node_create_http_status_201(url):
    name = uniq("node")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name, "type": "satellite",
        "net_interfaces": [{"name": "default", "address": "127.1.0.2", "satellite_port": 3366,
                            "satellite_encryption_type": "plain", "is_active": True}]})
    assert resp.status == 201, resp
    assert_success(resp.json, NODE_CREATED)
    netif = node_json(url, name)["net_interfaces"][0]
    assert netif["satellite_encryption_type"] == "PLAIN"
    assert netif["satellite_port"] == 3366


@pytest.mark.parametrize("sent,shown", [
    ("satellite", "SATELLITE"), ("SATELLITE", "SATELLITE"), ("sAtElLiTe", "SATELLITE"),
    ("Combined", "COMBINED"), ("combined", "COMBINED"), ("controller", "CONTROLLER"),
    ("Auxiliary", "AUXILIARY"),
])
def test_node_type_any_case_emitted_upper(url, sent, shown):
    name = uniq("ntype")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name, "type": sent,
        "net_interfaces": [{"name": "default", "address": "127.1.0.3", "satellite_port": 3366,
                            "satellite_encryption_type": "PLAIN"}]})
    assert resp.status == 201, resp
    assert_success(resp.json, NODE_CREATED)
    assert node_json(url, name)["type"] == shown
    listed = [n for n in get_json(url, "/v1/nodes") if n["name"] == name]
    assert [n["type"] for n in listed] == [shown]


def test_node_netif_without_port_gets_3366_plain(url):
    name = uniq("noport")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name, "type": "Satellite",
        "net_interfaces": [{"name": "default", "address": "127.1.0.4"}]})
    assert resp.status == 201, resp
    assert_success(resp.json, NODE_CREATED)
    netifs = node_json(url, name)["net_interfaces"]
    assert len(netifs) == 1, netifs
    assert netifs[0]["name"] == "default"
    assert netifs[0]["address"] == "127.1.0.4"
    assert netifs[0]["satellite_port"] == 3366
    assert netifs[0]["satellite_encryption_type"] == "PLAIN"


def test_every_node_has_diskless_pool_and_is_offline(api, url):
    names = [uniq("dl") for _ in range(3)]
    for name, kind in zip(names, ["Satellite", "Combined", "Satellite"]):
        assert_success(api.node_create(name, kind, "127.1.0.5"), NODE_CREATED)
    for name in names:
        pools = get_json(url, "/v1/nodes/{}/storage-pools".format(q(name)))
        diskless = [p for p in pools if p["storage_pool_name"] == "DfltDisklessStorPool"]
        assert len(diskless) == 1, pools
        assert diskless[0]["provider_kind"] == "DISKLESS"
        assert diskless[0]["node_name"] == name
        single = get_json(url, "/v1/nodes/{}/storage-pools/DfltDisklessStorPool".format(q(name)))
        assert single["provider_kind"] == "DISKLESS"
        assert node_json(url, name)["connection_status"] == "OFFLINE"
    view = api.storage_pool_list_raise(filter_by_nodes=names).storage_pools
    assert sorted((p.node_name, p.name) for p in view if p.name == "DfltDisklessStorPool") \
        == sorted((n, "DfltDisklessStorPool") for n in names)
    for node in api.node_list_raise(filter_by_nodes=names).nodes:
        assert node._rest_data["connection_status"] == "OFFLINE"


def test_node_without_props_has_no_props_key(api, url):
    name = uniq("bare")
    assert_success(api.node_create(name, "Satellite", "127.1.0.6"), NODE_CREATED)
    raw = node_json(url, name)
    assert "props" not in raw, raw
    for key, value in raw.items():
        assert value is not None and value != [] and value != {}, (key, raw)
    listed = [n for n in get_json(url, "/v1/nodes?nodes=" + q(name))]
    assert len(listed) == 1 and "props" not in listed[0], listed


def test_node_list_filters_and_paging(api, url):
    tag = uniq("tag")
    names = [uniq("flt") for _ in range(3)]
    for i, name in enumerate(names):
        props = {"Aux/" + tag: "yes" if i < 2 else "no"}
        if i == 0:
            props["Aux/" + tag + "-only0"] = "x"
        assert_success(api.node_create(name, "Satellite", "10.1.1.{}".format(i + 1),
                                       property_dict=props), NODE_CREATED)

    by_name = api.node_list_raise(filter_by_nodes=[names[0], names[2]]).nodes
    assert sorted(n.name for n in by_name) == sorted([names[0], names[2]])
    # names are case-insensitive in filters
    upper = get_json(url, "/v1/nodes?nodes=" + q(names[1].upper()))
    assert [n["name"] for n in upper] == [names[1]]

    def by_props(*filters):
        return sorted(n.name for n in api.node_list_raise(filter_by_props=list(filters)).nodes)

    assert by_props("Aux/{}=yes".format(tag)) == sorted(names[:2])
    assert by_props("Aux/{}".format(tag)) == sorted(names)
    assert by_props("Aux/{}=yes".format(tag), "Aux/{}-only0".format(tag)) == [names[0]]
    assert by_props("Aux/{}=no".format(tag), "Aux/{}-only0".format(tag)) == []

    base = "/v1/nodes?props=" + q("Aux/" + tag)
    assert len(get_json(url, base + "&limit=0")) == 3
    assert len(get_json(url, base + "&offset=0&limit=2")) == 2
    assert len(get_json(url, base + "&offset=2&limit=2")) == 1
    assert len(get_json(url, base + "&offset=1&limit=1")) == 1


def test_node_get_case_insensitive_keeps_display_case(api, url):
    name = uniq("MixedCase")
    assert_success(api.node_create(name, "Satellite", "127.1.0.7"), NODE_CREATED)
    assert node_json(url, name.upper())["name"] == name
    assert node_json(url, name.lower())["name"] == name


def test_node_get_missing_404(url):
    resp = http(url, "GET", "/v1/nodes/" + uniq("missing"))
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_NODE)


def test_node_modify_props(api, url):
    name = uniq("mod")
    assert_success(api.node_create(name, "Satellite", "127.1.0.8",
                                   property_dict={"Aux/a": "1", "Aux/b": "2"}), NODE_CREATED)
    replies = api.node_modify(name, property_dict={"Aux/a": "10", "Aux/c": "3", "PrefNic": "default"},
                              delete_props=["Aux/b"])
    assert_success(replies, rc(C.MASK_NODE, C.MASK_MOD, C.MODIFIED), "node modify")
    props = node_json(url, name)["props"]
    assert props.get("Aux/a") == "10" and props.get("Aux/c") == "3" and "Aux/b" not in props
    assert props.get("PrefNic") == "default"

    resp = http(url, "PUT", "/v1/nodes/" + q(name), {"delete_namespaces": ["Aux"]})
    assert resp.status == 200, resp
    assert_success(resp.json, rc(C.MASK_NODE, C.MASK_MOD, C.MODIFIED))
    props = node_json(url, name).get("props", {})
    assert not any(k.startswith("Aux/") for k in props), props


def test_node_modify_unknown_prop_key(api, url):
    name = uniq("badkey")
    assert_success(api.node_create(name, "Satellite", "127.1.0.9"), NODE_CREATED)
    resp = http(url, "PUT", "/v1/nodes/" + q(name), {"override_props": {"NoSuch/Key": "1"}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_PROP, C.MASK_NODE, C.MASK_MOD))
    assert "NoSuch/Key" not in node_json(url, name).get("props", {})


def test_node_modify_bad_value_for_known_key(api, url):
    name = uniq("badval")
    assert_success(api.node_create(name, "Satellite", "127.1.0.10"), NODE_CREATED)
    # PrefNic must match ^[a-zA-Z0-9_][a-zA-Z0-9_-]{2,47}$
    replies = api.node_modify(name, property_dict={"PrefNic": "x"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_NODE, C.MASK_MOD), "PrefNic=x")
    assert "PrefNic" not in node_json(url, name).get("props", {})


def test_node_delete(api, url):
    name = uniq("del")
    assert_success(api.node_create(name, "Satellite", "127.1.0.11"), NODE_CREATED)
    replies = api.node_delete(name)
    assert_success(replies, rc(C.MASK_NODE, C.MASK_DEL, C.DELETED), "node delete")
    assert http(url, "GET", "/v1/nodes/" + q(name)).status == 404
    assert api.node_list_raise().node(name) is None
    # its storage pools went with it
    assert [p for p in get_json(url, "/v1/view/storage-pools") if p.get("node_name") == name] == []


def test_node_delete_missing_warns(url):
    resp = http(url, "DELETE", "/v1/nodes/" + uniq("gone"))
    assert resp.status == 200, resp
    assert_no_error(resp.json)
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_NODE, C.MASK_DEL))


def test_duplicate_node(api, url):
    name = uniq("dup")
    assert_success(api.node_create(name, "Satellite", "127.1.0.12"), NODE_CREATED)
    replies = api.node_create(name, "Satellite", "127.1.0.13")
    assert_has_code(replies, rc(C.FAIL_EXISTS_NODE, C.MASK_NODE, C.MASK_CRT), "duplicate node")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name.upper(), "type": "Satellite",
        "net_interfaces": [{"name": "default", "address": "127.1.0.14"}]})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, -4611686018406678028)
    # the first node is untouched
    assert node_json(url, name)["net_interfaces"][0]["address"] == "127.1.0.12"


@pytest.mark.parametrize("bad", [
    "x",                 # shorter than 2
    "bad_name",          # '_' is not allowed in a host name
    "-lead",             # cannot begin with '-'
    "trail-",            # cannot end with '-'
    ".dot",              # cannot begin with '.'
    "has space",
    "a" * 64,            # DNS label longer than 63
    "a" * 256,           # longer than 255
])
def test_invalid_node_name(url, bad):
    resp = http(url, "POST", "/v1/nodes", {
        "name": bad, "type": "Satellite",
        "net_interfaces": [{"name": "default", "address": "127.1.0.15"}]})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_NODE_NAME, C.MASK_NODE, C.MASK_CRT), repr(bad))


def test_invalid_node_type(url):
    name = uniq("badtype")
    resp = http(url, "POST", "/v1/nodes", {
        "name": name, "type": "toaster",
        "net_interfaces": [{"name": "default", "address": "127.1.0.16"}]})
    # LINSTOR parses the type with Enum.valueOf: which of 400 (parse error) and 500
    # (FAIL_INVLD_NODE_TYPE) it answers is not pinned down by the reference; either way an error
    assert resp.status in (400, 500), resp
    assert_apicallrc_list(resp.json)
    assert any(is_error(c["ret_code"]) for c in resp.json), resp
    assert http(url, "GET", "/v1/nodes?nodes=" + q(name)).json == []


# ---------------------------------------------------------------------------------------------
# net interfaces


def test_net_interfaces_crud(api, url):
    name = uniq("nif")
    assert_success(api.node_create(name, "Satellite", "127.2.0.1"), NODE_CREATED)

    replies = api.netinterface_create(name, "data0", "127.2.0.2")
    assert_success(replies, rc(C.MASK_NET_IF, C.MASK_CRT, C.CREATED), "netif create")
    resp = http(url, "POST", "/v1/nodes/{}/net-interfaces".format(q(name)),
                {"name": "data1", "address": "127.2.0.3", "satellite_port": 3367,
                 "satellite_encryption_type": "ssl"})
    assert resp.status == 201, resp
    assert_success(resp.json, rc(C.MASK_NET_IF, C.MASK_CRT, C.CREATED))

    listed = get_json(url, "/v1/nodes/{}/net-interfaces".format(q(name)))
    by_name = {n["name"]: n for n in listed}
    assert sorted(by_name) == ["data0", "data1", "default"], listed
    assert by_name["data0"]["address"] == "127.2.0.2"
    assert by_name["data1"]["satellite_port"] == 3367
    assert by_name["data1"]["satellite_encryption_type"] == "SSL"
    assert api.net_interface_list(name)  # python-linstor's own call answers

    single = get_json(url, "/v1/nodes/{}/net-interfaces/data0".format(q(name)))
    assert single["name"] == "data0" and single["address"] == "127.2.0.2"

    replies = api.netinterface_modify(name, "data0", ip="127.2.0.20")
    assert_success(replies, rc(C.MASK_NET_IF, C.MASK_MOD, C.MODIFIED), "netif modify")
    single = get_json(url, "/v1/nodes/{}/net-interfaces/DATA0".format(q(name)))
    assert single["address"] == "127.2.0.20"
    assert single["name"] == "data0"

    replies = api.netinterface_delete(name, "data0")
    assert_success(replies, rc(C.MASK_NET_IF, C.MASK_DEL, C.DELETED), "netif delete")
    names = sorted(n["name"] for n in get_json(url, "/v1/nodes/{}/net-interfaces".format(q(name))))
    assert names == ["data1", "default"]
    assert http(url, "GET", "/v1/nodes/{}/net-interfaces/data0".format(q(name))).status == 404

    resp = http(url, "DELETE", "/v1/nodes/{}/net-interfaces/data0".format(q(name)))
    assert resp.status == 200, resp
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_NET_IF, C.MASK_DEL))


def test_net_interface_duplicate(api, url):
    name = uniq("nifdup")
    assert_success(api.node_create(name, "Satellite", "127.2.1.1"), NODE_CREATED)
    replies = api.netinterface_create(name, "default", "127.2.1.2")
    assert_has_code(replies, rc(C.FAIL_EXISTS_NET_IF, C.MASK_NET_IF, C.MASK_CRT))


@pytest.mark.parametrize("bad", ["ab", "bad name", "-eth", "9" * 5, "e" * 33])
def test_invalid_net_interface_name(api, url, bad):
    name = uniq("nifbad")
    assert_success(api.node_create(name, "Satellite", "127.2.2.1"), NODE_CREATED)
    resp = http(url, "POST", "/v1/nodes/{}/net-interfaces".format(q(name)),
                {"name": bad, "address": "127.2.2.2"})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_NET_NAME, C.MASK_NET_IF, C.MASK_CRT), repr(bad))


def test_invalid_net_interface_address(api, url):
    name = uniq("nifaddr")
    assert_success(api.node_create(name, "Satellite", "127.2.3.1"), NODE_CREATED)
    resp = http(url, "POST", "/v1/nodes/{}/net-interfaces".format(q(name)),
                {"name": "data0", "address": "not an address"})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_NET_ADDR)


def test_net_interface_on_missing_node(url):
    resp = http(url, "POST", "/v1/nodes/{}/net-interfaces".format(uniq("nonode")),
                {"name": "data0", "address": "127.2.4.1"})
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_NODE)


def test_node_without_net_interface(url):
    name = uniq("nonet")
    resp = http(url, "POST", "/v1/nodes", {"name": name, "type": "Satellite"})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_MISSING_NETCOM, C.MASK_NODE, C.MASK_CRT))
    assert get_json(url, "/v1/nodes?nodes=" + q(name)) == []


def test_list_filter_names_are_validated(url):
    resp = http(url, "GET", "/v1/nodes?nodes=bad_name")
    assert resp.status >= 400, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_NODE_NAME)
    resp = http(url, "GET", "/v1/resource-definitions?resource_definitions=1bad")
    assert resp.status >= 400, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_RSC_NAME)
