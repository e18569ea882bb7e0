"""Several cheesed nodes and Python peers on loopback: discovery, relay and
hostile peers (docs/http-network.md, "Peers", "Relay", "Hostile peers").

The Python peers (FakePeer) answer like a node, count what they are sent,
or misbehave in one way each. Nothing here asserts a timing: the tests wait
for behaviour with generous timeouts.
"""
import collections
import hashlib
import json
import os
import re
import select
import socket
import threading
import time

import pytest

from conftest import (GENESIS_HASH, WAIT_S, Key, assert_error, block_on, make_block, payment,
                      request, sha256_hex, wait_until)

NEVER = 255  # --n-transactions that no test reaches
GOSSIP = ["--gossip-interval", "1"]
QUIET = ["--mine-on-start", "no"]


def peers_of(node):
    resp = node.get("/getpeers")
    assert resp.status == 200, resp
    return resp.json()["peers"]


def peers_file(node):
    with open(os.path.join(node.datadir, f"peers-{node.port}.json")) as f:
        return json.load(f)["peers"]


def with_defaults(make_node, addresses, n_transactions=NEVER, extra=()):
    """A node whose --peers-default file lists addresses."""
    node = make_node(start=False, n_transactions=n_transactions, extra=list(extra))
    path = os.path.join(node.workdir, "peers-default.json")
    with open(path, "w") as f:
        json.dump({"peers": list(addresses)}, f)
    node.args += ["--peers-default", path]
    return node.start()


def rss_kib(node):
    with open(f"/proc/{node.proc.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


# ---- a peer written in Python ---------------------------------------------------------------

def http_answer(status, doc, headers=""):
    body = json.dumps(doc).encode()
    reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{headers}\r\n").encode() + body


class FakePeer:
    """A peer on loopback. `behaviour` says how it answers every request
    after the first (the first, the node's check of a would-be peer, always
    gets a proper peer list, so that the node lists it, and says, as our
    nodes do, that it speaks more than the seed's API):
      node     answers like a node (and counts what it gets: a sink)
      garbage  bytes that are not HTTP, then closes
      huge     a 10 MB body without Content-Length
      slow     a proper answer, one byte per second, for ever
      stall    no answer at all, the connection held open
    """

    def __init__(self, behaviour="node"):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.requests = []  # (method, target, headers, body)
        self.lifetimes = []  # [opened, closed] of each connection
        self.served_block = None  # the text it answers every /getdata with
        self.sent_bytes = 0
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def register_with(self, node):
        """Asks node for its peers the way our nodes do, so that it checks us."""
        resp = node.get(f"/getpeers?port={self.port}")
        assert resp.status == 200, resp

    def count(self):
        with self.lock:
            return len(self.requests)

    def posts(self):
        with self.lock:
            return [r for r in self.requests if r[0] == "POST"]

    def _serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip()
                   for k, v in (line.split(":", 1) for line in lines[1:])}
        if method == "POST":
            assert "content-length" in headers, headers  # every request we get carries it
            length = int(headers["content-length"])
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                body += chunk
            assert len(body) == length
        return method, target, headers, body.decode("latin-1")

    def most_at_once(self, slack=0.05):
        """The most connections open at one time (each seen as closing
        `slack` seconds early: the other side closed it before we noticed)."""
        with self.lock:
            spans = [(a, b - slack) for a, b in self.lifetimes if b is not None and b - slack > a]
            spans += [(a, float("inf")) for a, b in self.lifetimes if b is None]
        events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
        most = now = 0
        for _, step in events:
            now += step
            most = max(most, now)
        return most

    def _handle(self, conn):
        life = [time.monotonic(), None]
        with self.lock:
            self.lifetimes.append(life)
        try:
            conn.settimeout(WAIT_S)
            req = self._read_request(conn)
            if req is None:
                return
            with self.lock:
                self.requests.append(req)
                first = len(self.requests) == 1
            if first or self.behaviour == "node":
                self._send(conn, self._as_a_node(req))
            elif self.behaviour == "garbage":
                self._send(conn, b"\x16\x03\x01\x00\xa5 this is not http\r\n\xff\xfe\r\n\r\n")
            elif self.behaviour == "huge":
                self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
                chunk = b"x" * 65536
                for _ in range((10 << 20) // len(chunk)):
                    self._send(conn, chunk)
            elif self.behaviour == "stall":
                while not self.closed:
                    if select.select([conn], [], [], 1)[0] and not conn.recv(1):
                        return
            elif self.behaviour == "slow":
                answer = self._as_a_node(req)
                while not self.closed:
                    for i in range(len(answer)):
                        self._send(conn, answer[i:i + 1])
                        if select.select([conn], [], [], 1)[0] and not conn.recv(1):
                            return  # the node gave up on us
        except OSError:
            pass
        finally:
            conn.close()
            life[1] = time.monotonic()

    def _send(self, conn, data):
        conn.sendall(data)
        with self.lock:
            self.sent_bytes += len(data)

    def _as_a_node(self, req):
        method, target, _, _ = req
        path = target.split("?")[0]
        if method == "GET" and path == "/getdata" and self.served_block:
            body = self.served_block.encode()
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body)) + body
        if method == "GET" and path == "/getpeers":  # as our nodes answer: it speaks our API
            return http_answer(200, {"peers": []}, "Cheese-Sync: locator\r\n")
        if method == "POST" and path == "/block":
            return http_answer(200, {"message": "Block accepted"})
        if method == "POST" and path == "/inv":
            return http_answer(200, {"message": "Transaction accepted"})
        return http_answer(404, {"errcode": 404, "errmsg": "Not found"})


