"""POST /inv: signed payments accepted per second.

The node starts on a copy of a data directory holding a 4,096-block chain
whose every reward went to a key of its own (chains.py), so 4,096 keys hold 1
each. cheese-bench-inv signs, before anything is timed, 8 payments of 0.125
from each key (32,768 in all, every one affordable), then sends them over 32
keep-alive connections, one request under way on each (so that the node's
signature workers have payments to share), and counts the answers
"200 Transaction accepted" per second of wall clock.

Mining cannot be kept out: --n-transactions is at most 255, so once 255
payments wait the node mines blocks of up to 255 payments (about 100 KB
hashed per attempt) for the rest of the run, on miner threads that take
only CPU nothing else wants (SCHED_IDLE). The figure is measured twice: as
the node runs by default (one miner thread per core) and with
--miner-threads 1, to show what mining still costs; each twice, alternately,
the best run of each counting. --max-mempool is raised to hold every
payment.

The anchor is `openssl speed ecdsap192` verifications per second on one
core, measured in the same run; the target, twice that, asks for the node's
faster verifier (nettle) plus its use of more than one core."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import chains  # noqa: E402

PER_KEY = 8
CONNECTIONS = 32
OPENSSL_SECONDS = 3
TARGET = 2.0
RUNS = 2
NODE_ARGS = ["--n-transactions", "255", "--max-mempool", "1000000"]


def openssl_verify_per_s(seconds):
    """`openssl speed -mr`: "+F4:<n>:192:<sign/s>:<verify/s>" for ECDSA."""
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds), "ecdsap192"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    match = re.search(r"^\+F4:\d+:192:([0-9.]+):([0-9.]+)", out, re.M)
    if not match:
        raise RuntimeError(f"no ecdsap192 rate in openssl speed output: {out[-500:]!r}")
    return float(match.group(2))


def sign(ctx, c):
    path = os.path.join(ctx.work, "payments.jsonl")
    out = subprocess.run([chains.tool(ctx, "inv"), "sign", "--keys", c.keys_path,
                          "--per-key", str(PER_KEY), "--out", path],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return path, json.loads(out)


def loop_cpu_seconds(pid):
    """CPU seconds of the node's main thread, its event loop (its thread id
    is the process id)."""
    with open(f"/proc/{pid}/task/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / benchlib.CLK_TCK


def send_once(ctx, name, src, payments, extra):
    node, _ = chains.node_on(ctx, name, src, args=[*NODE_ARGS, *extra])
    try:
        pid = node.proc.pid
        before, loop_before = benchlib.cpu_seconds(pid), loop_cpu_seconds(pid)
        r = chains.post_lines(ctx, node.port, "/inv", payments, "Transaction accepted",
                              connections=CONNECTIONS)
        r["node_cpu_s"] = benchlib.cpu_seconds(pid) - before
        r["loop_cpu_s"] = loop_cpu_seconds(pid) - loop_before
        r["height"] = benchlib.get_json(node.port, "/api/info")["height"]
    finally:
        node.stop()
    if r["ok"] != r["requests"]:
        raise RuntimeError(f"{r['ok']} of {r['requests']} payments accepted; "
                           f"first refusal: {r['first_failure']}")
    return r


def run(ctx):
    c = chains.chain(ctx, chains.INV)
    src = chains.datadirs(ctx, c, [c.blocks])[c.blocks]
    ctx.log(f"signing {PER_KEY} payments from each of {len(c.keys()):,} keys")
    payments, signed = sign(ctx, c)
    ctx.log(f"openssl speed ecdsap192 ({OPENSSL_SECONDS} s each for sign and verify)")
    anchor = openssl_verify_per_s(OPENSSL_SECONDS)
    setups = [(f"miner on {ctx.cores} threads (default)", []),
              ("`--miner-threads 1`", ["--miner-threads", "1"])]
    runs = {how: [] for how, _ in setups}
    for i in range(RUNS):
        for k, (how, extra) in enumerate(setups):
            ctx.log(f"POST /inv, {how}, run {i + 1}")
            runs[how].append(send_once(ctx, f"node-{k}-{i}", src, payments, extra))

    def line(r, how, i):
        return (f"- {how}, run {i + 1}: {r['ok']:,} accepted in {r['seconds']:.2f} s = "
                f"{r['ok_per_s']:,.0f}/s; latency p50 {r['p50_us'] / 1000:.2f} ms, p99 "
                f"{r['p99_us'] / 1000:.2f} ms; node CPU {r['node_cpu_s']:.1f} s, all threads "
                f"(idle-priority miners included), of which the event loop "
                f"{r['loop_cpu_s']:.1f} s ({r['loop_cpu_s'] / r['ok'] * 1e6:.0f} µs per "
                f"payment, {r['loop_cpu_s'] / r['seconds'] * 100:.0f} % of its core); "
                f"{r['height'] - c.blocks} blocks mined meanwhile")

    rows, lines = [], []
    for how, _ in setups:
        best = max(runs[how], key=lambda r: r["ok_per_s"])
        rows.append({
            "figure": f"POST /inv: payments accepted/s, {how.replace('`', '')}",
            "value": best["ok_per_s"], "unit": "tx/s",
            "anchor": "openssl speed ecdsap192 verify/s, one core",
            "anchor_value": anchor, "anchor_unit": "verify/s",
            "target": f">= {TARGET:g} x anchor", "met": best["ok_per_s"] >= TARGET * anchor,
            "note": f"best of {RUNS}: {best['ok']:,} in {best['seconds']:.2f} s over "
                    f"{CONNECTIONS} connections; {best['height'] - c.blocks} blocks mined "
                    f"meanwhile",
        })
        lines += [line(r, how, i) for i, r in enumerate(runs[how])]
    section = "\n".join([
        "### POST /inv",
        "",
        f"- chain: {c.describe()}",
        f"- {signed['transactions']:,} payments signed beforehand in {signed['seconds']:.1f} s "
        f"({PER_KEY} of 0.125 from each funded key), sent over {CONNECTIONS} keep-alive "
        f"connections by cheese-bench-inv to a node on a fresh copy of the chain's data "
        f"directory each run; node flags {' '.join(NODE_ARGS)}; runs alternate, the best of "
        f"each setting counts",
        *lines,
        f"- anchor: `openssl speed -seconds {OPENSSL_SECONDS} ecdsap192`: {anchor:,.0f} "
        f"verifications per CPU second on one core",
    ])
    return {"rows": rows, "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
