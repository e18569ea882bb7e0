"""GET /getdata?id= of a ~2 KB block: requests per second under wrk with
keep-alive, against nginx serving the same bytes as a static file with the
same wrk settings.

The block is built here (a reward and enough signed payments to make about
2 KB of text) and posted to a node; the node's answer is checked to be that
text byte for byte, on one kept-alive connection, and the same bytes go to
nginx. nginx (Debian's nginx-light) runs with one worker, as the node
answers from one event-loop thread, without an access log, with the file's
descriptor cached and with keep-alive unlimited: a well set-up static server.
wrk runs node, nginx, node, nginx and the best run of each counts, which
halves the effect of other load on the machine."""
import os
import re
import subprocess

import benchlib
import conftest

WRK = ["wrk", "-t2", "-c32", "-d10s", "--latency"]
TARGET = 1.0
BLOCK_BYTES = 2048
ROUNDS = 2


def make_block(ctx):
    """Block 1 pays key; block 2 holds payments from key, as many as bring
    its text closest to BLOCK_BYTES. Returns both blocks."""
    key = conftest.Key()
    first = conftest.block_on(conftest.GENESIS_HASH, 1, key.pub)
    one = len(conftest.payment(key, conftest.Key().pub, 0.01)) + 1
    base = len(conftest.block_on(first.hash, 2, key.pub).text)
    n = max(1, round((BLOCK_BYTES - base) / one))
    txs = [conftest.payment(key, conftest.Key().pub, 0.01) for _ in range(n)]
    ctx.log(f"mining a block with {n} payments")
    return first, conftest.block_on(first.hash, 2, key.pub, txs)


NGINX_CONF = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    open_file_cache max=16 inactive=600s;
    open_file_cache_valid 600s;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = /getdata {{
            default_type application/json;
            try_files /block.json =404;
        }}
    }}
}}
"""


def start_nginx(ctx, body):
    d = os.path.join(ctx.work, "nginx")
    for sub in ("www", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "www", "block.json"), "wb") as f:
        f.write(body)
    port = benchlib.free_port()
    conf = os.path.join(d, "nginx.conf")
    user = "user root;\n" if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(user=user, dir=d, port=port))
    log = open(os.path.join(d, "stderr.log"), "wb")
    proc = ctx.spawn(["nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log"),
                      "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()

    def answers():
        if proc.poll() is not None:
            with open(os.path.join(d, "error.log"), errors="replace") as f:
                raise RuntimeError(f"nginx exited with {proc.returncode}: {f.read()[-1000:]}")
        try:
            return benchlib.request(port, "GET", "/getdata", timeout=5)[0] == 200
        except OSError:
            return False

    benchlib.wait_until(answers, "nginx to answer")
    return proc, port


def wrk(url):
    out = subprocess.run([*WRK, url], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if not rate:
        raise RuntimeError(f"no Requests/sec in wrk output: {out[-500:]!r}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {"rate": float(rate.group(1)), "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1).strip() if errors else "none",
            "p50": latency.get("50", "?"), "p99": latency.get("99", "?")}


def check_same_bytes(port, path, expected, who):
    bodies = benchlib.keep_alive_bodies(port, path)
    if any(b != expected for b in bodies):
        raise RuntimeError(f"{who} answers {path} with other bytes than the block")


def run(ctx):
    first, block = make_block(ctx)
    body = block.text.encode()
    node = benchlib.Node(ctx, "node", ["--mine-on-start", "no"]).start()
    for b in (first, block):
        benchlib.post_json(node.port, "/block", b.text)
    path = f"/getdata?id={block.hash}"
    check_same_bytes(node.port, path, body, "the node")
    nginx, nginx_port = start_nginx(ctx, body)
    check_same_bytes(nginx_port, path, body, "nginx")
    ctx.log(f"block of {len(body)} bytes served the same by both, with keep-alive")

    runs = {"node": [], "nginx": []}
    for _ in range(ROUNDS):
        for who, port in (("node", node.port), ("nginx", nginx_port)):
            ctx.log(f"wrk against {who}")
            r = wrk(f"http://127.0.0.1:{port}{path}")
            if r["non_2xx"]:
                raise RuntimeError(f"{who}: {r['non_2xx']} answers were not 200")
            runs[who].append(r)
    check_same_bytes(node.port, path, body, "the node after the load")
    node.stop()
    benchlib.stop(nginx)

    best = {who: max(rs, key=lambda r: r["rate"]) for who, rs in runs.items()}
    value, anchor = best["node"]["rate"], best["nginx"]["rate"]
    row = {"figure": f"GET /getdata?id= of a {len(body)}-byte block, keep-alive",
           "value": value, "unit": "requests/s",
           "anchor": "nginx (1 worker), same bytes as a static file", "anchor_value": anchor,
           "anchor_unit": "requests/s", "target": f">= {TARGET} x anchor",
           "met": value >= TARGET * anchor,
           "note": f"`{' '.join(WRK)}`, best of {ROUNDS}"}
    lines = ["### GET /getdata",
             "",
             f"`{' '.join(WRK)} http://127.0.0.1:PORT{path[:14]}...`, a {len(body)}-byte block "
             f"({block.text.count('signature') - 1} payments and the reward), runs alternated:",
             "",
             "| server | run | requests/s | latency p50 | latency p99 | socket errors |",
             "|---|---|---|---|---|---|"]
    for who, rs in runs.items():
        for i, r in enumerate(rs, 1):
            lines.append(f"| {who} | {i} | {r['rate']:,.0f} | {r['p50']} | {r['p99']} | "
                         f"{r['socket_errors']} |")
    return {"rows": [row], "sections": ["\n".join(lines)]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
