"""`strand up` with python-linstor: real loop-backed volumes on one machine (issue 4).

Root only: loop devices and /dev links need it. Every test runs its own `strand up` on a
temporary data directory and removes everything it made, even when it fails.
"""

import hashlib
import os
import signal
import stat
import subprocess
import threading
import time

import pytest

from strandtest import (C, UpProcess, assert_has_code_bits, assert_no_error, get_json, http, is_root,
                        loop_devices_under, q, uniq)

pytestmark = pytest.mark.skipif(not is_root(), reason="strand up needs root (loop devices, /dev links)")

GIB_KIB = 1024 * 1024


@pytest.fixture
def up():
    proc = UpProcess("up")
    try:
        proc.start()
        yield proc
    finally:
        proc.cleanup()


def make_group(api, place_count=1):
    name = uniq("rg")
    assert_no_error(api.resource_group_create(name, place_count=place_count, storage_pool="DfltStorPool"), "rg")
    return name


def volumes_of(url, rd):
    resources = get_json(url, "/v1/view/resources?resources=" + q(rd))
    return [v for r in resources for v in r.get("volumes", [])]


def device_of(url, rd, number=0):
    for volume in volumes_of(url, rd):
        if volume.get("volume_number") == number:
            return volume["device_path"]
    raise AssertionError("no device for {} volume {}".format(rd, number))


def device_size(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def write_at(path, offset, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_at(path, offset, length):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def test_spawn_resize_make_available_and_delete(up):
    api = up.client()
    group = make_group(api)
    rd = uniq("vol")
    assert_no_error(api.resource_group_spawn(group, rd, ["1G"]), "spawn")

    device = device_of(up.url, rd)
    assert device.startswith(up.dev_dir + "/"), device
    assert stat.S_ISBLK(os.stat(device).st_mode), "{} is not a block device".format(device)
    assert device_size(device) == GIB_KIB * 1024

    data = os.urandom(4 << 20)
    write_at(device, 512 << 20, data)
    assert read_at(device, 512 << 20, len(data)) == data

    assert_no_error(api.volume_dfn_modify(rd, 0, size=2 * GIB_KIB), "grow")
    assert device_size(device_of(up.url, rd)) == 2 * GIB_KIB * 1024
    assert_no_error(api.volume_dfn_modify(rd, 0, size=GIB_KIB), "shrink")
    assert device_size(device_of(up.url, rd)) == GIB_KIB * 1024
    assert read_at(device_of(up.url, rd), 512 << 20, len(data)) == data

    # make-available on an RD without resources creates one, then does nothing.
    lonely = uniq("ma")
    assert_no_error(api.resource_group_spawn(group, lonely, ["64M"], definitions_only=True), "spawn defs")
    assert get_json(up.url, "/v1/resource-definitions/{}/resources".format(q(lonely))) == []
    first = http(up.url, "POST", "/v1/resource-definitions/{}/resources/{}/make-available".format(q(lonely), q(up.node)),
                 body={})
    assert first.status == 200 and not [e for e in first.json if e["ret_code"] < 0], first
    second = http(up.url, "POST", "/v1/resource-definitions/{}/resources/{}/make-available".format(q(lonely), q(up.node)),
                  body={})
    assert second.status == 200, second
    resources = get_json(up.url, "/v1/resource-definitions/{}/resources".format(q(lonely)))
    assert [r["node_name"] for r in resources] == [up.node]
    assert len(loop_devices_under(os.path.join(up.pool_dir))) == 2

    for name in (rd, lonely):
        assert_no_error(api.resource_dfn_delete(name), "delete " + name)
    assert loop_devices_under(up.pool_dir) == []
    assert os.listdir(up.pool_dir) == []
    assert not os.path.exists(os.path.join(up.dev_dir, rd))


def test_default_pool_and_node(up):
    nodes = get_json(up.url, "/v1/nodes")
    assert [(n["name"], n["type"], n["connection_status"]) for n in nodes] == [(up.node, "COMBINED", "ONLINE")]
    pools = {p["storage_pool_name"]: p for p in get_json(up.url, "/v1/view/storage-pools")}
    pool = pools["DfltStorPool"]
    assert pool["provider_kind"] == "FILE_THIN"
    assert pool["props"]["StorDriver/StorPoolName"] == up.pool_dir
    assert pool["total_capacity"] > 0 and pool["free_capacity"] > 0


def test_diskless_needs_drbd(up):
    api = up.client()
    rd = uniq("dl")
    assert_no_error(api.resource_group_spawn(make_group(api), rd, ["16M"], definitions_only=True), "spawn")
    resp = http(up.url, "POST", "/v1/resource-definitions/{}/resources".format(q(rd)),
                body=[{"resource": {"node_name": up.node, "flags": ["DISKLESS"]}}])
    assert resp.status == 500, resp
    assert_has_code_bits(resp.json, C.MASK_ERROR | C.FAIL_STLT_DOES_NOT_SUPPORT_LAYER, "diskless")
    assert "DRBD" in resp.json[0].get("cause", "")


def spawn_and_mark(url, group, name, answered, lock):
    resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(group)),
                body={"resource_definition_name": name, "volume_sizes": [16 * 1024]}, timeout=60)
    if resp.status != 201 or any(e["ret_code"] < 0 and (e["ret_code"] >> 62) & 3 == 3 for e in resp.json):
        return
    device = device_of(url, name)
    marker = hashlib.sha256(name.encode()).digest()
    write_at(device, 4096, marker)
    with lock:
        answered.append(name)