@pytest.fixture
def fake_peer():
    peers = []

    def make(behaviour="node"):
        peers.append(FakePeer(behaviour))
        return peers[-1]
    yield make
    for p in peers:
        p.close()


# ---- discovery --------------------------------------------------------------------------------

def test_default_peers_are_listed_only_once_they_answer(make_node):
    a = make_node(extra=QUIET + GOSSIP)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    b = with_defaults(make_node, [dead, a.address, "not an address"],
                      extra=QUIET + GOSSIP + ["--log-level", "debug"])
    wait_until(lambda: peers_of(b) == [a.address], "B to list A, which answered")
    wait_until(lambda: peers_file(b) == [a.address], "B's peer file to hold A only")
    wait_until(lambda: peers_of(a) == [b.address], "A to list B, which asked it")
    # the dead default is retried, with a back-off, and never listed
    wait_until(lambda: f"peer {dead} failed (2 in a row)" in b.log(), "a retry of the dead one")
    assert dead not in peers_of(b) and dead not in peers_file(b)
    b.restart()  # answered peers come back from the file at once
    assert peers_of(b) == [a.address]


def test_list_is_capped(make_node, fake_peer):
    node = make_node(extra=QUIET + GOSSIP + ["--max-peers", "2"])
    fakes = [fake_peer() for _ in range(4)]
    for f in fakes:
        f.register_with(node)
    wait_until(lambda: len(peers_of(node)) == 2, "two peers listed")
    time.sleep(2)  # a couple of gossip rounds, and the list is still capped
    assert len(peers_of(node)) == 2 and len(peers_file(node)) == 2
    assert set(peers_of(node)) <= {f.address for f in fakes}


def test_peer_that_stops_answering_is_dropped(make_node, fake_peer):
    node = make_node(extra=QUIET + GOSSIP)
    gone = fake_peer()
    gone.register_with(node)
    wait_until(lambda: peers_of(node) == [gone.address], "the peer to be listed")
    gone.close()
    wait_until(lambda: peers_of(node) == [], "the silent peer to be dropped")
    assert peers_file(node) == []
    log = node.log()
    assert f"dropped peer {gone.address} after 5 failures in a row" in log
    assert f"banned peer {gone.address}" not in log  # down is not hostile


# ---- a line of five nodes -----------------------------------------------------------------

class Line:
    def __init__(self, nodes, sink):
        self.nodes = nodes
        self.sink = sink
        self.miner = nodes[0]

    def tips(self):
        return [n.tip()["hash"] for n in self.nodes]

    def converged(self):
        tips = self.tips()
        return len(set(tips)) == 1 and tips[0]


