"""cheese-cli's wallet commands (docs/cli.md) against real nodes of both
networks: `wallet backup` copies the wallet of a running node; the copy,
`wallet restore`d into a fresh data directory, gives a node of the same key
and, once it has the chain, the same balance; `wallet restore` and
`key import` refuse while a node runs on the directory and every bad file
with its reason, changing nothing; `key export` | `key import` round-trips
and keeps the wallet it replaces. No wallet command asks a node."""
import json
import os
import socket
import stat
import subprocess

import pytest
from Cryptodome.PublicKey import RSA

from conftest import WAIT_S, Key, request, stop_all, wait_until
from test_cheese_network import Node as CheeseNode
from test_cheese_network import Tracker

NEVER = 255  # --n-transactions no test reaches


def cli_path():
    return os.path.join(os.environ["CHEESE_BUILD"], "cheese-cli")


def cli(*args, stdin=None):
    proc = subprocess.run([cli_path(), *args], capture_output=True, text=True, input=stdin,
                          timeout=WAIT_S * 2)
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in proc.stderr, proc.stderr
    return proc


def ok(*args, stdin=None):
    proc = cli(*args, stdin=stdin)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr == "", proc.stderr
    return proc.stdout


def exported(*args):
    """key export's stdout, after checking its one warning line on stderr."""
    proc = cli(*args, "key", "export")
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("cheese-cli: warning: ")
    assert "whoever holds it can spend" in proc.stderr
    return proc.stdout


def fails(status, *args, says, stdin=None):
    proc = cli(*args, stdin=stdin)
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == "", proc.stdout
    assert proc.stderr.startswith("cheese-cli: "), proc.stderr
    assert says in proc.stderr, proc.stderr
    return proc.stderr


def rows(text):
    out = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        assert sep, line
        out[label] = value.strip()
    return out


def snapshot(datadir):
    """Every file of the data directory with its bytes, but the database and
    the lock (whose holder writes its pid in it)."""
    out = {}
    for name in sorted(os.listdir(datadir)):
        path = os.path.join(datadir, name)
        if name.startswith("chain.sqlite") or name == ".lock" or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            out[name] = f.read()
    return out


def read(path):
    with open(path) as f:
        return f.read()


# ---- the two networks behind one face ---------------------------------------------------------

class HttpNet:
    network = "http"
    wallet_file = "wallet.key"
    other_wallet_file = "wallet-rsa.key"

    def __init__(self, make_node, tmp_path_factory):
        self.make_node = make_node
        self.tmp = tmp_path_factory

    def node(self, follow=None, start=True):
        """A node; with follow, one that takes follow's chain and mines nothing itself."""
        extra = []
        if follow:
            peers = self.tmp.mktemp("peers") / "peers.json"
            peers.write_text(json.dumps({"peers": [follow.address]}))
            extra = ["--peers-default", str(peers), "--gossip-interval", "1",
                     "--mine-on-start", "no"]
        return self.make_node(n_transactions=NEVER, extra=extra, start=start)

    @staticmethod
    def info(node):
        resp = request(node.port, "GET", "/api/info")
        assert resp.status == 200, resp
        return resp.json()

    @staticmethod
    def fund(node):
        node.wait_height(1)  # block 1, mined at start, pays the node's key

    @staticmethod
    def new_key():
        """(private key text, public key) of a new key of this network."""
        key = Key()
        return key.sk.to_string().hex(), key.pub


class CheeseNet:
    network = "cheese"
    wallet_file = "wallet-rsa.key"
    other_wallet_file = "wallet.key"

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.tracker = Tracker(str(tmp_path_factory.mktemp("tracker"))).start()
        self.nodes = []

    def node(self, follow=None, start=True):
        n = CheeseNode(str(self.tmp.mktemp("cheese")), self.tracker.port, n_transactions=NEVER)
        n.datadir = os.path.join(n.workdir, "data")
        self.nodes.append(n)
        return n.start() if start else n

    @staticmethod
    def info(node):
        return node.info()

    @staticmethod
    def fund(node):
        node.mine()  # a cheese node mines only when asked or when payments wait

    @staticmethod
    def new_key():
        key = RSA.generate(1024)
        return key.export_key(format="DER").hex(), key.publickey().export_key(format="DER").hex()

    def close(self):
        stop_all((*self.nodes, self.tracker))