def test_sigkill_during_spawns_leaves_no_orphans(up):
    api = up.client()
    group = make_group(api)
    answered, lock, stop = [], threading.Lock(), threading.Event()

    def worker(worker_id):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                spawn_and_mark(up.url, group, "k{}x{}x{}".format(worker_id, n, os.getpid() % 1000), answered, lock)
            except OSError:
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    up.kill(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert answered, "no spawn was answered before the kill"

    up.start()
    rds = {rd["name"] for rd in get_json(up.url, "/v1/resource-definitions")}
    for name in answered:
        assert name in rds, "answered spawn {} lost".format(name)
        device = device_of(up.url, name)
        assert read_at(device, 4096, 32) == hashlib.sha256(name.encode()).digest(), name
    files = sorted(os.listdir(up.pool_dir))
    expected = sorted("{}_00000.img".format(name) for name in rds)
    assert files == expected, "files without RD (or RDs without file): {} vs {}".format(files, expected)
    devices = loop_devices_under(up.pool_dir)
    assert len(devices) == len(rds), "one loop device per volume: {} for {}".format(devices, rds)


def test_volumes_come_back_after_their_loop_devices_are_gone(up):
    api = up.client()
    group = make_group(api)
    names = [uniq("rb") for _ in range(3)]
    for name in names:
        assert_no_error(api.resource_group_spawn(group, name, ["32M"]), "spawn")
        write_at(device_of(up.url, name), 0, name.encode())
    up.stop()
    for dev in loop_devices_under(up.pool_dir):
        subprocess.run(["losetup", "-d", dev], check=True)
    assert loop_devices_under(up.pool_dir) == []
    up.start()
    for name in names:
        link = os.path.join(up.dev_dir, name, "0")
        assert device_of(up.url, name) == link
        assert read_at(link, 0, len(name)) == name.encode()
    assert len(loop_devices_under(up.pool_dir)) == len(names)


def test_size_queries_follow_the_pool(up):
    """query-max-volume-size (per group and by filter) and query-size-info, as golinstor and
    the Proxmox plugin use them, answer from the pool's reported capacity."""
    api = up.client()
    group = make_group(api)
    pool = {p["storage_pool_name"]: p for p in get_json(up.url, "/v1/view/storage-pools")}["DfltStorPool"]
    by_group = get_json(up.url, "/v1/resource-groups/{}/query-max-volume-size".format(q(group)))
    [candidate] = by_group["candidates"]
    assert candidate["storage_pool"] == "DfltStorPool" and candidate["node_names"] == [up.node]
    # A thin pool may promise its free space times the oversubscription ratio (20).
    assert candidate["max_volume_size_kib"] >= pool["free_capacity"], (candidate, pool)
    assert candidate["all_thin"] is True
    by_filter = api.storage_pool_dfn_max_vlm_sizes(place_count=1, storage_pool_name="DfltStorPool")
    assert by_filter[0].candidates[0].max_volume_size == candidate["max_volume_size_kib"]
    info = http(up.url, "POST", "/v1/resource-groups/{}/query-size-info".format(q(group)), body={})
    assert info.status == 200, info
    space = info.json["space_info"]
    assert space["max_vlm_size_in_kib"] == candidate["max_volume_size_kib"]
    assert [r["node_name"] for r in space["next_spawn_result"]] == [up.node]
    too_many = http(up.url, "GET", "/v1/resource-groups/DfltRscGrp/query-max-volume-size")
    assert too_many.status == 500 and too_many.json[0]["ret_code"] < 0, too_many  # place_count 2, one node


def test_refuses_to_run_without_root(tmp_path):
    """Loop devices and /dev links need root: as another user `strand up` stops at once."""
    from strandtest import strand_bin
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", strand_bin(), "up",
         "--listen", "127.0.0.1:1", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "needs root" in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()
