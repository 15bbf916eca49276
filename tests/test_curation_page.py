"""The curation page (``dashboards/screens/curation.py``) under Streamlit's AppTest, and its pure view logic."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import curation_view as cv
from evidence.curation import Curation
from evidence.reviewers import Reviewers
from tests.conftest import make_record

PAGE = str(Path(__file__).parents[1] / "dashboards" / "screens" / "curation.py")
TEXT = "Methods. <b>OS</b> was longer with eribulin (HR 0.77, 95% CI 0.62–0.95; p=0.017). Done."
PW = "a long passphrase"


def sign_in(at, name="ana", password=PW):
    """Sign in with the sidebar form (the page draws it when it runs without app.py)."""
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="sign_in").click().run()


@pytest.fixture
def page(store, monkeypatch):
    """An AppTest of the page over a store holding one source, one extracted record and account ana."""
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", store.url)
    start = TEXT.index("OS")
    rec = make_record(char_start=start - 3, char_end=len(TEXT) - 6, value_start=TEXT.index("0.77"),
                      value_end=TEXT.index("0.77") + 4)
    store.add_sources([{"source_id": rec.source_id, "title": "EORTC trial", "year": 2016, "text": TEXT}])
    store.add_records([rec])
    Reviewers(store).add("ana", PW)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at, store, rec


def test_widgets_by_key_and_highlighted_source(page):
    """The page shows the escaped source with only the number marked, and every control has a key
    (the form's inputs keyed by the record's id)."""
    at, _, rec = page
    sign_in(at)
    rid = rec.record_id
    for key in (f"reject_reason_{rid}", cv.widget_key(rid, "value"), cv.widget_key(rid, "reason")):
        assert at.text_input(key=key).key == key
    for key in ("accept", "reject", "save"):
        assert at.button(key=key).key == key
    assert at.toggle(key="dual").value is False and at.selectbox(key=cv.widget_key(rid, "arm")).value == "contrast"
    assert at.selectbox(key="record").value == rec.record_id
    html = " ".join(m.value for m in at.markdown)
    assert "&#60;b&#62;OS&#60;&#47;b&#62;" in html and "<mark>0&#46;77</mark>" in html and "<b>" not in html


def test_read_only_until_signed_in(page):
    """Issue 12: without an account the page shows the record but offers no action; a wrong password
    signs nobody in; the audit log carries the account's name."""
    at, store, rec = page
    assert "accept" not in {b.key for b in at.button}
    assert "save" not in {b.key for b in at.button} and at.toggle(key="dual").disabled
    assert any("Read-only" in i.value for i in at.info)
    sign_in(at, password="wrong password")
    assert not at.exception and "accept" not in {b.key for b in at.button}
    assert any("wrong password" in e.value for e in at.sidebar.error)
    sign_in(at)
    assert any("Signed in as ana" in t.value for t in at.sidebar.text)
    at.button(key="accept").click().run()
    assert not at.exception
    got = store.get(rec.record_id)[0]
    assert (got.status, got.reviewer) == ("accepted", "ana")
    audit = store.audit(rec.record_id)
    assert list(audit.loc[audit["action"] == "accept", "reviewer"]) == ["ana"]


def test_a_removed_account_is_signed_out(page):
    at, store, rec = page
    sign_in(at)
    Reviewers(store).remove("ana")
    at.run()
    assert "accept" not in {b.key for b in at.button} and store.get(rec.record_id)[0].status == "extracted"


def test_accept_changes_the_record(page):
    """Clicking Accept (signed in) stores status accepted and the account's name."""
    at, store, rec = page
    sign_in(at)
    at.button(key="accept").click().run()
    assert not at.exception
    got = store.get(rec.record_id)[0]
    assert (got.status, got.reviewer) == ("accepted", "ana")


