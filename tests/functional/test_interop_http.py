"""Our http node beside the real reference node (tests/functional/refs.py
starts it): what works between them, and that our node refuses what the
reference gets wrong (docs/interop.md, the http node).

The reference node reads one recv(4096) per request, dies on queries it
does not understand, answers errors with HTTP 200, never fetches a block,
and checks its own balance instead of the sender's (PROTOCOL.md A.5). Every
test ends by checking that no handler of a reference node died on anything
our nodes sent it, and that it still runs: the only Python tracebacks in
its output may be its threads' races on its own files (refs.file_races),
which happen whoever sends it requests at the same time.

The tests wait for behaviour with generous timeouts: the reference is slow
(it rereads its whole chain for every request and mines in Python, under
nice), and the machine may be busy.
"""
import json
import os
import re
import socket

import pytest

import refs
from conftest import WAIT_S, Key, free_port, payment, wait_until

NEVER = 255  # --n-transactions that no test reaches: our nodes mine only when told
QUIET = ["--mine-on-start", "no"]
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "chain-1000.jsonl")
# Every wait here involves a reference node: it answers in Python and mines
# there under nice, so a busy machine slows it down most.
REF_S = 4 * WAIT_S


def wait(condition, what):
    return wait_until(condition, what, timeout=REF_S)


# ---- talking to a reference node the way its own client does ------------------------

def ref_request(port, method, path, body=""):
    """Request line, headers and body in one send, no Content-Length (as the
    reference's client sends); returns the answer's body."""
    data = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n{body}".encode()
    assert len(data) <= 4096, "a reference node reads one recv(4096)"
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(data)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _length(raw):
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    return raw.partition(b"\r\n\r\n")[2].decode()


def _length(raw):
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value)
    return 1 << 30


class RefNode:
    """One reference http node in its own copy of the folder."""

    def __init__(self, workdir, name, port, peers=()):
        self.name = name
        self.port = port
        home = os.path.join(str(workdir), name)
        os.makedirs(home, exist_ok=True)
        self.folder = refs.copy_of(refs.HTTP_NODE, home)
        refs.http_peers_default(self.folder, peers)
        self.proc = refs.RefProcess(home, self.folder, ["MyCustomServer.py", str(port)], name)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.proc.start()
        wait(self._ready, f"reference node {self.name} to mine its block 1")
        self.pub = refs.http_public_key(self.proc.log())
        # its peer-list exchange runs every 15 s from when its files are written
        self.exchange_due = refs.http_file_time(self.folder, "transactions", self.port) + 15
        return self

    def exchanged_peers(self):
        """True once it has asked its peers for theirs and stored what they
        answered (it rewrites its peer list after each answer)."""
        written = refs.http_file_time(self.folder, "peers", self.port)
        return written is not None and written >= self.exchange_due

    def _ready(self):
        assert self.proc.alive(), f"reference node {self.name} exited:\n{self.proc.log()[-3000:]}"
        return refs.http_ready(self.folder, self.port)

    def chain(self):
        return wait(lambda: refs.http_chain(self.folder, self.port), f"{self.name}'s chain")

    def hashes(self):
        return {b["hash"] for height in self.chain()["chain"] for b in height}

    def top(self):
        """The blocks of its highest level (one of them is its tip)."""
        return self.chain()["chain"][-1]

    def peers(self):
        return refs.http_peers(self.folder, self.port) or []

    def post(self, path, body):
        """Its answer; the request is sent again when the handler died on
        one of its own files rewritten meanwhile by another of its threads
        (refs.file_races): such a handler took nothing of it."""
        for _ in range(3):
            races = refs.file_races(self.proc.log())
            answer = ref_request(self.port, "POST", path, body)
            if answer or refs.file_races(self.proc.log()) == races:
                break
        return answer

    def check_unharmed(self):
        """No handler died on what it was sent, and it still runs. Its
        threads' races on its own files (refs.file_races) are its own."""
        log = self.proc.log()
        assert refs.traceback_count(log) == refs.file_races(log), \
            f"{self.name} printed tracebacks:\n" + "\n\n".join(refs.tracebacks(log))
        assert self.proc.alive(), f"{self.name} exited:\n{log[-3000:]}"


@pytest.fixture
def make_ref(tmp_path):
    started = []

    def make(name, port=None, peers=()):
        ref = RefNode(tmp_path, name, port or free_port(), peers)
        started.append(ref)
        return ref.start()
    yield make
    for ref in started:
        ref.proc.stop()


def ours(make_node, peers, extra=()):
    """One of our nodes whose default peers are peers (nodes or addresses)."""
    node = make_node(start=False, n_transactions=NEVER, extra=QUIET + list(extra))
    path = os.path.join(node.workdir, "peers-default.json")
    with open(path, "w") as f:
        json.dump({"peers": [p if isinstance(p, str) else p.address for p in peers]}, f)
    node.args += ["--peers-default", path]
    return node.start()


