"""Crash safety: SIGKILL at random moments while the node takes blocks and
transactions, on both networks, then a restart on the same data directory.

After every kill the node must start again, and:
- its best chain is a chain of valid blocks from the genesis to the tip it
  reports (hashes, proof of work, merkle roots or smells, signatures, all
  checked here in Python);
- every balance it reports equals a recomputation from its stored blocks;
- every block it acknowledged is still stored, and every transaction it
  acknowledged is in the best chain or waiting in the mempool;
- (http network) its peers file is whole JSON and still lists the peers that
  never went away, while other peers join and get banned all the time, so
  that the file is rewritten while the kills land;
- its wallet is the same, and SQLite's integrity_check passes.

The kill schedule comes from random.Random(seed); the seed is printed, and
CHEESE_CRASH_SEED=<seed> runs the same schedule again (the threads' timing
still varies from run to run).
"""
import contextlib
import glob
import json
import os
import random
import re
import socket
import sqlite3
import threading
import time
import traceback
from collections import Counter, defaultdict
from fractions import Fraction

import test_cheese_network as cheese
from conftest import (GENESIS_HASH, WAIT_S, Key, Response, block_on, check_block,
                      exchange, payment, sha256_hex, signed_text, tx_message, wait_until)

ROUNDS = 20
NEVER = 255  # --n-transactions that the load never reaches
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def crash_seed():
    seed = int(os.environ.get("CHEESE_CRASH_SEED") or random.randrange(1 << 32))
    print(f"crash schedule seed {seed} (CHEESE_CRASH_SEED={seed} replays it)")
    return seed


def kill_plan(rng):
    """When to kill: (kind, delay). Half the kills come `delay` (0 to 0.5 s,
    most of them short) after the load resumed; the others come 0 to 10 ms
    after a request of `kind` went out, so that they land in the node's
    work on it (its checks, its database commit, its answer) more often
    than chance would have it."""
    u = rng.random()
    if u < 0.3:
        return "block", rng.uniform(0, 0.01)
    if u < 0.5:
        return "payment", rng.uniform(0, 0.01)
    if u < 0.65:
        return None, rng.uniform(0, 0.02)
    if u < 0.8:
        return None, rng.uniform(0.02, 0.15)
    return None, rng.uniform(0.15, 0.5)


# ---- the load: worker threads that can be paused ------------------------------------------

class NodeGone(Exception):
    """The node did not answer: killed before or while answering."""


class Load:
    """Worker threads each calling step(rng) while the load runs. pause()
    returns once no step is under way, so checks see a quiet node."""

    def __init__(self, seed):
        self.cond = threading.Condition()
        self.running = False
        self.closed = False
        self.busy = 0
        self.errors = []
        self.threads = []
        self.seed = seed
        self.under_way = Counter()  # requests sent and not yet answered, by kind
        self.kills_during = Counter()  # kills that found one of a kind under way

    def add(self, step):
        rng = random.Random(self.seed * 31 + len(self.threads))
        t = threading.Thread(target=self._run, args=(step, rng), daemon=True)
        self.threads.append(t)
        t.start()

    def _run(self, step, rng):
        while True:
            with self.cond:
                while not self.running and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                self.busy += 1
            try:
                step(rng)
            except NodeGone:
                time.sleep(0.005)
            except Exception:  # reported by the main thread at the next pause
                self.errors.append(traceback.format_exc())
                time.sleep(0.05)
            finally:
                with self.cond:
                    self.busy -= 1
                    self.cond.notify_all()

    @contextlib.contextmanager
    def sending(self, kind):
        with self.cond:
            self.under_way[kind] += 1
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self.under_way[kind] -= 1

    def kill(self, node, plan):
        """Runs the load until the moment the plan says, then SIGKILL,
        noting what was under way at that instant."""
        kind, delay = plan
        self.resume()
        if kind:
            with self.cond:  # at worst no such request comes: then a kill anyway
                self.cond.wait_for(lambda: self.under_way[kind], timeout=2)
        time.sleep(delay)
        proc, node.proc = node.proc, None
        with self.cond:  # nothing starts or ends in between
            proc.kill()
            self.kills_during.update(k for k, n in self.under_way.items() if n)
        proc.wait(timeout=WAIT_S)

    def report(self):
        return ", ".join(f"{kind} {self.kills_during[kind]}"
                         for kind in sorted(self.under_way))

    def resume(self):
        with self.cond:
            self.running = True
            self.cond.notify_all()

    def pause(self):
        with self.cond:
            self.running = False
            while self.busy:
                self.cond.wait()
        assert not self.errors, "\n".join(self.errors[:10])

    def close(self):
        with self.cond:
            self.running = False
            self.closed = True
            self.cond.notify_all()
        for t in self.threads:
            t.join(timeout=WAIT_S)


