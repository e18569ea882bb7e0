"""Keys are hex, and a user may paste one in upper or mixed case: the node
takes it as the same key on POST /api/send, GET /api/balance, POST /money
and through cheese-cli, on both networks, and pays, counts and answers it
in the lowercase spelling the wire carries. What arrives on the wire is
judged as before: a payment whose key is not lowercase is refused, and text
that is no key at all is refused with the same error as ever
(docs/api.md, docs/http-network.md).
"""
import json
import os
import subprocess
from fractions import Fraction

from conftest import BUILD, WAIT_S, Key, assert_error, payment, wait_until
import test_cheese_network as cheese

HTTP_KEY_ERROR = "key must be a P-192 public key of 96 lowercase hex characters"
HTTP_RECIPIENT_ERROR = ("the recipient must be a P-192 public key of 96 lowercase hex "
                        "characters: coins sent to anything else could never be spent")


def mixed(key):
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(key))


def cli(port, *args):
    result = subprocess.run([os.path.join(BUILD, "cheese-cli"), "--node", str(port), "--json",
                             *args], capture_output=True, text=True, timeout=WAIT_S)
    assert result.returncode == 0, result
    return json.loads(result.stdout)


def test_http_key_in_any_case_is_the_same_key(make_node):
    node = make_node(n_transactions=255, extra=["--faucet-max-recipient", "1"])
    node.wait_height(1)  # its block 1 pays it 1
    payee = Key()
    upper = payee.pub.upper()
    assert upper != payee.pub

    # the owner's payment to the upper-case spelling: the text signed, put
    # on the wire and mined names the key in lower case
    resp = node.post("/api/send", json.dumps({"to": upper, "sum": 0.25}))
    assert resp.status == 200, resp
    assert f'"to": "{payee.pub}"' in resp.body and upper not in resp.body
    assert resp.json()["transaction"]["transaction"]["to"] == payee.pub
    # the faucet's: the same, and its limit per key counts every spelling as one key
    resp = node.money(mixed(payee.pub), 0.5)
    assert resp.status == 200, resp
    assert resp.json()["transaction"]["transaction"]["to"] == payee.pub
    assert_error(node.money(upper, 0.75), 429)  # 0.5 + 0.75 > 1 for this one key
    # through cheese-cli
    sent = cli(node.port, "send", upper, "0.125")
    assert sent["transaction"]["transaction"]["to"] == payee.pub

    height = node.post("/api/mine", "").json()["mining"]
    node.wait_height(height)
    balances = [node.get(f"/api/balance?key={k}").json() for k in (payee.pub, upper,
                                                                    mixed(payee.pub))]
    assert balances[0]["key"] == payee.pub
    assert Fraction(balances[0]["balance_exact"]) == Fraction(7, 8)
    assert balances == [balances[0]] * 3
    assert cli(node.port, "balance", upper) == balances[0]


def test_http_keys_on_the_wire_and_non_keys_are_judged_as_before(make_node):
    node = make_node(n_transactions=255)
    node.wait_height(1)
    payee = Key()
    # a payment whose recipient is upper case is not one the network carries
    resp = node.post("/inv", payment(Key(), payee.pub.upper(), 1))
    assert_error(resp, 400, "lowercase")
    # no hex: the same errors as before, in either case
    for bad in ("ab" * 47 + "gg", "AB" * 47 + "GG", "Zz" * 48, payee.pub[:-1]):
        assert assert_error(node.get(f"/api/balance?key={bad}"), 400) == HTTP_KEY_ERROR
        resp = node.post("/api/send", json.dumps({"to": bad, "sum": 0.25}))
        assert assert_error(resp, 400) == HTTP_KEY_ERROR
        assert assert_error(node.money(bad, 0.25), 400) == HTTP_RECIPIENT_ERROR
    assert node.get("/api/mempool").json()["count"] == 0


def test_cheese_rsa_key_in_any_case_is_the_same_key(tmp_path):
    tracker = cheese.Tracker(str(tmp_path)).start()
    node = cheese.Node(str(tmp_path / "node"), tracker.port, n_transactions=cheese.NEVER)
    try:
        node.start()
        node.mine()  # a reward of 10
        payee = cheese.RsaKey()
        upper = payee.pub.upper()
        status, doc = cheese.http(node.api_port, "POST", "/api/send",
                                  json.dumps({"to": upper, "sum": 2}))
        assert status == 200, doc
        assert doc["transaction"]["recipient"] == payee.pub
        sent = cli(node.api_port, "send", mixed(payee.pub), "1")
        assert sent["transaction"]["recipient"] == payee.pub
        node.mine()
        for key in (payee.pub, upper, mixed(payee.pub)):
            doc = node.get(f"/api/balance?key={key}")
            assert (doc["key"], doc["balance_exact"]) == (payee.pub, "3")
        assert cli(node.api_port, "balance", upper)["balance_exact"] == "3"
        # no RSA key: the same error in either case
        errors = set()
        for bad in (payee.pub[:-2] + "zz", payee.pub[:-2].upper() + "ZZ"):
            status, doc = cheese.http(node.api_port, "GET", f"/api/balance?key={bad}")
            assert status == 400
            errors.add(doc["errmsg"])
        assert errors == {"key must be the lowercase hex of a DER RSA public key (30819f30...)"}
    finally:
        node.stop()
        tracker.stop()
