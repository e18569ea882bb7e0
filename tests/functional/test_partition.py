"""Network partitions across hosts, for both networks.

The test builds its own small network out of Linux network namespaces: one
namespace per host, each joined to a router namespace by a veth pair (host
number N is 10.77.N.2, the router's side 10.77.N.1). Nodes listen on their
host's address, on the same ports on every host. This process reaches a node
through a socket opened inside the node's own host namespace, so it talks to
both sides of a cut without ever crossing it, and the machine's own network
is never touched.

- http network: hosts A, B and C with two nodes each. Host C's link goes
  down and stays down until every node has dropped the nodes across it;
  both sides take payments and mine, A+B more blocks than C; the link comes
  back. Every node lists the others again and ends on the A+B branch; the
  payments of C's branch that are still valid are mined again on it, and
  the two that are not (a double spend, and coins that only C's branch
  had) are dropped.
- cheese network, the same with the tracker on a fourth host T, restarted
  while the network is apart, in two ways: the router drops the traffic
  between C and A, B only, so that the tracker stays reachable from both
  sides (a split between sites, the tracker elsewhere); or host C's link
  goes down, and its nodes lose the tracker too.

Needs root and a kernel that allows network namespaces and veth pairs;
skipped with the reason otherwise. Namespaces are named after this process's
id; they and every process in them are removed whatever the outcome.
"""
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess

import pytest

import test_cheese_network as cheese
from conftest import BUILD, GENESIS_HASH, WAIT_S, Key, Node, Response, block_on, payment, wait_until

NS_PREFIX = "cheesepart"
CLONE_NEWNET = 0x40000000
NEVER = 255        # --n-transactions no test reaches: that node mines only on request
HEAL_WAIT_S = 90   # a generous liveness deadline for convergence after the heal (ASan build)
HTTP_PORTS = (6001, 6002)
CHEESE_PORTS = (9001, 9002)
TRACKER_PORT = 9999

_libc = ctypes.CDLL(None, use_errno=True)


class LabError(Exception):
    pass