class Wallets:
    """Coins of the test's keys, counted so that nothing the test signs can
    ever be unaffordable: a key's credit grows only with rewards of blocks
    the node acknowledged and put on its best chain (where they stay: there
    are no reorganisations here, as nobody extends a side branch), and every
    payment signed, answered or not, is spent for good. So the node never
    has a reason to refuse a payment or to drop an acknowledged one from
    its mempool as unaffordable, and any refusal is a failure."""

    def __init__(self, keys):
        self.keys = list(keys)
        self.lock = threading.Lock()
        self.credit = defaultdict(Fraction)
        self.spent = defaultdict(Fraction)

    def earn(self, pub, amount):
        with self.lock:
            self.credit[pub] += Fraction(amount)

    def take(self, rng, amount):
        """A key that can still pay amount, charged with it; or None."""
        with self.lock:
            rich = [k for k in self.keys
                    if self.credit[k.pub] - self.spent[k.pub] >= Fraction(amount)]
            if not rich:
                return None
            key = rng.choice(rich)
            self.spent[key.pub] += Fraction(amount)
            return key


def read_logs(paths):
    """Every run's log: a killed run has no exit status to check, but a
    sanitizer report it printed before the kill is still there."""
    logs = []
    for path in sorted(paths):
        with open(path, errors="replace") as f:
            log = f.read()
        for marker in SANITIZER_MARKERS:
            assert marker not in log, f"{path}:\n{log[-6000:]}"
        logs.append(log)
    return "".join(logs)


def check_database(datadir, where):
    """SQLite's own check of the node's database, read beside the running node."""
    uri = "file:" + os.path.join(datadir, "chain.sqlite") + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=WAIT_S)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where


# ---- http network ------------------------------------------------------------------------

def attempt(port, method, path, body=None):
    """A request that may meet a dead node: the answer, or NodeGone."""
    data = body.encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    try:
        raw = exchange(port, head + data)
    except OSError:
        raise NodeGone()
    head, sep, body = raw.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head) if sep else None
    if not length or len(body) < int(length.group(1)):
        raise NodeGone()  # one write per answer: only a kill cuts one short
    return Response(raw)


def http_tx_text(t):
    tx = t["transaction"]
    return signed_text(t["signature"], tx_message(tx["from"], tx["to"], tx["sum"],
                                                 tx["timestamp"]))


def http_block_text(b):
    """The block's text rebuilt from its parsed form, as the node prints it."""
    txs = ",".join(http_tx_text(t) for t in b["transactions"])
    return (f'{{"nr": {b["nr"]},"previous_hash": "{b["previous_hash"]}",'
            f'"timestamp": "{b["timestamp"]}","nonce": "{b["nonce"]}","hash": "{b["hash"]}",'
            f'"creator": "{b["creator"]}","merkle_root": "{b["merkle_root"]}",'
            f'"count": {b["count"]},"transactions": [{txs}]}}')


