"""Resource groups with select filters, volume groups, spawn."""

import pytest
from linstor import sharedconsts as C

from strandtest import (
    assert_apicallrc_list, assert_has_code, assert_has_code_bits, assert_no_error,
    assert_success, code_of, get_json, http, is_error, is_info, q, rc, uniq,
)

RG_CREATED = rc(C.MASK_RSC_GRP, C.MASK_CRT, C.CREATED)
RG_MODIFIED = rc(C.MASK_RSC_GRP, C.MASK_MOD, C.MODIFIED)
VG_CREATED = rc(C.MASK_VLM_GRP, C.MASK_CRT, C.CREATED)


def rg_json(url, name):
    return get_json(url, "/v1/resource-groups/" + q(name))


def make_rg(api, **kwargs):
    name = uniq("rg")
    assert_success(api.resource_group_create(name, **kwargs), RG_CREATED, "rg create")
    return name


def test_default_resource_group(fresh_controller):
    url = fresh_controller.url
    groups = get_json(url, "/v1/resource-groups")
    assert [g["name"] for g in groups] == ["DfltRscGrp"], groups
    dflt = rg_json(url, "DfltRscGrp")
    assert dflt["name"] == "DfltRscGrp"
    assert dflt["select_filter"]["place_count"] == 2
    api = fresh_controller.client()
    try:
        listed = api.resource_group_list_raise().resource_groups
        assert [(g.name, g.select_filter.place_count) for g in listed] == [("DfltRscGrp", 2)]
    finally:
        api.disconnect()


def test_resource_group_with_every_select_filter_field(api, url):
    nodes = [uniq("rgn") for _ in range(2)]
    for n in nodes:
        assert_no_error(api.node_create(n, "Satellite", "127.4.0.1"))
    pools = [uniq("rgp") for _ in range(2)]
    for p in pools:
        assert_no_error(api.storage_pool_dfn_create(p))
    avoid = uniq("avoid")
    assert_no_error(api.resource_dfn_create(avoid))

    name = uniq("rgall")
    select_filter = {
        "place_count": 3,
        "node_name_list": nodes,
        "storage_pool_list": pools,
        "storage_pool_diskless_list": ["DfltDisklessStorPool"],
        "not_place_with_rsc": [avoid],
        "not_place_with_rsc_regex": "^tmp-.*",
        "replicas_on_same": ["Aux/site"],
        "replicas_on_different": ["Aux/rack", "Aux/room=r1"],
        "x_replicas_on_different_map": {"Aux/zone": 2},
        "diskless_on_remaining": True,
        "layer_stack": ["DRBD", "STORAGE"],
        "provider_list": ["FILE_THIN", "LVM_THIN"],
    }
    resp = http(url, "POST", "/v1/resource-groups", {
        "name": name, "description": "all the filters", "props": {"Aux/purpose": "test"},
        "select_filter": select_filter})
    assert resp.status == 201, resp
    assert_success(resp.json, RG_CREATED)

    got = rg_json(url, name)
    assert got["name"] == name
    assert got["description"] == "all the filters"
    assert got["props"] == {"Aux/purpose": "test"}
    assert isinstance(got.get("uuid"), str)
    for key, value in select_filter.items():
        assert got["select_filter"].get(key) == value, (key, got["select_filter"])

    listed = [g for g in get_json(url, "/v1/resource-groups") if g["name"] == name]
    assert len(listed) == 1 and listed[0]["select_filter"] == got["select_filter"]

    via_python = api.resource_group_list_raise(filter_by_resource_groups=[name]).resource_groups
    assert len(via_python) == 1
    sf = via_python[0].select_filter
    assert sf.place_count == 3
    assert sf.storage_pool_list == pools
    assert sf.replicas_on_same == ["Aux/site"]
    assert sf.x_replicas_on_different == {"Aux/zone": 2}
    assert sf.diskless_on_remaining is True


