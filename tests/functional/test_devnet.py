"""cheese-devnet (docs/cli.md): N nodes on loopback in one command, wired to
each other, every address printed as soon as it answers, all data under one
folder, and every process gone after SIGINT or SIGTERM with exit status 0."""
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, WAIT_S, exchange, request, wait_until
import test_cheese_network as cheese

NODE_LINE = re.compile(r"^node (\d+): 127\.0\.0\.1:(\d+) \(api http://127\.0\.0\.1:(\d+)/api/, "
                       r"explorer http://127\.0\.0\.1:(\d+)/, data (.+)\)$")


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ephemeral_low():
    """The lowest port the kernel hands to connect() and bind(0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_base(count, api_offset=0):
    """A base port with `count` free ports after it (and api_offset above them).

    All of them below the kernel's ephemeral range: a port in it may be taken
    by any program's outgoing connection between this check and the node's
    bind (seen with two suites on one machine)."""
    top = ephemeral_low() - count - api_offset
    for _ in range(200):
        base = random.randrange(10000, max(top, 10001))
        ports = list(range(base, base + count))
        if api_offset:
            ports += [p + api_offset for p in ports[1:]]
        if all(port_free(p) for p in ports):
            return base
    raise AssertionError("no free ports")


def children_of(parent):
    """Pids of the live (not zombie) processes whose parent is `parent`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == parent:
            pids.append(int(entry))
    return pids


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode(errors="replace").split("\0")


class Devnet:
    def __init__(self, tmp_path, network, nodes, extra=()):
        self.dir = str(tmp_path / f"devnet-{network}")
        self.network = network
        self.base = free_base(nodes + (1 if network == "cheese" else 0), api_offset=1000)
        self.args = [os.path.join(BUILD, "cheese-devnet"), "--network", network,
                     "--nodes", str(nodes), "--base-port", str(self.base), "--dir", self.dir,
                     *extra]
        self.stderr_path = tmp_path / f"devnet-{network}.stderr"
        self.proc = None
        self.lines = []

    def start(self, cwd):
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.args, cwd=cwd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err)
        return self

    def read_until(self, prefix, timeout=WAIT_S * 2):
        """Lines of stdout up to and including the first starting with prefix."""
        deadline = time.monotonic() + timeout
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no '{prefix}' line after {timeout} s: {self.lines}\n"
                                     f"{self.stderr()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"cheese-devnet ended ({self.proc.wait()}): {self.lines}\n"
                                     f"{self.stderr()}")
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self.lines.append(line.decode())
                if self.lines[-1].startswith(prefix):
                    return self.lines

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def nodes(self):
        """[(number, port, api_port, datadir)] from the node lines."""
        found = [NODE_LINE.match(line) for line in self.lines]
        return [(int(m[1]), int(m[2]), int(m[3]), m[5]) for m in found if m]

    def explorers(self):
        """{node port: explorer port} from the node lines."""
        found = [NODE_LINE.match(line) for line in self.lines]
        return {int(m[2]): int(m[4]) for m in found if m}

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=WAIT_S * 2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.lines += self.proc.stdout.read().decode().splitlines()
        self.proc.stdout.close()
        return code

    def children(self):
        return children_of(self.proc.pid)

    def kill(self):
        """After a failed test: nothing may outlive it."""
        if self.proc and self.proc.poll() is None:
            for pid in self.children():
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def devnets():
    started = []
    yield started
    for d in started:
        d.kill()


def text_of(block, text):
    """The text of block as it stands in text (the export copies bytes)."""
    start = text.index('{"sequence_number": %d,' % block["sequence_number"])
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i + 1]
    raise AssertionError("unbalanced")


def peers(api_port):
    resp = request(api_port, "GET", "/api/peers")
    assert resp.status == 200, resp
    return resp.json()["peers"]


def peer_address(p):
    return p if isinstance(p, str) else f"{p['host']}:{p['port']}"


