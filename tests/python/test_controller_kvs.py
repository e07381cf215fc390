"""Controller-level endpoints: version, health, controller properties, key-value store, stats."""

from linstor import sharedconsts as C

from strandtest import (
    assert_apicallrc_list, assert_has_code_bits, assert_no_error, assert_success, code_of,
    find_empty, get_json, http, q, rc, uniq,
)


def test_health(url):
    resp = http(url, "GET", "/health")
    assert resp.status == 200, resp


def test_controller_version(api, url):
    resp = http(url, "GET", "/v1/controller/version")
    assert resp.status == 200, resp
    body = resp.json
    assert isinstance(body, dict), resp
    assert body["rest_api_version"] == "1.28.0"
    assert isinstance(body.get("version"), str) and body["version"], body
    # python-linstor read the same document on connect()
    version = api.controller_version()
    assert version.rest_api_version == "1.28.0"


def test_controller_props_set_get_delete(api, url):
    key_a = "Aux/" + uniq("ctrlprop")
    key_b = "Aux/" + uniq("ctrlprop")

    replies = api.controller_set_prop(key_a, "value-a")
    # "Successfully set property key(s)": object mask | MASK_CRT | CREATED
    assert_success(replies, rc(C.MASK_CTRL_CONF, C.MASK_CRT, C.CREATED), "set " + key_a)
    resp = http(url, "POST", "/v1/controller/properties", {"override_props": {key_b: "value-b"}})
    assert resp.status == 201, resp
    assert_no_error(resp.json, "set " + key_b)

    props = get_json(url, "/v1/controller/properties")
    assert isinstance(props, dict), props
    assert props.get(key_a) == "value-a"
    assert props.get(key_b) == "value-b"
    assert all(isinstance(v, str) for v in props.values()), props
    # python-linstor reads the same flat map
    ctrl_props = api.controller_props()[0]
    assert ctrl_props.properties.get(key_a) == "value-a"

    # delete the way python-linstor does it (POST delete_props) ...
    replies = api.controller_del_prop(key_a)
    assert_no_error(replies, "delete " + key_a)
    # ... and with DELETE /v1/controller/properties/{key} (the key contains '/')
    resp = http(url, "DELETE", "/v1/controller/properties/" + key_b)
    assert resp.status == 200, resp
    assert_no_error(resp.json, "DELETE " + key_b)

    props = get_json(url, "/v1/controller/properties")
    assert key_a not in props and key_b not in props, props


