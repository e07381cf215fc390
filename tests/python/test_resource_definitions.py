"""Resource definitions and volume definitions."""

import pytest
from linstor import sharedconsts as C

from strandtest import (
    assert_apicallrc_list, assert_has_code, assert_has_code_bits, assert_no_error,
    assert_success, get_json, http, q, rc, uniq,
)

RD_CREATED = 20447233  # MASK_RSC_DFN | MASK_CRT | CREATED
RD_MODIFIED = rc(C.MASK_RSC_DFN, C.MASK_MOD, C.MODIFIED)
VD_CREATED = rc(C.MASK_VLM_DFN, C.MASK_CRT, C.CREATED)


def rd_get(url, name):
    return get_json(url, "/v1/resource-definitions/" + q(name))


def make_rd(api, prefix="rd", **kwargs):
    name = uniq(prefix)
    assert_success(api.resource_dfn_create(name, **kwargs), RD_CREATED, "rd create")
    return name


def minor_of(vd):
    drbd = [layer for layer in vd.get("layer_data", []) if layer.get("type") == "DRBD"]
    assert len(drbd) == 1, vd
    return drbd[0]["data"]["minor_number"]


def test_rd_created_code_matches_masks():
    assert rc(C.MASK_RSC_DFN, C.MASK_CRT, C.CREATED) == RD_CREATED


def test_rd_create_list_get(api, url):
    name = uniq("rdc")
    replies = api.resource_dfn_create(name)
    assert_success(replies, RD_CREATED, "rd create")
    got = rd_get(url, name)
    assert got["name"] == name
    assert got["resource_group_name"] == "DfltRscGrp"
    assert isinstance(got.get("uuid"), str)
    assert "props" not in got and "volume_definitions" not in got, got

    listed = api.resource_dfn_list_raise(filter_by_resource_definitions=[name]).resource_definitions
    assert [r.name for r in listed] == [name]
    assert listed[0].resource_group_name == "DfltRscGrp"
    # case-insensitive identity, display case kept
    assert rd_get(url, name.upper())["name"] == name

    resp = http(url, "POST", "/v1/resource-definitions", {"resource_definition": {"name": uniq("rdraw")}})
    assert resp.status == 201, resp
    assert_success(resp.json, RD_CREATED)


def test_rd_in_resource_group_and_move(api, url):
    rg = uniq("rdrg")
    assert_no_error(api.resource_group_create(rg))
    rg2 = uniq("rdrg")
    assert_no_error(api.resource_group_create(rg2))
    name = make_rd(api, resource_group=rg)
    assert rd_get(url, name)["resource_group_name"] == rg
    replies = api.resource_dfn_modify(name, {}, resource_group=rg2)
    assert_success(replies, RD_MODIFIED, "move rd to another rg")
    assert rd_get(url, name)["resource_group_name"] == rg2

    resp = http(url, "POST", "/v1/resource-definitions",
                {"resource_definition": {"name": uniq("rdx"), "resource_group_name": uniq("nosuchrg")}})
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_RSC_GRP)


def test_rd_external_name(api, url):
    external = "Ünïcode external name " + uniq("e") + " / with spaces"
    replies = api.resource_dfn_create("", external_name=external)
    assert_no_error(replies, "rd with external name")
    mine = [r for r in api.resource_dfn_list_raise().resource_definitions if r.external_name == external]
    assert len(mine) == 1
    generated = mine[0].name
    assert generated, mine[0]
    got = rd_get(url, generated)
    assert got["external_name"] == external

    # an RD with both a name and an external name keeps both
    name = uniq("both")
    resp = http(url, "POST", "/v1/resource-definitions",
                {"resource_definition": {"name": name, "external_name": "ext-" + name}})
    assert resp.status == 201, resp
    got = rd_get(url, name)
    assert got["external_name"] == "ext-" + name


