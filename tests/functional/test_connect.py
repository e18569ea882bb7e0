"""cheesed --connect (docs/configuration.md): a node whose peers are exactly
the ones given. An http node never lists, asks or sends anything to any
other address, whatever names it (a peer's list, a requester, the node's
old peer file, ./peers-default.json, a config file the command line
overrides), and refuses other nodes' /getpeers, blocks and payments with 403,
while anonymous clients are served as before. A cheese node skips what the
tracker lists at other addresses.

Nothing here asserts a timing: every check that something did not happen
comes after a positive event showing that the node went past the point
where it would have happened.
"""
import json
import os
import subprocess

import pytest

from conftest import (BUILD, GENESIS_HASH, WAIT_S, Key, assert_error, block_on, payment,
                      stop_all, wait_until)
from test_http_network import FakePeer, http_answer, peers_of
import test_cheese_network as cheese


class ListingPeer(FakePeer):
    """A node-like Python peer whose answer to /getpeers lists `listed`."""

    def __init__(self, listed=()):
        self.listed = list(listed)  # before the server thread starts
        super().__init__("node")

    def _as_a_node(self, req):
        method, target, _, _ = req
        if method == "GET" and target.split("?")[0] == "/getpeers":
            return http_answer(200, {"peers": self.listed}, "Cheese-Sync: locator\r\n")
        return super()._as_a_node(req)

    def getpeers(self):
        with self.lock:
            return sum(1 for r in self.requests if r[1].startswith("/getpeers"))


@pytest.fixture
def fakes():
    made = []

    def make(cls=FakePeer, *args):
        made.append(cls(*args))
        return made[-1]
    yield make
    for p in made:
        p.close()


def api_peers(node):
    resp = node.get("/api/peers")
    assert resp.status == 200, resp
    return resp.json()["peers"]


def test_http_node_under_connect_talks_to_no_one_else(make_node, fakes):
    named = fakes()        # in the connect peer's peer list
    old = fakes()          # in the node's peer file, from a run without --connect
    default = fakes()      # in ./peers-default.json where the node starts
    from_file = fakes()    # connect= in a config file the command line overrides
    peer = fakes(ListingPeer, [named.address, old.address])
    outsiders = (named, old, default, from_file)
    node = make_node(start=False, n_transactions=255,
                     extra=["--mine-on-start", "no", "--gossip-interval", "0.2",
                            "--log-level", "debug", "--connect", peer.address])
    os.makedirs(node.datadir)
    with open(os.path.join(node.datadir, f"peers-{node.port}.json"), "w") as f:
        json.dump({"peers": [old.address, peer.address]}, f)
    with open(os.path.join(node.workdir, "peers-default.json"), "w") as f:
        json.dump({"peers": [default.address]}, f)
    conf = os.path.join(node.workdir, "node.conf")
    with open(conf, "w") as f:
        f.write(f"connect={from_file.address}\n")
    node.args += ["--conf", conf]
    node.start()

    # The peer's list, naming `named`, is read: the node passes it over (or,
    # without --connect, asks it).
    passed_over = f"not a would-be peer: {named.address} is not one of the --connect peers"
    wait_until(lambda: passed_over in node.log() or named.count(),
               "the node to read the peer list that names an outsider")
    asked = peer.getpeers()
    wait_until(lambda: peer.getpeers() >= asked + 2, "two more rounds of the peer-list exchange")
    assert [p.count() for p in outsiders] == [0, 0, 0, 0]
    assert peers_of(node) == [peer.address]
    assert api_peers(node) == [peer.address]
    with open(os.path.join(node.datadir, f"peers-{node.port}.json")) as f:
        assert json.load(f)["peers"] == [peer.address]
    assert f"unlisting {old.address}: not one of the --connect peers" in node.log()

    # Another node asking for our peers (as ours ask, and as reference
    # nodes ask) gets none, and is not checked as a would-be peer.
    says = f"only to its --connect peers, and {named.address} is not one of them"
    assert_error(node.get(f"/getpeers?port={named.port}"), 403, says)
    assert_error(node.get("/getpeers", headers=[f"Host: {named.address}"]), 403, says)
    assert f"refused GET /getpeers from {named.address}: not one of the --connect peers" \
        in node.log()
    # Its blocks and payments are refused too; those of the connect peer and
    # of anonymous clients (curl, cheese-cli) are taken as before.
    block = block_on(GENESIS_HASH, 1, Key().pub)
    assert_error(node.post("/block", block.text, headers=[f"Host: {named.address}"]), 403, says)
    assert_error(node.post(f"/inv?port={named.port}", payment(Key(), Key().pub, 1)), 403, says)
    assert node.get(f"/getdata?id={block.hash}").status == 404
    resp = node.post("/block", block.text, headers=[f"Host: {peer.address}"])
    assert resp.status == 200 and resp.json()["hash"] == block.hash, resp
    assert_error(node.post("/inv", payment(Key(), Key().pub, 1)), 400, "Insufficient funds")
    assert node.get("/getpeers").status == 200

    asked = peer.getpeers()
    wait_until(lambda: peer.getpeers() >= asked + 2, "two more rounds of the peer-list exchange")
    assert [p.count() for p in outsiders] == [0, 0, 0, 0]
    assert peers_of(node) == [peer.address]