def test_resource_group_create_via_python_linstor(api, url):
    pool = uniq("pyp")
    assert_no_error(api.storage_pool_dfn_create(pool))
    name = make_rg(api, description="made by python-linstor", place_count=2, storage_pool=pool,
                   do_not_place_with=["other"], do_not_place_with_regex="^x",
                   replicas_on_same=["Aux/a"], replicas_on_different=["Aux/b"],
                   x_replicas_on_different={"Aux/c": 1}, diskless_on_remaining=False,
                   layer_list=["drbd", "storage"], provider_list=["FILE_THIN"],
                   property_dict={"Aux/k": "v"})
    sf = rg_json(url, name)["select_filter"]
    assert sf["place_count"] == 2
    assert sf["storage_pool_list"] == [pool]
    assert sf["not_place_with_rsc"] == ["other"]
    assert sf["not_place_with_rsc_regex"] == "^x"
    assert sf["replicas_on_same"] == ["Aux/a"]
    assert sf["replicas_on_different"] == ["Aux/b"]
    assert sf["x_replicas_on_different_map"] == {"Aux/c": 1}
    assert sf["diskless_on_remaining"] is False
    # layers are accepted in any case and emitted as LINSTOR's upper-case enum names
    assert sf["layer_stack"] == ["DRBD", "STORAGE"]
    assert sf["provider_list"] == ["FILE_THIN"]


def test_resource_group_single_storage_pool_field(api, url):
    pool = uniq("single")
    assert_no_error(api.storage_pool_dfn_create(pool))
    name = uniq("rgsp")
    resp = http(url, "POST", "/v1/resource-groups",
                {"name": name, "select_filter": {"place_count": 1, "storage_pool": pool}})
    assert resp.status == 201, resp
    sf = rg_json(url, name)["select_filter"]
    # LINSTOR keeps the old single-pool field and the list in step
    assert sf.get("storage_pool") == pool or sf.get("storage_pool_list") == [pool], sf


def test_resource_group_modify_merges(api, url):
    name = make_rg(api, place_count=2, replicas_on_same=["Aux/site"], layer_list=["DRBD", "STORAGE"],
                   property_dict={"Aux/a": "1", "Aux/b": "2"}, description="before")
    replies = api.resource_group_modify(name, place_count=3)
    assert_success(replies, RG_MODIFIED, "rg modify place_count")
    sf = rg_json(url, name)["select_filter"]
    assert sf["place_count"] == 3
    assert sf["replicas_on_same"] == ["Aux/site"], sf
    assert sf["layer_stack"] == ["DRBD", "STORAGE"], sf

    replies = api.resource_group_modify(name, replicas_on_different=["Aux/rack"], diskless_on_remaining=True,
                                        provider_list=["LVM_THIN"], description="after",
                                        property_dict={"Aux/a": "10", "DrbdOptions/Resource/on-no-quorum": "io-error"},
                                        delete_props=["Aux/b"])
    assert_success(replies, RG_MODIFIED, "rg modify more")
    got = rg_json(url, name)
    sf = got["select_filter"]
    assert sf["place_count"] == 3
    assert sf["replicas_on_same"] == ["Aux/site"]
    assert sf["replicas_on_different"] == ["Aux/rack"]
    assert sf["diskless_on_remaining"] is True
    assert sf["provider_list"] == ["LVM_THIN"]
    assert got["description"] == "after"
    assert got["props"] == {"Aux/a": "10", "DrbdOptions/Resource/on-no-quorum": "io-error"}

    resp = http(url, "PUT", "/v1/resource-groups/" + q(name), {"delete_namespaces": ["Aux"]})
    assert resp.status == 200, resp
    assert_success(resp.json, RG_MODIFIED)
    assert rg_json(url, name)["props"] == {"DrbdOptions/Resource/on-no-quorum": "io-error"}


def test_resource_group_prop_rules(api, url):
    name = make_rg(api)
    # resource groups take the resource-definition rules
    resp = http(url, "PUT", "/v1/resource-groups/" + q(name),
                {"override_props": {"FileSystem/Type": "xfs", "DrbdOptions/Net/allow-two-primaries": "yes"}})
    assert resp.status == 200, resp
    assert_success(resp.json, RG_MODIFIED)
    resp = http(url, "PUT", "/v1/resource-groups/" + q(name), {"override_props": {"NoSuch/Key": "x"}})
    assert resp.status == 500, resp
    assert_has_code(resp.json, rc(C.FAIL_INVLD_PROP, C.MASK_RSC_GRP, C.MASK_MOD))
    resp = http(url, "PUT", "/v1/resource-groups/" + q(name), {"override_props": {"FileSystem/Type": "zfs"}})
    assert resp.status == 500, resp
    assert_has_code(resp.json, rc(C.FAIL_INVLD_PROP, C.MASK_RSC_GRP, C.MASK_MOD))
    assert rg_json(url, name)["props"]["FileSystem/Type"] == "xfs"