class FakePeer:
    """A peer of the http network in Python. An honest one answers /getpeers
    with an empty list, takes relayed blocks and transactions, and has
    nothing to sync from. A fickle one answers the node's first /getpeers
    (so the node lists it and rewrites its peers file) and garbage after
    that (so the node bans it and rewrites the file again)."""

    def __init__(self, genesis_text, honest):
        self.honest = honest
        self.checked = threading.Event()
        self.genesis_text = genesis_text
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            with conn:
                conn.settimeout(WAIT_S)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split()[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                conn.sendall(self._answer(method, path))
        except OSError:
            pass

    def _answer(self, method, path):
        if not self.honest and self.checked.is_set():
            return b"this is not HTTP\r\n\r\n"
        status = "200 OK"
        if path.startswith("/getpeers"):
            self.checked.set()
            body = '{"peers": []}'
        elif path.startswith("/getblocks"):
            body = f'{{"chain": [{self.genesis_text}], "height": 0}}'
        elif method == "POST":
            body = '{"message": "ok"}'
        else:
            status, body = "404 Not Found", '{"errcode": 404, "errmsg": "Not found"}'
        return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}").encode()

    def close(self):
        self.closed = True
        self.srv.close()


class HttpCrashRun:
    """The state of one http run: what the node acknowledged, the keys, the
    peers, and the checks made after each restart."""

    def __init__(self, node, seed):
        self.node = node
        self.keys = [Key() for _ in range(4)]
        self.outsiders = [Key().pub for _ in range(2)]
        self.wallets = Wallets(self.keys)
        self.lock = threading.Lock()
        self.acked_blocks = {}  # hash -> text
        self.acked_txs = {}     # txid -> text
        self.new_blocks, self.new_txs = [], []  # acknowledged since the last check
        self.refused = []
        self.verified = {}      # hash -> text of blocks already checked
        self.genesis_text = node.block(GENESIS_HASH)
        self.stable = [FakePeer(self.genesis_text, honest=True) for _ in range(3)]
        self.fickle = []
        self.registered = {p.address for p in self.stable}
        self.load = Load(seed)
        self.ready = None

    # -- the load --
    def post(self, kind, path, body):
        with self.load.sending(kind):
            return attempt(self.node.port, "POST", path, body)

    def get_json(self, path):
        resp = attempt(self.node.port, "GET", path)
        assert resp.status == 200, resp
        return resp.json()

    def recipient(self, rng, payer):
        return rng.choice([*(k.pub for k in self.keys if k is not payer), self.node.pub,
                           *self.outsiders])

    def build_block(self, rng):
        """A block on the tip paying its reward to one of the test's keys."""
        info = self.get_json("/api/info")  # the tip first: see the mempool below
        txs = []
        if rng.random() < 0.6:
            # waiting payments, read after the tip: any of them mined since
            # is mined above that tip, so this block is a side block at worst
            waiting = self.get_json("/api/mempool?limit=8")["transactions"]
            txs += [http_tx_text(t) for t in waiting[:rng.randint(0, len(waiting))]]
        if rng.random() < 0.5:
            amount = rng.choice([1, 0.5, 0.25, 0.1, 0.2, 0.3, 0.05])
            key = self.wallets.take(rng, amount)
            if key:
                txs.append(payment(key, self.recipient(rng, key), amount))
        to = rng.choice(self.keys)
        return block_on(info["tip"], info["height"] + 1, to.pub, txs), to

    def prepare(self, rng):
        """Mined while the load is paused, posted first when it resumes: a
        block reaches the node early in every round, even a short one."""
        self.ready = self.build_block(rng)

    def send_block(self, rng):
        block, to = self.ready or self.build_block(rng)
        self.ready = None
        resp = self.post("block", "/block", block.text)
        if resp.status != 200:
            self.refused.append(f"block {block.hash}: {resp}")
            return
        message = resp.json()["message"]
        assert message in ("Block accepted", "Block stored on a side branch"), resp
        if message == "Block accepted":
            self.wallets.earn(to.pub, 1)
        with self.lock:
            self.acked_blocks[block.hash] = block.text
            self.new_blocks.append(block.hash)

    def send_payment(self, rng):
        amount = rng.choice([0.5, 0.1, 0.2, 0.3, 0.05, 0.125, 1])
        key = self.wallets.take(rng, amount)
        if key is None:
            time.sleep(0.01)
            return
        text = payment(key, self.recipient(rng, key), amount)
        resp = self.post("payment", "/inv", text)
        if resp.status != 200:
            self.refused.append(f"transaction {text}: {resp}")
            return
        txid = resp.json()["txid"]
        assert txid == sha256_hex(text), resp
        with self.lock:
            self.acked_txs[txid] = text
            self.new_txs.append(txid)

    def mine_now(self, rng):
        """Now and then the node's own miner writes a block too."""
        time.sleep(rng.uniform(0.05, 0.3))
        self.post("mine", "/api/mine", "")

    def churn(self, rng):
        """A new fickle peer: listed, then banned (both rewrite the file)."""
        peer = FakePeer(self.genesis_text, honest=False)
        self.fickle.append(peer)
        self.registered.add(peer.address)
        with self.load.sending("peer"):
            attempt(self.node.port, "GET", f"/getpeers?port={peer.port}")
        time.sleep(rng.uniform(0.02, 0.1))

    def start_load(self):
        for p in self.stable:
            self.node.get(f"/getpeers?port={p.port}")
        wait_until(lambda: {p.address for p in self.stable} <= set(self.peers()),
                   "the stable peers to be listed")
        for step in (self.send_block, self.send_payment, self.send_payment, self.mine_now,
                     self.churn):
            self.load.add(step)

    def close(self):
        self.load.close()
        for p in (*self.stable, *self.fickle):
            p.close()

    # -- the checks --
    def peers(self):
        return self.node.get("/getpeers").json()["peers"]

    def check_peers_file(self, where):
        path = os.path.join(self.node.datadir, f"peers-{self.node.port}.json")
        with open(path) as f:
            text = f.read()
        try:
            doc = json.loads(text)
        except ValueError:
            raise AssertionError(f"{where}: peers file is not JSON: {text!r}")
        assert isinstance(doc, dict) and isinstance(doc.get("peers"), list), (where, text)
        listed = doc["peers"]
        assert len(set(listed)) == len(listed), (where, text)
        assert {p.address for p in self.stable} <= set(listed), (where, text)
        assert set(listed) <= self.registered, (where, text)

    def check_chain(self, where):
        """The best chain, checked block by block; returns (best, stored hashes)."""
        chain = self.node.chain()
        assert chain[0][0]["hash"] == GENESIS_HASH, where
        stored = set()
        for height, blocks in enumerate(chain):
            for b in blocks:
                assert b["nr"] == height, (where, b)
                stored.add(b["hash"])
                if height == 0:
                    continue
                text = http_block_text(b)
                if b["hash"] not in self.verified:
                    assert self.node.block(b["hash"]) == text, (where, b["hash"])
                    check_block(text)
                    self.verified[b["hash"]] = text
                assert self.verified[b["hash"]] == text, (where, b["hash"])
        best = [blocks[0] for blocks in chain]
        for parent, child in zip(best, best[1:]):
            assert child["previous_hash"] == parent["hash"], (where, child["hash"])
        info = self.node.get("/api/info").json()
        assert (info["height"], info["tip"]) == (len(best) - 1, best[-1]["hash"]), (where, info)
        return best, stored

    def check_balances(self, best, where):
        """Every balance the node reports against one recomputed here;
        returns the txids of the payments on the best chain."""
        balance = defaultdict(Fraction)
        mined = set()
        for b in best[1:]:  # the genesis moves no balance
            rewards = set()
            for t in b["transactions"]:
                tx, txid = t["transaction"], sha256_hex(http_tx_text(t))
                if tx["from"] == "System":
                    if txid in rewards:
                        continue  # the same reward twice in a block counts once
                    rewards.add(txid)
                else:
                    balance[tx["from"]] -= Fraction(tx["sum"])
                    mined.add(txid)
                balance[tx["to"]] += Fraction(tx["sum"])
        keys = set(balance) | {k.pub for k in self.keys} | {self.node.pub, *self.outsiders}
        for key in keys:
            doc = self.node.get(f"/api/balance?key={key}").json()
            assert Fraction(doc["balance_exact"]) == balance[key], (where, key, doc,
                                                                    balance[key])
            assert balance[key] >= 0 and Fraction(doc["spendable_exact"]) >= 0, (where, doc)
        return mined

    def check_acknowledged(self, stored, mined, where):
        doc = self.node.get("/api/mempool?limit=100000").json()
        waiting = {sha256_hex(http_tx_text(t)) for t in doc["transactions"]}
        assert doc["count"] == len(doc["transactions"]) == len(waiting), where
        assert not waiting & mined, (where, waiting & mined)
        lost = set(self.acked_blocks) - stored
        assert not lost, (where, "acknowledged blocks lost", lost)
        lost = set(self.acked_txs) - mined - waiting
        assert not lost, (where, "acknowledged transactions lost", lost)
        # the look-ups a user would make, for what came in since the last check
        for h in self.new_blocks:
            resp = self.node.get(f"/api/block?hash={h}")
            assert resp.status == 200, (where, resp)
            assert json.dumps(resp.json()["block"]) == json.dumps(json.loads(
                self.acked_blocks[h])), (where, h)
        for txid in self.new_txs:
            resp = self.node.get(f"/api/tx?txid={txid}")
            assert resp.status == 200 and resp.json()["status"] in ("mined", "mempool"), \
                (where, resp)
        self.new_blocks, self.new_txs = [], []

    def check(self, where):
        assert not self.refused, (where, self.refused[:5])
        best, stored = self.check_chain(where)
        mined = self.check_balances(best, where)
        self.check_acknowledged(stored, mined, where)
        assert {p.address for p in self.stable} <= set(self.peers()), where


