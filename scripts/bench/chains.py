"""Chain fixtures of the chain benchmarks (sync, inv, memory, scaling, and
their cheese-network counterparts cheese_sync and cheese_inv).

- Chains: valid http-network chains written by cheese-bench-chaingen (proof
  of work on every core), one block text per line, with a file of the keys
  they fund. Cached under build/bench/cache/chains, keyed by the generator's
  version and options, so that only the first run pays for them.
- Data directories: what a node that was handed the first H blocks of a
  chain (POST /block, one after the other on one keep-alive connection)
  leaves behind once stopped. Cached under build/bench/cache/datadirs, keyed
  by the chain, H and a hash of the cheesed binary: a node built from other
  code may lay out its database differently, so it loads the chain afresh.
  A benchmark copies one before starting a node on it; the cached one is
  never written to.
- Cheese chains and data directories: the same, made by
  cheese-bench-cheesegen and loaded by announcing each cheese (BRCHEESE)
  to a cheese node with a tracker of its own; see "the cheese network".

Making a fixture is not part of any figure, nor of a module's time: while
one is made, the harness's per-module alarm is held (see unclocked).

    /usr/bin/python3 scripts/bench/chains.py --build build/bench   # every fixture now
"""
import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(REPO, "build", "bench", "cache")
sys.path.insert(0, HERE)
import benchlib  # noqa: E402


class Spec:
    """Options of cheese-bench-chaingen."""

    tool = "chaingen"

    def __init__(self, blocks, payments=0, payment_every=1, reward_keys=1, seed="bench"):
        self.blocks = blocks
        self.payments = payments
        self.payment_every = payment_every
        self.reward_keys = reward_keys
        self.seed = seed

    def shape(self, version):
        """The part of a cache key both generators' chains share."""
        return (f"v{version}-b{self.blocks}-p{self.payments}e{self.payment_every}"
                f"-r{self.reward_keys}")

    def shape_args(self):
        return ["--blocks", str(self.blocks), "--payments", str(self.payments),
                "--payment-every", str(self.payment_every),
                "--reward-keys", str(self.reward_keys)]

    def key(self, version):
        return f"{self.shape(version)}-s{self.seed}"

    def args(self):
        return [*self.shape_args(), "--seed", self.seed]

    def open(self, key, directory):
        return Chain(self, key, directory)


# The sync benchmark's chain: 2 signed payments and the reward in every block.
SYNC = Spec(blocks=20_000, payments=2, reward_keys=16)
# 100,000 blocks for memory and scaling (a prefix of it for the smaller
# sizes), with 200 more on top to post as new blocks; rewards to 1,000 keys,
# 2 payments in every 10th block.
BIG = Spec(blocks=100_200, payments=2, payment_every=10, reward_keys=1000)
BIG_HEIGHTS = (1_000, 10_000, 100_000)
# The /inv benchmark's chain: each block's reward funds a key of its own.
INV = Spec(blocks=4096, reward_keys=4096)


@contextlib.contextmanager
def unclocked():
    """Holds the harness's alarm (a module's time limit) while a fixture is
    made, and re-arms it with the time that was left."""
    left = signal.alarm(0)
    try:
        yield
    finally:
        if left:
            signal.alarm(left)


def _write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def _read_json(path):
    with open(path) as f:
        return json.load(f)


# ---- chains -------------------------------------------------------------------------

HASH_RE = re.compile(rb'"hash": "([0-9a-f]{64})"')