def test_resource_group_list_filters(api, url):
    tag = "Aux/" + uniq("rgtag")
    a = make_rg(api, property_dict={tag: "1"})
    b = make_rg(api, property_dict={tag: "2"})
    names = sorted(g.name for g in api.resource_group_list_raise(filter_by_props=[tag]).resource_groups)
    assert names == sorted([a, b])
    names = [g["name"] for g in get_json(url, "/v1/resource-groups?props=" + q(tag + "=2"))]
    assert names == [b]
    names = [g["name"] for g in get_json(url, "/v1/resource-groups?resource_groups=" + q(a.upper()))]
    assert names == [a]


def test_resource_group_duplicate_invalid_delete(api, url):
    name = make_rg(api)
    replies = api.resource_group_create(name.lower())
    assert_has_code(replies, rc(C.FAIL_EXISTS_RSC_GRP, C.MASK_RSC_GRP, C.MASK_CRT), "duplicate rg")

    replies = api.resource_group_delete(name)
    assert_success(replies, rc(C.MASK_RSC_GRP, C.MASK_DEL, C.DELETED), "rg delete")
    resp = http(url, "GET", "/v1/resource-groups/" + q(name))
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_RSC_GRP)

    resp = http(url, "DELETE", "/v1/resource-groups/" + q(name))
    assert resp.status == 200, resp
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_RSC_GRP, C.MASK_DEL))


@pytest.mark.parametrize("bad", ["x", "1group", "bad name", "-grp", "g" * 49, "12"])
def test_invalid_resource_group_name(url, bad):
    resp = http(url, "POST", "/v1/resource-groups", {"name": bad})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_RSC_GRP_NAME, C.MASK_RSC_GRP, C.MASK_CRT), repr(bad))


# ---------------------------------------------------------------------------------------------
# volume groups


def test_volume_groups_crud(api, url):
    rg = make_rg(api)
    replies = api.volume_group_create(rg)
    assert_success(replies, VG_CREATED, "vg create")
    replies = api.volume_group_create(rg, volume_nr=3, property_dict={"FileSystem/Type": "xfs"}, gross=True)
    assert_success(replies, VG_CREATED, "vg 3 create")

    vgs = get_json(url, "/v1/resource-groups/{}/volume-groups".format(q(rg)))
    by_nr = {v["volume_number"]: v for v in vgs}
    assert sorted(by_nr) == [0, 3], vgs
    assert by_nr[3]["flags"] == ["GROSS_SIZE"]
    assert by_nr[3]["props"] == {"FileSystem/Type": "xfs"}
    assert "props" not in by_nr[0] and "flags" not in by_nr[0], by_nr[0]

    via_python = api.volume_group_list_raise(rg).volume_groups
    assert sorted(v.number for v in via_python) == [0, 3]

    single = get_json(url, "/v1/resource-groups/{}/volume-groups/3".format(q(rg)))
    assert single["volume_number"] == 3

    replies = api.volume_group_modify(rg, 0, property_dict={"Aux/x": "1"})
    assert_success(replies, rc(C.MASK_VLM_GRP, C.MASK_MOD, C.MODIFIED), "vg modify")
    resp = http(url, "PUT", "/v1/resource-groups/{}/volume-groups/3".format(q(rg)), {"flags": ["-GROSS_SIZE"]})
    assert resp.status == 200, resp
    assert_no_error(resp.json)
    assert "flags" not in get_json(url, "/v1/resource-groups/{}/volume-groups/3".format(q(rg)))
    assert get_json(url, "/v1/resource-groups/{}/volume-groups/0".format(q(rg)))["props"] == {"Aux/x": "1"}

    # volume groups take the volume-definition rules
    replies = api.volume_group_modify(rg, 0, property_dict={"NoSuch/Key": "1"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_VLM_GRP, C.MASK_MOD), "vg bad key")
    replies = api.volume_group_modify(rg, 0, property_dict={"FileSystem/Type": "ntfs"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_VLM_GRP, C.MASK_MOD), "vg bad value")

    replies = api.volume_group_create(rg, volume_nr=3)
    assert_has_code(replies, rc(C.FAIL_EXISTS_VLM_GRP, C.MASK_VLM_GRP, C.MASK_CRT), "duplicate vg")

    replies = api.volume_group_delete(rg, 3)
    assert_success(replies, rc(C.MASK_VLM_GRP, C.MASK_DEL, C.DELETED), "vg delete")
    assert [v["volume_number"] for v in get_json(url, "/v1/resource-groups/{}/volume-groups".format(q(rg)))] == [0]
    resp = http(url, "GET", "/v1/resource-groups/{}/volume-groups/3".format(q(rg)))
    assert resp.status == 404, resp
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_VLM_GRP)


