"""Cheese sync: a fresh cheese node fetches a 10,000-cheese chain (2 signed
payments and the reward in each) from its one peer and adopts it.

A cheese-tracker of the module's own; node A starts on a copy of a data
directory that holds the chain (made once by announcing every cheese to a
node, then cached: chains.py) and joins it. Node B starts empty with the
same tracker, joins, is given A in its first peer list and asks A for its
chain (GETCHAIN), which comes whole in one GETCHAINRESP message: the cheese
protocol has no other way. The figure is the chain's length divided by the
time from B's start to B's height equalling A's (B's /api/info, asked
every 50 ms), and B must end on A's tip. B's log (level info) shows when
it had A as a peer, stored its first cheese and had caught up. Two runs,
each with a fresh B; the better counts.

The anchor is what checking the signatures alone would allow: nettle's
RSA-1024 verifications per CPU second on one core (cheese-bench-verify
--network cheese, the node's own verifier, measured in the same run; per
CPU second, as other load on the machine would change a wall-clock rate)
times the cores, divided by the signatures per cheese. Everything else a
node does (reading a 25 MB message, parsing, hashing, SQLite, A serving it
on the same machine) comes on top; the target is half of it, as for the
http network's sync.

B's peak resident memory (VmHWM from /proc, read once it has caught up) is
the second figure. Its anchor is the size of the message itself, which a
node must read whole before it can know where it ends; the target allows
the message plus one more copy of it, decoded."""
import datetime
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
RSS_TARGET = 2.0
RUNS = 2
VERIFY_SECONDS = 2
SYNC_TIMEOUT_S = 300
LOG_LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) +\w+ +\S+: (.*)$", re.M)


