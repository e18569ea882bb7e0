"""cheese-cli against a real http-network node (docs/cli.md): every command,
readable and --json output, the exact bytes it sends (checked by a Python
server), and its exit statuses: 1 for the node's errors (with its errmsg),
2 for usage, 3 when no node answers."""
import json
import os
import re
import socket
import subprocess
import threading

import pytest

from conftest import (BUILD, GENESIS_HASH, WAIT_S, Key, free_port, request, wait_listening,
                      wait_until)

NEVER = 255  # --n-transactions no test reaches: only mine mines


def cli_path():
    return os.path.join(BUILD, "cheese-cli")


def cli(port, *args, cwd=None, node=True):
    """Runs cheese-cli; returns the CompletedProcess (text)."""
    argv = [cli_path()]
    if node:
        argv += ["--node", f"127.0.0.1:{port}"]
    proc = subprocess.run(argv + list(args), capture_output=True, text=True, cwd=cwd,
                          timeout=WAIT_S * 2)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in proc.stderr, proc.stderr
    return proc


def ok(port, *args, **kw):
    proc = cli(port, *args, **kw)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def ok_json(port, *args, **kw):
    return json.loads(ok(port, "--json", *args, **kw))


def fails(port, status, *args, says=None, **kw):
    proc = cli(port, *args, **kw)
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == "", proc.stdout
    assert proc.stderr.startswith("cheese-cli: "), proc.stderr
    if says:
        assert says in proc.stderr, proc.stderr
    return proc.stderr


def rows(text):
    """The "label: value" lines of readable output, as a dict."""
    out = {}
    for line in text.splitlines():
        if line.startswith("  "):
            continue
        label, sep, value = line.partition(":")
        assert sep, line
        out[label] = value.strip()
    return out


def aligned(text):
    """Every label: value line has its value in the same column."""
    columns = {len(line) - len(line.split(":", 1)[1].lstrip())
               for line in text.splitlines() if not line.startswith("  ")}
    return len(columns) == 1


def height_of(node):
    return request(node.port, "GET", "/api/info").json()["height"]


@pytest.fixture(scope="module")
def node(make_module_node):
    n = make_module_node(n_transactions=NEVER)
    n.wait_height(1)
    for height in (2, 3):  # funds for the payments below
        assert request(n.port, "POST", "/api/mine", "").json() == {"mining": height}
        n.wait_height(height)
    return n


# ---- help and usage --------------------------------------------------------------------------

