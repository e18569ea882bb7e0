"""Memory: the node's resident set with a 100,000-block chain, serving.

The node starts on a copy of a data directory holding the first 100,000
blocks of the big chain (chains.py), then serves, one after the other: the
whole chain as GET /getblocks (read by a client as it streams), 1,000
GET /getdata of blocks spread over the chain, and 1,000 balance look-ups
(GET /api/balance) of the keys the rewards went to. VmHWM (the peak) and
VmRSS (now) come from /proc/<pid>/status after start-up and after all of it.
Target: both under 64 MB."""
import http.client
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import chains  # noqa: E402

HEIGHT = 100_000
LOOKUPS = 1000
LIMIT_MB = 64


def stream_getblocks(port):
    """GET /getblocks read in 64 KiB pieces as they come: (bytes, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    try:
        conn.request("GET", "/getblocks")
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"GET /getblocks: {resp.status}")
        total = 0
        while piece := resp.read(65536):
            total += len(piece)
    finally:
        conn.close()
    return total, time.monotonic() - started


def write_paths(ctx, name, paths):
    path = os.path.join(ctx.work, name)
    with open(path, "w") as f:
        f.write("\n".join(paths) + "\n")
    return path


def mb(kib):
    return kib / 1024


def run(ctx):
    c = chains.chain(ctx, chains.BIG)
    # All the sizes the scaling benchmark uses: one pass of loading makes them.
    src = chains.datadirs(ctx, c, sorted({*chains.BIG_HEIGHTS, HEIGHT}))[HEIGHT]
    rng = random.Random(1)
    hashes = c.hashes(HEIGHT)
    getdata = write_paths(ctx, "getdata.txt",
                          [f"/getdata?id={rng.choice(hashes)}" for _ in range(LOOKUPS)])
    keys = [k["pub"] for k in c.keys()]
    balance = write_paths(ctx, "balance.txt",
                          [f"/api/balance?key={rng.choice(keys)}" for _ in range(LOOKUPS)])

    node, _ = chains.node_on(ctx, "node", src)
    pid = node.proc.pid
    try:
        at_start = benchlib.memory_kib(pid)
        ctx.log("GET /getblocks, the whole chain")
        size, seconds = stream_getblocks(node.port)
        after_getblocks = benchlib.memory_kib(pid)
        ctx.log(f"{LOOKUPS} GET /getdata and {LOOKUPS} balance look-ups")
        gd = chains.post_lines(ctx, node.port, "", getdata, '"nr"', method="GET")
        bl = chains.post_lines(ctx, node.port, "", balance, '"balance"', method="GET")
        if gd["ok"] != LOOKUPS or bl["ok"] != LOOKUPS:
            raise RuntimeError(f"look-ups failed: {gd['first_failure']} {bl['first_failure']}")
        end = benchlib.memory_kib(pid)
    finally:
        node.stop()

    peak, now = mb(end["VmHWM"]), mb(end["VmRSS"])
    rows = [
        {"figure": f"node peak RSS (VmHWM), {HEIGHT:,} blocks, after serving",
         "value": peak, "unit": "MB", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": f"< {LIMIT_MB} MB", "met": peak < LIMIT_MB,
         "note": f"{mb(at_start['VmHWM']):.1f} MB after start-up; "
                 f"{mb(after_getblocks['VmHWM']):.1f} MB after the full /getblocks"},
        {"figure": f"node RSS (VmRSS), {HEIGHT:,} blocks, after serving",
         "value": now, "unit": "MB", "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": f"< {LIMIT_MB} MB", "met": now < LIMIT_MB,
         "note": f"{mb(at_start['VmRSS']):.1f} MB after start-up"},
    ]
    section = "\n".join([
        f"### Memory with a {HEIGHT:,}-block chain",
        "",
        f"- chain: the first {HEIGHT:,} blocks of {c.describe()}",
        f"- method: a node on a copy of a data directory holding them serves, one after the "
        f"other, the whole chain as GET /getblocks (a client reads it in 64 KiB pieces as it "
        f"comes), {LOOKUPS} GET /getdata of blocks at random heights and {LOOKUPS} "
        f"GET /api/balance of reward keys; VmRSS and VmHWM from /proc/<pid>/status",
        "",
        "| moment | VmRSS | VmHWM (peak so far) |",
        "|---|---|---|",
        f"| after start-up | {mb(at_start['VmRSS']):.1f} MB | {mb(at_start['VmHWM']):.1f} MB |",
        f"| after GET /getblocks ({size / 1e6:.1f} MB in {seconds:.2f} s) | "
        f"{mb(after_getblocks['VmRSS']):.1f} MB | {mb(after_getblocks['VmHWM']):.1f} MB |",
        f"| after {LOOKUPS} /getdata and {LOOKUPS} /api/balance | {now:.1f} MB | {peak:.1f} MB |",
    ])
    return {"rows": rows, "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
