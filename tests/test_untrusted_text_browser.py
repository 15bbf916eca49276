"""Text from documents and from the URL is never parsed as markdown or HTML (issue 12), in real Chromium.

Titles, trial and agent names, source sentences and a ``?record=`` value carry an image that would
load from 127.0.0.1:1, a javascript: link, markdown bold and an HTML tag. Every page that shows them
(curation passage and title, the warning box, the evidence table, the Plotly evidence map) must
show them as typed and load nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from evidence.schema import validate_record
from evidence.store import Store
from tests.test_curation_browser import idle
from tests.test_dashboard_browser import ARGS, CHROMIUM, free_port, wait_healthy
from tests.test_dashboard_pages import APP

IMG = "![x](http://127.0.0.1:1/x)"
LINK = "[a](javascript:alert(1))"
PAYLOAD = f"{IMG} {LINK} **b** <b>bold</b>"


def _store(url: str) -> tuple[str, str]:
    """One accepted and one extracted record whose texts all carry the payload; returns their ids."""
    store = Store(url)
    text = f"Intro {PAYLOAD}.\n\nResults: OS HR 0.70 (95% CI 0.55-0.90). After {PAYLOAD}"
    v = text.index("0.70")
    common = {"endpoint": "OS", "measure": "HR", "arm": "contrast", "value": 0.70, "ci_low": 0.55, "ci_high": 0.90,
              "n": 200, "histotypes": ["leiomyosarcoma"], "comparator": "dacarbazine", "evidence_text": text,
              "char_start": 0, "char_end": len(text), "value_start": v, "value_end": v + 4}
    done = validate_record({**common, "source_id": "PMID:81001", "trial": f"T1 {PAYLOAD}",
                            "intervention": "eribulin <b>x</b> **y**", "source_title": f"Title {PAYLOAD}",
                            "status": "accepted", "reviewer": "test"})
    todo = validate_record({**common, "source_id": "PMID:81002", "trial": f"T2 {PAYLOAD}",
                            "intervention": "trabectedin", "source_title": f"Second {PAYLOAD}"})
    store.add_sources([{"source_id": "PMID:81002", "title": f"Second {PAYLOAD}", "year": 2020, "text": text}])
    store.import_records([done], reviewer="test")
    store.add_records([todo])
    store.close()
    return done.record_id, todo.record_id


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_document_and_url_text_shows_literally_and_loads_nothing(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (install Debian chromium)")
    from playwright.sync_api import expect, sync_playwright

    db = f"sqlite:///{tmp_path / 'hostile.db'}"
    _, todo = _store(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--db", db]
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                            env={**os.environ, "SARCOMA_EVIDENCE_DB": db})
    requests: list[str] = []
    try:
        wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.on("request", lambda r: requests.append(r.url))

                def check(where: str) -> None:
                    idle(page)
                    body = page.inner_text("body")
                    for piece in (IMG, LINK, "**b**", "<b>bold</b>"):
                        assert piece in body, f"{where}: {piece!r} not shown literally"
                    assert page.locator('a[href^="javascript" i]').count() == 0, where
                    assert page.locator('img[src*="127.0.0.1:1/"]').count() == 0, where
                    assert page.locator("strong, b").filter(has_text="bold").count() == 0, where
                    assert page.locator("strong, b").filter(has_text="b").count() == 0, where
                    page.screenshot(path=str(tmp_path / f"{where}.png"), full_page=True)

                # curation: title, passage (with a blank line inside), read-only fields
                page.goto(f"{url}/curation?record={todo}")
                expect(page.get_by_text(f"record {todo} ·", exact=False)).to_be_visible(timeout=30000)
                check("curation")
                # the URL's own text in a warning box
                page.goto(f"{url}/curation?record={quote(IMG)}")
                expect(page.get_by_text("from the link", exact=False)).to_be_visible(timeout=30000)
                idle(page)
                box = page.locator('[data-testid="stAlert"]').filter(has_text="from the link").inner_text()
                assert IMG in box and page.locator('img[src*="127.0.0.1:1/"]').count() == 0
                # evidence table (accepted record): source sentences table
                page.goto(f"{url}/table")
                expect(page.get_by_text("Source sentences")).to_be_visible(timeout=30000)
                check("table")
                # evidence map: Plotly tick labels and hover text escaped (the agent name carries the tags)
                page.goto(f"{url}/")
                page.wait_for_selector(".js-plotly-plot", timeout=30000)
                idle(page)
                ticks = page.locator(".js-plotly-plot .xtick text").evaluate_all("els => els.map(e => e.textContent)")
                assert any("eribulin <b>x</b> **y**" in t for t in ticks), ticks
                assert page.locator(".js-plotly-plot a").count() == 0
                bold = ".js-plotly-plot .xtick text b, .js-plotly-plot .xtick tspan[style*=bold]"
                assert page.locator(bold).count() == 0
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
    loaded = [r for r in requests if urlparse(r).port == 1 or r.startswith("javascript:")]
    assert loaded == [], loaded
