"""What a user of the http network sees from a running cheesed node."""
import json
import os
import socket
import subprocess
import threading

import pytest

from conftest import (BUILD, GENESIS_HASH, WAIT_S, Key, Node, assert_error, block_on, check_block,
                      exchange, free_port, payment, tx_message, verify, vectors, wait_listening,
                      wait_until)

QUIET = ["--mine-on-start", "no"]
NEVER = 255  # --n-transactions (the most allowed) that no test reaches


def txs_of(block):
    return [t["transaction"] for t in block["transactions"]]


def reward_to(block):
    return [t for t in txs_of(block) if t["from"] == "System"]


def can_spend_exactly(node, key, amount):
    """The branch gives key exactly `amount`: one more millionth is refused,
    the whole amount is accepted."""
    too_much = node.post("/inv", payment(key, Key().pub, amount + 0.000001))
    assert_error(too_much, 400, "Insufficient funds")
    node.post_ok("/inv", payment(key, Key().pub, amount))


def test_genesis_byte_for_byte_and_first_block_pays_the_node(make_node):
    node = make_node()
    assert node.block(GENESIS_HASH) == vectors()["genesis"]["json"]
    best = node.wait_height(1)
    assert best[0]["hash"] == GENESIS_HASH
    block1 = check_block(node.block(best[1]["hash"]))
    assert block1["nr"] == 1 and block1["previous_hash"] == GENESIS_HASH
    assert block1["creator"] == node.pub
    assert [(t["to"], t["sum"]) for t in txs_of(block1)] == [(node.pub, 1)]


def test_funded_key_spends_and_the_mined_block_checks_out(make_node):
    node = make_node(n_transactions=3)
    block1 = node.wait_height(1)[1]
    me, friend = Key(), Key()
    block2 = block_on(block1["hash"], 2, me.pub)
    answer = node.post_ok("/block", block2.text)
    assert answer["hash"] == block2.hash
    assert node.tip()["hash"] == block2.hash

    paid = node.money(friend.pub, 0.5)
    assert paid.status == 200, paid
    money_tx = paid.json()["transaction"]["transaction"]
    assert money_tx["from"] == node.pub and money_tx["to"] == friend.pub
    assert verify(node.pub, paid.json()["transaction"]["signature"],
                  tx_message(money_tx["from"], money_tx["to"], money_tx["sum"],
                             money_tx["timestamp"]))
    spends = [payment(me, friend.pub, 0.25), payment(me, Key().pub, 0.75)]
    for tx in spends:
        node.post_ok("/inv", tx)

    block3 = check_block(node.block(node.wait_height(3)[3]["hash"]))
    assert block3["previous_hash"] == block2.hash and block3["creator"] == node.pub
    assert [t["signature"] for t in block3["transactions"][1:3]] == \
           [json.loads(tx)["signature"] for tx in spends]
    assert txs_of(block3)[0] == money_tx
    assert [(t["to"], t["sum"]) for t in reward_to(block3)] == [(node.pub, 1)]
    can_spend_exactly(node, friend, 0.75)
    assert_error(node.post("/inv", payment(me, friend.pub, 0.000001)), 400,
                 "Insufficient funds")


# ---- what reference nodes send ------------------------------------------------------------

def one_recv(data, port, shutdown):
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        return s.recv(4096)


def whole_answer_in_one_recv(data, port, shutdown=False):
    """Sends like a reference node, reads like one: a single recv(4096) must
    hold the whole answer, Content-Length right. Returns the body."""
    head, _, body = one_recv(data, port, shutdown).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert f"content-length: {len(body)}\r\n".encode() in head.lower() + b"\r\n"
    return body.decode()


def reference_post(path, body, port, content_length=False, eol="\r\n"):
    headers = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
               "User-agent: python-requests/2.23.0", "Content-Type: json/application"]
    if content_length:
        headers.append(f"Content-Length: {len(body)}")
    return (eol.join(headers) + eol + eol + body).encode()


@pytest.mark.parametrize("content_length,eol", [(False, "\r\n"), (False, "\n"), (True, "\n")])
def test_reference_style_post_answered_in_one_recv(make_node, content_length, eol):
    node = make_node(n_transactions=NEVER)
    node.wait_height(1)
    data = reference_post("/money", f'{{"to": "{Key().pub}", "sum": 0.5}}', node.port,
                          content_length, eol)
    body = whole_answer_in_one_recv(data, node.port, shutdown=not content_length)
    assert json.loads(body)["message"] == "Transaction created"


