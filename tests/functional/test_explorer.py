"""The explorer page (docs/explorer.md) every node serves at `/`: over plain
HTTP (the page, its headers, the same-origin rule of /api/send and
/api/mine), then in headless Chromium (tests/functional/browser.py): the
genesis block, a payment sent from the page's form that shows in the
mempool and then in a block, the page updating by itself, and a page of
another origin that cannot spend. test_explorer_pages.py has the block
list, the charts, the peers table and the pages per key.

Screenshots are kept as test artifacts in tests/artifacts/screenshots/
(git-ignored). The browser tests are skipped, with the reason, only when
Chromium cannot be started."""
import html
import http.server
import json
import os
import re
import threading

import pytest

from browser import SCREENSHOTS, assert_clean
from conftest import GENESIS_HASH, Key, assert_error, exchange, free_port

NEVER = 255  # --n-transactions no test reaches: only /api/mine mines
HERE = os.path.dirname(os.path.abspath(__file__))
PAGE_SOURCE = os.path.join(HERE, "..", "..", "web", "explorer.html")



class Page:
    """A raw HTTP answer that may be HTML (conftest's Response wants JSON)."""

    def __init__(self, raw):
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("ascii").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.body = body
        assert int(self.headers["content-length"]) == len(body)


def fetch(port, method, path, headers=()):
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             *headers]
    if method == "POST":
        lines.append("Content-Length: 0")
    return Page(exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode()))


def api(node, path):
    resp = node.get(path)
    assert resp.status == 200, resp
    return resp.json()


@pytest.fixture(scope="module")
def node(make_module_node):
    n = make_module_node(n_transactions=NEVER)
    n.wait_height(1)
    return n


# ---- over HTTP ------------------------------------------------------------------------------

def test_page_is_served_with_its_policy(node):
    with open(PAGE_SOURCE, "rb") as f:
        source = f.read()
    for path in ("/", "/explorer", "/explorer/", "/index.html", "/?x=1"):
        page = fetch(node.port, "GET", path)
        assert page.status == 200, path
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.body == source, "the page built in differs from web/explorer.html"
        csp = page.headers["content-security-policy"]
        assert csp.startswith("default-src 'self'; "), csp
        assert "unsafe" not in csp and "connect-src 'self'" in csp, csp
        assert re.search(r"script-src 'sha256-[A-Za-z0-9+/]{43}='", csp), csp
        assert page.headers["cache-control"] == "no-cache"
        assert page.headers["x-content-type-options"] == "nosniff"
    # no reference to anything outside the node
    text = source.decode()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "https:" not in text and "@import" not in text
    # other methods: the API's error format
    page = fetch(node.port, "POST", "/")
    assert page.status == 405 and json.loads(page.body)["errcode"] == 405
    # the seed's endpoints are untouched
    assert node.get("/getblocks").status == 200
    assert_error(node.get("/nothing"), 404)


def test_same_origin_page_may_spend_others_may_not(node, make_node):
    """The explorer posts to /api/send from its own origin, so the browser
    adds Origin: http://<Host>. That one origin is the node's own page; a
    page of any other origin (another site or port, the other loopback
    name, "null") or a rebound name still needs the token."""
    port = node.port
    friend = Key().pub
    body = f'{{"to": "{friend}", "sum": 0.125}}'
    own = [f"Origin: http://127.0.0.1:{port}"]
    resp = node.post("/api/send", body, headers=own)
    assert resp.status == 200, resp
    height = api(node, "/api/info")["height"]
    assert node.post("/api/mine", "", headers=own).status == 200
    node.wait_height(height + 1)
    resp = node.post("/api/send", body, headers=[f"Host: localhost:{port}",
                                                 f"Origin: http://localhost:{port}"])
    assert resp.status == 200, resp
    mempool = api(node, "/api/mempool")["count"]
    for headers in ([f"Origin: http://localhost:{port}"],
                    [f"Origin: http://127.0.0.1:{port + 1}"],
                    [f"Origin: https://127.0.0.1:{port}"],
                    ["Origin: null"],
                    [f"Origin: http://127.0.0.1:{port}.evil.example"],
                    [f"Host: evil.example:{port}", f"Origin: http://evil.example:{port}"]):
        assert_error(node.post("/api/send", body, headers=headers), 403, "token")
        assert_error(node.post("/api/mine", "", headers=headers), 403, "token")
    assert api(node, "/api/mempool")["count"] == mempool
    # --api-trust-loopback no: the page needs the token like everyone
    locked = make_node(n_transactions=NEVER, extra=["--api-trust-loopback", "no"])
    assert_error(locked.post("/api/mine", "", headers=[f"Origin: http://127.0.0.1:{locked.port}"]),
                 403, "token")


