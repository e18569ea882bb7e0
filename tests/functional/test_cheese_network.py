"""The cheese network's node (cheesed --network cheese, PROTOCOL.md B) with
real processes on loopback: the real cheese-tracker from $CHEESE_BUILD, three
nodes, Python peers speaking raw TCP, and two tiny fake trackers that speak
only one spelling each.

Every text that is hashed or signed is built here in Python as the reference
builds it (json.dumps, the OrderedDict work text, PKCS#1 v1.5 signatures by
PyCryptodome), independently of the C code, and blocks the nodes serve are
checked the same way. Nothing here asserts a timing: the tests wait for
behaviour with generous timeouts.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
from Cryptodome.Hash import SHA256
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import pkcs1_15

from conftest import WAIT_S, free_port, stop_all, wait_until

BUILD = os.environ.get("CHEESE_BUILD")
GENESIS_SMELL = "589aabe32e398b6b8e3eab39ebdd3976b657dbdf8562251af0b04d2c6d1d6e0c"
GENESIS_TEXT = ('{"sequence_number": 0, "parent_smell": "", "transactions": [], "nonce": 100, '
                '"timestamp": 0}')
REWARD_SENDER = "CHEESECHAIN REWARD SYSTEM"
REWARD_SIGNATURE = "rewardtransactionsignature"
QUIET_S = 0.4  # an answer of unknown length is complete after this much silence
REFUSAL_QUIET_S = 0.15  # a refusal is one write: it comes whole
# the ids of both eras: 20 upper-case hex digits, or the seed era's 32 lower-case
GREETING = re.compile(rb"(PCONNECTACK:|Connection to peer )PID(?:[0-9A-F]{20}|[0-9a-f]{32})")
NEVER = 255    # --n-transactions that no test reaches


# ---- keys, transactions, blocks (PROTOCOL.md B.2-B.3) ---------------------------------

def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


class RsaKey:
    def __init__(self):
        self.key = RSA.generate(1024)
        self.pub = self.key.publickey().export_key(format="DER").hex()

    def sign(self, recipient, amount):
        digest = SHA256.new((self.pub + recipient + str(amount)).encode())
        return pkcs1_15.new(self.key).sign(digest).hex()

    def pay(self, recipient, amount):
        return {"sender": self.pub, "recipient": recipient, "amount": amount,
                "signature": self.sign(recipient, amount)}


def verify(tx):
    digest = SHA256.new((tx["sender"] + tx["recipient"] + str(tx["amount"])).encode())
    try:
        pkcs1_15.new(RSA.import_key(bytes.fromhex(tx["sender"]))).verify(
            digest, bytes.fromhex(tx["signature"]))
        return True
    except (ValueError, TypeError):
        return False


def reward(to, amount=10):
    return {"sender": REWARD_SENDER, "recipient": to, "amount": amount,
            "signature": REWARD_SIGNATURE}


def tx_text(tx):
    return json.dumps(tx)


def smell(block):
    reduced = dict(block, transactions=[
        {"amount": t["amount"], "recipient": t["recipient"], "sender": t["sender"]}
        for t in block["transactions"]])
    return sha256_hex(json.dumps(reduced, sort_keys=True))


def work_text(txs, parent, nonce):
    """str(list of OrderedDicts) + parent + str(nonce), as Python < 3.12 prints it."""
    items = [f"OrderedDict([('sender', {t['sender']!r}), ('recipient', {t['recipient']!r}), "
             f"('amount', {t['amount']!r})])" for t in txs]
    return "[" + ", ".join(items) + "]" + parent + str(nonce)


def pow_ok(block):
    return sha256_hex(work_text(block["transactions"][:-1], block["parent_smell"],
                                block["nonce"])).startswith("00")


def mine(height, parent, txs, good_pow=True):
    """A block (dict) on parent holding txs (the reward last); with good_pow
    False its nonce misses the proof of work."""
    block = {"sequence_number": height, "parent_smell": parent, "transactions": list(txs),
             "nonce": 0, "timestamp": time.time()}
    for nonce in range(10_000_000):
        block["nonce"] = nonce
        if pow_ok(block) == good_pow:
            return block
    raise AssertionError("no nonce found")


def block_text(block):
    return json.dumps(block)


def check_block(text, parent):
    """Independent check of a block a node serves: its canonical text, parent,
    proof of work, signatures and reward. Returns (block, smell)."""
    b = json.loads(text)
    assert list(b) == ["sequence_number", "parent_smell", "transactions", "nonce", "timestamp"]
    assert json.dumps(b) == text, text
    if b["sequence_number"] == 0:
        assert smell(b) == GENESIS_SMELL
        return b, GENESIS_SMELL
    assert b["parent_smell"] == parent
    assert pow_ok(b), text
    *payments, last = b["transactions"]
    assert last["sender"] == REWARD_SENDER and last["signature"] == REWARD_SIGNATURE
    assert last["amount"] == 10
    for t in payments:
        assert t["sender"] != REWARD_SENDER and verify(t), t
    return b, smell(b)


# ---- HTTP (the JSON API) -------------------------------------------------------------------

def http(port, method, path, body=None):
    data = body.encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(head + data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


# ---- raw TCP: a peer of the cheese network --------------------------------------------------

ANSWERS = (b"BRCHEESEACK", b"BRTRANSACTIONACK", b"HCKACK", b"INVALIDPEERID", b"INVALID_PEER_ID")
LISTS = (b"GETCHAINRESP", b"CHAIN", b"GETOPENTRANSACTIONSRESP", b"TR", b"GETPEERSRESP", b"CPSS")


def complete(buf):
    if buf in ANSWERS:
        return True
    for prefix in LISTS:
        if buf.startswith(prefix + b"["):
            try:
                json.loads(buf[len(prefix):])
                return True
            except ValueError:
                return False
    return False


class Peer:
    """One connection to a node, as a reference peer makes it."""

    def __init__(self, port, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.greeting = self.read_greeting() if greet else None

    def read_greeting(self):
        buf = b""
        self.sock.settimeout(WAIT_S)
        while not GREETING.fullmatch(buf):
            chunk = self.sock.recv(1 << 20)
            assert chunk and len(buf) < 100, buf + chunk
            buf += chunk
        return buf

    def quiet_read(self):
        """Whatever arrives until QUIET_S of silence (at least one chunk)."""
        self.sock.settimeout(WAIT_S)
        buf = self.sock.recv(1 << 20)
        self.sock.settimeout(QUIET_S)
        try:
            while chunk := self.sock.recv(1 << 20):
                buf += chunk
        except socket.timeout:
            pass
        return buf

    def answer(self):
        """One answer: complete by its form, or (REFUSED, greetings) at silence."""
        buf = b""
        self.sock.settimeout(WAIT_S)
        while not complete(buf):
            if buf.startswith(b"REFUSED:"):
                self.sock.settimeout(REFUSAL_QUIET_S)
            elif buf.startswith((b"PCONNECTACK:", b"Connection to peer")):
                self.sock.settimeout(QUIET_S)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                if buf:
                    return buf
                raise AssertionError("no answer")
            if not chunk:
                return buf
            buf += chunk
        return buf

    def ask(self, data):
        self.sock.sendall(data)
        return self.answer()

    def silent(self, wait=QUIET_S * 2):
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        raise AssertionError(f"expected silence, got {data[:200]!r}")

    def closed_by_node(self, timeout=WAIT_S):
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except socket.timeout:
            return False
        except ConnectionResetError:
            pass
        return True

    def close(self):
        self.sock.close()


def announce(port, payload, command=b"BRCHEESE"):
    p = Peer(port)
    try:
        return p.ask(command + payload.encode())
    finally:
        p.close()


# ---- processes -----------------------------------------------------------------------------

def stop_process(proc, log_path, what):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{what} ignored SIGTERM")
    with open(log_path, errors="replace") as f:
        log = f.read()
    assert code == 0, f"{what} exited with {code}:\n{log[-6000:]}"
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in log, log[-6000:]


class Tracker:
    def __init__(self, workdir, port=None):
        self.workdir = workdir
        self.port = port or free_port()
        self.runs = 0
        self.proc = None

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"tracker-{self.runs}.log")
        args = [os.path.join(BUILD, "cheese-tracker"), "--host", "127.0.0.1",
                "--port", str(self.port), "--health-interval", "600", "--log-level", "debug"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        wait_until(self._greets, f"tracker on port {self.port}")
        return self

    def _greets(self):
        assert self.proc.poll() is None, "cheese-tracker exited"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=WAIT_S) as s:
                return s.recv(100) == b"Connection Successful"
        except OSError:
            return False

    def stop(self):
        if self.proc:
            proc, self.proc = self.proc, None
            stop_process(proc, self.log_path, "cheese-tracker")

    def join(self, advertised_port):
        """Joins as a peer (later spelling); returns (socket, id). The socket
        must stay open for the id to stay known."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT_S)
        assert s.recv(100) == b"Connection Successful"
        s.sendall(f"PCONNECT:127.0.0.1:{advertised_port}".encode())
        answer = s.recv(100)
        m = re.fullmatch(rb"TCONNECTRESP:(PID[0-9A-F]+)", answer)
        assert m, answer
        return s, m.group(1).decode()


