"""Export: the filtered evidence table and the pooled results as CSV, the chosen cell's plots as PNG and SVG."""

from urllib.parse import urlencode

import streamlit as st

from dashboards import data, exports, safe, widgets
from dashboards.state import params_from_state
from meta import __version__ as meta_version

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
    figs = data.cell_figures(url, filters, view.cell, view.method, view.test, view.rollup, view.exclude)
    cols = st.columns(4)
    for i, (name, blob) in enumerate(sorted(figs.items())):
        stem, ext = name.split(".")
        mime = "image/png" if ext == "png" else "image/svg+xml"
        cols[i % 4].download_button(f"{stem.title()} plot ({ext.upper()})", blob, file_name=name, mime=mime,
                                    key=f"dl_{name}")
st.subheader("This view")
st.caption("Open this link to return to exactly this view (filters, cell, estimator, test, exclusions).")
st.code("?" + urlencode(params_from_state(view)), language=None)