# ---- in the browser ---------------------------------------------------------------------------

def test_genesis_and_latest_blocks(browser, node):
    origin = f"http://127.0.0.1:{node.port}"
    browser.open(origin + "/")
    info = api(node, "/api/info")
    browser.wait_text("#height", str(info["height"]))
    browser.wait_text("#tip", info["tip"])
    assert browser.text("#network") == "http network"
    # the latest blocks, genesis last
    genesis_row = 'tr[data-height="0"] a[href="#/block/' + GENESIS_HASH + '"]'
    browser.wait(lambda: browser.finds("#latest " + genesis_row), "genesis in the latest blocks")
    # amounts as the node prints them (Python's float repr)
    browser.wait_text("#wallet-balance", api(node, "/api/info")["balance"].__repr__())
    browser.screenshot("home.png")
    # its page, reached by a click
    browser.click("#latest " + genesis_row)
    browser.wait_text("#block-hash", GENESIS_HASH)
    assert browser.text("#block-height") == "0"
    assert browser.text("#block-prev") == "none (genesis)"
    assert "Satoshi Nakamoto" in browser.text("#block-txs")
    browser.screenshot("block-genesis.png")
    # by height in the address, and the search box
    browser.go("#/block/1")
    browser.wait_text("#block-height", "1")
    assert browser.text("#block-prev") == GENESIS_HASH
    browser.type("#search", "0\n")
    browser.wait_text("#block-hash", GENESIS_HASH)
    assert browser.not_reloaded()
    assert_clean(browser, origin)


def test_payment_from_the_form_goes_to_mempool_then_block(browser, node):
    origin = f"http://127.0.0.1:{node.port}"
    friend = Key().pub
    browser.open(origin + "/")
    height = api(node, "/api/info")["height"]
    browser.wait_text("#height", str(height))
    browser.type("#send-to", friend)
    browser.type("#send-sum", "0.25")
    browser.click("#send-button")
    browser.wait(lambda: browser.finds("#sent-txid") or browser.text("#send-result.bad"),
                 "the payment's answer")
    assert not browser.finds("#send-result.bad"), browser.text("#send-result")
    txid = browser.text("#sent-txid")
    # the txid the page computed is the node's, and the payment waits
    tx = api(node, f"/api/tx?txid={txid}")
    assert tx["status"] == "mempool"
    assert tx["transaction"]["transaction"]["to"] == friend
    assert tx["transaction"]["transaction"]["sum"] == 0.25
    row = f'#mempool tr[data-txid="{txid}"]'
    browser.wait(lambda: browser.finds(row), "the payment in the page's mempool")
    assert "0.25" in browser.text(row)
    browser.wait_text("#mempool-count", str(api(node, "/api/info")["mempool"]))
    browser.screenshot("mempool.png")

    # mined by the page's own button; the page follows without a reload
    browser.click("#mine-button")
    browser.wait_text("#height", str(height + 1))
    browser.wait(lambda: not browser.finds(row), "the payment to leave the page's mempool")
    browser.wait(lambda: browser.finds(f'#latest tr[data-height="{height + 1}"]'),
                 "the new block in the latest blocks")
    assert browser.not_reloaded()
    browser.screenshot("mined.png")

    # the transaction's page: mined, in the new block
    browser.click("#sent-txid")
    browser.wait_text("#tx-status", "mined")
    block = api(node, f"/api/block?height={height + 1}")
    assert browser.text("#tx-block") == block["hash"]
    assert browser.text("#tx-to") == friend
    assert browser.text("#tx-amount") == "0.25"
    browser.screenshot("tx-mined.png")
    # the block's page lists it
    browser.click("#tx-block a")
    browser.wait_text("#block-hash", block["hash"])
    assert browser.finds(f'#block-txs tr[data-txid="{txid}"]')
    browser.screenshot("block.png")

    # the balance look-up finds the payment
    browser.go("#/")
    browser.type("#balance-key", friend)
    browser.click("#balance-form button")
    browser.wait_text("#balance", "0.25")
    assert browser.text("#spendable") == "0.25"
    browser.screenshot("balance.png")
    assert browser.not_reloaded()
    assert_clean(browser, origin)


