"""Sync: a fresh node catches up a 20,000-block chain (2 signed payments and
the reward in every block) from its only peer.

Node A starts on a copy of a data directory that holds the chain (made once
by posting every block to a node, then cached: chains.py); node B starts
empty with A as its only peer. The figure is the chain's length divided by
the time from B's start to B's height equalling A's (B's /api/info, asked
every 50 ms), and B must end on A's tip. Two runs, each with a fresh B;
the better counts.

The anchor is what checking the signatures alone would allow: nettle's
P-192 verifications per CPU second on one core (cheese-bench-verify, the
node's own verifier, measured in the same run; per CPU second because other
load on the machine would change a wall-clock rate from one second to the
next) times the cores, divided by the signatures per block. Everything else a node does (parsing, hashing,
SQLite, serving the pages on the same machine) comes on top, so the target
is half of it."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import chains  # noqa: E402

TARGET = 0.5
RUNS = 2
VERIFY_SECONDS = 2
SYNC_TIMEOUT_S = 240
SUMMARY_RE = re.compile(r"sync with (\S+): (\d+) new blocks in ([0-9.]+) s")


def measure_verify(ctx):
    out = subprocess.run([chains.tool(ctx, "verify"), "--seconds", str(VERIFY_SECONDS),
                          "--threads", str(ctx.cores)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return json.loads(out)


def info(port):
    try:
        return benchlib.get_json(port, "/api/info")
    except (OSError, RuntimeError):
        return None


def time_sync(ctx, a, name, height, tip):
    """Starts node `name` empty with A as its only peer: the seconds until
    it is at A's height, its CPU seconds and log. It must end on A's tip."""
    b = benchlib.Node(ctx, name, args=["--mine-on-start", "no"], peers=[a.address],
                      log_level="info")
    started = time.monotonic()
    b.start(wait=False)

    def caught_up():
        if b.proc.poll() is not None:
            raise RuntimeError(f"node {name} exited with {b.proc.returncode}: {b.log()[-1500:]}")
        i = info(b.port)
        return i if i and i["height"] >= height else None

    last = benchlib.wait_until(caught_up, f"node {name} to reach height {height}",
                               timeout=SYNC_TIMEOUT_S, interval=0.05)
    seconds = time.monotonic() - started
    if last["tip"] != tip:
        raise RuntimeError(f"node {name} ended on {last['tip']}, node A is on {tip}")
    cpu = benchlib.cpu_seconds(b.proc.pid)
    log = b.log()
    b.stop()
    shutil.rmtree(b.dir, ignore_errors=True)
    return {"seconds": seconds, "cpu_s": cpu, "log": log}


def run(ctx):
    c = chains.chain(ctx, chains.SYNC)
    src = chains.datadirs(ctx, c, [c.blocks])[c.blocks]
    load = chains.load_stats(src)
    ctx.log(f"nettle P-192 verifications per second ({VERIFY_SECONDS} s each)")
    v = measure_verify(ctx)
    a, copy_s = chains.node_on(ctx, "a", src)
    ia = benchlib.get_json(a.port, "/api/info")
    if ia["height"] != c.blocks:
        raise RuntimeError(f"node A holds {ia['height']} blocks, not {c.blocks}")
    runs = []
    for i in range(RUNS):
        ctx.log(f"node B{i + 1} syncing {c.blocks:,} blocks from node A")
        runs.append(time_sync(ctx, a, f"b{i + 1}", c.blocks, ia["tip"]))
    cpu_a = benchlib.cpu_seconds(a.proc.pid)
    a.stop()

    best = min(runs, key=lambda r: r["seconds"])
    seconds = best["seconds"]
    rate = c.blocks / seconds
    sigs_per_block = c.meta["payments"] / c.blocks
    bound = v["one_core_per_cpu_s"] * ctx.cores / sigs_per_block
    row = {
        "figure": f"sync of {c.blocks:,} blocks (2 payments + reward each) from one peer",
        "value": rate, "unit": "blocks/s",
        "anchor": f"signature bound: nettle P-192 verifies/s x {ctx.cores} cores "
                  f"÷ {sigs_per_block:.2f} signatures per block",
        "anchor_value": bound, "anchor_unit": "blocks/s",
        "target": f">= {TARGET} x anchor", "met": rate >= TARGET * bound,
        "note": f"best of {RUNS}: {seconds:.1f} s from B's start to A's height; B used "
                f"{best['cpu_s']:.1f} CPU s ({c.blocks / best['cpu_s']:,.0f} blocks per CPU second)",
    }
    lines = [
        "### Sync from one peer",
        "",
        f"- chain: {c.describe()}",
        f"- method: node A on a copy of a data directory holding the chain; node B started "
        f"empty with A as its only peer, timed from its start until its `/api/info` (asked "
        f"every 50 ms) shows A's height, and checked to end on A's tip; {RUNS} runs, each with "
        f"a fresh B, the best counts",
    ]
    for i, r in enumerate(runs):
        rounds = SUMMARY_RE.findall(r["log"])
        account = "; ".join(f"{n} blocks in {t} s" for _, n, t in rounds) or "no round summary"
        lines.append(f"- run {i + 1}: {r['seconds']:.2f} s, {c.blocks / r['seconds']:,.0f} "
                     f"blocks/s ({c.blocks / r['seconds'] * sigs_per_block:,.0f} signatures/s); "
                     f"B's CPU {r['cpu_s']:.1f} s ({c.blocks / r['cpu_s']:,.0f} blocks per CPU "
                     f"second); B's log: {account}")
    lines += [
        f"- node A (serving the pages) used {cpu_a:.1f} CPU s over all runs",
        f"- nettle P-192 (cheese-bench-verify): {v['one_core_per_cpu_s']:,.0f} verifications per "
        f"CPU second on one core ({v['one_core_per_s']:,.0f}/s of wall clock), "
        f"{v['all_threads_per_s']:,.0f}/s of wall clock on {v['threads']} threads at once; the "
        f"bound takes one core's rate per CPU second x {ctx.cores}: {bound:,.0f} blocks/s",
        f"- loading node A: posting the blocks (POST /block on one keep-alive connection) ran at "
        f"{load['blocks_per_s']:,.0f} blocks/s ({load['post_seconds']:.0f} s, once per build of "
        f"cheesed); copying the data directory that left takes {copy_s:.2f} s, so the "
        f"benchmark copies it",
    ]
    return {"rows": [row], "sections": ["\n".join(lines)]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