def test_rd_aux_and_drbd_props(api, url):
    name = make_rd(api)
    replies = api.resource_dfn_modify(name, {
        "Aux/Incus/name": "vol1",
        "Aux/Incus/type": "custom",
        "DrbdOptions/Net/allow-two-primaries": "yes",
        "DrbdOptions/Resource/on-no-quorum": "io-error",
        "DrbdOptions/ExactSize": "true",
    })
    assert_success(replies, RD_MODIFIED, "rd modify props")
    props = rd_get(url, name)["props"]
    assert props["Aux/Incus/name"] == "vol1"
    assert props["Aux/Incus/type"] == "custom"
    assert props["DrbdOptions/Net/allow-two-primaries"] == "yes"
    assert props["DrbdOptions/Resource/on-no-quorum"] == "io-error"
    assert props["DrbdOptions/ExactSize"] == "true"
    assert api.resource_dfn_props_list(name, "Aux/Incus") == {"Aux/Incus/name": "vol1", "Aux/Incus/type": "custom"}

    replies = api.resource_dfn_modify(name, {}, delete_props=["DrbdOptions/ExactSize"])
    assert_success(replies, RD_MODIFIED, "rd delete prop")
    assert "DrbdOptions/ExactSize" not in rd_get(url, name)["props"]

    resp = http(url, "PUT", "/v1/resource-definitions/" + q(name), {"delete_namespaces": ["Aux/Incus"]})
    assert resp.status == 200, resp
    assert_success(resp.json, RD_MODIFIED)
    props = rd_get(url, name)["props"]
    assert not any(k.startswith("Aux/") for k in props), props
    assert props["DrbdOptions/Net/allow-two-primaries"] == "yes"


@pytest.mark.parametrize("key", [
    "NoSuch/Key", "DrbdOptions/Net/no-such-option", "DrbdOptions/NoSuchSection/timeout", "StorDriver/Nope",
])
def test_rd_unknown_prop_key(api, url, key):
    name = make_rd(api)
    resp = http(url, "PUT", "/v1/resource-definitions/" + q(name), {"override_props": {key: "1"}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_PROP, C.MASK_RSC_DFN, C.MASK_MOD), key)
    assert key in " ".join(str(e.get(f, "")) for e in resp.json for f in ("message", "cause", "details"))
    assert "props" not in rd_get(url, name)


@pytest.mark.parametrize("key,value", [
    ("DrbdOptions/Net/allow-two-primaries", "maybe"),     # boolean
    ("DrbdOptions/Resource/on-no-quorum", "explode"),     # handler: io-error | suspend-io
    ("DrbdOptions/Net/timeout", "100000"),                # numeric 1..600
    ("DrbdOptions/Net/protocol", "D"),                    # handler A | B | C
    ("FileSystem/Type", "zfs"),                           # symbol ext4 | xfs
    ("DrbdOptions/ExactSize", "perhaps"),                 # boolean true/false
    ("PeerSlotsNewResource", "99"),                       # range 1..31
])
def test_rd_bad_value_for_known_key(api, url, key, value):
    name = make_rd(api)
    replies = api.resource_dfn_modify(name, {key: value})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_RSC_DFN, C.MASK_MOD), "{}={}".format(key, value))
    # the error names the key and the refused value (LINSTOR: "Invalid property(<key>) value: <value>",
    # the rule in the details)
    text = " ".join(str(getattr(r, f) or "") for r in replies for f in ("message", "cause", "details"))
    assert key in text and value in text, text
    assert any(r.details for r in replies if r.is_error()), [str(r) for r in replies]
    assert key not in rd_get(url, name).get("props", {})


def test_rd_modify_is_all_or_nothing(api, url):
    name = make_rd(api)
    resp = http(url, "PUT", "/v1/resource-definitions/" + q(name), {
        "override_props": {"Aux/good": "1", "DrbdOptions/Net/allow-two-primaries": "sometimes"}})
    assert resp.status == 500, resp
    assert_has_code(resp.json, rc(C.FAIL_INVLD_PROP, C.MASK_RSC_DFN, C.MASK_MOD))
    assert "props" not in rd_get(url, name), rd_get(url, name)


def test_rd_list_filtered_by_props(api, url):
    ns = "Aux/" + uniq("flt")
    r1 = make_rd(api, "pf")
    r2 = make_rd(api, "pf")
    r3 = make_rd(api, "pf")
    assert_no_error(api.resource_dfn_modify(r1, {ns + "/a": "1", ns + "/b": "x"}))
    assert_no_error(api.resource_dfn_modify(r2, {ns + "/a": "1"}))
    assert_no_error(api.resource_dfn_modify(r3, {ns + "/a": "2", ns + "/b": "y"}))

    def names(*filters):
        return sorted(r.name for r in api.resource_dfn_list_raise(filter_by_props=list(filters)).resource_definitions)

    assert names(ns + "/a=1") == sorted([r1, r2])
    assert names(ns + "/a=1", ns + "/b=x") == [r1]
    assert names(ns + "/a=1", ns + "/b=y") == []
    assert names(ns + "/b") == sorted([r1, r3])
    assert names(ns + "/a") == sorted([r1, r2, r3])
    assert names(ns + "/a=2", ns + "/b") == [r3]
    assert names(ns + "/c") == []
    # values match exactly (case-sensitive, whole string)
    assert names(ns + "/b=X") == []
    assert names(ns + "/a=") == []

    raw = get_json(url, "/v1/resource-definitions?props={}&props={}".format(q(ns + "/a=1"), q(ns + "/b")))
    assert [r["name"] for r in raw] == [r1]
    base = "/v1/resource-definitions?props=" + q(ns + "/a")
    assert len(get_json(url, base + "&limit=0")) == 3
    assert len(get_json(url, base + "&offset=0&limit=2")) == 2
    assert len(get_json(url, base + "&offset=2&limit=5")) == 1
    assert len(get_json(url, base + "&offset=0&limit=0")) == 3