def test_help_lists_every_command():
    proc = subprocess.run([cli_path(), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    for command in ("info", "balance [KEY]", "send TO AMOUNT", "block HASH|HEIGHT", "tx TXID",
                    "mempool", "peers", "mine", "export", "keys"):
        assert f"\n  {command}" in proc.stdout, command
    for flag in ("--node HOST:PORT", "--json", "--token-file F"):
        assert flag in proc.stdout


@pytest.mark.parametrize("args, says", [
    ((), "no command given"),
    (("frobnicate",), "unknown command 'frobnicate'"),
    (("block",), "usage: cheese-cli [options] block HASH|HEIGHT"),
    (("block", "1", "2"), "usage: cheese-cli [options] block HASH|HEIGHT"),
    (("block", "tip"), "block: give a block hash"),
    (("block", "-1"), "block: give a block hash (64 hex digits) or a height"),
    (("tx", "1234"), "tx: TXID must be 64 hex digits"),
    (("send", "abc"), "usage: cheese-cli [options] send TO AMOUNT"),
    (("send", "abc", "two"), "AMOUNT must be a number"),
    (("send", "abc", "1."), "AMOUNT must be a number"),
    (("info", "extra"), "usage: cheese-cli [options] info"),
    (("--node", "nowhere", "info"), "--node wants HOST:PORT"),
    (("--timeout", "0", "info"), "--timeout"),
    (("--bogus", "info"), "usage"),
    (("--timeout", "-1", "info"), "--timeout wants seconds, not '-1'"),
    # a negative amount is the command's argument, not an unknown option
    (("send", "abc", "-1"), "send: AMOUNT must be more than 0, not '-1'"),
    (("send", "abc", "-0.5"), "send: AMOUNT must be more than 0, not '-0.5'"),
    (("send", "abc", "0"), "send: AMOUNT must be more than 0, not '0'"),
    (("send", "abc", "0.000"), "send: AMOUNT must be more than 0, not '0.000'"),
    (("send", "abc", "1e-400"), "send: AMOUNT must be more than 0, not '1e-400'"),
    (("send", "abc", "--", "-1"), "send: AMOUNT must be more than 0, not '-1'"),
])
def test_bad_usage_exits_2(args, says):
    # nothing listens on the port: usage is refused before any request
    err = fails(free_port(), 2, *args, says=says)
    if args[:1] == ("send",) and "more than 0" in says:
        assert len(err.splitlines()) == 2, err  # the reason and the command's usage line


def test_options_anywhere_and_abbreviated():
    """Options may follow the command, be abbreviated as getopt allows, and
    take their value in the next argument or after '='."""
    port = free_port()
    for args in (("info", "--tim", "2"), ("--timeout=2", "info"), ("info", "--timeout", "2")):
        fails(port, 3, *args, says="cannot reach the node")


def test_node_down_exits_3():
    port = free_port()
    for args in (("info",), ("mine",), ("export",), ("block", "1")):
        err = fails(port, 3, *args, says="cannot reach the node")
        assert f"127.0.0.1:{port}" in err and "refused" in err


# ---- reading ------------------------------------------------------------------------------------

def test_info(node):
    text = ok(node.port, "info")
    r = rows(text)
    assert aligned(text)
    assert r["network"] == "http"
    assert r["key"] == node.pub
    assert int(r["height"]) == height_of(node)
    assert r["tip"] == request(node.port, "GET", "/api/info").json()["tip"]
    assert r["sync"].startswith("idle")
    assert re.fullmatch(r"\d+\.\d+", r["balance"])


def test_json_is_the_nodes_answer(node):
    for args, path in ((("info",), "/api/info"), (("peers",), "/api/peers"),
                       (("mempool",), "/api/mempool"), (("block", "0"), "/api/block?height=0"),
                       (("balance", node.pub), f"/api/balance?key={node.pub}")):
        out = ok(node.port, "--json", *args)
        assert out == request(node.port, "GET", path).body + "\n", args
        json.loads(out)
    # options may follow the command too
    assert json.loads(ok(node.port, "info", "--json"))["key"] == node.pub


def test_balance(node):
    own = rows(ok(node.port, "balance"))
    assert own["key"] == node.pub
    assert float(own["balance"]) >= 1 and "spendable" in own
    other = Key().pub
    doc = ok_json(node.port, "balance", other)
    assert doc == {"key": other, "balance": 0.0, "balance_exact": "0", "spendable": 0.0,
                   "spendable_exact": "0"}
    assert rows(ok(node.port, "balance", other))["balance"] == "0.0"
    fails(node.port, 1, "balance", "not-a-key", says="96 lowercase hex characters (HTTP 400)")


def test_block_by_height_and_hash(node):
    genesis = ok_json(node.port, "block", "0")
    assert genesis["hash"] == GENESIS_HASH and genesis["height"] == 0
    text = ok(node.port, "block", GENESIS_HASH.upper())  # read in either case
    r = rows(text)
    assert aligned(text)
    assert r["hash"] == GENESIS_HASH and r["height"] == "0" and r["best chain"] == "yes"
    assert r["transactions"] == "1"
    assert "  1. System -> " in text


def test_unknown_block_and_tx_exit_1_with_the_nodes_message(node):
    fails(node.port, 1, "block", "ab" * 32, says="Block not found (HTTP 404)")
    fails(node.port, 1, "block", "999999", says="No block at height 999999")
    fails(node.port, 1, "tx", "cd" * 32, says="Transaction not found (HTTP 404)")


# ---- spending and mining -------------------------------------------------------------------------

def test_send_mempool_mine_block_tx(node):
    to = Key().pub
    sent = ok_json(node.port, "send", to, "0.5")
    txid = sent["txid"]
    assert re.fullmatch(r"[0-9a-f]{64}", txid)
    assert sent["transaction"]["transaction"]["to"] == to
    assert sent["transaction"]["transaction"]["sum"] == 0.5

    # readable send output
    text = ok(node.port, "send", to, "1")
    second = rows(text)
    assert re.fullmatch(r"[0-9a-f]{64}", second["txid"]) and second["to"] == to
    assert second["sum"] == "1"

    # the mempool shows both, in order
    pool = ok_json(node.port, "mempool")
    assert pool["count"] == 2
    assert [t["transaction"]["sum"] for t in pool["transactions"]] == [0.5, 1]
    text = ok(node.port, "mempool")
    assert rows(text)["waiting"] == "2"
    lines = [line for line in text.splitlines() if line.startswith("  ")]
    assert len(lines) == 2
    assert lines[0].startswith("  1. ") and to[-6:] in lines[0] and "  0.5  " in lines[0]

    waiting = ok_json(node.port, "tx", txid)
    assert waiting["status"] == "mempool" and waiting["confirmations"] == 0

    # mine: the answer comes at once, the block a little later
    height = height_of(node)
    assert rows(ok(node.port, "mine"))["mining"] == f"a block at height {height + 1}"
    wait_until(lambda: height_of(node) > height, "the mined block")
    block = ok_json(node.port, "block", str(height + 1))
    assert block["height"] == height + 1 and block["best"] is True
    assert [t["transaction"]["to"] for t in block["block"]["transactions"]][:2] == [to, to]
    text = ok(node.port, "block", str(height + 1))
    assert rows(text)["hash"] == block["hash"]
    assert rows(text)["transactions"] == "3"

    mined = ok_json(node.port, "tx", txid)
    assert mined["status"] == "mined" and mined["block"] == block["hash"]
    assert mined["height"] == height + 1 and mined["confirmations"] >= 1
    r = rows(ok(node.port, "tx", txid))
    assert r["txid"] == txid and r["status"] == "mined" and r["block"] == block["hash"]
    assert r["to"] == to and r["sum"] == "0.5"
    assert ok_json(node.port, "balance", to)["balance_exact"] == "3/2"
    assert ok_json(node.port, "mempool")["count"] == 0


def test_mine_wait(node):
    height = height_of(node)
    doc = ok_json(node.port, "mine", "--wait")
    assert doc["mining"] == height + 1
    assert doc["hash"] == ok_json(node.port, "block", str(height + 1))["hash"]
    r = rows(ok(node.port, "--wait", "mine"))
    assert r["mining"] == f"a block at height {height + 2}"
    assert re.fullmatch(r"0000[0-9a-f]{60}", r["mined"])


def test_send_refused_exits_1(node):
    fails(node.port, 1, "send", Key().pub, "1000000", says="Insufficient funds")
    fails(node.port, 1, "send", "nobody", "1", says="(HTTP 400)")
    # refused before asking the node (the node refuses it too: test_http_api.py)
    fails(node.port, 2, "send", Key().pub, "0", says="AMOUNT must be more than 0")


# ---- peers, export, keys ----------------------------------------------------------------------------

def test_peers(node, make_node, tmp_path):
    assert ok_json(node.port, "peers") == request(node.port, "GET", "/api/peers").json()
    defaults = tmp_path / "peers-default.json"
    defaults.write_text(json.dumps({"peers": [node.address]}))
    other = make_node(n_transactions=NEVER, extra=["--peers-default", str(defaults),
                                                   "--gossip-interval", "1",
                                                   "--mine-on-start", "no"])
    wait_until(lambda: node.address in ok_json(other.port, "peers")["peers"],
               "the second node to list the first")
    text = ok(other.port, "peers")
    assert int(rows(text)["peers"]) >= 1
    assert f"\n  {node.address}\n" in "\n" + text.split("\n", 1)[1]


def test_export_writes_the_getblocks_answer(node, tmp_path):
    out = ok(node.port, "export", cwd=tmp_path)
    path = tmp_path / f"blocks-{node.port}.json"
    body = request(node.port, "GET", "/getblocks").body
    assert path.read_text() == body  # the node mines nothing meanwhile: same bytes
    doc = json.loads(path.read_text())
    assert set(doc) == {"chain"} and doc["chain"][0][0]["hash"] == GENESIS_HASH
    r = rows(out)
    assert r["file"] == f"blocks-{node.port}.json"
    assert int(r["heights"]) == len(doc["chain"]) and int(r["bytes"]) == len(body)
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left

    # a name of one's own, and --json
    doc = ok_json(node.port, "export", "mine.json", cwd=tmp_path)
    assert doc == {"file": "mine.json", "heights": len(json.loads(body)["chain"]),
                   "bytes": len(body)}
    assert (tmp_path / "mine.json").read_text() == body

    # a file that cannot be written: exit 1, the old one untouched
    err = fails(node.port, 1, "export", "no/such/dir/x.json", cwd=tmp_path)
    assert "cannot create" in err
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, "mine.json"])


