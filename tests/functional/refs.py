"""Starting the reference implementations (other people's nodes) beside ours.

The references live outside this repository, in the folder $CHEESE_REFS
(default: `refs/` of the `shared` folder beside the clone, i.e.
`../shared/refs` from the repository root). Each one is copied into the
test's own folder and run from there with Debian's Python, so that its
files (peer lists, chains, wallets) stay in the test's folder. Nothing of
their code is changed, except where their README says the tracker's bind
address must be set to loopback.

Their code imports `Crypto.*` (PyCrypto's name); Debian ships the same
library as `Cryptodome`. A small package on PYTHONPATH maps the one name to
the other.

Every process runs under `nice -n 10`: the http reference spins in a busy
loop while idle, and would otherwise take a core from the nodes under test;
lower still (19), it would get almost nothing on a machine whose cores are
busy with other work, and its mining (in Python) would take minutes.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
REFS = os.environ.get("CHEESE_REFS") or os.path.normpath(os.path.join(REPO, "..", "shared", "refs"))
PYTHON = "/usr/bin/python3"
WAIT_S = 30 * float(os.environ.get("CHEESE_SLOW", "1"))

HTTP_NODE = "http-karl"
CHEESE_LATER = "cheese-mezez"
CHEESE_SEED = "cheese-mezez-seed-era"

# Maps `import Crypto.X` to Debian's `Cryptodome.X` (same library, other name).
CRYPTO_SHIM = '''import importlib, sys
_real = importlib.import_module("Cryptodome")
sys.modules[__name__] = _real
for _name in ("PublicKey", "Signature", "Hash", "Random", "Util", "Cipher"):
    sys.modules[__name__ + "." + _name] = importlib.import_module("Cryptodome." + _name)
'''


def require(name):
    """The path of one reference; skips the test when it is not there."""
    path = os.path.join(REFS, name)
    if not os.path.isdir(path):
        pytest.skip(f"reference implementation {name} not found in {REFS} "
                    f"(set CHEESE_REFS to the folder holding the references)")
    return path


def copy_of(name, workdir):
    """A private copy of reference `name` under workdir; returns its path."""
    source = require(name)
    target = os.path.join(str(workdir), name)
    if not os.path.exists(target):
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _shim_dir(workdir):
    path = os.path.join(str(workdir), "crypto-shim")
    package = os.path.join(path, "Crypto")
    if not os.path.exists(package):
        os.makedirs(package)
        with open(os.path.join(package, "__init__.py"), "w") as f:
            f.write(CRYPTO_SHIM)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RefProcess:
    """One reference program, started in its copy's folder, stopped by pid.

    args: the command after the Python interpreter (script and arguments, or
    `-c CODE`). The output (they print a lot) goes to `log_path`."""

    def __init__(self, workdir, cwd, args, name):
        self.workdir = str(workdir)
        self.cwd = cwd
        self.args = args
        self.name = name
        self.log_path = os.path.join(self.workdir, f"{name}.log")
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_shim_dir(self.workdir), self.cwd])
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["nice", "-n", "10", PYTHON, *self.args], cwd=self.cwd,
                                         env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        """Stops the process group the reference started (its threads and
        children die with it)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def connects(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def tracebacks(log_text):
    """The Python tracebacks a reference printed, each as one string."""
    out = []
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            out.append("\n".join(lines[i:end + 1]))
    return out


# A line of an http reference node's own code reading one of its files.
_OWN_FILE_READ = re.compile(r"\b\w+ = json\.load\(f\)\s*$")


def traceback_count(log_text):
    """How many tracebacks a reference printed (threads print into each
    other's lines, so a header is looked for anywhere in a line)."""
    return sum(1 for line in log_text.splitlines() if "Traceback (most recent call last)" in line)


def file_races(log_text):
    """How many of the tracebacks of an http reference node are its threads
    dying on one of its own files (its chain, mempool or peer list), read
    while another of its threads was rewriting it in place: they share those
    files with no lock. Its own race, whoever sent the requests. Each such
    traceback shows the reading line once; they are counted by it, since
    the output of several threads dying at once is mixed line by line."""
    return sum(1 for line in log_text.splitlines() if _OWN_FILE_READ.search(line))


def http_peers_default(folder, addresses):
    """Writes the peers-default.json an http reference node reads at start."""
    with open(os.path.join(folder, "peers-default.json"), "w") as f:
        json.dump({"peers": list(addresses)}, f)


def _http_file(folder, kind, port):
    """One of an http reference node's files, parsed; None while it is
    missing or half written (it rewrites them in place)."""
    try:
        with open(os.path.join(folder, f"{kind}-{port}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def http_ready(folder, port):
    """True once an http reference node has mined its block 1 and written
    every file it reads when answering: before that, its handlers die."""
    return all(_http_file(folder, kind, port) is not None
               for kind in ("blocks", "transactions", "peers"))


def http_chain(folder, port):
    """Its chain ({"chain": [[b0], [b1, b1'], ...]}), or None (see _http_file)."""
    return _http_file(folder, "blocks", port)


def http_mempool(folder, port):
    """Its waiting transactions (a list), or None (see _http_file)."""
    doc = _http_file(folder, "transactions", port)
    return None if doc is None else doc["transactions"]


def http_peers(folder, port):
    """Its peer list, or None (see _http_file)."""
    doc = _http_file(folder, "peers", port)
    return None if doc is None else doc["peers"]


def http_file_time(folder, kind, port):
    """When an http reference node last wrote one of its files (kind:
    blocks, transactions, peers), or None."""
    try:
        return os.path.getmtime(os.path.join(folder, f"{kind}-{port}.json"))
    except OSError:
        return None


def http_public_key(log_text):
    """The public key (hex) an http reference node printed at start, or None."""
    for line in log_text.splitlines():
        if line.startswith("My public key hex is"):
            return line.split()[-1]
    return None


def linux_listen_prelude():
    """Python code to put before a script that runs a cheese reference peer.

    Their peer listens on the local port of its own tracker connection,
    which Windows and BSD allow but Linux refuses (EADDRINUSE) unless that
    connection's socket also set SO_REUSEADDR before connecting. This makes
    `socket.create_connection`, which they connect with, set it; nothing
    else of theirs changes. It also binds the socket before connecting: a
    port picked by connect() alone may be handed to other programs'
    connections to other places at the same time (Linux shares such ports),
    and then their listener's bind fails; a port taken by bind() is given to
    no one else."""
    return '''import socket as _socket


def _create_connection(address, timeout=_socket._GLOBAL_DEFAULT_TIMEOUT,
                       source_address=None, **_):
    error = OSError("no address")
    for family, kind, proto, _, addr in _socket.getaddrinfo(*address, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        try:
            sock.bind(source_address or ("", 0))
            if timeout is not _socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            sock.connect(addr)
            return sock
        except OSError as e:
            error = e
            sock.close()
    raise error


_socket.create_connection = _create_connection
'''


def squeeze_prelude():
    """Python code to put before a script: an output line repeating the one
    before is counted, not written. A reference thread whose peer closed
    keeps calling recv() and printing its empty result forever (their bug);
    this keeps its log from growing by megabytes a second."""
    return '''import sys as _sys
import threading as _threading


class _Squeezed:
    def __init__(self, out):
        self.out, self.part, self.last, self.repeats = out, "", None, 0
        self.lock = _threading.Lock()

    def write(self, text):
        with self.lock:
            self.part += text
            while "\\n" in self.part:
                line, self.part = self.part.split("\\n", 1)
                if line == self.last:
                    self.repeats += 1
                    continue
                if self.repeats:
                    self.out.write(f"[the line above {self.repeats} more times]\\n")
                    self.repeats = 0
                self.out.write(line + "\\n")
                self.last = line
        return len(text)

    def flush(self):
        self.out.flush()


_sys.stdout = _Squeezed(_sys.stdout)
'''


def python_ok():
    """Skips when Debian's Python lacks a module the references import."""
    missing = subprocess.run(
        [PYTHON, "-c", "import ecdsa, Cryptodome, flask, flask_cors, schedule, requests"],
        capture_output=True, text=True)
    if missing.returncode != 0:
        pytest.skip("the references' Python modules are missing (make deps installs them): "
                    + missing.stderr.strip().splitlines()[-1])


sys.dont_write_bytecode = True