def ip(*args, check=True):
    res = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {res.stderr.strip()}")
    return res


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def inside(ns):
    """Runs the block in network namespace ns. Only this thread moves, and a
    socket keeps the namespace it was made in after the thread is back."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(target)
    finally:
        os.close(home)


# ---- the hosts ---------------------------------------------------------------------------------

class Host:
    """A network namespace with one link to the router."""

    def __init__(self, lab, name, number):
        self.name = name
        self.ns = f"{lab.prefix}-{name}"
        self.subnet = f"10.77.{number}.0/24"
        self.gateway = f"10.77.{number}.1"
        self.address = f"10.77.{number}.2"
        self.link = f"h{name}"  # the router's end of the veth pair

    def command(self, args):
        return ["ip", "netns", "exec", self.ns, *args]

    def connect(self, port, timeout=WAIT_S):
        """A TCP connection from this host to one of its own ports."""
        with inside(self.ns):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect((self.address, port))
        except OSError:
            s.close()
            raise
        return s

    def request(self, port, method, path, body=None, headers=()):
        """One HTTP request to a node of this host, as conftest.request makes it."""
        if isinstance(body, str):
            body = body.encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.address}:{port}",
                 "Connection: close", *headers]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        with self.connect(port) as s:
            s.sendall(data)
            raw = b"".join(iter(lambda: s.recv(65536), b""))
        return Response(raw)


class Lab:
    """Hosts behind one router, the processes started in them, and the cuts."""

    def __init__(self):
        self.prefix = f"{NS_PREFIX}-{os.getpid()}"
        self.router = f"{self.prefix}-router"
        self.namespaces = []
        self.hosts = []
        self.members = []  # nodes and trackers, stopped (and checked) at close
        self.procs = []
        self.rules = []
        clear_leftovers()

    def build(self, names):
        ip("netns", "add", self.router)
        self.namespaces.append(self.router)
        with inside(self.router), open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")
        for number, name in enumerate(names, 1):
            host = Host(self, name, number)
            ip("netns", "add", host.ns)
            self.namespaces.append(host.ns)
            ip("-n", self.router, "link", "add", host.link, "type", "veth",
               "peer", "name", "eth0", "netns", host.ns)
            ip("-n", self.router, "addr", "add", f"{host.gateway}/24", "dev", host.link)
            ip("-n", self.router, "link", "set", host.link, "up")
            ip("-n", host.ns, "link", "set", "lo", "up")
            ip("-n", host.ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip("-n", host.ns, "link", "set", "eth0", "up")
            ip("-n", host.ns, "route", "add", "default", "via", host.gateway)
            self.hosts.append(host)
        return self.hosts

    def popen(self, host, args, log_path, cwd=None):
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(host.command(args), cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=log)
        self.procs.append(proc)
        return proc

    # cuts
    def cut_link(self, host):
        ip("-n", self.router, "link", "set", host.link, "down")

    def restore_link(self, host):
        ip("-n", self.router, "link", "set", host.link, "up")

    def split(self, side, other):
        """The router drops every packet between the two groups of hosts."""
        for x in side:
            for y in other:
                for src, dst in ((x, y), (y, x)):
                    rule = ("from", src.subnet, "to", dst.subnet, "blackhole")
                    ip("-n", self.router, "rule", "add", *rule)
                    self.rules.append(rule)

    def unsplit(self):
        while self.rules:
            ip("-n", self.router, "rule", "del", *self.rules.pop())

    def close(self):
        """Stops the nodes and trackers (each must exit cleanly), kills
        whatever still runs, and removes the namespaces, on every path."""
        errors = []
        try:
            for member in reversed(self.members):
                try:
                    member.stop()
                except AssertionError as e:
                    errors.append(str(e))
        finally:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for ns in reversed(self.namespaces):
                res = ip("netns", "del", ns, check=False)
                if res.returncode != 0:
                    errors.append(f"ip netns del {ns}: {res.stderr.strip()}")
        assert not errors, "\n".join(errors)


def clear_leftovers():
    """Namespaces of an earlier run whose process died without cleaning up:
    its nodes are killed and its namespaces removed."""
    listed = ip("netns", "list", check=False).stdout.split()
    for ns in listed:
        m = re.fullmatch(rf"{NS_PREFIX}-(\d+)-\w+", ns)
        if not m or pid_alive(int(m.group(1))):
            continue
        for pid in ip("netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        ip("netns", "del", ns, check=False)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@pytest.fixture
def make_lab():
    """(lab, build): build("a", "b", ...) makes the hosts, or skips the test
    where the kernel refuses; nodes, namespaces and processes go at the end."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the test's hosts are network namespaces (ip netns)")
    if not shutil.which("ip"):
        pytest.skip("needs ip from iproute2 (scripts/install-deps.sh installs it)")
    lab = Lab()

    def build(*names):
        try:
            return lab.build(names)
        except (LabError, OSError) as e:
            pytest.skip(f"the kernel refuses network namespaces or veth pairs here: {e}")

    yield lab, build
    lab.close()


def token_header(datadir):
    with open(os.path.join(datadir, "api.token")) as f:
        return f"Authorization: Bearer {f.read().strip()}"


# ---- http network ------------------------------------------------------------------------------

