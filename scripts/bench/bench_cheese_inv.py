"""BRTRANSACTION: signed payments accepted per second by a cheese node.

The node (cheesed --network cheese, joined to a cheese-tracker of its own)
starts on a copy of a data directory holding a 4,096-cheese chain whose
every reward of 10 went to an RSA-1024 key of its own (chains.py), so 4,096
keys hold 10 each. cheese-bench-inv signs, once and before anything is
timed (the file is cached beside the chain), 8 payments of 1.25 from each
key, each to a different one of the 8 keys after it: a cheese payment signs
only sender, recipient and amount, so two payments of the same three would
be one payment twice, which the node refuses as a replay. It then
announces them, BRTRANSACTION{...} in the later spelling as a peer does,
over 32 connections, one announcement under way on each (so that the
node's signature workers have payments to share), each ended by a newline.

Without that newline the node takes a payment as complete only at the next
byte or after 100 ms of silence, because a peer id (":PID...") may follow
the payload; a peer that announces and then waits for the answer, as every
peer does, then gets at most 10 answers a second per connection. The
figure is the node's intake, so the newline goes in; a smaller run without
it shows that wait in the section.

"Accepted" is the node's own count: cheese_transactions_total{result=
"accepted",reason="mempool"} on its /metrics, read before and after (an
acknowledgement alone proves nothing: a payment the node already holds is
acknowledged too). Every payment must be acknowledged and counted, and at
the end the mempool plus the payments of the blocks the node mined
meanwhile (--n-transactions 255: once 255 wait the node mines, and the
proof of work of two zero hex digits takes a moment) must hold them all.
--max-mempool is raised to hold every payment. Two runs, each on a fresh
copy; the better counts.

The anchor is nettle's RSA-1024 verifications per CPU second on one core
(cheese-bench-verify --network cheese, the node's own verifier, in the
same run). A payment costs one verification; the node checks them on one
worker per core, so the target asks for half of one core's rate."""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import chains  # noqa: E402

PER_KEY = 8
CONNECTIONS = 32
RUNS = 2
VERIFY_SECONDS = 2
TARGET = 0.5
N_TRANSACTIONS = 255
NODE_ARGS = ["--n-transactions", str(N_TRANSACTIONS), "--max-mempool", "1000000"]
# Payments announced without a line end: each waits 100 ms at the node.
BARE_SAMPLE = 1024
ACCEPTED_RE = re.compile(
    r'^cheese_transactions_total\{result="accepted",reason="mempool"\} (\d+)$', re.M)


def sign(ctx, c):
    """The signed payments, one per line, made once per chain: (path, stats)."""
    path = os.path.join(c.dir, f"payments-k{PER_KEY}.jsonl")
    stats_path = path + ".json"
    if os.path.exists(stats_path):
        with open(stats_path) as f:
            return path, json.load(f)
    ctx.log(f"signing {PER_KEY} payments from each of {len(c.keys()):,} keys (once)")
    with chains.unclocked():
        out = subprocess.run([chains.tool(ctx, "inv"), "sign", "--network", "cheese",
                              "--keys", c.keys_path, "--per-key", str(PER_KEY), "--out", path],
                             capture_output=True, text=True, check=True).stdout
    stats = json.loads(out)
    with open(stats_path + ".tmp", "w") as f:
        json.dump(stats, f)
    os.replace(stats_path + ".tmp", stats_path)  # last: marks the payments complete
    return path, stats


