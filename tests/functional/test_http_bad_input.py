"""Every endpoint against malformed, hostile or invalid input.

Each case must get {"errcode": N, "errmsg": "..."} with HTTP status N, and
must change nothing: /getblocks stays byte for byte the same, and a valid
transaction sent afterwards is mined (the node runs with --n-transactions 1)
in a block that holds it and the reward only, so nothing bad slipped into
the mempool either.
"""
import json
import re

import pytest

from conftest import (GENESIS_HASH, Key, Response, assert_error, block_on, block_text, exchange,
                      make_block, merkle_root, payment, request, reward, sha256_hex, signed_text,
                      tx_message, vectors)

MAX_BODY = 65536  # room for 10,000-deep nesting


@pytest.fixture(scope="module")
def funded(make_module_node):
    """A node that mines every transaction at once, and a key holding 1."""
    node = make_module_node(n_transactions=1,
                            extra=["--mine-on-start", "no", "--max-body", str(MAX_BODY)])
    key = Key()
    node.post_ok("/block", block_on(GENESIS_HASH, 1, key.pub).text)
    return node, key


def probe(node, key):
    """A valid payment is still accepted and mined alone with the reward."""
    height = len(node.chain())
    tx = payment(key, Key().pub, 0.001)
    node.post_ok("/inv", tx)
    best = node.wait_height(height)
    assert len(node.chain()) == height + 1
    mined = json.loads(node.block(best[height]["hash"]))["transactions"]
    assert mined[0] == json.loads(tx)
    assert [t["transaction"]["from"] for t in mined] == [key.pub, "System"]
    return tx


def refused(funded, send, status=400, says=None):
    """send() is answered with the error and leaves the node as it was."""
    node, key = funded
    before = node.get("/getblocks").body
    assert_error(send(node), status, says)
    assert node.get("/getblocks").body == before
    probe(node, key)


# ---- texts ------------------------------------------------------------------------------

def with_member(text, name, value):
    """text with the value of its first member `name` replaced (raw JSON),
    or the member removed when value is None."""
    pattern = re.compile(r'"%s": ("(?:[^"\\]|\\.)*"|\{[^{}]*\}|[^,{}\[\]]+),?' % name)
    match = pattern.search(text)
    assert match, (name, text)
    new = "" if value is None else f'"{name}": {value},'
    if value is not None and not match.group(0).endswith(","):
        new = new[:-1]
    result = text[:match.start()] + new + text[match.end():]
    return result.replace(",}", "}")


def signed_with(key, **fields):
    """A transaction from key, correctly signed over the raw field texts given
    (JSON fragments: sum=1e400, timestamp='"a\\"b"'), however bad they are."""
    raw = {"from": f'"{key.pub}"', "to": f'"{Key().pub}"', "sum": "0.001",
           "timestamp": '"2026-01-01T00:00:00.000000"', **fields}
    message = "{" + ",".join(f'"{k}": {v}' for k, v in raw.items()) + "}"
    return signed_text(key.sign(message), message)


def nested(depth):
    return "[" * depth + "]" * depth


MALFORMED_JSON = {
    "empty": "", "open brace": "{", "mismatched": "{]", "truncated": '{"signature": "Sys',
    "trailing comma": '{"signature": "System",}', "bare word": "nul", "nul byte": "\x00",
    "two values": "{} {}", "single quotes": "{'signature': 'x'}",
    "array": "[]", "number": "1", "string": '"x"', "null": "null", "true": "true",
    "deep nesting": nested(10_000), "deep object": '{"a":' * 10_000 + "1" + "}" * 10_000,
}


# ---- /inv ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
@pytest.mark.parametrize("path", ["/inv", "/block", "/money"])
def test_malformed_json(funded, path, body):
    refused(funded, lambda node: node.post(path, body))


def test_non_utf8_body(funded):
    refused(funded, lambda node: node.post("/inv", b'{"signature": "\xff\xfe"}'))


