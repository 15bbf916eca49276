"""The curation page's team tasks under AppTest (issue 15 B, items 4 and 5): conflicts side by side and
their adjudication by a signed-in third reviewer, Cohen's κ and progress, study-level fields per source."""

from __future__ import annotations

from html import unescape

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import adjudication_view as av
from evidence.curation import Curation
from evidence.reviewers import Reviewers
from tests.conftest import make_record
from tests.test_curation_page import PAGE, PW, sign_in


def frame_with(at, column: str):
    """The first dataframe shown with this column (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture
def team(store, monkeypatch):
    """One source with two records reviewed by ana and bo: they agree on one and disagree on the other."""
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", store.url)
    a = make_record()
    b = make_record(endpoint="PFS", value=0.6, ci_low=0.5, ci_high=0.8, value_start=60, value_end=63,
                    p_value=None, p_relation=None)
    store.add_records([a, b])
    for name in ("ana", "bo", "cy"):
        Reviewers(store).add(name, PW)
    cur = Curation(store)
    cur.review(a.record_id, "edited", reviewer="ana", values={"value": 0.78}, reason="table 2")
    cur.review(a.record_id, "accepted", reviewer="bo")
    cur.review(b.record_id, "accepted", reviewer="ana")
    cur.review(b.record_id, "accepted", reviewer="bo")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    return at, store, a.record_id, b.record_id


def test_conflicts_side_by_side_and_adjudicated_by_a_third_reviewer(team):
    at, store, a, _ = team
    at.radio(key="curation_task").set_value("Conflicts").run()
    assert not at.exception
    table = frame_with(at, "ana")
    assert list(table.columns) == ["field", "ana", "bo"]
    assert dict(zip(table["field"], table["ana"], strict=True)) == {"status": "edited", "value": "0.78"}
    assert not at.get("form")[1:]  # read-only until someone signs in (the one form is the sign-in form)
    at = sign_in(at, "ana")
    at.radio(key="curation_task").set_value("Conflicts").run()
    at.text_input(key=f"adj_reason_{a}").input("table 2 is final")
    at.button(key=f"adjudicate_{a}").click().run()
    assert any("third reviewer" in unescape(e.value) for e in at.error)  # ana reviewed it herself
    assert store.get(a)[0].status == "extracted"
    at.button(key="sign_out").click().run()
    at = sign_in(at, "cy")
    at.radio(key="curation_task").set_value("Conflicts").run()
    at.radio(key=f"adj_pick_{a}").set_value("ana").run()
    at.text_input(key=f"adj_reason_{a}").input("table 2 is the final analysis")
    at.button(key=f"adjudicate_{a}").click().run()
    assert not at.exception
    rec = store.get(a)[0]
    assert (rec.status, rec.value, rec.reviewer) == ("edited", 0.78, "cy")
    audit = store.audit(a)
    assert set(audit.loc[audit["action"] == "adjudicate", "reason"]) == {"table 2 is the final analysis"}
    assert any("No open conflicts" in i.value for i in at.info)


def test_agreement_and_progress(team):
    """Decisions (edited, accepted) and (accepted, accepted): p_o = 1/2, p_e = 1/2·1 = 1/2 for ana's (½ edited,
    ½ accepted) against bo's (all accepted) — κ = 0; the value field the same."""
    at, _, _, _ = team
    at.radio(key="curation_task").set_value("Agreement and progress").run()
    assert not at.exception
    agree = frame_with(at, "kappa").set_index("field")
    assert agree.loc["decision", "agreed"] == 1 and agree.loc["decision", "kappa"] == "0.00"
    prog = frame_with(at, "decided").set_index("reviewer")
    assert prog.loc["ana", "decided"] == 2 and prog.loc["bo", "in_conflict"] == 1


def test_study_fields_form_sets_every_record_of_the_source(team):
    at, store, a, b = team
    at.radio(key="curation_task").set_value("Study fields").run()
    assert not at.get("form")[1:] and len(frame_with(at, "value")) == 4
    at = sign_in(at, "ana")
    at.radio(key="curation_task").set_value("Study fields").run()
    sid = "PMID:100"
    at.text_input(key=f"study_{sid}_trial").input("EORTC 62012")
    at.text_input(key=f"study_{sid}_year").input("2014")
    at.text_input(key=f"study_{sid}_reason").input("title page")
    at.button(key="study_save").click().run()
    assert not at.exception and not at.error
    assert {store.get(r)[0].trial for r in (a, b)} == {"EORTC 62012"}
    assert {store.get(r)[0].year for r in (a, b)} == {2014}


def test_study_form_refuses_a_stale_read(team):
    """The form's versions are the ones read: a save after someone else's change writes nothing."""
    _, store, a, b = team
    cur = Curation(store)
    texts, versions, _ = av.study_form(cur, "PMID:100")
    cur.adjudicate(a, "accepted", None, "cy", "bo is right")  # changes record a's version
    res = av.apply_study_fields(cur, "PMID:100", texts, {**texts, "trial": "X"}, reviewer="ana", reason="r",
                                versions=versions)
    assert not res.ok and "changed since you read it" in res.message
    assert store.get(b)[0].trial is None