@pytest.fixture(params=["http", "cheese"])
def net(request, make_node, tmp_path_factory):
    if request.param == "http":
        yield HttpNet(make_node, tmp_path_factory)
    else:
        n = CheeseNet(tmp_path_factory)
        yield n
        n.close()


def wallet_of(net, node):
    return os.path.join(node.datadir, net.wallet_file)


# ---- help and usage ---------------------------------------------------------------------------

def test_help_lists_the_wallet_commands():
    out = ok("--help")
    for command in ("wallet backup FILE", "wallet restore FILE", "key export",
                    "key import FILE|-"):
        assert f"\n  {command} " in out, command
    assert "--network http|cheese" in out


@pytest.mark.parametrize("args, says", [
    (("wallet", "backup", "x"), "--datadir DIR must name the node's data directory"),
    (("key", "export"), "--datadir DIR must name"),
    (("--datadir", "d", "wallet"), "wallet: which one?"),
    (("--datadir", "d", "wallet", "frob", "x"), "unknown command 'wallet frob'"),
    (("--datadir", "d", "key", "import"), "usage: cheese-cli [options] key import FILE|-"),
    (("--datadir", "d", "wallet", "backup", "-"), "FILE must name the new file"),
    (("--datadir", "d", "--network", "cheddar", "key", "export"), "--network wants http or "
                                                                  "cheese"),
])
def test_usage_exits_2(args, says, tmp_path):
    fails(2, *args, says=says)


def test_a_wallet_of_each_network_needs_network_named(tmp_path):
    datadir = tmp_path / "both"
    datadir.mkdir()
    http_text, http_pub = HttpNet.new_key()
    (datadir / "wallet.key").write_text(http_text + "\n")
    (datadir / "wallet-rsa.key").write_text(CheeseNet.new_key()[0] + "\n")
    for args in (("key", "export"), ("wallet", "backup", str(tmp_path / "b"))):
        fails(2, "--datadir", str(datadir), *args,
              says="holds a wallet of each network (wallet.key and wallet-rsa.key): say which "
                   "with --network http or --network cheese")
    assert exported("--datadir", str(datadir), "--network", "http") == http_text + "\n"
    assert not (tmp_path / "b").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a restore run with sudo")
def test_restore_as_root_gives_the_wallet_the_datadirs_owner(tmp_path):
    """sudo cheese-cli ... wallet restore into a node's data directory owned
    by the node's user (a systemd unit's): the node must still read its
    wallet, so the wallet takes the directory's owner, not root."""
    owner = 65534  # nobody
    datadir = tmp_path / "data"
    datadir.mkdir()
    old_text, _ = HttpNet.new_key()
    (datadir / "wallet.key").write_text(old_text + "\n")
    os.chmod(datadir / "wallet.key", 0o600)
    for path in (datadir, datadir / "wallet.key"):
        os.chown(path, owner, owner)
    text, pub = HttpNet.new_key()
    source = tmp_path / "restore-me"
    source.write_text(text + "\n")
    assert rows(ok("--datadir", str(datadir), "wallet", "restore", str(source)))["key"] == pub
    st = os.stat(datadir / "wallet.key")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (owner, owner, 0o600)
    kept = [p for p in datadir.iterdir() if p.name.startswith("wallet.key.replaced-")]
    assert len(kept) == 1 and os.stat(kept[0]).st_uid == owner
    assert os.stat(datadir / ".lock").st_uid == owner  # the node takes it next


