"""Snapshots, rollback to any snapshot, restore and clone with python-linstor against
`strand up` (issue 6): real loop devices on the default pool, which `strand up` puts on a
sparse XFS (reflink) image where the data directory's filesystem has no reflink.

Root only. The fixture runs its own `strand up` on a temporary directory and always cleans up:
it deletes every snapshot and resource definition it finds (which removes loop devices and
files), stops strand, then unmounts and detaches whatever is still under the directory.
"""

import hashlib
import os
import subprocess
import threading
import time

import pytest

from strandtest import (C, UpProcess, assert_has_code_bits, assert_no_error, get_json, http, is_root,
                        loop_devices_under, mounts_under, q, uniq)

pytestmark = pytest.mark.skipif(not is_root(), reason="strand up needs root (loop devices, mounts)")

MIB = 1024 * 1024
SIZE_KIB = 32 * 1024


class SnapshotUp(UpProcess):
    """`strand up` whose cleanup deletes snapshots before their resource definitions (an RD
    with snapshots cannot be deleted)."""

    def cleanup(self):
        try:
            if self.alive():
                for snap in get_json(self.url, "/v1/view/snapshots"):
                    http(self.url, "DELETE", "/v1/resource-definitions/{}/snapshots/{}".format(
                        q(snap["resource_name"]), q(snap["name"])), timeout=60)
        except Exception:  # noqa: BLE001 - cleanup must go on whatever failed
            pass
        finally:
            super(SnapshotUp, self).cleanup()


@pytest.fixture(scope="module")
def up():
    proc = SnapshotUp("snap")
    try:
        proc.start()
        yield proc
    finally:
        proc.cleanup()
        assert loop_devices_under(proc.tmpdir) == [], "loop devices left behind"
        assert mounts_under(proc.tmpdir) == [], "mounts left behind"


@pytest.fixture(scope="module")
def api(up):
    client = up.client()
    try:
        yield client
    finally:
        client.disconnect()


# --------------------------------------------------------------------------------------------
# helpers


def errors(replies):
    return [r for r in replies if (r["ret_code"] if isinstance(r, dict) else r.ret_code) < 0
            and ((r["ret_code"] if isinstance(r, dict) else r.ret_code) >> 62) & 3 == 3]


def device_of(url, rd, number=0):
    for resource in get_json(url, "/v1/view/resources?resources=" + q(rd)):
        for volume in resource.get("volumes", []):
            if volume.get("volume_number") == number:
                return volume["device_path"]
    raise AssertionError("no device for {} volume {}".format(rd, number))


