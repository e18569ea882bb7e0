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

Every process runs under `nice`: the http reference spins in a busy loop
while idle, and would otherwise take a core from the nodes under test.
"""
import os
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
            self.proc = subprocess.Popen(["nice", "-n", "19", PYTHON, *self.args], cwd=self.cwd,
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


def python_ok():
    """Skips when Debian's Python lacks a module the references import."""
    missing = subprocess.run(
        [PYTHON, "-c", "import ecdsa, Cryptodome, flask, flask_cors, schedule, requests"],
        capture_output=True, text=True)
    if missing.returncode != 0:
        pytest.skip("the references' Python modules are missing (make deps installs them): "
                    + missing.stderr.strip().splitlines()[-1])


sys.dont_write_bytecode = True
