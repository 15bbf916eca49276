"""``sarcoma-evidence curate …``: pending, accept/edit/reject (single and --dual), conflicts, adjudicate, history."""

import pytest
from typer.testing import CliRunner

from evidence.cli import app
from tests.conftest import make_record


@pytest.fixture
def cli(store, monkeypatch):
    """Run ``sarcoma-evidence curate …`` in-process against the test store; returns (run, store, ids)."""
    monkeypatch.delenv("SARCOMA_EVIDENCE_DB", raising=False)
    a = make_record()
    b = make_record(endpoint="PFS", value=0.6, ci_low=0.5, ci_high=0.8, value_start=60, value_end=63,
                    p_value=None, p_relation=None)
    store.add_records([a, b])
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["curate", *args, "--db", store.url])

    return run, store, (a.record_id, b.record_id)


def _tsv(text):
    lines = [ln.split("\t") for ln in text.splitlines() if ln]
    return [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]


def test_pending_lists_records_with_versions(cli):
    run, _, (a, b) = cli
    res = run("pending", "--reviewer", "ana")
    assert res.exit_code == 0, res.stderr
    rows = _tsv(res.stdout)
    assert {r["record_id"] for r in rows} == {a, b} and {r["version"] for r in rows} == {"1"}
    assert "2 records pending for ana" in res.stderr
    assert _tsv(run("pending", "--reviewer", "ana", "--source", "PMID:9").stdout) == []


def test_single_reviewer_accept_edit_reject_history(cli):
    run, store, (a, b) = cli
    assert run("accept", a, "--reviewer", "ana", "--version", "1").exit_code == 0
    assert store.get(a)[0].status == "accepted"
    res = run("edit", b, "--reviewer", "ana", "--set", "value=0.62", "--set", "n=440", "--reason", "table 3")
    assert res.exit_code == 0, res.stderr
    rec = store.get(b)[0]
    assert (rec.status, rec.value, rec.n, rec.note) == ("edited", 0.62, 440, "table 3")
    assert run("reject", b, "--reviewer", "bo", "--reason", "not ITT").exit_code == 0
    hist = _tsv(run("history", b).stdout)
    assert [h["action"] for h in hist] == ["insert", "edit", "edit", "edit", "reject"]
    assert {(h["field"], h["old"], h["new"], h["reason"]) for h in hist if h["action"] == "edit"} >= {
        ("value", "0.6", "0.62", "table 3")}


def test_refusals_and_conflicts_are_one_line_exit_2(cli):
    run, store, (a, _) = cli
    res = run("edit", a, "--reviewer", "ana", "--set", "value=0.78")
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0 and "needs a reason" in res.stderr
    res = run("reject", a, "--reviewer", "ana")
    assert res.exit_code == 2 and "needs a reason" in res.stderr
    res = run("edit", a, "--reviewer", "ana", "--set", "record_id=x", "--reason", "r")
    assert res.exit_code == 2 and "cannot be curated" in res.stderr
    res = run("edit", a, "--reviewer", "ana", "--set", "value=0.79", "--reason", "pdf", "--version", "1")
    assert res.exit_code == 0
    res = run("edit", a, "--reviewer", "bo", "--set", "value=0.80", "--reason", "html", "--version", "1")
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "changed by ana" in lines[0] and "value: 0.77 → 0.79" in lines[0]
    assert store.get(a)[0].value == 0.79


def test_dual_conflicts_and_adjudication(cli):
    run, store, (a, b) = cli
    assert run("edit", a, "--reviewer", "ana", "--dual", "--set", "value=0.78", "--reason", "table 2").exit_code == 0
    assert run("accept", b, "--reviewer", "ana", "--dual").exit_code == 0
    assert store.get(a)[0].status == "extracted"  # blinded decision, record untouched
    assert {r["record_id"] for r in _tsv(run("pending", "--reviewer", "bo").stdout)} == {a, b}
    assert _tsv(run("conflicts").stdout) == []
    assert run("accept", a, "--reviewer", "bo", "--dual").exit_code == 0
    assert run("accept", b, "--reviewer", "bo", "--dual").exit_code == 0
    assert store.get(b)[0].status == "accepted"  # agreement applied
    conf = _tsv(run("conflicts", "--source", "PMID:100").stdout)
    assert {(c["record_id"], c["field"], c["value_a"], c["value_b"]) for c in conf} == {
        (a, "status", "edited", "accepted"), (a, "value", "0.78", "0.77")}
    res = run("adjudicate", a, "--adjudicator", "cy", "--decision", "edited", "--set", "value=0.78",
              "--reason", "final analysis table")
    assert res.exit_code == 0, res.stderr
    assert store.get(a)[0].value == 0.78 and _tsv(run("conflicts").stdout) == []
    hist = _tsv(run("history", a).stdout)
    assert "adjudicate" in {h["action"] for h in hist} and "review" in {h["action"] for h in hist}
    res = run("adjudicate", a, "--adjudicator", "dee", "--decision", "rejected", "--reason", "no")
    assert res.exit_code == 2 and "final" in res.stderr