def test_http_node_survives_sigkill(make_node):
    seed = crash_seed()
    rng, prepare_rng = random.Random(seed), random.Random(seed + 1)
    node = make_node(n_transactions=NEVER, extra=["--mine-on-start", "no", "--miner-threads",
                                                  "1", "--gossip-interval", "1"])
    run = HttpCrashRun(node, seed)
    pub = node.pub
    try:
        run.start_load()
        for r in range(ROUNDS):
            where = f"seed {seed}, round {r + 1}"
            run.prepare(prepare_rng)
            run.load.kill(node, kill_plan(rng))
            run.load.pause()
            run.check_peers_file(where)
            node.start()
            assert node.pub == pub, (where, "the wallet changed")
            run.check(where)
            check_database(node.datadir, where)
    finally:
        run.close()
    text = read_logs(glob.glob(os.path.join(node.workdir, "stderr-*.log")))
    leftovers = glob.glob(os.path.join(node.datadir, "peers-*.json.tmp.*"))
    print(f"http: {len(run.acked_blocks)} blocks and {len(run.acked_txs)} transactions "
          f"acknowledged, height {len(node.best()) - 1}; {text.count('new peer ')} peers "
          f"listed and {text.count('banned peer ')} banned; kills of {ROUNDS} that found a "
          f"request under way: {run.load.report()}; {len(leftovers)} kills landed between "
          f"the peers file's temporary file and its rename (the file is left behind)")
    # the load did what it is there for: blocks, payments and peer-file rewrites
    assert run.acked_blocks and run.acked_txs
    assert text.count("banned peer ") > 0


