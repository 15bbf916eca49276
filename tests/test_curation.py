"""Curation workflow: single reviewer, blinded dual extraction, adjudication, the append-only audit log."""

import pytest
from sqlalchemy import inspect, text

from evidence.curation import Curation, CurationError
from evidence.errors import ConflictError, RecordError
from evidence.field_values import parse_assignments
from tests.conftest import make_record


@pytest.fixture
def two(store):
    """A source with two records (an OS HR and a PFS HR) and its curation workflow."""
    a = make_record()
    b = make_record(endpoint="PFS", value=0.6, ci_low=0.5, ci_high=0.8, value_start=60, value_end=63,
                    p_value=None, p_relation=None)
    store.add_records([a, b])
    return Curation(store), a.record_id, b.record_id


def test_reviews_table_and_revision(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"reviews", "audit_log", "records"} <= tables


def test_single_reviewer_accept_edit_reject(two):
    cur, a, b = two
    assert cur.accept(a, reviewer="ana").status == "accepted"
    rec = cur.edit(b, {"value": 0.62}, reviewer="ana", reason="table 3 gives 0.62")
    assert (rec.status, rec.value, rec.note) == ("edited", 0.62, "table 3 gives 0.62")
    assert cur.store.original(b)["value"] == 0.6  # the extracted value is kept beside the edit
    rec = cur.reject(b, reviewer="bo", reason="subgroup, not ITT", version=2)
    assert rec.status == "rejected" and cur.store.count() == 2  # a rejection is a state, never a delete


def test_edit_or_reject_without_reason_is_refused(two):
    cur, a, _ = two
    with pytest.raises(CurationError, match="an edit needs a reason"):
        cur.edit(a, {"value": 0.78}, reviewer="ana", reason=None)
    with pytest.raises(CurationError, match="a rejection needs a reason"):
        cur.reject(a, reviewer="ana", reason="  ")
    with pytest.raises(CurationError, match="an edit needs a reason"):
        cur.review(a, "edited", reviewer="ana", values={"value": 0.78})
    with pytest.raises(CurationError, match="changes no value"):
        cur.edit(a, {"value": 0.77}, reviewer="ana", reason="same")
    with pytest.raises(RecordError, match="a HR must be > 0"):
        cur.edit(a, {"value": -1.0}, reviewer="ana", reason="typo")
    assert cur.store.get(a)[1] == 1 and list(cur.store.audit(a)["action"]) == ["insert"]


def test_stale_single_edit_is_a_conflict_showing_the_other_change(two):
    cur, a, _ = two
    cur.edit(a, {"value": 0.79}, reviewer="ana", reason="pdf", version=1)
    with pytest.raises(ConflictError, match=r"changed by ana .* value: 0.77 → 0.79"):
        cur.edit(a, {"value": 0.8}, reviewer="bo", reason="html", version=1)


def test_dual_decisions_are_blind_until_both_are_done(two):
    cur, a, b = two
    cur.review(a, "edited", reviewer="ana", values={"value": 0.78}, reason="table 2")
    # bo sees the record as extracted, and nothing of ana's choice
    pend = cur.pending("bo")
    assert set(pend["record_id"]) == {a, b}
    assert pend.set_index("record_id").loc[a, "value"] == 0.77
    assert cur.decisions("bo").empty and list(cur.decisions("ana")["record_id"]) == [a]
    assert not cur.others_visible("bo", a) and not cur.others_visible("ana", a)
    assert [r.reviewer for r in cur.reviews_of(a, "bo")] == []
    assert "review" not in set(cur.history(a)["action"])
    assert cur.conflicts().empty
    assert set(cur.pending("ana")["record_id"]) == {b}
    cur.review(a, "accepted", reviewer="bo")
    assert not cur.others_visible("bo", a)  # bo has not finished the source yet (record b)
    assert cur.store.get(a)[0].status == "extracted"  # reviews never touch the record before the end
    cur.review(b, "accepted", reviewer="ana")
    cur.review(b, "accepted", reviewer="bo")
    assert cur.others_visible("bo", a) and cur.others_visible("ana", a)
    assert {r.reviewer for r in cur.reviews_of(a, "bo")} == {"ana", "bo"}
    assert cur.pending("ana").empty and cur.pending("bo").empty


def test_agreement_is_applied_with_an_audit_entry(two):
    cur, a, b = two
    for who in ("ana", "bo"):
        cur.review(a, "edited", reviewer=who, values=parse_assignments(["value=0.78", "n=450"]),
                   reason=f"{who}: table 2")
        cur.review(b, "rejected", reviewer=who, reason="exploratory subgroup")
    rec, version = cur.store.get(a)
    assert (rec.status, rec.value, rec.n, rec.reviewer, version) == ("edited", 0.78, 450, "ana+bo", 2)
    assert "table 2" in rec.note
    assert cur.store.get(b)[0].status == "rejected"
    audit = cur.store.audit(a)
    consensus = audit[audit["action"] == "consensus"]
    assert set(consensus["field"]) == {"value", "n", "status"}
    assert cur.conflicts().empty
    hist = cur.history(a)
    assert list(hist["action"]).count("review") >= 2 and hist["action"].iloc[0] == "insert"
    with pytest.raises(CurationError, match="already edited"):
        cur.review(a, "accepted", reviewer="ana")


