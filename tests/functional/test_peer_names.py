"""One peer under many names (docs/http-network.md, "Peers";
docs/cheese-node.md, "Peers"; docs/cheese-network-wire.md, "The tracker").

Every peer address is compared, stored and dialled in one canonical form
(numeric IP, port without leading zeros), so that:
- an http node asked for its peers with one peer's address spelt twelve
  ways (`127.0.0.1:016011`, `localhost:...`, `0177.0.0.1:...`, ...) lists
  that peer once and sends it each block once;
- a node never asks itself under any spelling of its own address;
- the tracker lists every join in its canonical form;
- a cheese node whose own address joined the tracker as `localhost`,
  `127.0.0.01`, `127.000.000.001` and `0177.0.0.1` never links to itself
  and never gets its own block back.

Nothing here asserts a timing: the tests wait for behaviour.
"""
import json
import os
import re
import socket
import threading

import pytest

import test_cheese_network as cheese
from conftest import GENESIS_HASH, WAIT_S, Key, block_on, request, wait_until
from test_cheese_tracker import Conn
from test_cheese_tracker import Tracker as ListingTracker
from test_http_network import NEVER, QUIET, FakePeer, peers_file, peers_of


def spellings(port):
    """Twelve spellings of 127.0.0.1:port, none of them the canonical one."""
    return [f"127.0.0.1:{'0' * n}{port}" for n in range(1, 6)] + [
        f"localhost:{port}", f"LocalHost:0{port}", f"127.000.000.001:{port}",
        f"127.0.0.01:{port}", f"0177.0.0.1:{port}", f"127.1:{port}", f"0x7f000001:{port}"]


def sent(node, method, path):
    """The addresses the node's debug log says it sent METHOD PATH to, in order."""
    return re.findall(rf"sent {method} {re.escape(path)}\S* to (\S+)", node.log())


@pytest.fixture
def fake_peer():
    peers = []

    def make(behaviour="node"):
        peers.append(FakePeer(behaviour))
        return peers[-1]
    yield make
    for p in peers:
        p.close()


# ---- the http network --------------------------------------------------------------------

def test_one_peer_under_twelve_spellings_is_listed_once_and_sent_each_block_once(
        make_node, fake_peer):
    node = make_node(n_transactions=NEVER, extra=QUIET + ["--log-level", "debug"])
    peer = fake_peer()
    names = spellings(peer.port)
    assert len(set(names)) == 12 and peer.address not in names
    for name in names:  # as a node would register itself, Host: its address
        assert request(node.port, "GET", "/getpeers", headers=[f"Host: {name}"]).status == 200
    wait_until(lambda: peer.address in peers_of(node), "the peer to be listed")
    # each check was sent before its request was answered: one, to the canonical address
    assert sent(node, "GET", "/getpeers") == [peer.address]
    assert peers_of(node) == [peer.address]
    assert peers_file(node) == [peer.address]

    key = Key()
    b1 = block_on(GENESIS_HASH, 1, key.pub)
    b2 = block_on(b1.hash, 2, key.pub)

    def copies(block):
        return sum(body == block.text for _, _, _, body in peer.posts())
    node.post_ok("/block", b1.text)
    wait_until(lambda: copies(b1), "block 1 to reach the peer")
    assert sent(node, "POST", "/block") == [peer.address]
    node.post_ok("/block", b2.text)
    wait_until(lambda: copies(b2), "block 2 to reach the peer")
    assert sent(node, "POST", "/block") == [peer.address] * 2
    assert copies(b1) == 1 and copies(b2) == 1
    assert peers_of(node) == [peer.address]


def test_a_node_never_asks_itself_under_any_spelling(make_node, fake_peer):
    node = make_node(start=False, n_transactions=NEVER, extra=QUIET + ["--log-level", "debug"])
    own = spellings(node.port) + [f"0.0.0.0:{node.port}", f"[::ffff:127.0.0.1]:{node.port}"]
    path = os.path.join(node.workdir, "peers-default.json")
    with open(path, "w") as f:
        json.dump({"peers": own}, f)
    node.args += ["--peers-default", path]
    node.start()
    for name in own:
        assert request(node.port, "GET", "/getpeers", headers=[f"Host: {name}"]).status == 200
    assert request(node.port, "GET", f"/getpeers?port=0{node.port}").status == 200
    # a real peer, registered last: once it is listed, everything before was handled
    marker = fake_peer()
    marker.register_with(node)
    wait_until(lambda: peers_of(node) == [marker.address], "the real peer to be listed")
    assert sent(node, "GET", "/getpeers") == [marker.address]
    assert node.log().count("skipping peer entry") == len(own)  # every default was us


# ---- the cheese network ------------------------------------------------------------------

def test_tracker_lists_every_join_in_canonical_form(tmp_path):
    tracker = ListingTracker(str(tmp_path))
    try:
        observer = Conn(tracker).join("seed", port=9000)
        v4 = ["localhost", "127.000.000.001", "127.0.0.01", "0177.0.0.1", "127.1", "0x7f000001",
              "::ffff:127.0.0.1"]
        joins = [Conn(tracker).join("later" if i % 2 else "seed", host=h, port="09009")
                 for i, h in enumerate(v4)]
        joins.append(Conn(tracker).join("later", host="[0:0::1]", port=9010))
        listed = observer.peers()
        assert sorted((e["peer_id"], e["host"], e["port"]) for e in listed) == sorted(
            [(c.id, "127.0.0.1", "9009") for c in joins[:-1]] + [(joins[-1].id, "::1", "9010")])
        # what is not an address, nor a name, is refused and registers nothing
        peer = Conn(tracker)
        for bad in (b"127.0.0.256:9009", b"[127.0.0.1]:9009", b"fe80::1%eth0:9009",
                    b"1.2.3.4.5:9009", b"08.0.0.1:9009"):
            answer = peer.ask(b"PCONNECT:" + bad)
            assert answer.startswith(b"REFUSED:") and b"host" in answer, (bad, answer)
        assert len(observer.peers()) == len(joins)
    finally:
        tracker.stop()