def test_wallet_commands_ask_no_node(tmp_path):
    """--node points at a listener of ours: no wallet command connects to it,
    and a token file that cannot be read is no concern of theirs."""
    text, pub = HttpNet.new_key()
    source = tmp_path / "k"
    source.write_text(text + "\n")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        common = ["--node", f"127.0.0.1:{port}", "--token-file", str(tmp_path / "none"),
                  "--datadir", str(tmp_path / "data")]
        assert rows(ok(*common, "wallet", "restore", str(source)))["key"] == pub
        ok(*common, "wallet", "backup", str(tmp_path / "b"))
        assert exported(*common) == text + "\n"
        ok(*common, "key", "import", "-", stdin=text + "\n")
        with pytest.raises(BlockingIOError):
            listener.accept()


# ---- backup and restore -----------------------------------------------------------------------

def test_backup_of_a_running_node_restores_into_a_fresh_datadir(net, tmp_path):
    a = net.node()
    net.fund(a)
    info = net.info(a)
    assert info["key"] == a.pub and info["balance_exact"] != "0"
    wallet = wallet_of(net, a)
    backup = tmp_path / "wallet.bak"

    # while the node runs: a copy, mode 0600, the same bytes
    out = ok("--datadir", a.datadir, "wallet", "backup", str(backup))
    assert rows(out) == {"network": net.network, "wallet": os.path.realpath(wallet),
                         "key": a.pub, "backup": os.path.realpath(backup)}
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert backup.read_bytes() == open(wallet, "rb").read()
    assert os.listdir(tmp_path) == ["wallet.bak"]  # no temporary file left
    assert net.info(a)["key"] == a.pub  # the node runs on
    doc = json.loads(ok("--json", "--datadir", a.datadir, "wallet", "backup",
                        str(tmp_path / "second.bak")))
    assert doc == {"network": net.network, "wallet": os.path.realpath(wallet), "key": a.pub,
                   "backup": os.path.realpath(tmp_path / "second.bak")}

    # never over a file
    fails(1, "--datadir", a.datadir, "wallet", "backup", str(backup), says="exists already")
    assert backup.read_bytes() == open(wallet, "rb").read()

    # into a data directory that does not exist yet
    b = net.node(follow=a, start=False)
    assert not os.path.exists(b.datadir)
    out = ok("--datadir", b.datadir, "wallet", "restore", str(backup))
    assert rows(out) == {"network": net.network,
                         "wallet": os.path.realpath(wallet_of(net, b)), "key": a.pub,
                         "replaced": "none (there was no wallet)"}
    assert stat.S_IMODE(os.stat(wallet_of(net, b)).st_mode) == 0o600
    b.start()
    assert b.pub == a.pub
    want = net.info(a)
    wait_until(lambda: net.info(b)["height"] == want["height"],
               "the restored node to have the chain")
    got = net.info(b)
    assert got["key"] == a.pub
    assert got["balance_exact"] == want["balance_exact"]


def test_restore_refused_while_the_node_runs(net, tmp_path):
    a = net.node()
    before = snapshot(a.datadir)
    text, pub = net.new_key()
    source = tmp_path / "new.key"
    source.write_text(text + "\n")
    pid = str(a.proc.pid)
    for args, stdin in ((("wallet", "restore", str(source)), None),
                        (("key", "import", "-"), text + "\n")):
        err = fails(1, "--datadir", a.datadir, *args, stdin=stdin,
                    says="wallet not changed: data directory")
        assert f"in use by process {pid}" in err, err
    assert snapshot(a.datadir) == before  # no replaced copy, no temporary file
    assert net.info(a)["key"] == a.pub
    a.stop()
    a.start()
    assert a.pub == net.info(a)["key"]
    assert a.pub != pub