def test_keys(node, tmp_path):
    doc = ok_json(node.port, "keys", cwd=tmp_path)
    assert doc == {"network": "http", "key": node.pub, "wallet": None}
    assert "unknown" in rows(ok(node.port, "keys", cwd=tmp_path))["wallet"]
    wallet = os.path.realpath(os.path.join(node.datadir, "wallet.key"))
    doc = ok_json(node.port, "--datadir", node.datadir, "keys")
    assert doc["wallet"] == wallet
    # the node's default data directory, from where it was started
    os.makedirs(tmp_path / "data", exist_ok=True)
    os.symlink(node.datadir, tmp_path / "data" / f"http-{node.port}")
    assert ok_json(node.port, "keys", cwd=tmp_path)["wallet"] == wallet
    r = rows(ok(node.port, "keys", cwd=tmp_path))
    assert r == {"network": "http", "key": node.pub, "wallet": wallet}


def test_keys_ignores_a_wallet_of_another_key(node, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "wallet.key").write_text("11" * 24 + "\n")
    assert ok_json(node.port, "--datadir", str(other), "keys")["wallet"] is None


# ---- the token --------------------------------------------------------------------------------------

def test_token_file(make_node, tmp_path):
    locked = make_node(n_transactions=NEVER, extra=["--api-trust-loopback", "no"])
    fails(locked.port, 1, "mine", says="Forbidden")
    token = os.path.join(locked.datadir, "api.token")
    assert ok_json(locked.port, "--token-file", token, "mine")["mining"] >= 1
    assert ok_json(locked.port, "--datadir", locked.datadir, "mine")["mining"] >= 1
    wrong = tmp_path / "wrong.token"
    wrong.write_text("0" * 64 + "\n")
    fails(locked.port, 1, "--token-file", str(wrong), "mine", says="wrong API token")
    fails(locked.port, 2, "--token-file", str(tmp_path / "missing"), "mine",
          says="token file")
    (tmp_path / "empty.token").write_text("\n")
    fails(locked.port, 2, "--token-file", str(tmp_path / "empty.token"), "mine",
          says="does not hold a token")


