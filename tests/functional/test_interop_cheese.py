"""The cheese network against the real reference implementations
(PROTOCOL.md B; the references are described in refs/README.md of the
shared folder): our cheesed and cheese-tracker from $CHEESE_BUILD beside the
Python tracker and peers of both eras, on loopback. docs/interop-cheese.part.md
says what works and what cannot, test by test.

- Later spelling: our node fetches a reference node's chain, blocks go both
  ways, open transactions go both ways (theirs by BRTRANSACTION, ours by
  their GETOPENTRANSACTIONS: their BRTRANSACTION reader is broken, and our
  node finds out without sending one); a reference node fetches our chain
  through the reference tracker, which our node joined, and its blocks
  (a reward of 0.5) are refused; our tracker keeps a reference peer that
  never answers HCK while it greets on its port.
- Seed era: our node joins its tracker (line ends, lower-case ids, no
  GET_PEERS, which would kill it); its peer reads our GET_CHAIN line with
  its third field and we read its answer; its GET_CHAIN:ID:PORT gets our
  chain; our tracker probes it, keeps it while it greets and drops it when
  it is gone.

No reference may print a traceback. The reference nodes are driven the way
their own UI drives them: node.py's Flask routes (bound to loopback), or
their Peer class from a small script.
"""
import json
import os
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest

import refs
from conftest import WAIT_S, free_port, wait_until
from test_cheese_network import NEVER, Node, RsaKey, Tracker, mine, reward, smell
from test_cheese_tracker import Conn, PeerPort
from test_cheese_tracker import Tracker as LivenessTracker

BUILD = os.environ.get("CHEESE_BUILD")
pytestmark = pytest.mark.skipif(not BUILD, reason="CHEESE_BUILD is not set")

# the seed era's tracker gives every peer this id
SEED_ERA_ID = "PID" + uuid.uuid5(uuid.NAMESPACE_URL, "mez").hex
FLASK_WAIT_S = 20  # one call to a reference node; they can hang (their bugs): then retried
REF_WAIT_S = 2 * WAIT_S  # the references run niced, and slow down as their threads spin


def wait(condition, what):
    return wait_until(condition, what, timeout=REF_WAIT_S)


@pytest.fixture
def procs():
    """Everything a test starts, stopped at the end (references by pid)."""
    started = []
    yield started
    errors = []
    for p in reversed(started):
        try:
            p.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


@pytest.fixture(autouse=True)
def references_present():
    refs.require(refs.CHEESE_LATER)
    refs.require(refs.CHEESE_SEED)
    refs.python_ok()


def no_tracebacks(*ref_procs):
    for p in ref_procs:
        found = refs.tracebacks(p.log())
        assert not found, f"{p.name} printed:\n" + "\n\n".join(found)


def script(*parts):
    return ["-c", "\n".join([refs.squeeze_prelude(), refs.linux_listen_prelude(), *parts])]


# ---- the later spelling: their node.py (Flask) and tracker ---------------------------------

LATER_NODE = """
from cheese_network.cheese_protocol import CheeseProtocol
CheeseProtocol.TRACKER_URL = "127.0.0.1"
CheeseProtocol.TRACKER_PORT = {tracker}
import cheesechain
if {reward_10}:
    cheesechain.Cheesechain.MINING_REWARD = 10  # theirs pays 0.5, which PROTOCOL.md B.2 refuses
import node
node.port = {port}
node.wallet = node.Wallet({port})
node.cheesechain = node.Cheesechain(None, {port})
node.app.run(host="127.0.0.1", port={port}, threaded=True)
"""

LATER_TRACKER = """
import sys
sys.path.insert(0, "cheese_network")
from cheese_protocol import CheeseProtocol
CheeseProtocol.TRACKER_PORT = {port}
import tracker
tracker.main()
"""