def listed(node):
    return node.get("/getpeers").json()["peers"]


def all_hashes(node):
    return {b["hash"] for height in node.chain() for b in height}


def best_hashes(node):
    return [b["hash"] for b in node.best()]


def signatures_of(block):
    return {t["signature"] for t in block["transactions"]}


def mined_on_best(node, signatures):
    """True when every payment of signatures is in a block of node's best chain."""
    return signatures <= {s for b in node.best() for s in signatures_of(b)}


def ref_holds_mined(ref, signatures):
    """True when a block of ref's highest level (its tip is one of them)
    holds every payment of signatures."""
    return any(signatures <= signatures_of(b) for b in ref.top())


def fixture_blocks(n):
    with open(FIXTURE) as f:
        return [next(f).rstrip("\n") for _ in range(n)]


def idle(refs_):
    """True when no reference node is mining: it mines once two payments
    wait, and empties its mempool when done. One that gets two more while
    it mines mines again on its old state, then rewrites its chain from a
    copy read before, losing the blocks that came meanwhile: the steps of a
    test wait for this before going on. (One payment may stay: a copy of
    one it mined that reached it afterwards, which it takes as new.)"""
    waiting = [refs.http_mempool(r.folder, r.port) for r in refs_]
    return all(w is not None and len(w) < 2 for w in waiting)


def new_block(node):
    """Mines a block on node through its API; returns its hash once it is the tip."""
    before = node.tip()["hash"]
    height = len(node.chain())
    assert node.post("/api/mine", "").status == 200
    return wait(lambda: len(node.chain()) > height and node.tip()["hash"] != before and
                node.tip()["hash"], f"{node.address} to mine a block")


# ---- syncing from a reference node, and relaying to it -------------------------------

def test_fresh_node_syncs_50_blocks_from_a_reference_node_and_relays_to_it(make_node, make_ref):
    """The reference speaks only the seed's API: our node never sends it the
    locator form (its handler would die on it), gets its whole chain (its
    ?id= answers are broken JSON), and keeps relaying to it."""
    ref = make_ref("ref")
    texts = fixture_blocks(51)
    for text in texts[:50]:  # its own block 1 stays beside the fixture's
        assert ref.post("/block", text) == "1"
    assert len(ref.chain()["chain"]) == 51
    tip = json.loads(texts[49])["hash"]

    node = ours(make_node, [ref], ["--log-level", "debug"])
    wait(lambda: node.tip()["hash"] == tip, "our node to sync 50 blocks from the reference")
    assert len(node.chain()) == 51
    assert ref.address in listed(node)
    log = node.log()
    assert "sent GET /getblocks?locator=" not in log
    assert f"sent GET /getblocks to {ref.address}" in log

    # a block posted to our node reaches the reference
    node.post_ok("/block", texts[50])
    block51 = json.loads(texts[50])["hash"]
    wait(lambda: block51 in ref.hashes(), "the block to be relayed to the reference")
    assert f"peer {ref.address} failed" not in node.log()
    ref.check_unharmed()


# ---- a mixed network ---------------------------------------------------------------

