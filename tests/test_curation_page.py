"""The curation page (``dashboards/pages/curation.py``) under Streamlit's AppTest, and its pure view logic."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import curation_view as cv
from evidence.curation import Curation
from tests.conftest import make_record

PAGE = str(Path(__file__).parents[1] / "dashboards" / "pages" / "curation.py")
TEXT = "Methods. <b>OS</b> was longer with eribulin (HR 0.77, 95% CI 0.62–0.95; p=0.017). Done."


@pytest.fixture
def page(store, monkeypatch):
    """An AppTest of the page over a store holding one source and one extracted record."""
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", store.url)
    start = TEXT.index("OS")
    rec = make_record(char_start=start - 3, char_end=len(TEXT) - 6, value_start=TEXT.index("0.77"),
                      value_end=TEXT.index("0.77") + 4)
    store.add_sources([{"source_id": rec.source_id, "title": "EORTC trial", "year": 2016, "text": TEXT}])
    store.add_records([rec])
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at, store, rec


def test_widgets_by_key_and_highlighted_source(page):
    """The page shows the escaped source with only the number marked, and every control has a key."""
    at, _, rec = page
    for key in ("reviewer", "reject_reason", "edit_value", "edit_reason"):
        assert at.text_input(key=key).key == key
    for key in ("accept", "reject", "save"):
        assert at.button(key=key).key == key
    assert at.toggle(key="dual").value is False and at.selectbox(key="edit_arm").value == "contrast"
    assert at.selectbox(key="record").value == rec.record_id
    html = " ".join(m.value for m in at.markdown)
    assert "&lt;b&gt;OS&lt;/b&gt;" in html and "<mark>0.77</mark>" in html and "<b>" not in html


def test_accept_changes_the_record(page):
    """Clicking Accept (with a reviewer name) stores status accepted and the reviewer."""
    at, store, rec = page
    at.button(key="accept").click().run()
    assert not at.exception and store.get(rec.record_id)[0].status == "extracted"  # no reviewer yet
    assert "reviewer first" in at.error[0].value
    at.text_input(key="reviewer").input("ana").run()
    at.button(key="accept").click().run()
    assert not at.exception
    got = store.get(rec.record_id)[0]
    assert (got.status, got.reviewer) == ("accepted", "ana")


def test_edit_needs_a_reason_then_saves(page):
    """The edit form refuses a save without a reason, then stores the value, the reason and an audit row."""
    at, store, rec = page
    at.text_input(key="reviewer").input("ana").run()
    at.text_input(key="edit_value").input("0.78")
    at.button(key="save").click().run()
    assert not at.exception and "needs a reason" in at.error[0].value
    assert store.get(rec.record_id)[0].value == 0.77
    at.text_input(key="edit_value").input("0.78")
    at.text_input(key="edit_reason").input("table 2")
    at.button(key="save").click().run()
    assert not at.exception
    got = store.get(rec.record_id)[0]
    assert (got.status, got.value, got.note) == ("edited", 0.78, "table 2")
    assert store.original(rec.record_id)["value"] == 0.77


def test_view_functions(store):
    rec = make_record(evidence_text="HR <0.77>", char_start=0, value_start=4, value_end=8)
    assert cv.source_html(rec, None) == "HR &lt;<mark>0.77</mark>&gt;"
    assert cv.highlight("a<b", 5, 9) == "a&lt;b"
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
