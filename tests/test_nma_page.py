"""AppTest tests of the Network page on the demo store plus a closed loop of three synthetic trials."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from evidence.corpus import corpus_documents, curated_records
from evidence.schema import validate_record
from evidence.store import Store
from meta.nma_records import nma_from_records

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
#: a loop eribulin–dacarbazine–trabectedin of synthetic second-line leiomyosarcoma OS trials
LOOP = [("eribulin", "dacarbazine", 0.77, 0.62, 0.95), ("trabectedin", "dacarbazine", 0.87, 0.69, 1.10),
        ("eribulin", "trabectedin", 0.90, 0.70, 1.16)]


def loop_records() -> list[dict]:
    out = []
    for i, (t1, t2, v, lo, hi) in enumerate(LOOP):
        text = f"The hazard ratio for death was {v} (95% CI {lo} to {hi})."
        out.append(validate_record({
            "source_id": f"PMID:8800{i:03d}", "source_title": f"Loop trial {i}", "year": 2015 + i, "trial": f"LOOP-{i}",
            "phase": "3", "randomized": True, "histotypes": ["myxofibrosarcoma"], "setting": "advanced",
            "line": "second_plus", "intervention": t1, "comparator": t2, "arm": "contrast", "endpoint": "OS",
            "measure": "HR", "value": v, "ci_low": lo, "ci_high": hi, "n": 200 + 100 * i, "evidence_text": text,
            "char_start": 0, "char_end": len(text), "value_start": text.index(str(v)),
            "value_end": text.index(str(v)) + len(str(v)), "status": "accepted", "reviewer": "test"}))
    return out


def table(at, column: str):
    """The first data frame shown whose columns include ``column`` (AppTest exposes no data-frame keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('nma') / 'demo.db'}"
    store = Store(url)
    store.add_sources(corpus_documents())
    store.import_records(curated_records(), reviewer="test")
    store.import_records(loop_records(), reviewer="test")
    store.close()
    return url


@pytest.fixture
def page(db_url, monkeypatch):
    """The Network page of the real app on the test store, already run once."""
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", db_url)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("screens/network.py").run()
    assert not at.exception, at.exception
    return at


def test_page_shows_the_loop_network_league_and_inconsistency(page, db_url):
    """Second-line OS in myxofibrosarcoma: the league table and node splits equal meta.nma_from_records."""
    page.selectbox(key="nma_histotype").set_value("myxofibrosarcoma").run()
    assert not page.exception
    expected = nma_from_records(Store(db_url).records_frame(), histotype="myxofibrosarcoma", setting="advanced",
                                line="second_plus", endpoint="OS", measure="HR").main
    league = table(page, "dacarbazine")
    assert list(league.index) == list(expected.pscores.index)
    assert league.loc["eribulin", "dacarbazine"] == expected.league_matrix(exp=True).loc["eribulin", "dacarbazine"]
    ps = table(page, "P-score").set_index("treatment")["P-score"]
    assert np.allclose(ps.to_numpy(), expected.pscores.loc[ps.index].round(3).to_numpy())
    split = table(page, "indirect")
    assert len(split) == 3 and math.isclose(split["p"].iloc[0], round(float(expected.split["p_value"].iloc[0]), 3))
    assert table(page, "part")["part"].iloc[0] == "total"
    assert len(page.get("plotly_chart")) == 2


def test_reference_choice_reexpresses_the_forest(page):
    page.selectbox(key="nma_histotype").set_value("myxofibrosarcoma").run()
    page.selectbox(key="nma_reference").set_value("trabectedin").run()
    est = table(page, "vs")
    assert set(est["vs"]) == {"trabectedin"} and set(est["treatment"]) == {"dacarbazine", "eribulin"}


def test_disconnected_demo_network_lists_components(page, db_url):
    """The bundled second-line network is disconnected: every component is named, the largest shown, and
    each treatment that is no vocabulary agent (a question class) is called out."""
    from evidence.nma_cli import unknown_treatments

    assert page.selectbox(key="nma_line").value == "second_plus"
    net = nma_from_records(Store(db_url).records_frame(), setting="advanced", line="second_plus", endpoint="OS",
                           measure="HR")
    assert len(net.components) >= 2
    caption = html.unescape(" ".join(c.value for c in page.caption))  # record text is escaped (dashboards.safe)
    assert "disconnected" in caption and all(t in caption for part in net.components for t in part)
    assert len(page.selectbox(key="nma_component").options) == len(net.fits)
    infos = [html.unescape(i.value) for i in page.info]
    assert all(n in infos for n in unknown_treatments(net.contrasts))
    # the bundled records carry their real agents: no node of the network is a question class
    assert list(unknown_treatments(net.contrasts)) == []
    first = nma_from_records(Store(db_url).records_frame(), setting="advanced", line="first", endpoint="OS",
                             measure="HR")
    nodes = set().union(*first.components)
    assert len(first.components) == 1 and {"doxorubicin", "doxorubicin+olaratumab", "doxorubicin+trabectedin",
                                           "docetaxel+gemcitabine", "pazopanib"} <= nodes
    assert list(unknown_treatments(first.contrasts)) == []
    page.selectbox(key="nma_method").set_value("FE").run()
    assert not page.exception and any("FE" in t.value for t in page.text)
