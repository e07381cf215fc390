"""Storage pool definitions, storage pools per node, GET /v1/view/storage-pools."""

import pytest
from linstor import sharedconsts as C

from strandtest import (
    assert_apicallrc_list, assert_has_code, assert_has_code_bits, assert_no_error,
    assert_success, get_json, http, q, rc, uniq,
)

SP_CREATED = rc(C.MASK_STOR_POOL, C.MASK_CRT, C.CREATED)
NODE_CREATED = rc(C.MASK_NODE, C.MASK_CRT, C.CREATED)


def make_node(api, prefix="spnode", **props):
    name = uniq(prefix)
    assert_success(api.node_create(name, "Satellite", "127.3.0.1", property_dict=props or None),
                   NODE_CREATED, "node create")
    return name


def pool_json(url, node, pool):
    return get_json(url, "/v1/nodes/{}/storage-pools/{}".format(q(node), q(pool)))


# ---------------------------------------------------------------------------------------------
# storage pool definitions


def test_initial_storage_pool_definitions(fresh_controller):
    names = [d["storage_pool_name"] for d in get_json(fresh_controller.url, "/v1/storage-pool-definitions")]
    assert "DfltStorPool" in names and "DfltDisklessStorPool" in names, names


def test_storage_pool_definition_crud(api, url):
    name = uniq("spd")
    replies = api.storage_pool_dfn_create(name)
    assert_success(replies, rc(C.MASK_STOR_POOL_DFN, C.MASK_CRT, C.CREATED), "spd create")

    listed = api.storage_pool_dfn_list()[0].storage_pool_definitions
    assert name in [d.name for d in listed]
    single = get_json(url, "/v1/storage-pool-definitions/" + q(name.upper()))
    assert single["storage_pool_name"] == name
    assert "props" not in single, single

    replies = api.storage_pool_dfn_modify(name, {"Aux/x": "1", "Aux/y": "2"})
    assert_success(replies, rc(C.MASK_STOR_POOL_DFN, C.MASK_MOD, C.MODIFIED), "spd modify")
    replies = api.storage_pool_dfn_modify(name, {}, delete_props=["Aux/y"])
    assert_no_error(replies, "spd delete prop")
    assert get_json(url, "/v1/storage-pool-definitions/" + q(name))["props"] == {"Aux/x": "1"}

    replies = api.storage_pool_dfn_modify(name, {"NoSuch/Key": "1"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_STOR_POOL_DFN, C.MASK_MOD), "spd bad key")

    replies = api.storage_pool_dfn_delete(name)
    assert_success(replies, rc(C.MASK_STOR_POOL_DFN, C.MASK_DEL, C.DELETED), "spd delete")
    assert http(url, "GET", "/v1/storage-pool-definitions/" + q(name)).status == 404
    assert name not in [d.name for d in api.storage_pool_dfn_list()[0].storage_pool_definitions]

    resp = http(url, "DELETE", "/v1/storage-pool-definitions/" + q(name))
    assert resp.status == 200, resp
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_STOR_POOL_DFN, C.MASK_DEL))


def test_storage_pool_definition_duplicate_and_invalid(api, url):
    name = uniq("spd")
    assert_no_error(api.storage_pool_dfn_create(name))
    resp = http(url, "POST", "/v1/storage-pool-definitions", {"storage_pool_name": name.lower()})
    assert resp.status == 500, resp
    assert_has_code(resp.json, rc(C.FAIL_EXISTS_STOR_POOL_DFN, C.MASK_STOR_POOL_DFN, C.MASK_CRT))
    for bad in ["ab", "bad name", "-spd", "1" * 4]:
        resp = http(url, "POST", "/v1/storage-pool-definitions", {"storage_pool_name": bad})
        assert resp.status == 500, (bad, resp)
        assert_apicallrc_list(resp.json)
        assert_has_code(resp.json, rc(C.FAIL_INVLD_STOR_POOL_NAME, C.MASK_STOR_POOL_DFN, C.MASK_CRT), bad)


# ---------------------------------------------------------------------------------------------
# storage pools


def test_file_thin_pool(api, url):
    node = make_node(api)
    pool = uniq("ft")
    replies = api.storage_pool_create(node, pool, "FILE_THIN", "/var/lib/strand-test/" + pool)
    assert_success(replies, SP_CREATED, "FILE_THIN create")

    raw = pool_json(url, node, pool)
    assert raw["storage_pool_name"] == pool
    assert raw["node_name"] == node
    assert raw["provider_kind"] == "FILE_THIN"
    assert raw["props"]["StorDriver/StorPoolName"] == "/var/lib/strand-test/" + pool
    # the pool's definition was created with it
    assert get_json(url, "/v1/storage-pool-definitions/" + q(pool))["storage_pool_name"] == pool

    listed = api.storage_pool_list_raise(filter_by_nodes=[node]).storage_pools
    assert sorted(p.name for p in listed) == sorted(["DfltDisklessStorPool", pool])
    mine = [p for p in listed if p.name == pool][0]
    assert mine.provider_kind == "FILE_THIN"
    assert mine.properties["StorDriver/StorPoolName"] == "/var/lib/strand-test/" + pool


