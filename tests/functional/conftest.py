"""Fixtures and helpers for the functional tests of the http network node.

The tests start the real `cheesed` binary from $CHEESE_BUILD on loopback and
talk to it over plain sockets, the way reference nodes (seed 003) do. Every
text that is hashed or signed is built here in Python exactly as the
reference builds it (PROTOCOL.md A.1-A.3), independently of the C code.
"""
import datetime
import hashlib
import json
import os
import signal
import socket
import subprocess
import time

import ecdsa
import pytest

BUILD = os.environ.get("CHEESE_BUILD")
VECTORS = os.path.join(os.path.dirname(__file__), "..", "vectors", "http-network.json")
GENESIS_HASH = "00008c26fa89c80d23ce0b98afb3bff429f828253c008b562ca8599606cb60e3"
# generous: the test build runs under ASan; CHEESE_SLOW scales it for slower
# runs (memcheck, docs/testing.md)
WAIT_S = 30 * float(os.environ.get("CHEESE_SLOW", "1"))


def pytest_collection_modifyitems(config, items):
    if BUILD:
        return
    skip = pytest.mark.skip(reason="CHEESE_BUILD is not set: point it at the build "
                                   "directory holding cheesed and pyrepr (e.g. build/test)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


def vectors():
    with open(VECTORS) as f:
        return json.load(f)


def wait_until(condition, what, timeout=WAIT_S, interval=0.05):
    """Polls condition() until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_listening(port, proc, what):
    """Waits until port takes connections, or proc (a Popen) has exited;
    fails, with what proc wrote to stderr when it was piped, if it exited."""
    def listening():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return proc.poll() is not None
    wait_until(listening, what)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else f"{what}: exited"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- HTTP ------------------------------------------------------------------------

class Response:
    def __init__(self, raw):
        head, sep, body = raw.partition(b"\r\n\r\n")
        assert sep, f"no end of headers in answer: {raw[:300]!r}"
        lines = head.decode("ascii").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip()
                        for k, v in (line.split(":", 1) for line in lines[1:])}
        self.raw = raw
        self.body = body.decode()
        length = int(self.headers["content-length"])
        assert length == len(body), f"Content-Length {length} but {len(body)} body bytes"
        assert self.headers["content-type"] == "application/json"

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]}>"


def exchange(port, data, timeout=WAIT_S, shutdown=False):
    """Sends raw bytes, then reads the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def request(port, method, path, body=None, headers=()):
    if isinstance(body, str):
        body = body.encode()
    if not any(h.lower().startswith("host:") for h in headers):
        headers = [f"Host: 127.0.0.1:{port}", *headers]
    lines = [f"{method} {path} HTTP/1.1", "Connection: close", *headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    return Response(exchange(port, data))


def assert_error(resp, status, says=None):
    """An error answer: HTTP status N and exactly {"errcode": N, "errmsg": "..."}."""
    assert resp.status == status, resp
    doc = resp.json()
    assert set(doc) == {"errcode", "errmsg"}, resp
    assert doc["errcode"] == status, resp
    assert isinstance(doc["errmsg"], str) and len(doc["errmsg"].strip()) >= 5, resp
    if says:
        assert says.lower() in doc["errmsg"].lower(), resp
    return doc["errmsg"]


# ---- keys, transactions, blocks (PROTOCOL.md A.1-A.3) -------------------------------

def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def now_text():
    return datetime.datetime.now().isoformat()


class Key:
    def __init__(self, priv_hex=None):
        if priv_hex is None:
            self.sk = ecdsa.SigningKey.generate(curve=ecdsa.NIST192p)
        else:
            self.sk = ecdsa.SigningKey.from_string(bytes.fromhex(priv_hex), curve=ecdsa.NIST192p)
        self.pub = self.sk.get_verifying_key().to_string().hex()

    def sign(self, message):
        return self.sk.sign(message.encode()).hex()


def verify(pub_hex, signature_hex, message):
    vk = ecdsa.VerifyingKey.from_string(bytes.fromhex(pub_hex), curve=ecdsa.NIST192p)
    try:
        return vk.verify(bytes.fromhex(signature_hex), message.encode())
    except ecdsa.BadSignatureError:
        return False


def tx_message(frm, to, amount, timestamp):
    return (f'{{"from": "{frm}","to": "{to}","sum": {amount},'
            f'"timestamp": "{timestamp}"}}')


def signed_text(signature, message):
    return f'{{"signature": "{signature}","transaction": {message}}}'


def payment(key, to, amount, timestamp=None):
    """A signed transaction text, as the reference client makes it."""
    message = tx_message(key.pub, to, amount, timestamp or now_text())
    return signed_text(key.sign(message), message)


def reward(to, amount=1, timestamp=None):
    return signed_text("System", tx_message("System", to, amount, timestamp or now_text()))


def merkle_root(txids):
    level = list(txids)
    if len(level) % 2:
        level.append(level[-1])
    while len(level) > 1:
        level = [sha256_hex(level[i] + level[i + 1]) for i in range(len(level) - 1)]
    return level[0]


def block_text(nr, prev, timestamp, nonce, creator, root, count, txs, block_hash=None):
    """The block text; without block_hash, the hash pre-image."""
    hash_member = f'"hash": "{block_hash}",' if block_hash is not None else ""
    return (f'{{"nr": {nr},"previous_hash": "{prev}","timestamp": "{timestamp}",'
            f'"nonce": "{nonce}",{hash_member}"creator": "{creator}",'
            f'"merkle_root": "{root}","count": {count},"transactions": [{",".join(txs)}]}}')


class Block:
    def __init__(self, text, block_hash):
        self.text = text
        self.hash = block_hash


def make_block(prev, nr, txs, creator="python test miner", root=None, count=None,
               pow_ok=True, timestamp=None):
    """Mines a block; root and count default to the right ones. With pow_ok
    False the nonce is chosen so that the hash misses the proof of work."""
    root = root or merkle_root([sha256_hex(t) for t in txs])
    count = len(txs) if count is None else count
    timestamp = timestamp or now_text()
    for i in range(10_000_000):
        nonce = f"py{i:018d}"
        h = sha256_hex(block_text(nr, prev, timestamp, nonce, creator, root, count, txs))
        if h.startswith("0000") == pow_ok:
            return Block(block_text(nr, prev, timestamp, nonce, creator, root, count, txs, h), h)
    raise AssertionError("no nonce found")


def block_on(parent, nr, to, txs=(), **kw):
    """A block on parent paying its reward of 1 to `to`, after txs."""
    return make_block(parent, nr, [*txs, reward(to)], **kw)


def check_block(text):
    """Independent check of a block served by a node: layout, hash, proof of
    work, count, merkle root, and every signature. Returns the parsed block."""
    b = json.loads(text)
    txs = [signed_text(t["signature"], tx_message(t["transaction"]["from"],
                                                  t["transaction"]["to"],
                                                  t["transaction"]["sum"],
                                                  t["transaction"]["timestamp"]))
           for t in b["transactions"]]
    pre = block_text(b["nr"], b["previous_hash"], b["timestamp"], b["nonce"], b["creator"],
                     b["merkle_root"], b["count"], txs)
    assert block_text(b["nr"], b["previous_hash"], b["timestamp"], b["nonce"], b["creator"],
                      b["merkle_root"], b["count"], txs, b["hash"]) == text
    assert sha256_hex(pre) == b["hash"]
    assert b["hash"].startswith("0000")
    assert b["count"] == len(txs)
    assert merkle_root([sha256_hex(t) for t in txs]) == b["merkle_root"]
    for t in b["transactions"]:
        tx = t["transaction"]
        if tx["from"] == "System":
            assert t["signature"] == "System"
        else:
            message = tx_message(tx["from"], tx["to"], tx["sum"], tx["timestamp"])
            assert verify(tx["from"], t["signature"], message), t
    return b


# ---- the node --------------------------------------------------------------------------

class Node:
    """One cheesed process on 127.0.0.1 with its own data directory."""

    def __init__(self, workdir, n_transactions=None, extra=(), port=None):
        self.workdir = workdir
        self.datadir = os.path.join(workdir, "data")
        self.port = port or free_port()
        self.web_port = free_port()  # the explorer's (the default, port + 1000, may be taken)
        self.args = [os.path.join(BUILD, "cheesed"), "--network", "http",
                     "--host", "127.0.0.1", "--port", str(self.port), "--datadir", self.datadir,
                     "--api-port", str(self.web_port),
                     "--log-level", "info"]  # tests read info lines; a later one in extra wins
        if n_transactions is not None:
            self.args += ["--n-transactions", str(n_transactions)]
        self.args += list(extra)
        self.proc = None
        self.runs = 0

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self):
        return os.path.join(self.workdir, f"stderr-{self.runs}.log")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def start(self):
        self.runs += 1
        with open(self.log_path, "wb") as log:
            # cwd = workdir: no ./peers-default.json gets picked up
            self.proc = subprocess.Popen(self.args, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        wait_until(self._answers, f"node on port {self.port} to answer")
        line = next(line for line in self.log().splitlines() if "public key: " in line)
        self.pub = line.split("public key: ", 1)[1].split()[0]
        assert len(self.pub) == 96
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"cheesed exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return self.get("/getblocks").status == 200
        except OSError:
            return False

    def stop(self):
        """SIGTERM; the node must exit 0 (ASan reports make it non-zero)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"cheesed ignored SIGTERM:\n{self.log()}")
        log = self.log()
        assert code == 0, f"cheesed exited with {code}:\n{log[-6000:]}"
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in log, log[-6000:]

    def restart(self):
        self.stop()
        return self.start()

    # requests
    def get(self, path, **kw):
        return request(self.port, "GET", path, **kw)

    def post(self, path, body, **kw):
        return request(self.port, "POST", path, body, **kw)

    def post_ok(self, path, body):
        resp = self.post(path, body)
        assert resp.status == 200, resp
        return resp.json()

    # chain views
    def chain(self):
        resp = self.get("/getblocks")
        assert resp.status == 200, resp
        return resp.json()["chain"]

    def best(self):
        """The best chain's blocks (parsed), genesis first."""
        return [height[0] for height in self.chain()]

    def tip(self):
        return self.best()[-1]

    def block(self, block_hash):
        resp = self.get(f"/getdata?id={block_hash}")
        assert resp.status == 200, resp
        return resp.body

    def wait_height(self, height):
        return wait_until(lambda: len(self.chain()) > height and self.best(),
                          f"height {height} on {self.address}")

    def money(self, to, amount):
        return self.post("/money", f'{{"to": "{to}", "sum": {amount}}}')


def stop_all(procs):
    """Stops every process, then fails naming each that did not stop cleanly."""
    errors = []
    for proc in procs:
        try:
            proc.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


class NodeFactory:
    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.nodes = []

    def __call__(self, n_transactions=None, extra=(), start=True):
        node = Node(str(self.tmp.mktemp("node")), n_transactions, extra)
        self.nodes.append(node)
        return node.start() if start else node

    def stop_all(self):
        stop_all(self.nodes)


@pytest.fixture
def make_node(tmp_path_factory):
    factory = NodeFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def make_module_node(tmp_path_factory):
    factory = NodeFactory(tmp_path_factory)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """Headless Chromium (tests/functional/browser.py), one for the session."""
    import browser as browserlib
    yield from browserlib.start_browser(tmp_path_factory)


@pytest.fixture
def browser(chromium):
    """The session's Chromium on a blank page, its logs drained: what a page
    of an earlier test (its node gone) printed is not this test's."""
    chromium.reset()
    return chromium
