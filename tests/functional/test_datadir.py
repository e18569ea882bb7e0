"""One program per data directory, and secrets kept private.

A second node started on a data directory in use must stop at once, name
the directory and the process that holds it, and leave the first node, its
wallet and its database untouched. A wallet, an API token or a data
directory left open to other users is restricted to its owner, with a
warning.
"""
import fcntl
import os
import socket
import stat
import subprocess

from conftest import BUILD, WAIT_S, Node, free_port


def run_to_exit(args, cwd):
    """Runs a program that must refuse to start; returns (code, stderr)."""
    done = subprocess.run(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=WAIT_S)
    return done.returncode, done.stderr.decode(errors="replace")


def files_of(datadir):
    """Name -> bytes of every file of a data directory but the SQLite ones,
    which the first node may be writing."""
    out = {}
    for name in sorted(os.listdir(datadir)):
        path = os.path.join(datadir, name)
        if os.path.isfile(path) and not name.startswith("chain.sqlite"):
            with open(path, "rb") as f:
                out[name] = f.read()
    return out


def held_by_this_process(datadir):
    """Takes the data directory's lock as a running node would: returns the
    open file, whose closing releases it."""
    os.makedirs(datadir, exist_ok=True)
    lock = open(os.path.join(datadir, ".lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def test_a_second_http_node_on_a_datadir_in_use_exits_at_once(make_node, tmp_path):
    # a first node that changes nothing by itself (no block 1 of its own),
    # so that any change would be the second one's
    first = make_node(extra=["--mine-on-start", "no"])
    before = files_of(first.datadir)
    tip = first.tip()["hash"]
    port = free_port()
    args = [os.path.join(BUILD, "cheesed"), "--network", "http", "--host", "127.0.0.1",
            "--port", str(port), "--api-port", str(free_port()), "--datadir", first.datadir]
    code, err = run_to_exit(args, str(tmp_path))
    assert code != 0
    assert first.datadir in err and f"process {first.proc.pid}" in err, err
    # the first node goes on as it was; the second never listened
    assert first.get("/getblocks").status == 200
    assert first.tip()["hash"] == tip
    assert files_of(first.datadir) == before
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return
    raise AssertionError("the refused node listened")


def test_the_lock_is_released_when_the_node_stops(make_node):
    node = make_node()
    node.restart()  # the same directory, taken again by the next process
    assert node.get("/getblocks").status == 200


def test_a_cheese_node_on_a_datadir_in_use_exits_at_once(tmp_path):
    datadir = str(tmp_path / "data")
    with held_by_this_process(datadir):
        args = [os.path.join(BUILD, "cheesed"), "--network", "cheese", "--host", "127.0.0.1",
                "--port", str(free_port()), "--tracker", f"127.0.0.1:{free_port()}",
                "--datadir", datadir]
        code, err = run_to_exit(args, str(tmp_path))
    assert code != 0
    assert datadir in err and f"process {os.getpid()}" in err, err
    assert sorted(os.listdir(datadir)) == [".lock"]  # no wallet, no database


def test_a_devnet_on_a_folder_in_use_exits_at_once(tmp_path):
    folder = str(tmp_path / "devnet")
    with held_by_this_process(folder):
        args = [os.path.join(BUILD, "cheese-devnet"), "--network", "http", "--nodes", "1",
                "--dir", folder, "--base-port", str(free_port())]
        code, err = run_to_exit(args, str(tmp_path))
    assert code != 0
    assert folder in err and f"process {os.getpid()}" in err, err
    assert sorted(os.listdir(folder)) == [".lock"]


def test_secrets_open_to_others_are_restricted_with_a_warning(tmp_path):
    node = Node(str(tmp_path))
    node.start()
    node.stop()
    token = os.path.join(node.datadir, "api.token")
    wallet = os.path.join(node.datadir, "wallet.key")
    for path, mode in ((token, 0o644), (wallet, 0o640), (node.datadir, 0o755)):
        os.chmod(path, mode)
    node.start()
    log = node.log()
    for path, expected in ((token, 0o600), (wallet, 0o600), (node.datadir, 0o700)):
        assert stat.S_IMODE(os.stat(path).st_mode) == expected, path
        assert f"{path} was open to other users" in log, log
    node.stop()
