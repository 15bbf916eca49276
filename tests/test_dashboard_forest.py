"""The forest and funnel plots as a reviewer expects them (issue 15 B): what RevMan Web and R
``meta::forest`` show — the measure and scale on the axis, "Favours <agent>" on the right sides,
n (events/N) columns, common-effect and random-effects rows, a prediction interval only where it is
defined, trial names never file ids, ticks that neither collide nor miss an interval — and a
contour-enhanced funnel only at k ≥ 10."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from dashboards import analysis, charts, views
from evidence.schema import validate_record
from meta import begg_test, egger_test, pool, pool_table
from meta.effect_sizes import log_ratio_from_ci
from tests.test_dashboard_pages import SYN, SYN_CELL, app, db_url, synthetic_records  # noqa: F401 (fixtures)

BIG_CELL = "angiosarcoma|paclitaxel|doxorubicin|PFS|HR|contrast"


def big_records(k: int = 12, seed: int = 3) -> list[dict]:
    """k HR records of one angiosarcoma question, effects scattered around HR 0.8."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(k):
        se = float(rng.uniform(0.08, 0.5))
        y = -0.2 + float(rng.normal(0, se))
        out.append(validate_record({
            "source_id": f"PMID:7700{i:03d}", "trial": f"BIG-{i}", "year": 2000 + i, "histotypes": ["angiosarcoma"],
            "intervention": "paclitaxel", "comparator": "doxorubicin", "arm": "contrast", "endpoint": "PFS",
            "measure": "HR", "value": round(math.exp(y), 2), "ci_low": round(math.exp(y - 1.96 * se), 2),
            "ci_high": round(math.exp(y + 1.96 * se), 2), "n": 100 + i, "status": "accepted",
        }).to_dict())  # fmt: skip
    return out


@pytest.fixture(scope="module")
def syn() -> pd.DataFrame:
    return pd.DataFrame([r.to_dict() for r in synthetic_records()])


def cell_pool(df: pd.DataFrame, endpoint: str, measure: str, cell: str, **kw) -> analysis.CellPool:
    t = views.map_table(df, endpoint, measure, method=kw.get("method", "REML"), test=kw.get("test", "z"))
    return analysis.analyse_cell(df, views.cell_row(t, cell), **kw)


def texts_of(fig) -> list[str]:
    out = [t.get_text() for a in fig.axes for t in a.texts] + [t.get_text() for t in fig.texts]
    return out + [c.get_text() for a in fig.axes for c in a.get_children() if hasattr(c, "get_text")]


def test_axis_names_the_measure_and_scale(syn):
    """The x axis says "Hazard ratio (log scale)", as RevMan and meta::forest label it."""
    fig = charts.forest_plot(cell_pool(syn, "PFS", "HR", SYN_CELL), measure="HR", favours=analysis.favours("PFS", "HR"))
    assert fig.axes[1].get_xlabel() == "Hazard ratio (log scale)"


def test_favours_labels_name_the_agents_on_the_right_sides(syn):
    """HR < 1 (left of 1) favours the intervention for time-to-event; for a response OR the sides swap."""
    cp = cell_pool(syn, "PFS", "HR", SYN_CELL)
    fig = charts.forest_plot(cp, measure="HR", favours=analysis.favours("PFS", "HR"))
    ann = {a.get_text().strip(): a for a in fig.axes[1].texts}
    left, right = ann["◀ Favours trabectedin"], ann["Favours dacarbazine ▶"]
    assert left.get_ha() == "right" and right.get_ha() == "left" and left.xy[0] == right.xy[0] == 1.0
    assert charts.named_favours(cp, analysis.favours("ORR", "OR")) == ("Favours dacarbazine", "Favours trabectedin")


def test_columns_for_patients_and_events(syn):
    """An N column for a HR; events/N for a binary measure (OR), with the pooled totals."""
    fig = charts.forest_plot(cell_pool(syn, "PFS", "HR", SYN_CELL), measure="HR")
    left = [t.get_text() for t in fig.axes[0].texts]
    assert "N" in left and "210" in left and str(sum(r[3] for r in SYN)) in left
    recs = [validate_record({"source_id": f"PMID:88{i}", "trial": f"OR-{i}", "year": 2010 + i, "histotypes": ["gist"],
                             "intervention": "imatinib", "comparator": "placebo", "arm": "contrast", "endpoint": "ORR",
                             "measure": "OR", "value": v, "ci_low": lo, "ci_high": hi, "n": n, "events": e,
                             "status": "accepted"}).to_dict()
            for i, (v, lo, hi, n, e) in enumerate([(2.0, 1.2, 3.3, 100, 30), (1.5, 0.9, 2.5, 80, 20)])]
    cp = cell_pool(pd.DataFrame(recs), "ORR", "OR", "gist|imatinib|placebo|ORR|OR|contrast")
    left = [t.get_text() for t in charts.forest_plot(cp, measure="OR").axes[0].texts]
    assert "Events/N" in left and "30/100" in left and "50/180" in left