def test_controller_prop_unknown_key(api, url):
    replies = api.controller_set_prop("NoSuchNamespace/" + uniq("key"), "1")
    errors = [r for r in replies if r.is_error()]
    assert errors, replies
    assert code_of(errors[0].ret_code) == rc(C.FAIL_INVLD_PROP)
    assert errors[0].ret_code & C.MASK_BITS_OBJ == C.MASK_CTRL_CONF

    resp = http(url, "POST", "/v1/controller/properties",
                {"override_props": {"NoSuchNamespace/key": "1"}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_PROP)
    assert "NoSuchNamespace/key" not in get_json(url, "/v1/controller/properties")


def test_controller_prop_bad_value(api, url):
    # MinorNrAutoRange must match [0-9]+-[0-9]+
    resp = http(url, "POST", "/v1/controller/properties",
                {"override_props": {"MinorNrAutoRange": "lots"}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_PROP)
    assert get_json(url, "/v1/controller/properties").get("MinorNrAutoRange") != "lots"

    # PeerSlotsNewResource is a range 1..31
    replies = api.controller_set_prop("PeerSlotsNewResource", "99")
    assert any(r.is_error() and code_of(r.ret_code) == rc(C.FAIL_INVLD_PROP) for r in replies), replies


def test_key_value_store_crud(api, url):
    inst = uniq("kvs")
    replies = api.keyvaluestore_modify(inst, property_dict={"a": "1", "deep/key": "2", "other": "3"})
    assert_no_error(replies, "kvs create")

    kvs = api.keyvaluestores()
    assert inst in kvs.instances()
    assert kvs.instance(inst).properties == {"a": "1", "deep/key": "2", "other": "3"}

    listed = get_json(url, "/v1/key-value-store")
    mine = [x for x in listed if x.get("name") == inst]
    assert len(mine) == 1, listed
    assert mine[0]["props"] == {"a": "1", "deep/key": "2", "other": "3"}

    single = get_json(url, "/v1/key-value-store/" + q(inst))
    # the spec types this as [KeyValueStore]
    assert isinstance(single, list) and len(single) == 1, single
    assert single[0]["name"] == inst and single[0]["props"]["a"] == "1"

    replies = api.keyvaluestore_modify(inst, property_dict={"a": "10"}, delete_props=["other"])
    assert_no_error(replies, "kvs modify")
    assert api.keyvaluestores().instance(inst).properties == {"a": "10", "deep/key": "2"}

    resp = http(url, "PUT", "/v1/key-value-store/" + q(inst), {"delete_namespaces": ["deep"]})
    assert resp.status == 200, resp
    assert_no_error(resp.json)
    assert api.keyvaluestores().instance(inst).properties == {"a": "10"}

    resp = http(url, "DELETE", "/v1/key-value-store/" + q(inst))
    assert resp.status == 200, resp
    assert_no_error(resp.json, "kvs delete")
    assert inst not in api.keyvaluestores().instances()
    for entry in get_json(url, "/v1/key-value-store"):
        assert entry.get("name") != inst


def test_key_value_store_invalid_name(url):
    resp = http(url, "PUT", "/v1/key-value-store/" + q("bad name!"), {"override_props": {"a": "1"}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_KVS_NAME)


def test_stats_counts(api, url):
    node = uniq("stats")
    assert_no_error(api.node_create(node, "Satellite", "127.11.0.1"))
    rd = uniq("stats")
    assert_no_error(api.resource_dfn_create(rd))
    pairs = [
        ("/v1/stats/nodes", "/v1/nodes"),
        ("/v1/stats/resource-definitions", "/v1/resource-definitions"),
        ("/v1/stats/resource-groups", "/v1/resource-groups"),
        ("/v1/stats/storage-pools", "/v1/view/storage-pools"),
    ]
    for stats_path, list_path in pairs:
        stats = get_json(url, stats_path)
        listed = get_json(url, list_path)
        assert isinstance(stats, dict) and isinstance(stats.get("count"), int), (stats_path, stats)
        assert stats["count"] == len(listed), (stats_path, stats, len(listed))


def test_no_empty_values_in_lists(api, url):
    """Jackson NON_EMPTY: no nulls, empty lists or empty maps anywhere in a response."""
    node = uniq("noempty")
    assert_no_error(api.node_create(node, "Satellite", "127.11.0.2"))
    rd = uniq("noempty")
    assert_no_error(api.resource_dfn_create(rd))
    assert_no_error(api.volume_dfn_create(rd, 4096))
    assert_no_error(api.keyvaluestore_modify(uniq("noempty"), property_dict={"k": "v"}))
    for path in ["/v1/nodes", "/v1/nodes/" + q(node), "/v1/nodes/{}/net-interfaces".format(q(node)),
                 "/v1/resource-definitions", "/v1/resource-definitions?with_volume_definitions=true",
                 "/v1/resource-definitions/" + q(rd),
                 "/v1/resource-definitions/{}/volume-definitions".format(q(rd)),
                 "/v1/resource-groups", "/v1/resource-groups/DfltRscGrp",
                 "/v1/storage-pool-definitions", "/v1/view/storage-pools",
                 "/v1/nodes/{}/storage-pools".format(q(node)), "/v1/key-value-store",
                 "/v1/controller/properties", "/v1/controller/version"]:
        body = get_json(url, path)
        assert find_empty(body) == [], "{} has empty values at {}".format(path, find_empty(body))