class HttpNode(Node):
    """conftest's node, on a lab host: same flags, its host's address."""

    def __init__(self, lab, host, workdir, port, n_transactions, extra):
        os.makedirs(workdir, exist_ok=True)
        super().__init__(workdir, n_transactions, extra, port=port)
        self.lab = lab
        self.host = host
        self.args[self.args.index("--host") + 1] = host.address
        self.name = f"{host.name}{port - HTTP_PORTS[0] + 1}"

    @property
    def address(self):
        return f"{self.host.address}:{self.port}"

    def start(self):
        # Node.start, with the process started in the host's namespace
        self.runs += 1
        self.proc = self.lab.popen(self.host, self.args, self.log_path, cwd=self.workdir)
        wait_until(self._answers, f"node {self.name} to answer")
        line = next(l for l in self.log().splitlines() if "public key: " in l)
        self.pub = line.split("public key: ", 1)[1].split()[0]
        return self

    def get(self, path, **kw):
        return self.host.request(self.port, "GET", path, **kw)

    def post(self, path, body, **kw):
        return self.host.request(self.port, "POST", path, body, **kw)

    def api(self, path):
        resp = self.get(path)
        assert resp.status == 200, resp
        return resp.json()

    def mine(self):
        """POST /api/mine with the token: the test is not on the node's loopback."""
        return self.api_post("/api/mine", "")["mining"]

    def api_post(self, path, body):
        resp = self.post(path, body, headers=[token_header(self.datadir)])
        assert resp.status == 200, resp
        return resp.json()

    def tip_hash(self):
        return self.api("/api/info")["tip"]

    def height(self):
        return self.api("/api/info")["height"]

    def mempool(self):
        return self.api("/api/mempool")["count"]

    def mined(self):
        """Every payment on the best chain, as a normalised text, with its count."""
        counts = {}
        for block in self.best():
            for tx in block["transactions"]:
                if tx["signature"] != "System":
                    key = normal(tx)
                    counts[key] = counts.get(key, 0) + 1
        return counts


def normal(tx):
    return json.dumps(json.loads(tx) if isinstance(tx, str) else tx, sort_keys=True)


def one_tip(nodes):
    tips = {n.tip_hash() for n in nodes}
    return tips.pop() if len(tips) == 1 else None


def state_of(nodes):
    """What each node shows, for a failure message."""
    lines = []
    for n in nodes:
        try:
            info = n.api("/api/info")
            lines.append(f"{n.name}: height {info['height']} tip {info['tip'][:16]} "
                         f"mempool {info['mempool']} peers {info['peers']}")
        except (OSError, AssertionError) as e:
            lines.append(f"{n.name}: {e}")
    return "\n".join(lines)


def wait_for(nodes, condition, what, timeout=WAIT_S):
    try:
        return wait_until(condition, what, timeout=timeout, interval=0.2)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{state_of(nodes)}") from None


