"""GET /metrics (docs/api.md): Prometheus text on the http node's port and on
the cheese node's API port, and counters that move with what the node is
offered."""
import re

from conftest import GENESIS_HASH, Key, block_on, exchange, payment

QUIET = ["--mine-on-start", "no"]
NEVER = 255  # --n-transactions that no test reaches

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\}'
SAMPLE = re.compile(rf"({NAME})({LABELS})? ([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def scrape(port):
    """GET /metrics; checks the text format line by line and returns
    {(name, labels text): value}."""
    raw = exchange(port, f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                         f"Connection: close\r\n\r\n".encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].split()[1] == "200", raw[:300]
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    assert int(headers["content-length"]) == len(body)
    text = body.decode()
    assert text.endswith("\n")
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            assert re.fullmatch(rf"# HELP {NAME} .+", line), line
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in TYPES and name not in types, line
            types[name] = kind
        else:
            m = SAMPLE.fullmatch(line)
            assert m, line
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in types or types.get(family) == "histogram", f"no TYPE for {line}"
            assert (name, labels) not in samples, f"repeated: {line}"
            samples[(name, labels)] = value
    return samples


def blocks(m, result, reason):
    return m[("cheese_blocks_total", f'{{result="{result}",reason="{reason}"}}')]


def txs(m, result, reason):
    return m[("cheese_transactions_total", f'{{result="{result}",reason="{reason}"}}')]


def latency_count(m):
    return m[("cheese_http_request_duration_seconds_count", "")]


def test_http_node_metrics_move(make_node):
    node = make_node(n_transactions=NEVER, extra=QUIET)
    m0 = scrape(node.port)
    assert m0[("cheese_height", "")] == 0
    assert m0[("cheese_mempool_transactions", "")] == 0
    assert m0[("cheese_peers", "")] >= 0
    # histogram: cumulative buckets ending in +Inf == count
    buckets = [(k[1], v) for k, v in m0.items()
               if k[0] == "cheese_http_request_duration_seconds_bucket"]
    assert buckets[-1][0] == '{le="+Inf"}' and len(buckets) > 5
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1][1] == latency_count(m0) >= 1  # the node's start-up probes

    key = Key()
    block = block_on(GENESIS_HASH, 1, key.pub)
    node.post_ok("/block", block.text)
    assert node.post("/block", block.text).status == 400           # duplicate
    bad = block_on(block.hash, 2, key.pub, pow_ok=False)
    assert node.post("/block", bad.text).status == 400             # proof of work
    pay = payment(key, Key().pub, 0.5)
    node.post_ok("/inv", pay)
    assert node.post("/inv", pay).status == 400                    # duplicate
    assert node.post("/inv", payment(Key(), key.pub, 1)).status == 400  # no funds
    forged = pay.replace(key.pub + '","to"', Key().pub + '","to"')
    assert node.post("/inv", forged).status == 400                 # signature
    assert node.get("/api/info").status == 200

    m1 = scrape(node.port)
    assert m1[("cheese_height", "")] == 1
    assert m1[("cheese_mempool_transactions", "")] == 1
    assert blocks(m1, "accepted", "new_tip") == blocks(m0, "accepted", "new_tip") + 1
    assert blocks(m1, "refused", "duplicate") == blocks(m0, "refused", "duplicate") + 1
    assert blocks(m1, "refused", "bad_pow") == blocks(m0, "refused", "bad_pow") + 1
    assert txs(m1, "accepted", "mempool") == txs(m0, "accepted", "mempool") + 1
    assert txs(m1, "refused", "duplicate") == txs(m0, "refused", "duplicate") + 1
    assert txs(m1, "refused", "insufficient_funds") == txs(m0, "refused",
                                                            "insufficient_funds") + 1
    assert txs(m1, "refused", "invalid_signature") == txs(m0, "refused",
                                                           "invalid_signature") + 1
    req = lambda m, path: m[("cheese_http_requests_total", f'{{path="{path}"}}')]
    assert req(m1, "/block") == req(m0, "/block") + 3
    assert req(m1, "/inv") == req(m0, "/inv") + 4
    assert req(m1, "/api") == req(m0, "/api") + 1
    assert req(m1, "/metrics") == req(m0, "/metrics") + 1
    assert latency_count(m1) >= latency_count(m0) + 9
    # label values come from fixed sets: an odd path is "other", never itself
    node.get("/no/such/path")
    m2 = scrape(node.port)
    assert req(m2, "other") == req(m1, "other") + 1
    assert not any("no/such" in labels for _, labels in m2)
    assert node.post("/metrics", "").status == 405


def test_cheese_node_serves_metrics_on_its_api_port(tmp_path):
    from test_cheese_network import Node as CheeseNode
    from test_cheese_network import RsaKey, Tracker, announce, block_text, mine, reward

    tracker = Tracker(str(tmp_path)).start()
    node = CheeseNode(str(tmp_path / "node"), tracker.port, n_transactions=NEVER)
    at = node.args.index("--log-level")
    del node.args[at:at + 2]  # the default level: warn
    try:
        node.start()
        m0 = scrape(node.api_port)
        assert m0[("cheese_height", "")] == node.height()
        tip = node.mine()
        bad = mine(node.height() + 1, node.tip(), [reward(RsaKey().pub)], good_pow=False)
        assert announce(node.port, block_text(bad)).startswith(b"REFUSED:")
        m1 = scrape(node.api_port)
        assert m1[("cheese_height", "")] == node.height() >= 1
        assert node.tip() == tip
        assert blocks(m1, "accepted", "new_tip") >= blocks(m0, "accepted", "new_tip") + 1
        assert blocks(m1, "refused", "bad_pow") == blocks(m0, "refused", "bad_pow") + 1
        assert latency_count(m1) > latency_count(m0)
        # the quiet default: no info lines, the start-up lines all the same
        log = node.log()
        assert "public key: " in log and "listening on cheese://" in log
        assert " info " not in log and "mined block" not in log, log[-3000:]
    finally:
        errors = []
        for proc in (node, tracker):
            try:
                proc.stop()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)
