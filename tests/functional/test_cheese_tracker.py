"""The cheese network's tracker (cheese-tracker, PROTOCOL.md B.1) as peers see it.

Each test starts the real binary from $CHEESE_BUILD on a free loopback port
and talks to it over raw sockets the way reference peers do: one message per
send(), no terminator, then wait for the answer.
"""
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import stop_all

BUILD = os.environ.get("CHEESE_BUILD")
pytestmark = pytest.mark.skipif(
    not BUILD, reason="CHEESE_BUILD is not set: point it at the build directory holding "
                      "cheese-tracker (e.g. build/test)")

WAIT_S = 30  # generous: the test build runs under ASan
QUIET_S = 0.3  # an answer of unknown length is complete after this much silence
GREETING = b"Connection Successful"
SEED_ID = re.compile(rb"PID[0-9A-F]{20}")
LATER_ID = re.compile(rb"TCONNECTRESP:(PID[0-9A-F]{20})")


def wait_until(condition, what, timeout=WAIT_S, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the tracker process -----------------------------------------------------------

class Tracker:
    def __init__(self, workdir, health_interval=600, health_timeout=5, join_timeout=600):
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"tracker-{self.port}.log")
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self.args = [os.path.join(BUILD, "cheese-tracker"), "--host", "127.0.0.1",
                     "--port", str(self.port), "--health-interval", str(health_interval),
                     "--health-timeout", str(health_timeout),
                     "--join-timeout", str(join_timeout), "--log-level", "debug"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        wait_until(self._greets, f"tracker on port {self.port}")

    def _greets(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"cheese-tracker exited with {self.proc.returncode}:\n"
                                 f"{self.log()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=WAIT_S) as s:
                return s.recv(100) == GREETING
        except OSError:
            return False

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def stop(self):
        """SIGTERM; the tracker must exit 0 without sanitizer reports."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"cheese-tracker ignored SIGTERM:\n{self.log()[-4000:]}")
        log = self.log()
        assert code == 0, f"cheese-tracker exited with {code}:\n{log[-6000:]}"
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert marker not in log, log[-6000:]


@pytest.fixture
def make_tracker(tmp_path):
    trackers = []

    def make(**kw):
        trackers.append(Tracker(str(tmp_path), **kw))
        return trackers[-1]
    yield make
    stop_all(trackers)


# ---- a peer's connection -----------------------------------------------------------------

def json_complete(data):
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


def answer_complete(buf):
    """Whether buf holds one whole tracker answer (the wire has no framing)."""
    if buf in (GREETING, b"INVALID_PEER_ID", b"INVALIDPEERID", b"HCK"):
        return True
    if SEED_ID.fullmatch(buf) or LATER_ID.fullmatch(buf):
        return True
    for prefix in (b"CPSS", b"GETPEERSRESP"):
        if buf.startswith(prefix + b"[") and json_complete(buf[len(prefix):]):
            return True
    return False


class Conn:
    def __init__(self, tracker, greet=True):
        self.tracker = tracker
        self.sock = socket.create_connection(("127.0.0.1", tracker.port), timeout=WAIT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.id = None
        self.spelling = None
        if greet:
            assert self.answer() == GREETING

    def send(self, data):
        self.sock.sendall(data)

    def answer(self):
        """Reads one answer: until it is complete, or (REFUSED, unknown) quiet."""
        buf = b""
        self.sock.settimeout(WAIT_S)
        while not answer_complete(buf):
            if buf.startswith(b"REFUSED:"):
                self.sock.settimeout(QUIET_S)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                if buf.startswith(b"REFUSED:"):
                    return buf
                raise AssertionError(f"no complete answer, got {buf[:300]!r}")
            if not chunk:
                raise AssertionError(f"connection closed after {buf[:300]!r}")
            buf += chunk
        return buf

    def nothing_more(self):
        """True when nothing else arrives within QUIET_S: no terminator, no extra."""
        self.sock.settimeout(QUIET_S)
        try:
            extra = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(WAIT_S)
        raise AssertionError(f"unexpected bytes after the answer: {extra[:300]!r}")

    def ask(self, data):
        self.send(data)
        return self.answer()

    def join(self, spelling="seed", host="127.0.0.1", port=9009):
        if spelling == "seed":
            answer = self.ask(f"JOIN_CHAIN:{host}:{port}".encode())
            assert SEED_ID.fullmatch(answer), answer
            self.id = answer.decode()
        else:
            answer = self.ask(f"PCONNECT:{host}:{port}".encode())
            m = LATER_ID.fullmatch(answer)
            assert m, answer
            self.id = m.group(1).decode()
        self.spelling = spelling
        return self

    def peers(self, about=None, spelling=None):
        """The peer list for `about` (default: our id), or None for an invalid id."""
        spelling = spelling or self.spelling or "seed"
        about = about if about is not None else self.id
        if spelling == "seed":
            answer = self.ask(f"GET_PEERS:{about}".encode())
            if answer == b"INVALID_PEER_ID":
                return None
            assert answer.startswith(b"CPSS["), answer
            return check_entries(answer[4:])
        answer = self.ask(f"GETPEERS:{about}".encode())
        if answer == b"INVALIDPEERID":
            return None
        assert answer.startswith(b"GETPEERSRESP["), answer
        return check_entries(answer[12:])

    def closed_by_tracker(self, timeout=WAIT_S):
        """Waits for the tracker to close this connection (reading what it sends)."""
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


def check_entries(raw):
    """A peer list as the reference writes it: Python json.dumps spacing, port a string."""
    entries = json.loads(raw)
    assert isinstance(entries, list) and len(entries) <= 10, raw
    for e in entries:
        assert list(e) == ["peer_id", "host", "port"], e
        assert SEED_ID.fullmatch(e["peer_id"].encode()), e
        assert isinstance(e["port"], str) and e["port"].isdigit(), e
    assert raw == json.dumps(entries).encode(), raw
    ids = [e["peer_id"] for e in entries]
    assert len(set(ids)) == len(ids), f"a peer twice in one list: {raw!r}"
    return entries


def ids_of(entries):
    return {e["peer_id"] for e in entries}


def join_all(tracker, n, port_base):
    """n peers joining at once (every join waits for the tracker's silence
    timer, so one after the other would be slow), alternating spellings."""
    conns = [Conn(tracker) for _ in range(n)]
    for i, c in enumerate(conns):
        keyword = "JOIN_CHAIN" if i % 2 else "PCONNECT"
        c.send(f"{keyword}:127.0.0.1:{port_base + i}".encode())
    for i, c in enumerate(conns):
        answer = c.answer()
        if i % 2:
            assert SEED_ID.fullmatch(answer), answer
            c.id, c.spelling = answer.decode(), "seed"
        else:
            assert LATER_ID.fullmatch(answer), answer
            c.id, c.spelling = answer[13:].decode(), "later"
    return conns


def known_all(askers, ids):
    """Whether each id is known to the tracker, asked in parallel."""
    pairs = list(zip(askers * (len(ids) // len(askers) + 1), ids))
    for conn, i in pairs:
        conn.send(f"GET_PEERS:{i}".encode())
    return [conn.answer() != b"INVALID_PEER_ID" for conn, _ in pairs]


# ---- joining ---------------------------------------------------------------------------

def test_greeting_joins_and_lists_in_both_spellings(make_tracker):
    tracker = make_tracker()
    seed = Conn(tracker)
    assert seed.nothing_more()  # exactly "Connection Successful", no terminator
    seed.join("seed", port=9009)
    assert seed.nothing_more()
    later = Conn(tracker).join("later", host="localhost", port=9010)
    assert later.nothing_more()
    third = Conn(tracker).join("seed", port=9011)
    assert len({seed.id, later.id, third.id}) == 3

    # each spelling is answered in kind, never with the asker, port as a string,
    # each address in its canonical form (localhost is 127.0.0.1)
    assert sorted(seed.peers(), key=lambda e: e["port"]) == [
        {"peer_id": later.id, "host": "127.0.0.1", "port": "9010"},
        {"peer_id": third.id, "host": "127.0.0.1", "port": "9011"}]
    assert seed.nothing_more()
    assert ids_of(later.peers(spelling="later")) == {seed.id, third.id}
    assert later.nothing_more()
    # the same connection may ask in the other spelling too
    assert ids_of(later.peers(spelling="seed")) == {seed.id, third.id}
    # the exact bytes of a one-entry list
    with_one = seed.ask(f"GET_PEERS:{later.id}".encode())
    assert with_one == (f'CPSS[{{"peer_id": "{third.id}", "host": "127.0.0.1", '
                        f'"port": "9011"}}]').encode()


def test_a_node_checks_an_unknown_id_with_the_tracker(make_tracker):
    """How a node decides whether to serve GET_CHAIN:ID (docs/cheese-network-wire.md):
    it asks the tracker for the peers of that id on its own tracker connection."""
    tracker = make_tracker()
    node, stranger, other = (Conn(tracker).join(s) for s in ("seed", "later", "seed"))
    known = node.peers(about=stranger.id)
    assert known is not None and ids_of(known) == {other.id}  # neither the asker nor the id
    assert node.peers(about="PID" + "0" * 20) is None
    assert Conn(tracker).join("later").peers(about=stranger.id, spelling="later") is not None


def test_ids_are_random_not_counters(make_tracker):
    tracker = make_tracker()
    conns = [Conn(tracker).join(random.choice(["seed", "later"])) for _ in range(40)]
    ids = [c.id for c in conns]
    assert len(set(ids)) == len(ids)
    values = [int(i[3:], 16) for i in ids]
    assert all(abs(b - a) > 1000 for a, b in zip(values, values[1:])), ids
    # every hex digit position varies
    for pos in range(3, 23):
        assert len({i[pos] for i in ids}) > 1, ids


@pytest.mark.parametrize("spelling", ["seed", "later"])
def test_a_join_sent_one_byte_at_a_time(make_tracker, spelling):
    tracker = make_tracker()
    observer = Conn(tracker).join("seed")
    slow = Conn(tracker)
    keyword = "JOIN_CHAIN" if spelling == "seed" else "PCONNECT"
    for byte in f"{keyword}:127.0.0.1:9009".encode():
        slow.send(bytes([byte]))
        time.sleep(0.002)
    answer = slow.answer()
    if spelling == "seed":
        assert SEED_ID.fullmatch(answer), answer
        slow_id = answer.decode()
    else:
        assert LATER_ID.fullmatch(answer), answer
        slow_id = answer[13:].decode()
    # the whole port was read, not a prefix of it
    assert observer.peers() == [{"peer_id": slow_id, "host": "127.0.0.1", "port": "9009"}]
    # a list request byte by byte too
    for byte in f"GET_PEERS:{slow_id}".encode():
        slow.send(bytes([byte]))
        time.sleep(0.002)
    assert ids_of(check_entries(slow.answer()[4:])) == {observer.id}


def test_invalid_ids_in_both_spellings(make_tracker):
    tracker = make_tracker()
    peer = Conn(tracker).join("seed")
    for asked in ["PID" + "0" * 20, "PIDXYZ", "", "nonsense", peer.id.lower(), peer.id + "0",
                  peer.id[:-1]]:
        assert peer.ask(f"GET_PEERS:{asked}".encode()) == b"INVALID_PEER_ID", asked
        assert peer.nothing_more()
        assert peer.ask(f"GETPEERS:{asked}".encode()) == b"INVALIDPEERID", asked
    # a connection that never joined gets the same answers
    assert Conn(tracker).ask(b"GETPEERS:PIDAAAA") == b"INVALIDPEERID"


@pytest.mark.parametrize("spelling", ["seed", "later"])
def test_bad_ports_and_hosts_are_refused(make_tracker, spelling):
    tracker = make_tracker()
    observer = Conn(tracker).join("seed")
    keyword = b"JOIN_CHAIN:" if spelling == "seed" else b"PCONNECT:"
    peer = Conn(tracker)
    bad = [b"127.0.0.1:abc", b"127.0.0.1:0", b"127.0.0.1:65536", b"127.0.0.1:9009x",
           b"127.0.0.1:", b"127.0.0.1:-1", b"127.0.0.1:99999999999999999999",
           b"127.0.0.1: 9009", b"127.0.0.1", b":9009", b"bad host:9009", b'h"x:9009']
    for arg in bad:
        answer = peer.ask(keyword + arg)
        assert answer.startswith(b"REFUSED:"), (arg, answer)
        reason = answer[8:].decode()
        assert ("port" in reason or "host" in reason) and len(reason) > 10, (arg, reason)
    assert observer.peers() == []  # nothing was registered
    # the same connection can still join properly
    peer.join(spelling, port=65535)
    assert observer.peers() == [{"peer_id": peer.id, "host": "127.0.0.1", "port": "65535"}]
    # leading zeros are read as the number they spell
    zeros = Conn(tracker)
    assert not zeros.ask(keyword + b"127.0.0.1:00080").startswith(b"REFUSED")
    assert sorted(e["port"] for e in observer.peers()) == ["65535", "80"]


# ---- many peers ----------------------------------------------------------------------------

def test_lists_are_bounded_random_and_follow_200_peers_joining_and_leaving(make_tracker):
    tracker = make_tracker()
    rss_empty = tracker.rss_kib()
    peers = join_all(tracker, 200, 10000)
    print(f"\ntracker RSS: {rss_empty} KiB with no peers, {tracker.rss_kib()} KiB with "
          f"{len(peers)} peers connected")
    by_id = {p.id: p for p in peers}
    asker = peers[1]
    subsets, seen = set(), set()
    for i in range(30):
        entries = asker.peers(spelling="seed" if i % 2 else "later")
        assert len(entries) == 10
        assert asker.id not in ids_of(entries)
        for e in entries:
            assert e["port"] == str(10000 + peers.index(by_id[e["peer_id"]]))
        subsets.add(frozenset(ids_of(entries)))
        seen |= ids_of(entries)
    assert len(subsets) >= 25, "lists should be drawn at random"
    assert len(seen) > 80, "lists should cover many peers"

    # half of them leave; they must vanish from every answer
    leaving, staying = peers[100:], peers[:100]
    for p in leaving:
        p.close()
    gone = {p.id for p in leaving}
    wait_until(lambda: not any(known_all(staying, sorted(gone))), "departed peers dropped")
    assert all(known_all(staying, sorted(live_ids := {p.id for p in staying})))
    live = live_ids
    for _ in range(20):
        assert ids_of(asker.peers()) <= live - {asker.id}

    # newcomers show up
    newcomers = join_all(tracker, 50, 20000)
    live |= {p.id for p in newcomers}
    seen_new = set()
    for _ in range(30):
        entries = asker.peers()
        assert ids_of(entries) <= live - {asker.id}
        seen_new |= ids_of(entries) & {p.id for p in newcomers}
    assert seen_new, "newcomers should appear in lists"

    # fewer than 11 others: everyone else, once
    small = make_tracker()
    few = [Conn(small).join("seed") for _ in range(4)]
    assert ids_of(few[0].peers()) == {p.id for p in few[1:]}


# ---- liveness ------------------------------------------------------------------------------

class Responder(threading.Thread):
    """A later-spelling peer that answers every HCK, counting them."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn
        self.hcks = 0
        self.stop = False

    def run(self):
        self.conn.sock.settimeout(0.2)
        while not self.stop:
            try:
                data = self.conn.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            for _ in range(data.count(b"HCK")):
                self.hcks += 1
                self.conn.send(b"HCKACK")


class PeerPort:
    """The port a peer listens on: greets whoever connects (as `greeting`,
    then the connection stays open until the other side closes), or accepts
    and says nothing (`greeting` None), until stopped."""

    def __init__(self, greeting=b"Connected to peer: PID" + b"ab" * 16):
        self.greeting = greeting
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.connections = 0
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            self.conns.append(conn)
            if self.greeting:
                try:
                    conn.sendall(self.greeting)
                except OSError:
                    pass

    def stop(self):
        self.srv.close()
        for c in self.conns:
            c.close()


def nothing_listens():
    """A loopback port nobody listens on (bound a moment ago, then freed)."""
    return free_port()


def test_dead_peers_are_dropped_within_one_liveness_period(make_tracker):
    interval, timeout = 1.0, 1.0
    period = interval + timeout
    tracker = make_tracker(health_interval=interval, health_timeout=timeout)
    observer_port = PeerPort()
    observer = Conn(tracker).join("seed", port=observer_port.port)
    alive = Conn(tracker).join("later", port=nothing_listens())
    responder = Responder(alive)
    responder.start()
    silent = Conn(tracker).join("later", port=nothing_listens())  # reads HCK, never answers
    # the seed spelling has no HCK: a seed peer greeting on its port stays
    seed_port = PeerPort()
    seed_quiet = Conn(tracker).join("seed", port=seed_port.port)
    # a later peer that never answers HCK but greets on its port (the later
    # reference) stays too
    no_hck_port = PeerPort(greeting=b"PCONNECTACK:PIDABC123")
    no_hck = Conn(tracker).join("later", port=no_hck_port.port)
    closing = Conn(tracker).join("later", port=nothing_listens())

    # a closed socket: gone at once
    closing.close()
    start = time.monotonic()
    wait_until(lambda: observer.peers(about=closing.id) is None, "closed peer dropped")
    assert time.monotonic() - start < period + 2

    # the silent peer gets exactly "HCK", and is dropped when it does not
    # answer and nothing greets on its port
    silent.sock.settimeout(interval + WAIT_S)
    assert silent.sock.recv(100) == b"HCK"
    start = time.monotonic()
    wait_until(lambda: observer.peers(about=silent.id) is None, "silent peer dropped")
    assert time.monotonic() - start < period + 2
    assert silent.closed_by_tracker()

    # three more checks of each: the answering and the greeting peers stay
    checks = (seed_port.connections, no_hck_port.connections, responder.hcks)
    wait_until(lambda: seed_port.connections >= checks[0] + 3 and
               no_hck_port.connections >= checks[1] + 3 and responder.hcks >= checks[2] + 3,
               "three more checks of each peer")
    assert observer.peers(about=alive.id) is not None
    assert observer.peers(about=seed_quiet.id) is not None
    assert observer.peers(about=no_hck.id) is not None
    assert ids_of(observer.peers()) == {alive.id, seed_quiet.id, no_hck.id}
    assert responder.hcks >= 3
    responder.stop = True
    responder.join()
    assert seed_quiet.nothing_more()  # never sent HCK
    assert seed_port.connections >= 3  # probed instead
    # one HCK went unanswered: from then on it is probed, not asked again
    no_hck.sock.settimeout(QUIET_S)
    assert no_hck.sock.recv(100) == b"HCK"
    assert no_hck.nothing_more()
    assert no_hck_port.connections >= 2
    for p in (observer_port, seed_port, no_hck_port):
        p.stop()


def test_seed_peer_that_stops_answering_on_its_port_is_dropped(make_tracker):
    """A seed-spelling peer keeps its tracker connection open but no longer
    answers on the port it joined with: it is dropped within one health
    interval and timeout, and its connection closed."""
    interval, timeout = 2.0, 2.0
    tracker = make_tracker(health_interval=interval, health_timeout=timeout)
    observer_port = PeerPort()
    observer = Conn(tracker).join("seed", port=observer_port.port)
    port = PeerPort()
    seed = Conn(tracker).join("seed", port=port.port)
    hung_port = PeerPort(greeting=None)  # accepts, never greets
    hung = Conn(tracker).join("seed", port=hung_port.port)
    # the hung one is dropped at its first check: no greeting in time
    start = time.monotonic()
    wait_until(lambda: observer.peers(about=hung.id) is None, "the hung seed peer dropped")
    assert time.monotonic() - start < interval + timeout + 2
    assert hung.closed_by_tracker(timeout=1)
    wait_until(lambda: port.connections >= 2, "two checks of the live peer")
    assert observer.peers(about=seed.id) is not None

    port.stop()
    start = time.monotonic()
    wait_until(lambda: observer.peers(about=seed.id) is None, "the dead seed peer dropped")
    assert time.monotonic() - start < interval + timeout + 2
    assert seed.closed_by_tracker(timeout=1)
    assert ids_of(observer.peers()) == set()
    assert "dropped" in tracker.log()
    for p in (observer_port, hung_port):
        p.stop()


def test_connections_that_never_join_are_closed(make_tracker):
    tracker = make_tracker(join_timeout=1)
    idle = Conn(tracker)
    chatty = Conn(tracker)
    chatty.send(b"GET_PEERS:PIDAAAA")
    assert chatty.answer() == b"INVALID_PEER_ID"
    joined = Conn(tracker).join("seed")
    assert idle.closed_by_tracker(timeout=WAIT_S)
    assert chatty.closed_by_tracker(timeout=WAIT_S)
    time.sleep(1.5)
    assert joined.peers() == []  # a joined peer stays


# ---- hostile input ---------------------------------------------------------------------

def flood(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass  # the tracker hung up on us: expected


def test_garbage_and_huge_lines_do_not_stop_service(make_tracker):
    tracker = make_tracker()
    good = Conn(tracker).join("later")
    rng = random.Random(7)
    garbage = Conn(tracker)
    huge = Conn(tracker)
    long_arg = Conn(tracker)
    threads = [
        threading.Thread(target=flood, args=(garbage.sock, bytes(rng.randrange(256)
                                                                 for _ in range(65536)))),
        threading.Thread(target=flood, args=(huge.sock, b"A" * (10 << 20))),
        threading.Thread(target=flood, args=(long_arg.sock, b"JOIN_CHAIN:" + b"h" * 100000)),
    ]
    for t in threads:
        t.start()
    # others are served meanwhile
    for _ in range(20):
        assert good.peers() == []
        other = Conn(tracker).join("seed")
        assert ids_of(good.peers()) == {other.id}
        other.close()
        wait_until(lambda: good.peers(about=other.id) is None, "peer dropped")
    for t in threads:
        t.join(WAIT_S)
    for conn in (garbage, huge, long_arg):
        assert conn.closed_by_tracker()
    assert tracker.alive()
    # lines of garbage with line ends are ignored, a few of them at least
    polite = Conn(tracker)
    polite.send(b"hello\nGET_CHAIN:PIDA\n")
    polite.join("seed")
    assert ids_of(good.peers()) == {polite.id}
    assert "longer than" in tracker.log()


# ---- the program -------------------------------------------------------------------------

def run_tracker(*args):
    return subprocess.run([os.path.join(BUILD, "cheese-tracker"), *args], capture_output=True,
                          text=True, timeout=WAIT_S)


def test_flags_help_and_exit_codes(make_tracker):
    shown = run_tracker("--help")
    assert shown.returncode == 0 and "--health-interval" in shown.stdout
    for bad in (["--port", "0"], ["--port", "65536"], ["--port", "x"],
                ["--health-timeout", "0"], ["--log-level", "loud"], ["--nonsense"], ["extra"]):
        result = run_tracker(*bad)
        assert result.returncode == 2, (bad, result.stderr)
        assert "usage:" in result.stderr, bad
    busy = make_tracker()
    taken = run_tracker("--port", str(busy.port))
    assert taken.returncode == 1 and "cannot listen" in taken.stderr, taken.stderr