def test_http_partition_converges_on_the_longer_branch(make_lab, tmp_path):
    lab, build = make_lab
    a, b, c = build("a", "b", "c")
    seeds = os.path.join(str(tmp_path), "peers-default.json")
    with open(seeds, "w") as f:
        json.dump({"peers": [f"{a.address}:{HTTP_PORTS[0]}", f"{b.address}:{HTTP_PORTS[0]}"]}, f)
    flags = ["--mine-on-start", "no", "--gossip-interval", "2", "--miner-threads", "1",
             "--peers-default", seeds]
    nodes = []
    for host in (a, b, c):
        for port in HTTP_PORTS:
            # C1 mines by itself once two payments wait; every other node on request
            n_tx = 2 if (host, port) == (c, HTTP_PORTS[0]) else NEVER
            node = HttpNode(lab, host, str(tmp_path / f"{host.name}-{port}"), port, n_tx, flags)
            lab.members.append(node)
            nodes.append(node.start())
    a1, a2, b1, b2, c1, c2 = nodes
    ab, cc = nodes[:4], nodes[4:]
    for n in nodes:
        others = {m.address for m in nodes if m is not n}
        wait_for(nodes, lambda n=n, others=others: set(n.api("/getpeers")["peers"]) == others,
                 f"{n.name} to list the five other nodes")

    # a common start: block 1 pays `payer`, block 2 `spender`, 1 each
    payer, spender = Key(), Key()
    first = block_on(GENESIS_HASH, 1, payer.pub)
    second = block_on(first.hash, 2, spender.pub)
    for block in (first, second):
        a1.post_ok("/block", block.text)
    wait_for(nodes, lambda: one_tip(nodes) == second.hash, "block 2 everywhere")

    lab.cut_link(c)

    # A+B: two payments, then three blocks mined on request by three nodes
    ab_pays = [payment(payer, Key().pub, 0.0625), payment(spender, Key().pub, 0.75)]
    a2.post_ok("/inv", ab_pays[0])
    b2.post_ok("/inv", ab_pays[1])
    wait_for(nodes, lambda: b1.mempool() == 2, "both A+B payments at B1")
    for miner in (b1, a1, b2):
        height = miner.mine()
        wait_for(nodes, lambda: all(n.height() == height for n in ab) and one_tip(ab),
                 f"block {height} on every A+B node")
    ab_branch = [block["hash"] for block in a1.best()[3:]]
    assert len(ab_branch) == 3
    assert a1.mined() == {normal(t): 1 for t in ab_pays}

    # C: two blocks of two payments each, mined by C1 on its own. The spender
    # pays C1 what it paid on the other side, and C1 spends more than the one
    # reward it will have on the A+B branch.
    still_valid = [payment(payer, Key().pub, 0.125), payment(payer, Key().pub, 0.25)]
    double_spend = payment(spender, c1.pub, 0.75)
    c2.post_ok("/inv", still_valid[0])
    c2.post_ok("/inv", double_spend)
    wait_for(nodes, lambda: all(n.height() == 3 for n in cc) and one_tip(cc),
             "block 3 on both C nodes")
    c1_pay = c1.api_post("/api/send", f'{{"to": "{Key().pub}", "sum": 1.5}}')
    c2.post_ok("/inv", still_valid[1])
    wait_for(nodes, lambda: all(n.height() == 4 for n in cc) and one_tip(cc),
             "block 4 on both C nodes")
    c_branch = [block["hash"] for block in c1.best()[3:]]
    unaffordable = [double_spend, json.dumps(c1_pay["transaction"])]
    assert c1.mined() == {normal(t): 1 for t in still_valid + unaffordable}

    # the cut held: neither side has any block of the other; and it lasts
    # until every node has given up on the other side's nodes
    for n in nodes:
        listed = n.get("/getblocks").body
        assert not any(h in listed for h in (c_branch if n in ab else ab_branch)), n.name
    for n in nodes:
        same_side = {m.address for m in (ab if n in ab else cc) if m is not n}
        wait_for(nodes, lambda n=n, same_side=same_side:
                 set(n.api("/getpeers")["peers"]) == same_side,
                 f"{n.name} to drop the nodes across the cut", timeout=HEAL_WAIT_S)

    lab.restore_link(c)

    def converged():
        tip = one_tip(nodes)
        if not tip or any(n.mempool() for n in nodes):
            return None
        if not all(len(n.api("/getpeers")["peers"]) == 5 for n in nodes):
            return None
        return all(n.mined() == {normal(t): 1 for t in ab_pays + still_valid} for n in nodes)

    wait_for(nodes, converged, "every node listing the five others again, one tip "
             "everywhere, C's valid payments mined again on the A+B branch and the others "
             "dropped", timeout=HEAL_WAIT_S)
    lost = c1_pay["transaction"]["transaction"]["to"]
    for n in nodes:
        best = n.best()
        assert [block["hash"] for block in best[3:6]] == ab_branch, n.name
        assert len(best) == 7 and best[6]["creator"] == c1.pub, n.name  # mined again by C1
        assert n.api(f"/api/balance?key={lost}")["balance_exact"] == "0", n.name
        # C1 keeps the reward of block 6, and nothing of C's branch
        assert n.api(f"/api/balance?key={c1.pub}")["balance_exact"] == "1", n.name


# ---- cheese network ----------------------------------------------------------------------------

class CheeseTracker:
    def __init__(self, lab, host, workdir):
        self.lab, self.host, self.workdir = lab, host, workdir
        self.port = TRACKER_PORT
        self.runs = 0
        self.proc = None

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"tracker-{self.runs}.log")
        args = [os.path.join(BUILD, "cheese-tracker"), "--host", self.host.address,
                "--port", str(self.port), "--log-level", "debug"]
        self.proc = self.lab.popen(self.host, args, self.log_path)
        wait_until(self._greets, "the tracker to greet")
        return self

    def _greets(self):
        assert self.proc.poll() is None, "cheese-tracker exited"
        try:
            with self.host.connect(self.port) as s:
                return s.recv(100) == b"Connection Successful"
        except OSError:
            return False

    def stop(self):
        if self.proc:
            proc, self.proc = self.proc, None
            cheese.stop_process(proc, self.log_path, "cheese-tracker")


