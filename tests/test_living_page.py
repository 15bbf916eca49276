"""The "What changed" dashboard page: AppTest of its content, and the page in real headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evidence.snapshots import load_snapshot
from evidence.store import Store
from tests.test_dashboard_browser import ARGS, CHROMIUM, free_port, wait_healthy
from tests.test_living import FINAL_OS, NEW_TRIAL, announce_os, cli, curate_into, record_ids

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"


@pytest.fixture(scope="module")
def living_db(tmp_path_factory) -> tuple[str, object, object]:
    """Demo store → snapshot #1 → the two reports (snapshot #2) → curated → snapshot #3; with the ANNOUNCE
    OS question as it stood at #1 and at #3."""
    url = f"sqlite:///{tmp_path_factory.mktemp('living') / 'demo.db'}"
    assert cli("demo", "--db", url).exit_code == 0
    assert cli("update", "--db", url).exit_code == 0
    before = record_ids(url)
    assert cli("update", str(NEW_TRIAL), str(FINAL_OS), "--db", url).exit_code == 0
    store = Store(url)
    first = announce_os(load_snapshot(store, 1))
    curate_into(url, first.key, record_ids(url) - before)
    assert cli("update", "--db", url, "--note", "curated").exit_code == 0
    last = load_snapshot(store, 3).questions[first.key.text]
    store.close()
    return url, first, last


def page(db: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", db)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("screens/what_changed.py").run()
    assert not at.exception, at.exception
    return at


def test_page_names_the_new_trial_the_replaced_report_and_the_estimates(living_db, monkeypatch):
    """Default baseline (the store equals #3, so #2): OLAFIRST, ANNOUNCE's later report, old → new estimate."""
    db, first, last = living_db
    at = page(db, monkeypatch)
    text = "\n".join(m.value for m in at.markdown).replace("\\", "")  # as shown: Markdown escapes dropped
    assert "OLAFIRST" in text and "later report replaces an earlier one — ANNOUNCE: PMID:32259228 (2020)" in text
    assert f"{first.shown} → {last.shown}" in text and f"k {first.k} → {first.k + 1}" in text
    assert {m.label: m.value for m in at.metric}["New trials"] == "1"
    assert "snapshot #2" in at.caption[0].value
    # the timeline of that question: one row per snapshot (it is the page's default, the one that changed)
    assert at.selectbox(key="timeline_question").value == first.key.text
    table = at.table[0].value
    assert list(table["k"]) == [first.k, first.k, first.k + 1] and "OLAFIRST" in table["trials"].iloc[-1]


def test_page_since_the_first_snapshot_and_without_snapshots(living_db, monkeypatch, tmp_path):
    at = page(living_db[0], monkeypatch)
    at.selectbox(key="changes_since").set_value("1").run()
    assert not at.exception and "snapshot #1" in at.caption[0].value
    assert "OLAFIRST" in "\n".join(m.value for m in at.markdown)
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(empty).close()
    at = page(empty, monkeypatch)
    assert "No snapshot yet" in at.info[0].value


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_what_changed_page_in_chromium(living_db, tmp_path):
    """The page in real headless Chromium: the changed question, its new trial, the timeline table."""
    db, _, last = living_db
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI (install Debian chromium)")
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium); skipping the browser test")
    from playwright.sync_api import expect, sync_playwright

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
                pg = browser.new_page(viewport={"width": 1400, "height": 1800})
                # from the main page by its sidebar link (a fresh server's first deep link shows Streamlit's
                # transient "Page not found" dialog before st.navigation has run once, on any page)
                pg.goto(url + "/")
                expect(pg.get_by_role("heading", name="Evidence map")).to_be_visible(timeout=60000)
                pg.wait_for_selector(".js-plotly-plot", timeout=60000)  # the first page has finished its run
                pg.get_by_role("link", name="What changed").click()
                expect(pg.get_by_role("heading", name="What changed")).to_be_visible(timeout=60000)
                expect(pg.get_by_text("new trial(s): OLAFIRST").first).to_be_visible(timeout=30000)
                expect(pg.get_by_text("later report replaces an earlier one", exact=False).first).to_be_visible(
                    timeout=30000)
                expect(pg.get_by_text("Timeline of a pooled estimate")).to_be_visible(timeout=30000)
                trials = ", ".join(s.name for s in last.studies)
                expect(pg.get_by_role("cell", name=trials, exact=True).first).to_be_visible(timeout=30000)
                expect(pg.get_by_text("Page not found")).to_have_count(0, timeout=30000)
                pg.screenshot(path=str(tmp_path / "what_changed.png"), full_page=True)
                assert "/changes" in pg.url
                assert (tmp_path / "what_changed.png").stat().st_size > 10000
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
