#!/usr/bin/python3
"""Makes fuzz seeds from the test vectors and from real traffic.

    fuzz/capture_seeds.py BUILD_DIR     (a build holding cheesed and cheese-tracker)

Vectors: the transactions, blocks and number texts of tests/vectors/*.json
become seeds of the decoding targets and of fuzz_pynum; fuzz_texts gets a
few fixed byte strings to draw its fields from.

Traffic: two http nodes, node B reaching node A only through a recording
proxy, mine, pay each other and catch up; a tracker and two cheese nodes do
the same, the nodes reaching the tracker through a recording proxy, and a
recording peer (joined at the tracker under its own port) passes whatever
node B sends it on to node A. What went over the wire becomes seeds:
requests for fuzz_http_request; blocks and transactions as sent (bodies of
POST /block and /inv, BRCHEESE and BRTRANSACTION payloads, the blocks of
CHAIN answers) for the decoding targets; each direction of each cheese
connection, silences marked, for fuzz_cheese_wire; what each node said to
the tracker, as a script with its own id replaced by the placeholder byte,
for fuzz_tracker; and what node B said to the recording peer, the same
way, for fuzz_cheese_serve.

Seeds are named after their kind and a hash of their bytes, so running this
again adds only what is new. Keep the corpus small: review what it writes.
"""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
VECTORS = os.path.join(HERE, "..", "tests", "vectors")
PER_KIND = 5          # seeds kept per kind of traffic and target
MAX_SEED = 64 * 1024  # bytes


def write_seed(target, kind, data):
    if not data or len(data) > MAX_SEED:
        return False
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            if f.read() == data:
                return False
    name = f"{kind}-{hashlib.sha1(data).hexdigest()[:10]}"
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)
    return True


def write_some(target, kind, items, group=lambda data: b""):
    """The smallest item of each group (what the stream starts with), then
    the smallest others, PER_KIND in all, so that the corpus stays small and
    varied."""
    items = sorted(set(items), key=len)
    firsts, seen = [], set()
    for data in items:
        if group(data) not in seen:
            seen.add(group(data))
            firsts.append(data)
    kept = 0
    for data in firsts + [d for d in items if d not in firsts]:
        if kept == PER_KIND:
            break
        kept += write_seed(target, kind, data)


def first_word(skip):
    return lambda data: re.match(rb"[A-Z_ ]*/?[a-z]*", data[skip:]).group(0)


# ---- vectors ----------------------------------------------------------------------------

def from_vectors():
    with open(os.path.join(VECTORS, "http-network.json")) as f:
        http = json.load(f)
    with open(os.path.join(VECTORS, "cheese-network.json")) as f:
        cheese = json.load(f)
    with open(os.path.join(VECTORS, "cheese-extra.json")) as f:
        extra = json.load(f)
    for i, tx in enumerate(http["transactions"]):
        write_seed("http_tx", f"vector-{i}", tx["signed_json"].encode())
    for i, block in enumerate(http["blocks"]):
        write_seed("http_block", f"vector-{i}", block["json"].encode())
    for i, tx in enumerate(cheese["transactions"]):
        write_seed("cheese_tx", f"vector-{i}", tx["json"].encode())
    for i, block in enumerate(cheese["blocks"] + extra["blocks"]):
        write_seed("cheese_block", f"vector-{i}", block["json"].encode())
    # fuzz_pynum: byte 0 = 1 reads the rest as a decimal text
    for entry in http["number_text"]:
        write_seed("pynum", "vector", b"\x01" + entry["json_dumps"].encode())


def drawn_seeds():
    """fuzz_texts draws fields from its input: a few fixed byte strings, one
    of them (first byte 0) signing."""
    for i in range(4):
        data, block = b"", str(i).encode()
        while len(data) < 900:
            block = hashlib.sha256(block).digest()
            data += block
        write_seed("texts", "drawn", (b"\x00" if i == 0 else b"\x01") + data)


