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
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboards" / "app.py"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
PAGES = {"evidence_map": "", "pooled": "pooled", "network": "network", "certainty": "certainty",
         "table": "table", "export": "export", "prognostic": "prognostic", "curation": "curation",
         "changes": "changes"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--db", db]
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
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    db = args.db
    if db is None:
        db = f"sqlite:///{tmp / 'demo.db'}"
        subprocess.run([sys.executable, "-m", "evidence.cli", "demo", "--db", db], check=True, cwd=tmp,
                       stdout=subprocess.DEVNULL)
    from playwright.sync_api import sync_playwright

    print(f"{'page':<14} {'cold s':>7} {'warm s':>7}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, path in PAGES.items():
            proc, url = start(db, tmp)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1100})
                t0 = time.monotonic()
                page.goto(f"{url}/{path}")
                drawn(page)
                cold = time.monotonic() - t0
                page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                t0 = time.monotonic()
                page.reload()
                drawn(page)
                warm = time.monotonic() - t0
                print(f"{name:<14} {cold:7.2f} {warm:7.2f}", flush=True)
                page.close()
            finally:
                proc.terminate()
                proc.wait(timeout=20)
        browser.close()


if __name__ == "__main__":
    main()