def write_random(path, chunks=((0, 4 * MIB), (11 * MIB, 1 * MIB), (31 * MIB, 512 * 1024))):
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset, length in chunks:
            os.pwrite(fd, os.urandom(length), offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def checksum(path):
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        offset = 0
        while True:
            block = os.pread(fd, 4 * MIB, offset)
            if not block:
                break
            digest.update(block)
            offset += len(block)
    finally:
        os.close(fd)
    return digest.hexdigest()


def make_rd(api, up, name=None, size_kib=SIZE_KIB, props=None):
    name = name or uniq("snap")
    assert_no_error(api.resource_dfn_create(name), "rd " + name)
    if props:
        assert_no_error(api.resource_dfn_modify(name, props), "props " + name)
    assert_no_error(api.volume_dfn_create(name, size_kib), "vd " + name)
    resp = http(up.url, "POST", "/v1/resource-definitions/{}/resources".format(q(name)),
                body=[{"resource": {"node_name": up.node}}], timeout=60)
    assert resp.status == 201 and not errors(resp.json), resp
    return name


def snapshot(api, rd, name):
    replies = api.snapshot_create(None, rd, name)
    assert_no_error(replies, "snapshot {}/{}".format(rd, name))
    return replies


def snapshot_names(api, rd):
    return sorted(s.name for s in api.snapshot_dfn_list(filter_by_resources=[rd])[0].snapshots)


def delete_everything(api, rd):
    for name in snapshot_names(api, rd):
        assert_no_error(api.snapshot_delete(rd, name), "delete snapshot")
    assert_no_error(api.resource_dfn_delete(rd), "delete " + rd)


# --------------------------------------------------------------------------------------------
# tests


def test_default_pool_is_on_a_reflink_filesystem(up):
    pools = {p["storage_pool_name"]: p for p in get_json(up.url, "/v1/view/storage-pools")}
    assert pools["DfltStorPool"]["supports_snapshots"] is True
    assert pools["DfltStorPool"]["static_traits"]["SupportsSnapshots"] == "true"
    pools_dir = os.path.join(up.data_dir, "pools")
    fstype = subprocess.run(["stat", "-f", "-c", "%T", up.data_dir], capture_output=True, text=True).stdout.strip()
    if fstype not in ("xfs", "btrfs"):
        assert mounts_under(pools_dir) == [os.path.realpath(pools_dir)], "the XFS image is mounted once"
        assert os.path.isfile(os.path.join(up.data_dir, "pools.xfs"))
        with open(up.logs[0]) as log:
            assert log.read().count("sparse XFS image") == 1, "said once"


def test_rollback_to_any_snapshot_then_restore_and_clone(api, up):
    rd = make_rd(api, up, props={"Aux/Incus/name": "incus-src", "Aux/Incus/type": "custom"})
    device = device_of(up.url, rd)
    assert device.startswith(up.dev_dir + "/")
    write_random(device)
    sum1 = checksum(device)
    before = int(time.time() * 1000)
    snapshot(api, rd, "s1")
    write_random(device)
    sum2 = checksum(device)
    snapshot(api, rd, "s2")
    write_random(device)
    sum3 = checksum(device)
    assert len({sum1, sum2, sum3}) == 3

    listed = {s["name"]: s for s in get_json(up.url, "/v1/resource-definitions/{}/snapshots".format(q(rd)))}
    assert sorted(listed) == ["s1", "s2"]
    s1 = listed["s1"]
    assert s1["flags"] == ["SUCCESSFUL"] and s1["resource_name"] == rd and s1["nodes"] == [up.node]
    assert s1["volume_definitions"] == [{"volume_number": 0, "size_kib": SIZE_KIB}]
    assert before - 1000 <= s1["snapshots"][0]["create_timestamp"] <= int(time.time() * 1000)
    assert s1["snapshots"][0]["snapshot_volumes"][0]["vlm_nr"] == 0

    # Back to the OLDER snapshot: its data, and the newer snapshot is kept.
    assert_no_error(api.snapshot_rollback(rd, "s1"), "rollback s1")
    assert checksum(device_of(up.url, rd)) == sum1
    assert snapshot_names(api, rd) == ["s1", "s2"]
    assert_no_error(api.snapshot_rollback(rd, "s2"), "rollback s2")
    assert checksum(device_of(up.url, rd)) == sum2
    assert_no_error(api.snapshot_rollback(rd, "s1"), "rollback s1 again")
    assert checksum(device_of(up.url, rd)) == sum1

    # Restore s1 into a new resource definition.
    restored = uniq("rst")
    assert_no_error(api.resource_dfn_create(restored), "restore target")
    assert_no_error(api.snapshot_volume_definition_restore(rd, "s1", restored), "restore vd")
    replies = api.snapshot_resource_restore(None, rd, "s1", restored)
    assert_no_error(replies, "restore resource")
    assert checksum(device_of(up.url, restored)) == sum1

    # Clone (from the data as it is now: s1's), with its own identity from the first moment.
    assert_no_error(api.snapshot_rollback(rd, "s2"), "rollback s2")
    clone = uniq("cln")
    started = api.resource_dfn_clone(rd, clone, property_dict={"Aux/Incus/name": "incus-clone"},
                                     delete_props=["Aux/Incus/type"])
    assert started.location == "/v1/resource-definitions/{}/clone/{}".format(rd, clone)
    assert started.clone_name == clone and started.source_name == rd
    assert api.resource_dfn_clone_wait_complete(rd, clone, wait_interval=0.2, timeout=60) is True
    status = get_json(up.url, "/v1/resource-definitions/{}/clone/{}".format(q(rd), q(clone)))
    assert status == {"status": "COMPLETE"}
    props = get_json(up.url, "/v1/resource-definitions/" + q(clone))["props"]
    assert props["cloned-from"] == rd
    assert props["Aux/Incus/name"] == "incus-clone"
    assert "Aux/Incus/type" not in props
    by_identity = get_json(up.url, "/v1/resource-definitions?props=Aux/Incus/name%3Dincus-src")
    assert [r["name"] for r in by_identity] == [rd], "only the source carries its identity"
    assert checksum(device_of(up.url, clone)) == sum2

    # The three are independent: writing one changes no other.
    write_random(device_of(up.url, clone))
    assert checksum(device_of(up.url, rd)) == sum2
    assert checksum(device_of(up.url, restored)) == sum1

    for name in (clone, restored):
        assert_no_error(api.resource_dfn_delete(name), "delete " + name)
    delete_everything(api, rd)
    assert os.listdir(up.pool_dir) == []


def test_twenty_clones_at_once_all_complete(api, up):
    src = make_rd(api, up, size_kib=8 * 1024)
    device = device_of(up.url, src)
    write_random(device, chunks=((0, 2 * MIB), (7 * MIB, MIB)))
    expected = checksum(device)
    names = [uniq("c{}x".format(i)) for i in range(20)]
    answers = {}

    def start(name):
        answers[name] = http(up.url, "POST", "/v1/resource-definitions/{}/clone".format(q(src)),
                             body={"name": name}, timeout=120)

    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    for name in names:
        resp = answers[name]
        assert resp.status == 201, resp
        assert resp.json["location"] == "/v1/resource-definitions/{}/clone/{}".format(src, name)
    deadline = time.monotonic() + 120
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            status = get_json(up.url, "/v1/resource-definitions/{}/clone/{}".format(q(src), q(name)))["status"]
            assert status in ("CLONING", "COMPLETE"), status
            if status == "COMPLETE":
                pending.discard(name)
        time.sleep(0.2)
    assert not pending, "not complete: {}".format(sorted(pending))
    for name in names:
        assert checksum(device_of(up.url, name)) == expected, name
    for name in names + [src]:
        assert_no_error(api.resource_dfn_delete(name), "delete " + name)


def test_rollback_of_a_mounted_volume_is_refused(api, up):
    rd = make_rd(api, up)
    device = device_of(up.url, rd)
    subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True)
    mnt = os.path.join(up.tmpdir, "mnt-" + rd)
    os.makedirs(mnt)
    subprocess.run(["mount", device, mnt], check=True)
    try:
        with open(os.path.join(mnt, "hello"), "w") as f:
            f.write("before")
        subprocess.run(["sync"], check=True)
        snapshot(api, rd, "m1")
        replies = api.snapshot_rollback(rd, "m1")
        assert_has_code_bits(replies, C.MASK_ERROR | C.FAIL_IN_USE, "rollback while mounted")
        entry = [r for r in replies if r.is_error()][0]
        assert "still in use" in entry.message and entry.correction, entry
        raw = http(up.url, "POST", "/v1/resource-definitions/{}/snapshot-rollback/m1".format(q(rd)), body={})
        assert raw.status == 500, raw
        with open(os.path.join(mnt, "hello")) as f:
            assert f.read() == "before"
        with open(os.path.join(mnt, "hello"), "w") as f:
            f.write("after")
    finally:
        subprocess.run(["umount", mnt], check=True)
    assert_no_error(api.snapshot_rollback(rd, "m1"), "rollback once unmounted")
    subprocess.run(["mount", device_of(up.url, rd), mnt], check=True)
    try:
        with open(os.path.join(mnt, "hello")) as f:
            assert f.read() == "before"
    finally:
        subprocess.run(["umount", mnt], check=True)
    delete_everything(api, rd)


