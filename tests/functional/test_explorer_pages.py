"""The explorer's pictures and lists (docs/explorer.md), in headless Chromium
(tests/functional/browser.py): the best chain page by page, the charts drawn
as SVG, the peers table, every time in one format, the page of a key with its
payments page by page, and the cheese network's RSA keys shortened so that two
keys look different. Screenshots go to tests/artifacts/screenshots/."""
import re

import pytest

from browser import assert_clean
from conftest import Key, stop_all, wait_until
from test_cheese_network import Node as CheeseNode
from test_cheese_network import Tracker

NEVER = 255          # --n-transactions no test reaches: only /api/mine mines
BLOCKS_PER_PAGE = 20  # as the page shows them
PAYMENTS_PER_PAGE = 20
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def api(node, path):
    resp = node.get(path)
    assert resp.status == 200, resp
    return resp.json()


def mine(node):
    height = api(node, "/api/info")["height"]
    assert node.post("/api/mine", "").status == 200
    node.wait_height(height + 1)
    return height + 1


@pytest.fixture(scope="module")
def node(make_module_node):
    """A node with more blocks than one page of the block list shows."""
    n = make_module_node(n_transactions=NEVER)
    n.wait_height(1)
    while api(n, "/api/info")["height"] < BLOCKS_PER_PAGE + 2:
        mine(n)
    return n


def origin_of(node):
    return f"http://127.0.0.1:{node.port}"


def heights_shown(browser, table):
    return browser.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr[data-height]')]"
        ".map((r) => +r.dataset.height)", table)


def test_blocks_page_by_page(browser, node):
    tip = api(node, "/api/info")["height"]
    browser.open(origin_of(node) + "/")
    browser.wait_text("#height", str(tip))
    browser.click("#all-blocks")
    browser.wait(lambda: heights_shown(browser, "#blocks") ==
                 list(range(tip, tip - BLOCKS_PER_PAGE, -1)), "the first page of blocks")
    assert browser.text("#blocks-range") == (f"blocks {tip - BLOCKS_PER_PAGE + 1} to {tip} "
                                             f"of {tip + 1}")
    assert not browser.finds("#blocks-newer")
    browser.screenshot("blocks-page-1.png")
    browser.click("#blocks-older")
    browser.wait(lambda: heights_shown(browser, "#blocks") ==
                 list(range(tip - BLOCKS_PER_PAGE, -1, -1)), "the second page, down to genesis")
    assert not browser.finds("#blocks-older")
    browser.screenshot("blocks-page-2.png")
    browser.click("#blocks-newer")
    browser.wait(lambda: heights_shown(browser, "#blocks")[:1] == [tip], "back to the first page")
    assert browser.not_reloaded()
    assert_clean(browser, origin_of(node))


def test_blocks_list_answers(node):
    tip = api(node, "/api/info")["height"]
    doc = api(node, "/api/blocks?top=5&limit=3")
    assert doc["height"] == tip and doc["top"] == 5
    assert [b["height"] for b in doc["blocks"]] == [5, 4, 3]
    for b in doc["blocks"]:
        assert b["hash"] == api(node, f"/api/block?height={b['height']}")["hash"]
        assert b["transactions"] == 1  # the reward alone
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", b["timestamp"])
    genesis = api(node, "/api/blocks?top=0")["blocks"]
    assert genesis == [{"height": 0, "hash": genesis[0]["hash"], "timestamp": "01/01/2009",
                        "transactions": 1}]
    assert api(node, f"/api/blocks?top={tip + 100}&limit=1")["blocks"][0]["height"] == tip
    assert api(node, "/api/blocks?limit=0")["blocks"] == []
    for bad in ("limit=101", "limit=-1", "limit=x", "top=", "top=1.5"):
        resp = node.get(f"/api/blocks?{bad}")
        assert resp.status == 400, bad
        assert "must be a number" in resp.json()["errmsg"]


def chart_bars(browser, chart):
    return browser.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' rect.bar')]"
        ".map((r) => [+r.dataset.height, r.querySelector('title').textContent])", chart)


def mempool_points(browser):
    return browser.driver.execute_script(
        "return [...document.querySelectorAll('#chart-mempool circle title')]"
        ".map((t) => t.textContent)")