@pytest.mark.parametrize("args,says", [
    (["--connect", "peer.example:6001"], "bad value for connect: peer.example:6001"),
    (["--connect", "127.0.0.1"], "bad value for connect: 127.0.0.1"),
    (["--connect", "[::1]:6001"], "bad value for connect: [::1]:6001 (peers of the http network "
                                  "are IPv4 addresses)"),
    (["--connect", "127.0.0.1:6001", "--peers-default", "peers.json"],
     "--connect and --peers-default exclude each other"),
])
def test_connect_usage_errors_create_nothing(tmp_path, args, says):
    result = subprocess.run([os.path.join(BUILD, "cheesed"), *args, "--datadir",
                             str(tmp_path / "data")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=WAIT_S)
    assert result.returncode == 2, result
    assert says in result.stderr
    assert not (tmp_path / "data").exists()


def test_connect_in_a_config_file(tmp_path):
    conf = tmp_path / "node.conf"
    conf.write_text("connect=127.0.0.1:6001\nconnect=nowhere\n")
    result = subprocess.run([os.path.join(BUILD, "cheesed"), "--conf", str(conf), "--datadir",
                             str(tmp_path / "data")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=WAIT_S)
    assert result.returncode == 2
    assert f"cheesed: {conf}:2: bad value for connect: nowhere" in result.stderr
    assert not (tmp_path / "data").exists()


def test_cheese_node_under_connect_skips_what_the_tracker_lists_elsewhere(tmp_path):
    tracker = cheese.Tracker(str(tmp_path)).start()
    nodes = []
    try:
        b, c = (cheese.Node(str(tmp_path / name), tracker.port, n_transactions=cheese.NEVER)
                for name in "bc")
        nodes += [b, c]
        for n in nodes:
            n.start()
        wait_until(lambda: b.peer_count() and c.peer_count(), "B and C to know each other")
        a = cheese.Node(str(tmp_path / "a"), tracker.port, n_transactions=cheese.NEVER,
                        extra=["--connect", f"127.0.0.1:{b.port}"])
        nodes.append(a)
        a.start()
        def listed():
            return [(p["host"], p["port"]) for p in a.get("/api/peers")["peers"]]

        # A reads the tracker's list, which names B and C, twice: C is passed
        # over (or, without --connect, listed)
        skipped = f"at 127.0.0.1:{c.port} is not one of the --connect peers: skipped"
        wait_until(lambda: a.log().count(skipped) >= 2 or ("127.0.0.1", str(c.port)) in listed(),
                   "A to read the tracker's list twice")
        assert listed() == [("127.0.0.1", str(b.port))]
        assert not any("new peer" in line and line.endswith(f" at 127.0.0.1:{c.port}")
                       for line in a.log().splitlines())
        # and A's blocks still reach B, its peer
        a.mine(wait_nodes=[b])
    finally:
        stop_all((*nodes, tracker))