SUMS = ["0", "0.0", "-0.0", "-1", "-0.5", "1e400", "-1e400", "NaN", "Infinity", "-Infinity",
        '"1"', '"0.001"', "true", "null", "[1]", "{}", "0x10", "1e", ".5", "01",
        "123456789012345678901234567890"]  # beyond 64 bits: refused, not rounded


@pytest.mark.parametrize("amount", SUMS)
def test_inv_bad_sum(funded, amount):
    refused(funded, lambda node: node.post("/inv", signed_with(funded[1], sum=amount)))


@pytest.mark.parametrize("amount", ["1e+308", "1.7976931348623157e+308", "5", "2.0"])
def test_inv_sum_beyond_funds(funded, amount):
    refused(funded, lambda node: node.post("/inv", signed_with(funded[1], sum=amount)),
            says="Insufficient funds")


def bad_keys(key):
    return {"non-hex": '"' + "zz" * 48 + '"', "short": f'"{key.pub[:-1]}"',
            "long": f'"{key.pub}0"', "empty": '""', "uppercase": f'"{key.pub.upper()}"',
            "number": "5", "null": "null", "System": '"System"'}


@pytest.mark.parametrize("which", list(bad_keys(Key())))
@pytest.mark.parametrize("field", ["from", "to"])
def test_inv_bad_key(funded, field, which):
    key = funded[1]
    tx = signed_with(key, **{field: bad_keys(key)[which]})
    refused(funded, lambda node: node.post("/inv", tx))


BAD_STRINGS = {"quote": r'"a\"b"', "backslash": r'"a\\b"', "newline": r'"a\nb"',
               "control": r'"a\u0001b"', "raw tab": '"a\tb"', "non-ascii escaped": r'"caf\u00e9"',
               "non-ascii raw": '"café"', "nul escaped": r'"a\u0000b"', "number": "5",
               "null": "null", "object": "{}", "too long": '"' + "1" * 200 + '"'}


@pytest.mark.parametrize("value", BAD_STRINGS.values(), ids=BAD_STRINGS.keys())
def test_inv_bad_timestamp(funded, value):
    refused(funded, lambda node: node.post("/inv", signed_with(funded[1], timestamp=value)))


def valid_tx(key):
    return payment(key, Key().pub, 0.001)


TX_DAMAGE = {
    "no signature": lambda t: with_member(t, "signature", None),
    "no transaction": lambda t: '{"signature": "%s"}' % json.loads(t)["signature"],
    "no from": lambda t: with_member(t, "from", None),
    "no to": lambda t: with_member(t, "to", None),
    "no sum": lambda t: with_member(t, "sum", None),
    "no timestamp": lambda t: with_member(t, "timestamp", None),
    "signature number": lambda t: with_member(t, "signature", "5"),
    "signature null": lambda t: with_member(t, "signature", "null"),
    "signature non-hex": lambda t: with_member(t, "signature", '"' + "g" * 96 + '"'),
    "signature short": lambda t: with_member(t, "signature", '"%s"' % ("ab" * 47)),
    "signature uppercase": lambda t: with_member(
        t, "signature", '"%s"' % json.loads(t)["signature"].upper()),
    "signature System": lambda t: with_member(t, "signature", '"System"'),
    "transaction as text": lambda t: '{"signature": "%s","transaction": "%s"}' % (
        json.loads(t)["signature"], json.dumps(json.loads(t)["transaction"]).replace('"', "'")),
    "transaction list": lambda t: '{"signature": "%s","transaction": []}' % (
        json.loads(t)["signature"]),
    "sum tampered": lambda t: with_member(t, "sum", "0.002"),
    "to swapped": lambda t: with_member(t, "to", '"%s"' % Key().pub),
}


@pytest.mark.parametrize("damage", TX_DAMAGE.values(), ids=TX_DAMAGE.keys())
def test_inv_damaged_transaction(funded, damage):
    tx = damage(valid_tx(funded[1]))
    refused(funded, lambda node: node.post("/inv", tx))


def test_inv_tampered_vector(funded):
    refused(funded, lambda node: node.post("/inv", tampered_vector()))


def test_inv_bad_signature_says_so(funded):
    refused(funded, lambda node: node.post("/inv", tampered_tx(funded[1])), says="signature")