class HostPeer(cheese.Peer):
    """test_cheese_network's raw TCP peer, connected from the node's host."""

    def __init__(self, host, port):
        self.sock = host.connect(port)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.greeting = self.read_greeting()


class CheeseNode:
    def __init__(self, lab, host, workdir, port, tracker, n_transactions):
        self.lab, self.host, self.workdir, self.port = lab, host, workdir, port
        self.api_port = port + 1000
        self.name = f"{host.name}{port - CHEESE_PORTS[0] + 1}"
        self.datadir = os.path.join(workdir, "data")
        os.makedirs(workdir, exist_ok=True)
        self.args = [os.path.join(BUILD, "cheesed"), "--network", "cheese",
                     "--host", host.address, "--port", str(port),
                     "--api-port", str(self.api_port),
                     "--tracker", f"{tracker.host.address}:{tracker.port}",
                     "--datadir", self.datadir, "--tracker-interval", "0.5",
                     "--resync-interval", "2", "--miner-threads", "1",
                     "--n-transactions", str(n_transactions), "--log-level", "info"]
        self.runs = 0
        self.proc = None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"node-{self.runs}.log")
        self.proc = self.lab.popen(self.host, self.args, self.log_path, cwd=self.workdir)
        wait_until(self._answers, f"node {self.name} to answer")
        line = next(l for l in self.log().splitlines() if "public key: " in l)
        self.pub = line.split("public key: ", 1)[1].split()[0]
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"cheesed exited with {self.proc.returncode}:\n{self.log()}")
        try:
            return self.host.request(self.api_port, "GET", "/api/info").status == 200
        except OSError:
            return False

    def stop(self):
        if self.proc:
            proc, self.proc = self.proc, None
            cheese.stop_process(proc, self.log_path, f"cheesed {self.name}")

    # the API
    def api(self, path):
        resp = self.host.request(self.api_port, "GET", path)
        assert resp.status == 200, resp
        return resp.json()

    def api_post(self, path, body=""):
        resp = self.host.request(self.api_port, "POST", path, body,
                                 headers=[token_header(self.datadir)])
        assert resp.status == 200, resp
        return resp.json()

    def info(self):
        return self.api("/api/info")

    def tip_hash(self):
        return self.info()["tip"]

    def height(self):
        return self.info()["height"]

    def mempool(self):
        return self.info()["mempool"]

    def tracker_state(self):
        return self.info()["sync"]["tracker"]

    def tx_status(self, txid):
        resp = self.host.request(self.api_port, "GET", f"/api/tx?txid={txid}")
        return resp.json()["status"] if resp.status == 200 else None

    def mine(self):
        return self.api_post("/api/mine")["mining"]

    def announce(self, payload, command):
        peer = HostPeer(self.host, self.port)
        try:
            return peer.ask(command + payload.encode())
        finally:
            peer.close()


def txid(tx):
    return cheese.sha256_hex(cheese.tx_text(tx))


def cheese_network(lab, tmp_path):
    """The tracker on host T, two nodes on each of A, B and C (C1 mines by
    itself once two payments wait, every other node on request), and a
    common chain mined here: block 1 pays `payer` 10, block 2 `spender` 10."""
    a, b, c, t = lab.hosts
    tracker = CheeseTracker(lab, t, str(tmp_path))
    lab.members.append(tracker)
    tracker.start()
    nodes = []
    for host in (a, b, c):
        for port in CHEESE_PORTS:
            n_tx = 2 if (host, port) == (c, CHEESE_PORTS[0]) else NEVER
            node = CheeseNode(lab, host, str(tmp_path / f"{host.name}-{port}"), port, tracker, n_tx)
            lab.members.append(node)
            nodes.append(node.start())
    for n in nodes:
        wait_for(nodes, lambda n=n: n.tracker_state()["state"] == "joined"
                 and n.info()["peers"] == 5, f"{n.name} to join and know the five others")
    payer, spender = cheese.RsaKey(), cheese.RsaKey()
    parent = cheese.GENESIS_SMELL
    for height, key in ((1, payer), (2, spender)):
        block = cheese.mine(height, parent, [cheese.reward(key.pub)])
        assert nodes[0].announce(cheese.block_text(block), b"BRCHEESE") == b"BRCHEESEACK"
        parent = cheese.smell(block)
        wait_for(nodes, lambda: one_tip(nodes) == parent, f"block {height} everywhere")
    return tracker, nodes, payer, spender


