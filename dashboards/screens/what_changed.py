"""What changed: per pooled question, the changes since a snapshot, and one question's timeline."""

import json

import streamlit as st

from dashboards import changes_view, data
from evidence.csv_cells import frame_csv

url = data.store_url()
st.title("What changed")
snaps = changes_view.snapshot_options(url)
if not snaps:
    st.info("No snapshot yet: `sarcoma-evidence update` records the first one.")
    st.stop()
since = st.selectbox("Since snapshot", ["default", *snaps], key="changes_since",
                     format_func=lambda s: "the last step (default of `changes`)" if s == "default" else snaps[s])
view = changes_view.changes_view(url, None if since == "default" else since)
if view.message:
    st.warning(view.message)
st.caption(f"From {view.since} to the store now · curated records, pooled with the plan's defaults "
           "(the sidebar filters do not apply here)")
frame = view.changes
m = st.columns(3)
m[0].metric("Questions changed", int((frame["kind"] != "waiting for review").sum()))
m[1].metric("New trials", len(set().union(*map(set, frame["new_trials"]))))  # one trial may enter several questions
m[2].metric("Records waiting for review", int(frame["waiting_for_review"].sum()))
if frame.empty:
    st.success("Nothing changed in any pooled question.")
for row in frame.to_dict("records"):
    head, bullets = changes_view.change_markdown(row)
    with st.container(border=True):
        st.markdown(head)
        st.markdown(bullets)
c1, c2 = st.columns(2)
c1.download_button("Download CSV", frame_csv(frame), "changes.csv", "text/csv", key="changes_csv")
c2.download_button("Download JSON", json.dumps(frame.to_dict("records"), default=str, indent=2),
                   "changes.json", "application/json", key="changes_json")

st.header("Timeline of a pooled estimate")
labels, first = changes_view.timeline_choices(view)
if not labels:
    st.info("No question has a curated trial yet.")
else:
    question = st.selectbox("Question", list(labels), key="timeline_question", format_func=labels.get, index=first)
    line = changes_view.timeline_frame(url, question)
    chart = changes_view.timeline_chart(line)
    if len(chart):
        st.line_chart(chart, y=["estimate", "ci_low", "ci_high"])
    st.caption("Cumulative view by snapshot date: each row is the pooled estimate as it stood at that snapshot "
               "(the last row, now, when the store has moved on since).")
    st.table(changes_view.timeline_table(line))