def test_inv_system_transaction(funded):
    refused(funded, lambda node: node.post("/inv", reward(funded[1].pub)))


def test_inv_overspend(funded):
    refused(funded, lambda node: node.post("/inv", payment(funded[1], Key().pub, 2)),
            says="Insufficient funds")


def test_inv_from_a_key_without_coins(funded):
    refused(funded, lambda node: node.post("/inv", payment(Key(), Key().pub, 0.001)),
            says="Insufficient funds")


def test_inv_duplicates(funded):
    node, key = funded
    message = tx_message(key.pub, Key().pub, 0.001, "2026-01-01T00:00:00.123456")
    height = len(node.chain())
    node.post_ok("/inv", signed_text(key.sign(message), message))
    node.wait_height(height)
    refused(funded, lambda n: n.post("/inv", signed_text(key.sign(message), message)),
            says="Transaction already exists")


def test_inv_duplicates_in_the_mempool(make_node):
    node = make_node(n_transactions=255, extra=["--mine-on-start", "no"])
    key = Key()
    node.post_ok("/block", block_on(GENESIS_HASH, 1, key.pub).text)
    message = tx_message(key.pub, Key().pub, 0.25, "2026-01-01T00:00:00.000001")
    first = signed_text(key.sign(message), message)
    node.post_ok("/inv", first)
    for again in (first, signed_text(key.sign(message), message)):
        assert_error(node.post("/inv", again), 400, "Transaction already exists")
    # only the first is waiting: 0.75 of the 1 is left to spend
    assert_error(node.post("/inv", payment(key, Key().pub, 0.750001)), 400, "Insufficient funds")
    node.post_ok("/inv", payment(key, Key().pub, 0.75))


# ---- /money -----------------------------------------------------------------------------------

def money_body(to='"%s"' % Key().pub, amount="0.001"):
    return '{"to": %s, "sum": %s}' % (to, amount)


MONEY_BAD = {
    **{f"sum {s}": money_body(amount=s) for s in SUMS},
    # a key in upper case is no bad key here: /money pays it in lowercase
    # (test_key_case.py), while /inv refuses it (test_inv_bad_key)
    **{f"to {k}": money_body(to=v) for k, v in bad_keys(Key()).items() if k != "uppercase"},
    **{f"to {k}": money_body(to=v) for k, v in BAD_STRINGS.items()},
    "no to": '{"sum": 1}', "no sum": '{"to": "%s"}' % Key().pub, "empty object": "{}",
}


@pytest.mark.parametrize("body", MONEY_BAD.values(), ids=MONEY_BAD.keys())
def test_money_bad_request(funded, body):
    refused(funded, lambda node: node.post("/money", body))


@pytest.mark.parametrize("amount", ["6", "5.000001", "1e308"])
def test_money_over_the_faucet_limit(funded, amount):
    refused(funded, lambda node: node.post("/money", money_body(amount=amount)), 429)


# ---- /block -----------------------------------------------------------------------------------

def tip_of(node):
    tip = node.tip()
    return tip["hash"], tip["nr"]


def tampered_tx(key):
    return with_member(valid_tx(key), "sum", "0.002")


def tampered_vector():
    return next(t for t in vectors()["transactions"] if not t["valid"])["signed_json"]


def rehashed(block, new_hash):
    return block.text.replace(block.hash, new_hash)


def member(name, value):
    """A valid next block with one member's raw value replaced (None: removed)."""
    return lambda h, n, k: with_member(block_on(h, n + 1, k.pub).text, name, value)


def listing(raw):
    """A valid next block whose transactions list is replaced by raw JSON."""
    return lambda h, n, k: re.sub(r'"transactions": \[.*\]', f'"transactions": {raw}',
                                  block_on(h, n + 1, k.pub).text)


def txs(*make, **kw):
    """A block on the tip holding the transactions that make(key) returns."""
    return lambda h, n, k: make_block(h, n + 1, [m(k) for m in make], **kw).text