def later_copy(tmp_path):
    """A copy of the later reference whose tracker binds loopback (its README)."""
    copy = refs.copy_of(refs.CHEESE_LATER, tmp_path)
    path = os.path.join(copy, "cheese_network", "cheese_protocol.py")
    with open(path) as f:
        text = f.read()
    assert "TRACKER_HOST = '0.0.0.0'" in text
    with open(path, "w") as f:
        f.write(text.replace("TRACKER_HOST = '0.0.0.0'", "TRACKER_HOST = '127.0.0.1'"))
    return copy


def listening(proc):
    """A reference tracker is up once it says so (a connection made only to
    see would leave one of its threads spinning: see refs.squeeze_prelude)."""
    assert proc.alive(), proc.log()[-3000:]
    return "waiting for connection from peers" in proc.log()


class RefNode:
    """A reference node of the later spelling: their node.py, its Flask
    routes on loopback (as their UI calls them), its peer joining `tracker`."""

    def __init__(self, procs, tmp_path, copy, tracker_port, name, reward_10=True):
        self.port = free_port()
        self.copy = copy
        self.proc = refs.RefProcess(tmp_path, copy, script(LATER_NODE.format(
            tracker=tracker_port, port=self.port, reward_10=reward_10)), name)
        procs.append(self.proc)
        self.proc.start()
        wait(self._up, f"{name} on port {self.port}")
        self.pub = self.call("POST", "/wallet")["public_key"]

    def _up(self):
        assert self.proc.alive(), self.proc.log()[-3000:]
        return refs.connects(self.port)

    def call(self, method, path, body=None):
        """One call, as their UI makes it. A GET that hangs (their client can
        wait forever on an answer glued to something else) or fails is
        tried again; a POST (mining, paying) is not: it may have happened."""
        data = json.dumps(body).encode() if body is not None else None

        def attempt(timeout):
            req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return json.loads(resp.read())
            except (OSError, urllib.error.URLError, ValueError):
                assert self.proc.alive(), self.proc.log()[-3000:]
                return None
        if method != "GET":
            answer = attempt(REF_WAIT_S)
            assert answer is not None, f"{method} {path} on {self.proc.name} failed"
            return answer
        return wait_until(lambda: attempt(FLASK_WAIT_S), f"{method} {path} on {self.proc.name}",
                          timeout=3 * WAIT_S)

    def stored_chain(self):
        """Their chain as their node keeps it (its file), read without
        asking it anything."""
        path = os.path.join(self.copy, "chain_database", "cheese_chains",
                            f"cheesechain-{self.port}.txt")
        try:
            with open(path) as f:
                return json.loads(f.readline())
        except (OSError, ValueError):
            return []

    def stored_open_txs(self):
        path = os.path.join(self.copy, "chain_database", "cheese_chains",
                            f"cheesechain-{self.port}.txt")
        try:
            with open(path) as f:
                f.readline()
                return json.loads(f.readline())
        except (OSError, ValueError):
            return []

    def tip(self):
        chain = self.stored_chain()
        return smell(chain[-1]) if chain else None


