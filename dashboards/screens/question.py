"""A committee's question: every comparison for one histotype × setting × line × endpoint, and its subgroups."""

import streamlit as st

from dashboards import data, safe, widgets
from dashboards import question_view as qv
from dashboards.state import params_from_state
from evidence.grading import Judgements

url = data.store_url()
st.title("Question")
view = widgets.current_view()
filters = data.filters_of(view)
df = data.filtered(url, filters)
st.caption("Every comparison of one histotype, setting, line of therapy and endpoint: cells are keyed by setting "
           "and line as meta.pool_table keys them, so trials of another line never share a cell. Narrow the setting, "
           "line and design in the sidebar.")
opts = qv.question_options(df)
if not opts["endpoints"]:
    st.info("No between-arm (HR, OR, RR) records under the current filters.")
    st.stop()
c1, c2, c3 = st.columns([2, 1, 1])
histotype = widgets.selectbox("Histotype", [qv.ALL, *opts["histotypes"]], key="q_histotype", value=qv.ALL,
                              container=c1, format_func=lambda h: "every histotype" if not h else
                              qv.views.histotype_label(h))
endpoint = widgets.selectbox("Endpoint", opts["endpoints"], key="q_endpoint",
                             value="OS" if "OS" in opts["endpoints"] else opts["endpoints"][0], container=c2)
measure = widgets.selectbox("Measure", opts["measures"], key="q_measure", value="HR", container=c3)
labels = {"setting": widgets.SETTING_LABEL, "line": widgets.LINE_LABEL}
scope = [f"{name}: " + (", ".join(labels[name].get(v, v) for v in vals) if vals else "any")
         for name, vals in (("setting", view.settings), ("line", view.lines))]
st.markdown(safe.md(" · ".join(scope)))
table = qv.question_table(df, histotype, endpoint, measure, method=view.method, test=view.test,
                          judgements=Judgements(data.get_store(url)))
if table.empty:
    st.info(f"No {endpoint} {measure} comparison under these filters.")
    st.stop()
st.dataframe(qv.display(table, labels), hide_index=True, key="question_table")
st.caption(f"Pooled with {view.method}, test {view.test} (k ≥ 2; one study as reported otherwise). Certainty: the "
           "GRADE level proposed from the data with the store's risk-of-bias judgements, as on the Certainty page.")
st.page_link("screens/network.py", label="Network meta-analysis of this question",
             query_params={**params_from_state(view),
                           **qv.network_params(histotype, endpoint, measure, view.settings, view.lines)})

st.subheader("Subgroups")
comps = qv.comparisons(table)
s1, s2 = st.columns([3, 1])
comp = widgets.selectbox("Comparison", list(comps), key="sg_comparison", value="", container=s1,
                         format_func=lambda c: comps.get(c, c))
fields = qv.subgroup_fields(df)
field = widgets.selectbox("Subgroups by", fields, key="sg_field", value="histotype", container=s2)
intervention, comparator = comp.split("|", 1)
sg = qv.subgroups(df, intervention, comparator, endpoint, measure, field, method=view.method, test=view.test)
st.markdown(safe.md(sg.test_text()))
if sg.shared_trials:
    st.warning(safe.md("Trials in more than one subgroup: " + ", ".join(sg.shared_trials) + ". The test assumes "
                       "independent subgroups; read it with caution."))
if sg.groups.empty:
    st.info(safe.md(sg.message))
else:
    st.pyplot(qv.forest(sg, title=f"{comps.get(comp, comp)} · {endpoint} {measure} by {field}"))
    st.dataframe(qv.groups_display(sg), hide_index=True, key="sg_table")