def test_legacy_file_dir_key_is_renamed(api, url):
    node = make_node(api)
    pool = uniq("fd")
    resp = http(url, "POST", "/v1/nodes/{}/storage-pools".format(q(node)), {
        "storage_pool_name": pool, "provider_kind": "FILE_THIN",
        "props": {"StorDriver/FileDir": "/srv/legacy/" + pool}})
    assert resp.status == 201, resp
    assert_success(resp.json, SP_CREATED)
    props = pool_json(url, node, pool)["props"]
    assert props.get("StorDriver/StorPoolName") == "/srv/legacy/" + pool
    assert "StorDriver/FileDir" not in props, props


@pytest.mark.parametrize("kind,props,expected", [
    ("LVM_THIN", {"StorDriver/LvmVg": "vg0", "StorDriver/ThinPool": "thin0"}, "vg0/thin0"),
    ("LVM", {"StorDriver/LvmVg": "vg1"}, "vg1"),
    ("ZFS", {"StorDriver/ZPool": "tank"}, "tank"),
    ("ZFS_THIN", {"StorDriver/ZPoolThin": "tank/thin"}, "tank/thin"),
    ("FILE", {"StorDriver/FileDir": "/srv/file"}, "/srv/file"),
])
def test_legacy_backing_keys(api, url, kind, props, expected):
    node = make_node(api)
    pool = uniq("legacy")
    resp = http(url, "POST", "/v1/nodes/{}/storage-pools".format(q(node)),
                {"storage_pool_name": pool, "provider_kind": kind, "props": props})
    assert resp.status == 201, resp
    assert_success(resp.json, SP_CREATED)
    raw = pool_json(url, node, pool)
    assert raw["provider_kind"] == kind
    assert raw["props"].get("StorDriver/StorPoolName") == expected, raw
    for legacy in ("StorDriver/LvmVg", "StorDriver/ThinPool", "StorDriver/ZPool",
                   "StorDriver/ZPoolThin", "StorDriver/FileDir"):
        assert legacy not in raw["props"], raw


def test_lvm_thin_via_python_linstor(api, url):
    node = make_node(api)
    pool = uniq("lt")
    replies = api.storage_pool_create(node, pool, "LVM_THIN", "vgdata/thinpool")
    assert_success(replies, SP_CREATED)
    assert pool_json(url, node, pool)["props"]["StorDriver/StorPoolName"] == "vgdata/thinpool"


def test_storage_pool_modify_and_delete(api, url):
    node = make_node(api)
    pool = uniq("md")
    assert_success(api.storage_pool_create(node, pool, "FILE_THIN", "/srv/" + pool), SP_CREATED)
    replies = api.storage_pool_modify(node, pool, {"Aux/tier": "fast", "MaxOversubscriptionRatio": "4"})
    assert_success(replies, rc(C.MASK_STOR_POOL, C.MASK_MOD, C.MODIFIED), "sp modify")
    props = pool_json(url, node, pool)["props"]
    assert props["Aux/tier"] == "fast" and props["MaxOversubscriptionRatio"] == "4"

    replies = api.storage_pool_modify(node, pool, {}, delete_props=["Aux/tier"])
    assert_no_error(replies)
    assert "Aux/tier" not in pool_json(url, node, pool)["props"]

    replies = api.storage_pool_modify(node, pool, {"NoSuch/Key": "x"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_STOR_POOL, C.MASK_MOD), "sp bad key")
    replies = api.storage_pool_modify(node, pool, {"MaxOversubscriptionRatio": "lots"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_STOR_POOL, C.MASK_MOD), "sp bad value")
    assert pool_json(url, node, pool)["props"]["MaxOversubscriptionRatio"] == "4"

    replies = api.storage_pool_delete(node, pool)
    assert_success(replies, rc(C.MASK_STOR_POOL, C.MASK_DEL, C.DELETED), "sp delete")
    resp = http(url, "GET", "/v1/nodes/{}/storage-pools/{}".format(q(node), q(pool)))
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_STOR_POOL)

    resp = http(url, "DELETE", "/v1/nodes/{}/storage-pools/{}".format(q(node), q(pool)))
    assert resp.status == 200, resp
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_STOR_POOL, C.MASK_DEL))