def test_charts(browser, node):
    """Seconds between blocks and transactions per block, one bar a block
    (the genesis, whose stamp is no time, has neither), and the mempool's
    size over time, which follows payments as they wait."""
    origin = origin_of(node)
    tip = api(node, "/api/info")["height"]
    browser.open(origin + "/")
    browser.wait_text("#height", str(tip))
    browser.wait(lambda: [h for h, _ in chart_bars(browser, "#chart-txs")] ==
                 list(range(1, tip + 1)), "a bar per block in the transactions chart")
    bars = chart_bars(browser, "#chart-txs")
    assert bars[-1][1] == f"block {tip}: 1 transaction"
    intervals = chart_bars(browser, "#chart-intervals")
    assert [h for h, _ in intervals] == list(range(2, tip + 1))
    assert re.fullmatch(rf"block {tip}: [0-9.]+ s after block {tip - 1}", intervals[-1][1])

    for _ in range(3):
        assert node.post("/api/send", f'{{"to": "{Key().pub}", "sum": 0.1}}').status == 200
    browser.wait(lambda: (mempool_points(browser) or [""])[-1].endswith(": 3 waiting"),
                 "the mempool chart to reach 3 waiting")
    assert all(UTC_TIME.match(p.split(": ")[0]) for p in mempool_points(browser))
    browser.screenshot("charts.png")
    mine(node)
    browser.wait(lambda: (mempool_points(browser) or [""])[-1].endswith(": 0 waiting"),
                 "the mempool chart back to 0")
    browser.wait(lambda: chart_bars(browser, "#chart-txs")[-1][1] ==
                 f"block {tip + 1}: 4 transactions", "the new block's bar")
    assert_clean(browser, origin)


def test_mempool_history_answers(node):
    doc = api(node, "/api/mempool-history")
    assert doc["interval_s"] == 10
    samples = doc["samples"]
    assert len(samples) >= 2  # one at the start, and now
    assert samples == sorted(samples, key=lambda s: s[0])
    assert samples[-1][1] == api(node, "/api/info")["mempool"]


def time_cells(browser, table):
    return browser.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' tbody tr[data-height]')]"
        ".map((r) => [+r.dataset.height, r.cells[3].innerText.trim()])", table)


def test_one_time_format(browser, node):
    """Every time in UTC as 2026-12-07 15:04:05 UTC; the genesis block's
    stamp, which is no time, as written and said to be the genesis's."""
    browser.open(origin_of(node) + "/")
    browser.go("#/blocks/3")
    browser.wait(lambda: len(time_cells(browser, "#blocks")) == 4, "blocks 3 to 0")
    cells = dict(time_cells(browser, "#blocks"))
    assert cells[0] == "01/01/2009 (genesis, as written)"
    assert all(UTC_TIME.match(cells[h]) for h in (1, 2, 3)), cells
    browser.go("#/block/2")
    browser.wait_text("#block-height", "2")
    stamp = api(node, "/api/block?height=2")["block"]["timestamp"]  # written in UTC
    assert browser.text("#block-time") == stamp[:10] + " " + stamp[11:19] + " UTC"
    assert UTC_TIME.match(browser.text("#live-text").split("updated ", 1)[1])


