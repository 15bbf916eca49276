"""Run the Streamlit dashboard as a child process: bound where asked, hardened, never orphaned.

``sarcoma-evidence dashboard`` (:mod:`evidence.cli`) calls :func:`serve`. The child binds
``127.0.0.1`` unless ``--host`` says otherwise, keeps Streamlit's XSRF protection on (and CORS
checks, which XSRF needs), hides the Deploy button and developer menu (``client.toolbarMode =
"viewer"``) and reports no usage statistics. The address printed is the one Streamlit itself
reports serving (its ``URL:`` line), not the one we asked for. SIGTERM and SIGINT are forwarded to
the child (which runs in its own session, so a terminal's Ctrl+C reaches it once, through us); it is
killed if it has not stopped within :data:`GRACE` seconds.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

GRACE = 10.0
_URL = re.compile(r"URL:\s*(http://\S+)")
HARDENING = ("--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.enableXsrfProtection", "true", "--server.enableCORS", "true",
             "--client.toolbarMode", "viewer", "--server.fileWatcherType", "none", "--server.runOnSave", "false")


def free_port(host: str) -> int:
    """A port that is free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def streamlit_command(app_path: Path, url: str, host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line of the dashboard on store ``url`` (through :mod:`dashboards.serve`,
    which warms the heavy imports while the server starts)."""
    return [sys.executable, "-m", "dashboards.serve", "run", str(app_path), "--server.address", host,
            "--server.port", str(port), *HARDENING, "--", "--db", url]


def serve(cmd: list[str], announce: Callable[[str], None], log: Callable[[str], None]) -> int:
    """Run ``cmd`` until it exits or we are told to stop; returns the exit code (0 when stopped by a signal).

    ``announce(url)`` is called once with the address Streamlit reports; every other output line
    goes to ``log``. Raises ``RuntimeError`` (one line with Streamlit's last words) when the child
    exits before serving.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            start_new_session=True)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if proc.poll() is None:
            proc.terminate()
            killer = threading.Timer(GRACE, lambda: proc.poll() is None and proc.kill())
            killer.daemon = True
            killer.start()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    served, tail = False, []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            text = line.rstrip("\n")
            m = _URL.search(text)
            if m and not served:
                served = True
                announce(m.group(1).rstrip("/"))
                continue
            if text.strip():
                tail = [*tail[-4:], text.strip()]
                log(text)
        try:
            code = proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    finally:
        if proc.poll() is None:  # an exception on our side: never leave the server behind
            proc.terminate()
            try:
                proc.wait(timeout=GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopping:
        return 0
    if not served:
        raise RuntimeError("streamlit stopped before serving: " + (" | ".join(tail) or f"exit code {code}"))
    return code


__all__ = ["GRACE", "HARDENING", "free_port", "serve", "streamlit_command"]
