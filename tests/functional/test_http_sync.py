"""Catching up: a new or lagging node syncs from its peers, forks resolve to
the longest branch everywhere, and a peer that only speaks the seed's API is
synced from through the seed's endpoints (docs/http-network.md, "Catching up")."""
import http.client
import http.server
import json
import os
import threading
import time
import urllib.parse

import pytest

from conftest import (GENESIS_HASH, WAIT_S, Key, assert_error, block_on, payment, vectors,
                      wait_until)

QUIET = ["--mine-on-start", "no"]
NEVER = 255  # --n-transactions that no test reaches
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "chain-1000.jsonl")
SYNC_WAIT_S = 120  # a 1,000-block catch-up under ASan


def fixture_blocks(n=None):
    """Texts of the fixture chain's blocks 1..n (tests/fixtures/make_chain.py)."""
    with open(FIXTURE) as f:
        lines = [line.rstrip("\n") for line in f]
    return lines[:n] if n else lines


def hash_of(text):
    return json.loads(text)["hash"]


def post_all(node, texts):
    """Posts blocks in order over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=WAIT_S)
    try:
        for text in texts:
            conn.request("POST", "/block", text, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200, body
    finally:
        conn.close()


def with_peers(make_node, peers, n_transactions=NEVER, extra=QUIET, start=True):
    """A node whose default peers are `peers` (nodes or "host:port")."""
    node = make_node(start=False, n_transactions=n_transactions, extra=extra)
    path = os.path.join(node.workdir, "peers-default.json")
    with open(path, "w") as f:
        json.dump({"peers": [p if isinstance(p, str) else p.address for p in peers]}, f)
    node.args += ["--peers-default", path]
    return node.start() if start else node


def tip_hash(node):
    return node.tip()["hash"]


def same_tip(nodes, want):
    return lambda: all(tip_hash(n) == want for n in nodes)


def flat(node, query):
    resp = node.get("/getblocks?" + query)
    assert resp.status == 200, resp
    return resp.json()


# ---- serving pages ------------------------------------------------------------------

def test_pages_by_id_and_by_locator(make_node):
    node = make_node(n_transactions=NEVER, extra=QUIET)
    texts = fixture_blocks(30)
    post_all(node, texts)
    hashes = [GENESIS_HASH] + [hash_of(t) for t in texts]

    page = flat(node, f"id={hashes[5]}&limit=3")
    assert [b["hash"] for b in page["chain"]] == hashes[5:9] and set(page) == {"chain"}
    assert [b["hash"] for b in flat(node, f"id={hashes[5]}")["chain"]] == hashes[5:]
    # the seed's forms are unchanged by the new parameters' absence
    assert [h[0]["hash"] for h in flat(node, "limit=2")["chain"]] == hashes

    unknown = "ab" * 32
    page = flat(node, f"locator={unknown},{hashes[20]},{hashes[10]},{GENESIS_HASH}&limit=4")
    assert [b["hash"] for b in page["chain"]] == hashes[20:25]
    assert page["height"] == 30
    page = flat(node, f"locator={unknown}")  # none known: from the genesis
    assert [b["hash"] for b in page["chain"]] == hashes
    page = flat(node, f"locator={hashes[30]}&limit=100000")
    assert [b["hash"] for b in page["chain"]] == [hashes[30]]

    for bad in ("locator=xyz", f"locator={hashes[3]},,{'A' * 64}", f"id={hashes[3]}&limit=0",
                f"locator={hashes[3]}&limit=-1", "locator=" + ",".join([hashes[3]] * 65)):
        assert_error(node.get("/getblocks?" + bad), 400)


# ---- catching up ------------------------------------------------------------------------

def test_node_started_last_syncs_a_1000_block_chain(make_node):
    a = make_node(n_transactions=NEVER, extra=QUIET)
    texts = fixture_blocks()
    assert len(texts) == 1000
    post_all(a, texts)
    assert tip_hash(a) == hash_of(texts[-1])

    started = time.monotonic()
    b = with_peers(make_node, [a], extra=[])  # mines its own block 1 meanwhile: a fork
    wait_until(lambda: tip_hash(b) == hash_of(texts[-1]), "B to sync 1,000 blocks",
               timeout=SYNC_WAIT_S, interval=0.2)
    print(f"\n1,000-block sync took {time.monotonic() - started:.1f} s (ASan build, "
          f"node start included)")
    assert b.get("/getblocks").body.count('"nr": 1000,') == 1
    log = b.log()
    assert "sync: height " in log and "blocks/s" in log and "%)" in log, log[-3000:]
    assert " s left" in log, log[-3000:]  # the time left, once its height is known


def test_node_stopped_while_blocks_are_mined_catches_up_after_restart(make_node):
    a = make_node(n_transactions=NEVER, extra=QUIET)
    b = with_peers(make_node, [a])
    key = Key()
    parent = a.post_ok("/block", block_on(GENESIS_HASH, 1, key.pub).text)["hash"]
    wait_until(lambda: tip_hash(b) == parent, "B to get block 1")
    b.stop()
    for nr in range(2, 5):
        parent = a.post_ok("/block", block_on(parent, nr, key.pub).text)["hash"]
    b.start()  # same data dir: A is in its peer list
    wait_until(same_tip([b], parent), "B to catch up with the 3 blocks mined while it was down")
    assert b.get("/getblocks").body == a.get("/getblocks").body


def test_cut_line_converges_on_the_longer_branch_and_remines_the_shorter_ones_payments(
        make_node):
    """Two halves, each a line of two nodes, share block 1 and then mine
    apart: 2 blocks on the left against 4 on the right. Joined, everyone
    ends on the right branch, and the left branch's payments are mined again."""
    n1 = make_node(n_transactions=1, extra=QUIET)            # left miner
    n2 = with_peers(make_node, [n1])                         # left relay
    n4 = make_node(n_transactions=1, extra=QUIET)            # right miner
    n3 = with_peers(make_node, [n4])                         # right relay
    nodes = [n1, n2, n3, n4]
    payer = Key()
    b1 = block_on(GENESIS_HASH, 1, payer.pub)
    n1.post_ok("/block", b1.text)
    n4.post_ok("/block", b1.text)
    wait_until(same_tip(nodes, b1.hash), "block 1 everywhere")

    left = [payment(payer, Key().pub, 0.125) for _ in range(2)]
    right = [payment(payer, Key().pub, 0.0625) for _ in range(4)]
    for half, miner, txs in (((n1, n2), n1, left), ((n3, n4), n4, right)):
        for i, tx in enumerate(txs):
            miner.post_ok("/inv", tx)
            wait_until(lambda: all(len(n.chain()) == 3 + i for n in half),
                       f"block {2 + i} on both nodes of the half")
    assert len(n1.best()) == 4 and len(n4.best()) == 6
    right_tip = tip_hash(n4)

    # join the halves: N3 asks N2 for its peers, giving its port; each checks the other
    n3.get(f"/getpeers?port={n2.port}")

    def all_mined(node):
        mined = {json.dumps(t, sort_keys=True) for b in node.best() for t in b["transactions"]}
        return all(json.dumps(json.loads(tx), sort_keys=True) in mined for tx in left + right)

    wait_until(lambda: all(all_mined(n) for n in nodes),
               "every payment of both branches mined on every node's best chain",
               timeout=SYNC_WAIT_S, interval=0.2)
    # The left payments come back to N1's mempool and are offered to the
    # right half: both miners may mine them at once, two tips of one height
    # that only a next block settles (as in Bitcoin). Mining one settles it.
    if len({tip_hash(n) for n in nodes}) != 1:
        assert n4.post_ok("/api/mine", "")["mining"] >= 7
    wait_until(lambda: len({tip_hash(n) for n in nodes}) == 1 and all_mined(n1),
               "one tip everywhere", timeout=SYNC_WAIT_S, interval=0.2)
    best = n1.best()
    assert [b["hash"] for b in best[:6]] == [b["hash"] for b in n4.best()[:6]]
    assert best[5]["hash"] == right_tip
    for node in nodes:
        assert node.get("/getblocks").body.count(right_tip) >= 1


