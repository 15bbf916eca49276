"""Export: the filtered evidence table and the pooled results as CSV, the chosen cell's plots as PNG, SVG
(text kept as text) and PDF, and the full link of this view."""

import streamlit as st

from dashboards import analysis, charts, data, exports, safe, widgets
from dashboards.state import params_from_state
from meta import __version__ as meta_version

MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
url = data.store_url()
st.title("Export")
view = widgets.current_view()
filters = data.filters_of(view)
df = data.filtered(url, filters)
st.subheader("Tables")
st.download_button(f"Evidence table — {len(df)} records (CSV)", exports.records_csv(df),
                   file_name="evidence_table.csv", mime="text/csv", key="dl_records")
pooled = data.all_pooled(url, filters, view.method, view.test, view.rollup)
st.download_button(f"Pooled results — {len(pooled)} cells, {view.method}/{view.test} (CSV)",
                   exports.pooled_csv(pooled, method=view.method, test=view.test, version=meta_version),
                   file_name="pooled_results.csv", mime="text/csv", key="dl_pooled")
st.subheader("Chosen cell")
cp = data.cell_pool(url, filters, view.cell, view.method, view.test, view.rollup, view.exclude) if view.cell else None
if cp is None:
    st.info("Choose a cell on the Evidence map to export its studies and plots.")
else:
    st.caption(safe.md(data.cell_title(view.cell)))
    st.download_button("Studies and pooled estimate (CSV)", exports.cell_csv(cp, cell=view.cell),
                       file_name="cell.csv", mime="text/csv", key="dl_cell")
    st.download_button("Studies and pooled estimate (CSV, formatted as 0.71 (0.32–1.59))",
                       exports.frame_bytes(exports.cell_table(cp, view.chosen.measure)),
                       file_name="cell_formatted.csv", mime="text/csv", key="dl_cell_formatted")
    forest = data.forest_figure(cp, view.cell)
    cols = st.columns(3)
    for i, fmt in enumerate(("png", "svg", "pdf")):
        cols[i].download_button(f"Forest plot ({fmt.upper()})", charts.figure_bytes(forest, fmt),
                                file_name=f"forest.{fmt}", mime=MIME[fmt], key=f"dl_forest.{fmt}")
    bias = analysis.small_study_bias(cp, view.method)
    if cp.result is not None and bias.shown:
        funnel = charts.funnel_plot(cp, bias, title=data.cell_title(view.cell))
        for i, fmt in enumerate(("png", "svg", "pdf")):
            cols[i].download_button(f"Funnel plot ({fmt.upper()})", charts.figure_bytes(funnel, fmt),
                                    file_name=f"funnel.{fmt}", mime=MIME[fmt], key=f"dl_funnel.{fmt}")
    else:
        st.caption(safe.md(bias.notes[0] if bias.notes else "No funnel plot for this cell."))
st.subheader("This view")
st.caption("Open this link to return to exactly this view (filters, cell, estimator, test, exclusions).")
st.code(exports.view_link(st.context.url, params_from_state(view), st.context.headers.get("host")), language=None)