# ---- cheese network ----------------------------------------------------------------------

class Speaker:
    """A connection to a cheese node that speaks first, as reference peers
    do: the node then sends no greeting (one is skipped all the same). No
    wait for a greeting, so that even a short round gets its announcements
    in."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ask(self, data):
        """The answer without the greeting; b"" when the node closed."""
        self.sock.sendall(data)
        buf = b""
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return b""
            buf += chunk
            greeting = cheese.GREETING.match(buf)
            answer = buf[greeting.end():] if greeting else buf
            if cheese.complete(answer) or answer.startswith(b"REFUSED:"):
                return answer  # a refusal is one write: it comes whole

    def close(self):
        self.sock.close()


class CheeseCrashRun:
    """The same for the cheese network: blocks and payments announced over
    the node's TCP protocol (BRCHEESE, BRTRANSACTION), acknowledged ones
    recorded, the chain read back with GETCHAIN as a peer the tracker knows."""

    def __init__(self, node, tracker, seed):
        self.node = node
        self.tracker = tracker
        self.keys = [cheese.RsaKey() for _ in range(3)]
        self.wallets = Wallets(self.keys)
        self.lock = threading.Lock()
        self.acked_blocks = {}  # smell -> text
        self.acked_txs = {}     # txid -> text
        self.new_blocks, self.new_txs = [], []
        self.refused = []
        self.used = set()       # payloads signed: the same one twice is a replay
        self.verified = {}      # text -> smell of blocks already checked
        self.load = Load(seed)
        # a peer id the tracker vouches for, so that the node serves GETCHAIN
        self.tracker_conn, self.peer_id = tracker.join(cheese.free_port())

    def api(self, path, method="GET"):
        try:
            status, doc = cheese.http(self.node.api_port, method, path, "" if method == "POST"
                                      else None)
        except (OSError, ValueError, IndexError):  # refused, or no whole answer
            raise NodeGone()
        assert status == 200, (path, doc)
        return doc

    def announce(self, conn, kind, message):
        """One announcement on the thread's own connection. It names the
        sender and ends with a newline: without them the node waits for
        100 ms of silence before it knows the message is whole (the
        protocol has no terminator), and the kills would mostly land in
        that wait instead of in the node's work."""
        data = message.encode()
        try:
            if conn.get("peer") is None:
                conn["peer"] = Speaker(self.node.port)
        except OSError:
            raise NodeGone()
        with self.load.sending(kind):
            try:
                answer = conn["peer"].ask(data)
            except OSError:
                answer = b""
        if not answer:
            conn["peer"].close()
            conn["peer"] = None
            raise NodeGone()
        return answer

    def pay(self, rng):
        """A payment from a key that can afford it, never signed before
        (the same payload twice would be a replay); or None."""
        amount = rng.choice([1, 2, 0.5, 0.25, round(rng.uniform(0.01, 1), 6)])
        key = self.wallets.take(rng, amount)
        if key is None:
            return None
        to = rng.choice([*(k.pub for k in self.keys if k is not key), self.node.pub])
        with self.lock:
            if (key.pub, to, repr(amount)) in self.used:
                return None  # what was charged stays charged: the count only errs low
            self.used.add((key.pub, to, repr(amount)))
        return key.pay(to, amount)

    def send_block(self, rng, conn):
        info = self.api("/api/info")
        txs = []
        if rng.random() < 0.6:
            waiting = self.api("/api/mempool?limit=8")["transactions"]
            txs += waiting[:rng.randint(0, len(waiting))]
        if rng.random() < 0.5:
            tx = self.pay(rng)
            if tx:
                txs.append(tx)
        to = rng.choice(self.keys)
        block = cheese.mine(info["height"] + 1, info["tip"], [*txs, cheese.reward(to.pub)])
        text = cheese.block_text(block)
        answer = self.announce(conn, "block", f"BRCHEESE{text};{self.peer_id}\n")
        if answer != b"BRCHEESEACK":
            self.refused.append(f"block: {answer[:300]!r}")
            return
        smell = cheese.smell(block)
        with self.lock:
            self.acked_blocks[smell] = text
            self.new_blocks.append(smell)
        if self.api(f"/api/block?hash={smell}")["best"]:
            self.wallets.earn(to.pub, 10)

    def send_payment(self, rng, conn):
        tx = self.pay(rng)
        if tx is None:
            time.sleep(0.01)
            return
        text = cheese.tx_text(tx)
        answer = self.announce(conn, "payment", f"BRTRANSACTION{text}:{self.peer_id}\n")
        if answer != b"BRTRANSACTIONACK":
            self.refused.append(f"transaction {text}: {answer[:300]!r}")
            return
        with self.lock:
            self.acked_txs[sha256_hex(text)] = text
            self.new_txs.append(sha256_hex(text))

    def mine_now(self, rng):
        time.sleep(rng.uniform(0.05, 0.3))
        with self.load.sending("mine"):
            self.api("/api/mine", "POST")

    def start_load(self):
        conns = [{}, {}, {}]
        self.conns = conns
        self.load.add(lambda rng: self.send_block(rng, conns[0]))
        self.load.add(lambda rng: self.send_payment(rng, conns[1]))
        self.load.add(lambda rng: self.send_payment(rng, conns[2]))
        self.load.add(self.mine_now)

    def drop_connections(self):
        for conn in self.conns:
            if conn.get("peer"):
                conn["peer"].close()
            conn["peer"] = None

    def close(self):
        self.load.close()
        self.drop_connections()
        self.tracker_conn.close()

    # -- the checks --
    def check_chain(self, where):
        p = Speaker(self.node.port)
        try:
            answer = p.ask(f"GETCHAIN:{self.peer_id}".encode())
        finally:
            p.close()
        assert answer.startswith(b"GETCHAINRESP["), (where, answer[:200])
        best = json.loads(answer[len(b"GETCHAINRESP"):])
        parent = ""
        for height, b in enumerate(best):
            assert b["sequence_number"] == height, (where, b)
            assert b["parent_smell"] == parent, (where, height)
            text = json.dumps(b)
            if text not in self.verified:
                self.verified[text] = cheese.check_block(text, parent)[1]
            parent = self.verified[text]
        info = self.node.info()
        assert (info["height"], info["tip"]) == (len(best) - 1, parent), (where, info)
        return best, parent

    def check_balances(self, best, where):
        balance = defaultdict(Fraction)
        mined = set()
        for b in best[1:]:
            for t in b["transactions"]:
                if t["sender"] != cheese.REWARD_SENDER:
                    balance[t["sender"]] -= Fraction(t["amount"])
                    mined.add(sha256_hex(cheese.tx_text(t)))
                balance[t["recipient"]] += Fraction(t["amount"])
        for key in set(balance) | {k.pub for k in self.keys} | {self.node.pub}:
            status, doc = cheese.http(self.node.api_port, "GET", f"/api/balance?key={key}")
            assert status == 200, (where, doc)
            assert Fraction(doc["balance_exact"]) == balance[key], (where, key[-16:], doc,
                                                                    balance[key])
            assert balance[key] >= 0 and Fraction(doc["spendable_exact"]) >= 0, (where, doc)
        return mined

    def check_acknowledged(self, best, mined, where):
        doc = self.node.get("/api/mempool?limit=100000")
        waiting = {sha256_hex(cheese.tx_text(t)) for t in doc["transactions"]}
        assert doc["count"] == len(doc["transactions"]) == len(waiting), where
        assert not waiting & mined, (where, waiting & mined)
        on_best = {self.verified[json.dumps(b)] for b in best[1:]}
        for smell in set(self.acked_blocks) - on_best:  # side blocks: still stored?
            assert self.node.has_block(smell), (where, "acknowledged block lost", smell)
        lost = set(self.acked_txs) - mined - waiting
        assert not lost, (where, "acknowledged transactions lost", lost)
        for smell in self.new_blocks:
            got = self.node.get(f"/api/block?hash={smell}")
            assert json.dumps(got["block"]) == self.acked_blocks[smell], (where, smell)
        for txid in self.new_txs:
            assert self.node.tx_status(txid) in ("mined", "mempool"), (where, txid)
        self.new_blocks, self.new_txs = [], []

    def check(self, where):
        assert not self.refused, (where, self.refused[:5])
        best, _ = self.check_chain(where)
        mined = self.check_balances(best, where)
        self.check_acknowledged(best, mined, where)


def test_cheese_node_survives_sigkill(tmp_path):
    seed = crash_seed()
    rng = random.Random(seed)
    tracker = cheese.Tracker(str(tmp_path)).start()
    node = cheese.Node(str(tmp_path / "node"), tracker.port, n_transactions=NEVER)
    run = None
    try:
        node.start()
        pub = node.pub
        run = CheeseCrashRun(node, tracker, seed)
        run.start_load()
        for r in range(ROUNDS):
            where = f"seed {seed}, round {r + 1}"
            run.load.kill(node, kill_plan(rng))
            run.load.pause()
            run.drop_connections()
            node.start()
            assert node.pub == pub, (where, "the wallet changed")
            run.check(where)
            check_database(os.path.join(node.workdir, "data"), where)
        height = node.height()
    finally:
        if run:
            run.close()
        node.stop()
        tracker.stop()
    read_logs(glob.glob(os.path.join(node.workdir, "node-*.log")))
    print(f"cheese: {len(run.acked_blocks)} blocks and {len(run.acked_txs)} transactions "
          f"acknowledged, height {height}; kills of {ROUNDS} that found a request under way: "
          f"{run.load.report()}")
    assert run.acked_blocks and run.acked_txs