def test_edit_needs_a_reason_then_saves(page):
    """The edit form refuses a save without a reason, then stores the value, the reason and an audit row."""
    at, store, rec = page
    sign_in(at)
    value, reason = cv.widget_key(rec.record_id, "value"), cv.widget_key(rec.record_id, "reason")
    at.text_input(key=value).input("0.78")
    at.button(key="save").click().run()
    assert not at.exception and "needs a reason" in at.error[0].value
    assert store.get(rec.record_id)[0].value == 0.77
    at.text_input(key=value).input("0.78")
    at.text_input(key=reason).input("table 2")
    at.button(key="save").click().run()
    assert not at.exception
    got = store.get(rec.record_id)[0]
    assert (got.status, got.value, got.note) == ("edited", 0.78, "table 2")
    assert store.original(rec.record_id)["value"] == 0.77


def test_view_functions(store):
    rec = make_record(evidence_text="HR <0.77>", char_start=0, value_start=4, value_end=8)
    assert cv.source_html(rec, None) == "HR &#60;<mark>0&#46;77</mark>&#62;"
    assert cv.highlight("a<b", 5, 9) == "a&#60;b"
    fields = {f.name: f for f in cv.form_fields(rec)}
    assert fields["value"].value == "0.77" and fields["arm"].kind == "choice" and "contrast" in fields["arm"].options
    assert cv.changes_from_form(rec, {"value": "0.78", "n": "452", "arm": "contrast"}) == {"value": 0.78}
    with pytest.raises(ValueError, match="must be a number"):
        cv.changes_from_form(rec, {"value": "x"})
    store.add_records([rec])
    cur = Curation(store)
    assert not cv.apply_save(cur, rec.record_id, "reject", reviewer="bo", version=1).ok
    res = cv.apply_save(cur, rec.record_id, "reject", reviewer="bo", version=1, reason="duplicate")
    assert res.ok and store.get(rec.record_id)[0].status == "rejected"
    stale = cv.apply_save(cur, rec.record_id, "accept", reviewer="ana", version=1)
    assert not stale.ok and "changed by bo" in stale.message
    hist = cv.history_frame(cur, rec.record_id)
    assert list(hist.columns) == list(cv.HISTORY_COLUMNS) and list(hist["action"]) == ["insert", "reject"]


@pytest.fixture
def three(store, monkeypatch):
    """Three extracted records of three sources (picker order a, b, c) and account ana; no page run yet."""
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", store.url)
    recs = [make_record(source_id=f"PMID:{i}", trial=f"T-{i}") for i in (501, 502, 503)]
    store.add_records(recs)
    Reviewers(store).add("ana", PW)
    ids = list(store.records_frame(status="extracted")["record_id"])
    assert ids == [r.record_id for r in recs]
    return AppTest.from_file(PAGE, default_timeout=60), store, ids


def test_link_opens_a_pending_record_that_is_not_first(three):
    """Issue 12: ?record=ID opens that record even when it is pending and not first."""
    at, _, (_, b, _) = three
    at.query_params["record"] = b
    at.run()
    assert not at.exception and at.selectbox(key="record").value == b
    assert any(f"record {b} ·" in cap.value for cap in at.caption)


def test_after_a_decision_the_page_moves_to_the_next_pending_record(three):
    """Issue 12: after accept, edit and reject the page opens the next pending record; a rejected record
    opened by its link shows its label in the picker, not a bare id."""
    at, store, (a, b, c) = three
    at.query_params["record"] = b
    at.run()
    sign_in(at)
    assert at.selectbox(key="record").value == b
    at.button(key="accept").click().run()
    assert not at.exception and store.get(b)[0].status == "accepted"
    assert at.selectbox(key="record").value == c and at.query_params["record"] in (c, [c])
    at.text_input(key=f"reject_reason_{c}").input("duplicate")
    at.button(key="reject").click().run()
    assert store.get(c)[0].status == "rejected" and at.selectbox(key="record").value == a
    at.text_input(key=cv.widget_key(a, "n")).input("450")
    at.text_input(key=cv.widget_key(a, "reason")).input("table 1")
    at.button(key="save").click().run()
    assert store.get(a)[0].n == 450
    assert any("Nothing pending" in i.value for i in at.info)
    again = AppTest.from_file(PAGE, default_timeout=60)
    again.query_params["record"] = c
    again.run()
    picker = again.selectbox(key="record")
    assert picker.value == c and picker.options == ["PMID:503 · OS HR contrast = 0.77 (rejected)"]


