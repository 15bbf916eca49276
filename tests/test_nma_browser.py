"""The Network page in real headless Chromium: the graph and forest render, the league table shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.corpus import corpus_documents, curated_records
from evidence.store import Store
from meta.nma_records import nma_from_records
from tests.test_dashboard_browser import ARGS, CHROMIUM, free_port, wait_healthy
from tests.test_dashboard_pages import APP
from tests.test_nma_page import loop_records


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_network_page_renders_graph_forest_and_league(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI (install Debian chromium)")
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium); skipping the browser test")
    from playwright.sync_api import expect, sync_playwright

    db = f"sqlite:///{tmp_path / 'demo.db'}"
    store = Store(db)
    store.add_sources(corpus_documents())
    store.import_records(curated_records(), reviewer="test")
    store.import_records(loop_records(), reviewer="test")
    store.close()
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
                page = browser.new_page(viewport={"width": 1500, "height": 1600})
                page.goto(url + "/")
                link = page.get_by_role("link", name="Network", exact=True)  # the app's navigation
                expect(link).to_be_visible(timeout=60000)
                link.click()
                expect(page.get_by_text("Network meta-analysis", exact=True)).to_be_visible(timeout=60000)
                try:
                    page.wait_for_selector(".js-plotly-plot", timeout=60000)
                except Exception:
                    page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
                    raise
                expect(page.locator(".js-plotly-plot")).to_have_count(2, timeout=30000)
                expect(page.get_by_text("disconnected", exact=False).first).to_be_visible()
                expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
                # the graph labels every treatment of the shown (largest) component
                net = nma_from_records(Store(db).records_frame(), setting="advanced", line="second_plus")
                shown = net.components[0]
                graph = page.locator(".js-plotly-plot").first
                for t in shown:
                    assert graph.locator("text").filter(has_text=t).count() >= 1, t
                shot = Path(os.environ.get("NMA_SCREENSHOT", tmp_path / "network.png"))
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10000
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
