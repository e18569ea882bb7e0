"""Other clients during deep reorganisations: the worst `GET /api/info`
latency while the best chain flips between two branches that fork at the
genesis, each about 2,000 blocks deep.

A node holds branch A (2,000 blocks of the sync chain's kind: a reward and
2 signed payments each); branch B (2,001 blocks, other keys) is posted to it
block by block: the last one makes B the best chain (the first flip, 2,000
blocks undone and 2,001 applied). Then the branch behind gets two cheap
blocks (a reward only; the first ties, which keeps the best chain, the
second overtakes): each such pair is one more flip of 2,000-odd blocks each
way. Meanwhile one client asks `/api/info` on a keep-alive connection, over
and over; its slowest answer during the flips is the figure. The POST that
causes a flip is answered once the flip is done: its time is the flip's
length, shown beside: from that POST until `/api/info` shows the new tip
(the node answers the POST at once and switches in steps).
"""
import os
import socket
import threading
import time

import benchlib
import chains

BRANCH_A = chains.Spec(blocks=2000, payments=2, reward_keys=16, seed="reorg-a")
BRANCH_B = chains.Spec(blocks=2001, payments=2, reward_keys=16, seed="reorg-b")
FLIPS = 6  # the first (B overtakes) and five more, alternating
TARGET_MS = 50.0


class Prober(threading.Thread):
    """Asks GET /api/info on one keep-alive connection until stopped, and
    keeps each answer's latency with the time it was asked."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []  # (start, seconds)
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        request = f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
                rest = b""
                while not self.stopping.is_set():
                    t0 = time.monotonic()
                    s.sendall(request)
                    head, _, rest = benchlib.read_response(s, rest)
                    self.samples.append((t0, time.monotonic() - t0))
                    if int(head.split()[1]) != 200:
                        raise RuntimeError(f"/api/info answered {head.splitlines()[0]}")
        except Exception as e:  # reported by the module, not lost in the thread
            self.error = e

    def worst_between(self, start, end):
        inside = [s for t, s in self.samples if t + s >= start and t <= end]
        return max(inside) if inside else 0.0, len(inside)


def post_block(port, text):
    t0 = time.monotonic()
    status, _, body = benchlib.request(port, "POST", "/block", text, timeout=120)
    if status != 200:
        raise RuntimeError(f"POST /block: {status} {body[:200]}")
    return t0, time.monotonic()


def tip_of(node):
    return benchlib.get_json(node.port, "/api/info")["tip"]


def flip(node, text, new_tip):
    """Posts the block that makes the other branch the longer one; returns
    (posted, switched): the node may answer before the switch is done
    (it runs in steps), so the switch ends when /api/info shows the tip."""
    t0, _ = post_block(node.port, text)
    benchlib.wait_until(lambda: tip_of(node) == new_tip, "the switch to the other branch",
                        timeout=300, interval=0.005)
    return t0, time.monotonic()


def run(ctx):
    a_chain, b_chain = chains.chain(ctx, BRANCH_A), chains.chain(ctx, BRANCH_B)
    datadir = chains.datadirs(ctx, a_chain, [BRANCH_A.blocks])[BRANCH_A.blocks]
    node, _ = chains.node_on(ctx, "reorg", datadir, args=["--n-transactions", "255"])
    tips = {"a": a_chain.hashes()[-1], "b": b_chain.hashes()[-1]}
    heights = {"a": BRANCH_A.blocks, "b": BRANCH_B.blocks}
    ctx.log(f"posting branch B's first {BRANCH_B.blocks - 1} blocks as a side branch")
    r = chains.post_lines(ctx, node.port, "/block", b_chain.path, None,
                          limit=BRANCH_B.blocks - 1)
    if r["ok"] != BRANCH_B.blocks - 1:
        raise RuntimeError(f"side branch: {r['ok']} blocks accepted; {r['first_failure']}")
    with open(b_chain.path) as f:
        last_of_b = f.readlines()[-1].strip()

    key = benchlib.conftest.Key()
    prober = Prober(node.port)
    prober.start()
    benchlib.wait_until(lambda: len(prober.samples) > 10 or prober.error, "the first answers")
    flips = []  # (posted, answered, worst, samples, depth)
    ctx.log("flip 1: branch B overtakes")
    flips.append(flip(node, last_of_b, tips["b"]))
    behind = "a"
    while len(flips) < FLIPS:
        ctx.log(f"flip {len(flips) + 1}: branch {behind.upper()} overtakes")
        pair = benchlib.chain_of_blocks(2, key, parent=tips[behind],
                                        first_height=heights[behind] + 1)
        post_block(node.port, pair[0].text)  # a tie: the best chain stays
        flips.append(flip(node, pair[1].text, pair[1].hash))
        tips[behind], heights[behind] = pair[1].hash, heights[behind] + 2
        behind = "b" if behind == "a" else "a"
    time.sleep(0.2)  # answers asked during the last flip come back
    prober.stopping.set()
    prober.join(timeout=60)
    if prober.error:
        raise RuntimeError(f"the /api/info client failed: {prober.error}")
    benchlib.stop(node.proc)

    worst, count, flip_s = 0.0, 0, []
    for t0, t1 in flips:
        w, n = prober.worst_between(t0, t1)
        worst, count = max(worst, w), count + n
        flip_s.append(t1 - t0)
    quiet = sorted(s for _, s in prober.samples)
    median_ms = quiet[len(quiet) // 2] * 1000
    worst_ms = worst * 1000
    rows = [{"figure": "worst GET /api/info latency during deep reorganisations",
             "value": worst_ms, "unit": "ms", "anchor": "none", "anchor_value": None,
             "anchor_unit": "", "target": f"< {TARGET_MS:g} ms", "met": worst_ms < TARGET_MS,
             "note": f"{count} answers during {len(flips)} flips of ~2,000 blocks; each flip "
                     f"took {min(flip_s):.2f}-{max(flip_s):.2f} s; median answer "
                     f"{median_ms:.2f} ms"}]
    section = "\n".join([
        "### Deep reorganisations",
        "",
        f"Branch A: {a_chain.describe()}. Branch B: {b_chain.describe()}. Both fork at the "
        f"genesis. {len(flips)} flips of the best chain between them (each undoes and applies "
        "about 2,000 blocks); one client asks `/api/info` on a keep-alive connection "
        f"throughout. Its slowest answer during a flip: {worst_ms:.1f} ms ({count} answers "
        f"during flips; median over the whole run {median_ms:.2f} ms). A flip, from the POST "
        f"that causes it until the new tip shows: {', '.join(f'{s:.2f}' for s in flip_s)} s.",
    ])
    return {"rows": rows, "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
