"""AppTest tests of every dashboard page, on a temporary demo store plus a synthetic six-trial cell.

Each test runs the real multipage app (``dashboards/app.py``) headless, finds widgets by ``key=``
and checks the numbers shown against :func:`meta.pool` computed independently on the same records.
"""

from __future__ import annotations

from html import unescape
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from evidence.corpus import corpus_documents, curated_records
from evidence.schema import validate_record
from evidence.store import Store
from meta import cumulative, leave_one_out, pool
from meta.effect_sizes import log_ratio_from_ci

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
DEMO_CELL = "soft_tissue_sarcoma|doxorubicin_plus_agent|doxorubicin|OS|HR|contrast||advanced|first"
SYN_CELL = "myxofibrosarcoma|trabectedin|dacarbazine|PFS|HR|contrast"
HOSTILE = "<script>alert('x')</script> PFS HR was 0.61 (95% CI 0.45-0.82) <img src=x onerror=alert(1)>."
#: (value, ci_low, ci_high, n, year) of six synthetic trials in one cell
SYN = [(0.61, 0.45, 0.82, 210, 2011), (0.75, 0.52, 1.08, 120, 2013), (0.90, 0.70, 1.16, 330, 2015),
       (0.48, 0.30, 0.77, 80, 2016), (0.83, 0.66, 1.04, 400, 2019), (1.02, 0.71, 1.47, 150, 2021)]


def synthetic_records() -> list[dict]:
    """Six HR records of one question (the first with a hostile sentence), as the extractor would store them."""
    out = []
    for i, (v, lo, hi, n, year) in enumerate(SYN):
        text = HOSTILE if i == 0 else f"The hazard ratio for progression was {v} (95% CI {lo} to {hi})."
        start = 1000 * i
        vpos = text.index(str(v))
        out.append(validate_record({
            "source_id": f"PMID:9000{i:03d}", "source_title": f"Synthetic trial {i}", "year": year,
            "trial": f"SYN-{i}", "phase": "3" if i % 2 else "2", "randomized": True, "histotypes": ["myxofibrosarcoma"],
            "intervention": "trabectedin", "comparator": "dacarbazine", "arm": "contrast", "endpoint": "PFS",
            "measure": "HR", "value": v, "ci_low": lo, "ci_high": hi, "n": n, "evidence_text": text,
            "char_start": start, "char_end": start + len(text), "value_start": start + vpos,
            "value_end": start + vpos + len(str(v)), "status": "accepted", "reviewer": "test",
        }))  # fmt: skip
    return out


def build_store(url: str) -> Store:
    """The bundled demo corpus and the synthetic cell in a fresh store."""
    store = Store(url)
    store.add_sources(corpus_documents())
    store.import_records(curated_records(), reviewer="test")
    store.import_records(synthetic_records(), reviewer="test")
    return store


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'demo.db'}"
    build_store(url).close()
    return url


@pytest.fixture
def app(db_url, monkeypatch):
    """An AppTest of the whole app on the test store (call ``.run()``)."""
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", db_url)
    return AppTest.from_file(str(APP), default_timeout=90)


