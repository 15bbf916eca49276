"""End to end in real headless Chromium: start the app, open the evidence map, choose a cell, see its
forest plot and pooled estimate."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_dashboard_pages import APP, SYN, build_store, hr_pool

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url}/_stcore/health did not answer ok within {timeout:.0f} s")


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_choose_a_cell_and_see_its_forest_plot(tmp_path):
    """Map → choose the six-trial cell → the pooled page shows the forest plot image and the pooled HR."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI (install Debian chromium)")
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium); skipping the browser test")
    from playwright.sync_api import expect, sync_playwright

    db = f"sqlite:///{tmp_path / 'demo.db'}"
    build_store(db).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--db", db]
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.goto(url + "/")
                page.wait_for_selector(".js-plotly-plot", timeout=30000)
                picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a cell")
                picker.click()
                page.get_by_role("option").filter(has_text="myxofibrosarcoma").first.click()
                expect(page.get_by_text("Pooled HR", exact=True)).to_be_visible(timeout=30000)
                forest = page.locator('[data-testid="stImage"] img, [data-testid="stFullScreenFrame"] img').first
                expect(forest).to_be_visible(timeout=30000)
                res = hr_pool(SYN)
                import math

                expect(page.get_by_text(f"Pooled HR {math.exp(res.estimate):.2f}", exact=False).first).to_be_visible()
                assert "/pooled" in page.url and "cell=" in page.url
                page.screenshot(path=str(tmp_path / "pooled.png"), full_page=True)
                assert (tmp_path / "pooled.png").stat().st_size > 10000
            finally:
                browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
