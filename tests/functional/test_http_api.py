"""The node's JSON API (docs/api.md) on a running http-network node: every
call, its answers and its errors, the owner's payments and mining on demand,
and who may spend or mine (loopback, the API token, web pages)."""
import json
import os
import re
import stat
import subprocess
from fractions import Fraction

import pytest

from conftest import (BUILD, GENESIS_HASH, WAIT_S, Key, assert_error, check_block, request,
                      sha256_hex, signed_text, tx_message, verify, wait_until)

NEVER = 255  # --n-transactions no test reaches: only /api/mine mines


def api(node, path, status=200, **kw):
    resp = node.get(path, **kw)
    assert resp.status == status, resp
    return resp.json()


def post_api(node, path, body=None, status=200, **kw):
    resp = node.post(path, body, **kw)
    assert resp.status == status, resp
    return resp.json()


def send(node, to, amount, **kw):
    return node.post("/api/send", f'{{"to": "{to}", "sum": {amount}}}', **kw)


def txid_of(tx):
    """The txid of a transaction as a block or an answer shows it (parsed)."""
    t = tx["transaction"]
    return sha256_hex(signed_text(tx["signature"],
                                  tx_message(t["from"], t["to"], t["sum"], t["timestamp"])))


def mine_one(node):
    height = api(node, "/api/info")["height"]
    assert post_api(node, "/api/mine", "") == {"mining": height + 1}
    node.wait_height(height + 1)
    return api(node, f"/api/block?height={height + 1}")


def token_of(node):
    with open(os.path.join(node.datadir, "api.token")) as f:
        return f.read().strip()


@pytest.fixture(scope="module")
def node(make_module_node):
    n = make_module_node(n_transactions=NEVER)
    n.wait_height(1)
    return n


# ---- reading ------------------------------------------------------------------------------

def test_info(node):
    info = api(node, "/api/info")
    assert set(info) == {"network", "height", "tip", "peers", "mempool", "sync", "key",
                         "balance", "balance_exact"}
    assert info["network"] == "http"
    assert info["key"] == node.pub
    best = node.best()
    assert info["height"] == len(best) - 1 and info["tip"] == best[-1]["hash"]
    assert info["peers"] == 0 and info["mempool"] == 0
    assert info["sync"]["state"] == "idle" and info["sync"]["best_peer_height"] is None
    assert isinstance(info["balance"], float)
    assert Fraction(info["balance_exact"]) >= 1
    assert info["balance"] == float(Fraction(info["balance_exact"]))
    assert re.search(r'"balance": \d+\.\d+,', node.get("/api/info").body)  # 1.0, not 1


def test_block_by_height_and_by_hash(node):
    genesis = api(node, "/api/block?height=0")
    assert genesis == {"hash": GENESIS_HASH, "height": 0, "best": True,
                       "block": json.loads(node.block(GENESIS_HASH))}
    one = api(node, "/api/block?height=1")
    assert one["height"] == 1 and one["best"] is True
    assert one["block"] == check_block(node.block(one["hash"]))
    assert api(node, f"/api/block?hash={one['hash']}") == one
    assert api(node, f"/api/block/?hash={one['hash']}") == one  # trailing slash


@pytest.mark.parametrize("query, status, says", [
    ("height=999999", 404, "No block at height 999999"),
    ("hash=" + "0" * 64, 404, "Block not found"),
    ("hash=" + "A" * 64, 400, "hash"),
    ("hash=abc", 400, "hash"),
    ("height=-1", 400, "height"),
    ("height=one", 400, "height"),
    ("height=", 400, "height"),
    ("", 400, "either hash"),
    ("hash=" + "0" * 64 + "&height=1", 400, "either hash"),
])
def test_block_errors(node, query, status, says):
    assert_error(node.get(f"/api/block?{query}"), status, says)


def test_tx_finds_rewards_and_refuses_bad_ids(node):
    one = api(node, "/api/block?height=1")
    reward = one["block"]["transactions"][0]
    txid = txid_of(reward)
    assert api(node, f"/api/tx?txid={txid}") == {
        "txid": txid, "status": "mined", "block": one["hash"], "height": 1,
        "confirmations": api(node, "/api/info")["height"], "transaction": reward}
    assert_error(node.get("/api/tx?txid=" + "1" * 64), 404, "Transaction not found")
    assert_error(node.get("/api/tx?txid=" + "1" * 63), 400, "txid")
    assert_error(node.get("/api/tx?txid=" + "G" * 64), 400, "txid")
    assert_error(node.get("/api/tx"), 400, "txid")


def test_balance(node):
    mine = api(node, f"/api/balance?key={node.pub}")
    assert set(mine) == {"key", "balance", "balance_exact", "spendable", "spendable_exact"}
    assert mine["key"] == node.pub and mine["balance"] >= 1.0
    stranger = Key().pub
    assert api(node, f"/api/balance?key={stranger}") == {
        "key": stranger, "balance": 0.0, "balance_exact": "0", "spendable": 0.0,
        "spendable_exact": "0"}
    assert_error(node.get("/api/balance?key=" + "ab" * 47), 400, "96 lowercase hex")
    # a key pasted in upper case is the same key, answered in lowercase (docs/api.md#keys)
    assert api(node, "/api/balance?key=" + node.pub.upper()) == mine
    assert_error(node.get("/api/balance?key=System"), 400, "96 lowercase hex")
    assert_error(node.get("/api/balance"), 400, "key")