def paid(*make, **kw):
    """The same with the reward of 1 after them."""
    return lambda h, n, k: block_on(h, n + 1, k.pub, [m(k) for m in make], **kw).text


def three_zeros(h, n, k):
    """A block on the tip whose hash starts with 000 but not 0000: one hex
    digit short of the proof of work."""
    txs = [reward(k.pub)]
    root = merkle_root([sha256_hex(t) for t in txs])
    for i in range(10_000_000):
        nonce = f"z{i:019d}"
        pre = block_text(n + 1, h, "t", nonce, "miner", root, 1, txs)
        digest = sha256_hex(pre)
        if digest.startswith("000") and digest[3] != "0":
            return block_text(n + 1, h, "t", nonce, "miner", root, 1, txs, digest)
    raise AssertionError("no nonce found")


# Each builder gets the tip's hash and nr and the funded key.
BAD_BLOCKS = {
    "proof of work": txs(lambda k: reward(k.pub), pow_ok=False),
    "proof of work 000": three_zeros,
    "wrong hash": lambda h, n, k: (lambda b: rehashed(b, "0000" + sha256_hex(b.hash)[4:]))(
        block_on(h, n + 1, k.pub)),
    "hash uppercase": lambda h, n, k: (lambda b: rehashed(b, b.hash.upper()))(
        block_on(h, n + 1, k.pub)),
    "merkle root": txs(lambda k: reward(k.pub), root="ab" * 32),
    "merkle root of other txs": txs(lambda k: reward(k.pub),
                                    root=merkle_root([sha256_hex(reward(Key().pub))])),
    "count too high": txs(lambda k: reward(k.pub), count=2),
    "count zero": txs(lambda k: reward(k.pub), count=0),
    "no transactions": txs(root="ab" * 32),
    "reward 2": txs(lambda k: reward(k.pub, 2)),
    "reward 1.5": txs(lambda k: reward(k.pub, 1.5)),
    "reward negative": txs(lambda k: reward(k.pub, -1)),
    "reward NaN": txs(lambda k: reward(k.pub, "NaN")),
    "reward to a bad key": txs(lambda k: reward("zz" * 48)),
    "two rewards": txs(lambda k: reward(k.pub), lambda k: reward(Key().pub)),
    "System without System signature": txs(
        lambda k: signed_text("ab" * 48, tx_message("System", k.pub, 1, "t"))),
    "bad signature": paid(tampered_tx),
    "tampered vector": paid(lambda k: tampered_vector()),
    "overspend": paid(lambda k: payment(k, Key().pub, 5)),
    "unfunded sender": paid(lambda k: valid_tx(Key())),
    "spends twice": lambda h, n, k: (lambda t: block_on(h, n + 1, k.pub, [t, t]).text)(
        valid_tx(k)),
    "creator with quote": paid(creator='a\\"b'),
    "creator non-ascii": paid(creator="caf\\u00e9"),
    "timestamp control": paid(timestamp="a\\u0001"),
    "nr skips": lambda h, n, k: block_on(h, n + 2, k.pub).text,
    "nr repeats parent": lambda h, n, k: block_on(h, n, k.pub).text,
    "nr zero": lambda h, n, k: block_on(h, 0, k.pub).text,
    "nr negative": lambda h, n, k: block_on(h, -1, k.pub).text,
    "previous_hash not hex": lambda h, n, k: block_on("xyz", n + 1, k.pub).text,
    "previous_hash uppercase": lambda h, n, k: block_on(h.upper(), n + 1, k.pub).text,
    "nr text": lambda h, n, k: member("nr", f'"{n + 1}"')(h, n, k),
    "nr float": lambda h, n, k: member("nr", f"{n + 1}.0")(h, n, k),
    "count text": member("count", '"1"'),
    "transactions object": listing("{}"),
    "transaction as text": listing('["x"]'),
    **{f"no {name}": member(name, None)
       for name in ("hash", "nonce", "creator", "merkle_root", "previous_hash", "nr", "count")},
}


@pytest.mark.parametrize("build", BAD_BLOCKS.values(), ids=BAD_BLOCKS.keys())
def test_bad_block(funded, build):
    node, key = funded
    text = build(*tip_of(node), key)
    refused(funded, lambda n: n.post("/block", text))