def test_later_reference_node_on_our_tracker(tmp_path, procs):
    copy = later_copy(tmp_path)
    tracker = Tracker(str(tmp_path / "tracker"))
    os.makedirs(tracker.workdir)
    procs.append(tracker.start())
    ref = RefNode(procs, tmp_path, copy, tracker.port, "later-node")

    # their node mines two blocks before ours exists (it joins our tracker
    # on the way: PCONNECT, GETPEERS, nobody to tell)
    for height in (1, 2):
        mined = ref.call("POST", "/mine")
        assert mined["cheese"]["sequence_number"] == height, mined
    ref_tip = ref.tip()

    # ours joins, gets it listed, fetches its chain (GETCHAIN) and takes it
    node = Node(str(tmp_path / "node"), tracker.port, n_transactions=NEVER)
    procs.append(node)
    node.start()
    wait(lambda: node.tip() == ref_tip, "our node on the reference's chain")
    assert "caught up with" in node.log()

    # a block of ours reaches it (BRCHEESE; it acknowledges with
    # BRTRANSACTIONACK, by which our node knows not to send it transactions)
    ours = node.mine()
    wait(lambda: ref.tip() == ours, "our block in the reference's chain")
    # a block of theirs reaches us (after their UI's "Load Cheesechain",
    # which is when their node learns its peers)
    assert [smell(b) for b in ref.call("GET", "/chain")][-1] == ours
    theirs = ref.call("POST", "/mine")["cheese"]
    wait(lambda: node.tip() == smell(theirs), "the reference's block at our node")

    # open transactions: ours reaches it when it asks (GETOPENTRANSACTIONS);
    # it is never sent one with BRTRANSACTION, which it cannot read
    paid = node.post("/api/send", json.dumps({"to": ref.pub, "sum": 2}))["transaction"]

    def has_ours():
        listed = ref.call("GET", "/transactions")
        return any(t["signature"] == paid["signature"] for t in listed)
    wait(has_ours, "our payment among the reference's open transactions")
    # theirs reaches us (BRTRANSACTION from it)
    sent = ref.call("POST", "/transaction", {"recipient": node.pub, "amount": 1})
    assert sent["transaction"]["amount"] == 1, sent
    wait(lambda: node.info()["mempool"] == 2, "the reference's payment at our node")

    # both payments in a block of ours, which it takes
    both = node.mine()
    wait(lambda: ref.tip() == both, "the block of both payments at the reference")
    assert [smell(b) for b in ref.stored_chain()] == [
        node.block_at(h)["hash"] for h in range(node.height() + 1)]
    wait(lambda: ref.stored_open_txs() == [], "its open transactions mined")
    assert node.balance(ref.pub) == "31"   # 3 rewards, + 2 from us, - 1 to us
    assert node.balance(node.pub) == "19"  # 2 rewards, - 2, + 1
    assert "received BRTRANSACTION" not in ref.proc.log()
    assert "gets no transactions" in node.log()
    no_tracebacks(ref.proc)


def test_our_node_on_the_later_reference_tracker(tmp_path, procs):
    copy = later_copy(tmp_path)
    port = free_port()
    ref_tracker = refs.RefProcess(tmp_path, copy, script(LATER_TRACKER.format(port=port)),
                                  "later-tracker")
    procs.append(ref_tracker)
    ref_tracker.start()
    wait(lambda: listening(ref_tracker), "the reference tracker")

    node = Node(str(tmp_path / "node"), port, n_transactions=NEVER)
    procs.append(node)
    node.start()
    state = node.tracker_state()
    assert state["spelling"] == "later" and re.fullmatch(r"PID[0-9A-F]{6}", state["peer_id"])
    tip = node.mine()

    # a reference node joins the same tracker and takes our chain: our node
    # serves it after checking the reference node's id with their tracker.
    # This one mines as it comes: a reward of 0.5
    ref = RefNode(procs, tmp_path, copy, port, "later-node", reward_10=False)
    chain = ref.call("GET", "/chain")
    assert [smell(b) for b in chain][-1] == tip, chain
    assert ref.tip() == tip
    # our node learns it from their tracker; a payment of ours is not sent
    # to it as BRTRANSACTION (it would die reading it): our node asks for an
    # HCKACK first, which it never gives
    wait(lambda: node.peer_count() >= 1, "the reference node in our node's table")
    node.post("/api/send", json.dumps({"to": ref.pub, "sum": 1}))
    wait(lambda: "answers no HCK: it gets no transactions" in node.log(),
               "the reference found unable to take transactions")
    assert "received HCK" in ref.proc.log()
    assert "received BRTRANSACTION" not in ref.proc.log()
    # its own block (their UI loads the chain, then mines) pays 0.5: refused
    ref.call("GET", "/chain")
    theirs = ref.call("POST", "/mine")["cheese"]
    assert theirs["transactions"][-1]["amount"] == 0.5
    wait(lambda: "the reward must be 10" in node.log(), "its block refused")
    assert node.tip() == tip and not node.has_block(smell(theirs))
    no_tracebacks(ref_tracker, ref.proc)