def test_reference_style_get_answered_in_one_recv(make_node):
    node = make_node(extra=QUIET)
    for request in (b"GET /getdata?id=%s HTTP/1.1\nHost: 127.0.0.1:6000\nUser-agent: x\n\n",
                    b"GET /getdata?id=%s HTTP/1.1\r\nHost: 127.0.0.1:6000\r\n\r\n"):
        body = whole_answer_in_one_recv(request % GENESIS_HASH.encode(), node.port)
        assert body == vectors()["genesis"]["json"]


def test_keep_alive_and_pipelined_requests(make_node):
    node = make_node(extra=QUIET)
    get = f"GET /getdata?id={GENESIS_HASH} HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = exchange(node.port, (get * 3 + get.replace("\r\n\r\n", "\r\nConnection: close"
                                                        "\r\n\r\n")).encode())
    assert answer.count(vectors()["genesis"]["json"].encode()) == 4


def test_reader_that_stops_after_4096_bytes(make_node):
    node = make_node(n_transactions=NEVER, extra=QUIET)
    parent, key = GENESIS_HASH, Key()
    for nr in range(1, 9):
        parent = node.post_ok("/block", block_on(parent, nr, key.pub).text)["hash"]
    assert len(node.get("/getblocks").body) > 4096
    for _ in range(3):
        assert len(one_recv(b"GET /getblocks HTTP/1.1\r\n\r\n", node.port, False)) <= 4096
    assert node.tip()["hash"] == parent


# ---- peers ------------------------------------------------------------------------------------

def peers_of(node):
    resp = node.get("/getpeers")
    assert resp.status == 200, resp
    doc = resp.json()
    assert set(doc) == {"peers"}
    return doc["peers"]


def test_peers_register_only_when_they_answer(make_node):
    a, b = make_node(extra=QUIET), make_node(extra=QUIET)
    assert peers_of(a) == [] and peers_of(b) == []
    dead = free_port()
    assert b.get(f"/getpeers?port={dead}").status == 200
    assert b.get(f"/getpeers?port={b.port}").status == 200
    assert b.get("/getpeers", headers=[]).status == 200
    # A asks B, giving its port: B checks that A answers, then lists it
    assert b.get(f"/getpeers?port={a.port}").json() == {"peers": []}
    wait_until(lambda: peers_of(b) == [a.address], "B to list A")
    wait_until(lambda: peers_of(a) == [b.address], "A to list B after B's check")
    assert peers_of(b) == [a.address]
    b.restart()
    assert peers_of(b) == [a.address]
    with open(os.path.join(b.datadir, f"peers-{b.port}.json")) as f:
        assert json.load(f) == {"peers": [a.address]}


def test_stops_cleanly_while_checking_a_silent_peer(make_node):
    node = make_node(extra=QUIET)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = "127.0.0.1:%d" % silent.getsockname()[1]
        node.get("/getpeers", headers=[f"Host: {address}"])
        silent.settimeout(WAIT_S)
        conn, _ = silent.accept()  # the node's check is under way, unanswered
        with conn:
            node.stop()  # exit code 0 and no leak report, asserted by stop()
    assert "new peer" not in node.log()


@pytest.mark.parametrize("alias", ["0.0.0.0", "localhost"])
def test_node_does_not_list_itself_under_another_address(make_node, alias):
    a, b = make_node(extra=QUIET), make_node(extra=QUIET)
    b.get("/getpeers", headers=[f"Host: {alias}:{b.port}"])
    b.get(f"/getpeers?port={a.port}")
    wait_until(lambda: a.address in peers_of(b), "B to list A")
    assert peers_of(b) == [a.address]


def test_peer_registered_from_host_header(make_node):
    a, b = make_node(extra=QUIET), make_node(extra=QUIET)
    resp = exchange(b.port, f"GET /getpeers HTTP/1.1\r\nHost: {a.address}\r\n\r\n".encode(),
                    shutdown=True)
    assert resp.startswith(b"HTTP/1.1 200 ")
    wait_until(lambda: peers_of(b) == [a.address], "B to list A")