def test_storage_pool_duplicate(api, url):
    node = make_node(api)
    pool = uniq("dup")
    assert_success(api.storage_pool_create(node, pool, "FILE_THIN", "/srv/a"), SP_CREATED)
    replies = api.storage_pool_create(node, pool.upper(), "FILE_THIN", "/srv/b")
    assert_has_code(replies, rc(C.FAIL_EXISTS_STOR_POOL, C.MASK_STOR_POOL, C.MASK_CRT))
    assert pool_json(url, node, pool)["props"]["StorDriver/StorPoolName"] == "/srv/a"


def test_storage_pool_on_missing_node(api, url):
    missing = uniq("ghost")
    replies = api.storage_pool_create(missing, uniq("sp"), "FILE_THIN", "/srv/x")
    assert_has_code(replies, rc(C.MASK_STOR_POOL, C.MASK_CRT, C.FAIL_NOT_FOUND_NODE), "sp on missing node")
    resp = http(url, "POST", "/v1/nodes/{}/storage-pools".format(q(missing)), {
        "storage_pool_name": uniq("sp"), "provider_kind": "FILE_THIN",
        "props": {"StorDriver/StorPoolName": "/srv/x"}})
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.MASK_STOR_POOL, C.MASK_CRT, C.FAIL_NOT_FOUND_NODE))


@pytest.mark.parametrize("bad", ["ab", "bad name", "-pool", "1234", "p" * 49])
def test_invalid_storage_pool_name(api, url, bad):
    node = make_node(api)
    resp = http(url, "POST", "/v1/nodes/{}/storage-pools".format(q(node)), {
        "storage_pool_name": bad, "provider_kind": "FILE_THIN",
        "props": {"StorDriver/StorPoolName": "/srv/x"}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_STOR_POOL_NAME, C.MASK_STOR_POOL, C.MASK_CRT), repr(bad))


def test_view_storage_pools_filters(api, url):
    tag = uniq("sptag")
    node_a = make_node(api, "va")
    node_b = make_node(api, "vb")
    pool_x = uniq("px")
    pool_y = uniq("py")
    for node in (node_a, node_b):
        assert_success(api.storage_pool_create(node, pool_x, "FILE_THIN", "/srv/x",
                                               property_dict={"Aux/" + tag: node}), SP_CREATED)
    assert_success(api.storage_pool_create(node_a, pool_y, "FILE", "/srv/y"), SP_CREATED)

    def view(query):
        return sorted((p["node_name"], p["storage_pool_name"])
                      for p in get_json(url, "/v1/view/storage-pools?" + query))

    assert view("nodes=" + q(node_a)) == sorted(
        [(node_a, "DfltDisklessStorPool"), (node_a, pool_x), (node_a, pool_y)])
    assert view("storage_pools=" + q(pool_x)) == sorted([(node_a, pool_x), (node_b, pool_x)])
    assert view("nodes={}&nodes={}&storage_pools={}".format(q(node_a), q(node_b), q(pool_y))) \
        == [(node_a, pool_y)]
    assert view("storage_pools={}&storage_pools={}&nodes={}".format(q(pool_x), q(pool_y), q(node_b))) \
        == [(node_b, pool_x)]
    assert view("props=" + q("Aux/{}={}".format(tag, node_b))) == [(node_b, pool_x)]
    assert view("props=" + q("Aux/" + tag)) == sorted([(node_a, pool_x), (node_b, pool_x)])
    # names in filters are case-insensitive
    assert view("nodes={}&storage_pools={}".format(q(node_b.upper()), q(pool_x.lower()))) \
        == [(node_b, pool_x)]
    assert view("cached=true&nodes=" + q(node_b)) == sorted(
        [(node_b, "DfltDisklessStorPool"), (node_b, pool_x)])
    both = view("nodes={}&nodes={}".format(q(node_a), q(node_b)))
    assert len(get_json(url, "/v1/view/storage-pools?nodes={}&nodes={}&limit=2".format(
        q(node_a), q(node_b)))) == 2
    assert len(both) == 5

    python_view = api.storage_pool_list_raise(filter_by_nodes=[node_b], filter_by_stor_pools=[pool_x])
    assert [(p.node_name, p.name) for p in python_view.storage_pools] == [(node_b, pool_x)]

    per_node = get_json(url, "/v1/nodes/{}/storage-pools".format(q(node_a)))
    assert sorted(p["storage_pool_name"] for p in per_node) == sorted(["DfltDisklessStorPool", pool_x, pool_y])