def test_volume_group_on_missing_rg(url):
    resp = http(url, "POST", "/v1/resource-groups/{}/volume-groups".format(uniq("norg")), {})
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_RSC_GRP)


# ---------------------------------------------------------------------------------------------
# spawn


def rd_json(url, name, with_vds=True):
    listed = get_json(url, "/v1/resource-definitions?resource_definitions={}{}".format(
        q(name), "&with_volume_definitions=true" if with_vds else ""))
    assert len(listed) == 1, listed
    return listed[0]


def rd_missing(url, name):
    return http(url, "GET", "/v1/resource-definitions/" + q(name)).status == 404 and \
        get_json(url, "/v1/resource-definitions?resource_definitions=" + q(name)) == []


def test_spawn_definitions_only(api, url):
    rg = make_rg(api, place_count=2)
    assert_no_error(api.volume_group_create(rg, volume_nr=0))
    assert_no_error(api.volume_group_create(rg, volume_nr=1, gross=True))
    rd = uniq("spawn")
    replies = api.resource_group_spawn(rg, rd, [10240, 20480], definitions_only=True)
    assert_no_error(replies, "spawn")
    # definitions_only: no autoplace, LINSTOR says so with INFO_NO_RSC_SPAWNED
    assert any(is_info(r.ret_code) and code_of(r.ret_code) == rc(C.INFO_NO_RSC_SPAWNED) for r in replies), \
        [str(r) for r in replies]

    got = rd_json(url, rd)
    assert got["name"] == rd
    assert got["resource_group_name"] == rg
    vds = {v["volume_number"]: v for v in got["volume_definitions"]}
    assert sorted(vds) == [0, 1]
    assert vds[0]["size_kib"] == 10240
    assert vds[1]["size_kib"] == 20480
    assert vds[1].get("flags") == ["GROSS_SIZE"], vds[1]
    assert "GROSS_SIZE" not in vds[0].get("flags", [])
    assert get_json(url, "/v1/resource-definitions/" + q(rd))["resource_group_name"] == rg


def test_spawn_http_status_and_rd_props(api, url):
    rg = make_rg(api)
    assert_no_error(api.volume_group_create(rg))
    rd = uniq("spawnraw")
    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(rg)), {
        "resource_definition_name": rd, "volume_sizes": [4096], "definitions_only": True,
        "resource_definition_props": {"Aux/owner": "test", "DrbdOptions/Net/allow-two-primaries": "yes"}})
    assert resp.status == 201, resp
    assert_no_error(resp.json)
    got = rd_json(url, rd)
    assert got["props"]["Aux/owner"] == "test"
    assert got["props"]["DrbdOptions/Net/allow-two-primaries"] == "yes"
    assert [v["size_kib"] for v in got["volume_definitions"]] == [4096]


def test_spawn_without_volume_groups_implies_partial(api, url):
    rg = make_rg(api)
    rd = uniq("novg")
    replies = api.resource_group_spawn(rg, rd, [1024, 2048, 3072], definitions_only=True)
    assert_no_error(replies, "spawn on RG without VGs")
    vds = sorted((v["volume_number"], v["size_kib"]) for v in rd_json(url, rd)["volume_definitions"])
    assert vds == [(0, 1024), (1, 2048), (2, 3072)]


def test_spawn_volume_count_mismatch(api, url):
    rg = make_rg(api)
    assert_no_error(api.volume_group_create(rg))
    rd = uniq("mismatch")
    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(rg)), {
        "resource_definition_name": rd, "volume_sizes": [1024, 2048], "definitions_only": True})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_INVLD_VLM_SIZES)
    assert rd_missing(url, rd)

    # with partial the extra size becomes a VD without a volume group behind it
    replies = api.resource_group_spawn(rg, rd, [1024, 2048], partial=True, definitions_only=True)
    assert_no_error(replies, "partial spawn")
    vds = sorted((v["volume_number"], v["size_kib"]) for v in rd_json(url, rd)["volume_definitions"])
    assert vds == [(0, 1024), (1, 2048)]