class Node:
    def __init__(self, workdir, tracker_port, n_transactions=None, extra=()):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.api_port = free_port()
        self.args = [os.path.join(BUILD, "cheesed"), "--network", "cheese", "--host", "127.0.0.1",
                     "--port", str(self.port), "--api-port", str(self.api_port),
                     "--tracker", f"127.0.0.1:{tracker_port}",
                     "--datadir", os.path.join(workdir, "data"), "--tracker-interval", "0.5",
                     "--miner-threads", "1", "--idle-timeout", "2", "--log-level", "debug"]
        if n_transactions is not None:
            self.args += ["--n-transactions", str(n_transactions)]
        self.args += list(extra)
        self.runs = 0
        self.proc = None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def start(self, joined=True):
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"node-{self.runs}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        wait_until(self._answers, f"node on port {self.port}")
        line = next(l for l in self.log().splitlines() if "public key: " in l)
        self.pub = line.split("public key: ", 1)[1].split()[0]
        assert self.pub.startswith("30819f30")
        if joined:
            wait_until(lambda: self.tracker_state()["state"] == "joined", "node to join")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"cheesed exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return http(self.api_port, "GET", "/api/info")[0] == 200
        except OSError:
            return False

    def stop(self):
        if self.proc:
            proc, self.proc = self.proc, None
            stop_process(proc, self.log_path, f"cheesed on port {self.port}")

    # the API
    def get(self, path):
        status, doc = http(self.api_port, "GET", path)
        assert status == 200, (path, doc)
        return doc

    def post(self, path, body=""):
        status, doc = http(self.api_port, "POST", path, body)
        assert status == 200, (path, doc)
        return doc

    def info(self):
        return self.get("/api/info")

    def tracker_state(self):
        return self.info()["sync"]["tracker"]

    def height(self):
        return self.info()["height"]

    def tip(self):
        return self.info()["tip"]

    def peer_count(self):
        return self.info()["peers"]

    def block_at(self, height):
        return self.get(f"/api/block?height={height}")

    def tx_status(self, txid):
        status, doc = http(self.api_port, "GET", f"/api/tx?txid={txid}")
        return doc["status"] if status == 200 else None

    def has_block(self, block_hash):
        return http(self.api_port, "GET", f"/api/block?hash={block_hash}")[0] == 200

    def balance(self, key):
        return self.get(f"/api/balance?key={key}")["balance_exact"]

    def mine(self, wait_nodes=()):
        """Mines one block through the API; waits until it is everyone's tip."""
        before = self.height()
        self.post("/api/mine")
        wait_until(lambda: self.height() > before, "the mined block")
        tip = self.tip()
        for n in wait_nodes:
            wait_until(lambda n=n: n.tip() == tip, f"block {tip} at node {n.port}")
        return tip