def test_a_save_sends_only_the_changed_field_and_checks_the_version(three):
    """Only the field the reviewer changed is sent; a save over someone else's newer version is refused
    (nothing written) and the form offers to reload."""
    at, store, (a, _, _) = three
    at.run()
    sign_in(at)
    Curation(store).edit(a, {"n": 300, "trial": "T-other"}, reviewer="bo", reason="registry")  # meanwhile
    at.run()
    assert any("changed in the store since you opened it" in w.value for w in at.warning)
    at.text_input(key=cv.widget_key(a, "value")).input("0.78")
    at.text_input(key=cv.widget_key(a, "reason")).input("table 2")
    at.button(key="save").click().run()
    assert not at.exception and "changed by bo" in at.error[0].value
    got = store.get(a)[0]
    assert (got.value, got.n, got.trial) == (0.77, 300, "T-other")
    at.button(key="reload").click().run()
    assert at.text_input(key=cv.widget_key(a, "trial")).value == "T-other"
    at.text_input(key=cv.widget_key(a, "value")).input("0.78")
    at.text_input(key=cv.widget_key(a, "reason")).input("table 2")
    at.button(key="save").click().run()
    got = store.get(a)[0]
    assert (got.value, got.n, got.trial, got.reviewer) == (0.78, 300, "T-other", "ana")
    edits = store.audit(a)
    assert list(edits.loc[(edits["action"] == "edit") & (edits["reviewer"] == "ana"), "field"]) == ["value"]


def test_changes_from_texts_sends_only_what_changed():
    rec = make_record()
    shown = {f.name: f.value for f in cv.form_fields(rec)}
    assert cv.changes_from_texts(rec, shown, dict(shown)) == {}
    assert cv.changes_from_texts(rec, shown, {**shown, "n": "460", "value": "0.770"}) == {"n": 460}
    other = make_record(n=999, trial="X")  # the record changed meanwhile: untouched fields are not sent
    assert cv.changes_from_texts(other, shown, {**shown, "value": "0.8"}) == {"value": 0.8}


def test_a_record_opened_again_is_read_afresh(three):
    """Leaving a record and coming back shows its current values and version (no stale form)."""
    at, store, (a, b, _) = three
    at.run()
    sign_in(at)
    assert at.text_input(key=cv.widget_key(a, "trial")).value == "T-501"
    at.selectbox(key="record").set_value(b).run()
    store.update_record(a, {"trial": "T-501b"}, reviewer="extractor", version=1, status="extracted",
                        action="refresh")  # still pending, a new version
    at.selectbox(key="record").set_value(a).run()
    assert not at.warning and at.text_input(key=cv.widget_key(a, "trial")).value == "T-501b"


def test_a_locked_store_says_busy_on_the_dashboard_and_loses_nothing(store, monkeypatch, tmp_path):
    """Issue 12: a write that waits out its lock shows "the store is busy …" on the page, no traceback or
    SQL; the record is unchanged and the same action succeeds once the lock is gone."""
    import sqlite3

    if not store.url.startswith("sqlite:///"):
        pytest.skip("the lock is taken with sqlite3")
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", store.url)
    monkeypatch.setenv("SARCOMA_EVIDENCE_LOCK_TIMEOUT", "0.3")
    rec = make_record()
    store.add_sources([{"source_id": rec.source_id, "title": "EORTC trial", "year": 2016, "text": TEXT}])
    store.add_records([rec])
    Reviewers(store).add("ana", PW)
    at = AppTest.from_file(str(Path(PAGE).parents[1] / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("screens/curation.py").run()
    sign_in(at)
    assert not at.exception, at.exception
    lock = sqlite3.connect(store.url.removeprefix("sqlite:///"), timeout=0)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        at.button(key="accept").click().run()
    finally:
        lock.rollback()
        lock.close()
    assert not at.exception, at.exception
    import html

    shown = html.unescape(" ".join(e.value for e in at.error))  # the page escapes every message it shows
    assert "the store is busy (another import is running); try again" in shown
    assert "SELECT" not in shown and "UPDATE" not in shown and "Traceback" not in shown
    assert store.get(rec.record_id)[0].status == "extracted"
    at.button(key="accept").click().run()
    assert not at.exception and store.get(rec.record_id)[0].status == "accepted"