def measure_verify(ctx):
    out = subprocess.run([chains.tool(ctx, "verify"), "--network", "cheese", "--seconds",
                          str(VERIFY_SECONDS), "--threads", str(ctx.cores)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def accepted(node):
    """The node's count of payments it let into its mempool so far."""
    status, _, body = benchlib.request(node.api_port, "GET", "/metrics")
    match = ACCEPTED_RE.search(body.decode()) if status == 200 else None
    if not match:
        raise RuntimeError(f"no accepted-transactions counter in /metrics ({status})")
    return int(match.group(1))


def loop_cpu_seconds(pid):
    """CPU seconds of the node's main thread, its event loop (its thread id
    is the process id)."""
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / benchlib.CLK_TCK


def settled(node):
    """/api/info once the node has stopped mining: fewer payments wait than
    make it mine, and the height holds still."""
    def quiet():
        first = node.info()
        if first["mempool"] >= N_TRANSACTIONS:
            return None
        second = node.info()
        return second if second["height"] == first["height"] else None
    return benchlib.wait_until(quiet, "the node to finish mining", timeout=60, interval=0.1)


def payments_in_blocks(node, first, last):
    total = 0
    for h in range(first, last + 1):
        block = benchlib.get_json(node.api_port, f"/api/block?height={h}")["block"]
        total += len(block["transactions"]) - 1  # the reward is no payment
    return total


def send_once(ctx, name, src, tracker, payments, newline, limit=None):
    node, _ = chains.cheese_node_on(ctx, name, src, tracker.port, args=NODE_ARGS)
    try:
        pid = node.proc.pid
        height = node.info()["height"]
        before, cpu, loop = accepted(node), benchlib.cpu_seconds(pid), loop_cpu_seconds(pid)
        r = chains.cheese_send(ctx, node.port, payments, "BRTRANSACTION",
                               connections=CONNECTIONS, newline=newline, limit=limit)
        r["accepted"] = accepted(node) - before
        r["node_cpu_s"] = benchlib.cpu_seconds(pid) - cpu
        r["loop_cpu_s"] = loop_cpu_seconds(pid) - loop
        info = settled(node)
        r["mempool"], r["blocks"] = info["mempool"], info["height"] - height
        r["in_blocks"] = payments_in_blocks(node, height + 1, info["height"])
    finally:
        node.stop()
    shutil.rmtree(node.dir, ignore_errors=True)
    check(r)
    r["accepted_per_s"] = r["accepted"] / r["seconds"]
    return r


def check(r):
    n = r["requests"]
    if r["ok"] != n:
        raise RuntimeError(f"{r['ok']} of {n} payments acknowledged; first refusal: "
                           f"{r['first_failure']}")
    if r["accepted"] != n:
        raise RuntimeError(f"the node counted {r['accepted']} of {n} payments into its mempool")
    if r["mempool"] + r["in_blocks"] != n:
        raise RuntimeError(f"of {n} payments, {r['mempool']} wait in the mempool and "
                           f"{r['in_blocks']} are in the {r['blocks']} blocks mined meanwhile")


def line(r, what):
    return (f"- {what}: {r['accepted']:,} accepted in {r['seconds']:.2f} s = "
            f"{r['accepted_per_s']:,.0f}/s; latency p50 {r['p50_us'] / 1000:.2f} ms, p99 "
            f"{r['p99_us'] / 1000:.2f} ms; node CPU {r['node_cpu_s']:.1f} s, all threads "
            f"(signature workers and idle-priority miners included), of which the event loop "
            f"{r['loop_cpu_s']:.1f} s ({r['loop_cpu_s'] / r['accepted'] * 1e6:.0f} µs per "
            f"payment, {r['loop_cpu_s'] / r['seconds'] * 100:.0f} % of its core); "
            f"{r['blocks']} blocks mined meanwhile holding {r['in_blocks']:,} of them, "
            f"{r['mempool']:,} left waiting")


def run(ctx):
    c = chains.chain(ctx, chains.CHEESE_INV)
    src = chains.cheese_datadir(ctx, c)
    payments, signed = sign(ctx, c)
    ctx.log(f"nettle RSA-1024 verifications per second ({VERIFY_SECONDS} s each)")
    v = measure_verify(ctx)
    anchor = v["one_core_per_cpu_s"]
    tracker = chains.CheeseTracker(ctx, "tracker").start()
    try:
        runs = []
        for i in range(RUNS):
            ctx.log(f"BRTRANSACTION, run {i + 1}")
            runs.append(send_once(ctx, f"node-{i + 1}", src, tracker, payments, newline=True))
        ctx.log(f"BRTRANSACTION without line ends, {BARE_SAMPLE} payments")
        bare = send_once(ctx, "node-bare", src, tracker, payments, newline=False,
                         limit=BARE_SAMPLE)
    finally:
        tracker.stop()

    best = max(runs, key=lambda r: r["accepted_per_s"])
    row = {
        "figure": "BRTRANSACTION: payments accepted/s by a cheese node",
        "value": best["accepted_per_s"], "unit": "tx/s",
        "anchor": "nettle RSA-1024 verify/s, one core (cheese-bench-verify)",
        "anchor_value": anchor, "anchor_unit": "verify/s",
        "target": f">= {TARGET:g} x anchor", "met": best["accepted_per_s"] >= TARGET * anchor,
        "note": f"best of {RUNS}: {best['accepted']:,} in {best['seconds']:.2f} s over "
                f"{CONNECTIONS} connections; {best['blocks']} blocks mined meanwhile",
    }
    section = "\n".join([
        "### BRTRANSACTION (cheese network)",
        "",
        f"- chain: {c.describe()}",
        f"- {signed['transactions']:,} payments signed beforehand in {signed['seconds']:.1f} s "
        f"(once, cached; {PER_KEY} of 1.25 from each funded key, each to another of the "
        f"{PER_KEY} keys after it), announced as `BRTRANSACTION{{...}}` plus a newline over "
        f"{CONNECTIONS} connections by cheese-bench-inv to a node on a fresh copy of the "
        f"chain's data directory each run; node flags {' '.join(NODE_ARGS)}; accepted = the "
        f"node's own counter (/metrics), checked against every acknowledgement and against "
        f"mempool + mined blocks at the end",
        *[line(r, f"run {i + 1}") for i, r in enumerate(runs)],
        line(bare, f"without line ends, as a peer of the later revision sends them "
                   f"({BARE_SAMPLE:,} payments)")
        + f": the node waits for 100 ms of silence after each, as a peer id may follow",
        f"- anchor: cheese-bench-verify --network cheese: {anchor:,.0f} RSA-1024 verifications "
        f"per CPU second on one core ({v['one_core_per_s']:,.0f}/s of wall clock), "
        f"{v['all_threads_per_s']:,.0f}/s of wall clock on {v['threads']} threads at once",
    ])
    return {"rows": [row], "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
