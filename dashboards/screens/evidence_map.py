"""Evidence map: which histotype × comparison questions have evidence, how much, and the pooled answer."""

import streamlit as st

from dashboards import analysis, charts, data, safe, views, widgets

url = data.store_url()
st.title("Evidence map")
st.caption("Each bubble is one question: a histotype and a comparison, for the endpoint and measure chosen. "
           "The number is the count of trials, the area the patients, the colour the pooled effect "
           "(a single trial's own effect when k = 1). Choose a bubble or a cell below to open its pooled estimate.")
df = data.filtered(url, data.filters_of(widgets.current_view()))
if df.empty:
    st.info(safe.md(views.empty_filters_message(widgets.current_view())))
else:
    view = widgets.question_widgets(df)
    table = data.map_table(url, data.filters_of(view), view.endpoint, view.measure, view.arm, view.method,
                           view.test, view.rollup)
    view = widgets.resolve_cell(view, table)
    fig = charts.evidence_map(table, measure=view.measure, favours=analysis.favours(view.endpoint, view.measure),
                              selected=view.cell)
    event = st.plotly_chart(fig, key="map_chart", on_select="rerun", selection_mode="points")
    options = views.cell_options(table)
    cell = widgets.selectbox("Open a cell's pooled estimate", list(options), key="cell", value=view.cell,
                             allow_none=True, format_func=lambda c: options.get(c, c),
                             placeholder=f"{len(options)} cells — choose one")
    picked = widgets.chart_pick(event, "map_chart") or (cell if cell and cell != view.cell else "")
    if picked:
        widgets.open_cell(picked)
    st.dataframe(views.dash_missing(views.map_display(table)), hide_index=True, key="map_table")
    for w in table.attrs.get("warnings", []):
        st.warning(safe.md(w))
