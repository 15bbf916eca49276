"""Network meta-analysis of one question: network graph, league table, forest vs a reference, inconsistency."""

import streamlit as st

from dashboards import data, safe, widgets
from dashboards import network_view as nv

url = data.store_url()
st.title("Network meta-analysis")
view = widgets.current_view()
filters = data.filters_of(view)
df = data.filtered(url, filters)
opts = nv.question_options(df)
if not opts["endpoints"]:
    st.info("No between-arm (HR, OR, RR) records under the current filters.")
    st.stop()
c = st.columns(6)
want = widgets.url_choices("nma", ("endpoint", "measure", "setting", "line", "histotype"))  # the Question page's link
endpoint = c[0].selectbox("Endpoint", opts["endpoints"], key="nma_endpoint",
                          index=nv.choose(opts["endpoints"], want.get("endpoint", "OS")))
measure = c[1].selectbox("Measure", opts["measures"], key="nma_measure",
                         index=nv.choose(opts["measures"], want.get("measure", "HR")))
setting = c[2].selectbox("Setting", nv.with_any(opts["settings"]), key="nma_setting",
                         index=nv.choose(nv.with_any(opts["settings"]), want.get("setting", "advanced")))
line = c[3].selectbox("Line", nv.with_any(opts["lines"]), key="nma_line",
                      index=nv.choose(nv.with_any(opts["lines"]), want.get("line", "second_plus")))
histotype = c[4].selectbox("Histotype", nv.with_any(opts["histotypes"]), key="nma_histotype",
                           index=nv.choose(nv.with_any(opts["histotypes"]), want.get("histotype", nv.ANY)))
method = c[5].selectbox("Model", list(nv.NMA_METHODS), key="nma_method",
                        help="REML/ML/DL: random effects with one common τ²; FE: common effect")
net = nv.build_network(url, filters, endpoint, measure, histotype, setting, line, method)
for note in nv.notes(net):
    st.info(safe.md(note))
if not net.fits:
    st.warning(f"No {endpoint} {measure} network to fit for this question "
               f"({len(net.contrasts)} contrasts, {len(net.excluded)} records excluded).")
    st.stop()
comps = sorted(net.fits)
if len(net.components) > 1:
    st.caption("The network is disconnected; its components: "
               + safe.md("; ".join(nv.component_label(net, i) for i in range(len(net.components)))))
c1, c2 = st.columns([3, 2])
comp = c1.selectbox("Component", comps, key="nma_component", format_func=lambda i: nv.component_label(net, i))
treatments = list(net.fits[comp].treatments)
reference = c2.selectbox("Reference", treatments, key="nma_reference",
                         index=nv.index_of(treatments, net.fits[comp].reference))
res = nv.refit(net, comp, reference)
st.text(nv.summary_line(res))
nodes = net.nodes()
nodes = nodes[nodes["component"] == comp]
edges = net.edges()
edges = edges[edges["treat1"].isin(treatments)]
g1, g2 = st.columns([1, 1])
g1.plotly_chart(nv.network_graph(nodes, edges, title="Node area ∝ patients, width ∝ trials"),
                key="nma_graph")
g2.plotly_chart(nv.forest_vs_reference(res, measure), key="nma_forest")
tabs = st.tabs(["League table", "P-scores", "Inconsistency", "Contrasts used"])
with tabs[0]:
    st.caption(f"Cell (row, column) = row vs column, {measure} with {res.level * 100:g}% CI; "
               "treatments ordered by P-score.")
    st.dataframe(res.league_matrix(exp=measure in nv.RATIO), key="nma_league")
    st.download_button("League table (CSV)", nv.league_csv(res, measure), file_name="league.csv",
                       mime="text/csv", key="nma_download")
    st.dataframe(nv.estimates_table(res, measure), hide_index=True, key="nma_estimates")
with tabs[1]:
    st.caption(f"P-scores (Rücker & Schwarzer 2015): smaller {measure} better.")
    st.dataframe(nv.pscore_table(res), hide_index=True, key="nma_pscores")
with tabs[2]:
    st.dataframe(nv.decomposition_table(res), hide_index=True, key="nma_decomp")
    if len(res.q_designs):
        st.dataframe(res.q_designs.round(3), hide_index=True, key="nma_designs")
    split = nv.split_table(res, measure)
    if split.empty:
        st.info("No comparison has both direct and indirect evidence: node splitting needs a closed loop.")
    else:
        st.dataframe(split, hide_index=True, key="nma_split")
with tabs[3]:
    st.dataframe(net.contrasts, hide_index=True, key="nma_contrasts")
    if net.excluded:
        st.caption("Records left out of the network:")
        st.dataframe(nv.excluded_table(net), hide_index=True, key="nma_excluded")