def test_peers_and_empty_mempool(node):
    assert api(node, "/api/peers") == {"peers": [], "table": []}
    assert api(node, "/api/mempool") == {"transactions": [], "count": 0}


@pytest.mark.parametrize("method, path, status", [
    ("POST", "/api/info", 405), ("POST", "/api/block?height=0", 405), ("POST", "/api/tx", 405),
    ("POST", "/api/balance", 405), ("POST", "/api/mempool", 405), ("POST", "/api/peers", 405),
    ("GET", "/api/send", 405), ("GET", "/api/mine", 405), ("PUT", "/api/mine", 405),
    ("GET", "/api/nothing", 404), ("GET", "/api", 404), ("GET", "/api/infox", 404),
])
def test_wrong_method_or_call(node, method, path, status):
    assert_error(request(node.port, method, path, None if method == "GET" else "{}"), status)


# ---- spending and mining --------------------------------------------------------------------

def test_send_then_mine_moves_tx_from_mempool_to_block(node):
    friend = Key().pub
    before = api(node, f"/api/balance?key={node.pub}")
    paid = send(node, friend, 0.5)
    assert paid.status == 200, paid
    answer = paid.json()
    assert set(answer) == {"txid", "transaction"}
    tx = answer["transaction"]
    assert txid_of(tx) == answer["txid"]
    t = tx["transaction"]
    assert (t["from"], t["to"], t["sum"]) == (node.pub, friend, 0.5)
    assert verify(node.pub, tx["signature"], tx_message(t["from"], t["to"], t["sum"],
                                                        t["timestamp"]))

    waiting = api(node, f"/api/tx?txid={answer['txid']}")
    assert waiting == {"txid": answer["txid"], "status": "mempool", "block": None,
                       "height": None, "confirmations": 0, "transaction": tx}
    assert api(node, "/api/mempool") == {"transactions": [tx], "count": 1}
    assert api(node, "/api/info")["mempool"] == 1
    after = api(node, f"/api/balance?key={node.pub}")
    assert after["balance_exact"] == before["balance_exact"]
    assert Fraction(after["spendable_exact"]) == Fraction(before["spendable_exact"]) - \
        Fraction(1, 2)

    block = mine_one(node)
    assert [x["signature"] for x in block["block"]["transactions"]] == [tx["signature"],
                                                                         "System"]
    mined = api(node, f"/api/tx?txid={answer['txid']}")
    assert mined["status"] == "mined" and mined["block"] == block["hash"]
    assert mined["height"] == block["height"] and mined["confirmations"] == 1
    assert api(node, "/api/mempool") == {"transactions": [], "count": 0}
    assert api(node, f"/api/balance?key={friend}")["balance_exact"] == "1/2"


def test_mine_with_nothing_waiting_mines_the_reward(node):
    before = api(node, f"/api/balance?key={node.pub}")
    block = mine_one(node)
    txs = block["block"]["transactions"]
    assert [(x["signature"], x["transaction"]["to"], x["transaction"]["sum"]) for x in txs] == \
           [("System", node.pub, 1)]
    after = api(node, f"/api/balance?key={node.pub}")
    assert Fraction(after["balance_exact"]) == Fraction(before["balance_exact"]) + 1


def test_balances_exact_and_shown_as_python_sums(node):
    friend = Key().pub
    for amount in ("0.1", "0.2"):
        assert send(node, friend, amount).status == 200
    mine_one(node)
    got = api(node, f"/api/balance?key={friend}")
    exact = Fraction(0.1) + Fraction(0.2)
    assert got["balance_exact"] == str(exact) and got["spendable_exact"] == str(exact)
    assert got["balance"] == 0.1 + 0.2 == 0.30000000000000004
    assert '"balance": 0.30000000000000004,' in node.get(f"/api/balance?key={friend}").body


@pytest.mark.parametrize("body, says", [
    ('{"to": "%(key)s", "sum": 1e9}', "Insufficient funds"),
    ('{"to": "%(short)s", "sum": 1}', "96 lowercase hex"),
    ('{"to": "System", "sum": 1}', "96 lowercase hex"),
    ('{"to": "%(key)s", "sum": 0}', "positive"),
    ('{"to": "%(key)s", "sum": -1.5}', "positive"),
    ('{"to": "%(key)s", "sum": "1"}', "sum"),
    ('{"sum": 1}', "to"),
    ('{"to": "%(key)s"}', "sum"),
    ('["%(key)s", 1]', "object"),
    ('{"to": "%(key)s", "sum": 1', ""),
    ('', ""),
])
def test_send_errors(node, body, says):
    mempool = api(node, "/api/mempool")["count"]
    body = body % {"key": Key().pub, "short": "ab" * 47}
    assert_error(node.post("/api/send", body), 400, says)
    assert api(node, "/api/mempool")["count"] == mempool


