"""Block ("cheese") propagation across a 32-node cheese network on loopback:
the time from announcing a new block to one node until every node has
stored it; p50 and p99 over the rounds.

The network: one cheese-tracker and 32 `cheesed --network cheese` nodes with
default settings but --tracker-interval 0.5. The tracker answers each request
for peers with at most 10 others drawn at random; a node keeps every peer it
has been listed (up to --max-peers, 128) and relays a new block to every one
of them but the peer that sent it. So the relay graph grows with each poll
until every node relays to the 31 others; the short interval only gets there
within seconds instead of minutes. The tables are read back from /api/peers,
and the rounds start once every node lists all the others.

Blocks hold only the reward, so there is no signature to check (the proof of
work, a SHA-256 starting "00", takes a few hundred tries: PROTOCOL.md B.3),
and are mined here beforehand. Round r announces block r to node 7r mod 32
the way a peer does, over a fresh connection, but with a line end after
`BRCHEESE{...}`: without one the node waits 0.1 s of silence for an optional
`;PEER_ID` before it takes the block. A node has the block at the first line
of its log (--log-level info, millisecond times) that shows it: "block N
SMELL stored as the new tip", or "caught up with PEER: height A -> B" with
B >= N (a chain it fetched). The round's time is the last node's line minus
the time just before the block was sent.

Outbound links close after 5 s with nothing to send, and a new link waits
for the peer's greeting, which a node sends after 0.15 s of silence from the
connecting side. Rounds 0.2 s apart keep every link open (the two warm-up
rounds open them): the rows. A few rounds after 6 s of quiet show the same
network when every link has to be opened again (the section)."""
import hashlib
import json
import os
import re
import socket
import subprocess
import time

import benchlib
import bench_propagation as http_prop  # ports, percentiles, log times, CPU

NODES = 32
ROUNDS = 40
# the first round opens every link but those into its origin (nobody
# relays a block back to the node that sent it); the second opens those
WARMUP = 2
COLD_ROUNDS = 4
COLD_QUIET_S = 6.0  # past LINK_IDLE_S (5 s, cheese_node.c): every outbound link closed
TRACKER_INTERVAL_S = 0.5
TARGET_P99_S = 1.0
ROUND_LIMIT_S = 10
GAP_S = 0.2
GENESIS_SMELL = "589aabe32e398b6b8e3eab39ebdd3976b657dbdf8562251af0b04d2c6d1d6e0c"
REWARD_SENDER = "CHEESECHAIN REWARD SYSTEM"
REWARD_SIGNATURE = "rewardtransactionsignature"
STAMP = http_prop.STAMP
STORED = re.compile(STAMP + r".*block (\d+) ([0-9a-f]{64}) stored as the new tip", re.M)
CAUGHT_UP = re.compile(STAMP + r".*caught up with \S+: height \d+ -> (\d+)$", re.M)


# ---- blocks (PROTOCOL.md B.2, B.3) ---------------------------------------------------------

def smell(block):
    reduced = dict(block, transactions=[
        {"amount": t["amount"], "recipient": t["recipient"], "sender": t["sender"]}
        for t in block["transactions"]])
    return hashlib.sha256(json.dumps(reduced, sort_keys=True).encode()).hexdigest()


def mine(height, parent, miner_key):
    """A block holding only the reward: its work text is "[]" + parent +
    nonce (the reward is left out of it)."""
    block = {"sequence_number": height, "parent_smell": parent,
             "transactions": [{"sender": REWARD_SENDER, "recipient": miner_key, "amount": 10,
                               "signature": REWARD_SIGNATURE}],
             "nonce": 0, "timestamp": time.time()}
    while not hashlib.sha256(f"[]{parent}{block['nonce']}".encode()).hexdigest().startswith("00"):
        block["nonce"] += 1
    return block


def chain_of_blocks(n, miner_key):
    blocks, parent = [], GENESIS_SMELL
    for height in range(1, n + 1):
        block = mine(height, parent, miner_key)
        parent = smell(block)
        blocks.append({"text": json.dumps(block), "smell": parent, "height": height})
    return blocks


