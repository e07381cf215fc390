"""Shared helpers for the python-linstor tests against `strand controller`.

- `ControllerProcess` starts, kills and restarts one controller on its own data directory.
- `http()` sends one raw request (exact bytes, no client-side magic) and returns status,
  headers, body bytes and the decoded JSON (or None).
- `rc()` builds signed 64-bit LINSTOR ret codes from the masks python-linstor ships
  (`linstor.sharedconsts`, generated from LINSTOR's consts.json).
"""

import http.client as httpclient
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import linstor
from linstor import sharedconsts as C

HEALTH_TIMEOUT_S = 20.0


# --------------------------------------------------------------------------------------------
# ret codes


def signed64(value):
    """LINSTOR's ret_code is a Java long: masks with bit 63 set arrive as negative numbers."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= (1 << 63) else value


def rc(*parts):
    """OR the given masks/codes together and return the signed value the wire carries."""
    value = 0
    for part in parts:
        value |= part
    return signed64(value)


TYPE_BITS = C.MASK_BITS_TYPE
CODE_BITS = C.MASK_BITS_CODE
OBJ_BITS = C.MASK_BITS_OBJ
OP_BITS = C.MASK_BITS_OP


def code_of(ret_code):
    """Type and code bits only (what golinstor's `ApiCallRc.Is` compares)."""
    return signed64(ret_code & (TYPE_BITS | CODE_BITS))


def is_error(ret_code):
    return (ret_code & C.MASK_ERROR) == C.MASK_ERROR


def is_warning(ret_code):
    return (ret_code & TYPE_BITS) == C.MASK_WARN


def is_info(ret_code):
    return (ret_code & TYPE_BITS) == C.MASK_INFO


def describe(replies):
    """Readable form of an ApiCallRc list (dicts or python-linstor ApiCallResponse objects)."""
    out = []
    for r in replies:
        d = r if isinstance(r, dict) else getattr(r, "_rest_data", {"repr": repr(r)})
        out.append("{} {!r}".format(d.get("ret_code"), d.get("message")))
    return "[" + "; ".join(out) + "]"


def ret_codes(replies):
    return [r["ret_code"] if isinstance(r, dict) else r.ret_code for r in replies]


def assert_has_code(replies, expected, what=""):
    """The reply list contains an entry with exactly `expected` as ret_code."""
    codes = ret_codes(replies)
    assert expected in codes, "{}: expected ret_code {} in {}".format(what, expected, describe(replies))


def assert_has_code_bits(replies, expected, what=""):
    """The reply list contains an entry whose type+code bits equal `expected` (object and
    operation bits not compared)."""
    want = code_of(expected)
    assert any(code_of(c) == want for c in ret_codes(replies)), \
        "{}: expected an entry with code {} in {}".format(what, want, describe(replies))


def assert_no_error(replies, what=""):
    errors = [c for c in ret_codes(replies) if is_error(c)]
    assert not errors, "{}: unexpected error entries in {}".format(what, describe(replies))


def assert_success(replies, expected, what=""):
    """No error entries and one entry with exactly the expected success code."""
    assert_no_error(replies, what)
    assert_has_code(replies, expected, what)


def assert_apicallrc_list(body, what=""):
    """An error body is a JSON array of ApiCallRc objects: integer ret_code, string message."""
    assert isinstance(body, list), "{}: error body is not a JSON list: {!r}".format(what, body)
    assert body, "{}: error body is an empty list".format(what)
    for entry in body:
        assert isinstance(entry, dict), "{}: entry is not an object: {!r}".format(what, entry)
        code = entry.get("ret_code")
        assert isinstance(code, int) and not isinstance(code, bool), \
            "{}: ret_code is not an integer: {!r}".format(what, entry)
        assert -(1 << 63) <= code < (1 << 63), "{}: ret_code outside int64: {!r}".format(what, entry)
        assert isinstance(entry.get("message"), str), \
            "{}: message is not a string: {!r}".format(what, entry)


def find_empty(value, path="$"):
    """Paths of nulls, empty lists and empty maps anywhere in a JSON document (LINSTOR's
    Jackson NON_EMPTY leaves them out of responses)."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            p = "{}.{}".format(path, k)
            if v is None or v == [] or v == {}:
                found.append(p)
            else:
                found.extend(find_empty(v, p))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            p = "{}[{}]".format(path, i)
            if v is None or v == [] or v == {}:
                found.append(p)
            else:
                found.extend(find_empty(v, p))
    return found


# --------------------------------------------------------------------------------------------
# names


def uniq(prefix):
    """A valid LINSTOR name (starts with a letter, [A-Za-z0-9_-]) unique per call."""
    return "{}{}".format(prefix, uuid.uuid4().hex[:10])


def q(segment):
    """Percent-encode one path segment."""
    return urllib.parse.quote(str(segment), safe="")


# --------------------------------------------------------------------------------------------
# raw HTTP


class Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        self.json_error = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as err:
                self.json_error = err

    def __repr__(self):
        text = self.body[:600].decode("utf-8", "replace") if self.body else ""
        return "<HTTP {} {}>".format(self.status, text)


def split_url(url):
    parsed = urllib.parse.urlparse(url)
    return parsed.hostname, parsed.port


def http(url, method, path, body=None, raw=None, headers=None, timeout=30.0):
    """One request on a fresh connection. `body` is JSON-encoded; `raw` is sent as given."""
    host, port = split_url(url)
    conn = httpclient.HTTPConnection(host, port, timeout=timeout)
    try:
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        if raw is not None:
            data = raw
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), payload)
    finally:
        conn.close()


def get_json(url, path):
    resp = http(url, "GET", path)
    assert resp.status == 200, "GET {} -> {!r}".format(path, resp)
    assert resp.json_error is None, "GET {}: body is not JSON: {!r}".format(path, resp)
    return resp.json


# --------------------------------------------------------------------------------------------
# the controller process


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def strand_bin():
    path = os.environ.get("STRAND_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "target", "debug", "strand")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError("strand binary not found at {} (set STRAND_BIN)".format(path))
    return path


class ControllerProcess(object):
    """`strand controller --listen 127.0.0.1:<port> --data-dir <dir>`, with its output in a
    log file inside the temporary directory."""

    def __init__(self, name="ctrl"):
        self.binary = strand_bin()
        self.tmpdir = tempfile.mkdtemp(prefix="strand-test-{}-".format(name))
        self.data_dir = os.path.join(self.tmpdir, "data")
        self.proc = None
        self.port = None
        self.url = None
        self.starts = 0
        self.logs = []

    @property
    def log_path(self):
        return self.logs[-1] if self.logs else None

    def log_tail(self, limit=6000):
        chunks = []
        for path in self.logs:
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            chunks.append("--- {} ---\n{}".format(os.path.basename(path), text[-limit:]))
        return "\n".join(chunks)

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "controller already running"
        self.starts += 1
        self.port = free_port()
        self.url = "http://127.0.0.1:{}".format(self.port)
        log = os.path.join(self.tmpdir, "controller-{}.log".format(self.starts))
        self.logs.append(log)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [self.binary, "controller", "--listen", "127.0.0.1:{}".format(self.port),
                 "--data-dir", self.data_dir],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=dict(os.environ, RUST_BACKTRACE="1"),
            )
        self.wait_healthy()
        return self.url

    def wait_healthy(self, timeout=HEALTH_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("strand controller exited with {} before /health answered:\n{}"
                                   .format(self.proc.returncode, self.log_tail()))
            try:
                resp = http(self.url, "GET", "/health", timeout=2.0)
                if resp.status == 200:
                    return
                last = resp
            except OSError as err:
                last = err
            time.sleep(0.05)
        raise RuntimeError("strand controller did not answer GET /health with 200 within {} s "
                           "(last: {!r}):\n{}".format(timeout, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def stop(self):
        """Graceful first (SIGTERM), SIGKILL if that does not end it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def cleanup(self):
        try:
            self.kill()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def client(self, timeout=60):
        api = linstor.Linstor(self.url.replace("http://", "linstor://"), timeout=timeout)
        api.connect()
        return api


# --------------------------------------------------------------------------------------------
# `strand up`: controller + local satellite on real loop devices (root only)


def is_root():
    return os.geteuid() == 0


def loop_devices_under(directory):
    """Loop devices (/dev/loopN) whose backing file lies under `directory`."""
    found = []
    directory = os.path.realpath(directory)
    for name in os.listdir("/sys/block"):
        if not name.startswith("loop"):
            continue
        try:
            with open("/sys/block/{}/loop/backing_file".format(name)) as f:
                backing = f.read().strip()
        except OSError:
            continue
        backing = backing.replace(" (deleted)", "")
        if backing == directory or backing.startswith(directory + "/"):
            found.append("/dev/" + name)
    return found


def mounts_under(directory):
    """Mount points at or under `directory`, deepest first."""
    directory = os.path.realpath(directory)
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == directory or point.startswith(directory + "/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def release_under(directory):
    """Unmounts and detaches everything of ours under `directory` (best effort, for cleanup)."""
    for point in mounts_under(directory):
        subprocess.run(["umount", "-l", point], check=False)
    for dev in loop_devices_under(directory):
        subprocess.run(["losetup", "-d", dev], check=False)


class UpProcess(ControllerProcess):
    """`strand up` on its own data directory, device-link directory and node name. Cleanup
    deletes every resource definition (so the satellite removes its devices and files), stops
    strand, then releases anything still attached or mounted under the temporary directory."""

    def __init__(self, name="up"):
        super(UpProcess, self).__init__(name)
        self.dev_dir = os.path.join(self.tmpdir, "dev")
        self.node = "strand-test-{}-{}".format(os.getpid(), uuid.uuid4().hex[:6])

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "strand up already running"
        self.starts += 1
        self.port = free_port()
        self.url = "http://127.0.0.1:{}".format(self.port)
        log = os.path.join(self.tmpdir, "up-{}.log".format(self.starts))
        self.logs.append(log)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [self.binary, "up", "--listen", "127.0.0.1:{}".format(self.port),
                 "--data-dir", self.data_dir, "--dev-dir", self.dev_dir, "--node-name", self.node],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=dict(os.environ, RUST_BACKTRACE="1"),
            )
        self.wait_healthy(timeout=60)
        return self.url

    @property
    def pool_dir(self):
        return os.path.join(self.data_dir, "pools", "DfltStorPool")

    def cleanup(self):
        try:
            if self.alive():
                for rd in get_json(self.url, "/v1/resource-definitions"):
                    http(self.url, "DELETE", "/v1/resource-definitions/" + q(rd["name"]), timeout=60)
                self.stop()
        except Exception:  # noqa: BLE001 - cleanup must go on whatever failed
            pass
        finally:
            self.kill()
            release_under(self.tmpdir)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