def stop_and_check(devnet, sig=signal.SIGINT):
    """Stops it with sig: exit 0, every child gone, every port closed."""
    children = devnet.children()
    code = devnet.stop(sig)
    err = devnet.stderr()
    assert code == 0, (code, devnet.lines, err)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in err, err
    assert devnet.lines[-1] == "stopped", devnet.lines
    assert children and not any(os.path.exists(f"/proc/{pid}") for pid in children)
    ports = [devnet.base] if devnet.network == "cheese" else []
    for _, port, api_port, _ in devnet.nodes():
        ports += [port, api_port]
    for p in set(ports):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p), timeout=1).close()


def run_network(tmp_path, devnets, network, n):
    d = Devnet(tmp_path, network, n).start(cwd=tmp_path)
    devnets.append(d)
    d.read_until("ready:")
    nodes = d.nodes()
    assert [number for number, *_ in sorted(nodes)] == list(range(1, n + 1)), d.lines
    return d, nodes


# ---- http ---------------------------------------------------------------------------------------

def test_http_devnet(tmp_path, devnets):
    d, nodes = run_network(tmp_path, devnets, "http", 3)
    assert d.lines[0].startswith("cheese-devnet: http network of 3 nodes, data in ")
    assert sorted(port for _, port, _, _ in nodes) == [d.base, d.base + 1, d.base + 2]
    assert all(api == port for _, port, api, _ in nodes)
    assert d.lines[-1] == "ready: 3 nodes; Ctrl-C stops them all"
    # each node's explorer on the port printed (port + 1000), which a browser opens
    assert d.explorers() == {port: port + 1000 for _, port, _, _ in nodes}
    for port, web in d.explorers().items():
        page = exchange(web, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert page.startswith(b"HTTP/1.1 200 ") and b"<title>" in page, page[:200]

    # every node answers, and comes to know the other two
    addresses = {f"127.0.0.1:{port}" for _, port, _, _ in nodes}
    for _, port, _, datadir in nodes:
        info = request(port, "GET", "/api/info").json()
        assert info["network"] == "http"
        others = addresses - {f"127.0.0.1:{port}"}
        wait_until(lambda: others <= {peer_address(p) for p in peers(port)},
                   f"node {port} to list {others}")
        # its data is under the one folder
        assert os.path.dirname(datadir) == os.path.realpath(d.dir)
        assert os.path.basename(datadir) == f"http-{port}"
    # each node's only peers are the others (--connect), whatever file lists more
    for pid in d.children():
        args = cmdline(pid)
        port = args[args.index("--port") + 1]
        assert {args[i + 1] for i, a in enumerate(args) if a == "--connect"} == \
            addresses - {f"127.0.0.1:{port}"}, args
        assert "--peers-default" not in args

    # a block mined on one reaches the others
    first = nodes[0][1]
    height = request(first, "GET", "/api/info").json()["height"]
    target = request(first, "POST", "/api/mine", "").json()["mining"]
    assert target > height
    for _, port, _, _ in nodes:
        wait_until(lambda: request(port, "GET", "/api/info").json()["height"] >= target,
                   f"node {port} to reach height {target}")

    assert len(d.children()) == 3
    stop_and_check(d, signal.SIGINT)
    assert "stopping (SIGINT)" in d.lines
    assert sorted(os.listdir(d.dir)) == sorted([".lock"] + [f"http-{port}" for _, port, _, _ in nodes])
    for _, port, _, datadir in nodes:
        assert {"chain.sqlite", "wallet.key", "node.log", "api.token"} <= set(os.listdir(datadir))
        with open(os.path.join(datadir, "node.log")) as f:
            assert "public key: " in f.read()


def node_log(datadir):
    with open(os.path.join(datadir, "node.log"), errors="replace") as f:
        return f.read()


def requests_answered(port, path):
    """How many requests for path the node on port has answered (/metrics)."""
    resp = exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    line = f'cheese_http_requests_total{{path="{path}"}} '
    for text in resp.decode().splitlines():
        if text.startswith(line):
            return int(text[len(line):])
    return 0


def test_an_outside_node_never_joins_an_http_devnet(tmp_path, devnets, make_node):
    """A node of another run, started where a peers-default.json lists the
    devnet's ports (as the shipped one lists 6000-6002, the devnet's default
    ports), dials the devnet: it is answered no peer list, none of its blocks
    is taken, and no devnet node ever lists it, asks it anything or relays to
    it. Nor does it get the devnet's blocks."""
    d, nodes = run_network(tmp_path, devnets, "http", 2)
    addresses = [f"127.0.0.1:{port}" for _, port, _, _ in nodes]
    for (_, port, _, _), other in zip(nodes, reversed(addresses)):
        wait_until(lambda: other in peers(port), f"node {port} to list {other}")

    outsider = make_node(start=False, extra=["--gossip-interval", "0.2"])
    with open(os.path.join(outsider.workdir, "peers-default.json"), "w") as f:
        json.dump({"peers": addresses}, f)  # picked up from the current folder
    outsider.start()
    own_block = outsider.wait_height(1)[1]  # it mined its block 1 at start
    # It dials every devnet node (with its port: as our nodes do); each
    # turns it away (or, without --connect, checks it and lists it).
    for _, port, _, datadir in nodes:
        refused = f"refused GET /getpeers from {outsider.address}: not one of the --connect peers"
        listed = f"new peer {outsider.address}"
        wait_until(lambda: refused in node_log(datadir) or listed in node_log(datadir),
                   f"node {port} to hear from the outsider")
        assert listed not in node_log(datadir)
        # It relays its block as every node does (naming itself in Host): refused
        resp = request(port, "POST", "/block", outsider.block(own_block["hash"]),
                       headers=[f"Host: {outsider.address}"])
        assert resp.status == 403 and "--connect" in resp.json()["errmsg"], resp
    # The devnet goes on past that: a block mined on node 1 reaches node 2
    first, second = nodes[0][1], nodes[1][1]
    target = request(first, "POST", "/api/mine", "").json()["mining"]
    wait_until(lambda: request(second, "GET", "/api/info").json()["height"] >= target,
               f"node {second} to reach height {target}")
    tip = request(second, "GET", "/api/info").json()["tip"]

    for _, port, _, _ in nodes:
        assert outsider.address not in peers(port)
        assert outsider.address not in request(port, "GET", "/getpeers").json()["peers"]
        assert request(port, "GET", f"/getdata?id={own_block['hash']}").status == 404
    # never asked for its peers, never sent a block or a payment
    assert [requests_answered(outsider.port, path) for path in ("/getpeers", "/block", "/inv")] \
        == [0, 0, 0]
    assert outsider.get("/getpeers").json()["peers"] == []  # no devnet node answered it a list
    assert outsider.get(f"/getdata?id={tip}").status == 404
    stop_and_check(d)


def test_sigterm_stops_it_too(tmp_path, devnets):
    d, nodes = run_network(tmp_path, devnets, "http", 1)
    assert d.lines[-1] == "ready: 1 node; Ctrl-C stops it"
    [pid] = d.children()
    assert "--connect\0none" in "\0".join(cmdline(pid))  # a network of one: no peer at all
    stop_and_check(d, signal.SIGTERM)
    assert "stopping (SIGTERM)" in d.lines


def test_default_folder(tmp_path, devnets):
    base = free_base(2)
    d = Devnet(tmp_path, "http", 2)
    d.base = base
    d.dir = str(tmp_path / "data" / "devnet-http")
    d.args = [os.path.join(BUILD, "cheese-devnet"), "--nodes", "2", "--base-port", str(base)]
    devnets.append(d.start(cwd=tmp_path))
    d.read_until("ready:")
    assert d.lines[0].endswith(f"data in {d.dir}")
    stop_and_check(d)
    assert sorted(os.listdir(d.dir)) == [".lock", f"http-{base}", f"http-{base + 1}"]


def test_a_node_that_dies_is_reported(tmp_path, devnets):
    d, nodes = run_network(tmp_path, devnets, "http", 2)
    victim = nodes[1]
    pid = next(p for p in d.children() if str(victim[1]) in cmdline(p))
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: "killed by signal 9" in d.stderr(), "the death to be reported")
    assert f"node {victim[0]} (port {victim[1]}) was killed by signal 9" in d.stderr()
    assert request(nodes[0][1], "GET", "/api/info").status == 200  # the other runs on
    stop_and_check(d)


