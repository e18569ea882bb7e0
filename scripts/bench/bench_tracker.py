"""The tracker: joins + peer lists answered per second, against the same
client talking to an echo server; and the tracker's memory with 10,000
peers connected.

cheese-bench-tracker load keeps CONNECTIONS connections, each sending a join
(PCONNECT:127.0.0.1:PORT) then a peer-list request for its own id
(GETPEERS:PID...), one request at a time, each ended by a newline; every
answer counts. After the first, a join on a connection re-registers that
peer's address under its id. The anchor is the same client, same settings,
against cheese-bench-tracker echo, which greets like a tracker and sends
every byte back: what the client, libevent and loopback TCP manage when the
server does no work. Runs alternate tracker, echo, tracker, echo and the
best of each counts. The tracker runs at --log-level warn (info logs every
join).

cheese-bench-tracker hold then opens 10,000 connections that each join and
stay (answering HCK), and the tracker's VmRSS and VmHWM are read from /proc."""
import json
import os
import socket
import subprocess

import benchlib

CONNECTIONS = 64
SECONDS = 5
ROUNDS = 2
HELD = 10_000
TARGET = 0.9
RSS_LIMIT_MB = 64


def start_tracker(ctx):
    port = benchlib.free_port()
    log = open(os.path.join(ctx.work, "tracker.log"), "ab")
    proc = ctx.spawn([os.path.join(ctx.build, "cheese-tracker"), "--host", "127.0.0.1",
                      "--port", str(port), "--log-level", "warn"],
                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    benchlib.wait_until(lambda: port_open(port, proc), "the tracker to listen")
    return proc, port


def start_echo(ctx):
    port = benchlib.free_port()
    proc = ctx.spawn([tool(ctx), "echo", "--port", str(port)], stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if '"listening"' not in line:
        raise RuntimeError(f"the echo server did not start: {line!r}")
    return proc, port


def port_open(port, proc):
    if proc.poll() is not None:
        raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def tool(ctx):
    return os.path.join(ctx.build, "cheese-bench-tracker")


def load(ctx, port):
    out = subprocess.run([tool(ctx), "load", "--port", str(port), "--connections",
                          str(CONNECTIONS), "--seconds", str(SECONDS)],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"load client failed ({out.returncode}): {out.stderr[-500:]}")
    return json.loads(out.stdout)


def check_tracker_answers(r):
    """Against the tracker every join must get an id and every list request a list."""
    if r["joined"] != CONNECTIONS or r["closed"] or r["refused"] or r["unexpected"]:
        raise RuntimeError(f"the tracker did not answer every request: {r}")
    if r["ids"] != r["joins"] or r["peer_lists"] != r["lists"]:
        raise RuntimeError(f"answers of the wrong kind from the tracker: {r}")


def throughput(ctx):
    tracker, tracker_port = start_tracker(ctx)
    echo, echo_port = start_echo(ctx)
    runs = {"tracker": [], "echo": []}
    for _ in range(ROUNDS):
        for who, port in (("tracker", tracker_port), ("echo", echo_port)):
            ctx.log(f"{CONNECTIONS} connections against the {who} for {SECONDS} s")
            r = load(ctx, port)
            if who == "tracker":
                check_tracker_answers(r)
            runs[who].append(r)
    benchlib.stop(echo)
    benchlib.stop(tracker)
    return runs


def held_memory(ctx):
    tracker, port = start_tracker(ctx)
    before = benchlib.memory_kib(tracker.pid)
    ctx.log(f"{HELD:,} peers joining")
    hold = ctx.spawn([tool(ctx), "hold", "--port", str(port), "--connections", str(HELD)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    status = json.loads(hold.stdout.readline() or "{}")
    if status.get("joined") != HELD:
        raise RuntimeError(f"only {status.get('joined')} of {HELD} peers joined")
    fds = len(os.listdir(f"/proc/{tracker.pid}/fd"))
    mem = benchlib.memory_kib(tracker.pid)
    benchlib.stop(hold)
    benchlib.stop(tracker)
    return before, mem, fds


def run(ctx):
    runs = throughput(ctx)
    best = {who: max(rs, key=lambda r: r["answers_per_second"]) for who, rs in runs.items()}
    value, anchor = best["tracker"]["answers_per_second"], best["echo"]["answers_per_second"]
    before, mem, fds = held_memory(ctx)
    rss_mb = mem["VmRSS"] / 1024
    rows = [
        {"figure": "tracker: joins + peer lists answered/s", "value": value, "unit": "answers/s",
         "anchor": "same client against an echo server", "anchor_value": anchor,
         "anchor_unit": "answers/s", "target": f">= {TARGET} x anchor",
         "met": value >= TARGET * anchor,
         "note": f"{CONNECTIONS} connections, one request at a time each, best of {ROUNDS}"},
        {"figure": f"tracker RSS with {HELD:,} peers connected", "value": rss_mb, "unit": "MB",
         "anchor": "none", "anchor_value": None, "anchor_unit": "",
         "target": f"< {RSS_LIMIT_MB} MB", "met": rss_mb < RSS_LIMIT_MB,
         "note": f"VmHWM {mem['VmHWM'] / 1024:.1f} MB; {before['VmRSS'] / 1024:.1f} MB before; "
                 f"{(mem['VmRSS'] - before['VmRSS']) * 1024 / HELD:,.0f} bytes per peer"},
    ]
    lines = ["### Tracker",
             "",
             f"`cheese-bench-tracker load --connections {CONNECTIONS} --seconds {SECONDS}`, "
             "runs alternated:",
             "",
             "| server | run | joins | peer lists | answers/s |",
             "|---|---|---|---|---|"]
    for who, rs in runs.items():
        for i, r in enumerate(rs, 1):
            lines.append(f"| {who} | {i} | {r['joins']:,} | {r['lists']:,} | "
                         f"{r['answers_per_second']:,.0f} |")
    lines += ["",
              f"With {HELD:,} peers joined and connected ({fds:,} open descriptors in the "
              f"tracker): VmRSS {mem['VmRSS'] / 1024:.1f} MB, VmHWM {mem['VmHWM'] / 1024:.1f} MB "
              f"(idle before: {before['VmRSS'] / 1024:.1f} MB)."]
    return {"rows": rows, "sections": ["\n".join(lines)]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