def name_in_hosts_file():
    """A name other than localhost that /etc/hosts gives an IPv4 address, or None."""
    try:
        with open("/etc/hosts") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#")[0].split()
        if len(fields) < 2 or not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", fields[0]):
            continue
        for name in fields[1:]:
            if name.lower() != "localhost" and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", name):
                return name, fields[0]
    return None


def test_tracker_looks_names_up_and_answers_in_order(tmp_path):
    """A join by name is listed under the name's address; a request sent
    right behind it is answered after it."""
    found = name_in_hosts_file()
    if not found:
        pytest.skip("no name in /etc/hosts besides localhost")
    name, address = found
    tracker = ListingTracker(str(tmp_path))
    try:
        observer = Conn(tracker).join("later", port=9000)
        peer = Conn(tracker)
        peer.send(f"PCONNECT:{name}:09011GETPEERS:{observer.id}".encode())
        buf = b""
        both = re.compile(rb"TCONNECTRESP:(PID[0-9A-F]{20})GETPEERSRESP(\[.*\])", re.S)
        while not (m := both.fullmatch(buf)) or not cheese_json_complete(m.group(2)):
            chunk = peer.sock.recv(65536)
            assert chunk, buf
            buf += chunk
        assert json.loads(m.group(2)) == []  # the asker and the one asked about are never listed
        assert observer.peers() == [{"peer_id": m.group(1).decode(), "host": address,
                                     "port": "9011"}]
    finally:
        tracker.stop()


def cheese_json_complete(data):
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


class CheesePeer:
    """A later-spelling peer on loopback that serves an empty chain, no open
    transactions, acknowledges blocks and keeps them (sequence numbers)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.blocks = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        answers = {b"GETCHAIN:": b"GETCHAINRESP[]",
                   b"GETOPENTRANSACTIONS:": b"GETOPENTRANSACTIONSRESP[]", b"HCK": b"HCKACK"}
        block = re.compile(rb"BRCHEESE(\{.*\});PID[0-9A-F]+", re.S)
        try:
            conn.settimeout(WAIT_S)
            conn.sendall(b"PCONNECTACK:PID" + b"AB" * 10)
            buf = b""
            while chunk := conn.recv(1 << 20):
                buf += chunk
                m = block.fullmatch(buf)
                if m and cheese_json_complete(m.group(1)):
                    with self.lock:
                        self.blocks.append(json.loads(m.group(1))["sequence_number"])
                    conn.sendall(b"BRCHEESEACK")
                    buf = b""
                for prefix, answer in answers.items():
                    if buf.startswith(prefix) and (prefix != b"HCK" or buf == b"HCK"):
                        conn.sendall(answer)
                        buf = b""
        except OSError:
            pass
        finally:
            conn.close()

    def got(self):
        with self.lock:
            return list(self.blocks)

    def close(self):
        self.closed = True
        self.sock.close()


def join_tracker(tracker_port, host, port):
    """A tracker connection that joined as host:port (kept open: the join lives with it)."""
    s = socket.create_connection(("127.0.0.1", tracker_port), timeout=WAIT_S)
    assert s.recv(100) == b"Connection Successful"
    s.sendall(f"PCONNECT:{host}:{port}".encode())
    assert re.fullmatch(rb"TCONNECTRESP:PID[0-9A-F]{20}", s.recv(100))
    return s


def metric(node, name):
    with socket.create_connection(("127.0.0.1", node.api_port), timeout=WAIT_S) as s:
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{node.api_port}\r\n"
                  f"Connection: close\r\n\r\n".encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    m = re.search(rf"^{re.escape(name)} (\d+)$", raw.decode(), re.M)
    assert m, raw[-2000:]
    return int(m.group(1))


def test_joins_under_four_spellings_of_a_nodes_address_never_link_it_to_itself(tmp_path):
    tracker = cheese.Tracker(str(tmp_path)).start()
    node = cheese.Node(str(tmp_path / "node"), tracker.port, n_transactions=NEVER)
    peer = CheesePeer()
    held = []
    try:
        node.start()
        for host in ("localhost", "127.0.0.01", "127.000.000.001", "0177.0.0.1"):
            held.append(join_tracker(tracker.port, host, node.port))
        held.append(join_tracker(tracker.port, "127.0.0.1", peer.port))
        # the node's next list holds the five; the four that are itself are skipped
        wait_until(lambda: "tracker listed 5 peers" in node.log(), "a list of all five")
        wait_until(lambda: node.get("/api/peers")["peers"], "the real peer in the table")
        table = node.get("/api/peers")["peers"]
        assert [(p["host"], p["port"]) for p in table] == [("127.0.0.1", str(peer.port))]
        assert not re.search(rf"new peer \S+ at \S+:{node.port}\b", node.log())
        assert len(re.findall(r"listed peer \S+ at 127\.0\.0\.1:\d+ is this node", node.log())) >= 4

        node.post("/api/mine")
        wait_until(lambda: 1 in peer.got(), "the mined block to reach the real peer")
        # nothing came back: no block was offered to the node twice
        assert metric(node, 'cheese_blocks_total{result="refused",reason="duplicate"}') == 0
        assert [(p["host"], p["port"]) for p in node.get("/api/peers")["peers"]] == [
            ("127.0.0.1", str(peer.port))]
    finally:
        for s in held:
            s.close()
        peer.close()
        node.stop()
        tracker.stop()
