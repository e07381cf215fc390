"""Names at the edges of LINSTOR's rules are accepted; everything survives a restart."""

import pytest
from strandtest import assert_no_error, get_json, http


LABEL63 = "l" + "x" * 62


def test_names_at_the_edges_are_accepted(fresh_controller):
    url = fresh_controller.url
    netif = [{"name": "default", "address": "127.6.0.1"}]
    creates = [
        # resource definitions: 2..48, first character a letter or '_'
        ("/v1/resource-definitions", {"resource_definition": {"name": "ab"}}, "/v1/resource-definitions/ab"),
        ("/v1/resource-definitions", {"resource_definition": {"name": "_under-score_9"}},
         "/v1/resource-definitions/_under-score_9"),
        ("/v1/resource-definitions", {"resource_definition": {"name": "r" + "9" * 47}},
         "/v1/resource-definitions/r" + "9" * 47),
        # resource groups: 2..48
        ("/v1/resource-groups", {"name": "rg"}, "/v1/resource-groups/rg"),
        ("/v1/resource-groups", {"name": "G" * 48}, "/v1/resource-groups/" + "G" * 48),
        # nodes: host names up to 255 characters in labels of up to 63
        ("/v1/nodes", {"name": "n1", "type": "Satellite", "net_interfaces": netif}, "/v1/nodes/n1"),
        ("/v1/nodes", {"name": "node.example.com", "type": "Satellite", "net_interfaces": netif},
         "/v1/nodes/node.example.com"),
        ("/v1/nodes", {"name": LABEL63, "type": "Satellite", "net_interfaces": netif}, "/v1/nodes/" + LABEL63),
        ("/v1/nodes", {"name": ".".join([LABEL63] * 3) + "." + "t" * 63, "type": "Satellite",
                       "net_interfaces": netif}, "/v1/nodes/" + ".".join([LABEL63] * 3) + "." + "t" * 63),
        # storage pools: 3..48
        ("/v1/storage-pool-definitions", {"storage_pool_name": "sp_"}, "/v1/storage-pool-definitions/sp_"),
        ("/v1/nodes/n1/storage-pools", {"storage_pool_name": "p" * 48, "provider_kind": "FILE_THIN",
                                        "props": {"StorDriver/StorPoolName": "/srv/v"}},
         "/v1/nodes/n1/storage-pools/" + "p" * 48),
        # net interfaces: 3..32
        ("/v1/nodes/n1/net-interfaces", {"name": "et0", "address": "127.6.0.2"}, "/v1/nodes/n1/net-interfaces/et0"),
        ("/v1/nodes/n1/net-interfaces", {"name": "n" * 32, "address": "127.6.0.3"},
         "/v1/nodes/n1/net-interfaces/" + "n" * 32),
    ]
    for path, body, get_path in creates:
        resp = http(url, "POST", path, body)
        assert resp.status == 201, (path, body, resp)
        assert http(url, "GET", get_path).status == 200, get_path
    resp = http(url, "PUT", "/v1/key-value-store/kv", {"override_props": {"a": "b"}})
    assert resp.status == 200, resp
    assert [k["name"] for k in get_json(url, "/v1/key-value-store") if k["name"] == "kv"] == ["kv"]


# ---------------------------------------------------------------------------------------------
# persistence


LIST_PATHS = [
    "/v1/nodes", "/v1/view/storage-pools", "/v1/storage-pool-definitions", "/v1/resource-groups",
    "/v1/resource-definitions?with_volume_definitions=true", "/v1/key-value-store", "/v1/controller/properties",
]


