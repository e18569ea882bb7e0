"""Scaling: what a request or a block costs the node at 1,000, 10,000 and
100,000 blocks (prefixes of one chain, chains.py). A node's work per
request should not grow with its chain; the table shows whether it does.

At each size a node starts on a copy of a data directory holding that many
blocks, and cheese-bench-inv sends on one keep-alive connection, one request
at a time (so a round trip is the cost of one request; the median is
kept, which other load on the machine disturbs less than the mean): balance
look-ups (GET /api/balance) of reward keys, GET /getdata of blocks spread
over the chain, GET /getblocks?id= of the block 10 below the tip (11 blocks
back), and then, as block acceptance, POST /block of the next 100 blocks of
the chain, each a new tip. The full GET /getblocks is timed as a client
reads it, with the node's peak RSS (VmHWM) before and after it. Each GET
measurement is made 3 times and the best kept (the lowest median, the
fastest whole /getblocks): other load on the machine only ever adds.

Main-table rows compare each cost at 100,000 blocks with the same at 1,000;
the target (at most twice) is what "flat" means here."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import bench_memory  # noqa: E402
import chains  # noqa: E402

SIZES = chains.BIG_HEIGHTS
REQUESTS = 2000
NEAR_TIP = 10
NEW_BLOCKS = 100
REPEATS = 3  # other load on the machine only ever adds: the best of 3 counts
FLAT = 2.0


def measure_size(ctx, c, h, src, hashes, keys):
    rng = random.Random(h)
    files = {
        "balance": bench_memory.write_paths(
            ctx, f"balance-{h}.txt",
            [f"/api/balance?key={rng.choice(keys)}" for _ in range(REQUESTS)]),
        "getdata": bench_memory.write_paths(
            ctx, f"getdata-{h}.txt",
            [f"/getdata?id={rng.choice(hashes[:h])}" for _ in range(REQUESTS)]),
        "near_tip": bench_memory.write_paths(
            ctx, f"near-tip-{h}.txt",
            [f"/getblocks?id={hashes[h - 1 - NEAR_TIP]}"] * (REQUESTS // 4)),
    }
    expect = {"balance": '"balance"', "getdata": '"nr"', "near_tip": '"chain"'}
    node, _ = chains.node_on(ctx, f"node-{h}", src)
    out = {"db_kb_per_block": os.path.getsize(os.path.join(src, "chain.sqlite")) / 1024 / (h + 1)}
    try:
        for name, path in files.items():
            medians = []
            for _ in range(REPEATS):
                r = chains.post_lines(ctx, node.port, "", path, expect[name], method="GET")
                if r["ok"] != r["requests"]:
                    raise RuntimeError(f"{name} at {h}: {r['first_failure']}")
                medians.append(r["p50_us"])
            out[name] = min(medians)
        before = benchlib.memory_kib(node.proc.pid)["VmHWM"]
        size, seconds = min(bench_memory.stream_getblocks(node.port) for _ in range(REPEATS))
        after = benchlib.memory_kib(node.proc.pid)["VmHWM"]
        out["full_ms"] = seconds * 1e3
        out["full_us_per_block"] = seconds / (h + 1) * 1e6
        out["full_mb"] = size / 1e6
        out["hwm_before_mb"] = before / 1024
        out["hwm_after_mb"] = after / 1024
        r = chains.post_lines(ctx, node.port, "/block", c.path, "Block accepted", skip=h,
                              limit=NEW_BLOCKS)
        if r["ok"] != NEW_BLOCKS:
            raise RuntimeError(f"new blocks at {h}: {r['first_failure']}")
        out["accept"] = r["p50_us"]
    finally:
        node.stop()
    return out


OPS = [
    ("balance", "balance look-up (GET /api/balance)", "µs", 1),
    ("getdata", "GET /getdata?id= (random block)", "µs", 1),
    ("near_tip", f"GET /getblocks?id= ({NEAR_TIP} below the tip)", "µs", 1),
    ("accept", "block acceptance (POST /block, new tip)", "ms", 1e-3),
    ("full_us_per_block", "full GET /getblocks, per block", "µs", 1),
    ("full_ms", "full GET /getblocks, whole", "ms", 1),
    ("hwm_after_mb", "node peak RSS after full GET /getblocks", "MB", 1),
    ("db_kb_per_block", "database (chain.sqlite) per block", "KB", 1),
]


def section(c, results):
    head = "| operation | " + " | ".join(f"{h:,} blocks" for h in SIZES) + \
        f" | {SIZES[-1]:,} ÷ {SIZES[0]:,} |"
    lines = ["### Scaling with the chain's length", "",
             f"- chain: prefixes of {c.describe()}",
             f"- {REQUESTS} requests of each kind ({REQUESTS // 4} for /getblocks?id=) on one "
             f"keep-alive connection, one at a time: median round trip on loopback, the lowest "
             f"of {REPEATS} rounds; full /getblocks: the fastest of {REPEATS}; block acceptance: "
             f"the median of {NEW_BLOCKS} new tips posted one after the other",
             "- the reference Python node of seed 003 is not available to run here, so the "
             "table has no column for it",
             "", head, "|---|" + "---|" * (len(SIZES) + 1)]
    for key, label, unit, scale in OPS:
        cells = [f"{results[h][key] * scale:,.2f} {unit}" for h in SIZES]
        growth = results[SIZES[-1]][key] / results[SIZES[0]][key]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {growth:.2f} |")
    not_flat = [label for key, label, _, _ in OPS[:5]
                if results[SIZES[-1]][key] > FLAT * results[SIZES[0]][key]]
    lines += ["", f"Not flat (more than {FLAT:g} times the cost at {SIZES[-1]:,} blocks as at "
              f"{SIZES[0]:,}): "
              + (", ".join(not_flat) if not_flat else "none") + ". The whole /getblocks grows "
              "with the chain by nature; its cost per block should not."]
    return "\n".join(lines)


def run(ctx):
    c = chains.chain(ctx, chains.BIG)
    sources = chains.datadirs(ctx, c, list(SIZES))
    hashes = c.hashes(SIZES[-1])
    keys = [k["pub"] for k in c.keys()]
    results = {}
    for h in SIZES:
        ctx.log(f"costs at {h:,} blocks")
        results[h] = measure_size(ctx, c, h, sources[h], hashes, keys)
    small, big = results[SIZES[0]], results[SIZES[-1]]
    rows = []
    for key, label, unit, scale in OPS[:5]:
        rows.append({
            "figure": f"scaling: {label} at {SIZES[-1]:,} blocks",
            "value": big[key] * scale, "unit": unit,
            "anchor": f"the same at {SIZES[0]:,} blocks",
            "anchor_value": small[key] * scale, "anchor_unit": unit,
            "target": f"<= {FLAT:g} x anchor", "met": big[key] <= FLAT * small[key],
        })
    return {"rows": rows, "sections": [section(c, results)]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