def test_peers_table(browser, node, make_node, tmp_path):
    """Address, height and last answer of each peer, as the node saw them."""
    defaults = tmp_path / "peers-default.json"
    defaults.write_text(f'{{"peers": ["127.0.0.1:{node.port}"]}}')
    other = make_node(n_transactions=NEVER, extra=["--peers-default", str(defaults)])
    address = f"127.0.0.1:{other.port}"

    def row():
        table = api(node, "/api/peers").get("table", [])
        return next((p for p in table if p["address"] == address), None)
    wait_until(lambda: (row() or {}).get("last_answer") and row().get("height") is not None,
               "the new peer to answer and show its height")
    assert row()["spelling"] is None  # the http network has one
    browser.open(origin_of(node) + "/")
    css = f'#peers tr[data-address="{address}"]'
    browser.wait(lambda: browser.finds(css), "the peer in the table")
    cells = browser.driver.execute_script(
        "return [...document.querySelector(arguments[0]).cells].map((c) => c.innerText.trim())",
        css)
    assert cells[0] == address
    assert cells[1] == str(row()["height"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)", cells[3]), cells
    browser.driver.execute_script("document.querySelector('#peers').scrollIntoView()")
    browser.screenshot("peers.png")
    assert_clean(browser, origin_of(node))


def payment_rows(browser):
    return browser.driver.execute_script(
        "return [...document.querySelectorAll('#payments tbody tr[data-txid]')]"
        ".map((r) => [r.dataset.txid, r.dataset.direction, r.cells[0].innerText.trim()])")


def test_key_page_with_payments(browser, node):
    """A key's payments in and out, newest first, a page at a time; those
    still waiting on top."""
    friend = Key().pub
    sent = []
    for i in range(PAYMENTS_PER_PAGE + 2):
        resp = node.post("/api/send", f'{{"to": "{friend}", "sum": 0.{i + 1}}}')
        assert resp.status == 200, resp
        sent.append(resp.json()["txid"])
    mined_at = mine(node)
    waiting = node.post("/api/send", f'{{"to": "{friend}", "sum": 5}}').json()["txid"]
    origin = origin_of(node)
    browser.open(origin + "/")
    browser.go(f"#/key/{friend}")
    browser.wait_text("#payments-page", "page 1 of 2")
    rows = payment_rows(browser)
    assert rows[0] == [waiting, "in", "waiting"]
    assert len(rows) == 1 + PAYMENTS_PER_PAGE
    assert all(r[1] == "in" and r[2] == str(mined_at) for r in rows[1:])
    browser.screenshot("key-page-1.png")
    browser.click("#payments-older")
    browser.wait_text("#payments-page", "page 2 of 2")
    shown = {r[0] for r in payment_rows(browser) if r[2] != "waiting"}
    first_page = {r[0] for r in rows[1:]}
    assert shown | first_page == set(sent) and not shown & first_page
    # the payer's page: the same payments, going out
    payer = api(node, "/api/info")["key"]
    browser.go(f"#/key/{payer}")
    browser.wait(lambda: any(r[0] == waiting for r in payment_rows(browser)), "the payer's page")
    assert dict((r[0], r[1]) for r in payment_rows(browser))[waiting] == "out"
    browser.screenshot("key-page-payer.png")
    assert browser.not_reloaded()
    assert_clean(browser, origin)


# ---- the cheese network ---------------------------------------------------------------------

def distinctive(key):
    """The modulus of a DER RSA public key in hex, as the page shortens it."""
    start = 0
    for head in ("02818100", "0282010100", "028181", "02820101"):
        at = key.find(head)
        if 0 <= at < 80:
            start = at + len(head)
            break
    tail = "0203010001"
    end = len(key) - len(tail) if key.endswith(tail) else len(key)
    return key[start:end]


@pytest.fixture(scope="module")
def cheese_pair(tmp_path_factory):
    tracker = Tracker(str(tmp_path_factory.mktemp("tracker"))).start()
    nodes = [CheeseNode(str(tmp_path_factory.mktemp(name)), tracker.port, n_transactions=NEVER)
             for name in ("a", "b")]
    try:
        for n in nodes:
            n.start()
        for n in nodes:
            wait_until(lambda n=n: n.peer_count() >= 1, f"node {n.port} to learn its peer")
        yield nodes
    finally:
        stop_all((*nodes, tracker))


def test_cheese_keys_look_different(browser, cheese_pair):
    """Every RSA key opens 30819f30... and ends ...0203010001: the page
    shortens a key to its modulus, so two keys never look alike."""
    a, b = cheese_pair
    a.mine(wait_nodes=[b])
    origin = f"http://127.0.0.1:{a.api_port}"
    browser.open(origin + "/")
    browser.wait_text("#network", "cheese network")
    expected = distinctive(a.pub)[:12] + "\u2026" + distinctive(a.pub)[-6:]
    browser.wait_text("#node-key", expected)
    assert not expected.startswith("30819f30")
    assert distinctive(b.pub)[:12] != distinctive(a.pub)[:12]
    # a payment's parties, shortened the same way; a goes to b with it
    tx = a.post("/api/send", f'{{"to": "{b.pub}", "sum": 1}}')
    wait_until(lambda: b.tx_status(tx["txid"]) == "mempool", "the payment at b")
    # the peers table: the other node, the spelling it answered in, when
    css = f'#peers tr[data-address="127.0.0.1:{b.port}"]'
    script = ("const r = document.querySelector(arguments[0]);"
              "return r ? [...r.cells].map((c) => c.innerText.trim()) : null")
    browser.wait(lambda: (browser.driver.execute_script(script, css) or [""] * 4)[2] == "later",
                 "node b in the peers table, with its spelling")
    assert re.search(r" UTC \(\d+ s ago\)$", browser.driver.execute_script(script, css)[3])
    browser.screenshot("cheese-home.png")
    browser.go(f"#/key/{b.pub}")
    browser.wait(lambda: browser.finds(f'#payments tr[data-txid="{tx["txid"]}"]'),
                 "the payment on b's page")
    other = browser.driver.execute_script(
        "return document.querySelector('#payments tr[data-txid] td:nth-child(4)').innerText")
    assert other.strip() == distinctive(a.pub)[:8] + "\u2026" + distinctive(a.pub)[-6:]
    browser.screenshot("cheese-key-page.png")
    assert_clean(browser, origin)