def test_rd_list_with_volume_definitions(api, url):
    name = make_rd(api)
    assert_success(api.volume_dfn_create(name, 8192), VD_CREATED)
    without = get_json(url, "/v1/resource-definitions?resource_definitions=" + q(name))
    assert len(without) == 1 and "volume_definitions" not in without[0], without
    explicit_false = get_json(url, "/v1/resource-definitions?with_volume_definitions=false&resource_definitions="
                              + q(name))
    assert "volume_definitions" not in explicit_false[0]
    with_vds = get_json(url, "/v1/resource-definitions?with_volume_definitions=true&resource_definitions=" + q(name))
    assert [(v["volume_number"], v["size_kib"]) for v in with_vds[0]["volume_definitions"]] == [(0, 8192)]
    via_python = api.resource_dfn_list_raise(filter_by_resource_definitions=[name]).resource_definitions
    assert [(v.number, v.size) for v in via_python[0].volume_definitions] == [(0, 8192)]


def test_rd_delete(api, url):
    name = make_rd(api)
    assert_success(api.volume_dfn_create(name, 1024), VD_CREATED)
    replies = api.resource_dfn_delete(name)
    assert_success(replies, rc(C.MASK_RSC_DFN, C.MASK_DEL, C.DELETED), "rd delete")
    resp = http(url, "GET", "/v1/resource-definitions/" + q(name))
    assert resp.status == 404, resp
    assert get_json(url, "/v1/resource-definitions?resource_definitions=" + q(name)) == []


def test_rd_delete_missing_is_200_with_warning(api, url):
    name = uniq("neverwas")
    replies = api.resource_dfn_delete(name)
    assert_no_error(replies, "delete missing rd")
    assert_has_code(replies, rc(C.WARN_NOT_FOUND, C.MASK_RSC_DFN, C.MASK_DEL), "delete missing rd")
    resp = http(url, "DELETE", "/v1/resource-definitions/" + q(name))
    assert resp.status == 200, resp
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_RSC_DFN, C.MASK_DEL))


def test_rd_get_missing_is_404_with_apicallrc_list(url):
    resp = http(url, "GET", "/v1/resource-definitions/" + uniq("missing"))
    assert resp.status == 404, resp
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_RSC_DFN)


def test_rd_modify_missing_is_404(api, url):
    resp = http(url, "PUT", "/v1/resource-definitions/" + uniq("missing"), {"override_props": {"Aux/a": "b"}})
    assert resp.status == 404, resp
    assert_has_code(resp.json, rc(C.FAIL_NOT_FOUND_RSC_DFN, C.MASK_RSC_DFN, C.MASK_MOD))


def test_duplicate_rd(api, url):
    name = make_rd(api)
    replies = api.resource_dfn_create(name.lower())
    assert_has_code(replies, rc(C.FAIL_EXISTS_RSC_DFN, C.MASK_RSC_DFN, C.MASK_CRT), "duplicate rd")
    resp = http(url, "POST", "/v1/resource-definitions", {"resource_definition": {"name": name}})
    assert resp.status == 500, resp


@pytest.mark.parametrize("bad", ["x", "1abc", "bad name", "-rd", "r" * 49, "123", "bad/name", "ünï"])
def test_invalid_rd_name(api, url, bad):
    resp = http(url, "POST", "/v1/resource-definitions", {"resource_definition": {"name": bad}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_RSC_NAME, C.MASK_RSC_DFN, C.MASK_CRT), repr(bad))


# ---------------------------------------------------------------------------------------------
# volume definitions


