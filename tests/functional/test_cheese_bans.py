"""Misbehaviour scores and bans on the cheese network's node.

A peer address earns points for what the node refuses as broken (a block
that misses its proof of work, a payment whose signature is wrong, ...):
20 each, banned at 100 for --ban-time, points forgiven at 100 per ban time
(so five in a row ban it, or a few more on a slow machine). The hostile peers here connect
from 127.0.0.2, an address of this machine that is not the node's own:
the node never bans its own address or 127.0.0.1, which every program on
the machine shares (the last test shows that). Nothing here asserts a
timing: the tests wait for behaviour.
"""
import json
import socket
import threading

import pytest

from conftest import WAIT_S, wait_until
from test_cheese_network import (GENESIS_SMELL, GENESIS_TEXT, NEVER, Node, Peer, RsaKey, Tracker,
                                 block_text, mine, reward, tx_text)

HOSTILE_IP = "127.0.0.2"
BAN_TIME_S = 10
OFFENCES_TO_BAN = 5  # 20 points each, banned at 100, when none is forgiven in between
# Each offence forgives 100 / BAN_TIME_S points a second since the last:
# this many offences ban even at 1.5 s each.
OFFENCES_MAX = 20


class From(Peer):
    """A Peer whose connection comes from a chosen local address."""

    def __init__(self, port, source_ip):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S,
                                             source_address=(source_ip, 0))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.greeting = self.read_greeting()


