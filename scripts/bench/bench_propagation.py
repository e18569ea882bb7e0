"""Block propagation across http networks on loopback (32 nodes, then 128):
the time from posting a new block to one node until every node has accepted
it; p50 and p99 over the rounds of each network.

Node i of N is given nodes i+1, i+b, i+b^2 and i+b^3 (mod N) as its default
peers, b = round(N^(1/4)) (so 1, 2, 4, 8 for 32 nodes and 1, 3, 9, 27 for
128): every node relays to 4 and hears from 4, and the longest relay path
grows slowly with N. Each keeps at most 4 peers (--max-peers 4) and starts
with those 4 already in its peer list file (data/peers-PORT.json, as after an
earlier run), so the graph is the same in every run instead of depending on
which node answered first. The lists are read back from /getpeers before the
rounds, and the graph must reach every node from every node. Blocks are mined
here beforehand, each with 2 signed payments and the reward (the default
--n-transactions), and both networks, each started empty, get the same
blocks; round r posts block r to node 7r mod N. A node has a block when its
log says so (milliseconds): "Block accepted" for a relayed one, "fetched
block" for a parent it asked for, or a sync round ending at or above the
block's height (nodes also ask a peer for what follows their tip every few
seconds, and may get the block that way just before the relays arrive). The
round's time is the last node's line minus the time just before the block was
posted. The rounds start once a node's first failed exchange with a peer that
was not listening yet no longer holds its relays back.

Every node runs in a session of its own (OwnSessions says why). The nodes'
CPU time over the rounds is reported per block: on a machine with few cores
the whole network's work for one block, not the relay path, sets the pace of
the larger network."""
import datetime
import json
import math
import os
import random
import re
import socket
import time

import benchlib
import conftest

MAX_PEERS = 4
WARMUP = 1
# (nodes, rounds counted, p99 target in seconds): the larger network gets
# fewer rounds to keep the module near two minutes; with 40 or 30 rounds
# the p99 (nearest rank) is the slowest round either way
NETWORKS = ((32, 40, 1.0), (128, 30, 0.25))
ROUND_LIMIT_S = 10
GOSSIP_S = 10
BACKOFF_S = GOSSIP_S / 4  # http_peering.c: a failed peer's first back-off
STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) "
ACCEPTED = re.compile(STAMP + r".*(?:block ([0-9a-f]{64}) from \S+: Block accepted|"
                      r"fetched block ([0-9a-f]{64}) from)", re.M)
HELD = re.compile(STAMP + r".*block ([0-9a-f]{64}) from \S+: Block held until its parent", re.M)
SYNCED = re.compile(STAMP + r".*sync with \S+: \d+ new blocks in .*, height (\d+)$", re.M)


