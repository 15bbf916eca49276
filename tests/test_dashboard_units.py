"""Unit tests of the dashboard's pure functions: escaping, links, URL state, cell tables, pooling, exports, charts."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards import analysis, charts, exports, views
from dashboards.data import store_url
from dashboards.sources import evidence_rows_html, highlight_number, link_html, source_url
from dashboards.state import METHODS, TESTS, ViewState, cell_key, params_from_state, state_from_params
from evidence.corpus import curated_records
from meta import pool, pool_table
from tests.test_dashboard_pages import SYN, SYN_CELL, hr_pool, synthetic_records


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    """The demo corpus and the synthetic cell as the store's records_frame would give them."""
    recs = [r.to_dict() for r in curated_records()] + [r.to_dict() for r in synthetic_records()]
    return pd.DataFrame(recs)


# -- escaping and links ----------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["<script>alert(1)</script> HR 0.5 end", '" onmouseover="x" HR 0.5 end',
                                  "</td></tr></table><iframe> HR 0.5 end", "& &amp; HR 0.5 end"])
def test_highlight_escapes_hostile_text(text):
    """Source text is escaped piece by piece; only our <mark> is markup, around exactly the number."""
    start = text.index("0.5")
    out = highlight_number(text, 1000, 1000 + start, 1000 + start + 3)
    stripped = out.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped and '"' not in stripped
    assert out.count("<mark>") == 1 and "<mark>0&#46;5</mark>" in out
    import html as _html

    assert _html.unescape(stripped) == text


def test_highlight_number_that_needs_escaping_and_bad_offsets():
    """A number span holding '<' is escaped inside the mark; missing or out-of-range offsets leave no mark."""
    bx = "&#60;b&#62;x&#60;&#47;b&#62;"  # <b>x</b> as character references (dashboards.safe.html_text)
    assert highlight_number("p<0.001 here", 0, 0, 7) == "<mark>p&#60;0&#46;001</mark> here"
    assert highlight_number("<b>x</b>", 0, 50, 60) == bx
    assert highlight_number("<b>x</b>", None, 1, 2) == bx
    assert highlight_number("<b>x</b>", 10, 5, 6) == bx  # span before the sentence
    assert highlight_number(float("nan"), 0, 0, 1) == ""


def test_source_links_are_built_only_from_parsed_identifiers():
    """PubMed, DOI and ClinicalTrials.gov addresses; anything else gets no link and is escaped."""
    assert source_url("PMID:31065111") == "https://pubmed.ncbi.nlm.nih.gov/31065111/"
    assert source_url("DOI:10.1056/NEJMoa2210140") == "https://doi.org/10.1056/NEJMoa2210140"
    assert source_url("nct01343277") == "https://clinicaltrials.gov/study/NCT01343277"
    assert source_url("javascript:alert(1)") is None and source_url(None) is None
    assert link_html("javascript:alert(1)") == "javascript&#58;alert&#40;1&#41;"  # text, no link
    assert link_html("<x>") == "&#60;x&#62;"
    assert 'href="https://doi.org/10.1000/a%22b"' in link_html('DOI:10.1000/a"b')


def test_evidence_rows_html_escapes_every_cell():
    """Every value of the evidence table is escaped, the sentence highlighted, the source linked."""
    html = evidence_rows_html([{"trial": "<b>T</b>", "evidence_text": "<i>HR 0.5</i>", "char_start": 0,
                                "value_start": 6, "value_end": 9, "source_id": "PMID:1"}],
                              [("trial", "<Trial>"), ("sentence", "S"), ("source", "Src")])
    assert "<b>" not in html and "<i>" not in html and "&#60;Trial&#62;" in html
    assert "<mark>0&#46;5</mark>" in html and 'href="https://pubmed.ncbi.nlm.nih.gov/1/"' in html