@pytest.fixture(scope="module")
def line(make_module_node):
    """Five nodes, each started knowing only its left neighbour; the first
    mines every transaction it gets (n=1), the others never mine again after
    their own block 1, so that the test can tell who made what. Debug logs
    show every request a node sends. The miner mines at the node's own
    priority: at the default nice 19 its threads get 15/1024 of a core's
    share against each busy program at nice 0, and on a machine loaded with
    such programs (seen beside other test suites) the blocks of twenty
    payments took longer than the test waits."""
    extra = GOSSIP + ["--log-level", "debug"]
    nodes = [make_module_node(n_transactions=1, extra=extra + ["--miner-nice", "0"])]
    # the miner's block 1 must be its own (it pays from it), so it mines
    # before anyone can hand it another
    nodes[0].wait_height(1)
    for _ in range(4):
        nodes.append(with_defaults(make_module_node, [nodes[-1].address], extra=extra))
    for node in nodes:
        node.wait_height(1)
    sink = FakePeer("node")
    yield Line(nodes, sink)
    sink.close()


def test_line_of_five_learns_everyone_and_converges(line):
    nodes = line.nodes
    for node in nodes:
        others = sorted(n.address for n in nodes if n is not node)
        wait_until(lambda: sorted(a for a in peers_of(node) if a != line.sink.address) == others,
                   f"{node.address} to know the four others")
        assert sorted(peers_file(node)) == sorted(peers_of(node))
    # each mined (or synced) a block 1: up to five forks, until the miner
    # pays someone and puts a block 2 on its branch, which every node adopts
    assert line.miner.money(Key().pub, 0.5).status == 200
    wait_until(lambda: len(line.miner.chain()) >= 3 and line.converged(),
               "the five nodes to agree on the miner's block 2")
    best = [[b["hash"] for b in n.best()] for n in nodes]
    assert all(chain == best[0] for chain in best)


def test_peers_restarted_together_relay_to_each_other_at_once(make_node):
    """Five nodes in a line; the two at one end stop and start again
    together. The first back finds the other still down and backs off from
    it; then the other asks it for its peers, which shows that it is up: a
    block posted to the first reaches the other at once, not once the
    back-off (150 s with this gossip period) has run out."""
    extra = ["--gossip-interval", "600", "--log-level", "debug"]
    nodes = [make_node(n_transactions=NEVER, extra=QUIET + extra)]
    for _ in range(4):
        nodes.append(with_defaults(make_node, [nodes[-1].address], extra=QUIET + extra))
    fourth, fifth = nodes[3], nodes[4]
    wait_until(lambda: fifth.address in peers_of(fourth) and fourth.address in peers_of(fifth),
               "the last two to list each other")
    key = Key()
    b1 = block_on(GENESIS_HASH, 1, key.pub)
    nodes[0].post_ok("/block", b1.text)
    wait_until(lambda: all(n.tip()["hash"] == b1.hash for n in nodes), "the line to agree")

    fourth.stop()
    fifth.stop()
    fourth.start()
    wait_until(lambda: f"peer {fifth.address} failed (1 in a row)" in fourth.log(),
               "the fourth to find the fifth down")
    fifth.start()
    wait_until(lambda: f"peer list from {fourth.address}:" in fifth.log(),
               "the fifth to ask the fourth for its peers")
    b2 = block_on(b1.hash, 2, key.pub)
    fourth.post_ok("/block", b2.text)
    wait_until(lambda: f"sent POST /block to {fifth.address} (" in fourth.log(),
               "the fourth to relay the block to the fifth")
    wait_until(lambda: fifth.tip()["hash"] == b2.hash, "the fifth to have the block")


def test_side_block_that_breaks_the_rules_is_refused_and_never_relayed(make_node, fake_peer):
    """A block beside our tip that pays from a key holding nothing (as
    reference nodes mine them) is checked against its branch at once:
    refused, not served, not relayed; a valid one beside it is."""
    node = make_node(n_transactions=NEVER, extra=QUIET + GOSSIP)
    sink = fake_peer("node")
    sink.register_with(node)
    wait_until(lambda: sink.address in peers_of(node), "the sink to be listed")
    key = Key()
    b1 = block_on(GENESIS_HASH, 1, key.pub)
    b2 = block_on(b1.hash, 2, key.pub)
    node.post_ok("/block", b1.text)
    node.post_ok("/block", b2.text)
    bad = block_on(b1.hash, 2, Key().pub, [payment(Key(), key.pub, 0.5)])
    assert_error(node.post("/block", bad.text), 400, "Insufficient funds")
    good = block_on(b1.hash, 2, Key().pub)
    assert node.post_ok("/block", good.text)["message"] == "Block stored on a side branch"
    wait_until(lambda: any(r[3] == good.text for r in sink.posts()), "the sink to get the valid one")
    assert not any(bad.hash in r[3] for r in sink.posts())
    assert_error(node.get(f"/getdata?id={bad.hash}"), 404)
    listed = node.get("/getblocks").body
    assert bad.hash not in listed and good.hash in listed
    assert node.tip()["hash"] == b2.hash