def epoch(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


class LogWatch:
    """Reads what a node's log gained since the last look."""

    def __init__(self, node):
        self.node = node
        self.offset = 0
        self.accepted = {}  # block hash -> time (epoch seconds) of its log line
        self.held = {}      # block hash -> time it came before its parent
        self.synced = []    # (time, height reached) of each sync round that brought blocks

    def poll(self):
        with open(self.node.log_path, errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        text = text[:text.rfind("\n") + 1]  # leave a half-written line for next time
        self.offset += len(text.encode())
        for stamp, relayed, fetched in ACCEPTED.findall(text):
            self.accepted.setdefault(relayed or fetched, epoch(stamp))
        for stamp, block_hash in HELD.findall(text):
            self.held.setdefault(block_hash, epoch(stamp))
        self.synced += [(epoch(stamp), int(h)) for stamp, h in SYNCED.findall(text)]

    def arrival(self, blocks, r):
        """When the node had blocks[r] (height r + 1), or None. A block held
        for its parent joins the chain, without a line of its own, as soon
        as the parent does: only after a round that missed this node."""
        block = blocks[r]
        times = [t for t, h in self.synced if h >= r + 1]
        if block.hash in self.accepted:
            times.append(self.accepted[block.hash])
        elif block.hash in self.held and r > 0:
            parent = self.arrival(blocks, r - 1)
            if parent is not None:
                times.append(max(parent, self.held[block.hash]))
        return min(times) if times else None

    def by_sync(self, blocks, r):
        """True when a sync round brought the block before any relay."""
        relayed = self.accepted.get(blocks[r].hash)
        return relayed is None or self.arrival(blocks, r) < relayed


def offsets(n):
    """1, b, b^2, b^3: the same shape at every size, and for 32 nodes the
    1, 2, 4, 8 of the earliest runs, so their figures compare."""
    b = round(n ** 0.25)
    return tuple(b ** k for k in range(MAX_PEERS))


def listen_ports(n):
    """n ports free now, below the kernel's ephemeral range: the nodes'
    own outbound connections take ephemeral ports while later nodes are
    still starting, and one of them holding a port picked there (as
    benchlib.free_port picks) keeps that node from listening."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports = []
    candidates = list(range(10000, low))
    random.shuffle(candidates)  # two runs at once rarely pick the same
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == n:
            return ports
    raise RuntimeError(f"fewer than {n} free ports below {low}")


class OwnSessions:
    """The harness's ctx, but every process it spawns leads a session of
    its own. With the kernel's autogroup scheduling (on by default) the CPU
    is shared fairly between sessions, not processes: nodes all in the
    harness's session would share one program's slice of a machine doing
    other work, while each node is a program of its own."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def spawn(self, args, **kw):
        return self._ctx.spawn(args, start_new_session=True, **kw)


def start_network(ctx, n):
    ports = listen_ports(n)
    nodes = []
    for i in range(n):
        peers = [f"127.0.0.1:{ports[(i + d) % n]}" for d in offsets(n)]
        node = benchlib.Node(OwnSessions(ctx), f"n{n}-node{i:03d}",
                             ["--mine-on-start", "no", "--max-peers", str(MAX_PEERS),
                              "--gossip-interval", str(GOSSIP_S)],
                             peers=peers, port=ports[i], log_level="info")
        datadir = os.path.join(node.dir, "data")
        os.makedirs(datadir, exist_ok=True)
        with open(os.path.join(datadir, f"peers-{ports[i]}.json"), "w") as f:
            json.dump({"peers": peers}, f)
        nodes.append(node.start(wait=False))
    return nodes


def peer_graph(nodes):
    index = {n.address: i for i, n in enumerate(nodes)}
    return [[index[p] for p in benchlib.get_json(n.port, "/getpeers")["peers"] if p in index]
            for n in nodes]


def hops_from(graph, origin):
    """Relay hops from origin to each node (None: unreachable)."""
    hops = [None] * len(graph)
    hops[origin] = 0
    frontier = [origin]
    while frontier:
        nxt = []
        for i in frontier:
            for j in graph[i]:
                if hops[j] is None:
                    hops[j] = hops[i] + 1
                    nxt.append(j)
        frontier = nxt
    return hops


def settled_graph(ctx, nodes):
    """Waits until every node lists MAX_PEERS peers and the graph lets a
    block reach everyone from everywhere (relays go to listed peers)."""
    state = {}

    def settled():
        graph = peer_graph(nodes)
        state["graph"] = graph
        if any(len(g) < MAX_PEERS for g in graph):
            return False
        return all(None not in hops_from(graph, o) for o in range(len(graph)))

    try:
        benchlib.wait_until(settled, "the peer lists to settle", timeout=60, interval=0.5)
    except RuntimeError:
        degrees = [len(g) for g in state.get("graph", [])]
        raise RuntimeError(f"the network did not settle: peers per node {degrees}")
    return state["graph"]


def one_round(nodes, watches, blocks, r, origin):
    block = blocks[r]
    t0 = time.time()
    benchlib.post_json(nodes[origin].port, "/block", block.text)
    deadline = time.monotonic() + ROUND_LIMIT_S
    # the times come from the logs: polling less often only ends the round
    # later, and leaves the cores to the nodes
    interval = 0.01 * len(nodes) / 32
    while True:
        arrivals = {}
        for i, w in enumerate(watches):
            if w.arrival(blocks, r) is None:
                w.poll()
            arrivals[i] = w.arrival(blocks, r)
        missing = [i for i, t in arrivals.items() if t is None]
        if not missing:
            return max(arrivals.values()) - t0, []
        if time.monotonic() > deadline:
            return None, missing
        time.sleep(interval)


def cpu_snapshot(nodes):
    """CPU seconds so far: the nodes', this script's, and every core's busy
    time from /proc/stat (niced work included)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    own = os.times()
    return {"nodes": sum(benchlib.cpu_seconds(node.proc.pid) for node in nodes),
            "self": own.user + own.system, "busy": busy / benchlib.CLK_TCK,
            "wall": time.monotonic()}


def cpu_used(a, b):
    used = {k: b[k] - a[k] for k in a}
    used["others"] = max(0.0, used["busy"] - used["nodes"] - used["self"])
    return used


def percentile(values, p):
    """Nearest rank: the smallest value with at least p % of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(ctx, n, rounds, blocks):
    """One network of n nodes, blocks[:WARMUP + rounds] posted one per round."""
    ctx.log(f"starting {n} nodes")
    nodes = start_network(ctx, n)
    try:
        for node in nodes:
            node.wait_ready()
        ready = time.monotonic()
        graph = settled_graph(ctx, nodes)
        depth = max(max(hops_from(graph, o)) for o in range(n))
        ctx.log(f"{n} nodes settled: longest relay path {depth} hops")
        # a node that started before its peers listened failed its first
        # exchange with them, and sends them nothing for this long
        time.sleep(max(0.0, ready + BACKOFF_S + 0.5 - time.monotonic()))
        watches = [LogWatch(node) for node in nodes]
        times, failures, synced = [], [], 0
        for r in range(WARMUP + rounds):
            if r == WARMUP:
                before = cpu_snapshot(nodes)
            origin = (7 * r) % n
            seconds, missing = one_round(nodes, watches, blocks, r, origin)
            if seconds is None:
                failures.append(f"block {r + 1} from node {origin}: missing on nodes {missing}")
                ctx.log(failures[-1])
            elif r >= WARMUP:
                times.append(seconds)
                synced += sum(w.by_sync(blocks, r) for w in watches)
            time.sleep(0.2)  # let the redundant relays of this block finish
        cpu = cpu_used(before, cpu_snapshot(nodes))
        heights = {node.height() for node in nodes}
    finally:
        for node in nodes:  # all at once: one after the other takes a while
            if node.proc.poll() is None:
                node.proc.terminate()
        for node in nodes:
            node.stop()
    if failures and not times:
        raise RuntimeError(f"{n} nodes: " + "; ".join(failures[:3]))
    ctx.log(f"{n} nodes: p50 {percentile(times, 50) * 1000:.0f} ms, "
            f"slowest {max(times) * 1000:.0f} ms")
    return {"n": n, "graph": graph, "depth": depth, "times": times, "failures": failures,
            "synced": synced, "heights": heights, "cpu": cpu, "rounds": rounds}


def p99_note(times):
    rank = max(1, math.ceil(0.99 * len(times)))
    if rank == len(times):
        return "the slowest round (nearest rank)"
    return f"round {rank} of {len(times)} by time (nearest rank)"


def rows_and_section(res, target_s, cores):
    n, times, failures = res["n"], res["times"], res["failures"]
    p50, p99 = percentile(times, 50), percentile(times, 99)
    if failures:
        p99 = math.inf
    note = (f"{len(times)} rounds; {n} nodes, {MAX_PEERS} peers each, relay paths up to "
            f"{res['depth']} hops")
    rows = [
        {"figure": f"block propagation to all {n} nodes, p50", "value": p50 * 1000,
         "unit": "ms", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": "none: the figure itself", "met": True, "note": note},
        {"figure": f"block propagation to all {n} nodes, p99", "value": p99 * 1000,
         "unit": "ms", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": f"< {target_s * 1000:.0f} ms", "met": p99 < target_s,
         "note": "; ".join(failures[:3]) or p99_note(times)},
    ]
    degree_in = [sum(i in g for g in res["graph"]) for i in range(n)]
    cpu = res["cpu"]
    per_block = cpu["nodes"] / res["rounds"]
    text = (f"- {n} nodes, node i listing nodes i+{', i+'.join(map(str, offsets(n)))} "
            f"(mod {n}) (listed by others: {min(degree_in)} to {max(degree_in)}); the longest "
            f"relay path from any origin is {res['depth']} hops. {len(times)} blocks (2 payments "
            f"and the reward each) after {WARMUP} warm-up, each posted to a different node: "
            f"p50 {p50 * 1000:.0f} ms, p90 {percentile(times, 90) * 1000:.0f} ms, "
            f"p99 {percentile(times, 99) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms, "
            f"fastest {min(times) * 1000:.0f} ms. {res['synced']} of {len(times) * n} arrivals "
            f"came by a sync round rather than a relay. Final heights: "
            f"{sorted(res['heights'])}. The nodes used {per_block * 1000:.0f} ms of CPU per "
            f"block in all ({per_block / n * 1000:.2f} ms each), {per_block / cores * 1000:.0f} "
            f"ms when spread evenly over {cores} cores; over the rounds they kept "
            f"{cpu['nodes'] / cpu['wall']:.2f} cores busy, this script "
            f"{cpu['self'] / cpu['wall']:.2f}, other processes on the machine "
            f"{cpu['others'] / cpu['wall']:.2f}.")
    return rows, text


def run(ctx):
    most = max(WARMUP + rounds for _, rounds, _ in NETWORKS)
    ctx.log(f"mining {most} blocks")
    key = conftest.Key()
    blocks = benchlib.chain_of_blocks(most, key, payments_per_block=2)
    rows, lines = [], []
    for n, rounds, target_s in NETWORKS:
        res = measure(ctx, n, rounds, blocks)
        r, text = rows_and_section(res, target_s, ctx.cores)
        rows += r
        lines.append(text)
    section = "\n".join(["### Block propagation", "", *lines])
    return {"rows": rows, "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
