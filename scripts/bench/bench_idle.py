"""CPU used while idle: an http node with a chain and a peer, a cheese node
with a chain, joined to a tracker with a second cheese node, and that
tracker, each left alone for IDLE_S seconds with their default timers
(peer-list exchanges, tracker polls, liveness checks, chain re-fetches).

CPU % = (utime + stime) from /proc/<pid>/stat over the window (10 ms ticks),
divided by the window's wall-clock length; all threads count, miners
included."""
import os
import subprocess
import time

import benchlib

IDLE_S = 10
SETTLE_S = 2
BLOCKS = 5
TARGET_PCT = 1.0


def mine(node_port, api_port, blocks, what):
    """Has the node mine `blocks` blocks through its JSON API, one by one."""
    for _ in range(blocks):
        height = benchlib.get_json(api_port, "/api/info")["height"]
        benchlib.post_json(api_port, "/api/mine", "{}")
        benchlib.wait_until(lambda: benchlib.get_json(api_port, "/api/info")["height"] > height,
                            f"{what} to mine block {height + 1}")


def start_tracker(ctx):
    port = benchlib.free_port()
    log = open(os.path.join(ctx.work, "tracker.log"), "ab")
    proc = ctx.spawn([os.path.join(ctx.build, "cheese-tracker"), "--port", str(port),
                      "--log-level", "warn"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    return proc, port


def start_cheese(ctx, name, tracker_port):
    d = os.path.join(ctx.work, name)
    os.makedirs(d)
    port, api = benchlib.free_port(), benchlib.free_port()
    log = open(os.path.join(d, "node.log"), "ab")
    proc = ctx.spawn([os.path.join(ctx.build, "cheesed"), "--network", "cheese",
                      "--host", "127.0.0.1", "--port", str(port), "--api-port", str(api),
                      "--tracker", f"127.0.0.1:{tracker_port}", "--datadir",
                      os.path.join(d, "data"), "--log-level", "warn"],
                     cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    log.close()

    def answers():
        if proc.poll() is not None:
            raise RuntimeError(f"the cheese node {name} exited with {proc.returncode}")
        try:
            return benchlib.request(api, "GET", "/api/info", timeout=5)[0] == 200
        except OSError:
            return False

    benchlib.wait_until(answers, f"cheese node {name} to answer")
    return proc, port, api


def run(ctx):
    tracker, tracker_port = start_tracker(ctx)
    a = benchlib.Node(ctx, "http-a").start()
    b = benchlib.Node(ctx, "http-b", peers=[a.address], args=["--mine-on-start", "no"]).start()
    ctx.log(f"http node mining {BLOCKS} blocks")
    benchlib.wait_until(lambda: a.height() >= 1, "block 1 of the http node")
    mine(a.port, a.port, BLOCKS - 1, "the http node")
    benchlib.wait_until(lambda: b.height() == a.height(), "the http peer to catch up")
    c1, _, c1_api = start_cheese(ctx, "cheese-1", tracker_port)
    c2, _, c2_api = start_cheese(ctx, "cheese-2", tracker_port)
    ctx.log(f"cheese node mining {BLOCKS} blocks")
    mine(None, c1_api, BLOCKS, "the cheese node")
    watched = {"http node": a.proc, "cheese node": c1, "tracker": tracker}
    time.sleep(SETTLE_S)
    ctx.log(f"idle for {IDLE_S} s")
    before = {k: benchlib.cpu_seconds(p.pid) for k, p in watched.items()}
    t0 = time.monotonic()
    time.sleep(IDLE_S)
    elapsed = time.monotonic() - t0
    after = {k: benchlib.cpu_seconds(p.pid) for k, p in watched.items()}
    heights = (a.height(), benchlib.get_json(c1_api, "/api/info")["height"],
               benchlib.get_json(c2_api, "/api/info")["height"])
    for p in (a.proc, b.proc, c1, c2, tracker):
        benchlib.stop(p)
    rows = []
    for what in watched:
        pct = (after[what] - before[what]) / elapsed * 100
        rows.append({"figure": f"CPU of an idle {what}", "value": pct, "unit": "%",
                     "anchor": "none", "anchor_value": None, "anchor_unit": "",
                     "target": f"< {TARGET_PCT:g} %", "met": pct < TARGET_PCT,
                     "note": f"{after[what] - before[what]:.2f} CPU s in {elapsed:.1f} s"})
    section = "\n".join([
        "### Idle CPU",
        "",
        f"An http node at height {heights[0]} with one peer, a cheese node at height "
        f"{heights[1]} with one peer (at height {heights[2]}) and their tracker, measured "
        f"together over {elapsed:.1f} s after {SETTLE_S} s of quiet, default timers, "
        "log level warn. Resolution: one 10 ms tick, 0.1 % over the window.",
    ])
    return {"rows": rows, "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