# ---- the bytes on the wire ----------------------------------------------------------------------------

class FakeNode:
    """Answers every connection with one canned answer and keeps the requests."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
                while m and len(body) < int(m.group(1)):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                self.requests.append((head.decode(), body))
                conn.sendall(self.answer)

    def close(self):
        self.sock.close()


def answer(status, body):
    body = body.encode()
    return (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_empty_post_sends_content_length_zero_and_the_token(tmp_path):
    fake = FakeNode(answer(200, '{"mining": 7}'))
    try:
        token = tmp_path / "api.token"
        token.write_text("ab" * 32 + "\n")
        assert ok_json(fake.port, "--token-file", str(token), "mine") == {"mining": 7}
        head, body = fake.requests[0]
        lines = head.split("\r\n")
        assert lines[0] == "POST /api/mine HTTP/1.1"
        assert "Content-Length: 0" in lines and body == b""
        assert f"Authorization: Bearer {'ab' * 32}" in lines
        assert f"Host: 127.0.0.1:{fake.port}" in lines
        assert not any(line.lower().startswith("origin:") for line in lines)

        ok(fake.port, "--json", "send", "k\"ey", "2.50")
        head, body = fake.requests[1]
        assert head.startswith("POST /api/send HTTP/1.1\r\n")
        assert json.loads(body) == {"to": "k\"ey", "sum": 2.5}
        assert b'"sum": 2.50}' in body  # the amount as written
        assert f"\r\nContent-Length: {len(body)}" in head

        ok(fake.port, "--json", "info")  # GETs say Content-Length: 0 too, and no token
        head, _ = fake.requests[2]
        assert head.startswith("GET /api/info HTTP/1.1\r\n") and "Content-Length: 0" in head
        assert "Authorization" not in head
    finally:
        fake.close()


def test_balance_key_is_url_encoded():
    fake = FakeNode(answer(200, '{"key": "a b", "balance": 0.0, "balance_exact": "0"}'))
    try:
        ok(fake.port, "balance", "a b&c=d")
        assert fake.requests[0][0].startswith("GET /api/balance?key=a%20b%26c%3Dd HTTP/1.1")
    finally:
        fake.close()


def test_not_a_node_exits_3():
    fake = FakeNode(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<html/>\r\n")
    try:
        fails(fake.port, 3, "info", says="not a JSON object")
    finally:
        fake.close()
    fake = FakeNode(b"SSH-2.0-OpenSSH_9.2\r\n")
    try:
        fails(fake.port, 3, "info", says="cannot reach the node")
    finally:
        fake.close()


def test_tracker_port_is_no_node():
    """A cheese tracker greets first and then waits for its own protocol:
    cheese-cli says what it heard and exits 3 at once, not when its wait
    for an answer (here an hour) runs out."""
    port = free_port()
    tracker = subprocess.Popen([os.path.join(BUILD, "cheese-tracker"), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, tracker, "the tracker listening")
        err = fails(port, 3, "--timeout", "3600", "info",
                    says="not an HTTP answer: Connection Successful")
        assert "cannot reach the node" in err
    finally:
        tracker.terminate()
        tracker.wait(timeout=WAIT_S)


def test_error_without_errmsg_exits_1():
    fake = FakeNode(answer(502, "bad gateway"))
    try:
        fails(fake.port, 1, "info", says="HTTP 502: bad gateway")
    finally:
        fake.close()


HOSTILE = "x\u001b[2J\u001b]0;owned\u0007\rline\u009b1m\nforged: row"
CONTROLS = "\x1b\x07\r\x9b"


def test_a_hostile_nodes_control_characters_reach_no_terminal():
    """Text a node sends is printed with every control character escaped:
    in readable output, with --json (still valid JSON), and in its errors."""
    body = json.dumps({"height": 1, "tip": HOSTILE, "peers": 0, "balance": 0.0,
                       "balance_exact": "0", "key": HOSTILE}, ensure_ascii=False)
    assert "\x9b" in body  # a C1 control left raw in valid JSON
    fake = FakeNode(answer(200, body))
    try:
        out = ok(fake.port, "info")
        assert not any(c in out for c in CONTROLS), repr(out)
        assert "x\\x1b[2J" in out and "\\x9b1m" in out
        assert "forged" not in rows(out)  # a newline in a value stays inside it
        raw = ok(fake.port, "--json", "info")
        assert not any(c in raw for c in CONTROLS), repr(raw)
        assert json.loads(raw)["tip"] == HOSTILE  # escaped the JSON way: the same text
    finally:
        fake.close()
    for status, text in ((200, '{"tip": "x\x1b[2J\x07"}'),  # not JSON: quoted in the error
                         (400, json.dumps({"errcode": 400, "errmsg": HOSTILE}))):
        fake = FakeNode(answer(status, text))
        try:
            err = fails(fake.port, 1 if status == 400 else 3, "info")
            assert not any(c in err for c in CONTROLS), repr(err)
            assert "x\\x1b[2J" in err
        finally:
            fake.close()