def in_best_chain(node, txs):
    """How many times each tx text appears in node's best chain."""
    seen = collections.Counter()
    wanted = {json.dumps(json.loads(t), sort_keys=True): t for t in txs}
    for block in node.best():
        for t in block["transactions"]:
            key = json.dumps(t, sort_keys=True)
            if key in wanted:
                seen[wanted[key]] += 1
    return seen


def test_twenty_transactions_land_once_and_sink_hears_each_once_per_node(line):
    nodes, sink = line.nodes, line.sink
    if not line.converged():
        assert line.miner.money(Key().pub, 0.25).status == 200
        wait_until(line.converged, "the five nodes to agree on one tip")
    for node in nodes:
        sink.register_with(node)
    for node in nodes:
        wait_until(lambda: sink.address in peers_of(node), f"{node.address} to list the sink")
    key = Key()
    tip = line.tips()[0]
    height = len(nodes[0].chain())
    funding = block_on(tip, height, key.pub)
    nodes[2].post_ok("/block", funding.text)
    wait_until(lambda: line.tips() == [funding.hash] * 5, "the funding block to reach all")

    txs = [payment(key, Key().pub, 0.01) for _ in range(20)]
    for i, tx in enumerate(txs):
        nodes[i % 5].post_ok("/inv", tx)

    def all_mined():
        if not line.converged():
            return False
        counts = [in_best_chain(n, txs) for n in nodes]
        return all(len(c) == 20 for c in counts) and counts
    counts = wait_until(all_mined, "the 20 transactions to be mined and agreed on")
    for c in counts:
        assert set(c.values()) == {1}, c

    # every item reached the sink at most once from each node
    per_sender = collections.Counter((h["host"], path.split("?")[0], sha256_hex(body))
                                     for method, path, h, body in sink.posts())
    assert per_sender and max(per_sender.values()) == 1, per_sender.most_common(3)
    senders = {n.address for n in nodes}
    assert {h for h, _, _ in per_sender} <= senders
    for i, tx in enumerate(txs):  # the node that got it first passed it on to the sink
        got = {h for h, p, d in per_sender if p == "/inv" and d == sha256_hex(tx)}
        assert nodes[i % 5].address in got, (i, got)


def relay_lines(node, method, path, item):
    return [line for line in node.log().splitlines()
            if f"sent {method} {path} to " in line and f"(item {item}," in line]


def test_messages_caused_by_one_transaction(line, capsys):
    """Counts, from the nodes' debug logs, every request one transaction
    caused: its relays, and those of the block that mined it."""
    nodes, sink = line.nodes, line.sink
    if not line.converged():
        assert line.miner.money(Key().pub, 0.25).status == 200
        wait_until(line.converged, "the five nodes to agree on one tip")
    for node in nodes:
        if sink.address not in peers_of(node):
            sink.register_with(node)
            wait_until(lambda: sink.address in peers_of(node), "the sink to be listed")
    key = Key()
    funding = block_on(line.tips()[0], len(nodes[0].chain()), key.pub)
    nodes[1].post_ok("/block", funding.text)
    wait_until(lambda: line.tips() == [funding.hash] * 5, "the funding block to reach all")

    tx = payment(key, Key().pub, 0.5)
    txid = sha256_hex(tx)
    nodes[4].post_ok("/inv", tx)  # at the far end of the line from the miner

    def sink_got(path, digest):
        return {r[2]["host"] for r in sink.posts() if r[1] == path and sha256_hex(r[3]) == digest}
    wait_until(lambda: nodes[4].address in sink_got("/inv", txid), "the tx to reach the sink")
    mined = wait_until(lambda: line.converged() and next(
        (b for b in nodes[0].best() if any(t["signature"] == json.loads(tx)["signature"]
                                           for t in b["transactions"])), None), "the tx mined")
    block_text = nodes[0].block(mined["hash"])
    block_digest = sha256_hex(block_text)
    wait_until(lambda: len(sink_got("/block", block_digest)) >= 4, "the block relayed to the sink")
    time.sleep(1)  # let the last relays be logged; the figure is reported, not asserted

    inv = [line for n in nodes for line in relay_lines(n, "POST", "/inv", txid[:16])]
    blk = [line for n in nodes for line in relay_lines(n, "POST", "/block", block_digest[:16])]
    fetch = [line for n in nodes for line in n.log().splitlines()
             if f"sent GET /getdata?id={mined['hash']}" in line]
    to_sink = lambda lines: sum(f" to {sink.address} " in line for line in lines)
    inv_nodes, blk_nodes = len(inv) - to_sink(inv), len(blk) - to_sink(blk)
    with capsys.disabled():  # shown in the test output, even without -s
        print(f"\none transaction across the 5-node network (a full mesh once discovered): "
              f"{inv_nodes} POST /inv between nodes + {to_sink(inv)} to the sink; its block: "
              f"{blk_nodes} POST /block between nodes + {to_sink(blk)} to the sink, "
              f"{len(fetch)} GET /getdata; total {len(inv) + len(blk) + len(fetch)} requests "
              f"({inv_nodes + blk_nodes + len(fetch)} without the sink)")
    # flooding: each node sends an item at most once to each neighbour
    for lines in (inv, blk):
        per_edge = collections.Counter(re.search(r"(http-\d+): sent \S+ \S+ to (\S+) ",
                                                 line).groups() for line in lines)
        assert len(per_edge) == len(lines) > 0 and max(per_edge.values()) == 1, per_edge
    n = len(nodes)
    assert inv_nodes <= (n - 1) * (n - 1)
    assert blk_nodes <= (n - 1) * (n - 1)


