"""A key's payments (GET /api/payments, docs/api.md) on a running http-network
node: what waits and what is mined, from the recipient's side and the
sender's, newest first, a page at a time, the same transactions /api/tx
shows, and the refusals."""
import pytest

from conftest import Key, assert_error, request

NEVER = 255  # --n-transactions no test reaches: only /api/mine mines


def api(node, path, status=200):
    resp = node.get(path)
    assert resp.status == status, resp
    return resp.json()


def send(node, to, amount):
    resp = node.post("/api/send", f'{{"to": "{to}", "sum": {amount}}}')
    assert resp.status == 200, resp
    return resp.json()


def mine_one(node):
    height = api(node, "/api/info")["height"]
    assert node.post("/api/mine", "").json() == {"mining": height + 1}
    node.wait_height(height + 1)
    return height + 1


def payments(node, key, query=""):
    return api(node, f"/api/payments?key={key}{query}")


@pytest.fixture(scope="module")
def node(make_module_node):
    n = make_module_node(n_transactions=NEVER)
    n.wait_height(1)
    return n


def test_a_key_paid_twice(node):
    friend = Key().pub
    assert payments(node, friend) == {"key": friend, "total": 0, "offset": 0, "limit": 20,
                                      "payments": [], "waiting": []}
    first = send(node, friend, 0.5)
    assert payments(node, friend)["waiting"] == [
        {"txid": first["txid"], "direction": "in", "transaction": first["transaction"]}]
    assert {"txid": first["txid"], "direction": "out", "transaction": first["transaction"]} \
        in payments(node, node.pub)["waiting"]
    h1 = mine_one(node)
    second = send(node, friend, 0.25)
    h2 = mine_one(node)

    page = payments(node, friend)
    assert (page["total"], page["offset"], page["limit"], page["waiting"]) == (2, 0, 20, [])
    assert [p["txid"] for p in page["payments"]] == [second["txid"], first["txid"]]
    for p, paid, height in zip(page["payments"], (second, first), (h2, h1)):
        tx = api(node, f"/api/tx?txid={paid['txid']}")
        assert p == {"txid": paid["txid"], "status": "mined", "height": height,
                     "block": tx["block"], "confirmations": h2 - height + 1,
                     "direction": "in", "transaction": tx["transaction"]}
        assert p["transaction"] == paid["transaction"]

    # The sender's page: both out, among its rewards, newest first.
    mine = payments(node, node.pub, "&limit=100")
    assert mine["total"] == len(mine["payments"]) >= 2 + h2  # a reward in every block
    heights = [p["height"] for p in mine["payments"]]
    assert heights == sorted(heights, reverse=True)
    by_txid = {p["txid"]: p for p in mine["payments"]}
    assert by_txid[first["txid"]]["direction"] == "out"
    assert by_txid[second["txid"]]["direction"] == "out"
    assert by_txid[second["txid"]]["height"] == h2

    # A page at a time.
    pages = [payments(node, friend, f"&limit=1&offset={n}") for n in range(3)]
    assert [(p["total"], p["offset"], p["limit"]) for p in pages] == [(2, 0, 1), (2, 1, 1),
                                                                       (2, 2, 1)]
    assert [p["payments"] for p in pages] == [page["payments"][:1], page["payments"][1:], []]


def test_a_payment_to_oneself(node):
    paid = send(node, node.pub, 0.125)
    height = mine_one(node)
    listed = payments(node, node.pub, "&limit=5")["payments"]
    mined = [p for p in listed if p["txid"] == paid["txid"]]
    assert len(mined) == 1 and mined[0]["direction"] == "self"
    assert mined[0]["height"] == height


@pytest.mark.parametrize("query, says", [
    ("", "key"),
    ("?key=", "96 lowercase hex"),
    ("?key=" + "ab" * 47, "96 lowercase hex"),
    ("?key=System", "96 lowercase hex"),
    ("?key=%(key)s&limit=101", "limit"),
    ("?key=%(key)s&limit=-1", "limit"),
    ("?key=%(key)s&limit=ten", "limit"),
    ("?key=%(key)s&offset=-1", "offset"),
    ("?key=%(key)s&offset=", "offset"),
])
def test_refusals(node, query, says):
    assert_error(node.get("/api/payments" + query % {"key": Key().pub}), 400, says)


def test_wrong_method(node):
    assert_error(request(node.port, "POST", f"/api/payments?key={node.pub}", "{}"), 405)