def test_common_and_random_rows_and_a_prediction_interval_only_where_defined(syn):
    """Both model rows with meta.pool's numbers; the PI row (t-based) at k ≥ 3 and never at k = 2."""
    cp = cell_pool(syn, "PFS", "HR", SYN_CELL)
    yi, vi = log_ratio_from_ci(*(list(c) for c in zip(*[r[:3] for r in SYN], strict=True)))
    fe, re = pool(yi, vi, method="FE"), pool(yi, vi, method="REML")
    right = [t.get_text() for t in charts.forest_plot(cp, measure="HR").axes[2].texts]
    left = [t.get_text() for t in charts.forest_plot(cp, measure="HR").axes[0].texts]
    assert "Common-effect model" in left and any(t.startswith("Random-effects model (REML") for t in left)
    assert f"{np.exp(fe.estimate):.2f} [{np.exp(fe.ci_low):.2f}, {np.exp(fe.ci_high):.2f}]" in right
    assert f"[{np.exp(re.pi_low):.2f}, {np.exp(re.pi_high):.2f}]" in right and "Prediction interval" in left
    np.testing.assert_allclose(cp.studies["weight_common"], fe.weights)
    two = cell_pool(syn[syn["trial"].isin(["SYN-0", "SYN-1"])], "PFS", "HR", SYN_CELL)
    left2 = [t.get_text() for t in charts.forest_plot(two, measure="HR").axes[0].texts]
    assert two.result.k == 2 and not any("Prediction interval" in t for t in left2)


def test_forest_shows_exactly_the_pooled_contributions(syn):
    """A trial reported twice is one row (the plan's one contribution per trial), labelled by name and
    year; the weights and estimate are pool_table's own for the cell."""
    later = syn[syn["trial"] == "SYN-2"].assign(record_id="later", year=2022, value=0.8, ci_low=0.6, ci_high=1.0)
    df = pd.concat([syn, later], ignore_index=True)
    cp = cell_pool(df, "PFS", "HR", SYN_CELL, method="DL", test="knha")
    ref = pool_table(df, method="DL", test="knha", studies=True).iloc[0]
    assert len(cp.studies) == 6 == int(ref["k"])
    np.testing.assert_allclose(cp.studies["weight"], ref["weights"], rtol=1e-9)
    np.testing.assert_allclose(cp.studies["yi"], ref["yi"], rtol=1e-12)
    assert cp.result.estimate == pytest.approx(float(ref["estimate"]), abs=1e-12)
    assert "SYN-2 2022" in set(cp.studies["label"]) and "later" in cp.studies["record_id"].tolist()


def test_study_labels_never_show_file_ids():
    """A record without a trial name from a local file is labelled by its title, else "Unnamed study"."""
    assert analysis.study_label({"trial": None, "source_id": "file:9f8e.pdf", "year": 2019}) == "Unnamed study 2019"
    assert analysis.study_label({"trial": "", "source_id": "file:9f8e.pdf", "source_title": "Eribulin in LPS",
                                 "year": 2016}) == "Eribulin in LPS 2016"
    assert analysis.study_label({"trial": None, "source_id": "PMID:123", "year": None}) == "PMID:123"


