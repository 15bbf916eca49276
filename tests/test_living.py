"""Living evidence: ``update`` (new sources in, a dated snapshot) and ``changes`` (what changed, question by
question) on the demo store, with two own-words reports in tests/fixtures/living/: a new trial (OLAFIRST,
invented) that joins the olaratumab OS question, and a later OS report of ANNOUNCE, already in it.

Both fixture texts are written for these tests and their numbers are fictional (each says so in its last
line): OLAFIRST (randomised phase 2, doxorubicin ± olaratumab, OS HR 0.84, 0.61–1.16, 2025) takes the
question from k = 2 to 3; the ANNOUNCE "final OS" report (OS HR 1.02, 0.84–1.24, 2023) replaces the trial's
2020 report, as the pooling plan keeps a trial's latest report."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from evidence.changes import k_band
from evidence.cli import app
from evidence.snapshots import latest_snapshot, list_snapshots, load_snapshot, timeline
from evidence.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "living"
NEW_TRIAL = FIXTURES / "olafirst_olaratumab_phase2.txt"
FINAL_OS = FIXTURES / "announce_final_os_update.txt"
def cli(*args: str):
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    assert cli("demo", "--db", f"sqlite:///{path}").exit_code == 0
    return path


@pytest.fixture
def demo(demo_file, tmp_path) -> str:
    """A fresh copy of the demo store for each test."""
    with sqlite3.connect(demo_file) as src, sqlite3.connect(tmp_path / "demo.db") as dst:
        src.backup(dst)  # WAL included (the demo's connections may still be open in this process)
    return f"sqlite:///{tmp_path / 'demo.db'}"


def announce_os(snapshot):
    """The demo's question that pools ANNOUNCE's OS HR among all comers (soft-tissue sarcoma), whatever the
    corpus calls its intervention (an agent, or a class such as ``doxorubicin_plus_agent``) and whatever
    other keys the pooling plan adds."""
    def pools_announce(q) -> bool:
        keys = (q.key.get("histotype"), q.key.get("endpoint"), q.key.get("measure"))
        return keys == ("soft_tissue_sarcoma", "OS", "HR") and any(s.name == "ANNOUNCE" for s in q.studies)

    found = [q for q in snapshot.questions.values() if pools_announce(q)]
    # its own cell (doxorubicin+olaratumab vs doxorubicin) and the comparison class that joins it to the
    # other first-line doxorubicin combinations (doxorubicin_plus_agent): the agents' own question
    from evidence.comparison_classes import comparison_classes

    own = [q for q in found if not comparison_classes().rule_of(q.key.get("intervention"), q.key.get("comparator"))]
    assert len(own) == 1, [q.key.label for q in snapshot.questions.values()]
    return own[0]


def waiting(store: Store, snapshot: int) -> int:
    """Records waiting for review across the questions of one snapshot."""
    return sum(q.waiting for q in load_snapshot(store, snapshot).questions.values())


def record_ids(url: str) -> set[str]:
    store = Store(url)
    ids = {r.record_id for r in store.records()}
    store.close()
    return ids


def curate_into(url: str, key, new: set[str]) -> list[str]:
    """Curate the new HRs as a reviewer would, through the store API: each is accepted, or edited where the
    question names its population or treatment otherwise than the extractor did; a comparison class of the
    key (``doxorubicin_plus_agent``: the plan pools doxorubicin plus olaratumab under it) is no agent to write."""
    from evidence.comparison_classes import comparison_classes

    class_ids = comparison_classes().class_ids
    store = Store(url)
    ids = []
    for rec in store.records(status="extracted"):
        if rec.measure != "HR" or rec.record_id not in new:
            continue
        want = {f: key.get(f) for f in ("intervention", "comparator", "setting", "line")
                if f in dict(key.items) and key.get(f) not in class_ids}
        if "histotype" in dict(key.items):
            want["histotypes"] = key.get("histotype").split("+")
        changes = {f: v for f, v in want.items() if getattr(rec, f) != v and list(getattr(rec, f) or []) != v}
        store.update_record(rec.record_id, changes, reviewer="ana", version=store.get(rec.record_id)[1],
                            status="edited" if changes else "accepted", reason="checked against the report")
        ids.append(rec.record_id)
    store.close()
    return ids


def test_update_then_changes_names_the_new_trial_and_the_later_report(demo):
    """Demo store → snapshot → update with the two reports → curate → changes names OLAFIRST and the
    replaced ANNOUNCE report with the old and new estimates; updating the same files again adds nothing."""
    res = cli("update", "--db", demo)
    assert res.exit_code == 0, res.output
    assert "recorded snapshot #1" in res.output
    store = Store(demo)
    first = announce_os(latest_snapshot(store))
    assert first.k >= 2 and "OLAFIRST" not in {s.name for s in first.studies}
    n_before, ids_before, extracted_before = store.count(), record_ids(demo), store.count(status="extracted")

    res = cli("update", str(NEW_TRIAL), str(FINAL_OS), "--db", demo)
    assert res.exit_code == 0, res.output
    assert "recorded snapshot #2" in res.output and "new records (status extracted) from 2 new documents" in res.output
    new = store.count() - n_before
    assert new > 0 and store.count(status="extracted") == extracted_before + new  # new records wait for review
    second = announce_os(latest_snapshot(store))
    assert (second.k, second.estimate) == (first.k, first.estimate)  # not pooled before curation
    assert waiting(store, 2) == waiting(store, 1) + 2  # the two new HRs wait for review

    res = cli("update", str(NEW_TRIAL), str(FINAL_OS), "--db", demo)  # a rerun on the same inputs
    assert res.exit_code == 0 and "nothing changed: 0 new records" in res.output, res.output
    assert "no snapshot recorded" in res.output and len(list_snapshots(store)) == 2 and store.count() == n_before + new

    assert len(curate_into(demo, first.key, record_ids(demo) - ids_before)) == 2
    res = cli("changes", "--db", demo, "--since", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert report["snapshot"] == 1
    row = next(r for r in report["changes"] if r["keys"] == dict(first.key.items))
    assert row["new_trials"] == ["OLAFIRST"]
    assert len(row["replaced_reports"]) == 1 and row["replaced_reports"][0].startswith("ANNOUNCE: PMID:32259228 (2020)")
    assert "(2023): 1.02 [0.84, 1.24]" in row["replaced_reports"][0]
    k = first.k
    assert (row["k_before"], row["k_after"]) == (k, k + 1)
    crossed = k_band(k) != k_band(k + 1)
    assert row["k_threshold"] == (f"k {k} → {k + 1}: {k_band(k)} → {k_band(k + 1)}" if crossed else "")
    assert row["estimate_before"] == pytest.approx(first.estimate)
    assert row["estimate_after"] != pytest.approx(first.estimate) and row["waiting_for_review"] == 0
    assert row["conclusion_before"] in ("includes 1", "excludes 1")
    flipped = row["conclusion_before"] != row["conclusion_after"]
    assert row["flipped"] == (f"CI now {row['conclusion_after']}" if flipped else "")

    table = cli("changes", "--db", demo, "--since", "1").output  # the table names both, old and new estimate
    assert "OLAFIRST" in table and "ANNOUNCE" in table
    assert f"{first.estimate:.3g}" in table and f"{row['estimate_after']:.3g}" in table

    res = cli("update", "--db", demo, "--note", "after curation")
    assert "recorded snapshot #3" in res.output
    res = cli("update", str(NEW_TRIAL), str(FINAL_OS), "--db", demo)
    assert "nothing changed: 0 new records" in res.output and len(list_snapshots(store)) == 3
    # the timeline of the question: one row per snapshot
    line = timeline(store, second.key.text)
    assert list(line["snapshot"]) == [1, 2, 3] and list(line["k"]) == [k, k, k + 1]
    assert "OLAFIRST" in line["trials"].iloc[-1]
    store.close()


def test_changes_defaults_to_the_last_step_and_writes_csv(demo, tmp_path):
    """Without --since: the latest snapshot, or the one before when the store still equals it."""
    cli("update", "--db", demo)
    before = record_ids(demo)
    cli("update", str(NEW_TRIAL), str(FINAL_OS), "--db", demo)
    res = cli("changes", "--db", demo, "--format", "json")  # store == snapshot #2: compare #1 with now
    report = json.loads(res.output)
    assert report["snapshot"] == 1
    new_hrs = [r for r in report["changes"] if r["keys"].get("intervention") == "doxorubicin+olaratumab"
               and (r["keys"].get("endpoint"), r["keys"].get("measure")) == ("OS", "HR")]
    # the new HRs wait in the cell of doxorubicin plus olaratumab, which pools the phase 2 trial and ANNOUNCE
    assert [(r["kind"], r["k_after"], r["waiting_for_review"]) for r in new_hrs] == [("waiting for review", 2, 2)]
    curate_into(demo, announce_os(latest_snapshot(Store(demo))).key, record_ids(demo) - before)
    out = tmp_path / "changes.csv"
    res = cli("changes", "--db", demo, "--format", "csv", "--out", str(out))
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    changed = frame[frame["kind"] == "changed"].reset_index()
    # the question of doxorubicin plus olaratumab and the comparison class that joins it to the other
    # first-line doxorubicin combinations
    assert len(changed) == 2 and all(json.loads(x) == ["OLAFIRST"] for x in changed["new_trials"])
    assert {json.loads(x)["intervention"] for x in changed["keys"]} == {"doxorubicin+olaratumab",
                                                                        "doxorubicin_plus_agent"}


def test_update_loads_an_extract_output_folder(demo, tmp_path):
    """An ``extract`` output folder goes in through the bulk loader; a rerun adds nothing."""
    folder = tmp_path / "out"
    assert cli("extract", str(NEW_TRIAL), "--format", "parquet", "--out", str(folder)).exit_code == 0
    cli("update", "--db", demo)
    res = cli("update", str(folder), "--db", demo)
    assert res.exit_code == 0 and "recorded snapshot #2" in res.output, res.output
    assert waiting(Store(demo), 2) == waiting(Store(demo), 1) + 1
    res = cli("update", str(folder), "--db", demo)
    assert "nothing changed: 0 new records" in res.output, res.output


@pytest.mark.parametrize("snapshot, args, message", [
    (True, ("changes", "--format", "xml"), "unknown --format 'xml'"),
    (False, ("changes",), "no snapshot yet"),
    (True, ("changes", "--since", "7"), "no snapshot #7 in"),
    (True, ("changes", "--since", "last tuesday"), "give a snapshot id"),
    (True, ("changes", "--since", "2020-01-01"), "no snapshot on or before that date"),
])
def test_changes_refuses_bad_calls_with_one_line(demo, snapshot, args, message):
    if snapshot:
        cli("update", "--db", demo)
    res = cli(*args, "--db", demo)
    assert res.exit_code == 2 and message in res.output, res.output


def test_update_refuses_a_missing_store_and_names_a_missing_input(demo, tmp_path):
    res = cli("update", "--db", f"sqlite:///{tmp_path / 'nowhere.db'}")
    assert res.exit_code == 2 and "no store at" in res.output
    res = cli("update", str(tmp_path / "missing.txt"), "--db", demo)
    assert res.exit_code == 2 and "missing.txt" in res.output
    res = cli("update", str(tmp_path / "missing.txt"), str(NEW_TRIAL), "--db", demo)
    assert res.exit_code == 1 and "recorded snapshot #1" in res.output  # the rest is processed


def test_changes_table_prints_document_names_as_written(demo):
    """A trial name holding rich markup and a newline is printed literally, on one line."""
    from tests.conftest import make_record

    cli("update", "--db", demo)
    store = Store(demo)
    hostile = "[bold red]EVIL[/bold red]\nerror: forged"
    store.import_records([make_record(source_id="PMID:999", trial=hostile, status="accepted", reviewer="ana",
                                      setting="advanced", line="first", year=2026)], reviewer="ana")
    store.close()
    res = cli("changes", "--db", demo, "--since", "1")
    assert res.exit_code == 0, res.output
    assert "red]EVIL[/bold" in res.output  # the markup is shown, not applied
    assert "\\nerror:" in res.output and "\nerror: forged" not in res.output  # the newline escaped