# -- URL state -------------------------------------------------------------------------------------
TOK = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def view_states(draw):
    cell = draw(st.one_of(st.just(""), st.builds(
        cell_key, TOK, TOK, st.one_of(st.just(""), TOK), st.sampled_from(["OS", "PFS", "ORR"]),
        st.sampled_from(["HR", "OR", "rate"]), st.sampled_from(["contrast", "intervention"]))))
    s = ViewState(
        histotypes=tuple(draw(st.lists(TOK, max_size=3, unique=True))),
        agents=tuple(draw(st.lists(TOK, max_size=3, unique=True))),
        endpoints=tuple(draw(st.lists(st.sampled_from(["OS", "PFS", "ORR"]), max_size=3, unique=True))),
        phases=tuple(draw(st.lists(st.sampled_from(["1", "2", "3", "1/2", "na"]), max_size=3, unique=True))),
        statuses=tuple(draw(st.lists(st.sampled_from(["accepted", "edited", "extracted"]), min_size=1,
                                     max_size=3, unique=True))) if draw(st.booleans()) else (),
        endpoint=draw(st.sampled_from(["", "OS", "PFS"])), measure=draw(st.sampled_from(["", "HR", "OR"])),
        rollup=draw(st.booleans()), method=draw(st.sampled_from(METHODS)), test=draw(st.sampled_from(TESTS)))
    s = s.with_cell(cell)
    if cell:
        from dataclasses import replace

        s = replace(s, exclude=tuple(draw(st.lists(st.text("0123456789abcdef", min_size=16, max_size=16),
                                                   max_size=3, unique=True))))
    return s


@settings(max_examples=150, deadline=None)
@given(view_states())
def test_url_state_round_trip(state):
    """Any view written to the URL reads back identical (the link reopens the same view)."""
    params = params_from_state(state)
    assert all(isinstance(v, str) for v in params.values())
    assert state_from_params(params) == state
    assert state_from_params({k: [v] for k, v in params.items()}) == state  # repeated-key form


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["f_histotype", "f_status", "cell", "method", "test", "exclude", "measure",
                                        "arm", "rollup", "endpoint", "junk"]), st.text(max_size=60)))
def test_malformed_params_never_break_the_view(params):
    """Hand-edited or hostile query strings give a valid ViewState, never an exception."""
    s = state_from_params(params)
    assert s.method in METHODS and s.test in TESTS
    assert all("<" not in x for x in s.histotypes + s.agents + s.exclude)
    assert state_from_params(params_from_state(s)) == s


def test_default_view_has_an_empty_url_and_defaults():
    """The default view writes nothing; an empty status filter is 'any', distinct from the default."""
    assert params_from_state(ViewState()) == {}
    assert state_from_params({}) == ViewState()
    assert state_from_params({"f_status": "any"}).statuses == ()
    assert ViewState().statuses == ("accepted", "edited")


# -- filters and the cell table --------------------------------------------------------------------
def test_filters(records):
    """Histotype matches any of a record's histotypes, agent either arm, phase 'na' the missing phase."""
    f = views.filter_records(records, ViewState(histotypes=("liposarcoma",)))
    assert {"ET743-SAR-3007", "Study 309", "T-SAR", "SARC028"} <= set(f["trial"])  # L-sarcoma trials and subgroups
    lipo = {"liposarcoma", "dedifferentiated_liposarcoma", "well_differentiated_liposarcoma", "myxoid_liposarcoma",
            "pleomorphic_liposarcoma"}
    assert all(lipo & set(h) for h in f["histotypes"])  # and nothing else
    f = views.filter_records(records, ViewState(agents=("dacarbazine",)))
    assert set(f["comparator"]) == {"dacarbazine"}
    f = views.filter_records(records, ViewState(phases=("na",)))
    # the three bundled meta-analyses (3 + 3 + 5 records) and the five prognostic cohorts (3 + 1 + 3 + 1 + 2, issue 18)
    assert f["phase"].isna().all() and len(f) == 11 + 10
    assert len(views.filter_records(records, ViewState(statuses=()))) == len(records)


def test_cell_table_counts_trials_once(records):
    """Each map row counts trials once (a trial's later report supersedes an earlier one) and sums patients."""
    t = views.map_table(records, "OS", "HR")
    row = views.cell_row(t, "soft_tissue_sarcoma|doxorubicin_plus_agent|doxorubicin|OS|HR|contrast")
    assert row["k"] == 4 and row["n_total"] == 133 + 509 + 447 + 640 and row["pooled"]
    # SSG XVIII reported RFS twice (2012, 2020): the 10-year report supersedes the first, k stays 1
    ssg = views.cell_row(views.map_table(records, "RFS", "HR"), "gist|imatinib|imatinib|RFS|HR|contrast")
    assert ssg["k"] == 1 and ssg["estimate"] == 0.66
    single = views.cell_row(t, "leiomyosarcoma|eribulin|dacarbazine|OS|HR|contrast")
    assert single["k"] == 1 and single["estimate"] == 0.93 and not single["pooled"]
    dup = pd.concat([records, records[records["trial"] == "SYN-2"].assign(record_id="dup", year=2022, value=0.8,
                                                                           ci_low=0.6, ci_high=1.0)])
    t2 = views.map_table(dup, "PFS", "HR")
    assert views.cell_row(t2, SYN_CELL)["k"] == 6
    assert "dup" in views.cell_row(t2, SYN_CELL)["record_ids"]
    assert next(iter(views.cell_options(t2))) == SYN_CELL  # most trials first


