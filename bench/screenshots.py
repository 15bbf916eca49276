"""Screenshots of every dashboard page in headless Chromium, and the first-load time of each (issue 15).

    .venv/bin/python bench/screenshots.py [--db sqlite:///demo.db] [--out docs/screenshots]

Builds the demo store when ``--db`` is not given, then for each page starts a fresh Streamlit server (a page
opened first on a fresh server is what a shared link does), opens the page in Debian's Chromium, waits until
the page's title is drawn and no "Running" indicator remains, writes ``NAME.png`` and prints the time from
navigation to a drawn page (cold: the server's first run), then reloads and prints the warm time.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
APP = ROOT / "dashboards" / "app.py"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
PAGES = {"evidence_map": "", "question": "question", "pooled": "pooled", "network": "network", "certainty": "certainty",
         "table": "table", "export": "export", "prognostic": "prognostic", "curation": "curation",
         "changes": "changes"}


LAUNCHER = True


def free_port(ports: range = range(8610, 8630)) -> int:
    """A free port of the range this script's servers use (issue 15: 8610–8629)."""
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports}")


def start(db: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--db", db]
    if LAUNCHER:  # as `sarcoma-evidence dashboard` starts it (dashboards.serve: imports warmed at start)
        from evidence.dashboard_server import streamlit_command

        cmd = streamlit_command(APP, db, "127.0.0.1", port)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise TimeoutError("streamlit did not start")


def drawn(page) -> float:
    t0 = time.monotonic()
    page.wait_for_selector("h1", timeout=60000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60000)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--plain", action="store_true", help="plain `streamlit run` (no import warm-up)")
    ap.add_argument("--repeat", type=int, default=3, help="cold starts of the first page (median reported)")
    args = ap.parse_args()
    global LAUNCHER
    LAUNCHER = not args.plain
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    db = args.db
    if db is None:
        db = f"sqlite:///{tmp / 'demo.db'}"
        subprocess.run([sys.executable, "-m", "evidence.cli", "demo", "--db", db], check=True, cwd=tmp,
                       stdout=subprocess.DEVNULL)
    from playwright.sync_api import sync_playwright

    print(f"{'page':<14} {'cold s':>7} {'warm s':>7}  (cold: fresh server, navigation start -> page drawn)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, path in PAGES.items():
            colds, warm = [], float("nan")
            for i in range(args.repeat if name == "evidence_map" else 1):
                proc, url = start(db, tmp)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 1100})
                    t0 = time.monotonic()
                    page.goto(f"{url}/{path}")
                    drawn(page)
                    colds.append(time.monotonic() - t0)
                    if i == 0:
                        page.wait_for_timeout(1500)  # let charts and images settle before the picture
                        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                        t0 = time.monotonic()
                        page.reload()
                        drawn(page)
                        warm = time.monotonic() - t0
                    page.close()
                finally:
                    proc.terminate()
                    proc.wait(timeout=20)
            cold = statistics.median(colds)
            runs = " ".join(f"{c:.2f}" for c in colds)
            print(f"{name:<14} {cold:7.2f} {warm:7.2f}  runs: {runs}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
