"""Curation page: the source text beside the editable record, accept/reject/edit, the record's history.

Thin wiring over :mod:`dashboards.curation_view`. Read-only until a reviewer signs in (sidebar); the
audit log then carries that account's name. Every input of the edit form is keyed by the record's id,
and the form is drawn from the snapshot taken when the record was opened (its version and values), so
the form always shows and saves the record on screen, and a save sends only the fields the reviewer
changed, checked against the version that was read (optimistic locking). ``?record=ID`` opens one
record (a shareable link); after a decision the page moves on to the next pending record. The page
writes, so it opens its own store for each run and closes it (no connection outlives a save), and
clears the cached queries of the other pages after every save so they show the change at once.
Text from documents is shown literally (:mod:`dashboards.safe`).

Three team tasks sit beside the record review (:mod:`dashboards.adjudication_view`): conflicts of a
blinded dual review side by side, decided by a third, signed-in reviewer (audited ``adjudicate``);
agreement as Cohen's κ per field and progress per reviewer; and study-level fields (trial, year,
source id, registry ids) set once for every record of a source (audited per record, optimistic locking).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboards import adjudication_view as av
from dashboards import auth, safe
from dashboards import curation_view as cv
from dashboards.data import store_url
from evidence.curation import Curation
from evidence.errors import NotFoundError
from evidence.store import Store

PICKER = "record"
GOTO = "_curation_goto"  # the record to open at the next run (set after a decision)
SHOWN = "_curation_param"  # the ?record= value this page wrote last (another one is a followed link)


def _forget(record_id: str) -> None:
    for key in cv.record_keys(list(st.session_state), record_id):
        del st.session_state[key]


def _left() -> None:
    """The picker moved (mouse or keyboard): the record left is read afresh when it is opened again
    (Streamlit drops the inputs of a form that is no longer drawn, so its snapshot goes too)."""
    if st.session_state.get(SHOWN):
        _forget(st.session_state[SHOWN])


def _done(result: cv.SaveResult, record_id: str, ids: list[str]) -> None:
    if result.ok:
        st.session_state["flash"] = result.message
        st.cache_data.clear()
        _forget(record_id)
        nxt = cv.next_pending(ids, record_id)
        st.session_state[GOTO] = nxt or ""
        if nxt:
            st.query_params["record"] = nxt
        else:
            st.query_params.pop("record", None)
        st.session_state[SHOWN] = nxt or ""
        st.rerun()
    st.error(safe.md(result.message))


def _choose(ids: list[str], wanted: str) -> None:
    """Set the picker before it is drawn: after a decision, on a followed link, or when its record left."""
    goto = st.session_state.pop(GOTO, None)
    if goto and goto in ids:
        st.session_state[PICKER] = goto
    elif wanted and wanted in ids and wanted != st.session_state.get(SHOWN):
        st.session_state[PICKER] = wanted
    elif st.session_state.get(PICKER) not in ids:
        st.session_state[PICKER] = wanted if wanted in ids else ids[0]


def _opened(record_id: str, rec: Any, version: int) -> dict[str, Any]:
    """The snapshot of a record taken when it was opened: version and form fields (kept until a decision)."""
    key = f"opened_{record_id}"
    if key not in st.session_state:
        st.session_state[key] = {"version": version, "fields": cv.form_fields(rec)}
    return st.session_state[key]


TASKS = ("Review records", "Conflicts", "Agreement and progress", "Study fields")


def _saved(result: cv.SaveResult) -> None:
    if result.ok:
        st.session_state["flash"] = result.message
        st.cache_data.clear()
        st.rerun()
    st.error(safe.md(result.message))


def _conflicts(cur: Curation, reviewer: str) -> None:
    """Records the two reviewers of a finished source disagree on, side by side; a third reviewer decides."""
    items = av.conflicts(cur)
    if not items:
        st.info("No open conflicts: every record both reviewers finished is agreed or adjudicated. Conflicts "
                "appear here once both reviewers of a source have decided all its records.")
        return
    st.caption(f"{len(items)} records in conflict. Take one reviewer's decision; a reason is required and the "
               "adjudication is final (audited).")
    for c in items:
        with st.container(border=True):
            st.markdown(f"**{safe.md(c.record_id)}** · {safe.md(c.source_id)}")
            st.dataframe(c.table, hide_index=True, key=f"conflict_{c.record_id}")
            st.caption(safe.md(" · ".join(f"{who}: {why or 'no reason given'}" for who, why in c.reasons.items())))
            if not reviewer:
                st.caption("Sign in (sidebar) to adjudicate.")
                continue
            with st.form(f"adjudicate_form_{c.record_id}"):
                pick = st.radio("Decision", [c.reviewer_a, c.reviewer_b], format_func=c.choice_label,
                                key=f"adj_pick_{c.record_id}")
                why = st.text_input("Reason (required)", key=f"adj_reason_{c.record_id}")
                if st.form_submit_button("Adjudicate", key=f"adjudicate_{c.record_id}"):
                    _saved(av.adjudicate_with(cur, c.record_id, pick, adjudicator=reviewer, reason=why))


def _agreement(cur: Curation, reviewer: str) -> None:
    """Cohen's κ per field between each reviewer pair, and each reviewer's progress."""
    st.subheader("Agreement between reviewers")
    st.caption("Cohen's kappa, κ = (p_o − p_e) / (1 − p_e) (Cohen 1960): observed agreement p_o against the "
               "agreement expected by chance p_e, over the records both reviewers of a pair decided, on sources "
               "both have finished. Fields nobody changed are left out.")
    agree = av.agreement_frame(cur)
    if agree.empty:
        st.info("No dual review is finished yet: agreement shows once two reviewers have both decided every "
                "record of a source (switch on “Blinded dual review” under Review records).")
    else:
        st.dataframe(agree, hide_index=True, key="agreement_table")
    st.subheader("Progress per reviewer")
    prog = av.progress_frame(cur)
    if prog.empty:
        st.info("No reviewer has decided a record in dual review yet.")
    else:
        st.dataframe(prog, hide_index=True, key="progress_table")


def _study_fields(cur: Curation, reviewer: str) -> None:
    """Trial name, year, source id and registry ids set once for every record of a source."""
    options = av.source_options(cur)
    if not options:
        st.info("The store holds no records yet.")
        return
    sid = st.selectbox("Source", list(options), key="study_source", format_func=lambda s: options.get(s, s))
    texts, versions, mixed = av.study_form(cur, sid)
    if mixed:
        st.warning("The records of this source disagree on some study-level field; the form shows the most common "
                   "value, and saving sets it on every record.")
    if not reviewer:
        st.info("Read-only: sign in with a reviewer account (sidebar) to change study-level fields.")
        st.dataframe(pd.DataFrame({"field": list(texts), "value": list(texts.values())}), hide_index=True,
                     key="study_read_only")
        return
    snap_key = f"study_opened_{sid}"
    snap = st.session_state.setdefault(snap_key, {"texts": texts, "versions": versions})
    with st.form(f"study_form_{sid}"):
        submitted = {f: st.text_input(f.replace("_", " "), value=snap["texts"][f], key=f"study_{sid}_{f}")
                     for f in snap["texts"]}
        why = st.text_input("Reason (required)", key=f"study_{sid}_reason")
        if st.form_submit_button(f"Apply to all {len(snap['versions'])} records", key="study_save"):
            res = av.apply_study_fields(cur, sid, snap["texts"], submitted, reviewer=reviewer, reason=why,
                                        versions=snap["versions"])
            if res.ok:
                st.session_state.pop(snap_key, None)
            _saved(res)


store = Store(store_url())
try:
    cur = Curation(store)
    st.title("Curation")
    if "flash" in st.session_state:
        st.success(safe.md(st.session_state.pop("flash")))
    reviewer = auth.reviewer(store)
    task = st.radio("Task", TASKS, key="curation_task", horizontal=True, label_visibility="collapsed")
    if task != TASKS[0]:
        {TASKS[1]: _conflicts, TASKS[2]: _agreement, TASKS[3]: _study_fields}[task](cur, reviewer)
        st.stop()
    dual = st.toggle("Blinded dual review", key="dual", disabled=not reviewer)
    pending = cur.pending(reviewer) if reviewer else store.records_frame(status="extracted", with_version=True)
    ids = list(pending["record_id"])
    labels = {r["record_id"]: cv.record_label(r) for r in pending.to_dict("records")}
    raw = st.query_params.get("record") or ""
    wanted = raw if isinstance(raw, str) and 0 < len(raw) <= 64 else ""
    if wanted and wanted not in ids:
        try:
            linked, _ = store.get(wanted)
        except NotFoundError:
            st.warning(safe.md(f"no record {wanted!r} in the store (from the link)"))
        else:
            ids.insert(0, wanted)
            labels[wanted] = cv.record_label(linked.to_dict())
    if not ids:
        st.info("Nothing pending" + (" for you" if reviewer else "") + ".")
        st.stop()
    _choose(ids, wanted)
    record_id = st.selectbox("Record", ids, key=PICKER, format_func=lambda i: labels.get(i, i), on_change=_left)
    st.query_params["record"] = record_id
    st.session_state[SHOWN] = record_id
    try:
        rec, version = store.get(record_id)
    except NotFoundError as exc:
        st.error(safe.md(str(exc)))
        st.stop()
    try:
        text = store.source(rec.source_id)["text"]
    except NotFoundError:
        text = None

    left, right = st.columns(2)
    with left:
        st.subheader(safe.md(f"{rec.source_id} — {rec.source_title or rec.trial or ''}"))
        st.markdown(f"<div style='max-height:28rem;overflow-y:auto'>{cv.source_html(rec, text)}</div>",
                    unsafe_allow_html=True)
    with right:
        st.caption(safe.md(f"record {rec.record_id} · status {rec.status} · version {version}"))
        if not reviewer:
            st.info("Read-only: sign in with a reviewer account (sidebar) to accept, edit or reject.")
            st.dataframe({"field": [f.name for f in cv.form_fields(rec)],
                          "value": [f.value for f in cv.form_fields(rec)]}, hide_index=True, key="read_only")
        else:
            snap = _opened(record_id, rec, version)
            read = snap["version"]
            if version != read:
                st.warning(f"This record changed in the store since you opened it (version {read}, now {version});"
                           " a save will be refused. Reload it to see the current values.")
                if st.button("Reload record", key="reload"):
                    _forget(record_id)
                    st.rerun()
            buttons = st.columns([1, 2, 1])
            if buttons[0].button("Accept", key="accept", type="primary"):
                _done(cv.apply_save(cur, record_id, "accept", reviewer=reviewer, version=read, dual=dual),
                      record_id, ids)
            reject_reason = buttons[1].text_input("Reason to reject", key=f"reject_reason_{record_id}",
                                                  label_visibility="collapsed", placeholder="reason to reject")
            if buttons[2].button("Reject", key="reject"):
                _done(cv.apply_save(cur, record_id, "reject", reviewer=reviewer, version=read, reason=reject_reason,
                                    dual=dual), record_id, ids)
            with st.form(f"edit_form_{record_id}"):
                submitted, shown = {}, {}
                for f in snap["fields"]:
                    shown[f.name] = f.value
                    key = cv.widget_key(record_id, f.name)
                    if f.kind == "choice":
                        submitted[f.name] = st.selectbox(f.label, f.options, index=f.options.index(f.value), key=key)
                    else:
                        submitted[f.name] = st.text_input(f.label, value=f.value, key=key)
                reason = st.text_input("Reason for the edit (required)", key=cv.widget_key(record_id, "reason"))
                if st.form_submit_button("Save edit", key="save"):
                    try:
                        changes = cv.changes_from_texts(rec, shown, submitted)
                    except ValueError as exc:
                        st.error(safe.md(str(exc)))
                    else:
                        _done(cv.apply_save(cur, record_id, "edit", reviewer=reviewer, version=read, changes=changes,
                                            reason=reason, dual=dual), record_id, ids)
    st.subheader("History")
    st.dataframe(cv.history_frame(cur, record_id), hide_index=True, width="stretch")
finally:
    store.close()