# ---- a peer that only speaks the seed's API ------------------------------------------------

class SeedOnlyPeer:
    """Serves a chain the way a node of the seed's API does: /getblocks (every
    block by height), /getblocks?id= (flat, from the block on), /getdata?id=;
    it ignores parameters it does not know, and answers errors with HTTP 200
    (or error_status).

    like_reference: as the reference node does, its handler dies on a query
    with two '=' (the connection closes with no answer) and its ?id= answers
    are broken JSON. claims_ours: its /getpeers answer says, wrongly, that it
    serves our catch-up forms."""

    def __init__(self, texts, error_status=200, like_reference=False, claims_ours=False):
        self.blocks = list(texts)  # best chain, genesis excluded
        self.requests = []
        self.posts = []  # (path, body)
        self.lock = threading.Lock()
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, doc, status=200):
                body = doc if isinstance(doc, str) else json.dumps(doc)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                with peer.lock:
                    peer.requests.append(self.path)
                    texts = [peer.genesis] + peer.blocks
                hashes = [hash_of(t) for t in texts]
                block_id = query.get("id", [None])[0]
                if url.path == "/getpeers":
                    self.answer({"peers": []})
                elif like_reference and self.path.count("=") > 1:
                    self.close_connection = True  # the handler died: no answer at all
                elif url.path == "/getblocks" and block_id is None:
                    self.answer('{"chain": [' + ", ".join(f"[{t}]" for t in texts) + "]}")
                elif like_reference and url.path == "/getblocks":
                    at = hashes.index(block_id) if block_id in hashes else len(texts)
                    self.answer('{"chain": ' + "".join(t + "," for t in texts[at:]) + "]}")
                elif url.path in ("/getblocks", "/getdata") and block_id in hashes:
                    at = hashes.index(block_id)
                    self.answer(texts[at] if url.path == "/getdata" else
                                '{"chain": [' + ", ".join(texts[at:]) + "]}")
                else:
                    self.answer({"errcode": 404, "errmsg": "Block not found"}, error_status)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                with peer.lock:
                    peer.posts.append((self.path, body))
                self.answer({"message": "ok"})

            def end_headers(self):
                if claims_ours and self.path.startswith("/getpeers"):
                    self.send_header("Cheese-Sync", "locator")
                super().end_headers()

        self.genesis = vectors()["genesis"]["json"]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def extend(self, texts):
        with self.lock:
            self.blocks += texts

    def asked(self, prefix):
        with self.lock:
            return [r for r in self.requests if r.startswith(prefix)]

    def posted(self, path, body):
        with self.lock:
            return (path, body) in self.posts

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("error_status", [200, 404])
def test_sync_from_a_peer_that_only_speaks_the_seed_api(make_node, error_status):
    texts = fixture_blocks(30)
    with SeedOnlyPeer(texts[:20], error_status) as peer:
        node = with_peers(make_node, [peer.address])
        # it never showed that it speaks more than the seed's API: it is asked
        # the seed's way only (a reference node's handler dies on our forms)
        wait_until(lambda: tip_hash(node) == hash_of(texts[19]), "the node to sync 20 blocks")
        assert peer.asked(f"/getblocks?id={GENESIS_HASH}")

        # from then on it is asked by id; its chain grows: the node follows
        peer.extend(texts[20:22])
        wait_until(lambda: tip_hash(node) == hash_of(texts[21]), "the node to follow by id")
        assert peer.asked(f"/getblocks?id={hash_of(texts[19])}")

        # our node mines apart (a block unknown to the peer), the peer's chain
        # outgrows it: ?id=<our tip> is an error (reference nodes: in a 200
        # answer), and the whole chain shows the way back
        ours = block_on(hash_of(texts[21]), 23, Key().pub)
        node.post_ok("/block", ours.text)
        assert tip_hash(node) == ours.hash
        full_before = peer.requests.count("/getblocks")
        peer.extend(texts[22:30])
        wait_until(lambda: tip_hash(node) == hash_of(texts[29]), "the node to reorganise "
                   "onto the seed-only peer's longer chain", timeout=SYNC_WAIT_S)
        assert peer.asked(f"/getblocks?id={ours.hash}")
        assert peer.requests.count("/getblocks") > full_before
        assert not peer.asked("/getblocks?locator=")


