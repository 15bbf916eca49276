"""``sarcoma-evidence curate …``: pending, accept/edit/reject (single and --dual), conflicts, adjudicate, history."""

import pytest
from typer.testing import CliRunner

from evidence.cli import app
from evidence.reviewers import Reviewers
from evidence.reviewers_cli import PASSWORD_ENV
from tests.conftest import make_record

PW = "a long passphrase"


@pytest.fixture
def cli(store, monkeypatch):
    """Run ``sarcoma-evidence curate …`` in-process against the test store; returns (run, store, ids).

    Accounts ana, bo, cy and dee share one password, given by the environment (no terminal here)."""
    monkeypatch.delenv("SARCOMA_EVIDENCE_DB", raising=False)
    monkeypatch.setenv(PASSWORD_ENV, PW)
    for name in ("ana", "bo", "cy", "dee"):
        Reviewers(store).add(name, PW)
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


def test_writing_needs_a_signed_in_account(cli, monkeypatch):
    """Issue 12: a wrong or missing password, or an unknown account, is one line and exit 2, and nothing
    is written; the audit log carries the account name."""
    run, store, (a, _) = cli
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    res = run("accept", a, "--reviewer", "ana")
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0 and "wrong password" in res.stderr
    monkeypatch.delenv(PASSWORD_ENV)
    res = run("edit", a, "--reviewer", "ana", "--set", "value=0.78", "--reason", "table 2")
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0 and PASSWORD_ENV in res.stderr
    monkeypatch.setenv(PASSWORD_ENV, PW)
    res = run("accept", a, "--reviewer", "mallory")
    assert res.exit_code == 2 and "unknown account" in res.stderr
    res = run("adjudicate", a, "--adjudicator", "mallory", "--decision", "accepted", "--reason", "x")
    assert res.exit_code == 2 and "unknown account" in res.stderr
    assert store.get(a)[0].status == "extracted" and list(store.audit(a)["action"]) == ["insert"]
    assert run("pending", "--reviewer", "anyone").exit_code == 0  # reading needs no account
    assert run("accept", a, "--reviewer", "ana").exit_code == 0
    audit = store.audit(a)
    assert list(audit.loc[audit["action"] == "accept", "reviewer"]) == ["ana"]


def test_adjudicate_without_a_conflict_is_refused(cli):
    """Issue 12: adjudicating a record nobody disagrees on is refused with a clear line, exit 2."""
    run, store, (a, _) = cli
    res = run("adjudicate", a, "--adjudicator", "cy", "--decision", "accepted", "--reason", "fine")
    assert res.exit_code == 2 and res.stderr.strip().count("\n") == 0
    assert "no conflict to adjudicate" in res.stderr and "curate conflicts" in res.stderr
    assert store.get(a)[0].status == "extracted"


def test_at_a_terminal_the_password_is_asked(cli, monkeypatch):
    """With a TTY the password is asked (getpass), not read from the environment."""
    import evidence.reviewers_cli as rc

    run, store, (a, _) = cli
    asked = []
    monkeypatch.setattr(rc, "_stdin_is_tty", lambda: True)
    monkeypatch.setattr(rc.getpass, "getpass", lambda prompt: asked.append(prompt) or "not it")
    res = run("accept", a, "--reviewer", "ana")  # the environment's right password is not used at a terminal
    assert res.exit_code == 2 and "wrong password" in res.stderr and asked == ["password for reviewer ana: "]
    monkeypatch.setattr(rc.getpass, "getpass", lambda prompt: PW)
    assert run("accept", a, "--reviewer", "ana").exit_code == 0 and store.get(a)[0].reviewer == "ana"