# ---- recording ------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts connections on a port and relays each to `target`, keeping
    every recv() of both directions: a list of (to_target, bytes) chunks per
    connection."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.port))
        self.server.listen(64)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            chunks = []
            with self.lock:
                self.conns.append(chunks)
            for src, dst, forward in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self.pump, args=(src, dst, forward, chunks),
                                 daemon=True).start()

    def pump(self, src, dst, forward, chunks):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                return
            with self.lock:
                chunks.append((forward, data))
            try:
                dst.sendall(data)
            except OSError:
                return

    def streams(self):
        """Per connection: (bytes sent to the target as chunks, answers as chunks)."""
        with self.lock:
            return [([d for f, d in c if f], [d for f, d in c if not f]) for c in self.conns]

    def close(self):
        self.server.close()


def api(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wait(condition, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"capture: timed out waiting for {what}")


def start(args, workdir):
    log = open(os.path.join(workdir, "log.txt"), "ab")
    return subprocess.Popen(args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log)


# ---- the http network ---------------------------------------------------------------------

def http_traffic(build, tmp):
    pa, pb = free_port(), free_port()
    proxy = Recorder(pa)
    procs = []
    # Only B mines, so that there is one chain and B can pay from it.
    for name, port, peers in (("a", pa, []), ("b", pb, [f"127.0.0.1:{proxy.port}"])):
        workdir = os.path.join(tmp, f"http-{name}")
        os.makedirs(workdir)
        with open(os.path.join(workdir, "peers.json"), "w") as f:
            json.dump({"peers": peers}, f)
        procs.append(start([os.path.join(build, "cheesed"), "--network", "http", "--port",
                            str(port), "--datadir", "data", "--peers-default", "peers.json",
                            "--n-transactions", "2", "--gossip-interval", "2",
                            "--mine-on-start", "yes" if name == "b" else "no"], workdir))
    try:
        wait(lambda: api(pa, "GET", "/api/info")["height"] >= 1, "block 1 at A")
        key_a = api(pa, "GET", "/api/info")["key"]
        for amount in (0.25, 0.5):
            api(pb, "POST", "/api/send", json.dumps({"to": key_a, "sum": amount}))
        wait(lambda: api(pa, "GET", "/api/info")["height"] >= 2, "the payments mined at A")
        time.sleep(3)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        proxy.close()
    return proxy.streams()


def http_seeds(streams):
    requests, blocks, txs = [], [], []
    for sent, _ in streams:
        stream = b"".join(sent)
        requests.append(b"\x83\xff" + stream)
        for head, body in re.findall(rb"POST (/block|/inv) [^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n"
                                     rb"(\{.*?\})(?=POST |GET |$)", stream, re.S):
            (blocks if head == b"/block" else txs).append(body)
    write_some("http_request", "traffic", requests, first_word(2))
    write_some("http_block", "traffic", blocks)
    write_some("http_tx", "traffic", txs)


# ---- the cheese network -------------------------------------------------------------------

class RecordingPeer(Recorder):
    """A peer the tracker lists: joins under its own port and relays every
    connection made to it to a real node."""

    def __init__(self, node_port, tracker_port):
        super().__init__(node_port)
        self.tracker = socket.create_connection(("127.0.0.1", tracker_port))
        self.tracker.sendall(f"PCONNECT:127.0.0.1:{self.port}".encode())
        threading.Thread(target=self.answer_checks, daemon=True).start()

    def answer_checks(self):
        while True:
            try:
                data = self.tracker.recv(4096)
            except OSError:
                return
            if not data:
                return
            if b"HCK" in data.replace(b"HCKACK", b""):
                self.tracker.sendall(b"HCKACK")

    def close(self):
        self.tracker.close()
        super().close()


def cheese_traffic(build, tmp):
    pt, pa, pb = free_port(), free_port(), free_port()
    tracker_dir = os.path.join(tmp, "tracker")
    os.makedirs(tracker_dir)
    procs = [start([os.path.join(build, "cheese-tracker"), "--port", str(pt),
                    "--health-interval", "1"], tracker_dir)]
    wait(lambda: socket.create_connection(("127.0.0.1", pt)).close() or True, "the tracker")
    to_tracker = Recorder(pt)
    peer = RecordingPeer(pa, pt)
    apis = {}
    for name, port in (("a", pa), ("b", pb)):
        workdir = os.path.join(tmp, f"cheese-{name}")
        os.makedirs(workdir)
        apis[name] = free_port()
        procs.append(start([os.path.join(build, "cheesed"), "--network", "cheese", "--port",
                            str(port), "--api-port", str(apis[name]), "--datadir", "data",
                            "--tracker", f"127.0.0.1:{to_tracker.port}", "--tracker-interval",
                            "0.5", "--resync-interval", "2", "--n-transactions", "2"],
                           workdir))
    try:
        # Only B mines, so that there is one chain and B can pay from it.
        wait(lambda: api(apis["b"], "GET", "/api/info")["peers"] >= 1, "the nodes to meet")
        api(apis["b"], "POST", "/api/mine", "")
        wait(lambda: api(apis["a"], "GET", "/api/info")["height"] >= 1, "block 1 at A")
        key_a = api(apis["a"], "GET", "/api/info")["key"]
        for amount in (0.5, 3):
            api(apis["b"], "POST", "/api/send", json.dumps({"to": key_a, "sum": amount}))
        wait(lambda: api(apis["a"], "GET", "/api/info")["height"] >= 2, "the payments mined")
        time.sleep(4)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        to_tracker.close()
        peer.close()
    return to_tracker.streams(), peer.streams()


def json_values(stream, opener):
    """The JSON values that follow each `opener` keyword in a stream."""
    decoder = json.JSONDecoder()
    text = stream.decode("latin-1")
    values = []
    for m in re.finditer(re.escape(opener), text):
        try:
            _, end = decoder.raw_decode(text, m.end())
        except ValueError:
            continue
        values.append(text[m.end():end])
    return values


def list_items(text):
    """Each element of a JSON list, as the exact text it was sent as."""
    decoder = json.JSONDecoder()
    items, i = [], 1
    while i < len(text):
        while i < len(text) and text[i] in " ,\n]":
            i += 1
        if i >= len(text):
            break
        _, end = decoder.raw_decode(text, i)
        items.append(text[i:end])
        i = end
    return items


def wire_seed(chunks):
    # fuzz_cheese_wire: byte 0 cuts pieces of 1..4 bytes, byte 1 marks
    # silences with 0xFE (between two recv()s) and sets the widest limits
    return b"\x83\xff" + b"\xfe".join(chunks)


def cheese_seeds(tracker_streams, peer_streams):
    wire, scripts, blocks, txs = [], [], [], []
    for sent, answers in tracker_streams:
        wire += [wire_seed(sent), wire_seed(answers)]
        ids = re.findall(rb"PID[0-9A-F]{20}", b"".join(answers)[:200])
        script = b"\x03" + b"\xf0".join(sent)
        if ids:
            script = script.replace(ids[0], b"\xc0")
        scripts.append(script)
    served = []
    for sent, answers in peer_streams:
        wire += [wire_seed(sent), wire_seed(answers)]
        # fuzz_cheese_serve: byte 0 = the widest limits, 0xE0 a pause, 0xC0
        # the one id the node knows
        served.append(re.sub(rb"PID[0-9A-F]{20}", b"\xc0", b"\x03" + b"\xe0".join(sent)))
        stream = b"".join(sent + answers)
        for opener in ("BRCHEESE", "NEW_CHEESE"):
            blocks += [v.encode("latin-1") for v in json_values(stream, opener)]
        txs += [v.encode("latin-1") for v in json_values(stream, "BRTRANSACTION")]
        for opener in ("CHAIN", "GETCHAINRESP"):
            for chain in json_values(stream, opener):
                blocks += [b.encode("latin-1") for b in list_items(chain)]
    write_some("cheese_wire", "traffic", wire, first_word(2))
    write_some("tracker", "traffic", scripts)
    write_some("cheese_serve", "traffic", served)
    write_some("cheese_block", "traffic", [b for b in blocks if b.startswith(b"{")])
    write_some("cheese_tx", "traffic", txs)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    build = os.path.abspath(sys.argv[1])
    from_vectors()
    drawn_seeds()
    with tempfile.TemporaryDirectory() as tmp:
        http_seeds(http_traffic(build, tmp))
        cheese_seeds(*cheese_traffic(build, tmp))


if __name__ == "__main__":
    main()