def on_every_node_at(nodes, side, height, what):
    wait_for(nodes, lambda: all(n.height() == height for n in side) and one_tip(side), what)


def ab_side_mines(nodes, payer, spender, miners):
    """A+B take a payment by each key (the spender's 8 of its 10), then the
    miners mine a block each, the first with both payments."""
    a1, a2, b1 = nodes[:3]
    ab = nodes[:4]
    pays = [payer.pay(a1.pub, 1), spender.pay(b1.pub, 8)]
    for p in pays:
        assert a2.announce(cheese.tx_text(p), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    wait_for(nodes, lambda: all(miners[0].tx_status(txid(p)) == "mempool" for p in pays),
             f"the A+B payments at {miners[0].name}")
    for miner in miners:
        height = miner.mine()
        on_every_node_at(nodes, ab, height, f"block {height} on every A+B node")
    return pays


def restart_tracker(tracker, nodes, rejoining):
    """Stops the tracker until every node has noticed, starts it again, and
    waits for the rejoining nodes to join it under a new id."""
    before = {n.name: n.tracker_state()["peer_id"] for n in nodes}
    tracker.stop()
    for n in nodes:
        wait_for(nodes, lambda n=n: n.tracker_state()["state"] != "joined",
                 f"{n.name} to notice the tracker gone")
    tracker.start()
    for n in rejoining:
        wait_for(nodes, lambda n=n: n.tracker_state()["state"] == "joined",
                 f"{n.name} to join the restarted tracker")
        assert n.tracker_state()["peer_id"] != before[n.name]


def c_side_payments(payer, spender, c1, c2):
    """Two payments by the payer, still valid after the heal, and the
    spender's 7 to C1, which the 8 it pays on the other side leaves it unable
    to afford. With it C1 can pay 15 on C's branch, which the one reward
    (10) it will have on the A+B branch does not cover."""
    return [payer.pay(c2.pub, 2), payer.pay(c2.pub, 0.5)], spender.pay(c1.pub, 7)


def assert_converges(nodes, ab_branch, valid, unaffordable):
    """One tip everywhere: the A+B branch, then C1's block of the payments
    of C's branch that are still valid; the others gone from every node."""
    def converged():
        if not one_tip(nodes) or any(n.mempool() for n in nodes):
            return None
        return all(n.tx_status(tid) == "mined" for n in nodes for tid in valid) and \
            not any(n.tx_status(tid) for n in nodes for tid in unaffordable)

    wait_for(nodes, converged, "one tip everywhere, C's valid payments mined again on the "
             "A+B branch and the others dropped", timeout=HEAL_WAIT_S)
    a2, c1 = nodes[1], nodes[4]
    for n in nodes:
        best = [n.api(f"/api/block?height={h}")["hash"] for h in range(3, n.height() + 1)]
        assert best[:len(ab_branch)] == ab_branch and len(best) == len(ab_branch) + 1, n.name
        last = n.api(f"/api/block?height={n.height()}")["block"]["transactions"]
        assert last[-1]["recipient"] == c1.pub, n.name  # mined again by C1
        # C1 keeps the reward of that block, and nothing of C's branch: A2
        # has nothing of the 15 C1 paid it there
        assert n.api(f"/api/balance?key={c1.pub}")["balance_exact"] == "10", n.name
        assert n.api(f"/api/balance?key={a2.pub}")["balance_exact"] == "0", n.name


def test_cheese_split_from_a_tracker_both_sides_reach(make_lab, tmp_path):
    """The router drops the traffic between C and A, B; the tracker on T
    stays reachable from both sides, and restarts while they are apart."""
    lab, build = make_lab
    a, b, c, t = build("a", "b", "c", "t")
    tracker, nodes, payer, spender = cheese_network(lab, tmp_path)
    a1, a2, b1, b2, c1, c2 = nodes
    ab, cc = nodes[:4], nodes[4:]

    lab.split([c], [a, b])

    ab_pays = ab_side_mines(nodes, payer, spender, [b1])
    still_valid, double_spend = c_side_payments(payer, spender, c1, c2)
    for p in (still_valid[0], double_spend):
        assert c2.announce(cheese.tx_text(p), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    on_every_node_at(nodes, cc, 3, "block 3, mined by C1 on its own, on both C nodes")

    restart_tracker(tracker, nodes, rejoining=nodes)

    # each side carries on under its new ids: A+B mines two more blocks, C
    # one, of C1's payment to A2 and one by the payer
    for miner, height in ((a1, 4), (b2, 5)):
        assert miner.mine() == height
        on_every_node_at(nodes, ab, height, f"block {height} on every A+B node")
    ab_branch = [a1.api(f"/api/block?height={h}")["hash"] for h in (3, 4, 5)]
    c1_pay = c1.api_post("/api/send", json.dumps({"to": a2.pub, "sum": 15}))
    assert c2.announce(cheese.tx_text(still_valid[1]), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    on_every_node_at(nodes, cc, 4, "block 4 on both C nodes")
    unaffordable = [txid(double_spend), c1_pay["txid"]]
    for tid in [txid(p) for p in still_valid] + unaffordable:
        assert c1.tx_status(tid) == "mined"
    for n in ab:
        assert n.height() == 5 and not any(n.tx_status(tid) for tid in unaffordable), n.name
    # the split lasts until every node has tried and failed to reach every
    # node across it (links to an unreachable peer give up after 10 s)
    for n in nodes:
        for m in (cc if n in ab else ab):
            wait_for(nodes, lambda n=n, m=m: f"at {m.host.address}:{m.port} unreachable" in n.log(),
                     f"{n.name} to find {m.name} unreachable", timeout=HEAL_WAIT_S)

    lab.unsplit()

    assert_converges(nodes, ab_branch, [txid(p) for p in ab_pays + still_valid], unaffordable)


def test_cheese_host_cut_off_from_everyone_and_the_tracker(make_lab, tmp_path):
    """Host C's link goes down: its nodes lose the tracker too, and the
    tracker restarts meanwhile. A node without a tracker id sends nothing
    (peers serve only ids the tracker vouches for), so C1 mines on its own;
    once the link is back the C nodes join again and converge."""
    lab, build = make_lab
    a, b, c, t = build("a", "b", "c", "t")
    tracker, nodes, payer, spender = cheese_network(lab, tmp_path)
    a1, a2, b1, b2, c1, c2 = nodes
    ab, cc = nodes[:4], nodes[4:]

    lab.cut_link(c)

    ab_pays = ab_side_mines(nodes, payer, spender, [b1, a1, b2])
    ab_branch = [a1.api(f"/api/block?height={h}")["hash"] for h in (3, 4, 5)]
    still_valid, double_spend = c_side_payments(payer, spender, c1, c2)
    for p in (still_valid[0], double_spend):
        assert c1.announce(cheese.tx_text(p), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    wait_for(nodes, lambda: c1.height() == 3, "block 3, mined by C1 on its own")

    restart_tracker(tracker, nodes, rejoining=ab)
    for n in cc:
        assert n.tracker_state()["state"] != "joined", n.name  # the tracker is out of reach

    c1_pay = c1.api_post("/api/send", json.dumps({"to": a2.pub, "sum": 15}))
    assert c1.announce(cheese.tx_text(still_valid[1]), b"BRTRANSACTION") == b"BRTRANSACTIONACK"
    wait_for(nodes, lambda: c1.height() == 4, "block 4, mined by C1 on its own")

    lab.restore_link(c)

    unaffordable = [txid(double_spend), c1_pay["txid"]]
    assert_converges(nodes, ab_branch, [txid(p) for p in ab_pays + still_valid], unaffordable)
    for n in cc:
        assert n.tracker_state()["state"] == "joined", n.name