def measure_verify(ctx):
    out = subprocess.run([chains.tool(ctx, "verify"), "--network", "cheese", "--seconds",
                          str(VERIFY_SECONDS), "--threads", str(ctx.cores)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def info(node):
    try:
        return node.info()
    except (OSError, RuntimeError):
        return None  # busy or not up yet


def timeline(log, wall_start, a_port):
    """Seconds after B's start at which its log shows A as a peer, the first
    cheese stored and the catching up; None for what it does not show."""
    marks = {"peer": f"at 127.0.0.1:{a_port}", "first": "block 1 ", "done": "caught up with"}
    seen = {}
    for stamp, text in LOG_LINE_RE.findall(log):
        for what, needle in marks.items():
            if what not in seen and (text.startswith(needle) if what == "first" else
                                     needle in text):
                t = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
                seen[what] = t - wall_start
    return {what: seen.get(what) for what in marks}


def time_sync(ctx, a, tracker, name, height, tip):
    """Starts node `name` empty beside A: the seconds until it is at A's
    height, its CPU seconds, memory and log. It must end on A's tip."""
    b = chains.CheeseNode(ctx, name, tracker.port, log_level="info")
    wall_start, started = time.time(), time.monotonic()
    b.start(wait=False)

    def caught_up():
        if b.proc.poll() is not None:
            raise RuntimeError(f"node {name} exited with {b.proc.returncode}: {b.log()[-1500:]}")
        i = info(b)
        return i if i and i["height"] >= height else None

    try:
        last = benchlib.wait_until(caught_up, f"node {name} to reach height {height}",
                                   timeout=SYNC_TIMEOUT_S, interval=0.05)
        seconds = time.monotonic() - started
        mem = benchlib.memory_kib(b.proc.pid)
        cpu = benchlib.cpu_seconds(b.proc.pid)
        if last["tip"] != tip:
            raise RuntimeError(f"node {name} ended on {last['tip']}, node A is on {tip}")
    finally:
        b.stop()
    log = b.log()
    # the log stays for a look afterwards; the database (hundreds of MB) goes
    shutil.copy(b.log_path, os.path.join(ctx.work, f"{name}.log"))
    shutil.rmtree(b.dir, ignore_errors=True)
    return {"seconds": seconds, "cpu_s": cpu, "hwm_kib": mem["VmHWM"], "rss_kib": mem["VmRSS"],
            "marks": timeline(log, wall_start, a.port)}


def start_a(ctx, src, tracker, blocks):
    a, copy_s = chains.cheese_node_on(ctx, "a", src, tracker.port)
    benchlib.wait_until(a.joined, "node A to join the tracker")
    ia = a.info()
    if ia["height"] != blocks:
        raise RuntimeError(f"node A holds {ia['height']} cheeses, not {blocks}")
    return a, ia, copy_s


def mark(value):
    return "?" if value is None else f"{value:.2f} s"


def run_line(i, r, c, sigs):
    m = r["marks"]
    return (f"- run {i + 1}: {r['seconds']:.2f} s, {c.blocks / r['seconds']:,.0f} cheeses/s "
            f"({c.blocks / r['seconds'] * sigs:,.0f} signatures/s); B's CPU {r['cpu_s']:.1f} s "
            f"({c.blocks / r['cpu_s']:,.0f} cheeses per CPU second); B's log: A listed at "
            f"{mark(m['peer'])}, first cheese stored at {mark(m['first'])}, caught up at "
            f"{mark(m['done'])}; B's VmHWM {r['hwm_kib'] / 1024:.1f} MB, VmRSS "
            f"{r['rss_kib'] / 1024:.1f} MB once caught up")


def run(ctx):
    c = chains.chain(ctx, chains.CHEESE_SYNC)
    src = chains.cheese_datadir(ctx, c)
    load = chains.load_stats(src)
    ctx.log(f"nettle RSA-1024 verifications per second ({VERIFY_SECONDS} s each)")
    v = measure_verify(ctx)
    tracker = chains.CheeseTracker(ctx, "tracker").start()
    try:
        a, ia, copy_s = start_a(ctx, src, tracker, c.blocks)
        try:
            runs = []
            for i in range(RUNS):
                ctx.log(f"node B{i + 1} syncing {c.blocks:,} cheeses from node A")
                runs.append(time_sync(ctx, a, tracker, f"b{i + 1}", c.blocks, ia["tip"]))
            cpu_a = benchlib.cpu_seconds(a.proc.pid)
            mem_a = benchlib.memory_kib(a.proc.pid)
        finally:
            a.stop()
            shutil.copy(a.log_path, os.path.join(ctx.work, "a.log"))
            shutil.rmtree(a.dir, ignore_errors=True)
    finally:
        tracker.stop()

    best = min(runs, key=lambda r: r["seconds"])
    rate = c.blocks / best["seconds"]
    sigs = c.meta["payments"] / c.blocks
    bound = v["one_core_per_cpu_s"] * ctx.cores / sigs
    message_mb = c.meta["bytes"] / 1e6
    hwm_mb = max(r["hwm_kib"] for r in runs) * 1024 / 1e6
    rows = [{
        "figure": f"cheese sync of {c.blocks:,} cheeses (2 payments + reward each) from one peer",
        "value": rate, "unit": "cheeses/s",
        "anchor": f"signature bound: nettle RSA-1024 verifies/s x {ctx.cores} cores "
                  f"÷ {sigs:.2f} signatures per cheese",
        "anchor_value": bound, "anchor_unit": "cheeses/s",
        "target": f">= {TARGET:g} x anchor", "met": rate >= TARGET * bound,
        "note": f"best of {RUNS}: {best['seconds']:.1f} s from B's start to A's height; B used "
                f"{best['cpu_s']:.1f} CPU s ({c.blocks / best['cpu_s']:,.0f} cheeses per CPU "
                f"second)",
    }, {
        "figure": f"cheese sync: new node's peak RSS (VmHWM), {c.blocks:,} cheeses in one message",
        "value": hwm_mb, "unit": "MB",
        "anchor": "the chain's text (GETCHAINRESP)", "anchor_value": message_mb,
        "anchor_unit": "MB",
        "target": f"<= {RSS_TARGET:g} x anchor", "met": hwm_mb <= RSS_TARGET * message_mb,
        "note": f"the higher of {RUNS} runs; VmRSS once caught up "
                f"{best['rss_kib'] * 1024 / 1e6:.1f} MB",
    }]
    lines = [
        "### Cheese sync from one peer",
        "",
        f"- chain: {c.describe()}",
        f"- method: a tracker; node A on a copy of a data directory holding the chain, joined; "
        f"node B started empty with the same tracker, timed from its start until its "
        f"`/api/info` (asked every 50 ms) shows A's height, and checked to end on A's tip; "
        f"{RUNS} runs, each with a fresh B, the best counts",
        *[run_line(i, r, c, sigs) for i, r in enumerate(runs)],
        f"- node A (serving the chain, {message_mb:.1f} MB, once per run) used {cpu_a:.1f} CPU s "
        f"over all runs; its VmHWM {mem_a['VmHWM'] / 1024:.1f} MB",
        f"- nettle RSA-1024 (cheese-bench-verify --network cheese): "
        f"{v['one_core_per_cpu_s']:,.0f} verifications per CPU second on one core "
        f"({v['one_core_per_s']:,.0f}/s of wall clock), {v['all_threads_per_s']:,.0f}/s of wall "
        f"clock on {v['threads']} threads at once; the bound takes one core's rate per CPU "
        f"second x {ctx.cores}: {bound:,.0f} cheeses/s",
        f"- loading node A: announcing the cheeses (BRCHEESE on one connection) ran at "
        f"{load['blocks_per_s']:,.0f} cheeses/s ({load['post_seconds']:.0f} s, once per build "
        f"of cheesed); copying the data directory that left takes {copy_s:.2f} s, so the "
        f"benchmark copies it",
    ]
    return {"rows": rows, "sections": ["\n".join(lines)]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