def test_vd_create_resize_delete(api, url):
    name = make_rd(api)
    replies = api.volume_dfn_create(name, 10240)
    assert_success(replies, VD_CREATED, "vd create")
    resp = http(url, "POST", "/v1/resource-definitions/{}/volume-definitions".format(q(name)),
                {"volume_definition": {"volume_number": 7, "size_kib": 2048, "props": {"FileSystem/Type": "ext4"}}})
    assert resp.status == 201, resp
    assert_success(resp.json, VD_CREATED)

    vds = {v["volume_number"]: v for v in get_json(url, "/v1/resource-definitions/{}/volume-definitions".format(q(name)))}
    assert sorted(vds) == [0, 7]
    assert vds[0]["size_kib"] == 10240
    assert vds[7]["props"] == {"FileSystem/Type": "ext4"}
    assert isinstance(vds[0].get("uuid"), str)
    single = get_json(url, "/v1/resource-definitions/{}/volume-definitions/7".format(q(name)))
    assert single["volume_number"] == 7 and single["size_kib"] == 2048

    replies = api.volume_dfn_modify(name, 0, size=20480)
    assert_success(replies, rc(C.MASK_VLM_DFN, C.MASK_MOD, C.MODIFIED), "vd resize")
    assert get_json(url, "/v1/resource-definitions/{}/volume-definitions/0".format(q(name)))["size_kib"] == 20480

    replies = api.volume_dfn_modify(name, 7, set_properties={"Aux/x": "1"}, delete_properties=["FileSystem/Type"])
    assert_success(replies, rc(C.MASK_VLM_DFN, C.MASK_MOD, C.MODIFIED), "vd props")
    assert get_json(url, "/v1/resource-definitions/{}/volume-definitions/7".format(q(name)))["props"] == {"Aux/x": "1"}
    replies = api.volume_dfn_modify(name, 7, set_properties={"NoSuch/Key": "1"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_VLM_DFN, C.MASK_MOD), "vd bad key")
    replies = api.volume_dfn_modify(name, 7, set_properties={"FileSystem/Type": "fat"})
    assert_has_code(replies, rc(C.FAIL_INVLD_PROP, C.MASK_VLM_DFN, C.MASK_MOD), "vd bad value")

    resp = http(url, "PUT", "/v1/resource-definitions/{}/volume-definitions/7".format(q(name)),
                {"flags": ["GROSS_SIZE"]})
    assert resp.status == 200, resp
    assert_no_error(resp.json)
    assert get_json(url, "/v1/resource-definitions/{}/volume-definitions/7".format(q(name)))["flags"] == ["GROSS_SIZE"]

    replies = api.volume_dfn_delete(name, 7)
    assert_success(replies, rc(C.MASK_VLM_DFN, C.MASK_DEL, C.DELETED), "vd delete")
    assert [v["volume_number"] for v in get_json(url, "/v1/resource-definitions/{}/volume-definitions".format(q(name)))] == [0]
    resp = http(url, "GET", "/v1/resource-definitions/{}/volume-definitions/7".format(q(name)))
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_VLM_DFN)

    resp = http(url, "DELETE", "/v1/resource-definitions/{}/volume-definitions/7".format(q(name)))
    assert resp.status == 200, resp
    assert_has_code(resp.json, rc(C.WARN_NOT_FOUND, C.MASK_VLM_DFN, C.MASK_DEL))


def test_vd_size_zero(api, url):
    name = make_rd(api)
    replies = api.volume_dfn_create(name, 0)
    assert_has_code(replies, rc(C.FAIL_INVLD_VLM_SIZE, C.MASK_VLM_DFN, C.MASK_CRT), "vd size 0")
    resp = http(url, "POST", "/v1/resource-definitions/{}/volume-definitions".format(q(name)),
                {"volume_definition": {"size_kib": 0}})
    assert resp.status == 500, resp
    assert_apicallrc_list(resp.json)
    assert_has_code(resp.json, rc(C.FAIL_INVLD_VLM_SIZE, C.MASK_VLM_DFN, C.MASK_CRT))
    assert get_json(url, "/v1/resource-definitions/{}/volume-definitions".format(q(name))) == []


def test_vd_errors(api, url):
    replies = api.volume_dfn_create(uniq("nord"), 1024)
    assert_has_code_bits(replies, C.FAIL_NOT_FOUND_RSC_DFN, "vd on missing rd")
    resp = http(url, "POST", "/v1/resource-definitions/{}/volume-definitions".format(uniq("nord")),
                {"volume_definition": {"size_kib": 1024}})
    assert resp.status == 404, resp
    assert_apicallrc_list(resp.json)

    name = make_rd(api)
    assert_success(api.volume_dfn_create(name, 1024, volume_nr=1), VD_CREATED)
    replies = api.volume_dfn_create(name, 1024, volume_nr=1)
    assert_has_code(replies, rc(C.FAIL_EXISTS_VLM_DFN, C.MASK_VLM_DFN, C.MASK_CRT), "duplicate vd")
    resp = http(url, "POST", "/v1/resource-definitions/{}/volume-definitions".format(q(name)),
                {"volume_definition": {"volume_number": 65535, "size_kib": 1024}})
    assert resp.status == 500, resp
    assert_has_code_bits(resp.json, C.FAIL_INVLD_VLM_NR)
    resp = http(url, "POST", "/v1/resource-definitions/{}/volume-definitions".format(q(name)),
                {"volume_definition": {"volume_number": 65534, "size_kib": 1024}})
    assert resp.status == 201, resp
    resp = http(url, "PUT", "/v1/resource-definitions/{}/volume-definitions/42".format(q(name)), {"size_kib": 2048})
    assert resp.status == 404, resp
    assert_has_code_bits(resp.json, C.FAIL_NOT_FOUND_VLM_DFN)


