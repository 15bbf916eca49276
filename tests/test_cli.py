"""The command line: import all-or-nothing with exit 2 on a malformed row, export, demo."""

import json
import os
import subprocess
import sys
from pathlib import Path

from evidence.io import write_records
from evidence.store import Store
from tests.conftest import make_record

EXE = str(Path(sys.executable).with_name("sarcoma-evidence"))


def run(*args, cwd=None):
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SARCOMA_EVIDENCE_DB", None)
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_import_malformed_row_exits_2_and_stores_nothing(tmp_path):
    good = tmp_path / "good.csv"
    write_records([make_record(), make_record(source_id="PMID:2")], good)
    lines = good.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], lines[1], lines[2].replace(",0.77,", ",zero.77,")]) + "\n",
                   encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'e.db'}"
    res = run("import", str(bad), "--db", db)
    assert res.returncode == 2
    err_lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err_lines) == 1 and "row 3" in err_lines[0] and "value='zero.77'" in err_lines[0]
    assert Store(db).count() == 0


def test_import_then_export_round_trip(tmp_path):
    src = tmp_path / "in.jsonl"
    recs = [make_record(status="accepted", reviewer="ana", note="ok")]
    write_records(recs, src)
    db = f"sqlite:///{tmp_path / 'e.db'}"
    assert run("import", str(src), "--db", db).returncode == 0
    res = run("export", "--db", db, "--format", "jsonl")
    assert res.returncode == 0
    got = [json.loads(ln) for ln in res.stdout.splitlines()]
    assert got[0]["record_id"] == recs[0].record_id and got[0]["note"] == "ok"


def test_export_bad_format_exits_2(tmp_path):
    res = run("export", "--db", f"sqlite:///{tmp_path / 'e.db'}", "--format", "xlsx")
    assert res.returncode == 2 and "unknown format 'xlsx'" in res.stderr


def test_demo_builds_fresh_store(tmp_path):
    res = run("demo", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "curated records" in res.stdout and "PALETTE" in res.stdout
    # issue 18: the prognostic questions are printed apart, each pooled one with its k and estimate
    head, _, prognostic = res.stdout.partition("Pooled prognostic-factor questions")
    assert prognostic and "margin" not in head.split("Pooled estimates")[-1]
    rows = [ln for ln in prognostic.splitlines() if ln.startswith("│ margin")]
    assert len(rows) >= 2 and any(" LRFS " in r and " 2 " in r for r in rows) and any(" OS " in r for r in rows)
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    n = store.count(status="accepted")
    assert n >= 70
    assert run("demo", cwd=tmp_path).returncode == 0  # afresh, not doubled
    assert Store(f"sqlite:///{tmp_path / 'demo.db'}").count(status="accepted") == n


def test_extract_uses_structured_ctgov_records_and_names_failed_files(tmp_path):
    """CT.gov results become records without NLP; a bad file is named and the exit code is 1."""
    fixture = Path(__file__).parent / "fixtures" / "ingest"
    res = run("extract", str(fixture / "ctgov_rct.json"), str(fixture / "empty.txt"))
    assert res.returncode == 1
    recs = [json.loads(ln) for ln in res.stdout.splitlines()]
    assert recs and all(r["extractor"].startswith("ctgov") for r in recs)
    assert "empty.txt: empty file" in res.stderr
    res = run("extract", str(fixture / "empty.txt"))
    assert res.returncode == 2


def test_demo_never_destroys_the_working_store_or_curation(tmp_path):
    """demo refuses the working store, and keeps a demo file that holds someone's curation aside."""
    env_db = f"sqlite:///{tmp_path / 'work.db'}"
    store = Store(env_db)
    store.add_records([make_record()])
    store.close()
    env = {**os.environ, "SARCOMA_EVIDENCE_DB": env_db}
    res = subprocess.run([EXE, "demo", "--db", env_db], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=300)
    assert res.returncode == 2 and "refusing to rebuild the working store" in res.stderr
    assert Store(env_db).count() == 1
    assert run("demo", cwd=tmp_path).returncode == 0
    demo = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    rid = demo.records()[0].record_id
    demo.update_record(rid, {}, reviewer="ana", version=demo.get(rid)[1], status="rejected", reason="check")
    demo.close()
    res = run("demo", cwd=tmp_path)
    assert res.returncode == 0 and "kept it as" in res.stderr
    kept = list(tmp_path.glob("demo.db.*.bak"))
    assert len(kept) == 1 and Store(f"sqlite:///{kept[0]}").get(rid)[0].status == "rejected"


def test_unwritable_out_and_missing_store_are_one_line_exit_2(tmp_path):
    """A --out in a missing folder, or a store file that does not exist, is an unusable call: exit 2,
    one line, no traceback, and no empty store created."""
    db = f"sqlite:///{tmp_path / 'e.db'}"
    Store(db).close()
    for args in (("export", "--db", db, "--out", str(tmp_path / "nope" / "x.csv")),
                 ("export", "--db", db, "--format", "revman", "--out", str(tmp_path / "nope" / "x.csv")),
                 ("pool", "--db", db, "--out", str(tmp_path / "nope" / "x.csv"))):
        res = run(*args)
        assert res.returncode == 2 and "does not exist" in res.stderr and "Traceback" not in res.stderr, args
    res = run("export", "--db", f"sqlite:///{tmp_path / 'missing.db'}")
    assert res.returncode == 2 and "no store at" in res.stderr
    assert not (tmp_path / "missing.db").exists()