def joined(make_node, peer, n_transactions=NEVER):
    """A node started with `peer` as its only default peer."""
    node = make_node(start=False, n_transactions=n_transactions, extra=QUIET)
    path = os.path.join(node.workdir, "peers-default.json")
    with open(path, "w") as f:
        json.dump({"peers": [peer.address]}, f)
    node.args += ["--peers-default", path]
    return node.start()


def test_node_asks_its_peers_and_they_list_it(make_node):
    b = make_node(extra=QUIET)
    a = joined(make_node, b)
    wait_until(lambda: peers_of(b) == [a.address], "B to list A, which asked it")
    wait_until(lambda: peers_of(a) == [b.address], "A to list B, once B answered")
    c = joined(make_node, a)  # C learns B from A's list, and B checks C
    wait_until(lambda: sorted(peers_of(c)) == sorted([a.address, b.address]), "C to know A, B")
    wait_until(lambda: sorted(peers_of(b)) == sorted([a.address, c.address]), "B to know C")


def has_block(node, block):
    return node.get(f"/getdata?id={block.hash}").status == 200


def test_blocks_and_transactions_spread_and_orphans_fetch_parents(make_node):
    b = make_node(n_transactions=NEVER, extra=QUIET)
    a = joined(make_node, b, n_transactions=1)  # A mines every transaction it hears of
    wait_until(lambda: peers_of(b) == [a.address], "B to list A")
    key = Key()
    b1 = block_on(GENESIS_HASH, 1, key.pub)
    a.post_ok("/block", b1.text)
    wait_until(lambda: has_block(b, b1), "block 1 to reach B")
    tx = payment(key, Key().pub, 0.5)
    b.post_ok("/inv", tx)  # on to A, which mines it and sends its block back to B
    b2 = wait_until(lambda: len(b.chain()) == 3 and b.tip(), "A's block 2 to reach B")
    assert b2["creator"] == a.pub and json.loads(tx) in b2["transactions"]
    # C starts alone: block 3 waits there for its parents, which come once C
    # meets A (A's address asks C for peers, C checks it and lists it)
    c = make_node(n_transactions=NEVER, extra=QUIET)
    b3 = block_on(b2["hash"], 3, key.pub)
    assert c.post_ok("/block", b3.text)["message"] == "Block held until its parent arrives"
    c.get(f"/getpeers?port={a.port}")
    for node in (a, b, c):
        wait_until(lambda: node.tip()["hash"] == b3.hash, f"{node.address} to reach block 3")
    assert c.get("/getblocks").body == a.get("/getblocks").body


# ---- forks and orphans --------------------------------------------------------------------------

def test_fork_then_reorg_moves_transactions_back_and_balances_follow(make_node):
    node = make_node(n_transactions=1, extra=QUIET)
    payer, miner_a, miner_b, shop = Key(), Key(), Key(), Key()
    b1 = block_on(GENESIS_HASH, 1, payer.pub)
    node.post_ok("/block", b1.text)
    spend = payment(payer, shop.pub, 0.25)
    b2a = block_on(b1.hash, 2, miner_a.pub, [spend])
    b2b = block_on(b1.hash, 2, miner_b.pub)
    assert node.post_ok("/block", b2a.text)["message"] == "Block accepted"
    assert node.post_ok("/block", b2b.text)["message"] == "Block stored on a side branch"
    assert [b["hash"] for b in node.chain()[2]] == [b2a.hash, b2b.hash]
    assert node.tip()["hash"] == b2a.hash

    b3b = block_on(b2b.hash, 3, miner_b.pub)
    node.post_ok("/block", b3b.text)
    # the spend went back to the mempool and the node (n=1) mines it on the new branch
    best = node.wait_height(4)
    assert [b["hash"] for b in best[1:4]] == [b1.hash, b2b.hash, b3b.hash]
    assert [b["hash"] for b in node.chain()[2]] == [b2b.hash, b2a.hash]
    block4 = check_block(node.block(best[4]["hash"]))
    assert json.loads(spend)["transaction"] in txs_of(block4)
    follow = node.get(f"/getblocks?id={b1.hash}").json()["chain"]
    assert [b["hash"] for b in follow] == [b["hash"] for b in best[1:]]
    assert [b["hash"] for b in node.get(f"/getblocks?id={b2a.hash}").json()["chain"]] == \
           [b2a.hash]

    assert_error(node.post("/inv", payment(miner_a, shop.pub, 1)), 400, "Insufficient funds")
    can_spend_exactly(node, payer, 0.75)
    can_spend_exactly(node, miner_b, 2)
    can_spend_exactly(node, shop, 0.25)