def test_a_resource_definition_with_snapshots_cannot_be_deleted(api, up):
    rd = make_rd(api, up)
    snapshot(api, rd, "keep")
    snap_file = os.path.join(up.pool_dir, "{}_00000_keep.img".format(rd))
    assert os.path.isfile(snap_file)
    replies = api.resource_dfn_delete(rd)
    assert_has_code_bits(replies, C.MASK_ERROR | C.FAIL_EXISTS_SNAPSHOT_DFN, "delete with snapshots")
    assert get_json(up.url, "/v1/resource-definitions/" + q(rd))["name"] == rd
    assert os.path.isfile(os.path.join(up.pool_dir, "{}_00000.img".format(rd)))
    assert_no_error(api.snapshot_delete(rd, "keep"), "delete snapshot")
    assert not os.path.exists(snap_file), "the file goes with its snapshot"
    assert_no_error(api.resource_dfn_delete(rd), "delete")


def test_snapshot_and_restore_errors(api, up):
    rd = make_rd(api, up)
    snapshot(api, rd, "s1")
    again = http(up.url, "POST", "/v1/resource-definitions/{}/snapshots".format(q(rd)), body={"name": "S1"})
    assert again.status == 500
    assert_has_code_bits(again.json, C.MASK_ERROR | C.FAIL_EXISTS_SNAPSHOT_DFN, "same name")
    bad = http(up.url, "POST", "/v1/resource-definitions/{}/snapshots".format(q(rd)), body={"name": "1bad"})
    assert_has_code_bits(bad.json, C.MASK_ERROR | C.FAIL_INVLD_SNAPSHOT_NAME, "invalid name")
    missing = http(up.url, "GET", "/v1/resource-definitions/{}/snapshots/nope".format(q(rd)))
    assert missing.status == 404
    rb = http(up.url, "POST", "/v1/resource-definitions/{}/snapshot-rollback/nope".format(q(rd)), body={})
    assert rb.status == 404
    assert_has_code_bits(rb.json, C.MASK_ERROR | C.FAIL_NOT_FOUND_SNAPSHOT_DFN, "rollback to nothing")
    unknown = http(up.url, "POST", "/v1/resource-definitions/{}/snapshots".format(q(rd)),
                   body={"name": "x1", "bogus": 1})
    assert unknown.status == 400

    # Target that already has resources.
    busy = make_rd(api, up)
    replies = api.snapshot_resource_restore(None, rd, "s1", busy)
    assert_has_code_bits(replies, C.MASK_ERROR | C.FAIL_EXISTS_RSC, "target has resources")
    # Sizes that differ.
    other = uniq("sz")
    assert_no_error(api.resource_dfn_create(other), "rd")
    assert_no_error(api.volume_dfn_create(other, SIZE_KIB * 2), "vd")
    replies = api.snapshot_resource_restore(None, rd, "s1", other)
    assert_has_code_bits(replies, C.MASK_ERROR | C.FAIL_INVLD_VLM_SIZE, "size differs")
    assert get_json(up.url, "/v1/resource-definitions/{}/resources".format(q(other))) == []
    # Nothing to restore (volume definitions not restored first).
    empty = uniq("em")
    assert_no_error(api.resource_dfn_create(empty), "rd")
    replies = api.snapshot_resource_restore(None, rd, "s1", empty)
    assert_no_error(replies, "restore without volumes")
    warnings = [r for r in replies if r.is_warning()]
    assert any(w.message == "No volumes to restore." for w in warnings), replies
    assert_has_code_bits(replies, C.MASK_WARN | C.WARN_NOT_FOUND, "nothing to restore")
    # Deleting what is not there is a warning.
    gone = http(up.url, "DELETE", "/v1/resource-definitions/{}/snapshots/nope".format(q(rd)))
    assert gone.status == 200
    assert_has_code_bits(gone.json, C.MASK_WARN | C.WARN_NOT_FOUND, "delete unknown")
    for name in (busy, other, empty):
        assert_no_error(api.resource_dfn_delete(name), "delete " + name)
    delete_everything(api, rd)


