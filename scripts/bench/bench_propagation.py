"""Block propagation across a 32-node http network on loopback: the time from
posting a new block to one node until every node has accepted it; p50 and
p99 over the rounds.

Node i is given nodes i+1, i+2, i+4 and i+8 (mod 32) as its default peers,
keeps at most 4 peers (--max-peers 4) and starts with those 4 already in its
peer list file (data/peers-PORT.json, as after an earlier run), so the graph
is the same in every run instead of depending on which node answered first.
The lists are read back from /getpeers before the rounds, and the graph must
reach every node from every node. Blocks are mined here beforehand, each with
2 signed payments and the reward (the default --n-transactions); round r
posts block r to node 7r mod 32. A node has a block when its log says so
(milliseconds): "Block accepted" for a relayed one, "fetched block" for a
parent it asked for, or a sync round ending at or above the block's height
(nodes also ask a peer for what follows their tip every few seconds, and may
get the block that way just before the relays arrive). The round's time is
the last node's line minus the time just before the block was posted."""
import datetime
import json
import math
import os
import re
import time

import benchlib
import conftest

NODES = 32
DEFAULT_PEERS = (1, 2, 4, 8)
MAX_PEERS = 4
ROUNDS = 40
WARMUP = 1
ROUND_LIMIT_S = 10
TARGET_P99_S = 1.0
STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) "
ACCEPTED = re.compile(STAMP + r".*(?:block ([0-9a-f]{64}) from \S+: Block accepted|"
                      r"fetched block ([0-9a-f]{64}) from)", re.M)
SYNCED = re.compile(STAMP + r".*sync with \S+: \d+ new blocks in .*, height (\d+)$", re.M)


def epoch(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


class LogWatch:
    """Reads what a node's log gained since the last look."""

    def __init__(self, node):
        self.node = node
        self.offset = 0
        self.accepted = {}  # block hash -> time (epoch seconds) of its log line
        self.synced = []    # (time, height reached) of each sync round that brought blocks

    def poll(self):
        with open(self.node.log_path, errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        text = text[:text.rfind("\n") + 1]  # leave a half-written line for next time
        self.offset += len(text.encode())
        for stamp, relayed, fetched in ACCEPTED.findall(text):
            self.accepted.setdefault(relayed or fetched, epoch(stamp))
        self.synced += [(epoch(stamp), int(h)) for stamp, h in SYNCED.findall(text)]

    def arrival(self, block_hash, height):
        """When the node had the block, or None."""
        times = [t for t, h in self.synced if h >= height]
        if block_hash in self.accepted:
            times.append(self.accepted[block_hash])
        return min(times) if times else None

    def by_sync(self, block_hash, height):
        """True when a sync round brought the block before any relay."""
        relayed = self.accepted.get(block_hash)
        return relayed is None or self.arrival(block_hash, height) < relayed


def start_network(ctx):
    ports = [benchlib.free_port() for _ in range(NODES)]
    nodes = []
    for i in range(NODES):
        peers = [f"127.0.0.1:{ports[(i + d) % NODES]}" for d in DEFAULT_PEERS]
        node = benchlib.Node(ctx, f"node{i:02d}",
                             ["--mine-on-start", "no", "--max-peers", str(MAX_PEERS),
                              "--gossip-interval", "10"],
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


def one_round(nodes, watches, block, height, origin):
    t0 = time.time()
    benchlib.post_json(nodes[origin].port, "/block", block.text)
    deadline = time.monotonic() + ROUND_LIMIT_S
    while True:
        arrivals = {}
        for i, w in enumerate(watches):
            if w.arrival(block.hash, height) is None:
                w.poll()
            arrivals[i] = w.arrival(block.hash, height)
        missing = [i for i, t in arrivals.items() if t is None]
        if not missing:
            return max(arrivals.values()) - t0, []
        if time.monotonic() > deadline:
            return None, missing
        time.sleep(0.01)


def percentile(values, p):
    """Nearest rank: the smallest value with at least p % of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run(ctx):
    ctx.log(f"starting {NODES} nodes")
    nodes = start_network(ctx)
    ctx.log(f"mining {ROUNDS + WARMUP} blocks")
    key = conftest.Key()
    blocks = benchlib.chain_of_blocks(ROUNDS + WARMUP, key, payments_per_block=2)
    for n in nodes:
        n.wait_ready()
    graph = settled_graph(ctx, nodes)
    depth = max(max(hops_from(graph, o)) for o in range(NODES))
    ctx.log(f"network settled: longest relay path {depth} hops")
    watches = [LogWatch(n) for n in nodes]
    times, failures, synced = [], [], 0
    for r, block in enumerate(blocks):
        origin = (7 * r) % NODES
        seconds, missing = one_round(nodes, watches, block, r + 1, origin)
        if seconds is None:
            failures.append(f"block {r + 1} from node {origin}: missing on nodes {missing}")
            ctx.log(failures[-1])
        elif r >= WARMUP:
            times.append(seconds)
            synced += sum(w.by_sync(block.hash, r + 1) for w in watches)
        time.sleep(0.2)  # let the redundant relays of this block finish
    heights = {n.height() for n in nodes}
    for n in nodes:
        n.stop()
    if failures and not times:
        raise RuntimeError("; ".join(failures[:3]))
    p50, p99 = percentile(times, 50), percentile(times, 99)
    if failures:
        p99 = math.inf
    note = (f"{len(times)} rounds; {NODES} nodes, {MAX_PEERS} peers each, relay paths up to "
            f"{depth} hops")
    rows = [
        {"figure": f"block propagation to all {NODES} nodes, p50", "value": p50 * 1000,
         "unit": "ms", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": "none: the figure itself", "met": True, "note": note},
        {"figure": f"block propagation to all {NODES} nodes, p99", "value": p99 * 1000,
         "unit": "ms", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": f"< {TARGET_P99_S * 1000:.0f} ms", "met": p99 < TARGET_P99_S,
         "note": "; ".join(failures[:3]) or "the slowest round (nearest rank)"},
    ]
    degree_in = [sum(i in g for g in graph) for i in range(NODES)]
    section = "\n".join([
        "### Block propagation",
        "",
        f"{NODES} nodes, each listing {MAX_PEERS} peers (listed by others: "
        f"{min(degree_in)} to {max(degree_in)}); the longest relay path from any origin is "
        f"{depth} hops. {len(times)} blocks (2 payments and the reward each) after {WARMUP} "
        f"warm-up, each posted to a different node: p50 {p50 * 1000:.0f} ms, "
        f"p90 {percentile(times, 90) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms, "
        f"fastest {min(times) * 1000:.0f} ms. {synced} of {len(times) * NODES} arrivals came "
        f"by a sync round rather than a relay. Final heights: {sorted(heights)}.",
    ])
    return {"rows": rows, "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
