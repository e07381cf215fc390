"""SIGKILL the controller while clients are creating objects; after a restart every create that
was answered with success is there and complete, and nothing half-written exists.

Each create is one API call:
- an RD: spawn definitions_only from a resource group with one volume group, with one volume
  size and one Aux prop -> complete means RD + VD 0 of that size + the prop;
- a node: POST /v1/nodes with a net interface and an Aux prop -> complete means the node with
  that net interface, the prop and its DfltDisklessStorPool.
"""

import http.client as httpclient
import json
import random
import threading
import time

from strandtest import ControllerProcess, get_json, http, is_error, q, split_url

RD_WORKERS = 4
NODE_WORKERS = 1
ROUNDS = 4
PREFIX_RD = "crashrd"
PREFIX_NODE = "crashnode"
RG = "CrashGrp"
PROP_KEY = "Aux/crash/id"


def vd_size(index):
    return 1024 + (index % 97) * 8


class Worker(threading.Thread):
    """Creates objects as fast as one keep-alive connection allows until the controller dies."""

    def __init__(self, url, kind, worker_id, round_no):
        super(Worker, self).__init__(daemon=True)
        self.url = url
        self.kind = kind
        self.worker_id = worker_id
        self.round_no = round_no
        self.answered = {}      # name -> size (or address) for creates answered with success
        self.sent = set()       # every name a request was (at least partly) sent for
        self.unexpected = []    # answers that were neither success nor a connection loss
        self.stop = threading.Event()

    def request_for(self, i):
        if self.kind == "rd":
            name = "{}{}x{}x{}".format(PREFIX_RD, self.round_no, self.worker_id, i)
            body = {"resource_definition_name": name, "volume_sizes": [vd_size(i)],
                    "definitions_only": True, "resource_definition_props": {PROP_KEY: name}}
            return name, vd_size(i), "/v1/resource-groups/{}/spawn".format(RG), body
        name = "{}{}x{}x{}".format(PREFIX_NODE, self.round_no, self.worker_id, i)
        address = "10.77.{}.{}".format(i // 250 % 250, i % 250 + 1)
        body = {"name": name, "type": "Satellite", "props": {PROP_KEY: name},
                "net_interfaces": [{"name": "default", "address": address, "satellite_port": 3366,
                                    "satellite_encryption_type": "PLAIN"}]}
        return name, address, "/v1/nodes", body

    def run(self):
        host, port = split_url(self.url)
        conn = httpclient.HTTPConnection(host, port, timeout=30)
        i = 0
        try:
            while not self.stop.is_set():
                name, expect, path, body = self.request_for(i)
                i += 1
                self.sent.add(name)
                try:
                    conn.request("POST", path, body=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    payload = resp.read()
                except (OSError, httpclient.HTTPException):
                    return  # the controller is gone
                try:
                    entries = json.loads(payload.decode("utf-8"))
                except ValueError:
                    self.unexpected.append((name, resp.status, payload[:300]))
                    continue
                if resp.status == 201 and not any(is_error(e["ret_code"]) for e in entries):
                    self.answered[name] = expect
                else:
                    self.unexpected.append((name, resp.status, entries))
        finally:
            conn.close()


def check_state(url, answered_rds, answered_nodes, sent_rds, sent_nodes):
    """Every answered create is complete; every object of ours that exists is complete."""
    rds = get_json(url, "/v1/resource-definitions?with_volume_definitions=true")
    ours = {r["name"]: r for r in rds if r["name"].startswith(PREFIX_RD)}
    problems = []
    for name, size in answered_rds.items():
        if name not in ours:
            problems.append("answered RD {} is missing".format(name))
    for name, rd in ours.items():
        if name not in sent_rds:
            problems.append("RD {} exists but was never requested".format(name))
            continue
        size = vd_size(int(name.rsplit("x", 1)[1]))
        vds = rd.get("volume_definitions", [])
        if [(v.get("volume_number"), v.get("size_kib")) for v in vds] != [(0, size)]:
            problems.append("RD {} is partial: volume definitions {}".format(name, vds))
        if rd.get("props", {}).get(PROP_KEY) != name:
            problems.append("RD {} is partial: props {}".format(name, rd.get("props")))
        if rd.get("resource_group_name") != RG:
            problems.append("RD {} is in group {}".format(name, rd.get("resource_group_name")))

    nodes = {n["name"]: n for n in get_json(url, "/v1/nodes") if n["name"].startswith(PREFIX_NODE)}
    pools = get_json(url, "/v1/view/storage-pools?storage_pools=DfltDisklessStorPool")
    with_diskless = {p["node_name"] for p in pools}
    for name in answered_nodes:
        if name not in nodes:
            problems.append("answered node {} is missing".format(name))
    for name, node in nodes.items():
        if name not in sent_nodes:
            problems.append("node {} exists but was never requested".format(name))
            continue
        if node.get("props", {}).get(PROP_KEY) != name:
            problems.append("node {} is partial: props {}".format(name, node.get("props")))
        netifs = node.get("net_interfaces", [])
        if len(netifs) != 1 or netifs[0].get("satellite_port") != 3366:
            problems.append("node {} is partial: net interfaces {}".format(name, netifs))
        elif name in answered_nodes and netifs[0].get("address") != answered_nodes[name]:
            problems.append("node {} has address {}".format(name, netifs[0].get("address")))
        if name not in with_diskless:
            problems.append("node {} has no DfltDisklessStorPool".format(name))

    # number pools stayed consistent: no two VDs share a DRBD minor
    minors = {}
    for rd in rds:
        for vd in rd.get("volume_definitions", []):
            for layer in vd.get("layer_data", []):
                if layer.get("type") == "DRBD" and "minor_number" in layer.get("data", {}):
                    minor = layer["data"]["minor_number"]
                    if minor in minors:
                        problems.append("minor {} used by {} and {}/{}".format(
                            minor, minors[minor], rd["name"], vd.get("volume_number")))
                    minors[minor] = "{}/{}".format(rd["name"], vd.get("volume_number"))
    return problems, len(ours), len(nodes)


def test_sigkill_during_creates_keeps_answered_and_complete():
    rnd = random.Random(20241121)
    ctrl = ControllerProcess("crash")
    try:
        url = ctrl.start()
        resp = http(url, "POST", "/v1/resource-groups", {"name": RG})
        assert resp.status == 201, resp
        resp = http(url, "POST", "/v1/resource-groups/{}/volume-groups".format(q(RG)), {"volume_number": 0})
        assert resp.status == 201, resp

        answered_rds, answered_nodes = {}, {}
        sent_rds, sent_nodes = set(), set()
        unexpected = []
        for round_no in range(ROUNDS):
            workers = [Worker(url, "rd", w, round_no) for w in range(RD_WORKERS)]
            workers += [Worker(url, "node", w, round_no) for w in range(NODE_WORKERS)]
            for w in workers:
                w.start()
            time.sleep(rnd.uniform(0.4, 1.2))
            alive_before_kill = ctrl.alive()
            ctrl.kill()
            for w in workers:
                w.join(timeout=60)
                assert not w.is_alive(), "a client did not notice the controller died"
            assert alive_before_kill, "controller died on its own:\n" + ctrl.log_tail()

            round_answered = 0
            for w in workers:
                target_answered, target_sent = (answered_rds, sent_rds) if w.kind == "rd" else (answered_nodes, sent_nodes)
                target_answered.update(w.answered)
                target_sent.update(w.sent)
                round_answered += len(w.answered)
                unexpected.extend(w.unexpected)
            assert not unexpected, "creates answered with something other than success: {}".format(unexpected[:5])
            assert round_answered > 0, "no create was answered before the kill in round {}".format(round_no)
            in_flight = sum(len(w.sent) - len(w.answered) for w in workers)

            url = ctrl.start()
            problems, n_rds, n_nodes = check_state(url, answered_rds, answered_nodes, sent_rds, sent_nodes)
            assert not problems, "after kill #{} ({} RDs, {} nodes present):\n{}".format(
                round_no + 1, n_rds, n_nodes, "\n".join(problems[:30]))
            # every request that went unanswered is either fully there or not at all: checked above;
            # the ones answered are all there
            assert n_rds >= len(answered_rds) and n_nodes >= len(answered_nodes)
            print("kill #{}: {} creates answered, {} in flight; after restart {} RDs and {} nodes".format(
                round_no + 1, round_answered, in_flight, n_rds, n_nodes))

        # the restarted controller still takes new work, and the minor pool continues correctly
        resp = http(url, "POST", "/v1/resource-groups/{}/spawn".format(q(RG)), {
            "resource_definition_name": "AfterTheKills", "volume_sizes": [4096],
            "definitions_only": True, "resource_definition_props": {PROP_KEY: "AfterTheKills"}})
        assert resp.status == 201, resp
        after = get_json(url, "/v1/resource-definitions?with_volume_definitions=true&resource_definitions=AfterTheKills")
        assert [v["size_kib"] for v in after[0]["volume_definitions"]] == [4096], after
        problems, _, _ = check_state(url, answered_rds, answered_nodes, sent_rds, sent_nodes)
        assert not problems, "\n".join(problems[:30])
    finally:
        ctrl.cleanup()
