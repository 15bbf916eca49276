"""Issue 15 part A in real headless Chromium (Playwright): what a committee must see in the browser.

(a) every page opened first on a fresh server shows the app's navigation and sidebar; (b) the Question page
filtered by line and setting in the sidebar lists only matching comparisons; (c) the subgroup forest shows
the test for subgroup differences; (d) the Certainty page's DOCX download holds the SoF rows; (e) a
risk-of-bias judgement entered there by a signed-in reviewer changes the downloaded SoF.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards import certainty_view, views
from dashboards import question_view as qv
from dashboards.state import ViewState
from evidence.grading import ROB_DOMAINS, ROB_LABELS, Judgements
from evidence.store import Store
from tests.test_dashboard_browser import ARGS, CHROMIUM, wait_healthy
from tests.test_dashboard_pages import APP, build_store

pytestmark = [pytest.mark.browser]
PORTS = range(8610, 8630)  # this suite's Streamlit servers
PASSWORD = "a long enough passphrase"
#: url path -> page title (h1), as dashboards/app.py lists them
PAGES = {"": "Evidence map", "question": "Question", "pooled": "Pooled estimate", "network": "Network meta-analysis",
         "certainty": "Certainty of evidence (GRADE)", "table": "Evidence table", "export": "Export",
         "prognostic": "Prognostic factors", "curation": "Curation", "changes": "What changed"}
NAV = ("Evidence map", "Question", "Pooled estimate", "Network", "Certainty (GRADE)", "Evidence table", "Export",
       "Prognostic factors", "Curation", "What changed")


def port_in_range() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@contextlib.contextmanager
def streamlit_server(db: str, cwd: Path) -> Iterator[str]:
    """A fresh Streamlit server of the app on ``db``; terminated (then killed) on exit."""
    port = port_in_range()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--db", db]
    with (cwd / f"streamlit-{port}.log").open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                env={**os.environ, "SARCOMA_EVIDENCE_DB": db})
        try:
            wait_healthy(url, proc, timeout=60)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def store_db(tmp_path_factory) -> tuple[str, Path]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (install Debian chromium)")
    d = tmp_path_factory.mktemp("issue15")
    db = f"sqlite:///{d / 'store.db'}"
    build_store(db).close()
    # the reviewer account as an administrator makes it: the CLI, password on stdin
    res = subprocess.run([sys.executable, "-m", "evidence.cli", "reviewers", "add", "ana", "--db", db],
                         input=PASSWORD + "\n", text=True, capture_output=True, cwd=d)
    assert res.returncode == 0, res.stdout + res.stderr
    return db, d


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def shared(store_db):
    """One server for (b)–(e); (a) starts its own per page."""
    db, d = store_db
    with streamlit_server(db, d) as url:
        yield url, db, d


def idle(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60000)


def choose(page, container, label: str, option: str) -> None:
    """Open the select box or multiselect labelled ``label`` inside ``container`` and click ``option``."""
    for attempt in range(3):
        idle(page)
        box = container.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').filter(
            has=page.get_by_text(label, exact=True)).first
        box.get_by_role("combobox").click()
        opt = page.get_by_role("option").filter(has_text=option).first
        try:
            opt.wait_for(state="visible", timeout=5000)
        except Exception:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            continue
        opt.click()
        page.keyboard.press("Escape")
        idle(page)
        return


def grid_rows(page, index: int = 0) -> list[list[str]]:
    """The cells of the ``index``-th st.dataframe (glide grid's accessible table), one list per row."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(index)
    grid.locator('[role="gridcell"]').first.wait_for(state="attached", timeout=30000)
    heads = grid.locator('[role="columnheader"]').all_text_contents()
    cells = grid.locator('[role="gridcell"]').all_text_contents()
    n = len(heads)
    assert n, "no column header"
    return [cells[i:i + n] for i in range(0, len(cells), n)]


def sof_docx(page, tmp: Path, name: str) -> list[list[str]]:
    """Download the SoF DOCX with the Certainty page's button; its table rows and footnote paragraphs."""
    from docx import Document

    with page.expect_download(timeout=30000) as dl:
        page.get_by_role("button", name="Summary of findings (DOCX)").click()
    path = tmp / name
    dl.value.save_as(str(path))
    doc = Document(str(path))
    rows = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    notes = [p.text for p in doc.paragraphs if p.text.startswith("[")]
    return [*rows, ["footnotes", *notes]]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_opened_first_on_a_fresh_server_shows_navigation_and_sidebar(store_db, browser, path):
    from playwright.sync_api import expect

    db, d = store_db
    with streamlit_server(db, d) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            page.goto(f"{url}/{path}")
            expect(page.locator("h1").first).to_have_text(PAGES[path], timeout=60000)
            idle(page)
            nav = page.locator('[data-testid="stSidebarNav"]')
            expect(nav).to_be_visible()
            got = nav.get_by_role("link").all_inner_texts()
            assert [t.strip() for t in got] == list(NAV)
            side = page.locator('[data-testid="stSidebar"]')
            expect(side.get_by_text("Filters", exact=True)).to_be_visible()
            expect(side.get_by_text("Line of therapy", exact=True)).to_be_visible()
            expect(side.get_by_text("Reviewer", exact=True)).to_be_visible()
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            page.close()


@pytest.mark.timeout(240)
def test_question_filtered_by_line_and_setting_shows_only_matching_comparisons(shared, browser):
    from playwright.sync_api import expect

    url, db, _ = shared
    page = browser.new_page(viewport={"width": 1500, "height": 1800})
    try:
        page.goto(url + "/question")
        expect(page.locator("h1").first).to_have_text("Question", timeout=60000)
        side = page.locator('[data-testid="stSidebar"]')
        before = grid_rows(page)
        assert {r[3] for r in before} > {"first line"}  # unfiltered: more than one line
        choose(page, side, "Line of therapy", "first line")
        choose(page, side, "Setting", "advanced / metastatic")
        expect(page).to_have_url(re.compile(r"f_line=first"), timeout=15000)
        expect(page).to_have_url(re.compile(r"f_setting=advanced"), timeout=15000)
        rows = grid_rows(page)
        assert rows and all(r[3] == "first line" and r[2] == "advanced / metastatic" for r in rows), rows
        df = views.filter_records(Store(db).records_frame(), ViewState(lines=("first",), settings=("advanced",)))
        want = qv.display(qv.question_table(df, "", "OS", "HR"))
        assert [r[1] for r in rows] == list(want["comparison"])
        assert [r[6] for r in rows] == list(want["estimate [95% CI]"])
        link = page.get_by_role("link", name="Network meta-analysis of this question")
        expect(link).to_be_visible()
        link.click()
        expect(page.locator("h1").first).to_have_text("Network meta-analysis", timeout=60000)
        idle(page)
        main = page.locator('[data-testid="stMain"]')
        expect(main.get_by_role("combobox", name="Line", exact=True)).to_have_value("first", timeout=30000)
        expect(main.get_by_role("combobox", name="Setting", exact=True)).to_have_value("advanced")
    finally:
        page.close()


@pytest.mark.timeout(240)
def test_subgroup_forest_renders_with_the_subgroup_test(shared, browser):
    from playwright.sync_api import expect

    url, db, _ = shared
    df = views.filter_records(Store(db).records_frame(), ViewState())
    table = qv.question_table(df, "", "OS", "HR")
    comp = table.iloc[0]
    want = qv.subgroups(df, comp["intervention"], comp["comparator"], "OS", "HR", "histotype")
    assert want.test is not None and want.test.df >= 1  # a real split: two or more histotypes
    page = browser.new_page(viewport={"width": 1500, "height": 2200})
    try:
        page.goto(url + "/question")
        expect(page.locator("h1").first).to_have_text("Question", timeout=60000)
        idle(page)
        expect(page.get_by_text(want.test_text(), exact=True)).to_be_visible(timeout=30000)
        img = page.locator('[data-testid="stImage"] img, [data-testid="stFullScreenFrame"] img').first
        expect(img).to_be_visible(timeout=30000)
        assert img.evaluate("i => i.naturalWidth") > 300
        rows = grid_rows(page, 1)
        assert [r[0] for r in rows] == list(want.groups["group"])
        choose(page, page.locator('[data-testid="stMain"]'), "Subgroups by", "phase")
        other = qv.subgroups(df, comp["intervention"], comp["comparator"], "OS", "HR", "phase")
        expect(page.get_by_text(html.unescape(other.test_text()), exact=True)).to_be_visible(timeout=30000)
    finally:
        page.close()


@pytest.mark.timeout(300)
def test_sof_docx_download_and_a_rob_judgement_entered_on_the_dashboard(shared, browser, tmp_path):
    from playwright.sync_api import expect

    url, db, _ = shared
    store = Store(db)
    records, rows = certainty_view.rows_of(store)
    assert rows
    page = browser.new_page(viewport={"width": 1500, "height": 2200}, accept_downloads=True)
    try:
        page.goto(url + "/certainty")
        expect(page.locator("h1").first).to_have_text("Certainty of evidence (GRADE)", timeout=60000)
        idle(page)
        got = sof_docx(page, tmp_path, "before.docx")
        body = got[1:-1]
        assert len(body) == len(rows)
        for cells, r in zip(body, rows, strict=True):
            assert cells[0] == f"{r.population_label}: {r.intervention} vs {r.comparator}"
            assert cells[1] == r.outcome and cells[2].endswith(f"({r.k} studies)")
            assert cells[3] == r.relative_effect
            assert cells[5].startswith(r.certainty.level)
        first = rows[0]
        assert any(n.endswith("Risk of bias: not assessed — no study has a risk-of-bias judgement yet")
                   for n in got[-1])
        # (e) sign in and judge every RoB 2 domain of the question's first study "high"
        side = page.locator('[data-testid="stSidebar"]')
        side.get_by_role("textbox", name="Reviewer account").fill("ana")
        side.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
        side.get_by_role("button", name="Sign in").click()
        expect(side.get_by_text("Signed in as ana")).to_be_visible(timeout=30000)
        study = certainty_view.studies_of(records, first)[0]
        for d in ROB_DOMAINS:
            form = page.locator('[data-testid="stForm"]').filter(has_text="Risk of bias for")
            choose(page, form, "Domain", ROB_LABELS[d])
            choose(page, form, "Judgement", "high")
            form.get_by_role("textbox", name="Reason (what in the report supports it)").fill(f"browser test: {d}")
            form.get_by_role("button", name="Save risk of bias").click()
            idle(page)
        for _ in range(60):  # the page's RoB table shows the study's overall judgement once all five are in
            if any(r[0] == study and r[-1] == "high" for r in grid_rows(page, 2)):
                break
            page.wait_for_timeout(500)
        else:
            raise AssertionError(f"RoB table never showed {study} at high risk: {grid_rows(page, 2)}")
        idle(page)
        after_lib = certainty_view.rows_of(store)[1][0]
        judged = Judgements(store).rob(study, first.outcome)  # the form's default study, under ana's account
        assert {d: (j.judgement, j.reviewer) for d, j in judged.items()} == dict.fromkeys(ROB_DOMAINS, ("high", "ana"))
        got2 = sof_docx(page, tmp_path, "after.docx")
        row2 = got2[1]
        assert row2[5].startswith(after_lib.certainty.level), (row2[5], after_lib.certainty.level)
        # the first row's risk-of-bias footnote now reports the weight at high risk, not "not assessed"
        assert not got2[-1][1].endswith("Risk of bias: not assessed — no study has a risk-of-bias judgement yet")
        # (with one study of six judged, the domain is "not serious" and leaves the footnotes; its reason says so)
        assert "of the weight at high risk" in after_lib.certainty.domain("risk_of_bias").reason
        assert after_lib.certainty.domain("risk_of_bias").judgement != "not assessed"
        assert got2[-1] != got[-1] or row2[5] != got[1][5]
    finally:
        page.close()
        store.close()