def test_block_with_an_already_mined_transaction(funded):
    node, key = funded
    mined = probe(node, key)
    text = block_on(*tip_of(node)[:1], tip_of(node)[1] + 1, key.pub, [mined]).text
    refused(funded, lambda n: n.post("/block", text))


def test_duplicate_blocks(funded):
    node, _ = funded
    tip = node.block(node.tip()["hash"])
    for text in (tip, vectors()["genesis"]["json"]):
        refused(funded, lambda n: n.post("/block", text), says="Block already exists")


def test_genesis_with_another_nonce(funded):
    genesis = make_block("", 0, [vectors()["genesis"]["json"].split('"transactions": [')[1][:-2]],
                         creator="Satoshi Nakamoto", timestamp="01/01/2009")
    refused(funded, lambda n: n.post("/block", genesis.text))


# ---- GET endpoints, paths, methods, HTTP framing --------------------------------------------

BAD_IDS = ["?id=", "?id", "?id=" + GENESIS_HASH[:-1], "?id=" + GENESIS_HASH + "0",
           "?id=" + GENESIS_HASH.upper(), "?id=" + "g" * 64, "?id=%22" + GENESIS_HASH[3:]]


@pytest.mark.parametrize("target", ["/getdata", *["/getdata" + q for q in BAD_IDS],
                                    *["/getblocks" + q for q in BAD_IDS]])
def test_bad_block_id(funded, target):
    refused(funded, lambda node: node.get(target))


@pytest.mark.parametrize("path", ["/getdata", "/getblocks"])
def test_unknown_block_id(funded, path):
    refused(funded, lambda node: node.get(f"{path}?id={'ab' * 32}"), 404)


# "/" is the explorer page (test_explorer.py)
@pytest.mark.parametrize("path", ["/explorer/x", "/foo", "/getblocksx", "/inv/x", "/GETBLOCKS", "/money/1",
                                  "//getblocks", "/getdata/" + GENESIS_HASH])
def test_unknown_path(funded, path):
    refused(funded, lambda node: node.get(path), 404)


@pytest.mark.parametrize("method,path", [
    ("GET", "/inv"), ("GET", "/block"), ("GET", "/money"), ("POST", "/getblocks"),
    ("POST", "/getdata"), ("POST", "/getpeers"), ("PUT", "/block"), ("DELETE", "/inv"),
    ("HEAD", "/inv"), ("PATCH", "/money")])
def test_wrong_method(funded, method, path):
    refused(funded, lambda node: request(node.port, method, path, body="{}"), 405)


def raw(node, data, shutdown=True):
    return Response(exchange(node.port, data, shutdown=shutdown))


OVERSIZED = "x" * (MAX_BODY + 1)


@pytest.mark.parametrize("path", ["/inv", "/block", "/money"])
def test_oversized_body_with_length(funded, path):
    refused(funded, lambda node: node.post(path, OVERSIZED), 413)


@pytest.mark.parametrize("path", ["/inv", "/block", "/money"])
def test_oversized_body_until_close(funded, path):
    data = f"POST {path} HTTP/1.1\r\nHost: x\r\n\r\n{OVERSIZED}".encode()
    refused(funded, lambda node: raw(node, data), 413)


def test_huge_declared_length(funded):
    data = b"POST /inv HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{"
    refused(funded, lambda node: raw(node, data), 413)


@pytest.mark.parametrize("data", [
    b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET /getblocks HTTP/9.9\r\n\r\n",
    b"POST /inv HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST /inv HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"POST /inv HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}",
    b"GET /getblocks HTTP/1.1\r\nno colon here\r\n\r\n",
], ids=["garbage", "no target", "version", "negative length", "text length", "cut short",
        "bad header"])
def test_malformed_http(funded, data):
    refused(funded, lambda node: raw(node, data), 400)


def test_headers_too_large(funded):
    data = b"GET /getblocks HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    refused(funded, lambda node: raw(node, data, shutdown=False), 431)
