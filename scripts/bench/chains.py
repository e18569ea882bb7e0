"""Chain fixtures of the chain benchmarks (sync, inv, memory, scaling).

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

    def __init__(self, blocks, payments=0, payment_every=1, reward_keys=1, seed="bench"):
        self.blocks = blocks
        self.payments = payments
        self.payment_every = payment_every
        self.reward_keys = reward_keys
        self.seed = seed

    def key(self, version):
        return (f"v{version}-b{self.blocks}-p{self.payments}e{self.payment_every}"
                f"-r{self.reward_keys}-s{self.seed}")

    def args(self):
        return ["--blocks", str(self.blocks), "--payments", str(self.payments),
                "--payment-every", str(self.payment_every),
                "--reward-keys", str(self.reward_keys), "--seed", self.seed]


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
    version = subprocess.run([tool(ctx, "chaingen"), "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    key = spec.key(version)
    directory = os.path.join(CACHE, "chains", key)
    if os.path.exists(os.path.join(directory, "meta.json")):
        return Chain(spec, key, directory)
    os.makedirs(directory, exist_ok=True)
    ctx.log(f"generating chain {key} (once; cached in {os.path.relpath(directory, REPO)})")
    with unclocked():
        out = subprocess.run([tool(ctx, "chaingen"), *spec.args(),
                              "--out", os.path.join(directory, "chain.jsonl"),
                              "--keys-out", os.path.join(directory, "keys.jsonl")],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
    meta = json.loads(out)
    meta["cores"] = ctx.cores
    _write_json(os.path.join(directory, "meta.json"), meta)  # last: marks it complete
    return Chain(spec, key, directory)


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

def node_on(ctx, name, datadir, args=(), peers=None, log_level="warn"):
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


if __name__ == "__main__":
    main()
