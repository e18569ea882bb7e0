"""Helpers shared by the benchmark modules: ports, processes and what /proc
says about them, plain HTTP, and http-network nodes on loopback.

Blocks and transactions are made with the functional tests' own helpers
(tests/functional/conftest.py: Key, payment, block_on, ...), which build every
text exactly as reference nodes do."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "functional"))
import conftest  # noqa: E402  (Key, payment, block_on, GENESIS_HASH, ...)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, what, timeout=30.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# ---- /proc --------------------------------------------------------------------------

def cpu_seconds(pid):
    """User + system CPU time of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def memory_kib(pid):
    """{"VmRSS": kib, "VmHWM": kib} of a process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1])
    return out


def stop(proc, timeout=15):
    """SIGTERM, then SIGKILL when it is ignored; returns the exit status."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# ---- HTTP ---------------------------------------------------------------------------

def request(port, method, path, body=None, timeout=30):
    """One request on a fresh connection: (status, headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(port, path):
    status, _, body = request(port, "GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path} on {port}: {status} {body[:200]!r}")
    return json.loads(body)


def post_json(port, path, text):
    status, _, body = request(port, "POST", path, text.encode())
    if status != 200:
        raise RuntimeError(f"POST {path} on {port}: {status} {body[:300]!r}")
    return json.loads(body)


def read_response(sock, buf=b""):
    """Reads one HTTP response with a Content-Length from a socket:
    (head text, body bytes, rest). Raises when the server closes first."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection before answering")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    head = head.decode("latin-1")
    length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n")[1:]
                  if line.lower().startswith("content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection in the middle of a body")
        rest += chunk
    return head, rest[:length], rest[length:]


def keep_alive_bodies(port, path, n=3):
    """Sends n GETs one after the other on one connection and returns the
    bodies: proof that the server keeps the connection open between them."""
    bodies = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        rest = b""
        for _ in range(n):
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            head, body, rest = read_response(s, rest)
            status = int(head.split()[1])
            if status != 200:
                raise RuntimeError(f"GET {path}: {head.splitlines()[0]}")
            if "connection: close" in head.lower():
                raise RuntimeError(f"GET {path}: the server closes the connection after one answer")
            bodies.append(body)
    return bodies


# ---- http-network nodes -------------------------------------------------------------

class Node:
    """A cheesed --network http process on 127.0.0.1 with its own directory."""

    def __init__(self, ctx, name, args=(), peers=None, port=None, log_level="notice"):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.log_path = os.path.join(self.dir, "node.log")
        self.args = [os.path.join(ctx.build, "cheesed"), "--network", "http",
                     "--host", "127.0.0.1", "--port", str(self.port),
                     "--api-port", str(free_port()),
                     "--datadir", os.path.join(self.dir, "data"), "--log-level", log_level]
        if peers is not None:
            path = os.path.join(self.dir, "peers-default.json")
            with open(path, "w") as f:
                json.dump({"peers": list(peers)}, f)
            self.args += ["--peers-default", path]
        self.args += list(args)
        self.proc = None
        self.pub = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        # cwd = its own directory: no ./peers-default.json is picked up
        self.proc = self.ctx.spawn(self.args, cwd=self.dir, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"cheesed on {self.port} exited with {self.proc.returncode}: "
                               f"{self.log()[-2000:]}")
        try:
            return request(self.port, "GET", "/getpeers", timeout=5)[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout=60):
        wait_until(self.answers, f"cheesed on {self.port} to answer", timeout)
        self.pub = next(line.split("public key: ", 1)[1].split()[0]
                        for line in self.log().splitlines() if "public key: " in line)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def height(self):
        return len(get_json(self.port, "/getblocks")["chain"]) - 1

    def stop(self):
        return stop(self.proc)


def chain_of_blocks(n, key, payments_per_block=0, parent=None, first_height=1):
    """n valid blocks on parent (the genesis by default), each paying its
    reward to key and, from the second on, holding payments from key to
    fresh keys. Returns conftest.Block objects (text, hash)."""
    parent = parent or conftest.GENESIS_HASH
    blocks = []
    for i in range(n):
        txs = []
        if i > 0 or first_height > 1:
            txs = [conftest.payment(key, conftest.Key().pub, 0.01)
                   for _ in range(payments_per_block)]
        block = conftest.block_on(parent, first_height + i, key.pub, txs)
        blocks.append(block)
        parent = block.hash
    return blocks