# ---- who may spend and mine -------------------------------------------------------------------

def test_web_pages_and_foreign_hosts_need_the_token(node):
    """A browser on the node's machine is on loopback too: a request with an
    Origin, or a Host that is not a loopback name (DNS rebinding), is a web
    page's and needs the token."""
    friend = Key().pub
    for headers, says in [(["Origin: http://evil.example"], "Origin"),
                          (["Origin: null"], "Origin"),
                          ([f"Host: evil.example:{node.port}"], "Host")]:
        assert_error(node.post("/api/mine", "", headers=headers), 403, says)
        assert_error(send(node, friend, 1, headers=headers), 403, says)
        auth = [f"Authorization: Bearer {token_of(node)}", *headers]
        assert send(node, friend, 0.25, headers=auth).status == 200
    for host in ("localhost", f"localhost:{node.port}", "127.0.0.2:1", "[::1]:5"):
        assert node.post("/api/mine", "", headers=[f"Host: {host}"]).status == 200
    assert_error(node.post("/api/mine", "", headers=["Authorization: Bearer " + "0" * 64]),
                 403, "wrong API token")
    assert_error(node.post("/api/mine", "", headers=["Authorization: Basic Zm9vOmJhcg=="]),
                 403, "wrong API token")
    # the last forced job holds the payments made meanwhile
    wait_until(lambda: api(node, "/api/info")["mempool"] == 0, "the payments to be mined")


@pytest.fixture(scope="module")
def locked(make_module_node):
    """A node that trusts no one without the token, and whose faucet is off:
    /api/send is the owner's wallet, not the faucet."""
    n = make_module_node(n_transactions=NEVER,
                         extra=["--api-trust-loopback", "no", "--faucet", "off"])
    n.wait_height(1)
    return n


def test_trust_flag_values(tmp_path):
    result = subprocess.run([os.path.join(BUILD, "cheesed"), "--api-trust-loopback", "maybe",
                             "--datadir", str(tmp_path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=WAIT_S)
    assert result.returncode == 2 and "api-trust-loopback" in result.stderr, result.stderr


def test_token_file(locked):
    path = os.path.join(locked.datadir, "api.token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = token_of(locked)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    locked.restart()  # kept across restarts
    assert token_of(locked) == token


def test_token_required_even_from_loopback(locked):
    friend = Key().pub
    assert_error(locked.post("/api/mine", ""), 403, "API token")
    assert_error(send(locked, friend, 0.5), 403, "API token")
    assert_error(locked.post("/api/mine", "", headers=["Authorization: Bearer " + "f" * 64]),
                 403, "wrong API token")
    assert_error(locked.money(friend, 0.5), 403)  # the faucet is off

    auth = [f"Authorization: Bearer {token_of(locked)}"]
    paid = send(locked, friend, 0.5, headers=auth)
    assert paid.status == 200, paid
    height = api(locked, "/api/info")["height"]
    mined = locked.post("/api/mine", "", headers=[f"authorization: bearer {token_of(locked)}"])
    assert mined.status == 200 and mined.json() == {"mining": height + 1}
    locked.wait_height(height + 1)
    assert api(locked, f"/api/tx?txid={paid.json()['txid']}")["status"] == "mined"
    # reading needs no token
    assert api(locked, f"/api/balance?key={friend}")["balance_exact"] == "1/2"


# ---- with a peer ---------------------------------------------------------------------------------

def test_peers_sync_and_relayed_payment(make_node, tmp_path):
    a = make_node(n_transactions=NEVER)
    a.wait_height(1)
    mine_one(a)
    peers_file = tmp_path / "peers-default.json"
    peers_file.write_text(json.dumps({"peers": [a.address]}))
    b = make_node(n_transactions=NEVER, extra=["--mine-on-start", "no",
                                               "--peers-default", str(peers_file)])
    wait_until(lambda: api(b, "/api/peers")["peers"] == [a.address], "B to list A")
    wait_until(lambda: api(a, "/api/info")["peers"] == 1, "A to list B")
    b.wait_height(2)
    sync = wait_until(lambda: (s := api(b, "/api/info")["sync"])["best_peer"] and s,
                      "B to know A's height")
    assert sync["best_peer"] == a.address and sync["best_peer_height"] == 2
    assert sync["state"] == "idle" and sync["behind"] == 0

    # The owner's payment is relayed like any other, and so is the block.
    friend = Key().pub
    paid = send(a, friend, 0.5)
    assert paid.status == 200, paid
    txid = paid.json()["txid"]
    wait_until(lambda: b.get(f"/api/tx?txid={txid}").status == 200, "B to get the payment")
    assert api(b, f"/api/tx?txid={txid}")["status"] == "mempool"
    block = mine_one(a)
    wait_until(lambda: api(b, f"/api/tx?txid={txid}")["status"] == "mined", "B to get the block")
    assert api(b, f"/api/tx?txid={txid}")["block"] == block["hash"]
    assert api(b, f"/api/balance?key={friend}")["balance_exact"] == "1/2"