def hr_pool(rows, method="REML", test="z"):
    yi, vi = log_ratio_from_ci([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    return pool(yi, vi, method=method, test=test)


#: first-line doxorubicin plus a second agent vs doxorubicin, OS HR, all comers: JGDG 2016, ANNOUNCE 2020,
#: PICASSO 3 2016, SARC021 2017
DEMO_ROWS = [(0.463, 0.301, 0.710), (1.05, 0.84, 1.30), (1.05, 0.79, 1.39), (1.06, 0.88, 1.29)]


def qp(at, key: str) -> str:
    """A query parameter of the app's URL (AppTest keeps a str, or a list after a page switch)."""
    v = at.query_params[key]
    return v[-1] if isinstance(v, list) else v


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def open_pooled(at, cell: str, **params: str):
    at.query_params["cell"] = cell
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("screens/pooled_estimate.py").run()
    assert not at.exception
    return at


def test_map_page_lists_every_cell(app, db_url):
    """The evidence map renders the OS HR question and its cell picker lists one entry per cell."""
    from dashboards import views
    from dashboards.state import ViewState

    at = app.run()
    assert not at.exception
    assert at.selectbox(key="endpoint").value == "PFS"  # the question with the most records comes first
    at.selectbox(key="endpoint").set_value("OS").run()
    assert at.selectbox(key="measure").value == "HR"
    df = views.filter_records(Store(db_url).records_frame(), ViewState())
    expected = views.map_table(df, "OS", "HR")
    # per-agent cells (GEIS and STRASS among them), and the class cells that join two or more comparisons
    assert len(at.selectbox(key="cell").options) == len(expected) == 29
    shown = at.dataframe[0].value
    row = shown[shown["comparison"] == "doxorubicin_plus_agent vs doxorubicin"]
    assert row["trials (k)"].max() == 4 and row["patients"].max() == 133 + 509 + 447 + 640


def test_choosing_a_cell_on_the_map_opens_its_pooled_estimate(app):
    """Choosing a cell switches to the pooled page, whose numbers equal meta.pool on the cell's two trials."""
    at = app.run()
    at.selectbox(key="endpoint").set_value("OS").run()
    at.selectbox(key="cell").set_value(DEMO_CELL).run()
    assert not at.exception
    res = hr_pool(DEMO_ROWS)
    m = metrics(at)
    assert m["Pooled HR"] == f"{np.exp(res.estimate):.2f}"
    assert m["95% CI"] == f"{np.exp(res.ci_low):.2f} – {np.exp(res.ci_high):.2f}"
    assert m["I²"] == f"{res.i2:.0f}%" and m["Trials (k)"] == "4"
    assert qp(at, "cell") == DEMO_CELL
    assert len(at.get("image")) >= 1  # the forest plot (st.pyplot)


def test_a_link_from_before_setting_and_line_were_keys_opens_its_cell(app):
    """``?cell=`` without setting and line (six parts) names the one cell that has its other parts."""
    at = open_pooled(app, DEMO_CELL.removesuffix("||advanced|first"), endpoint="OS")
    res = hr_pool(DEMO_ROWS)
    assert metrics(at)["Pooled HR"] == f"{np.exp(res.estimate):.2f}"
    at.run()
    assert qp(at, "cell") == DEMO_CELL


def test_estimator_and_test_selectors_repool(app):
    """Changing the τ² estimator and the test re-pools with them and writes them to the URL."""
    at = open_pooled(app, SYN_CELL)
    at.selectbox(key="method").set_value("PM").run()
    at.selectbox(key="test").set_value("knha").run()
    assert not at.exception
    res = hr_pool(SYN, method="PM", test="knha")
    m = metrics(at)
    assert m["Pooled HR"] == f"{np.exp(res.estimate):.2f}"
    assert m["95% CI"] == f"{np.exp(res.ci_low):.2f} – {np.exp(res.ci_high):.2f}"
    assert m["τ²"] == f"{res.tau2:.3f}"
    assert any(f"t (df = 5) = {res.stat:.2f}" in md.value for md in at.markdown)
    assert qp(at, "method") == "PM" and qp(at, "test") == "knha"


def test_excluding_a_study_repools_without_it(app, db_url):
    """Excluding a study drops it from the pooled estimate (k 6 → 5) and records it in the URL."""
    at = open_pooled(app, SYN_CELL)
    excl = at.multiselect(key="exclude")
    first = excl.options[0]
    rid = next(r.record_id for r in Store(db_url).records(status="accepted") if r.trial == "SYN-0")
    excl.set_value([rid]).run()
    assert not at.exception, first
    res = hr_pool(SYN[1:])
    m = metrics(at)
    assert m["Trials (k)"] == "5" and m["Pooled HR"] == f"{np.exp(res.estimate):.2f}"
    assert qp(at, "exclude") == rid


def test_small_k_warns_that_the_prediction_interval_is_unreliable(app):
    """With k = 4 the page warns about the prediction interval; with k = 6 it does not."""
    at = open_pooled(app, DEMO_CELL)
    assert any("k = 4 < 5" in w.value and "prediction interval" in w.value for w in at.warning)
    at2 = AppTest.from_file(str(APP), default_timeout=90)
    at2 = open_pooled(at2, SYN_CELL)
    assert not any("< 5" in w.value for w in at2.warning)


def test_sensitivity_and_bias_views_match_meta(app):
    """Leave-one-out, cumulative (by year) and Egger's test shown equal meta's functions on the same data."""
    at = open_pooled(app, SYN_CELL)
    yi, vi = log_ratio_from_ci([r[0] for r in SYN], [r[1] for r in SYN], [r[2] for r in SYN])
    tables = [d.value for d in at.dataframe if "study" in d.value.columns]
    loo, cum = tables[0], tables[1]
    np.testing.assert_allclose(loo["estimate"], np.exp(leave_one_out(yi, vi)["estimate"]), rtol=1e-10)
    ref = cumulative(yi, vi, order=[r[4] for r in SYN])
    np.testing.assert_allclose(cum["estimate"], np.exp(ref["estimate"]), rtol=1e-10)
    # k = 6 < 10: no funnel plot and no Egger's test, a sentence says why (tests/test_dashboard_forest.py
    # checks the tests shown at k >= 10 against meta.bias)
    assert not any("Egger's regression test" in md.value for md in at.markdown)
    assert any("k = 6" in unescape(i.value) and "at least 10" in unescape(i.value) for i in at.info)


def test_a_shared_link_reopens_the_same_view(app, db_url):
    """Query parameters (filters, cell, estimator, test, exclusions) set every widget as the link says."""
    rid = next(r.record_id for r in Store(db_url).records(status="accepted") if r.trial == "SYN-3")
    at = open_pooled(app, SYN_CELL, f_histotype="myxofibrosarcoma", method="SJ", test="adhoc", exclude=rid)
    assert at.multiselect(key="f_histotype").value == ["myxofibrosarcoma"]
    assert at.selectbox(key="method").value == "SJ" and at.selectbox(key="test").value == "adhoc"
    assert at.multiselect(key="exclude").value == [rid]
    assert at.selectbox(key="pooled_cell").value == SYN_CELL
    res = hr_pool([r for i, r in enumerate(SYN) if i != 3], method="SJ", test="adhoc")
    assert metrics(at)["Pooled HR"] == f"{np.exp(res.estimate):.2f}"
    for k, v in {"f_histotype": "myxofibrosarcoma", "method": "SJ", "test": "adhoc", "exclude": rid}.items():
        assert qp(at, k) == v


def test_evidence_table_filters_and_escapes_source_text(app, db_url):
    """The table page filters by the sidebar widgets and shows source sentences escaped, the number marked."""
    at = app.run()
    at.switch_page("screens/evidence_table.py").run()
    at.multiselect(key="f_histotype").set_value(["myxofibrosarcoma"]).run()
    at.multiselect(key="f_phase").set_value(["2"]).run()
    assert not at.exception
    expect = [r for r in Store(db_url).records(status=["accepted", "edited"])
              if "myxofibrosarcoma" in r.histotypes and r.phase == "2"]
    assert any(f"{len(expect)} records" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == len(expect) == 3
    html = "".join(md.value for md in at.markdown)
    assert "&#60;script&#62;alert&#40;&#39;x&#39;&#41;&#60;&#47;script&#62;" in html and "<script>" not in html
    assert "<mark>0&#46;61</mark>" in html and "<img" not in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/9000000/"' in html


@pytest.mark.parametrize("key,value,n", [("f_agent", ["eribulin"], 13), ("f_endpoint", ["ORR"], 57),
                                         ("f_status", ["rejected"], 0)])
def test_evidence_table_each_filter(app, key, value, n):
    """Each sidebar filter (agent in either arm, endpoint, status) narrows the table to the expected rows."""
    at = app.run()
    at.switch_page("screens/evidence_table.py").run()
    at.multiselect(key=key).set_value(value).run()
    assert not at.exception
    if n:
        assert len(at.dataframe[0].value) == n
    else:  # nothing left: no empty table, a sentence naming the filter to change
        assert not at.dataframe
        assert any("No records match the filters: status = rejected" in unescape(i.value) for i in at.info)


def test_export_page_offers_every_download(app):
    """With a cell chosen the export page offers the table, the pooled results, the cell (raw and formatted)
    and the forest plot as PNG, SVG and PDF; a k = 4 cell has no funnel plot (k < 10) and says so; the
    link of the view is absolute."""
    at = open_pooled(app, DEMO_CELL)
    at.switch_page("screens/export.py").run()
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) == 7
    assert {f"Forest plot ({f})" for f in ("PNG", "SVG", "PDF")} <= set(labels)
    assert not any(lb.startswith("Funnel plot") for lb in labels)
    assert any("k = 4" in unescape(c.value) and "at least 10" in unescape(c.value) for c in at.caption)
    assert any(c.value.startswith("http") and "cell=" in c.value for c in at.code)