def test_vd_minor_numbers_lowest_free_from_1000(fresh_controller):
    url = fresh_controller.url
    api = fresh_controller.client()
    try:
        rd = uniq("minor")
        assert_success(api.resource_dfn_create(rd), RD_CREATED)
        for size in (1024, 2048, 3072):
            assert_success(api.volume_dfn_create(rd, size), VD_CREATED)
        vds = {v["volume_number"]: v for v in get_json(url, "/v1/resource-definitions/{}/volume-definitions".format(q(rd)))}
        assert sorted(vds) == [0, 1, 2]
        assert [minor_of(vds[n]) for n in (0, 1, 2)] == [1000, 1001, 1002]
        via_python = api.resource_dfn_list_raise(filter_by_resource_definitions=[rd]).resource_definitions[0]
        assert sorted(v.drbd_data.minor for v in via_python.volume_definitions) == [1000, 1001, 1002]

        # minors are global: a second RD continues after the first one's
        rd2 = uniq("minor")
        assert_success(api.resource_dfn_create(rd2), RD_CREATED)
        assert_success(api.volume_dfn_create(rd2, 1024), VD_CREATED)
        assert minor_of(get_json(url, "/v1/resource-definitions/{}/volume-definitions/0".format(q(rd2)))) == 1003

        # a freed minor is the lowest free one again
        assert_success(api.volume_dfn_delete(rd, 1), rc(C.MASK_VLM_DFN, C.MASK_DEL, C.DELETED))
        assert_success(api.volume_dfn_create(rd, 4096, volume_nr=5), VD_CREATED)
        assert minor_of(get_json(url, "/v1/resource-definitions/{}/volume-definitions/5".format(q(rd)))) == 1001

        # an explicit minor is honoured, and taken minors are refused
        assert_success(api.volume_dfn_create(rd2, 1024, minor_nr=2000), VD_CREATED)
        assert minor_of(get_json(url, "/v1/resource-definitions/{}/volume-definitions/1".format(q(rd2)))) == 2000
        replies = api.volume_dfn_create(rd2, 1024, minor_nr=1000)
        assert any(r.is_error() for r in replies), [str(r) for r in replies]

        # deleting a whole RD frees its minors
        assert_no_error(api.resource_dfn_delete(rd))
        rd3 = uniq("minor")
        assert_success(api.resource_dfn_create(rd3), RD_CREATED)
        assert_success(api.volume_dfn_create(rd3, 1024), VD_CREATED)
        assert minor_of(get_json(url, "/v1/resource-definitions/{}/volume-definitions/0".format(q(rd3)))) == 1000
    finally:
        api.disconnect()


def test_minor_numbers_survive_restart(fresh_controller):
    api = fresh_controller.client()
    try:
        rd = uniq("restart")
        assert_success(api.resource_dfn_create(rd), RD_CREATED)
        assert_success(api.volume_dfn_create(rd, 1024), VD_CREATED)
    finally:
        api.disconnect()
    fresh_controller.stop()
    fresh_controller.start()
    api = fresh_controller.client()
    try:
        rd2 = uniq("restart")
        assert_success(api.resource_dfn_create(rd2), RD_CREATED)
        assert_success(api.volume_dfn_create(rd2, 1024), VD_CREATED)
        url = fresh_controller.url
        assert minor_of(get_json(url, "/v1/resource-definitions/{}/volume-definitions/0".format(q(rd)))) == 1000
        assert minor_of(get_json(url, "/v1/resource-definitions/{}/volume-definitions/0".format(q(rd2)))) == 1001
    finally:
        api.disconnect()


def test_deleting_an_unset_prop_warns(api, url):
    name = make_rd(api)
    resp = http(url, "PUT", "/v1/resource-definitions/" + q(name), {"delete_props": ["Aux/never-set"]})
    assert resp.status == 200, resp
    assert_no_error(resp.json)
    assert_has_code_bits(resp.json, C.WARN_DEL_UNSET_PROP)