def test_export_import_round_trip_keeps_what_it_replaces(net, tmp_path):
    a = net.node()
    original = a.pub
    wallet = wallet_of(net, a)
    file_text = read(wallet)

    # export: the file's own text on stdout, one warning line on stderr
    proc = cli("--datadir", a.datadir, "key", "export")
    assert proc.stdout == exported("--datadir", a.datadir) == file_text
    assert file_text.strip() not in proc.stderr
    export_file = tmp_path / "exported.key"
    export_file.write_text(proc.stdout)

    # into a fresh directory, from the file and from stdin
    c = os.path.join(tmp_path, "c")
    assert rows(ok("--datadir", c, "key", "import", str(export_file)))["key"] == original
    d = os.path.join(tmp_path, "d")
    assert rows(ok("--datadir", d, "key", "import", "-", stdin=proc.stdout))["key"] == original
    assert read(os.path.join(d, net.wallet_file)) == file_text

    # another key over the node's wallet (stopped): the old one is kept
    a.stop()
    text, pub = net.new_key()
    out = rows(ok("--datadir", a.datadir, "key", "import", "-", stdin=text + "\n"))
    assert out["key"] == pub
    kept = out["replaced"]
    assert os.path.dirname(kept) == os.path.realpath(a.datadir)
    assert os.path.basename(kept).startswith(net.wallet_file + ".replaced-")
    assert read(kept) == file_text
    assert read(wallet) == text + "\n"
    a.start()
    assert a.pub == pub and net.info(a)["key"] == pub

    # and the exported key back: the wallet is the original's again
    a.stop()
    doc = json.loads(ok("--json", "--datadir", a.datadir, "key", "import", str(export_file)))
    assert doc["key"] == original and doc["changed"] is True
    assert read(doc["replaced"]) == text + "\n"
    assert read(kept) == file_text  # the first copy untouched
    # the same again: nothing to do, nothing written
    before = snapshot(a.datadir)
    out = rows(ok("--datadir", a.datadir, "wallet", "restore", str(export_file)))
    assert out["replaced"].startswith("none (the wallet holds this key already")
    assert snapshot(a.datadir) == before
    a.start()
    assert a.pub == original and net.info(a)["key"] == original


def test_bad_files_refused_and_nothing_changed(net, tmp_path):
    a = net.node()
    a.stop()
    before = snapshot(a.datadir)
    other = CheeseNet if net.network == "http" else HttpNet
    # what each file is refused for, {} being its name (or stdin)
    bad = {
        "empty": ("", "{} is empty: it holds no key"),
        "not-hex": ("this is no key\n", "key import: {}"),
        "other-network": (other.new_key()[0] + "\n",
                          f"{{}} holds a key of the {other.network} network, not of the "
                          f"{net.network} network"),
        "too-long": ("ab" * 4000, "{} is larger than"),
    }
    for name, (content, says) in bad.items():
        path = tmp_path / name
        path.write_text(content)
        for command in ("wallet restore", "key import"):
            fails(1, "--datadir", a.datadir, *command.split(), str(path),
                  says=says.format(path).replace("key import", command))
        fails(1, "--datadir", a.datadir, "key", "import", "-", stdin=content,
              says=says.format("stdin"))
    fails(1, "--datadir", a.datadir, "wallet", "restore", str(tmp_path / "missing"),
          says="No such file or directory")
    fails(1, "--datadir", a.datadir, "wallet", "restore", str(tmp_path),
          says="Is a directory")
    # the other network's key, the network named: still refused
    path = tmp_path / "other-network"
    fails(1, "--datadir", a.datadir, "--network", net.network, "key", "import", str(path),
          says=f"holds a key of the {other.network} network")
    assert snapshot(a.datadir) == before
    # nor is a directory made for a bad key
    fresh = tmp_path / "fresh"
    fails(1, "--datadir", str(fresh), "key", "import", str(tmp_path / "not-hex"),
          says="holds no private key of any network")
    assert not fresh.exists()
    a.start()
    assert net.info(a)["key"] == a.pub


def test_a_wallet_that_is_no_key_is_not_backed_up(net, tmp_path):
    datadir = tmp_path / "data"
    datadir.mkdir()
    (datadir / net.wallet_file).write_text("garbage\n")
    fails(1, "--datadir", str(datadir), "wallet", "backup", str(tmp_path / "b"),
          says="no backup made")
    fails(1, "--datadir", str(datadir), "key", "export", says=str(datadir / net.wallet_file))
    assert not (tmp_path / "b").exists()
    fails(1, "--datadir", str(tmp_path / "empty"), "wallet", "backup", str(tmp_path / "b"),
          says="holds no wallet")