def test_mixed_network_of_two_reference_nodes_and_two_of_ours(make_node, make_ref):
    p1, p2 = free_port(), free_port()
    r1 = make_ref("r1", p1, [f"127.0.0.1:{p2}"])
    r2 = make_ref("r2", p2, [f"127.0.0.1:{p1}"])
    a = ours(make_node, [r1, r2], ["--log-level", "debug"])
    b = ours(make_node, [r1, r2, a], ["--log-level", "debug"])
    nodes, refs_ = [a, b], [r1, r2]
    wait(lambda: {r1.address, r2.address, b.address} <= set(listed(a)), "A's peers")
    wait(lambda: {r1.address, r2.address, a.address} <= set(listed(b)), "B's peers")
    for r in refs_:  # our nodes registered with them by asking them for their peers
        wait(lambda: {a.address, b.address} <= set(r.peers()), f"{r.name}'s peers")
    # each reference mined its own block 1; ours follow one of them
    wait(lambda: all(len(n.chain()) == 2 for n in nodes), "our nodes to sync block 1")

    # a block mined by ours reaches every node
    x1 = new_block(a)
    wait(lambda: x1 in best_hashes(b) and all(x1 in r.hashes() for r in refs_),
         "our block to reach every node")

    # payments posted to ours reach every node; the references mine them
    # (two waiting), and their blocks reach every node
    k = Key()
    sent = set()
    for amount in (0.5, 0.25):
        answer = a.post("/api/send", json.dumps({"to": k.pub, "sum": amount}))
        assert answer.status == 200, answer
        sent.add(answer.json()["transaction"]["signature"])
    wait(lambda: all(mined_on_best(n, sent) for n in nodes) and
         all(ref_holds_mined(r, sent) for r in refs_),
         "the payments sent through ours to be mined everywhere")
    wait(lambda: idle(refs_), "the reference nodes to be done mining")
    theirs = {blk["hash"] for r in refs_ for blk in r.top()
              if blk["creator"] in (r1.pub, r2.pub) and sent <= signatures_of(blk)}
    assert theirs, "a reference node mined them"
    wait(lambda: all(theirs & all_hashes(n) for n in nodes), "their block on ours")

    # payments posted to a reference reach every node and get mined
    pays = [payment(k, Key().pub, 0.125), payment(k, Key().pub, 0.0625)]
    for text in pays:
        assert r1.post("/inv", text) == "1"
    paid = {json.loads(t)["signature"] for t in pays}
    wait(lambda: all(mined_on_best(n, paid) for n in nodes) and
         all(ref_holds_mined(r, paid) for r in refs_),
         "the payments posted to a reference to be mined everywhere")
    wait(lambda: idle(refs_), "the reference nodes to be done mining")

    # and ours mines on top of that: the references take it
    x2 = new_block(b)
    wait(lambda: x2 in best_hashes(a) and all(x2 in r.hashes() for r in refs_),
         "our next block to reach every node")
    # and each reference has read our answers to its own /getpeers (its
    # whole process dies when it cannot)
    for r in refs_:
        wait(r.exchanged_peers, f"{r.name} to ask its peers for theirs")
        r.check_unharmed()


# ---- what the reference gets wrong -------------------------------------------------

def test_unfunded_blocks_of_a_reference_node_are_refused_never_served_or_relayed(
        make_node, make_ref):
    """The reference checks its own balance, not the sender's: it mines
    payments from keys that hold nothing. Our node refuses such a block
    when it forks from our best chain (a side block for us, met while
    syncing) and when it is posted to us; it never serves or relays it."""
    ref = make_ref("ref")
    sink = make_node(n_transactions=NEVER, extra=QUIET)  # sees what F relays
    f = ours(make_node, [sink], ["--log-level", "debug"])
    new_block(f)
    new_block(f)
    wait(lambda: len(sink.chain()) == 3, "the watcher to follow F")

    # two payments from keys that never held anything: mined on its block 1
    for _ in range(2):
        assert ref.post("/inv", payment(Key(), Key().pub, 0.25)) == "1"
    wait(lambda: len(ref.chain()["chain"]) == 3 and idle([ref]),
         "the reference to mine the unfunded payments")
    ref_b1, unfunded = ref.chain()["chain"][1][0], ref.top()[0]
    assert unfunded["previous_hash"] == ref_b1["hash"]

    # F meets the reference (as when it asks F for its peers): it takes its
    # block 1, a valid side block, and refuses the unfunded one beside its
    # own block 2
    assert f.get(f"/getpeers?port={ref.port}").status == 200
    wait(lambda: ref_b1["hash"] in all_hashes(f), "F to sync the reference's block 1")
    refused = re.compile(rf"sync: block from {ref.address} refused: .*Insufficient funds")
    wait(lambda: refused.search(f.log()), "F to refuse the unfunded block")

    # the reference lists F now (F asked it for its peers), and F posted it
    # the blocks of F's best chain, which it never fetches itself
    wait(lambda: f.address in ref.peers(), "the reference to list F")
    wait(lambda: set(best_hashes(f)) <= ref.hashes(), "F to give the reference its blocks")
    # it mines again on its unfunded block (it has more payments than F's
    # block 2): posted to F, refused too
    for _ in range(2):
        assert ref.post("/inv", payment(Key(), Key().pub, 0.25)) == "1"
    wait(lambda: len(ref.chain()["chain"]) == 4 and idle([ref]),
         "the reference to mine on its unfunded block")
    on_unfunded = ref.top()[0]
    assert on_unfunded["previous_hash"] == unfunded["hash"]
    wait(lambda: "refused: Block builds on an invalid block" in f.log(),
         "F to refuse the block posted to it")

    # a valid block after them, so that anything F relayed before has arrived
    marker = new_block(f)
    wait(lambda: marker in all_hashes(sink), "the watcher to get F's next block")
    for bad in (unfunded, on_unfunded):
        assert f.get(f"/getdata?id={bad['hash']}").status == 404
        assert bad["hash"] not in all_hashes(f) | all_hashes(sink)
        # the reference, which lists the watcher too (it learnt it from F),
        # may send it its blocks itself: what counts is what came from F
        assert f"{bad['hash']} from {f.address}" not in sink.log()
    ref.check_unharmed()