# ---- relay limits ---------------------------------------------------------------------------

def test_requests_to_a_stalled_peer_are_capped_queued_then_dropped(make_node, fake_peer):
    node = make_node(n_transactions=NEVER, extra=QUIET + ["--log-level", "debug"])
    stalled = fake_peer("stall")
    stalled.register_with(node)
    wait_until(lambda: peers_of(node) == [stalled.address], "the peer to be listed")
    key = Key()
    node.post_ok("/block", block_on(GENESIS_HASH, 1, key.pub).text)
    for _ in range(50):  # each relayed to the peer, which answers none
        node.post_ok("/inv", payment(key, Key().pub, 0.01))
    log = node.log()
    assert log.count(f"sent POST /inv to {stalled.address}") <= 8
    assert f"waits: 8 requests under way" in log
    assert f"POST /inv to {stalled.address} dropped: 8 requests under way and 32 waiting" in log
    assert stalled.most_at_once() <= 8
    assert node.get("/getblocks").status == 200
    # stopping with requests under way and waiting frees them all (checked by ASan at stop)


# ---- hostile peers ----------------------------------------------------------------------------

def post_from(node, address, path, body):
    """A POST that says it comes from address, as reference nodes do (Host)."""
    return request(node.port, "POST", path, body, headers=[f"Host: {address}"])