class Chain:
    def __init__(self, spec, key, directory):
        self.spec = spec
        self.key = key
        self.dir = directory
        self.path = os.path.join(directory, "chain.jsonl")
        self.keys_path = os.path.join(directory, "keys.jsonl")
        self.meta = _read_json(os.path.join(directory, "meta.json"))

    @property
    def blocks(self):
        return self.spec.blocks

    def hashes(self, upto=None):
        """Hashes of blocks 1..upto, in order (hashes[0] is block 1's)."""
        out = []
        with open(self.path, "rb") as f:
            for line in f:
                if upto is not None and len(out) >= upto:
                    break
                out.append(HASH_RE.search(line).group(1).decode())
        return out

    def keys(self):
        with open(self.keys_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def describe(self):
        m = self.meta
        cpu = f", {m['cpu_seconds']:.0f} CPU s" if "cpu_seconds" in m else ""
        return (f"{m['blocks']:,} blocks, {m['payments']:,} signed payments, "
                f"{m['bytes'] / 1e6:.1f} MB; generated once in {m['seconds']:.0f} s{cpu} "
                f"({m['blocks_per_s']:.1f} blocks/s, {m['attempts'] / m['seconds'] / 1e6:.2f} M "
                f"attempts/s on {m.get('cores', '?')} cores)")


def tool(ctx, name):
    return os.path.join(ctx.build, f"cheese-bench-{name}")


def chain(ctx, spec):
    """The chain of spec, generated first if the cache lacks it."""
    version = subprocess.run([tool(ctx, spec.tool), "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    key = spec.key(version)
    directory = os.path.join(CACHE, "chains", key)
    if os.path.exists(os.path.join(directory, "meta.json")):
        return spec.open(key, directory)
    os.makedirs(directory, exist_ok=True)
    ctx.log(f"generating chain {key} (once; cached in {os.path.relpath(directory, REPO)})")
    with unclocked():
        out = subprocess.run([tool(ctx, spec.tool), *spec.args(),
                              "--out", os.path.join(directory, "chain.jsonl"),
                              "--keys-out", os.path.join(directory, "keys.jsonl")],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
    meta = json.loads(out)
    meta["cores"] = ctx.cores
    _write_json(os.path.join(directory, "meta.json"), meta)  # last: marks it complete
    return spec.open(key, directory)


# ---- data directories -----------------------------------------------------------------

def _binary_id(ctx):
    h = hashlib.sha256()
    with open(os.path.join(ctx.build, "cheesed"), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def copy_datadir(src, dst):
    """A node's data directory without its peer list."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("peers-*.json*"))


def post_lines(ctx, port, path, file, expect, skip=0, limit=None, connections=1, method="POST"):
    """cheese-bench-inv send: its JSON summary."""
    args = [tool(ctx, "inv"), "send", "--port", str(port), "--method", method,
            "--path", path, "--connections", str(connections), "--skip", str(skip)]
    if expect:
        args += ["--expect", expect]
    if limit is not None:
        args += ["--limit", str(limit)]
    out = subprocess.run([*args, file], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _load(ctx, chain_, heights, paths, binary):
    """Posts the chain to one node, stopping at each height to keep a copy."""
    node = benchlib.Node(ctx, f"load-{chain_.key}", args=["--mine-on-start", "no"])
    shutil.rmtree(node.dir + "/data", ignore_errors=True)
    node.start()
    done, posted, seconds = 0, 0, 0.0
    try:
        for h in sorted(heights):
            ctx.log(f"loading blocks {done + 1}..{h} of {chain_.key} into a node")
            r = post_lines(ctx, node.port, "/block", chain_.path, "Block accepted",
                           skip=done, limit=h - done)
            if r["ok"] != h - done:
                raise RuntimeError(f"loading {chain_.key}: {r['ok']} of {h - done} blocks "
                                   f"accepted; first refusal: {r['first_failure']}")
            posted, seconds, done = posted + r["ok"], seconds + r["seconds"], h
            if benchlib.stop(node.proc) != 0:
                raise RuntimeError(f"the loading node exited badly: {node.log()[-1000:]}")
            if h in paths:
                tmp = paths[h] + ".tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                copy_datadir(os.path.join(node.dir, "data"), tmp)
                _write_json(os.path.join(tmp, "load.json"),
                            {"height": h, "binary": binary, "posted": posted,
                             "post_seconds": seconds, "blocks_per_s": posted / seconds})
                os.replace(tmp, paths[h])
            if h != max(heights):
                node.start()
    finally:
        benchlib.stop(node.proc)
        shutil.rmtree(node.dir, ignore_errors=True)


def datadirs(ctx, chain_, heights):
    """{height: cached data directory of a node holding blocks 1..height}."""
    binary = _binary_id(ctx)
    root = os.path.join(CACHE, "datadirs")
    os.makedirs(root, exist_ok=True)
    paths = {h: os.path.join(root, f"{chain_.key}-h{h}-{binary}") for h in heights}
    missing = [h for h in heights if not os.path.exists(paths[h])]
    if missing:
        _evict(root, chain_.key, missing, binary)
        with unclocked():
            _load(ctx, chain_, missing, paths, binary)
    for path in paths.values():
        os.utime(path)  # last used: see _evict
    return paths


def _evict(root, key, heights, binary):
    """Directories other builds of cheesed made: the one used last is kept
    (two build directories in use, such as make bench's and a developer's,
    then do not reload each other's), older ones go."""
    for h in heights:
        prefix = f"{key}-h{h}-"
        others = [os.path.join(root, n) for n in os.listdir(root)
                  if n.startswith(prefix) and not n.endswith(binary) and not n.endswith(".tmp")]
        others.sort(key=os.path.getmtime)
        for path in others[:-1]:
            shutil.rmtree(path, ignore_errors=True)


def load_stats(datadir):
    return _read_json(os.path.join(datadir, "load.json"))


# ---- nodes on a copy -------------------------------------------------------------------

def node_on(ctx, name, datadir, args=(), peers=None, log_level="notice"):
    """A started node on a fresh copy of datadir (None: an empty one), and
    the seconds the copy took."""
    node = benchlib.Node(ctx, name, args=["--mine-on-start", "no", *args], peers=peers,
                         log_level=log_level)
    target = os.path.join(node.dir, "data")
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    if datadir:
        copy_datadir(datadir, target)
    copied = time.monotonic() - started
    node.start()
    return node, copied


# ---- the cheese network ------------------------------------------------------------------
#
# Cheese chains come from cheese-bench-cheesegen (RSA-1024 keys, a proof of
# work of two zero hex digits) and reach a node the way peers hand them
# over: announced one cheese at a time (BRCHEESE, on one connection, by
# cheese-bench-inv) to a cheese node joined to a tracker of its own. A node
# loads a chain at start only from its database (cheesed reads no chain
# file), so, as for the http network, the data directory that node leaves
# is what is cached and copied.

class CheeseSpec(Spec):
    """Options of cheese-bench-cheesegen. Its keys are random (no seed), so a
    chain and its key file are made, and cached, together."""

    tool = "cheesegen"

    def __init__(self, blocks, payments=0, payment_every=1, reward_keys=2):
        super().__init__(blocks, payments, payment_every, reward_keys, seed=None)

    def key(self, version):
        return f"cheese-{self.shape(version)}"

    def args(self):
        return self.shape_args()

    def open(self, key, directory):
        return CheeseChain(self, key, directory)


class CheeseChain(Chain):
    def hashes(self, upto=None):
        raise NotImplementedError("a cheese's line carries no smell; ask a node for it")

    def describe(self):
        m = self.meta
        return (f"{m['blocks']:,} cheeses, {m['payments']:,} signed payments between "
                f"{m['keys']:,} RSA-1024 keys, {m['bytes'] / 1e6:.1f} MB; generated once in "
                f"{m['seconds']:.0f} s ({m['keygen_seconds']:.0f} s of it making the keys)")


# The cheese sync benchmark's chain: 2 signed payments and the reward in
# every cheese (the first few, before enough keys hold coins, carry fewer).
CHEESE_SYNC = CheeseSpec(blocks=10_000, payments=2, reward_keys=64)
# The cheese intake benchmark's chain: each cheese's reward of 10 funds a
# key of its own.
CHEESE_INV = CheeseSpec(blocks=4096, reward_keys=4096)


class CheeseTracker:
    """A cheese-tracker on 127.0.0.1 with its own directory (log level warn:
    at info it logs every join)."""

    def __init__(self, ctx, name):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = benchlib.free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "tracker.log"), "ab")
        self.proc = self.ctx.spawn([os.path.join(self.ctx.build, "cheese-tracker"),
                                    "--host", "127.0.0.1", "--port", str(self.port),
                                    "--log-level", "warn"],
                                   cwd=self.dir, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        benchlib.wait_until(self._greets, f"the tracker on {self.port} to greet")
        return self

    def _greets(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"cheese-tracker on {self.port} exited with {self.proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                return s.recv(100).startswith(b"Connection Successful")
        except OSError:
            return False

    def stop(self):
        return benchlib.stop(self.proc)


class CheeseNode:
    """A cheesed --network cheese process on 127.0.0.1 with its own
    directory, joining the tracker on tracker_port; it never mines on its
    own at start."""

    def __init__(self, ctx, name, tracker_port, args=(), log_level="notice"):
        self.ctx = ctx
        self.dir = os.path.join(ctx.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = benchlib.free_port()
        self.api_port = benchlib.free_port()
        self.log_path = os.path.join(self.dir, "node.log")
        self.args = [os.path.join(ctx.build, "cheesed"), "--network", "cheese",
                     "--host", "127.0.0.1", "--port", str(self.port),
                     "--api-port", str(self.api_port), "--tracker", f"127.0.0.1:{tracker_port}",
                     "--datadir", os.path.join(self.dir, "data"), "--log-level", log_level,
                     "--mine-on-start", "no", *args]
        self.proc = None

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        self.proc = self.ctx.spawn(self.args, cwd=self.dir, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        if wait:
            benchlib.wait_until(self.answers, f"the cheese node on {self.port} to answer", 60)
        return self

    def answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"cheesed on {self.port} exited with {self.proc.returncode}: "
                               f"{self.log()[-2000:]}")
        try:
            return benchlib.request(self.api_port, "GET", "/api/info", timeout=5)[0] == 200
        except OSError:
            return False

    def info(self):
        return benchlib.get_json(self.api_port, "/api/info")

    def joined(self):
        return self.info()["sync"]["tracker"]["state"] == "joined"

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        return benchlib.stop(self.proc)


def cheese_send(ctx, port, file, command, connections=1, newline=True, limit=None):
    """cheese-bench-inv send --network cheese: its JSON summary. With
    newline, each message ends with one: the node then takes it at once
    rather than after 100 ms of silence (a peer id may follow a payload)."""
    args = [tool(ctx, "inv"), "send", "--network", "cheese", "--port", str(port),
            "--command", command, "--connections", str(connections)]
    if newline:
        args.append("--newline")
    if limit is not None:
        args += ["--limit", str(limit)]
    out = subprocess.run([*args, file], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _cheese_load(ctx, chain_, path, binary):
    """Announces every cheese to a fresh node, then keeps its data directory."""
    tracker = CheeseTracker(ctx, f"load-tracker-{chain_.key}")
    node = CheeseNode(ctx, f"load-{chain_.key}", tracker.port)
    shutil.rmtree(os.path.join(node.dir, "data"), ignore_errors=True)
    try:
        tracker.start()
        node.start()
        ctx.log(f"loading {chain_.blocks:,} cheeses of {chain_.key} into a node (BRCHEESE)")
        r = cheese_send(ctx, node.port, chain_.path, "BRCHEESE")
        # An acknowledgement also answers a cheese the node already holds:
        # its height says that every one went in.
        height = node.info()["height"]
        if r["ok"] != chain_.blocks or height != chain_.blocks:
            raise RuntimeError(f"loading {chain_.key}: {r['ok']} of {chain_.blocks} cheeses "
                               f"acknowledged, height {height}; first refusal: "
                               f"{r['first_failure']}")
        if node.stop() != 0:
            raise RuntimeError(f"the loading node exited badly: {node.log()[-1000:]}")
        tmp = path + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        copy_datadir(os.path.join(node.dir, "data"), tmp)
        _write_json(os.path.join(tmp, "load.json"),
                    {"height": height, "binary": binary, "posted": r["ok"],
                     "post_seconds": r["seconds"], "blocks_per_s": r["ok"] / r["seconds"]})
        os.replace(tmp, path)
    finally:
        node.stop()
        tracker.stop()
        shutil.rmtree(node.dir, ignore_errors=True)
        shutil.rmtree(tracker.dir, ignore_errors=True)


def cheese_datadir(ctx, chain_):
    """The cached data directory of a cheese node holding the whole chain."""
    binary = _binary_id(ctx)
    root = os.path.join(CACHE, "datadirs")
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, f"{chain_.key}-h{chain_.blocks}-{binary}")
    if not os.path.exists(path):
        _evict(root, chain_.key, [chain_.blocks], binary)
        with unclocked():
            _cheese_load(ctx, chain_, path, binary)
    os.utime(path)  # last used: see _evict
    return path


def cheese_node_on(ctx, name, datadir, tracker_port, args=(), log_level="notice"):
    """A started cheese node on a fresh copy of datadir (None: an empty
    one), and the seconds the copy took."""
    node = CheeseNode(ctx, name, tracker_port, args=args, log_level=log_level)
    target = os.path.join(node.dir, "data")
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    if datadir:
        copy_datadir(datadir, target)
    copied = time.monotonic() - started
    node.start()
    return node, copied


def main():
    p = argparse.ArgumentParser(description="Makes every chain fixture of the benchmarks now.")
    p.add_argument("--build", required=True, help="release build directory")
    args = p.parse_args()

    class Ctx:
        build = os.path.abspath(args.build)
        work = os.path.join(build, "work", "chains")
        cores = len(os.sched_getaffinity(0))

        @staticmethod
        def log(msg):
            print(f"[chains] {msg}", file=sys.stderr, flush=True)

        @staticmethod
        def spawn(argv, **kw):
            return subprocess.Popen(argv, **kw)

    os.makedirs(Ctx.work, exist_ok=True)
    for spec, heights in ((SYNC, (SYNC.blocks,)), (INV, (INV.blocks,)), (BIG, BIG_HEIGHTS)):
        c = chain(Ctx, spec)
        Ctx.log(f"{c.key}: {c.describe()}")
        for h, path in datadirs(Ctx, c, heights).items():
            s = load_stats(path)
            Ctx.log(f"  height {h}: loaded at {s['blocks_per_s']:.0f} blocks/s")
    for spec in (CHEESE_SYNC, CHEESE_INV):
        c = chain(Ctx, spec)
        Ctx.log(f"{c.key}: {c.describe()}")
        s = load_stats(cheese_datadir(Ctx, c))
        Ctx.log(f"  height {c.blocks}: loaded at {s['blocks_per_s']:.0f} cheeses/s")


if __name__ == "__main__":
    main()