def test_spawn_fewer_sizes_than_volume_groups(api, url):
    rg = make_rg(api)
    assert_no_error(api.volume_group_create(rg, volume_nr=0))
    assert_no_error(api.volume_group_create(rg, volume_nr=1))
    rd = uniq("fewer")
    replies = api.resource_group_spawn(rg, rd, [1024], definitions_only=True)
    assert any(r.is_error() and code_of(r.ret_code) == rc(C.FAIL_INVLD_VLM_SIZES) for r in replies), \
        [str(r) for r in replies]
    assert rd_missing(url, rd)
    replies = api.resource_group_spawn(rg, rd, [1024], partial=True, definitions_only=True)
    assert_no_error(replies, "partial spawn with fewer sizes")
    assert [v["volume_number"] for v in rd_json(url, rd)["volume_definitions"]] == [0]


def test_spawn_without_satellites_fails_and_leaves_nothing(api, url):
    rg = make_rg(api, place_count=2)
    assert_no_error(api.volume_group_create(rg))
    rd = uniq("noplace")
    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(rg)), {
        "resource_definition_name": rd, "volume_sizes": [1024]})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_ENOUGH_NODES)
    assert rd_missing(url, rd)

    replies = api.resource_group_spawn(rg, rd, [1024])
    assert any(r.is_error() and code_of(r.ret_code) == rc(C.FAIL_NOT_ENOUGH_NODES) for r in replies), \
        [str(r) for r in replies]
    assert rd_missing(url, rd)
    # and the name is free for a definitions-only spawn afterwards
    assert_no_error(api.resource_group_spawn(rg, rd, [1024], definitions_only=True))
    assert rd_json(url, rd)["name"] == rd


def test_spawn_external_name(api, url):
    rg = make_rg(api)
    external = "Spawned Volume " + uniq("x") + " (ä/ö)"
    replies = api.resource_group_spawn(rg, "", [2048], definitions_only=True, external_name=external)
    assert_no_error(replies, "spawn with external name")
    mine = [r for r in get_json(url, "/v1/resource-definitions?with_volume_definitions=true")
            if r.get("external_name") == external]
    assert len(mine) == 1, external
    assert mine[0]["resource_group_name"] == rg
    assert [v["size_kib"] for v in mine[0]["volume_definitions"]] == [2048]


def test_spawn_errors(api, url):
    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(uniq("norg")), {
        "resource_definition_name": uniq("x"), "volume_sizes": [1024], "definitions_only": True})
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_RSC_GRP)

    rg = make_rg(api)
    existing = uniq("exists")
    assert_no_error(api.resource_dfn_create(existing))
    replies = api.resource_group_spawn(rg, existing, [1024], definitions_only=True)
    assert any(r.is_error() and code_of(r.ret_code) == rc(C.FAIL_EXISTS_RSC_DFN) for r in replies), \
        [str(r) for r in replies]
    assert "volume_definitions" not in rd_json(url, existing)

    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(rg)), {
        "resource_definition_name": "bad name", "volume_sizes": [1024], "definitions_only": True})
    assert resp.status == 500, resp
    assert_has_code_bits(resp.json, C.FAIL_INVLD_RSC_NAME)

    rd = uniq("zero")
    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(rg)), {
        "resource_definition_name": rd, "volume_sizes": [1024, 0], "definitions_only": True})
    assert resp.status == 500, resp
    assert any(is_error(e["ret_code"]) for e in resp.json)
    assert rd_missing(url, rd)


def test_modify_with_empty_lists_clears_them(url):
    """An empty list in a modify body clears that field (absent fields keep their value)."""
    name = uniq("rgclr")
    created = http(url, "POST", "/v1/resource-groups",
                   body={"name": name, "select_filter": {"place_count": 2, "storage_pool": "pool1",
                                                         "replicas_on_same": ["Aux/site"]}})
    assert created.status == 201, created
    cleared = http(url, "PUT", "/v1/resource-groups/" + name,
                   body={"select_filter": {"storage_pool_list": [], "replicas_on_same": []}})
    assert cleared.status == 200, cleared
    group = get_json(url, "/v1/resource-groups/" + name)
    assert group["select_filter"].get("storage_pool") is None, group
    assert group["select_filter"].get("storage_pool_list") in (None, []), group
    assert group["select_filter"].get("replicas_on_same") in (None, []), group
    assert group["select_filter"]["place_count"] == 2, group