def announce(port, block, line_end=True):
    """Sends BRCHEESE as a peer that speaks first (so it is not greeted)
    and waits for the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"BRCHEESE" + block["text"].encode() + (b"\n" if line_end else b""))
        answer = b""
        while not answer.endswith(b"BRCHEESEACK") and not answer.startswith(b"REFUSED"):
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    if not answer.endswith(b"BRCHEESEACK"):
        raise RuntimeError(f"block {block['height']} to port {port}: {answer[:200]!r}")


# ---- processes -----------------------------------------------------------------------------

class Tracker:
    def __init__(self, ctx, port):
        self.ctx = ctx
        self.port = port
        self.log_path = os.path.join(ctx.work, "tracker.log")
        self.proc = None

    def start(self):
        args = [os.path.join(self.ctx.build, "cheese-tracker"), "--host", "127.0.0.1",
                "--port", str(self.port), "--log-level", "warn"]
        with open(self.log_path, "ab") as log:
            self.proc = self.ctx.spawn(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=log, start_new_session=True)
        benchlib.wait_until(self.greets, f"cheese-tracker on {self.port}", timeout=30)
        return self

    def greets(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"cheese-tracker exited with {self.proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                return s.recv(100) == b"Connection Successful"
        except OSError:
            return False


class CheeseNode:
    """A cheesed --network cheese process with its own directory."""

    def __init__(self, ctx, name, port, api_port, tracker_port):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.api_port = api_port
        self.log_path = os.path.join(self.dir, "node.log")
        # no mining of its own: --n-transactions out of reach, and nothing
        # asks /api/mine
        self.args = [os.path.join(ctx.build, "cheesed"), "--network", "cheese",
                     "--host", "127.0.0.1", "--port", str(port), "--api-port", str(api_port),
                     "--tracker", f"127.0.0.1:{tracker_port}",
                     "--datadir", os.path.join(self.dir, "data"),
                     "--tracker-interval", str(TRACKER_INTERVAL_S), "--n-transactions", "255",
                     "--miner-threads", "1", "--log-level", "info"]
        self.proc = None
        self.pub = None

    def start(self):
        with open(self.log_path, "ab") as log:
            # cwd = its own directory: nothing of the tree is picked up; a
            # session of its own: http_prop.OwnSessions says why
            self.proc = self.ctx.spawn(self.args, cwd=self.dir, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=log,
                                       start_new_session=True)
        return self

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def info(self):
        return benchlib.get_json(self.api_port, "/api/info")

    def joined(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"cheesed on {self.port} exited with {self.proc.returncode}: "
                               f"{self.log()[-2000:]}")
        try:
            return self.info()["sync"]["tracker"]["state"] == "joined"
        except (OSError, RuntimeError, ValueError):
            return False

    def wait_joined(self, timeout=60):
        benchlib.wait_until(self.joined, f"cheesed on {self.port} to join", timeout, 0.05)
        self.pub = next(line.split("public key: ", 1)[1].split()[0]
                        for line in self.log().splitlines() if "public key: " in line)

    def peer_ports(self):
        return [int(p["port"]) for p in benchlib.get_json(self.api_port, "/api/peers")["peers"]]


# ---- the network ---------------------------------------------------------------------------

class LogWatch:
    """Reads what a node's log gained since the last look."""

    def __init__(self, node):
        self.node = node
        self.offset = 0
        self.stored = {}   # smell -> time (epoch seconds) of its log line
        self.caught = []   # (time, height reached) of each chain fetched that moved the tip

    def poll(self):
        with open(self.node.log_path, errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        text = text[:text.rfind("\n") + 1]  # leave a half-written line for next time
        self.offset += len(text.encode())
        for stamp, _height, block_smell in STORED.findall(text):
            self.stored.setdefault(block_smell, http_prop.epoch(stamp))
        self.caught += [(http_prop.epoch(stamp), int(h)) for stamp, h in CAUGHT_UP.findall(text)]

    def arrival(self, block):
        times = [t for t, h in self.caught if h >= block["height"]]
        if block["smell"] in self.stored:
            times.append(self.stored[block["smell"]])
        return min(times) if times else None

    def by_fetch(self, block):
        """True when a fetched chain brought the block before any relay."""
        relayed = self.stored.get(block["smell"])
        return relayed is None or self.arrival(block) < relayed


def relay_graph(nodes):
    index = {n.port: i for i, n in enumerate(nodes)}
    return [[index[p] for p in n.peer_ports() if p in index] for n in nodes]


def full_graph(nodes):
    """Waits until every node lists every other: its relays then reach all
    of them at once. Returns the graph, how long that took, and when (and
    with what longest relay path) the graph first reached every node from
    every node."""
    began = time.monotonic()
    state = {"connected": None}

    def full():
        graph = relay_graph(nodes)
        state["graph"] = graph
        if state["connected"] is None:
            hops = [http_prop.hops_from(graph, o) for o in range(len(graph))]
            if all(None not in h for h in hops):
                state["connected"] = (time.monotonic() - began, max(max(h) for h in hops))
        return all(len(set(g)) == len(nodes) - 1 for g in graph)

    try:
        benchlib.wait_until(full, "every node to list every other", timeout=90, interval=0.25)
    except RuntimeError:
        degrees = sorted(len(set(g)) for g in state.get("graph", []))
        raise RuntimeError(f"the peer tables did not fill: peers per node {degrees}")
    return state["graph"], time.monotonic() - began, state["connected"]


def one_round(nodes, watches, block, origin):
    t0 = time.time()
    announce(nodes[origin].port, block)
    deadline = time.monotonic() + ROUND_LIMIT_S
    while True:
        arrivals = {}
        for i, w in enumerate(watches):
            if w.arrival(block) is None:
                w.poll()
            arrivals[i] = w.arrival(block)
        missing = [i for i, t in arrivals.items() if t is None]
        if not missing:
            at_origin = arrivals[origin]
            # what one relay hop took: from the origin's line to the others'
            hop = sorted(t - at_origin for i, t in arrivals.items() if i != origin)
            return max(arrivals.values()) - t0, (at_origin - t0, hop[len(hop) // 2]), []
        if time.monotonic() > deadline:
            return None, None, missing
        time.sleep(0.01)


def run_rounds(ctx, nodes, watches, blocks, first, count, quiet_s, origin_step=7):
    """Rounds first .. first+count-1, each after quiet_s of quiet."""
    out = {"times": [], "at_origin": [], "hop": [], "failures": [], "fetched": 0}
    for r in range(first, first + count):
        time.sleep(quiet_s)
        origin = (origin_step * r) % len(nodes)
        seconds, parts, missing = one_round(nodes, watches, blocks[r], origin)
        if seconds is None:
            out["failures"].append(f"block {r + 1} from node {origin}: missing on nodes "
                                   f"{missing}")
            ctx.log(out["failures"][-1])
            continue
        out["times"].append(seconds)
        out["at_origin"].append(parts[0])
        out["hop"].append(parts[1])
        out["fetched"] += sum(w.by_fetch(blocks[r]) for w in watches)
    return out


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def run(ctx):
    ports = http_prop.listen_ports(2 * NODES + 1)
    tracker = Tracker(ctx, ports[-1]).start()
    ctx.log(f"starting {NODES} cheese nodes")
    nodes = [CheeseNode(ctx, f"node{i:02d}", ports[2 * i], ports[2 * i + 1], tracker.port).start()
             for i in range(NODES)]
    try:
        for n in nodes:
            n.wait_joined()
        graph, fill_s, (connected_s, connected_depth) = full_graph(nodes)
        ctx.log(f"every node lists the {NODES - 1} others after {fill_s:.1f} s")
        hops = [http_prop.hops_from(graph, o) for o in range(NODES)]
        if any(None in h for h in hops):
            raise RuntimeError("the relay graph does not reach every node")
        depth = max(max(h) for h in hops)
        total = WARMUP + ROUNDS + COLD_ROUNDS
        blocks = chain_of_blocks(total, nodes[0].pub)
        watches = [LogWatch(n) for n in nodes]
        warmup = run_rounds(ctx, nodes, watches, blocks, 0, WARMUP, GAP_S)
        before = http_prop.cpu_snapshot(nodes)
        warm = run_rounds(ctx, nodes, watches, blocks, WARMUP, ROUNDS, GAP_S)
        cpu = http_prop.cpu_used(before, http_prop.cpu_snapshot(nodes))
        if warm["times"]:
            ctx.log(f"warm links: p50 {ms(http_prop.percentile(warm['times'], 50))}, "
                    f"slowest {ms(max(warm['times']))}")
        cold = run_rounds(ctx, nodes, watches, blocks, WARMUP + ROUNDS, COLD_ROUNDS,
                          COLD_QUIET_S)
        if cold["times"]:
            ctx.log(f"cold links: p50 {ms(http_prop.percentile(cold['times'], 50))}")
        heights = {n.info()["height"] for n in nodes}
        peers = sorted(n.info()["peers"] for n in nodes)
    finally:
        for n in nodes:  # all at once: one after the other takes a while
            if n.proc.poll() is None:
                n.proc.terminate()
        for n in nodes:
            benchlib.stop(n.proc)
        benchlib.stop(tracker.proc)

    times, failures = warm["times"], warmup["failures"] + warm["failures"]
    if not times:
        raise RuntimeError("; ".join(failures[:3]) or "no round finished")
    p50, p99 = http_prop.percentile(times, 50), http_prop.percentile(times, 99)
    if failures:
        p99 = float("inf")
    rows = [
        {"figure": f"cheese block propagation to all {NODES} nodes, p50", "value": p50 * 1000,
         "unit": "ms", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": "none: the figure itself", "met": True,
         "note": f"{len(times)} rounds; {NODES} nodes, each relaying to the {NODES - 1} others"},
        {"figure": f"cheese block propagation to all {NODES} nodes, p99", "value": p99 * 1000,
         "unit": "ms", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": f"< {TARGET_P99_S * 1000:.0f} ms", "met": p99 < TARGET_P99_S,
         "note": "; ".join(failures[:3]) or http_prop.p99_note(times)},
    ]
    per_block = cpu["nodes"] / ROUNDS
    lines = [
        "### Cheese block propagation",
        "",
        f"- network: a cheese-tracker and {NODES} nodes (`--tracker-interval "
        f"{TRACKER_INTERVAL_S:g}`, otherwise defaults), each in a session of its own. A node "
        f"asks the tracker for peers when it joins and then every {TRACKER_INTERVAL_S:g} s; "
        f"each answer lists at most 10 of the others, drawn at random (the first to join get "
        f"fewer: the tracker lists only those already there). A node keeps every peer ever "
        f"listed to it (up to `--max-peers`, 128) and relays a new block to all of them but "
        f"the one it came from, so the relay graph only grows. At the first look, "
        f"{connected_s:.1f} s after the last node joined, it already reached every node from "
        f"every node (longest relay path {connected_depth} hops); {fill_s:.1f} s after the "
        f"last join every node listed all {NODES - 1} others (longest relay path {depth} "
        f"hop{'s' if depth != 1 else ''}), and the rounds began. Peers per node at the end: "
        f"{peers[0]} to {peers[-1]}.",
        f"- {len(times)} blocks (the reward only) after {WARMUP} warm-up, {GAP_S:g} s apart, "
        f"each announced to a different node with `BRCHEESE{{...}}` and a line end: "
        f"p50 {ms(p50)}, p90 {ms(http_prop.percentile(times, 90))}, p99 "
        f"{ms(http_prop.percentile(times, 99))}, slowest {ms(max(times))}, fastest "
        f"{ms(min(times))}. The node announced to stored the block "
        f"{ms(http_prop.percentile(warm['at_origin'], 50))} after it was sent (p50), and the "
        f"median node {ms(http_prop.percentile(warm['hop'], 50))} after that (p50 over the "
        f"rounds): a node waits for 0.1 s of silence after a peer's `BRCHEESE{{...}};PEER_ID`, "
        f"which has no line end, before it takes the block. {warm['fetched']} of "
        f"{len(times) * NODES} arrivals came in a fetched chain rather than a relay.",
        f"- the nodes used {per_block * 1000:.0f} ms of CPU per block in all "
        f"({per_block / NODES * 1000:.2f} ms each), {per_block / ctx.cores * 1000:.0f} ms when "
        f"spread evenly over {ctx.cores} cores; over the rounds the nodes kept "
        f"{cpu['nodes'] / cpu['wall']:.2f} cores busy, other processes on the machine "
        f"{cpu['others'] / cpu['wall']:.2f}.",
    ]
    if cold["times"]:
        lines.append(
            f"- after {COLD_QUIET_S:g} s of quiet, when every outbound link has closed "
            f"(5 s idle) and must be opened again: {len(cold['times'])} blocks, p50 "
            f"{ms(http_prop.percentile(cold['times'], 50))}, slowest {ms(max(cold['times']))}; "
            f"the median node {ms(http_prop.percentile(cold['hop'], 50))} after the node "
            f"announced to (p50): a new link waits for the peer's greeting, which the peer sends "
            f"after 0.15 s of silence and which has no line end either (0.1 s more), before the "
            f"block's own 0.1 s"
            + (f"; {'; '.join(cold['failures'])}" if cold["failures"] else "") + ".")
    lines.append(f"- final heights: {sorted(heights)}.")
    return {"rows": rows, "sections": ["\n".join(lines)]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