def test_views_props_multi_and_per_node_delete(api, up):
    a, b = make_rd(api, up), make_rd(api, up)
    replies = api.snapshot_create_multi(None, [a, b], "both")
    assert_no_error(replies, "multi")
    view = get_json(up.url, "/v1/view/snapshots?resources={}&resources={}".format(q(a), q(b)))
    assert sorted((s["resource_name"], s["name"]) for s in view) == sorted([(a, "both"), (b, "both")])
    assert all(s["flags"] == ["SUCCESSFUL"] for s in view)
    assert get_json(up.url, "/v1/view/snapshots?nodes={}&resources={}".format(q(up.node), q(a)))[0]["name"] == "both"
    assert get_json(up.url, "/v1/view/snapshots?nodes=other-node&resources={}".format(q(a))) == []
    assert len(get_json(up.url, "/v1/view/snapshots?resources={}&resources={}&limit=1".format(q(a), q(b)))) == 1
    # A multi snapshot that cannot be taken whole is not taken at all.
    failed = http(up.url, "POST", "/v1/actions/snapshot/multi",
                  body={"snapshots": [{"name": "half", "resource_name": a},
                                      {"name": "half", "resource_name": "no-such-rd"}]})
    assert failed.status == 404, failed
    assert [s["name"] for s in get_json(up.url, "/v1/resource-definitions/{}/snapshots".format(q(a)))] == ["both"]
    assert_no_error(api.snapshot_dfn_modify(a, "both", {"Aux/note": "kept"}), "modify")
    one = get_json(up.url, "/v1/resource-definitions/{}/snapshots/both".format(q(a)))
    assert one["snapshot_definition_props"] == {"Aux/note": "kept"}
    not_there = api.snapshot_delete(a, "both", ["other-node"])
    assert_has_code_bits(not_there, C.MASK_WARN | C.WARN_NOT_FOUND, "not on that node")
    assert_no_error(api.snapshot_delete(a, "both", [up.node]), "per node")
    assert snapshot_names(api, a) == []
    for rd in (a, b):
        delete_everything(api, rd)