def same_tip(nodes):
    tips = {n.tip() for n in nodes}
    return len(tips) == 1 and tips.pop()


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A tracker and three nodes: A mines when 2 payments wait, B and C never
    on their own."""
    tracker = Tracker(str(tmp_path_factory.mktemp("tracker"))).start()
    nodes = [Node(str(tmp_path_factory.mktemp(name)), tracker.port, n_transactions=n)
             for name, n in (("a", 2), ("b", NEVER), ("c", NEVER))]
    for n in nodes:
        n.start()
    for n in nodes:
        wait_until(lambda n=n: n.peer_count() >= 2, f"node {n.port} to learn its peers")
    yield tracker, nodes
    stop_all((*nodes, tracker))


# ---- the network ---------------------------------------------------------------------------

def test_blocks_and_payments_reach_every_node(net):
    tracker, (a, b, c) = net
    everyone = (a, b, c)
    # a block mined at A on demand
    a.mine(wait_nodes=everyone)
    assert a.height() == b.height() == c.height() == 1

    # a block mined here, announced to B: its reward gives the Python key 10
    key = RsaKey()
    block2 = mine(2, a.tip(), [reward(key.pub)])
    assert announce(b.port, block_text(block2)) == b"BRCHEESEACK"
    wait_until(lambda: same_tip(everyone) == smell(block2), "the Python block everywhere")

    # a payment signed by PyCryptodome, sent to C over raw TCP
    pay = key.pay(b.pub, 3)
    txid = sha256_hex(tx_text(pay))
    assert announce(c.port, tx_text(pay), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    for n in everyone:
        wait_until(lambda n=n: n.tx_status(txid) == "mempool", f"the payment at {n.port}")
    # the same payment again is no news
    assert announce(a.port, tx_text(pay), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    a.mine(wait_nodes=everyone)
    for n in everyone:
        assert n.tx_status(txid) == "mined"

    # two payments waiting at A make it mine on its own (--n-transactions 2)
    pays = [key.pay(a.pub, 1.5), key.pay(c.pub, 2.5)]
    for p in pays:
        assert announce(a.port, tx_text(p), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    txids = [sha256_hex(tx_text(p)) for p in pays]
    for n in everyone:
        wait_until(lambda n=n: all(n.tx_status(t) == "mined" for t in txids),
                   f"A's own block at {n.port}")
    wait_until(lambda: same_tip(everyone), "one tip")

    # every node holds the same chain, and it passes an independent check
    height = a.height()
    assert height == 4
    parent = ""
    for h in range(height + 1):
        served = [n.block_at(h) for n in everyone]
        assert len({s["hash"] for s in served}) == 1, served
        block, parent = check_block(json.dumps(served[0]["block"]), parent)
        assert served[0]["hash"] == parent
    assert b.balance(key.pub) == "3"      # 10 - 3 - 1.5 - 2.5
    assert c.balance(b.pub) == "3"
    assert c.balance(a.pub) == "63/2"     # three rewards of 10 (blocks 1, 3, 4) and 1.5


def test_invalid_announcements_change_nothing(net):
    tracker, (a, b, c) = net
    everyone = (a, b, c)
    tip, height = same_tip(everyone), a.height()
    key = RsaKey()    # no coins
    rich = RsaKey()
    # a connection that says nothing, and one that stops half-way through a
    # payload, are closed (--idle-timeout 2): checked at the end
    idle = Peer(b.port)
    assert idle.greeting.startswith(b"PCONNECTACK:PID")
    stalled = Peer(b.port)
    stalled.sock.sendall(b'BRTRANSACTION{"sender": ')

    bad = {
        "bad proof of work": mine(height + 1, tip, [reward(key.pub)], good_pow=False),
        "wrong reward": mine(height + 1, tip, [reward(key.pub, 11)]),
        "two rewards": mine(height + 1, tip, [reward(key.pub), reward(rich.pub)]),
        "bad signature": mine(height + 1, tip, [
            dict(key.pay(rich.pub, 1), signature=key.sign(rich.pub, 2)), reward(key.pub)]),
        "overspend": mine(height + 1, tip, [key.pay(rich.pub, 5), reward(key.pub)]),
        "wrong height": mine(height + 2, tip, [reward(key.pub)]),
    }
    # one connection carries them all: each refused, the next still read
    p = Peer(b.port)
    for why, block in bad.items():
        answer = p.ask(b"BRCHEESE" + block_text(block).encode())
        assert answer.startswith(b"REFUSED:"), (why, answer)
    # a block list stops at its first invalid block
    answer = p.ask(b"BRCHEESE" + json.dumps([bad["wrong reward"]]).encode())
    assert answer.startswith(b"REFUSED:"), answer
    # a parent nobody has: held aside, never in the chain
    orphan = mine(height + 1, "ab" * 32, [reward(key.pub)])
    assert p.ask(b"BRCHEESE" + block_text(orphan).encode()) == b"BRCHEESEACK"
    # transactions: a bad signature, no funds, a reward on its own, a bad recipient
    for why, tx in {
        "bad signature": dict(key.pay(rich.pub, 1), signature=key.sign(rich.pub, 2)),
        "no funds": key.pay(rich.pub, 1),
        "reward": reward(key.pub),
        "not a key": dict(key.pay(rich.pub, 1), recipient="bob"),
    }.items():
        answer = p.ask(b"BRTRANSACTION" + tx_text(tx).encode())
        assert answer.startswith(b"REFUSED:"), (why, answer)
    # garbage, unknown commands, tracker requests: refused, the connection serves on
    assert p.ask(b"hello\n").startswith(b"REFUSED:unknown command")
    assert p.ask(b"\x00\xff\xfe garbage\n").startswith(b"REFUSED:")
    assert p.ask(b"JOIN_CHAIN:127.0.0.1:1").startswith(b"REFUSED:")
    assert p.ask(b"HCK") == b"HCKACK"
    # the seed's NEW_CHEESE has no answer, valid or not
    p.sock.sendall(b"NEW_CHEESE" + block_text(bad["bad proof of work"]).encode())
    assert p.silent()
    p.close()
    # a line that never ends: refused and closed
    p = Peer(b.port)
    p.sock.sendall(b"GETCHAIN:PID" + b"A" * 100_000)
    assert p.answer().startswith(b"REFUSED:")
    assert p.closed_by_node()
    p.close()
    assert idle.closed_by_node() and stalled.closed_by_node()
    idle.close()
    stalled.close()

    for n in everyone:
        assert n.tip() == tip and n.height() == height
        for block in (*bad.values(), orphan):
            assert not n.has_block(smell(block))
    assert b.info()["mempool"] == 0
    # and B still works: a valid block after all that
    good = mine(height + 1, tip, [reward(rich.pub)])
    assert announce(b.port, block_text(good)) == b"BRCHEESEACK"
    wait_until(lambda: same_tip(everyone) == smell(good), "the valid block everywhere")
    # rich now holds 10: a payment of its whose signature is the only fault
    # (it signs another amount) is refused inside a block, and the same
    # payment signed right is taken: nothing but the signature was wrong
    forged = mine(height + 2, smell(good), [
        dict(rich.pay(key.pub, 1), signature=rich.sign(key.pub, 2)), reward(rich.pub)])
    assert announce(b.port, block_text(forged)).startswith(b"REFUSED:")
    assert b.tip() == smell(good) and not b.has_block(smell(forged))
    honest = mine(height + 2, smell(good), [rich.pay(key.pub, 1), reward(rich.pub)])
    assert announce(b.port, block_text(honest)) == b"BRCHEESEACK"
    wait_until(lambda: same_tip(everyone) == smell(honest), "the honest payment everywhere")


def test_chain_served_only_to_known_peers(net):
    tracker, (a, b, c) = net
    p = Peer(c.port)
    assert p.ask(b"GETCHAIN:PID0123456789ABCDEF0123") == b"INVALIDPEERID"
    assert p.ask(b"GET_CHAIN:PID0123456789ABCDEF0123") == b"INVALID_PEER_ID"
    assert p.ask(b"GETOPENTRANSACTIONS:nonsense") == b"INVALIDPEERID"
    p.close()

    # a peer the tracker knows (joined this moment: C asks the tracker)
    nowhere = free_port()
    conn, pid = tracker.join(nowhere)
    try:
        p = Peer(c.port)
        chain = p.ask(f"GETCHAIN:{pid}".encode())
        assert chain.startswith(b"GETCHAINRESP["), chain[:100]
        blocks = json.loads(chain[len(b"GETCHAINRESP"):])
        assert p.ask(f"GET_CHAIN:{pid}".encode()) == b"CHAIN" + chain[len(b"GETCHAINRESP"):]
        assert p.ask(f"GETOPENTRANSACTIONS:{pid}".encode()) == b"GETOPENTRANSACTIONSRESP[]"
        assert p.ask(f"GET_OPEN_TRANSACTIONS:{pid}".encode()) == b"TR[]"
        p.close()
    finally:
        conn.close()
    assert len(blocks) == c.height() + 1
    parent = ""
    for i, block in enumerate(blocks):
        _, parent = check_block(json.dumps(block), parent)
        assert parent == c.block_at(i)["hash"]

    # a peer that speaks first gets its answer alone (the references read
    # one recv() as the answer); one that waits is greeted in the later spelling
    p = Peer(a.port, greet=False)
    p.sock.sendall(b"GET_CHAIN:PID0A")
    assert p.quiet_read() == b"INVALID_PEER_ID"
    p.close()
    p = Peer(a.port)
    assert re.fullmatch(rb"PCONNECTACK:PID[0-9A-F]{20}", p.greeting), p.greeting
    assert p.greeting[len(b"PCONNECTACK:"):].decode() == a.tracker_state()["peer_id"]
    p.close()


class SeedPeer:
    """A peer of the seed's spelling: greets "Connection to peer PID...",
    answers GET_CHAIN with CHAIN[...] and GET_OPEN_TRANSACTIONS with TR[...],
    takes NEW_CHEESE without a word, and knows nothing of the later spelling.

    With era=True it behaves as the code of the seed's era does: greets
    "Connected to peer: PID<lower-case hex>", reads requests as lines ending
    in \r\n (a request without one is never answered), needs the third
    field of "GET_CHAIN:ID:NODE" (its handler dies without it: `broken`),
    and never answers GET_OPEN_TRANSACTIONS."""

    def __init__(self, chain, era=False):
        self.chain = chain
        self.era = era
        self.received = bytearray()
        self.lines = []
        self.broken = []
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(conn)
            serve = self._serve_lines if self.era else self._serve
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.sendall(b"Connection to peer PID" + os.urandom(10).hex().upper().encode())
            while data := conn.recv(1 << 20):
                self.received += data + b"|"
                if data.startswith(b"GET_CHAIN:"):
                    conn.sendall(b"CHAIN" + json.dumps(self.chain).encode())
                elif data.startswith(b"GET_OPEN_TRANSACTIONS:"):
                    conn.sendall(b"TR[]")
        except OSError:
            pass

    def _serve_lines(self, conn):
        try:
            conn.sendall(b"Connected to peer: PID" + os.urandom(16).hex().encode())
            buf = b""
            while data := conn.recv(1 << 20):
                self.received += data + b"|"
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    self.lines.append(line)
                    if line.startswith(b"GET_CHAIN"):
                        if len(line.split(b":")) < 3:
                            self.broken.append(line)
                            return  # IndexError: the handler is gone
                        conn.sendall(b"CHAIN" + json.dumps(self.chain).encode())
        except OSError:
            pass

    def close(self):
        self.srv.close()
        for c in self.conns:
            c.close()


def test_seed_peer_with_a_longer_fork(net):
    tracker, (a, b, c) = net
    everyone = (a, b, c)
    if a.height() == 0:
        # run alone (the mutant suite does): a block of ours for the fork to replace
        a.mine(wait_nodes=everyone)
    height = a.height()
    # our chain up to height - 1, then a branch of three blocks: longer by two
    chain = [a.block_at(h)["block"] for h in range(height)]
    key = RsaKey()
    parent = a.block_at(height - 1)["hash"]
    for h in range(height, height + 3):
        block = mine(h, parent, [reward(key.pub)])
        chain.append(block)
        parent = smell(block)
    fork_tip = parent
    peer = SeedPeer(chain)
    conn = socket.create_connection(("127.0.0.1", tracker.port), timeout=WAIT_S)
    try:
        assert conn.recv(100) == b"Connection Successful"
        conn.sendall(f"JOIN_CHAIN:127.0.0.1:{peer.port}".encode())
        assert re.fullmatch(rb"PID[0-9A-F]{20}", conn.recv(100))
        # the nodes find it, fetch its chain in its spelling, and reorganise
        wait_until(lambda: same_tip(everyone) == fork_tip, "everyone on the longer branch")
        assert a.height() == height + 2
        assert b.balance(key.pub) == "30"
        # news reach it in its spelling: NEW_CHEESE, no transactions
        a.mine(wait_nodes=everyone)
        wait_until(lambda: f'"parent_smell": "{fork_tip}"'.encode() in peer.received,
                   "the new block at the seed peer")
        a.post("/api/send", json.dumps({"to": key.pub, "sum": 1}))
        wait_until(lambda: c.info()["mempool"] == 1, "the payment relayed")
        a.mine(wait_nodes=everyone)
    finally:
        conn.close()
        peer.close()
    got = bytes(peer.received)
    assert b"GET_CHAIN:PID" in got and b"GET_OPEN_TRANSACTIONS:PID" in got
    assert b"NEW_CHEESE{" in got
    for later in (b"BRCHEESE", b"BRTRANSACTION", b"GETCHAIN", b"GETOPENTRANSACTIONS"):
        assert later not in got


def test_seed_era_peer(net):
    """The forms of the seed era's code (PROTOCOL.md B.1): its join ends with
    \r\n, its peer greets "Connected to peer: PID<lower case>", reads lines,
    wants a third field in GET_CHAIN and sends one itself."""
    tracker, (a, b, c) = net
    everyone = (a, b, c)
    height = a.height()
    chain = [a.block_at(h)["block"] for h in range(height + 1)]
    key = RsaKey()
    parent = a.tip()
    for h in range(height + 1, height + 3):
        block = mine(h, parent, [reward(key.pub)])
        chain.append(block)
        parent = smell(block)
    peer = SeedPeer(chain, era=True)
    conn = socket.create_connection(("127.0.0.1", tracker.port), timeout=WAIT_S)
    try:
        assert conn.recv(100) == b"Connection Successful"
        conn.sendall(f"JOIN_CHAIN:127.0.0.1:{peer.port}\r\n".encode())
        pid = conn.recv(100).decode()
        assert re.fullmatch(r"PID[0-9A-F]{20}", pid), pid
        # every node reads its greeting, asks in its spelling with a line
        # end and the third field, and takes the longer chain
        wait_until(lambda: same_tip(everyone) == parent, "everyone on the seed-era peer's chain")
        asked = [f"GET_CHAIN:{n.tracker_state()['peer_id']}:{n.port}".encode() for n in everyone]
        wait_until(lambda: all(line in peer.lines for line in asked), "every node's GET_CHAIN")
        assert not peer.broken
        # its own request, with its third field, gets our chain (asked after
        # the greeting, which a busy machine could otherwise slip before it)
        p = Peer(b.port)
        answer = p.ask(f"GET_CHAIN:{pid}:5005\r\n".encode())
        assert answer.startswith(b"CHAIN["), answer[:100]
        assert [smell(x) for x in json.loads(answer[5:])][-1] == parent
        # a lower-case id nobody gave out is unknown
        assert p.ask(b"GET_CHAIN:PID" + b"ab" * 16 + b":5005\r\n") == b"INVALID_PEER_ID"
        p.close()
    finally:
        conn.close()
        peer.close()


def test_restarted_node_catches_up(net):
    tracker, (a, b, c) = net
    pub = c.pub
    c.stop()
    a.mine(wait_nodes=(b,))
    a.mine(wait_nodes=(b,))
    c.start()
    assert c.pub == pub  # the same wallet
    wait_until(lambda: c.tip() == a.tip(), "C to catch up")
    assert "caught up with" in c.log()


def test_nodes_join_a_restarted_tracker(net):
    tracker, nodes = net
    before = {n.port: n.tracker_state()["peer_id"] for n in nodes}
    tracker.stop()
    for n in nodes:
        wait_until(lambda n=n: n.tracker_state()["state"] != "joined", "the loss noticed")
    tracker.start()
    for n in nodes:
        wait_until(lambda n=n: n.tracker_state()["state"] == "joined", "a new join")
        assert n.tracker_state()["peer_id"] != before[n.port]
    # the network works as before
    a = nodes[0]
    a.mine(wait_nodes=nodes)


# ---- trackers of one spelling ------------------------------------------------------------------

SEED_ERA_ID = "PID" + "1d0e5c4b3a29180716f5e4d3c2b1a098"  # the same for every peer


class FakeTracker:
    """A tracker that understands one spelling only and ignores the other,
    as trackers of each era do (PROTOCOL.md B.1). The seed spellings read
    lines ending in \r\n, as the code of the seed's era does; "seed-era"
    also answers every join with the same lower-case id and, like that
    code, fails on GET_PEERS for an id it knows (`failed`)."""

    def __init__(self, spelling):
        self.spelling = spelling
        self.received = []
        self.joins = []
        self.failed = []
        self.acks = 0
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(conn)
            serve = self._serve if self.spelling == "later" else self._serve_lines
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    def _messages(self, conn, lines):
        buf = b""
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            if not lines:
                yield data
                continue
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                yield line

    def _serve(self, conn):
        conn.sendall(b"Connection Successful")
        for data in self._messages(conn, lines=False):
            self.received.append(data)
            if data.startswith(b"PCONNECT:"):
                self.joins.append(data.split(b":", 1)[1].decode())
                conn.sendall(b"TCONNECTRESP:PID" + os.urandom(10).hex().upper().encode())
                conn.sendall(b"HCK")  # a liveness check right away
            elif data.startswith(b"GETPEERS:"):
                conn.sendall(b"GETPEERSRESP[]")
            elif data == b"HCKACK":
                self.acks += 1
            # anything else: silence

    def _serve_lines(self, conn):
        era = self.spelling == "seed-era"
        conn.sendall(b"Connection Successful")
        for line in self._messages(conn, lines=True):
            self.received.append(line)
            if line.startswith(b"JOIN_CHAIN:"):
                self.joins.append(line.split(b":", 1)[1].decode())
                pid = SEED_ERA_ID if era else "PID" + os.urandom(10).hex().upper()
                conn.sendall(pid.encode())
            elif line.startswith(b"GET_PEERS:"):
                if era and line[len(b"GET_PEERS:"):].decode() == SEED_ERA_ID:
                    self.failed.append(line)
                    return  # its thread dies on the socket in the JSON
                conn.sendall(b"CPSS[]" if not era else b"INVALID_PEER_ID\r\n")

    def close(self):
        self.srv.close()
        for c in self.conns:
            c.close()


def test_joins_trackers_of_either_spelling(tmp_path):
    spellings = ("seed", "later", "seed-era")
    fakes = {s: FakeTracker(s) for s in spellings}
    nodes = {s: Node(str(tmp_path / s), fakes[s].port) for s in fakes}
    try:
        for n in nodes.values():
            n.start(joined=False)
        for s, n in nodes.items():
            wait_until(lambda n=n: n.tracker_state()["state"] == "joined", f"a join ({s})")
            assert n.tracker_state()["spelling"] == s.split("-")[0]
            assert fakes[s].joins == [f"127.0.0.1:{n.port}"]  # once, no stray bytes
        # the seed-era trackers were asked in the later spelling first (no
        # line end: they never read it), then, after that line was ended, in
        # their own
        for s in ("seed", "seed-era"):
            port = nodes[s].port
            assert fakes[s].received[:2] == [f"PCONNECT:127.0.0.1:{port}".encode(),
                                             f"JOIN_CHAIN:127.0.0.1:{port}".encode()], s
        wait_until(lambda: any(r.startswith(b"GET_PEERS:PID") for r in fakes["seed"].received),
                   "a seed-spelling peer list request")
        # the later one got its join at once, and its HCK answered
        assert fakes["later"].received[0] == f"PCONNECT:127.0.0.1:{nodes['later'].port}".encode()
        wait_until(lambda: fakes["later"].acks >= 1, "HCKACK")
        wait_until(lambda: sum(r.startswith(b"GETPEERS:PID") for r in fakes["later"].received) >= 3,
                   "later-spelling peer list requests")
        # the seed era's tracker (lower-case ids) is never asked for peers
        era = nodes["seed-era"]
        assert era.tracker_state()["peer_id"] == SEED_ERA_ID
        assert era.tracker_state()["lists"] is False
        assert not any(r.startswith(b"GET_PEERS") for r in fakes["seed-era"].received)
        assert not fakes["seed-era"].failed
        # its peers all carry our id: that one is served, others refused
        # without asking the tracker (asked after the greeting, as above)
        p = Peer(era.port)
        answer = p.ask(f"GET_CHAIN:{SEED_ERA_ID}:5005\r\n".encode())
        assert answer == b"CHAIN[" + GENESIS_TEXT.encode() + b"]", answer
        assert p.ask(b"GET_CHAIN:PID" + b"0a" * 16 + b":5005\r\n") == b"INVALID_PEER_ID"
        p.close()
        assert not any(r.startswith(b"GET_PEERS") for r in fakes["seed-era"].received)
    finally:
        errors = []
        for n in nodes.values():
            try:
                n.stop()
            except AssertionError as e:
                errors.append(str(e))
        for f in fakes.values():
            f.close()
        assert not errors, "\n".join(errors)


def test_api_port_serves_the_explorer_page(net):
    _, nodes = net
    node = nodes[0]
    with socket.create_connection(("127.0.0.1", node.api_port), timeout=WAIT_S) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{node.api_port}\r\n"
                  "Connection: close\r\n\r\n".encode())
        raw = b"".join(iter(lambda: s.recv(65536), b""))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200"
    assert b"content-type: text/html" in head.lower()
    page = os.path.join(os.path.dirname(__file__), "..", "..", "web", "explorer.html")
    with open(page, "rb") as f:
        assert body == f.read()