def refused_at_once(port, source_ip):
    """True when the node closes a new connection from source_ip before
    saying anything (a banned address)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S,
                                    source_address=(source_ip, 0))
    try:
        sock.settimeout(WAIT_S)
        try:
            return sock.recv(4096) == b""
        except ConnectionResetError:
            return True
    finally:
        sock.close()


def greeted(port, source_ip):
    try:
        p = From(port, source_ip)
    except (AssertionError, OSError):
        return False
    p.close()
    return True


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tracker = Tracker(str(tmp_path_factory.mktemp("tracker"))).start()
    n = Node(str(tmp_path_factory.mktemp("node")), tracker.port, n_transactions=NEVER,
             extra=["--ban-time", str(BAN_TIME_S), "--idle-timeout", "30"])
    n.start()
    yield n
    n.stop()
    tracker.stop()


def bad_pow_block(key):
    return block_text(mine(1, GENESIS_SMELL, [reward(key.pub)], good_pow=False))


def bad_signature_payment(key, other):
    tx = key.pay(other.pub, 1)
    tx["signature"] = other.pay(key.pub, 1)["signature"]  # valid hex, someone else's
    return tx_text(tx)


@pytest.mark.parametrize("offence", ["block without proof of work", "payment with a bad signature"])
def test_five_invalid_messages_ban_the_address_until_the_ban_time_ends(node, offence):
    key, other = RsaKey(), RsaKey()
    message = (b"BRCHEESE" + bad_pow_block(key).encode() if offence.startswith("block")
               else b"BRTRANSACTION" + bad_signature_payment(key, other).encode())
    hostile = From(node.port, HOSTILE_IP)
    answers = []
    while len(answers) < OFFENCES_MAX and not answers[-1:] == [b"banned"]:
        answer = hostile.ask(message)
        assert answer.startswith(b"REFUSED:"), answer
        answers.append(b"banned" if answer.startswith(b"REFUSED:banned") else b"refused")
    assert answers[-1] == b"banned" and len(answers) >= OFFENCES_TO_BAN, answers
    assert hostile.answer() == b""  # and closed
    hostile.close()
    assert f"banning {HOSTILE_IP}" in node.log()
    # the address is refused at once; everyone else is served all along
    assert refused_at_once(node.port, HOSTILE_IP)
    assert Peer(node.port).ask(b"HCK") == b"HCKACK"
    # until the ban ends
    wait_until(lambda: greeted(node.port, HOSTILE_IP), "the ban to end",
               timeout=BAN_TIME_S + WAIT_S)


def test_a_peer_resending_a_block_we_hold_is_never_banned(node):
    key = RsaKey()
    block = b"BRCHEESE" + block_text(mine(1, GENESIS_SMELL, [reward(key.pub)])).encode()
    peer = From(node.port, HOSTILE_IP)
    for _ in range(3 * OFFENCES_TO_BAN):
        assert peer.ask(block) == b"BRCHEESEACK"
    assert peer.ask(b"HCK") == b"HCKACK"
    peer.close()
    assert greeted(node.port, HOSTILE_IP)


def test_the_loopback_address_is_disconnected_never_banned(node):
    """127.0.0.1 is every local program's address (other nodes, the
    command-line client): it is never banned, whatever one of them sends."""
    key = RsaKey()
    message = b"BRCHEESE" + bad_pow_block(key).encode()
    peer = Peer(node.port)
    for _ in range(2 * OFFENCES_TO_BAN):
        assert peer.ask(message).startswith(b"REFUSED:")
    assert peer.ask(b"HCK") == b"HCKACK"
    peer.close()
    assert "banning 127.0.0.1" not in node.log()
    assert greeted(node.port, "127.0.0.1")


class InvalidChainPeer:
    """A listed peer at HOSTILE_IP whose chain holds a block without proof of
    work: it greets whoever connects, answers every chain request with that
    chain and every request for open transactions with none, and counts the
    chain requests."""

    def __init__(self, tracker_port):
        self.server = socket.create_server((HOSTILE_IP, 0))
        self.port = self.server.getsockname()[1]
        self.chain = json.dumps([json.loads(GENESIS_TEXT),
                                 mine(1, GENESIS_SMELL, [reward(RsaKey().pub)], good_pow=False)])
        self.chain_requests = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()
        self.tracker = socket.create_connection(("127.0.0.1", tracker_port), timeout=WAIT_S)
        assert self.tracker.recv(100) == b"Connection Successful"
        self.tracker.sendall(f"PCONNECT:{HOSTILE_IP}:{self.port}".encode())
        assert self.tracker.recv(100).startswith(b"TCONNECTRESP:")

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        with conn:
            conn.sendall(b"PCONNECTACK:PID" + b"AB" * 10)
            buf = b""
            while chunk := conn.recv(65536):
                buf += chunk
                if b"GETCHAIN" in buf or b"GET_CHAIN" in buf:
                    with self.lock:
                        self.chain_requests += 1
                    later = b"GETCHAIN" in buf
                    conn.sendall((b"GETCHAINRESP" if later else b"CHAIN") + self.chain.encode())
                    buf = b""
                elif b"OPEN" in buf:
                    later = b"GETOPENTRANSACTIONS" in buf
                    conn.sendall(b"GETOPENTRANSACTIONSRESP[]" if later else b"TR[]")
                    buf = b""

    def requests(self):
        with self.lock:
            return self.chain_requests

    def close(self):
        self.server.close()
        self.tracker.close()


def test_a_listed_peer_serving_invalid_chains_is_banned_and_asked_no_more(tmp_path):
    """The node asks a random peer for its chain every --resync-interval:
    a peer whose chain breaks the rules earns points each time, is banned
    once it has 100, and is asked nothing more while the ban lasts."""
    (tmp_path / "tracker").mkdir()
    tracker = Tracker(str(tmp_path / "tracker")).start()
    node = Node(str(tmp_path / "node"), tracker.port, n_transactions=NEVER,
                extra=["--ban-time", "600", "--resync-interval", "0.2"])
    peer = None
    try:
        node.start()
        peer = InvalidChainPeer(tracker.port)
        wait_until(lambda: f"banning {HOSTILE_IP}" in node.log(), "the listed peer to be banned",
                   timeout=2 * WAIT_S)
        asked = peer.requests()
        assert asked >= OFFENCES_TO_BAN, asked
        # ten more resync rounds, each of which would ask it (it is the only peer)
        skipped = lambda: node.log().count(f"at {HOSTILE_IP} is banned: not asked")
        before = skipped()
        wait_until(lambda: skipped() >= before + 10, "more resync rounds")
        assert peer.requests() <= asked + 1, (asked, peer.requests())  # one may have been under way
        assert node.height() == 0
    finally:
        if peer:
            peer.close()
        node.stop()
        tracker.stop()