def test_pools_without_reflink_refuse_snapshots_and_clone_by_copy(api, up):
    ext_dir = os.path.join(up.tmpdir, "plain-pool")
    os.makedirs(ext_dir)
    fstype = subprocess.run(["stat", "-f", "-c", "%T", ext_dir], capture_output=True, text=True).stdout.strip()
    if fstype in ("xfs", "btrfs"):
        pytest.skip("the temporary directory's filesystem makes reflink copies")
    pool = uniq("plain")
    assert_no_error(api.storage_pool_create(up.node, pool, "FILE_THIN", ext_dir), "pool")
    rd = uniq("pl")
    assert_no_error(api.resource_dfn_create(rd), "rd")
    assert_no_error(api.volume_dfn_create(rd, SIZE_KIB), "vd")
    resp = http(up.url, "POST", "/v1/resource-definitions/{}/resources".format(q(rd)),
                body=[{"resource": {"node_name": up.node, "props": {"StorPoolName": pool}}}], timeout=60)
    assert resp.status == 201 and not errors(resp.json), resp
    write_random(device_of(up.url, rd))
    expected = checksum(device_of(up.url, rd))

    replies = api.snapshot_create(None, rd, "nope")
    assert_has_code_bits(replies, C.MASK_ERROR | C.FAIL_SNAPSHOTS_NOT_SUPPORTED, "no reflink")
    entry = [r for r in replies if r.is_error()][0]
    assert "XFS" in entry.correction and "btrfs" in entry.correction, entry.correction
    assert snapshot_names(api, rd) == []
    assert sorted(os.listdir(ext_dir)) == ["{}_00000.img".format(rd)]

    clone = uniq("cp")
    started = api.resource_dfn_clone(rd, clone)
    assert started.clone_name == clone
    assert api.resource_dfn_clone_wait_complete(rd, clone, wait_interval=0.2, timeout=120) is True
    assert checksum(device_of(up.url, clone)) == expected
    for name in (clone, rd):
        assert_no_error(api.resource_dfn_delete(name), "delete " + name)
    assert_no_error(api.storage_pool_delete(up.node, pool), "delete pool")
    assert os.listdir(ext_dir) == []


def test_snapshots_survive_a_restart(api, up):
    rd = make_rd(api, up)
    device = device_of(up.url, rd)
    write_random(device)
    sum1 = checksum(device)
    snapshot(api, rd, "old")
    write_random(device)
    up.stop()
    up.start()
    pools_dir = os.path.join(up.data_dir, "pools")
    assert len([m for m in mounts_under(up.data_dir) if m == os.path.realpath(pools_dir)]) <= 1
    again = up.client()
    try:
        snap = get_json(up.url, "/v1/resource-definitions/{}/snapshots/old".format(q(rd)))
        assert snap["flags"] == ["SUCCESSFUL"]
        assert os.path.isfile(os.path.join(up.pool_dir, "{}_00000_old.img".format(rd)))
        assert_no_error(again.snapshot_rollback(rd, "old"), "rollback after restart")
        assert checksum(device_of(up.url, rd)) == sum1
        delete_everything(again, rd)
    finally:
        again.disconnect()
