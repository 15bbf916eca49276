"""The curation page in real headless Chromium: the edit form always saves the record on screen.

Regression of issue 12: after switching records, the form kept the previous record's values and
"Save edit" wrote them into the record now shown. Fresh server, the curation page opened first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.reviewers import Reviewers
from evidence.schema import validate_record
from evidence.store import Store
from tests.test_dashboard_browser import ARGS, CHROMIUM, free_port, wait_healthy
from tests.test_dashboard_pages import APP

PASSWORD = "correct horse battery"
KEEP_OUT = ("status", "reviewer", "note", "updated_at")


def _records() -> list:
    """Three extracted records that differ in almost every field (A first in the picker)."""
    a = {"source_id": "PMID:71001", "trial": "ALPHA-1", "endpoint": "OS", "measure": "HR", "arm": "contrast",
         "value": 0.81, "ci_low": 0.66, "ci_high": 0.99, "n": 300, "intervention": "eribulin",
         "comparator": "dacarbazine", "histotypes": ["leiomyosarcoma"], "evidence_text": "OS HR 0.81 (0.66-0.99)."}
    b = {"source_id": "PMID:71002", "trial": "BETA-2", "endpoint": "PFS", "measure": "median",
         "arm": "intervention", "value": 14.2, "unit": "months", "n": 120, "intervention": "trabectedin",
         "histotypes": ["liposarcoma"], "evidence_text": "Median PFS was 14.2 months."}
    c = {"source_id": "PMID:71003", "trial": "GAMMA-3", "endpoint": "ORR", "measure": "rate", "arm": "single",
         "value": 0.18, "unit": "proportion", "n": 45, "intervention": "pazopanib",
         "histotypes": ["synovial_sarcoma"], "evidence_text": "ORR was 18%."}
    return [validate_record(r) for r in (a, b, c)]


def _snapshot(store: Store, record_id: str) -> dict:
    rec, _ = store.get(record_id)
    return {k: v for k, v in rec.to_dict().items() if k not in KEEP_OUT}


@pytest.fixture
def server(tmp_path):
    """A fresh Streamlit server on a free port over a store with three pending records and one account."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (install Debian chromium)")
    db = f"sqlite:///{tmp_path / 'cur.db'}"
    store = Store(db)
    recs = _records()
    store.add_records(recs)
    Reviewers(store).add("ana", PASSWORD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--db", db]
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                            env={**os.environ, "SARCOMA_EVIDENCE_DB": db})
    try:
        wait_healthy(url, proc)
        yield url, store, recs
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        store.close()


def sign_in(page, name: str = "ana", password: str = PASSWORD) -> None:
    """Sign in with the sidebar form and wait until the page says who is signed in."""
    from playwright.sync_api import expect

    side = page.locator('[data-testid="stSidebar"]')
    side.get_by_role("textbox", name="Reviewer account").fill(name)
    side.get_by_role("textbox", name="Password", exact=True).fill(password)
    side.get_by_role("button", name="Sign in").click()
    expect(side.get_by_text(f"Signed in as {name}")).to_be_visible(timeout=30000)


def idle(page) -> None:
    """Wait until the app has finished its current run (Streamlit's "running" indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30000)


def pick_by_mouse(page, text: str, tries: int = 3) -> None:
    """Open the record picker with a click and click the option holding ``text`` (reopened if a rerun
    closed the list before the option showed)."""
    for attempt in range(tries):
        idle(page)
        record_picker(page).get_by_role("combobox").click()
        option = page.get_by_role("option").filter(has_text=text)
        try:
            option.wait_for(state="visible", timeout=5000)
        except Exception:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
            continue
        option.click()
        return


def record_picker(page):
    return page.locator('[data-testid="stSelectbox"]').filter(has_text="Record")


def wait_record(page, record_id: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(f"record {record_id} ·", exact=False)).to_be_visible(timeout=30000)


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_switching_records_never_carries_values_over(server, tmp_path):
    """Open A, edit a field, switch to C by mouse and to B by keyboard, edit one field of B, save:
    only that field of B changed; A and C are untouched."""
    from playwright.sync_api import expect, sync_playwright

    url, store, (a, b, c) = server
    before = {r.record_id: _snapshot(store, r.record_id) for r in (a, b, c)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(url + "/curation")
            sign_in(page)
            wait_record(page, a.record_id)
            n_box = page.get_by_role("textbox", name="n", exact=True)
            expect(n_box).to_have_value("300")
            n_box.fill("999")  # an edit of A that is never saved
            page.get_by_role("textbox", name="trial", exact=True).fill("ALPHA-EDITED")
            # by mouse: open the picker and click C
            pick_by_mouse(page, "PMID:71003")
            wait_record(page, c.record_id)
            expect(page.get_by_role("textbox", name="trial", exact=True)).to_have_value("GAMMA-3")
            # by keyboard: focus the picker, move up one (B), Enter
            idle(page)
            combo = record_picker(page).get_by_role("combobox")
            combo.focus()
            page.keyboard.press("ArrowDown")
            page.keyboard.press("ArrowUp")
            page.keyboard.press("Enter")
            wait_record(page, b.record_id)
            trial = page.get_by_role("textbox", name="trial", exact=True)
            expect(trial).to_have_value("BETA-2")
            expect(page.get_by_role("textbox", name="n", exact=True)).to_have_value("120")
            idle(page)
            trial.fill("BETA-2 (corrected)")
            page.get_by_role("textbox", name="Reason for the edit (required)").fill("trial name on page 1")
            page.get_by_role("button", name="Save edit").click()
            expect(page.get_by_text(f"{b.record_id}: edited by ana")).to_be_visible(timeout=30000)
            page.screenshot(path=str(tmp_path / "curation.png"), full_page=True)
        finally:
            browser.close()
    after = {r.record_id: _snapshot(store, r.record_id) for r in (a, b, c)}
    assert after[a.record_id] == before[a.record_id]
    assert after[c.record_id] == before[c.record_id]
    changed = {k for k in before[b.record_id] if before[b.record_id][k] != after[b.record_id][k]}
    assert changed == {"trial"} and after[b.record_id]["trial"] == "BETA-2 (corrected)"
    got, _ = store.get(b.record_id)
    assert (got.status, got.reviewer, got.note) == ("edited", "ana", "trial name on page 1")
    assert store.get(a.record_id)[0].status == store.get(c.record_id)[0].status == "extracted"