def test_disagreement_listed_then_adjudication_is_final(two):
    cur, a, b = two
    cur.review(a, "edited", reviewer="ana", values={"value": 0.78, "ci_high": 0.96}, reason="table 2")
    cur.review(a, "accepted", reviewer="bo")
    cur.review(b, "accepted", reviewer="ana")
    cur.review(b, "edited", reviewer="bo", values={"histotypes": ["leiomyosarcoma", "liposarcoma"]},
               reason="population is mixed")
    conf = cur.conflicts()
    got = {(r.record_id, r.field): (r.value_a, r.value_b) for r in conf.itertuples()}
    assert got == {(a, "status"): ("edited", "accepted"), (a, "value"): ("0.78", "0.77"),
                   (a, "ci_high"): ("0.96", "0.95"), (b, "status"): ("accepted", "edited"),
                   (b, "histotypes"): ("leiomyosarcoma", "leiomyosarcoma, liposarcoma")}
    assert set(cur.conflicts(source_id="PMID:999")["record_id"]) == set()
    assert cur.store.get(a)[0].status == "extracted"
    with pytest.raises(CurationError, match="under dual review"):
        cur.accept(a, reviewer="ana")
    with pytest.raises(CurationError, match="third person"):
        cur.review(a, "accepted", reviewer="cy")
    with pytest.raises(CurationError, match="adjudication needs a reason"):
        cur.adjudicate(a, "accepted", None, "cy", None)
    rec = cur.adjudicate(a, "edited", {"value": 0.78}, "cy", "table 2 is the final analysis")
    assert (rec.status, rec.value, rec.reviewer) == ("edited", 0.78, "cy")
    audit = cur.store.audit(a)
    adj = audit[audit["action"] == "adjudicate"]
    assert set(adj["field"]) == {"value", "status"} and set(adj["reason"]) == {"table 2 is the final analysis"}
    assert set(cur.conflicts()["record_id"]) == {b}
    with pytest.raises(CurationError, match=r"adjudicated by cy .* final"):
        cur.adjudicate(a, "rejected", None, "dee", "changed my mind")
    with pytest.raises(CurationError, match="final"):
        cur.edit(a, {"value": 0.7}, reviewer="ana", reason="x")


def test_reviewer_may_change_their_mind_to_reach_consensus(two):
    cur, a, b = two
    cur.review(a, "accepted", reviewer="ana")
    cur.review(a, "rejected", reviewer="bo", reason="wrong arm")
    for who in ("ana", "bo"):
        cur.review(b, "accepted", reviewer=who)
    assert set(cur.conflicts()["record_id"]) == {a}
    cur.review(a, "accepted", reviewer="bo")  # after discussion
    assert cur.conflicts().empty and cur.store.get(a)[0].status == "accepted"
    assert len(cur.store.audit(a).query("action == 'consensus'")) == 1


def test_stale_review_is_a_conflict(two):
    cur, a, _ = two
    with pytest.raises(ConflictError, match="you read 0"):
        cur.review(a, "accepted", reviewer="ana", version=0)
    assert cur.decisions("ana").empty  # the refused decision was not stored


def test_audit_log_and_reviews_are_append_only(two):
    cur, a, _ = two
    cur.review(a, "accepted", reviewer="ana")
    for sql in ("UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log",
                "UPDATE reviews SET decision = 'rejected'", "DELETE FROM reviews"):
        with pytest.raises(Exception, match="append-only"):  # sqlite and psycopg raise their own classes
            with cur.store.engine.begin() as c:
                c.execute(text(sql))
    assert len(cur.store.audit(a)) == 1 and len(cur.decisions("ana")) == 1


def test_parse_assignments_errors():
    with pytest.raises(ValueError, match="field 'record_id' cannot be curated"):
        parse_assignments(["record_id=x"])
    with pytest.raises(ValueError, match="value='abc': must be a number"):
        parse_assignments(["value=abc"])
    with pytest.raises(ValueError, match="write field=value"):
        parse_assignments(["value"])


def test_adjudicate_refuses_a_record_without_a_conflict(two):
    """Issue 12: adjudication decides disagreements only; a pending record, one reviewer's record, or an
    agreed one is refused with a message that says why, and nothing is written."""
    cur, a, b = two
    with pytest.raises(CurationError, match="no conflict to adjudicate"):
        cur.adjudicate(a, "accepted", None, "cy", "looks fine")  # nobody reviewed it
    cur.review(a, "accepted", reviewer="ana")
    with pytest.raises(CurationError, match="no conflict to adjudicate"):
        cur.adjudicate(a, "accepted", None, "cy", "looks fine")  # one reviewer only
    cur.review(b, "accepted", reviewer="ana")
    cur.review(a, "accepted", reviewer="bo")
    cur.review(b, "rejected", reviewer="bo", reason="duplicate")
    assert set(cur.conflicts()["record_id"]) == {b}
    with pytest.raises(CurationError, match="no conflict"):
        cur.adjudicate(a, "rejected", None, "cy", "x")  # agreed (already accepted by consensus)
    assert cur.store.get(a)[0].status == "accepted"
    assert "adjudicate" not in set(cur.store.audit(a)["action"])
    assert cur.adjudicate(b, "rejected", None, "cy", "duplicate of PMID:1").status == "rejected"
