"""Long answers and answers that wait for the signature workers: the whole
chain streamed from a snapshot when it is long (GET /getblocks), POST /inv
and POST /block answered once their signatures are checked off the event
loop, in order on a keep-alive connection, and clients that go away
meanwhile (docs/architecture.md, "Threads")."""
import hashlib
import json
import os
import re
import socket
import struct
import time

import ecdsa
import pytest

from conftest import (GENESIS_HASH, WAIT_S, Key, Response, assert_error, block_on, exchange,
                      payment, sha256_hex, wait_until)

QUIET = ["--mine-on-start", "no"]
NEVER = 255  # --n-transactions that no test reaches
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "chain-1000.jsonl")
STREAMED_ABOVE = 256 << 10  # the node streams a whole chain longer than this


def fixture_blocks(n=None):
    with open(FIXTURE) as f:
        lines = [line.rstrip("\n") for line in f]
    return lines[:n] if n else lines


def fixture_miner():
    """The key every fixture block rewards (tests/fixtures/make_chain.py)."""
    label = "cheesechain fixture miner"
    secret = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big")
    secret = secret % (ecdsa.NIST192p.order - 1) + 1
    return Key(secret.to_bytes(24, "big").hex())


def hash_of(text):
    return json.loads(text)["hash"]


def forged(tx_text):
    """The same payment with the last digit of its signature changed."""
    prefix = '{"signature": "'
    assert tx_text.startswith(prefix)
    at = len(prefix) + 95
    return tx_text[:at] + ("1" if tx_text[at] == "0" else "0") + tx_text[at + 1:]