def populate(url):
    steps = [
        ("POST", "/v1/nodes", {"name": "PersistNode", "type": "combined", "props": {"Aux/site": "a"},
                               "net_interfaces": [{"name": "default", "address": "127.7.0.1"}]}),
        ("POST", "/v1/nodes/PersistNode/net-interfaces", {"name": "data", "address": "127.7.0.2",
                                                          "satellite_port": 3367, "satellite_encryption_type": "SSL"}),
        ("POST", "/v1/nodes/PersistNode/storage-pools", {"storage_pool_name": "pool1", "provider_kind": "LVM_THIN",
                                                         "props": {"StorDriver/LvmVg": "vg", "StorDriver/ThinPool": "tp"}}),
        ("PUT", "/v1/storage-pool-definitions/pool1", {"override_props": {"MaxOversubscriptionRatio": "3"}}),
        ("POST", "/v1/storage-pool-definitions", {"storage_pool_name": "spare", "props": {"Aux/x": "y"}}),
        ("POST", "/v1/resource-groups", {"name": "PersistGrp", "description": "kept",
                                         "props": {"DrbdOptions/Resource/on-no-quorum": "io-error"},
                                         "select_filter": {"place_count": 3, "storage_pool_list": ["pool1"],
                                                           "replicas_on_different": ["Aux/site"],
                                                           "x_replicas_on_different_map": {"Aux/rack": 1},
                                                           "layer_stack": ["DRBD", "STORAGE"],
                                                           "diskless_on_remaining": True}}),
        ("POST", "/v1/resource-groups/PersistGrp/volume-groups", {"volume_number": 0, "flags": ["GROSS_SIZE"],
                                                                   "props": {"FileSystem/Type": "xfs"}}),
        ("POST", "/v1/resource-groups/PersistGrp/spawn", {"resource_definition_name": "spawned", "volume_sizes": [2048],
                                                          "definitions_only": True}),
        ("POST", "/v1/resource-definitions", {"resource_definition": {"name": "PersistRd", "external_name": "ext name",
                                                                      "props": {"Aux/a": "1"}}}),
        ("PUT", "/v1/resource-definitions/PersistRd", {"override_props": {"DrbdOptions/Net/allow-two-primaries": "yes"}}),
        ("POST", "/v1/resource-definitions/PersistRd/volume-definitions",
         {"volume_definition": {"volume_number": 3, "size_kib": 4096, "props": {"Aux/v": "w"}}, "drbd_minor_number": 3000}),
        ("PUT", "/v1/key-value-store/persistkv", {"override_props": {"k": "v", "deep/k": "v2"}}),
        ("POST", "/v1/controller/properties", {"override_props": {"Aux/ctrl": "c", "MinorNrAutoRange": "1000-49999"}}),
    ]
    for method, path, body in steps:
        resp = http(url, method, path, body)
        assert resp.status in (200, 201), (method, path, resp)
        assert_no_error(resp.json, path)


def snapshot(url):
    return dict((path, get_json(url, path)) for path in LIST_PATHS)


def canonical(value):
    """Order-insensitive form for list comparisons (the order of lists is not part of the API)."""
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(sorted((canonical(v) for v in value), key=repr))
    return value


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_everything_survives_a_restart(fresh_controller, how):
    populate(fresh_controller.url)
    before = snapshot(fresh_controller.url)
    if how == "stop":
        fresh_controller.stop()
    else:
        fresh_controller.kill()
    fresh_controller.start()
    after = snapshot(fresh_controller.url)
    for path in LIST_PATHS:
        assert canonical(after[path]) == canonical(before[path]), \
            "{} differs after a restart:\nbefore {}\nafter  {}".format(path, before[path], after[path])
    # and the restarted controller keeps allocating minors from where it was (1000 is the spawned
    # RD's, 3000 was given explicitly)
    resp = http(fresh_controller.url, "POST", "/v1/resource-definitions/PersistRd/volume-definitions",
                {"volume_definition": {"volume_number": 1, "size_kib": 1024}})
    assert resp.status == 201, resp
    vd = get_json(fresh_controller.url, "/v1/resource-definitions/PersistRd/volume-definitions/1")
    drbd = [layer["data"] for layer in vd["layer_data"] if layer["type"] == "DRBD"]
    assert drbd and drbd[0]["minor_number"] == 1001, vd
