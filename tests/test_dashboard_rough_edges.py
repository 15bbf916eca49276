"""Rough edges of the dashboard (issue 15 B, item 6): missing numbers, empty filters, map labels, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboards import charts, exports, views
from dashboards.sources import evidence_rows_html
from dashboards.state import ViewState


def test_missing_patients_show_a_dash_not_none():
    """Tables shown by st.dataframe display "—" for a missing n (Streamlit would print None), numbers stay numbers."""
    frame = pd.DataFrame({"n": pd.array([120, None], dtype="Int64"), "source_url": ["https://x.org/1", None]})
    shown = views.dash_missing(frame)
    cells = [[c["display_value"] for c in row[1:]] for row in shown._translate(False, False)["body"]]
    assert cells == [["120", "https://x.org/1"], ["—", ""]]
    assert shown.data["n"].dtype == "Int64"  # sorting by value still works
    html = evidence_rows_html([{"n": pd.NA, "trial": None}], [("n", "n"), ("trial", "Trial")])
    assert "None" not in html and "&lt;NA&gt;" not in html and "<NA>" not in html and html.count("—") == 2


def test_sentence_column_has_room():
    html = evidence_rows_html([{"evidence_text": "HR 0.5 here", "char_start": 0, "value_start": 3, "value_end": 6}],
                              [("sentence", "Source sentence")])
    assert 'style="min-width:24rem;white-space:normal"' in html


def test_empty_filters_say_what_to_change():
    msg = views.empty_filters_message(ViewState(agents=("eribulin",), endpoints=("ORR",), statuses=("rejected",)))
    assert "agent = eribulin" in msg and "endpoint = ORR" in msg and "status = rejected" in msg
    assert "Remove a filter in the sidebar" in msg and '"extracted"' in msg
    assert "extracted" not in views.empty_filters_message(ViewState(statuses=("extracted",))).split(".")[-2]


def test_map_labels_sit_outside_small_bubbles_and_contrast_with_dark_ones():
    rows = []
    for i, (k, n, est) in enumerate([(1, 20, 0.26), (6, 2000, 0.27), (4, 1500, 1.0)]):
        rows.append({"cell": f"h{i}|a|b|OS|HR|contrast", "histotype_label": f"h{i}", "comparison": "a vs b",
                     "endpoint": "OS", "measure": "HR", "arm": "contrast", "k": k, "n_total": n, "pooled": k > 1,
                     "estimate": est, "ci_low": est / 2, "ci_high": est * 2, "i2": 0.0})
    fig = charts.evidence_map(pd.DataFrame(rows), measure="HR", favours=("Favours intervention",
                                                                          "Favours comparator"))
    tr = fig.data[0]
    assert list(tr.textposition) == ["top center", "middle center", "middle center"]
    assert list(tr.textfont.color) == [charts.INK, "white", charts.INK]  # dark red/blue fill: white text


def test_formatted_table_and_view_link():
    """The formatted export reads as a paper prints it; the view link is absolute with its query string."""
    assert exports._ci_text(0.7134, 0.3201, 1.588) == "0.71 (0.32–1.59)"
    assert exports._ci_text(np.nan, 1, 2) == "—"
    link = exports.view_link("https://dash.example.org/pooled_estimate?old=1", {"cell": "a|b", "test": "knha"})
    assert link == "https://dash.example.org/pooled_estimate?cell=a%7Cb&test=knha"


def test_evidence_table_shows_a_dash_for_missing_patients():
    from tests.test_dashboard_pages import synthetic_records

    df = pd.DataFrame([r.to_dict() for r in synthetic_records()[:2]])
    df.loc[1, "n"] = None
    assert views.table_rows(df)["n"].tolist() == ["210", "—"]