def test_cell_pool_equals_meta(records):
    """The cell's pooled estimate equals meta.pool on the same effects and meta.pool_table's cell."""
    t = views.map_table(records, "PFS", "HR", method="DL", test="knha")
    cp = analysis.analyse_cell(records, views.cell_row(t, SYN_CELL), method="DL", test="knha")
    ref = hr_pool(SYN, method="DL", test="knha")
    assert cp.result.estimate == pytest.approx(ref.estimate, abs=1e-12)
    assert cp.reporting("ci_high") == pytest.approx(np.exp(ref.ci_high), rel=1e-12)
    pt = pool_table(records[records["trial"].fillna("").str.startswith("SYN")], method="DL", test="knha")
    assert cp.result.tau2 == pytest.approx(float(pt["tau2"].iloc[0]), abs=1e-12)
    np.testing.assert_allclose(cp.studies["weight"], ref.weights)
    excl = analysis.analyse_cell(records, views.cell_row(t, SYN_CELL), exclude=[cp.studies["record_id"][0]])
    assert excl.k == 5 and excl.result.estimate == pytest.approx(hr_pool(SYN[1:]).estimate, abs=1e-12)


def test_single_study_cell_is_not_pooled(records):
    """A k = 1 cell gives no pooled result and says why."""
    t = views.map_table(records, "OS", "HR")
    cp = analysis.analyse_cell(records, views.cell_row(t, "leiomyosarcoma|eribulin|dacarbazine|OS|HR|contrast"))
    assert cp.result is None and "at least 2" in cp.message


def test_favours_direction():
    """Time-to-event ratios below 1 favour the intervention; response ratios above 1 do."""
    assert analysis.favours("PFS", "HR")[0] == "Favours intervention"
    assert analysis.favours("ORR", "OR")[1] == "Favours intervention"
    assert analysis.favours("OS", "median") is None


def test_store_url_precedence():
    """--db beats $SARCOMA_EVIDENCE_DB, which beats the default working store."""
    assert store_url(["app", "--db", "sqlite:///a.db"], {"SARCOMA_EVIDENCE_DB": "sqlite:///b.db"}) == "sqlite:///a.db"
    assert store_url(["app"], {"SARCOMA_EVIDENCE_DB": "sqlite:///b.db"}) == "sqlite:///b.db"
    assert store_url(["app"], {}) == "sqlite:///evidence.db"


# -- exports ---------------------------------------------------------------------------------------
def test_records_csv_round_trips(records):
    """The table CSV has the schema's columns, lists as JSON arrays and a source URL per row."""
    df = pd.read_csv(io.BytesIO(exports.records_csv(records)))
    assert len(df) == len(records) and df.columns[0] == "record_id"
    assert json.loads(df["histotypes"].iloc[0]) == list(records["histotypes"].iloc[0])
    public = df["source_id"].str.match(r"(PMID:|DOI:|NCT\d)")  # a source known only by its citation has no link
    assert public.sum() >= len(df) - 2 and df.loc[public, "source_url"].str.startswith("https://").all()
    assert df.loc[~public, "source_url"].isna().all()


def test_pooled_csv_carries_provenance(records):
    """Pooled results name the estimator, test, code version and the record_ids behind each number."""
    t = views.map_table(records, "PFS", "HR")
    df = pd.read_csv(io.BytesIO(exports.pooled_csv(t, method="REML", test="z", version="9.9")))
    row = df[df["cell"] == SYN_CELL].iloc[0]
    assert row["k"] == 6 and row["method"] == "REML" and str(row["version"]) == "9.9"
    assert len(json.loads(row["record_ids"])) == 6
    assert row["estimate"] == pytest.approx(np.exp(hr_pool(SYN).estimate))