def test_page_updates_by_itself(browser, node):
    """Blocks and payments made elsewhere (here: by the API) show up on
    the open page, on the home page and on a transaction's page."""
    origin = f"http://127.0.0.1:{node.port}"
    browser.open(origin + "/")
    height = api(node, "/api/info")["height"]
    browser.wait_text("#height", str(height))
    assert node.post("/api/mine", "").status == 200
    browser.wait_text("#height", str(height + 1))
    browser.wait_text("#tip", api(node, "/api/info")["tip"])

    resp = node.post("/api/send", f'{{"to": "{Key().pub}", "sum": 0.5}}')
    assert resp.status == 200, resp
    txid = resp.json()["txid"]
    browser.go(f"#/tx/{txid}")
    browser.wait_text("#tx-status", "waiting in the mempool")
    browser.screenshot("tx-waiting.png")
    assert node.post("/api/mine", "").status == 200
    browser.wait_text("#tx-status", "mined")
    browser.wait_text("#height", str(height + 2))
    assert browser.not_reloaded()

    # narrow screens get one column
    browser.driver.set_window_size(420, 1100)
    browser.go("#/")
    browser.wait(lambda: browser.finds(f'#latest tr[data-height="{height + 2}"]'), "home again")
    browser.screenshot("home-narrow.png")
    browser.driver.set_window_size(1280, 1100)
    assert_clean(browser, origin)


EVIL_PAGE = """<!DOCTYPE html><title>another site</title><p>Nothing to see here.</p>"""


class EvilHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = EVIL_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_page_of_another_origin_cannot_spend(browser, node):
    """Cross-site request forgery: a page from elsewhere (here another port
    of this machine) posts to the node from the same browser. The browser
    sends such simple requests without asking, with its Origin; the node
    refuses them and nothing is spent or mined."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), EvilHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.open(f"http://127.0.0.1:{server.server_address[1]}/")
        before = api(node, "/api/info")
        script = """
            const [url, body, done] = arguments;
            fetch(url, {method: "POST", mode: "no-cors", body,
                        headers: {"Content-Type": "text/plain"}})
              .then((r) => done(r.type), (e) => done("error: " + e));
        """
        target = f"http://127.0.0.1:{node.port}/api/"
        body = json.dumps({"to": Key().pub, "sum": 0.5})
        # an opaque answer: the request went and the node answered
        assert browser.driver.execute_async_script(script, target + "send", body) == "opaque"
        assert browser.driver.execute_async_script(script, target + "mine", "") == "opaque"
        # the same requests from the node's own page are the owner's
        own = f"http://127.0.0.1:{node.port}/"
        browser.open(own)
        browser.wait_text("#height", str(before["height"]))
        after = api(node, "/api/info")
        assert (after["mempool"], after["height"]) == (before["mempool"], before["height"])
        browser.errors()  # the other page's console is not ours to judge
    finally:
        server.shutdown()
        server.server_close()


def test_explorer_at_the_url_the_node_prints(browser, node):
    """The node prints where a browser finds it: a port of its own (browsers
    refuse some ports outright, the http network's default 6000 among them),
    which serves the explorer, the JSON API and /metrics, and nothing of the
    protocol. Opened in Chromium as printed."""
    line = next(l for l in node.log().splitlines() if " explorer on http://" in l)
    url = line.split(" explorer on ", 1)[1].strip()
    assert url == f"http://127.0.0.1:{node.web_port}/" and node.web_port != node.port
    browser.open(url)
    info = api(node, "/api/info")
    browser.wait_text("#height", str(info["height"]))
    browser.wait_text("#tip", info["tip"])
    browser.screenshot("home-at-the-printed-url.png")
    assert_clean(browser, url.rstrip("/"))
    assert fetch(node.web_port, "GET", "/getblocks").status == 404
    assert fetch(node.web_port, "GET", "/metrics").status == 200


def test_screenshots_were_kept():
    names = sorted(os.listdir(SCREENSHOTS)) if os.path.isdir(SCREENSHOTS) else []
    if not names:
        pytest.skip("no browser test ran")
    for name in names:
        with open(os.path.join(SCREENSHOTS, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    print("screenshots:", ", ".join(html.escape(n) for n in names))