LATER_PEER = """
from cheese_network.cheese_protocol import CheeseProtocol
CheeseProtocol.TRACKER_URL = "127.0.0.1"
CheeseProtocol.TRACKER_PORT = {tracker}
from cheese_network.peer import Peer
peer = Peer({node_id})
# one write: print() writes its arguments one by one, and the peer's own
# threads print between them
import sys
sys.stdout.write("JOINED " + str(peer.peer_id) + " " + str(peer.port) + "\\n")
sys.stdout.flush()
"""


def test_our_tracker_keeps_a_later_reference_peer_that_greets(tmp_path, procs):
    """Their peer never answers HCK (nothing reads its tracker connection
    between requests); our tracker probes its port instead."""
    copy = later_copy(tmp_path)
    tracker = LivenessTracker(str(tmp_path), health_interval=1, health_timeout=1)
    procs.append(tracker)
    peer = refs.RefProcess(tmp_path, copy, script(LATER_PEER.format(tracker=tracker.port,
                                                                    node_id=5301)),
                           "later-peer")
    procs.append(peer)
    peer.start()
    joined = wait(lambda: re.search(r"JOINED (PID\w+) (\d+)", peer.log()), "its join")
    pid = joined.group(1)
    observer_port = PeerPort()
    observer = Conn(tracker).join("seed", port=observer_port.port)
    assert observer.peers(about=pid) is not None
    wait(lambda: f"peer {pid} sent no HCKACK" in tracker.log(), "an HCK unanswered")
    # three probes later it is still listed: it greeted each time
    wait(lambda: peer.log().count("received connection") >= 3, "three probes")
    assert observer.peers(about=pid) is not None
    assert "dropped" not in tracker.log()
    peer.stop()
    wait(lambda: observer.peers(about=pid) is None, "the stopped peer dropped")
    observer.close()
    observer_port.stop()


# ---- the seed era: its tracker and its Peer class -------------------------------------------

SEED_TRACKER = """
from cheese_network.cheese_protocol import CheeseProtocol
CheeseProtocol.TRACKER_PORT = {port}
from cheese_network import tracker
tracker.main()
"""

# Their Peer joins the tracker and listens; `ask` (a port) makes it send its
# own GET_CHAIN:ID:PORT to that node with its own request_chain, which reads
# the answer from its tracker connection (their bug): it is pointed at the
# node's connection for the call. The whole answer goes to answer.txt.
SEED_PEER = """
import json, time
from cheese_network.cheese_protocol import CheeseProtocol
from cheese_network.my_helpers import MyHelpers
CheeseProtocol.TRACKER_PORT = {tracker}
from cheese_network.peer import Peer
peer = Peer("{node_id}")
# one write: print() writes its arguments one by one, and the peer's own
# threads print between them
import sys
sys.stdout.write("JOINED " + str(peer.peer_id) + " " + str(peer.port) + "\\n")
sys.stdout.flush()
ask = {ask}
if ask:
    import socket
    s = socket.create_connection(("127.0.0.1", ask))
    print("GREETED", MyHelpers.custom_read(s), flush=True)  # a peer greets first
    tracker_socket, peer.tracker_socket = peer.tracker_socket, s
    answer = peer.request_chain(s, "{node_id}")
    peer.tracker_socket = tracker_socket
    while True:
        try:
            json.loads(answer[len("CHAIN"):])
            break
        except ValueError:
            answer += MyHelpers.custom_read(s)
    with open("answer.txt", "w") as f:
        f.write(answer)
    s.close()
"""


def seed_peer(procs, tmp_path, tracker_port, name, node_id, ask=0):
    copy = refs.copy_of(refs.CHEESE_SEED, tmp_path / name)
    proc = refs.RefProcess(tmp_path, copy, script(SEED_PEER.format(
        tracker=tracker_port, node_id=node_id, ask=ask)), name)
    procs.append(proc)
    proc.start()
    joined = wait(lambda: re.search(r"JOINED (PID\w+) (\d+)", proc.log()),
                        f"{name} to join")
    return proc, copy, joined.group(1), int(joined.group(2))