def test_cell_csv_has_studies_and_pooled_row(records):
    """The cell export lists each study with its weight and the pooled row equal to meta.pool."""
    t = views.map_table(records, "PFS", "HR")
    cp = analysis.analyse_cell(records, views.cell_row(t, SYN_CELL))
    df = pd.read_csv(io.BytesIO(exports.cell_csv(cp, cell=SYN_CELL)))
    assert (df["row"] == "study").sum() == 6
    assert df.loc[df["row"] == "study", "weight"].sum() == pytest.approx(100)
    assert df.loc[df["row"] == "pooled", "value"].iloc[0] == pytest.approx(np.exp(hr_pool(SYN).estimate))


# -- charts ----------------------------------------------------------------------------------------
def test_forest_plot_follows_convention(records):
    """Square areas ∝ weights, a log axis for ratios, PNG and SVG exports, hostile labels escaped in SVG."""
    t = views.map_table(records, "PFS", "HR")
    cp = analysis.analyse_cell(records, views.cell_row(t, SYN_CELL))
    cp.studies.loc[0, "label"] = "<script>x</script>"
    fig = charts.forest_plot(cp, measure="HR", favours=analysis.favours("PFS", "HR"), title="t")
    ax = fig.axes[1]
    assert ax.get_xscale() == "log"
    sizes = np.concatenate([c.get_sizes() for c in ax.collections if len(c.get_sizes())])
    np.testing.assert_allclose(sizes / sizes.max(), cp.studies["weight"] / cp.studies["weight"].max())
    assert charts.figure_bytes(fig, "png")[:4] == b"\x89PNG"
    svg = charts.figure_bytes(fig, "svg").decode()
    assert "<svg" in svg and "<script>x" not in svg
    texts = " ".join(t.get_text() for a in fig.axes for t in a.texts) + fig.texts[0].get_text()
    assert "Prediction interval" in texts and "I² =" in texts and "Q = " in texts


def test_funnel_and_map_charts(records):
    """The funnel plot and the evidence map build for a pooled cell; the map's customdata names cells."""
    t = views.map_table(records, "PFS", "HR")
    cp = analysis.analyse_cell(records, views.cell_row(t, SYN_CELL))
    fig = charts.funnel_plot(cp, analysis.small_study_bias(cp, "REML"))
    assert not fig.axes[0].axison and "k = 6" in fig.axes[0].texts[0].get_text()  # k < 10: no funnel, says why
    m = charts.evidence_map(t, measure="HR", favours=analysis.favours("PFS", "HR"))
    assert SYN_CELL in [c[0] for c in m.data[0].customdata]
    assert pool([0.1, 0.2], [0.01, 0.02]).k == 2


def test_landmark_rates_at_different_times_are_separate_cells():
    """A 1-year and a 5-year OS rate of one arm get two cells (keys, labels), never one pooled rate."""
    from evidence.schema import validate_record

    base = {"source_id": "PMID:1", "endpoint": "OS", "measure": "rate", "arm": "single", "n": 50,
            "histotypes": ["gist"], "intervention": "imatinib", "status": "accepted"}
    recs = [validate_record({**base, "source_id": f"PMID:{i}", "value": v, "timepoint_months": tp, "trial": f"T{i}"})
            for i, (v, tp) in enumerate([(0.90, 12.0), (0.88, 12.0), (0.20, 60.0), (0.25, 60.0)])]
    df = pd.DataFrame([r.to_dict() for r in recs])
    table = views.map_table(df, "OS", "rate", "single")
    assert sorted(table["cell"]) == ["gist|imatinib||OS|rate|single|12", "gist|imatinib||OS|rate|single|60"]
    assert all(table["k"] == 2) and table["cell"].is_unique
    assert any(c.endswith("at 60 months") for c in table["comparison"])


def test_a_single_study_ci_at_another_level_is_labelled_so():
    """A k = 1 cell reported with a 90% CI says so under the table's 95% CI header; the forest row too."""
    from evidence.schema import validate_record

    r = validate_record({"source_id": "PMID:9", "endpoint": "PFS", "measure": "HR", "arm": "contrast", "value": 0.70,
                         "ci_low": 0.55, "ci_high": 0.89, "ci_level": 0.90, "histotypes": ["gist"],
                         "intervention": "imatinib", "comparator": "placebo", "status": "accepted"})
    shown = views.map_display(views.map_table(pd.DataFrame([r.to_dict()]), "PFS", "HR"))
    assert shown["estimate [95% CI]"].tolist() == ["0.70 [0.55, 0.89] (90% CI)"]
    studies = analysis.study_table(pd.DataFrame([r.to_dict()]))
    assert studies["ci_level"].tolist() == [0.90]
