"""Pooled estimate of one cell: forest plot, heterogeneity, sensitivity, small-study bias, sources."""

import re

import streamlit as st

from dashboards import analysis, charts, data, exports, safe, sources, views, widgets
from dashboards.state import METHODS, TESTS

MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def safe_stem(cell: str) -> str:
    """A file name stem from a cell key (letters, digits, ``_`` and ``-`` only)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", cell)[:80].strip("_") or "cell"


TEST_LABEL = {"z": "z (normal)", "knha": "knha (Hartung–Knapp–Sidik–Jonkman)", "adhoc": "adhoc (HKSJ, floored)"}

url = data.store_url()
st.title("Pooled estimate")
view = widgets.current_view()
filters = data.filters_of(view)
df = data.filtered(url, filters)
endpoint, measure, arm = views.resolve_question(df, view)
arm = arm if measure in ("rate", "median") else ""
table = data.map_table(url, filters, endpoint, measure, arm, view.method, view.test, view.rollup)
view = widgets.resolve_cell(view, table)
options = views.cell_options(table)
c1, c2, c3 = st.columns([3, 1, 1.4])
cell = widgets.selectbox(f"Cell ({endpoint} {measure}; change the question on the Evidence map)", list(options),
                         key="pooled_cell", value=view.cell, allow_none=True, container=c1,
                         format_func=lambda c: options.get(c, c), placeholder="choose a cell")
if cell != view.cell:
    st.session_state.pop("exclude", None)
    view = widgets.set_view(view.with_cell(cell))
method = widgets.selectbox("τ² estimator", list(METHODS), key="method", value=view.method, container=c2)
test = widgets.selectbox("Test", list(TESTS), key="test", value=view.test, container=c3,
                         format_func=lambda t: TEST_LABEL[t])
view = widgets.update_view(method=method, test=test)
row = views.cell_row(table, view.cell)
if row is None:
    st.info("Choose a cell here or on the Evidence map.")
else:
    base = analysis.analyse_cell(df, row)
    labels = dict(zip(base.studies["record_id"], base.studies["label"], strict=True))
    widgets.multiselect("Exclude studies", list(labels), key="exclude", field="exclude",
                        format_func=lambda r: labels.get(r, r), placeholder="all studies included")
    view = widgets.current_view()
    cp = data.cell_pool(url, filters, view.cell, view.method, view.test, view.rollup, view.exclude)
    for w in cp.warnings:
        st.warning(safe.md(w))
    lines = analysis.summary_lines(cp, measure)
    if cp.result is None:
        st.warning(safe.md(cp.message))
    else:
        r = cp.result
        m = st.columns([1, 2, 1, 1, 1])  # the CI needs room for two numbers
        m[0].metric(f"Pooled {measure}", analysis.fmt_num(cp.reporting("estimate")))
        m[1].metric(f"{100 * r.level:g}% CI",
                    f"{analysis.fmt_num(cp.reporting('ci_low'))} – {analysis.fmt_num(cp.reporting('ci_high'))}")
        m[2].metric("I²", f"{analysis.fmt_num(r.i2, 0)}%")
        m[3].metric("τ²", analysis.fmt_num(r.tau2, 3))
        m[4].metric("Trials (k)", str(r.k))
        st.markdown(f"**{lines['estimate']}** · {lines['overall']} · {lines['heterogeneity']}")
        if r.k < 5:
            st.warning(f"k = {r.k} < 5: the {lines['pi']} is unreliable — with fewer than five studies τ² is "
                       "poorly estimated, so read the prediction interval with caution.")
    tabs = st.tabs(["Forest plot", "Leave-one-out", "Cumulative (by year)", "Funnel plot & small-study bias"])
    with tabs[0]:
        forest = data.forest_figure(cp, view.cell)
        st.pyplot(forest)
        stem = "forest_" + safe_stem(view.cell)
        dl = st.columns(5)
        for i, fmt in enumerate(("png", "svg", "pdf")):
            dl[i].download_button(f"Forest plot ({fmt.upper()})", charts.figure_bytes(forest, fmt),
                                  file_name=f"{stem}.{fmt}", mime=MIME[fmt], key=f"dl_forest_{fmt}")
        dl[3].download_button("Studies (CSV, raw)", exports.cell_csv(cp, cell=view.cell), file_name=f"{stem}.csv",
                              mime="text/csv", key="dl_forest_csv")
        formatted = exports.cell_table(cp, measure)
        dl[4].download_button("Studies (CSV, formatted)", exports.frame_bytes(formatted),
                              file_name=f"{stem}_formatted.csv", mime="text/csv", key="dl_forest_formatted")
        st.dataframe(formatted, hide_index=True, key="forest_table")
        st.markdown(sources.evidence_rows_html(
            views.table_rows(views.records_by_id(df, row["record_ids"])).to_dict("records"),
            [("trial", "Trial"), ("year", "Year"), ("value [CI]", "Value [CI]"), ("n", "n"),
             ("sentence", "Source sentence"), ("source", "Source")]), unsafe_allow_html=True)
        left_out = views.cell_not_pooled(df, table, view.cell)
        if len(left_out):
            st.caption("Records of this cell not pooled:")
            st.dataframe(left_out, hide_index=True)
    with tabs[1]:
        loo, warn = analysis.leave_one_out_table(cp, view.method, view.test)
        if loo.empty:
            st.info("Leave-one-out needs at least 2 included studies.")
        else:
            st.pyplot(charts.sensitivity_plot(loo, scale=cp.scale, full=cp.reporting("estimate"),
                                              title="Leave-one-out: pooled estimate without each study",
                                              label_header="Study left out"))
            st.dataframe(loo, hide_index=True, key="loo_table")
    with tabs[2]:
        cum, warn = analysis.cumulative_table(cp, view.method, view.test)
        if cum.empty:
            st.info("No included study.")
        else:
            st.pyplot(charts.sensitivity_plot(cum, scale=cp.scale, full=cp.reporting("estimate"),
                                              title="Cumulative meta-analysis, oldest first",
                                              label_header="Study added"))
            st.dataframe(cum, hide_index=True, key="cum_table")
    with tabs[3]:
        bias = analysis.small_study_bias(cp, view.method)
        for note in bias.notes:
            st.info(safe.md(note))
        if cp.result is not None and bias.shown:
            funnel = charts.funnel_plot(cp, bias, title=data.cell_title(view.cell))
            st.pyplot(funnel)
            fdl = st.columns(5)
            for i, fmt in enumerate(("png", "svg", "pdf")):
                fdl[i].download_button(f"Funnel plot ({fmt.upper()})", charts.figure_bytes(funnel, fmt),
                                       file_name=f"funnel_{safe_stem(view.cell)}.{fmt}", mime=MIME[fmt],
                                       key=f"dl_funnel_{fmt}")
        if bias.egger is not None:
            eg = bias.egger
            st.markdown(f"Egger's regression test: t = {eg.stat:.3f} (df = {eg.df}), p = {eg.p_value:.3f}")
        if bias.begg is not None:
            st.markdown(f"Begg's rank correlation test: Kendall's τ = {bias.begg.tau:.3f}, "
                        f"p = {bias.begg.p_value:.3f}")
        if bias.trimfill is not None:
            tf = bias.trimfill
            st.markdown(f"Trim-and-fill: {tf.k0} studies imputed on the {tf.side} side; filled-data estimate "
                        f"{analysis.fmt_num(analysis.to_reporting(tf.estimate, cp.scale))} "
                        f"[{analysis.fmt_num(analysis.to_reporting(tf.ci_low, cp.scale))}, "
                        f"{analysis.fmt_num(analysis.to_reporting(tf.ci_high, cp.scale))}]")
    with st.expander("Model output (metafor layout, analysis scale)"):
        st.code(str(cp.result) if cp.result is not None else cp.message, language=None)