def test_hostile_peers_are_banned_and_the_node_keeps_answering(make_node, fake_peer, capsys):
    node = make_node(n_transactions=NEVER, extra=QUIET + GOSSIP + ["--ban-time", "600"])
    good = fake_peer("node")
    hostile = {b: fake_peer(b) for b in ("garbage", "huge", "slow")}
    rss_before = rss_kib(node)
    for p in [good, *hostile.values()]:
        p.register_with(node)

    # one more sends invalid blocks in a loop: refused, then banned
    sender = "127.0.0.1:1"  # says Host: 127.0.0.1:1; nobody listens there
    key = Key()
    answers = []
    for i in range(30):
        bad = make_block(GENESIS_HASH, 1, [f'{{"signature": "System","transaction": '
                                           f'{{"from": "System","to": "{key.pub}","sum": 1,'
                                           f'"timestamp": "t{i}"}}}}'], pow_ok=False)
        resp = post_from(node, sender, "/block", bad.text)
        answers.append(resp.status)
        if resp.status == 403:
            assert_error(resp, 403, "banned")
            break
        assert_error(resp, 400)
    assert answers[-1] == 403 and set(answers[:-1]) == {400}, answers
    # the ban holds for every kind of item, and a valid one too
    assert_error(post_from(node, sender, "/inv", payment(key, Key().pub, 1)), 403, "banned")
    valid = block_on(GENESIS_HASH, 1, key.pub)
    assert_error(post_from(node, sender, "/block", valid.text), 403, "banned")
    assert f"banned peer {sender} for 600 s: invalid block" in node.log()
    # an anonymous client sending the same block is not affected
    assert node.post_ok("/block", valid.text)["hash"] == valid.hash

    # the hostile answerers are banned in turn; meanwhile a client is served
    for behaviour, peer in hostile.items():
        def banned():
            assert node.get("/getblocks").status == 200
            return f"banned peer {peer.address} for 600 s" in node.log()
        wait_until(banned, f"the {behaviour} peer to be banned")
        assert_error(post_from(node, peer.address, "/block", valid.text), 403, "banned")
        assert peer.address not in peers_of(node)
    assert hostile["slow"].most_at_once() <= 8, hostile["slow"].lifetimes  # per-peer cap
    assert peers_of(node) == [good.address]

    # banned peers are sent nothing more, while the good one gets relays
    counts = {b: p.count() for b, p in hostile.items()}
    for p in hostile.values():
        p.register_with(node)  # asking to be checked again changes nothing
    tx = payment(key, Key().pub, 0.25)
    node.post_ok("/inv", tx)
    wait_until(lambda: any(r[3] == tx for r in good.posts()), "the good peer to get the tx")
    time.sleep(2)  # two gossip rounds
    assert {b: p.count() for b, p in hostile.items()} == counts
    assert node.get("/getblocks").status == 200
    rss_after = rss_kib(node)
    with capsys.disabled():
        print(f"\nnode RSS {rss_before} KiB before the hostile peers, {rss_after} KiB after; "
              f"the huge peer managed to send {hostile['huge'].sent_bytes} bytes")
    assert rss_after - rss_before < 64 << 10  # a 10 MB answer never sat in memory whole


def test_peer_serving_invalid_blocks_is_banned(make_node, fake_peer):
    node = make_node(n_transactions=NEVER, extra=QUIET + GOSSIP)
    liar = fake_peer("node")
    key = Key()
    liar.served_block = make_block(GENESIS_HASH, 1, [f'{{"signature": "System","transaction": '
                                                     f'{{"from": "System","to": "{key.pub}",'
                                                     f'"sum": 1,"timestamp": "t"}}}}'],
                                   pow_ok=False).text
    liar.register_with(node)
    wait_until(lambda: peers_of(node) == [liar.address], "the liar to be listed")
    for i in range(10):  # each orphan makes the node ask its peers for the parent
        parent = sha256_hex(f"unknown parent {i}")
        orphan = block_on(parent, 7, key.pub)
        assert node.post_ok("/block", orphan.text)["message"] == \
            "Block held until its parent arrives"
        if f"banned peer {liar.address} for 600 s: invalid block" in node.log():
            break
    wait_until(lambda: f"banned peer {liar.address} for 600 s: invalid block" in node.log(),
               "the peer that serves invalid blocks to be banned")
    assert peers_of(node) == []
    assert_error(post_from(node, liar.address, "/inv", payment(key, Key().pub, 1)), 403)


def test_payments_of_abandoned_blocks_are_offered_to_peers_again(make_node, fake_peer):
    """A payment mined only on a branch that loses is back in the mempool
    after the reorganisation; the peers, which were on the winning branch,
    may never have seen it, so the node offers it again."""
    node = make_node(n_transactions=NEVER, extra=QUIET + GOSSIP)
    sink = fake_peer("node")
    sink.register_with(node)
    wait_until(lambda: sink.address in peers_of(node), "the sink to be listed")
    key = Key()
    funded = block_on(GENESIS_HASH, 1, key.pub)
    node.post_ok("/block", funded.text)
    pay = payment(key, Key().pub, 0.5)
    losing = block_on(funded.hash, 2, Key().pub, [pay])
    node.post_ok("/block", losing.text)
    assert node.get("/api/mempool").json()["count"] == 0
    before = [r for r in sink.posts() if r[3] == pay]
    # a longer branch without the payment: 2' and 3'
    other2 = block_on(funded.hash, 2, Key().pub)
    other3 = block_on(other2.hash, 3, Key().pub)
    node.post_ok("/block", other2.text)
    node.post_ok("/block", other3.text)
    assert node.tip()["hash"] == other3.hash
    wait_until(lambda: len([r for r in sink.posts() if r[3] == pay and r[1] == "/inv"]) >
               len([r for r in before if r[1] == "/inv"]),
               "the abandoned payment to be offered to the peer again")
    assert "offered 1 waiting payments to peers after a reorganisation" in node.log()