def test_orphan_waits_for_its_parent(make_node):
    node = make_node(n_transactions=NEVER, extra=QUIET)
    key = Key()
    b1 = block_on(GENESIS_HASH, 1, key.pub)
    b2 = block_on(b1.hash, 2, key.pub)
    held = node.post_ok("/block", b2.text)
    assert held["message"] == "Block held until its parent arrives"
    assert len(node.chain()) == 1
    node.post_ok("/block", b1.text)
    assert [b["hash"] for b in node.best()] == [GENESIS_HASH, b1.hash, b2.hash]
    can_spend_exactly(node, key, 2)


# ---- restart, concurrency -----------------------------------------------------------------

def test_restart_keeps_key_chain_and_mempool(make_node):
    node = make_node(n_transactions=NEVER)
    node.wait_height(1)
    paid = node.money(Key().pub, 0.5)
    assert paid.status == 200, paid
    pub, blocks = node.pub, node.get("/getblocks").body
    node.restart()  # same port, bound again at once
    assert node.pub == pub
    assert node.get("/getblocks").body == blocks
    waiting = json.dumps(paid.json()["transaction"], separators=(",", ": "))
    assert_error(node.post("/inv", waiting), 400, "Transaction already exists")
    assert_error(node.money(Key().pub, 0.75), 400, "Insufficient funds")


def test_answers_while_mining_a_big_block(make_node):
    """Every hash attempt covers all transactions: a block of 100 takes the
    miner a while, and the node keeps answering meanwhile. Its miners run
    at the node's own priority, competing with the loop: at the default
    nice 19 on a machine kept busy by other programs they would get ~1.5 %
    of a core, and the block (seconds of hashing) would take minutes."""
    node = make_node(n_transactions=100, extra=QUIET + ["--miner-nice", "0"])
    key = Key()
    node.post_ok("/block", block_on(GENESIS_HASH, 1, key.pub).text)
    spends = [payment(key, Key().pub, 0.001) for _ in range(100)]
    for tx in spends:
        node.post_ok("/inv", tx)
    # the last answer may leave before the miner is handed its template
    wait_until(lambda: "mining block 2 with 101 transactions" in node.log(),
               "the miner to start on the 100 payments")
    assert node.block(GENESIS_HASH) == vectors()["genesis"]["json"]
    assert len(node.chain()) >= 2
    block2 = check_block(node.block(node.wait_height(2)[2]["hash"]))
    assert block2["transactions"][:100] == [json.loads(tx) for tx in spends]