def raw_request(method, path, body=None, close=False):
    body = body.encode() if isinstance(body, str) else body
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def read_answer(f):
    """One answer from a socket file: headers, then Content-Length bytes."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline()
        assert line, f"connection closed after {head!r}"
        head += line
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    body = f.read(length)
    return Response(head + body)


def post_all(node, texts):
    """Posts blocks in order over one keep-alive connection."""
    with socket.create_connection(("127.0.0.1", node.port), timeout=WAIT_S) as s:
        f = s.makefile("rb")
        for text in texts:
            s.sendall(raw_request("POST", "/block", text))
            resp = read_answer(f)
            assert resp.status == 200, resp


def whole_document(texts_by_height):
    """{"chain": [[b0], [b1, b1'], ...]} exactly as the node writes it."""
    return '{"chain": [' + ", ".join("[" + ", ".join(h) + "]"
                                     for h in texts_by_height) + "]}"


@pytest.fixture(scope="module")
def long_node(make_module_node):
    """A node holding the 1,000-block fixture chain (about 690 KB as one
    document), which does not mine."""
    node = make_module_node(n_transactions=NEVER, extra=QUIET)
    texts = fixture_blocks()
    post_all(node, texts)
    assert node.tip()["hash"] == hash_of(texts[-1])
    return node


def tip_of(node):
    resp = node.get("/getblocks?limit=1&locator=" + GENESIS_HASH)
    assert resp.status == 200, resp
    return resp.json()["height"], node.tip()["hash"]


# ---- the whole chain, streamed -----------------------------------------------------------

def test_long_chain_streamed_byte_for_byte(long_node):
    node = long_node
    genesis = node.block(GENESIS_HASH)
    want = whole_document([[genesis]] + [[t] for t in fixture_blocks()])
    assert len(want) > STREAMED_ABOVE
    resp = node.get("/getblocks")  # Response checks Content-Length against the body
    assert resp.status == 200
    assert resp.body == want
    chain = resp.json()["chain"]
    assert len(chain) == 1001 and [b["nr"] for (b,) in chain] == list(range(1001))


def test_streamed_chain_then_more_requests_on_one_connection(long_node):
    """Pipelined behind a streamed answer, requests wait for its end and are
    answered in order on the same connection."""
    node = long_node
    whole = node.get("/getblocks").body
    height, tip = tip_of(node)
    data = (raw_request("GET", "/getblocks") + raw_request("GET", f"/getblocks?id={tip}") +
            raw_request("GET", "/getblocks") +
            raw_request("GET", f"/getdata?id={GENESIS_HASH}", close=True))
    with socket.create_connection(("127.0.0.1", node.port), timeout=WAIT_S) as s:
        s.sendall(data)
        f = s.makefile("rb")
        first, by_id, second, genesis = (read_answer(f) for _ in range(4))
        assert f.read() == b""  # closed after the last, nothing more
    assert first.status == second.status == 200
    assert first.body == whole and second.body == whole
    assert [b["hash"] for b in by_id.json()["chain"]] == [tip]
    assert hash_of(genesis.body) == GENESIS_HASH


def slow_down(s):
    """Before connecting: a small receive window and small segments, so that
    the node's socket buffer stays small too (Linux sizes it from the
    segment size): the node cannot hand a long answer to the kernel at once,
    it has to wait for this client to read."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)


def test_slow_reader_gets_its_snapshot_while_the_chain_grows(long_node):
    node = long_node
    miner = fixture_miner()
    before = node.get("/getblocks").body
    height, tip = tip_of(node)

    with socket.socket() as slow:
        slow_down(slow)
        slow.settimeout(WAIT_S)
        slow.connect(("127.0.0.1", node.port))
        slow.sendall(raw_request("GET", "/getblocks", close=True))
        received = [slow.recv(1024)]
        assert received[0].startswith(b"HTTP/1.1 200")

        # meanwhile, other clients: new blocks (one with a payment, whose
        # signature goes to the workers), a side block, reads
        pay = payment(miner, Key().pub, 0.5)
        new = [block_on(tip, height + 1, miner.pub, [pay])]
        new.append(block_on(new[0].hash, height + 2, miner.pub))
        new.append(block_on(new[1].hash, height + 3, miner.pub))
        side = block_on(new[0].hash, height + 2, Key().pub)
        for block in new + [side]:
            answer = node.post_ok("/block", block.text)
            assert answer["hash"] == block.hash
        assert tip_of(node) == (height + 3, new[-1].hash)
        grown = node.get("/getblocks").body
        assert side.hash in grown and len(grown) > len(before)

        # then the slow client reads the rest, a little at a time
        while chunk := slow.recv(4096):
            received.append(chunk)
            time.sleep(0.002)
    resp = Response(b"".join(received))
    assert resp.status == 200
    assert resp.body == before
    for block in new + [side]:
        assert block.hash not in resp.body


def test_clients_leaving_mid_stream(long_node):
    """Clients that read a few bytes of a streamed chain and go (closing or
    resetting) cost the node nothing: it keeps answering, and at the end of
    the module it stops with exit status 0 and no leak."""
    node = long_node
    for reset in (False, True, False, True):
        s = socket.socket()
        slow_down(s)
        s.settimeout(WAIT_S)
        s.connect(("127.0.0.1", node.port))
        s.sendall(raw_request("GET", "/getblocks"))
        assert s.recv(100).startswith(b"HTTP/1.1 200")
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    whole = node.get("/getblocks")
    assert whole.status == 200 and len(whole.body) > STREAMED_ABOVE


# ---- answers after the signature check ---------------------------------------------------

def test_pipelined_inv_answered_in_order(long_node):
    node = long_node
    miner = fixture_miner()
    height, tip = tip_of(node)
    first, bad, last = (payment(miner, Key().pub, 0.001) for _ in range(3))
    requests = [
        ("first payment", raw_request("POST", "/inv", first)),
        ("malformed", raw_request("POST", "/inv", "{}")),
        ("first again", raw_request("POST", "/inv", first)),
        ("bad signature", raw_request("POST", "/inv", forged(bad))),
        ("a read", raw_request("GET", f"/getblocks?id={tip}")),
        ("last payment", raw_request("POST", "/inv", last, close=True)),
    ]
    with socket.create_connection(("127.0.0.1", node.port), timeout=WAIT_S) as s:
        s.sendall(b"".join(data for _, data in requests))
        f = s.makefile("rb")
        answers = {what: read_answer(f) for what, _ in requests}
        assert f.read() == b""
    assert answers["first payment"].json()["txid"] == sha256_hex(first)
    assert_error(answers["malformed"], 400)
    assert_error(answers["first again"], 400, says="already exists")
    assert_error(answers["bad signature"], 400, says="signature")
    assert [b["hash"] for b in answers["a read"].json()["chain"]] == [tip]
    assert answers["last payment"].json()["txid"] == sha256_hex(last)
    # the bad one was not taken; the good ones wait in the mempool
    assert_error(node.post("/inv", first), 400, says="already exists")
    assert node.post_ok("/inv", bad)["txid"] == sha256_hex(bad)


def test_block_with_a_bad_signature_in_the_middle(long_node):
    node = long_node
    miner = fixture_miner()
    height, tip = tip_of(node)
    txs = [payment(miner, Key().pub, 0.001) for _ in range(5)]
    # the first is already known (waiting in the mempool): the place named
    # is still the one in the block
    assert node.post_ok("/inv", txs[0])["txid"] == sha256_hex(txs[0])
    for at in (3, 1, 4):
        with_bad = txs[:at] + [forged(txs[at])] + txs[at + 1:]
        block = block_on(tip, height + 1, miner.pub, with_bad)
        assert_error(node.post("/block", block.text), 400,
                     says=f"transaction {at}: invalid signature")
        assert tip_of(node) == (height, tip)
    good = block_on(tip, height + 1, miner.pub, txs)
    assert node.post_ok("/block", good.text)["message"] == "Block accepted"
    assert tip_of(node) == (height + 1, good.hash)


# ---- clients that do not wait for their answer --------------------------------------------

def send_and_go(port, data, how):
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    s.sendall(data)
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_clients_closing_right_after_posting(make_node):
    node = make_node(n_transactions=NEVER, extra=QUIET)
    texts = fixture_blocks(20)
    post_all(node, texts)
    miner = fixture_miner()
    tip, height = hash_of(texts[-1]), 20

    # payments and a block with payments, each waiting for the workers when
    # its client closes (FIN) or resets the connection
    closed = [payment(miner, Key().pub, 0.01) for _ in range(6)]
    reset = [payment(miner, Key().pub, 0.01) for _ in range(6)]
    for text in closed:
        send_and_go(node.port, raw_request("POST", "/inv", text), "close")
    for text in reset:
        send_and_go(node.port, raw_request("POST", "/inv", text), "reset")
    block = block_on(tip, height + 1, miner.pub, [payment(miner, Key().pub, 0.02)])
    send_and_go(node.port, raw_request("POST", "/block", block.text), "close")
    other = block_on(tip, height + 1, Key().pub, [payment(miner, Key().pub, 0.03)])
    send_and_go(node.port, raw_request("POST", "/block", other.text), "reset")

    # clients that half-close after posting still get their answers
    for _ in range(10):
        half = payment(miner, Key().pub, 0.01)
        answer = Response(exchange(node.port, raw_request("POST", "/inv", half), shutdown=True))
        assert answer.json()["txid"] == sha256_hex(half)

    # what came whole was handled even though nobody waited for the answer
    wait_until(lambda: tip_of(node)[1] in (block.hash, other.hash), "the posted block")
    assert node.get(f"/getdata?id={block.hash}").status == 200
    for text in closed:
        assert_error(node.post("/inv", text), 400, says="already exists")
    assert node.get("/getblocks").status == 200
    node.stop()  # exit status 0, no sanitizer report
