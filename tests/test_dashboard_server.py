"""``sarcoma-evidence dashboard`` as a real subprocess (issue 12): binds 127.0.0.1 by default, prints the
address it really serves, keeps XSRF protection on and the toolbar in viewer mode, and leaves no
Streamlit server behind on SIGTERM or SIGINT."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from evidence.store import Store
from tests.conftest import make_record


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    store = Store(url)
    store.add_records([make_record()])
    store.close()
    return url


def _start(db: str, tmp_path: Path, log, *extra: str) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-c", "from evidence.cli import main; main()", "dashboard", "--db", db, "--port", "0",
           *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the child reports its address
    assert line.startswith("dashboard of sqlite:///"), (line, (tmp_path / "err.log").read_text())
    address = line.split(" at ", 1)[1].split("/  ", 1)[0]
    return proc, address


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_dashboard_binds_localhost_prints_its_address_and_stops_its_child(db, tmp_path, sig):
    log = (tmp_path / "err.log").open("w")
    proc, address = _start(db, tmp_path, log)
    try:
        assert address.startswith("http://127.0.0.1:")
        port = int(address.rsplit(":", 1)[1])
        with urllib.request.urlopen(f"{address}/_stcore/health", timeout=10) as r:
            assert r.read().decode().strip() == "ok"
        kids = _children(proc.pid)
        assert len(kids) == 1
        cmdline = Path(f"/proc/{kids[0]}/cmdline").read_bytes().split(b"\0")
        args = [a.decode() for a in cmdline]
        pairs = dict(itertools.pairwise(args))
        assert pairs["--server.address"] == "127.0.0.1" and pairs["--server.enableXsrfProtection"] == "true"
        assert pairs["--client.toolbarMode"] == "viewer" and pairs["--server.port"] == str(port)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 15
        while _alive(kids[0]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(kids[0]), "the Streamlit child outlived the dashboard command"
        assert not _port_open("127.0.0.1", port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        log.close()


def test_dashboard_refuses_a_host_it_cannot_bind(db, tmp_path):
    res = subprocess.run([sys.executable, "-c", "from evidence.cli import main; main()", "dashboard", "--db", db,
                          "--host", "192.0.2.1", "--port", "0"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "cannot bind" in res.stderr