def test_silent_clients_do_not_block_others(make_node):
    node = make_node(extra=[*QUIET, "--idle-timeout", "1"])
    silent = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(50)]
    half = socket.create_connection(("127.0.0.1", node.port))
    half.sendall(b"POST /inv HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    try:
        results = []
        worker = threading.Thread(target=lambda: results.append(node.block(GENESIS_HASH)))
        worker.start()
        worker.join(WAIT_S)
        assert results == [vectors()["genesis"]["json"]]
        for s in (silent[0], half):  # dropped once idle
            s.settimeout(WAIT_S)
            assert s.recv(4096) == b""
    finally:
        for s in silent + [half]:
            s.close()


# ---- faucet ---------------------------------------------------------------------------------

def test_faucet_pays_within_limits(make_node):
    node = make_node(n_transactions=NEVER, extra=["--faucet-max-request", "0.5"])
    node.wait_height(1)
    friend = Key().pub
    paid = node.money(friend, 0.5)
    assert paid.status == 200, paid
    tx = paid.json()["transaction"]["transaction"]
    assert (tx["from"], tx["to"], tx["sum"]) == (node.pub, friend, 0.5)
    assert_error(node.money(friend, 0.6), 429)
    assert_error(node.money(friend, 0.500001), 429)
    assert node.money(friend, 0.25).status == 200
    assert_error(node.money(friend, 0.5), 400, "Insufficient funds")


def test_faucet_pays_only_keys_that_can_spend(make_node):
    """96 hex digits that are no point of the curve pass the network's form
    check, and coins sent there are gone for good: the node's wallet pays
    none (POST /money and /api/send), says why, and nothing changes."""
    node = make_node(n_transactions=NEVER)
    node.wait_height(1)
    key = Key().pub
    # the same x with another y: off the curve (y^2 = x^3 - 3x + b has 2 roots)
    off_curve = key[:48] + format((int(key[48:], 16) + 1) % (1 << 192), "048x")
    before = node.get("/api/info").json()
    for send in (lambda to: node.money(to, 0.5),
                 lambda to: node.post("/api/send", f'{{"to": "{to}", "sum": 0.5}}')):
        assert_error(send(off_curve), 400, "P-192 public key")
        assert_error(send("00" * 48), 400, "P-192 public key")
    after = node.get("/api/info").json()
    assert (after["mempool"], after["balance"]) == (before["mempool"], before["balance"])
    assert node.money(key, 0.5).status == 200


def test_faucet_off(make_node):
    node = make_node(extra=["--faucet", "off"])
    node.wait_height(1)
    assert_error(node.money(Key().pub, 0.5), 403)


def test_faucet_limits_per_recipient_and_in_all(make_node):
    node = make_node(n_transactions=NEVER, extra=["--faucet-max-recipient", "0.5",
                                                  "--faucet-max-total", "0.75"])
    node.wait_height(1)
    first, second = Key().pub, Key().pub
    assert node.money(first, 0.5).status == 200
    assert_error(node.money(first, 0.125), 429, "to one key")
    assert node.money(second, 0.25).status == 200
    assert_error(node.money(Key().pub, 0.125), 429, "in all")


def test_faucet_accounting_is_exact_and_has_a_minimum(make_node):
    node = make_node(n_transactions=NEVER, extra=["--faucet-max-total", "0.75",
                                                  "--faucet-min-request", "0.001"])
    node.wait_height(1)
    assert_error(node.money(Key().pub, "1e-300"), 400, "at least 0.001")
    assert_error(node.money(Key().pub, 0.0009), 400, "at least 0.001")
    assert node.money(Key().pub, 0.5).status == 200
    assert node.money(Key().pub, 0.25).status == 200  # exactly the total
    # the window is used up: even the smallest payout is refused
    assert_error(node.money(Key().pub, 0.001), 429, "in all")
    waiting = node.get("/api/mempool").json()["transactions"]
    assert sorted(t["transaction"]["sum"] for t in waiting) == [0.25, 0.5]


# ---- queries and the command line ----------------------------------------------------------

def test_getblocks_id_among_other_parameters(make_node):
    node = make_node(extra=QUIET)
    for query in (f"?id={GENESIS_HASH}", f"?port=6000&id={GENESIS_HASH}",
                  f"?id={GENESIS_HASH}&port=6000"):
        chain = node.get("/getblocks" + query).json()["chain"]
        assert [b["hash"] for b in chain] == [GENESIS_HASH], query
    assert node.get("/getblocks?idx=1").json()["chain"] == node.chain()


def cheesed(*args, cwd=None):
    return subprocess.run([os.path.join(BUILD, "cheesed"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=WAIT_S)


@pytest.mark.parametrize("args,code", [
    (["--help"], 0), (["--bogus"], 2), (["--port", "0"], 2), (["--port", "x"], 2),
    (["--n-transactions", "0"], 2), (["--miner-nice", "20"], 2), (["--miner-nice", "-1"], 2),
    (["--faucet", "maybe"], 2), (["--network", "cheese", "--tracker", "x"], 2),
    (["--network", "ftp"], 2), (["extra"], 2), (["--conf", "/nonexistent/cheese.conf"], 2)])
def test_command_line_errors(tmp_path, args, code):
    result = cheesed(*args, "--datadir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == code, result.stderr
    if code:
        assert result.stderr.startswith("cheesed: ") or "usage:" in result.stderr
    else:
        assert result.stdout.startswith("usage: cheesed")


def thread_niceness(pid):
    """Niceness of each thread of a process (field 19 of /proc/PID/task/TID/stat)."""
    task = f"/proc/{pid}/task"
    found = []
    for tid in os.listdir(task):
        with open(f"{task}/{tid}/stat") as f:
            found.append(int(f.read().rsplit(")", 1)[1].split()[16]))
    return found


@pytest.mark.parametrize("flags,nice", [([], 19), (["--miner-nice", "7"], 7)])
def test_mining_threads_run_at_the_niceness_asked(make_node, flags, nice):
    """Mining threads yield to the node's own work (nice 19) unless told
    otherwise; the event loop keeps the node's priority."""
    node = make_node(extra=QUIET + ["--miner-threads", "3", *flags])
    found = wait_until(lambda: (n := thread_niceness(node.proc.pid)).count(nice) == 3 and n,
                       "three mining threads at the niceness asked")
    assert len(found) > 3  # the loop and the checkers keep the node's own


@pytest.mark.parametrize("network,taken_is", [("http", "port"), ("cheese", "port"),
                                              ("cheese", "api-port")])
def test_port_in_use(tmp_path, network, taken_is):
    """A port in use is a failed start that leaves nothing behind: no data
    directory, no wallet, no database (and no leak under the sanitizers)."""
    datadir = tmp_path / "node"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        free = free_port()
        ports = (["--port", str(port), "--api-port", str(free)] if taken_is == "port"
                 else ["--port", str(free), "--api-port", str(port)])
        result = cheesed("--network", network, *ports, "--datadir", str(datadir), cwd=tmp_path)
    assert result.returncode == 1
    assert f"cheesed: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Sanitizer" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spelling", ["--conf=FILE", "--conf FILE"])
def test_config_file_and_flags(tmp_path, spelling):
    conf = tmp_path / "cheese.conf"
    conf.write_text("# a node\nfaucet = off\nmine-on-start=yes\n")
    # the command line wins over the file, wherever --conf stands
    node = Node(str(tmp_path), extra=["--mine-on-start", "no",
                                      *spelling.replace("FILE", str(conf)).split()])
    node.start()
    try:
        assert_error(node.money(Key().pub, 1), 403)
        assert "mining block" not in node.log()  # decided before the node answers
    finally:
        node.stop()



def test_config_file_comments_after_values(tmp_path):
    """`#` after a blank starts a comment on a value's line too: the data
    directory is the one named, not one with the comment in its name."""
    port = free_port()
    datadir = tmp_path / "node"
    conf = tmp_path / "node.conf"
    conf.write_text(f"datadir={datadir}   # the main node\nport={port} # its port\n"
                    f"api-port={free_port()}\n"
                    "mine-on-start=no\t# quiet\nfaucet=off#not a comment: no blank before\n")
    result = cheesed("--conf", str(conf), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{conf}:5: bad value for faucet: off#not a comment: no blank before" in result.stderr
    assert not datadir.exists()
    conf.write_text(conf.read_text().replace("faucet=off#not", "faucet=off #not"))
    proc = subprocess.Popen([os.path.join(BUILD, "cheesed"), "--conf", str(conf)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, proc, "the node listening on the port from the file")
        assert (datadir / "wallet.key").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["node", "node.conf"]
    finally:
        proc.terminate()
        proc.wait(timeout=WAIT_S)


@pytest.mark.parametrize("line,says", [
    ("max-peer=5", "unknown setting 'max-peer'; did you mean 'max-peers'?"),
    ("colour=blue", "unknown setting 'colour' (cheesed --help lists them)"),
    ("max-peers=5x", "bad value for max-peers: 5x"),
    ("port 6100", "expected KEY=VALUE, got: port 6100"),
    ("help=yes", "unknown setting 'help'"),
    ("conf=other.conf", "unknown setting 'conf'"),
])
def test_config_file_errors_name_file_and_line(tmp_path, line, says):
    """A bad line is a usage error naming the file and its line, and the
    node creates nothing: no data directory, no wallet."""
    conf = tmp_path / "node.conf"
    conf.write_text(f"# settings\n\nfaucet=off\n{line}\n")
    result = cheesed("--conf", str(conf), cwd=tmp_path)
    assert result.returncode == 2
    assert f"cheesed: {conf}:4: {says}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.conf"]
