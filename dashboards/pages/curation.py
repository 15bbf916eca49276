"""Curation page: the source text beside the editable record, accept/reject/edit, the record's history.

Thin wiring over :mod:`dashboards.curation_view`. Keyboard-friendly: the edit form is a ``st.form``
(Enter submits), every widget has a key; ``?record=ID`` opens one record (a shareable link). The page
writes, so it opens its own store for each run and closes it (no connection outlives a save), and
clears the cached queries of the other pages after every save so they show the change at once.
"""

from __future__ import annotations

import streamlit as st

from dashboards import curation_view as cv
from dashboards.data import store_url
from evidence.curation import Curation
from evidence.errors import NotFoundError
from evidence.store import Store


def _clear_form() -> None:
    for key in [k for k in st.session_state if str(k).startswith("edit_") or k == "reject_reason"]:
        del st.session_state[key]


def _done(result: cv.SaveResult) -> None:
    if result.ok:
        st.session_state["flash"] = result.message
        st.cache_data.clear()
        _clear_form()
        st.rerun()
    st.error(result.message)


store = Store(store_url())
try:
    cur = Curation(store)
    st.title("Curation")
    if "flash" in st.session_state:
        st.success(st.session_state.pop("flash"))
    top = st.columns([2, 1, 2])
    reviewer = top[0].text_input("Reviewer", key="reviewer", placeholder="your name (for the audit log)")
    dual = top[1].toggle("Blinded dual review", key="dual")
    pending = cur.pending(reviewer.strip()) if reviewer.strip() else store.records_frame(status="extracted",
                                                                                           with_version=True)
    ids = list(pending["record_id"])
    wanted = st.query_params.get("record")
    if wanted and wanted not in ids:
        ids.insert(0, wanted)
    labels = {r["record_id"]: cv.record_label(r) for r in pending.to_dict("records")}
    if not ids:
        st.info("Nothing pending" + (f" for {reviewer}" if reviewer.strip() else "") + ".")
        st.stop()
    record_id = top[2].selectbox("Record", ids, key="record", on_change=_clear_form,
                                 format_func=lambda i: labels.get(i, i))
    st.query_params["record"] = record_id
    try:
        rec, version = store.get(record_id)
    except NotFoundError as exc:
        st.error(str(exc))
        st.stop()
    try:
        text = store.source(rec.source_id)["text"]
    except NotFoundError:
        text = None

    left, right = st.columns(2)
    with left:
        st.subheader(f"{rec.source_id} — {rec.source_title or rec.trial or ''}")
        st.markdown(f"<div style='max-height:28rem;overflow-y:auto'>{cv.source_html(rec, text)}</div>",
                    unsafe_allow_html=True)
    with right:
        st.caption(f"record {rec.record_id} · status {rec.status} · version {version}")
        buttons = st.columns([1, 2, 1])
        if buttons[0].button("Accept", key="accept", type="primary"):
            _done(cv.apply_save(cur, record_id, "accept", reviewer=reviewer, version=version, dual=dual))
        reject_reason = buttons[1].text_input("Reason to reject", key="reject_reason", label_visibility="collapsed",
                                              placeholder="reason to reject")
        if buttons[2].button("Reject", key="reject"):
            _done(cv.apply_save(cur, record_id, "reject", reviewer=reviewer, version=version, reason=reject_reason,
                                dual=dual))
        with st.form("edit_form"):
            submitted = {}
            for f in cv.form_fields(rec):
                if f.kind == "choice":
                    submitted[f.name] = st.selectbox(f.label, f.options, index=f.options.index(f.value),
                                                     key=f"edit_{f.name}")
                else:
                    submitted[f.name] = st.text_input(f.label, value=f.value, key=f"edit_{f.name}")
            reason = st.text_input("Reason for the edit (required)", key="edit_reason")
            if st.form_submit_button("Save edit", key="save"):
                try:
                    changes = cv.changes_from_form(rec, submitted)
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    _done(cv.apply_save(cur, record_id, "edit", reviewer=reviewer, version=version,
                                        changes=changes, reason=reason, dual=dual))
    st.subheader("History")
    st.dataframe(cv.history_frame(cur, record_id), hide_index=True, width="stretch")
finally:
    store.close()