def _tick_boxes(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[1] if len(fig.axes) > 1 else fig.axes[0]
    r = canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
    lo, hi = ax.get_xlim()
    labels = [t for t in labels if lo <= t.get_position()[0] <= hi]
    return ax, [t.get_window_extent(r) for t in labels], [t.get_position()[0] for t in labels]


@pytest.mark.parametrize("intervals", [
    [(0.61, 0.45, 0.82), (1.02, 0.71, 1.47)],
    [(0.93, 0.88, 0.99), (0.95, 0.90, 1.01), (0.97, 0.91, 1.03)],  # a narrow axis
    [(0.2, 0.03, 1.4), (3.0, 1.1, 40.0), (0.9, 0.5, 1.6)],  # a wide one
    [(0.05, 0.011, 0.2), (0.07, 0.02, 0.3)],  # far from 1
])
def test_ticks_never_collide_and_cover_every_interval(intervals):
    recs = [validate_record({"source_id": f"PMID:55{i}", "trial": f"T{i}", "histotypes": ["gist"], "year": 2000 + i,
                             "intervention": "imatinib", "comparator": "placebo", "arm": "contrast",
                             "endpoint": "OS", "measure": "HR", "value": v, "ci_low": lo, "ci_high": hi,
                             "status": "accepted"}).to_dict() for i, (v, lo, hi) in enumerate(intervals)]
    cp = cell_pool(pd.DataFrame(recs), "OS", "HR", "gist|imatinib|placebo|OS|HR|contrast")
    fig = charts.forest_plot(cp, measure="HR")
    _ax, boxes, pos = _tick_boxes(fig)
    assert len(boxes) >= 3
    for a, b in itertools.pairwise(boxes):
        assert a.x1 < b.x0, "tick labels overlap"
    shown = [x for x in (*cp.studies["ci_low"], *cp.studies["ci_high"], cp.reporting("pi_low"), cp.reporting("pi_high"))
             if math.isfinite(x)]
    assert min(pos) <= min(shown) and max(pos) >= max(shown)


def test_funnel_only_from_ten_studies_contour_enhanced_and_labelled(syn):
    """k = 6: a sentence saying why not and no tests; k = 12: contours at p = 0.10/0.05/0.01 around
    no effect, every study labelled, Egger's and Begg's tests as meta.bias computes them."""
    small = analysis.small_study_bias(cell_pool(syn, "PFS", "HR", SYN_CELL), "REML")
    assert small.egger is None and small.begg is None and not small.shown
    assert "k = 6" in small.notes[0] and "at least 10" in small.notes[0]
    big = pd.DataFrame(big_records())
    cp = cell_pool(big, "PFS", "HR", BIG_CELL)
    bias = analysis.small_study_bias(cp, "REML")
    assert bias.shown and bias.egger is not None
    yi, vi = cp.studies["yi"].to_numpy(float), cp.studies["vi"].to_numpy(float)
    assert len(yi) == 12
    assert bias.egger.p_value == pytest.approx(egger_test(yi, vi).p_value, abs=1e-12)
    assert bias.begg.p_value == pytest.approx(begg_test(yi, vi).p_value, abs=1e-12)
    fig = charts.funnel_plot(cp, bias, title="t")
    ax = fig.axes[0]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    labels = {t.get_text() for t in ax.texts}
    assert set(cp.studies["label"]) <= labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"p < 0.01", "0.01 ≤ p < 0.05", "0.05 ≤ p < 0.10", "p ≥ 0.10"} <= set(legend)
    # the p < 0.05 band's inner edge is where a study alone has z = 1.96 against HR = 1
    edges = [p for p in ax.collections if p.get_facecolor()[0][0] == pytest.approx(0xdc / 255)]
    verts = np.concatenate([p.get_paths()[0].vertices for p in edges])
    se = 0.2
    near = verts[np.abs(verts[:, 1] - se) < 0.01 * se]
    assert np.any(np.isclose(near[:, 0], math.exp(1.959963984540054 * se), rtol=0.02))


def test_figures_export_png_svg_with_text_and_pdf(syn):
    """PNG, PDF and SVG bytes; the SVG keeps its words as text (svg.fonttype none), escaped."""
    cp = cell_pool(syn, "PFS", "HR", SYN_CELL)
    cp.studies.loc[0, "label"] = "<b>&x</b>"
    fig = charts.forest_plot(cp, measure="HR", favours=analysis.favours("PFS", "HR"))
    assert charts.figure_bytes(fig, "png")[:4] == b"\x89PNG"
    assert charts.figure_bytes(fig, "pdf")[:5] == b"%PDF-"
    svg = charts.figure_bytes(fig, "svg").decode()
    assert "Hazard ratio (log scale)" in svg and "SYN-1 2013" in svg and "Favours trabectedin" in svg
    assert "<b>&x" not in svg and "&lt;b&gt;&amp;x" in svg
    with pytest.raises(ValueError, match="must be one of png, svg, pdf"):
        charts.figure_bytes(fig, "gif")


def test_formatted_table_beside_the_raw_csv(syn):
    """The formatted table shows "0.61 (0.45–0.82)" per study and the model rows; its CSV is neutralised."""
    from dashboards import exports

    cp = cell_pool(syn, "PFS", "HR", SYN_CELL)
    t = exports.cell_table(cp, "HR")
    first = t.iloc[0]
    assert first["Study"] == "SYN-0 2011" and first["HR (95% CI)"] == "0.61 (0.45–0.82)" and first["N"] == "210"
    assert t["Study"].tolist()[-3:] == ["Common-effect model", "Random-effects model (REML, z)", "Prediction interval"]
    cp.studies.loc[0, "label"] = "=HYPERLINK(\"http://x\")"
    csv = exports.frame_bytes(exports.cell_table(cp, "HR")).decode()
    assert "\n=HYPERLINK" not in csv and "'=HYPERLINK" in csv


def test_pooled_page_offers_figure_downloads(app):  # noqa: F811 (the fixture)
    """The pooled page's forest tab offers PNG, SVG and PDF, the raw and the formatted CSV, and the table."""
    from tests.test_dashboard_pages import open_pooled

    at = open_pooled(app, SYN_CELL)
    labels = {b.label for b in at.get("download_button")}
    assert {"Forest plot (PNG)", "Forest plot (SVG)", "Forest plot (PDF)", "Studies (CSV, raw)",
            "Studies (CSV, formatted)"} <= labels
    assert not any(lb.startswith("Funnel plot") for lb in labels)  # k = 6
    table = next(d.value for d in at.dataframe if "Study" in d.value.columns)
    assert "0.61 (0.45–0.82)" in table["HR (95% CI)"].tolist()