def test_peer_that_closes_on_our_forms_is_synced_the_seed_way_and_relayed_to(make_node):
    """A peer that says it speaks our catch-up forms but whose handler dies on
    them, as a reference node's does on a query with two '=': the connection
    closed without an answer means "the seed's API only", not "down". The
    node syncs from it the seed's way (its ?id= answers are broken JSON, so
    by its whole chain), and keeps relaying to it: no back-off."""
    texts = fixture_blocks(21)
    with SeedOnlyPeer(texts[:20], like_reference=True, claims_ours=True) as peer:
        node = with_peers(make_node, [peer.address], extra=QUIET + ["--log-level", "debug"])
        wait_until(lambda: tip_hash(node) == hash_of(texts[19]), "the node to sync 20 blocks")
        assert peer.asked("/getblocks?locator=")
        assert peer.asked("/getblocks?id=") and "/getblocks" in peer.requests
        log = node.log()
        assert f"sync: {peer.address} does not page by locator" in log
        assert f"peer {peer.address} failed" not in log

        node.post_ok("/block", texts[20])
        wait_until(lambda: peer.posted("/block", texts[20]), "the block to be relayed to the peer")
        # later rounds ask it for its whole chain at once
        full = peer.requests.count("/getblocks")
        wait_until(lambda: peer.requests.count("/getblocks") > full, "another round")
        assert len(peer.asked("/getblocks?locator=")) == 1 and len(peer.asked("/getblocks?id=")) == 1