def test_node_options_after_double_dash(tmp_path, devnets):
    d = Devnet(tmp_path, "http", 1, extra=["--", "--n-transactions", "1", "--mine-on-start",
                                              "no"])
    devnets.append(d.start(cwd=tmp_path))
    d.read_until("ready:")
    port = d.nodes()[0][1]
    assert request(port, "GET", "/api/info").json()["height"] == 0  # no block 1 at start
    stop_and_check(d)


def test_busy_port_and_bad_usage(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run([os.path.join(BUILD, "cheese-devnet"), "--nodes", "1",
                               "--base-port", str(port), "--dir", str(tmp_path / "d")],
                              capture_output=True, text=True, timeout=WAIT_S)
    assert proc.returncode == 1, proc
    assert f"port {port} is in use" in proc.stderr
    for args in (["--network", "smoke"], ["--nodes", "0"], ["--nodes", "x"],
                 ["--base-port", "65535", "--nodes", "2"], ["stray"], ["--bogus"]):
        proc = subprocess.run([os.path.join(BUILD, "cheese-devnet"), *args],
                              capture_output=True, text=True, timeout=WAIT_S, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc)
        assert "usage: cheese-devnet" in proc.stderr
    assert not os.path.exists(tmp_path / "data")
    proc = subprocess.run([os.path.join(BUILD, "cheese-devnet"), "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "--network NAME" in proc.stdout


# ---- cheese -------------------------------------------------------------------------------------

def test_cheese_devnet(tmp_path, devnets):
    d = Devnet(tmp_path, "cheese", 3).start(cwd=tmp_path)
    devnets.append(d)
    d.read_until("ready:")
    tracker = next(line for line in d.lines if line.startswith("tracker: "))
    assert tracker.startswith(f"tracker: 127.0.0.1:{d.base} (log ")
    assert d.lines.index(tracker) < min(i for i, line in enumerate(d.lines)
                                        if line.startswith("node "))
    nodes = d.nodes()
    assert sorted(port for _, port, _, _ in nodes) == [d.base + 1, d.base + 2, d.base + 3]
    assert all(api == port + 1000 for _, port, api, _ in nodes)

    addresses = {f"127.0.0.1:{port}" for _, port, _, _ in nodes}
    for _, port, api, datadir in nodes:
        assert request(api, "GET", "/api/info").json()["network"] == "cheese"
        others = addresses - {f"127.0.0.1:{port}"}
        wait_until(lambda: others <= {peer_address(p) for p in peers(api)},
                   f"node {port} to know {others}")
        assert os.path.dirname(datadir) == os.path.realpath(d.dir)

    # a block mined on one reaches the others
    api = nodes[0][2]
    target = request(api, "POST", "/api/mine", "").json()["mining"]
    for _, _, other_api, _ in nodes:
        wait_until(lambda: request(other_api, "GET", "/api/info").json()["height"] >= target,
                   f"API {other_api} to reach height {target}")

    # cheese-cli on a cheese node: export gathers the best chain block by block
    # (the API port serves no /getblocks), keys finds the RSA wallet
    cli = os.path.join(BUILD, "cheese-cli")
    out = subprocess.run([cli, "--node", str(api), "--json", "export"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=WAIT_S)
    assert out.returncode == 0, out
    with open(tmp_path / f"blocks-{api}.json") as f:
        text = f.read()
    chain = json.loads(text)["chain"]
    assert json.loads(out.stdout) == {"file": f"blocks-{api}.json", "heights": len(chain),
                                      "bytes": len(text)}
    assert len(chain) >= target + 1
    for height, blocks in enumerate(chain):
        body = request(api, "GET", f"/api/block?height={height}").body
        assert [json.dumps(b) for b in blocks] == [json.dumps(json.loads(body)["block"])]
        assert body.endswith(text_of(blocks[0], text) + "}")
    out = subprocess.run([cli, "--node", str(api), "--datadir", nodes[0][3], "--json", "keys"],
                         capture_output=True, text=True, timeout=WAIT_S)
    keys = json.loads(out.stdout)
    assert keys["network"] == "cheese"
    assert keys["wallet"] == os.path.join(nodes[0][3], "wallet-rsa.key")
    assert keys["key"] == request(api, "GET", "/api/info").json()["key"]

    assert len(d.children()) == 4  # the tracker and 3 nodes
    # a devnet of its own nodes: the tracker takes joins only from them, and
    # each node uses only the others
    for pid in d.children():
        args = cmdline(pid)
        port = args[args.index("--port") + 1]
        # under `make valgrind` the program is an argument of valgrind's
        tracker = any(a.endswith("cheese-tracker") for a in args)
        flag = "--allow" if tracker else "--connect"
        assert {args[i + 1] for i, a in enumerate(args) if a == flag} == \
            addresses - {f"127.0.0.1:{port}"}, args
    stop_and_check(d, signal.SIGINT)
    assert sorted(os.listdir(d.dir)) == sorted(
        [".lock", "tracker"] + [f"cheese-{port}" for _, port, _, _ in nodes])
    assert os.path.exists(os.path.join(d.dir, "tracker", "tracker.log"))


def test_an_outside_node_never_joins_a_cheese_devnet(tmp_path, devnets):
    """A cheese node of another run told to use the devnet's tracker (or
    using the default tracker port 9999 when the devnet's base port is
    9999) is refused at the join: no devnet node lists it, and it gets
    nothing of the devnet."""
    d = Devnet(tmp_path, "cheese", 2).start(cwd=tmp_path)
    devnets.append(d)
    d.read_until("ready:")
    nodes = d.nodes()
    addresses = {f"127.0.0.1:{port}" for _, port, _, _ in nodes}
    for _, port, api, _ in nodes:
        others = addresses - {f"127.0.0.1:{port}"}
        wait_until(lambda: others <= {peer_address(p) for p in peers(api)},
                   f"node {port} to know {others}")

    outsider = cheese.Node(str(tmp_path / "outsider"), d.base, n_transactions=cheese.NEVER)
    try:
        outsider.start(joined=False)
        # it asks the devnet's tracker to join: refused (or, without --allow,
        # taken, and listed to the devnet's nodes)
        wait_until(lambda: "tracker refused" in outsider.log() or
                   outsider.tracker_state()["state"] == "joined", "the outsider's join")
        assert outsider.tracker_state()["state"] != "joined"
        with open(os.path.join(d.dir, "tracker", "tracker.log")) as f:
            assert f"as 127.0.0.1:{outsider.port} refused" in f.read()
        # the devnet goes on past that: a block mined on node 1 reaches node 2
        (_, _, first, _), (_, _, second, _) = nodes
        target = request(first, "POST", "/api/mine", "").json()["mining"]
        wait_until(lambda: request(second, "GET", "/api/info").json()["height"] >= target,
                   f"API {second} to reach height {target}")
        for _, _, api, _ in nodes:
            assert f"127.0.0.1:{outsider.port}" not in {peer_address(p) for p in peers(api)}
        assert outsider.peer_count() == 0
        assert outsider.height() == 0
    finally:
        outsider.stop()
    stop_and_check(d)
