"""Logs (docs/configuration.md#logs): every line of the node and of the
tracker in one format (UTC time to the millisecond, level, component,
message), the start-up lines at the default level, --log-file, and SIGHUP
opening the file again after a rotation without stopping anything."""
import os
import re
import signal
import subprocess

import pytest

from conftest import BUILD, WAIT_S, free_port, request, wait_listening, wait_until

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|notice|warn|error) "
                  r"[a-z]+(-\d+)?: \S.*$")


def start(tmp_path, program, port, *args):
    argv = [os.path.join(BUILD, program), "--port", str(port), *args]
    if program == "cheesed":
        argv += ["--datadir", str(tmp_path / "data"), "--mine-on-start", "no",
                 "--api-port", str(free_port())]
    err = open(tmp_path / f"{program}.stderr", "w")
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    wait_listening(port, proc, f"{program} listening ({tmp_path}/{program}.stderr)")
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT_S) == 0


def lines_of(path):
    return path.read_text().splitlines()


@pytest.mark.parametrize("program,says", [
    ("cheesed", ["public key: ", "listening on http://127.0.0.1:"]),
    ("cheese-tracker", ["listening on 127.0.0.1:"]),
])
def test_every_line_in_one_format(tmp_path, program, says):
    port = free_port()
    proc = start(tmp_path, program, port)
    stop(proc)
    lines = lines_of(tmp_path / f"{program}.stderr")
    for line in lines:
        assert LINE.match(line), line
    for text in says + ["signal 15: shutting down"]:
        assert any(text in line and " notice " in line for line in lines), (text, lines)
    # the default level says little: nothing at info
    assert not any(" info " in line for line in lines), lines


@pytest.mark.parametrize("program", ["cheesed", "cheese-tracker"])
def test_log_file_and_sighup(tmp_path, program):
    port = free_port()
    log = tmp_path / "node.log"
    proc = start(tmp_path, program, port, "--log-file", str(log), "--log-level", "info")
    try:
        wait_until(lambda: log.exists() and "listening on" in log.read_text(),
                   "the start-up lines in the log file")
        assert (tmp_path / f"{program}.stderr").read_text() == ""
        # a rotation: the file moves away, SIGHUP opens the name again
        log.rename(tmp_path / "node.log.1")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: log.exists() and "SIGHUP: log file" in log.read_text(),
                   "a new log file after SIGHUP")
        assert proc.poll() is None
        if program == "cheesed":
            assert request(port, "GET", "/api/info").status == 200
    finally:
        stop(proc)
    old, new = lines_of(tmp_path / "node.log.1"), lines_of(log)
    assert any("listening on" in line for line in old)
    assert not any("listening on" in line for line in new)
    assert any("signal 15: shutting down" in line for line in new)
    for line in old + new:
        assert LINE.match(line), line
    assert (tmp_path / f"{program}.stderr").read_text() == ""


@pytest.mark.parametrize("program", ["cheesed", "cheese-tracker"])
def test_log_file_that_cannot_be_opened(tmp_path, program):
    """A failed start: exit 1, the reason on stderr, no data directory."""
    result = subprocess.run([os.path.join(BUILD, program), "--port", str(free_port()),
                             "--log-file", str(tmp_path / "missing" / "node.log")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=WAIT_S)
    assert result.returncode == 1
    assert f"{program}: cannot open log file {tmp_path}/missing/node.log: No such file" \
        in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tracker,says", [
    ("127.0.0.1:{closed}", "Connection refused"),
    ("no-such-host.invalid:9999", "cannot resolve the name: "),
])
def test_unreachable_tracker_said_once_at_the_default_level(tmp_path, tracker, says):
    """A cheese node whose tracker cannot be had says so at the default
    level on its first try; the retries after that are info lines."""
    closed = free_port()
    tracker = tracker.format(closed=closed)
    port = free_port()
    err = open(tmp_path / "node.stderr", "w")
    proc = subprocess.Popen([os.path.join(BUILD, "cheesed"), "--network", "cheese",
                             "--port", str(port), "--api-port", str(free_port()),
                             "--tracker", tracker, "--datadir", str(tmp_path / "data"),
                             "--log-level", "info"],
                            stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path)
    err.close()
    try:
        def tries():
            lines = (tmp_path / "node.stderr").read_text().splitlines()
            return [line for line in lines if f": tracker {tracker}: " in line]
        found = wait_until(lambda: len(tries()) >= 3 and tries(), "three tries of the tracker")
    finally:
        stop(proc)
    assert says in found[0] and " warn " in found[0], found
    assert all(" info " in line and "trying again in" in line for line in found[1:]), found


@pytest.mark.parametrize("network,host", [("http", "0.0.0.0"), ("cheese", "0.0.0.0"),
                                          ("http", "::")])
def test_every_address_needs_advertise(tmp_path, network, host):
    """--host 0.0.0.0 listens on every address, which no peer can dial: a
    usage error until --advertise says which, and nothing is created."""
    result = subprocess.run([os.path.join(BUILD, "cheesed"), "--network", network,
                             "--host", host, "--port", str(free_port())],
                            cwd=tmp_path, capture_output=True, text=True, timeout=WAIT_S)
    assert result.returncode == 2
    assert f"cheesed: --host {host} listens on every address" in result.stderr
    assert "give --advertise HOST" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_advertised_address_is_what_the_tracker_hears(tmp_path):
    """A cheese node on 0.0.0.0 joins the tracker as the address given by
    --advertise, and prints that address (a user can dial it)."""
    tracker_port = free_port()
    tracker = start(tmp_path, "cheese-tracker", tracker_port, "--log-level", "info")
    port = free_port()
    err = open(tmp_path / "node.stderr", "w")
    node = subprocess.Popen([os.path.join(BUILD, "cheesed"), "--network", "cheese",
                             "--host", "0.0.0.0", "--advertise", "127.0.0.1",
                             "--port", str(port), "--api-port", str(free_port()),
                             "--tracker", f"127.0.0.1:{tracker_port}",
                             "--datadir", str(tmp_path / "data")],
                            stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path)
    err.close()
    try:
        joined = f" as 127.0.0.1:{port} "
        wait_until(lambda: joined in (tmp_path / "cheese-tracker.stderr").read_text(),
                   "the node's join at the tracker")
    finally:
        stop(node)
        stop(tracker)
    assert "0.0.0.0" not in (tmp_path / "cheese-tracker.stderr").read_text()
    assert f"listening on cheese://127.0.0.1:{port}" in (tmp_path / "node.stderr").read_text()