def test_our_node_on_the_seed_era_tracker(tmp_path, procs):
    copy = refs.copy_of(refs.CHEESE_SEED, tmp_path / "tracker")
    port = free_port()
    ref_tracker = refs.RefProcess(tmp_path, copy, script(SEED_TRACKER.format(port=port)),
                                  "seed-tracker")
    procs.append(ref_tracker)
    ref_tracker.start()
    wait(lambda: listening(ref_tracker), "the seed-era tracker")

    # our join: PCONNECT (never a line, never answered), a line end, then
    # JOIN_CHAIN with its line end; the id it gives is lower case
    node = Node(str(tmp_path / "node"), port, n_transactions=NEVER)
    procs.append(node)
    node.start()
    state = node.tracker_state()
    assert state["spelling"] == "seed" and state["peer_id"] == SEED_ERA_ID, state
    assert state["lists"] is False  # its GET_PEERS would kill it
    tip = node.mine()

    # its peer joins the same tracker (the same id) and asks our node for
    # the chain in its own words: GET_CHAIN:ID:PORT, a line
    proc, peer_copy, pid, _ = seed_peer(procs, tmp_path, port, "seed-peer", 5005,
                                        ask=node.port)
    assert pid == SEED_ERA_ID
    answer_path = os.path.join(peer_copy, "answer.txt")
    wait(lambda: os.path.exists(answer_path), "its answer")
    with open(answer_path) as f:
        answer = f.read()
    assert answer.startswith("CHAIN[")
    assert [smell(b) for b in json.loads(answer[5:])][-1] == tip
    # and the tracker still works: it was never sent GET_PEERS
    assert re.search(r"received JOIN_CHAIN:127\.0\.0\.1:" + str(node.port), ref_tracker.log())
    assert "GET_PEERS" not in ref_tracker.log()
    no_tracebacks(ref_tracker, proc)


def test_seed_era_peer_on_our_tracker(tmp_path, procs):
    interval, timeout = 1.0, 1.0
    tracker = LivenessTracker(str(tmp_path), health_interval=interval, health_timeout=timeout)
    procs.append(tracker)
    node = Node(str(tmp_path / "node"), tracker.port, n_transactions=NEVER)
    procs.append(node)
    node.start()
    # its chain for the node that asks is the file named after the third
    # field of GET_CHAIN: our node sends its port there; two blocks of ours
    key = RsaKey()
    chain = [node.block_at(0)["block"]]
    for height in (1, 2):
        chain.append(mine(height, smell(chain[-1]), [reward(key.pub)]))
    proc, copy, pid, _ = seed_peer(procs, tmp_path, tracker.port, "seed-peer", 5006)
    with open(os.path.join(copy, f"cheesechain-{node.port}.txt"), "w") as f:
        f.write(json.dumps(chain) + "\n[]")

    # our node finds it in the tracker's list, reads its greeting ("Connected
    # to peer: PID..."), sends GET_CHAIN:OURID:OURPORT with a line end and
    # takes the longer chain from its answer
    wait(lambda: node.tip() == smell(chain[-1]), "our node on the seed-era peer's chain")
    assert node.balance(key.pub) == "20"
    peers = node.get("/api/peers")["peers"]
    assert [p["spelling"] for p in peers if p["peer_id"] == pid] == ["seed"]
    ours = node.tracker_state()["peer_id"]
    assert f"received GET_CHAIN:{ours}:{node.port}" in proc.log()

    # our tracker checks it by its port (it has no HCK): it greets, it stays
    observer_port = PeerPort()
    observer = Conn(tracker).join("seed", port=observer_port.port)
    # (one connection is our node's; the rest are the tracker's probes)
    wait(lambda: proc.log().count("received connection") >= 4, "three probes")
    assert observer.peers(about=pid) is not None
    no_tracebacks(proc)
    # gone from its port (the process stopped): dropped
    proc.stop()
    start = time.monotonic()
    wait(lambda: observer.peers(about=pid) is None, "the stopped seed-era peer dropped")
    assert time.monotonic() - start < interval + timeout + 3
    observer.close()
    observer_port.stop()
