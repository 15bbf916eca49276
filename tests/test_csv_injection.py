"""Every CSV the product writes neutralises spreadsheet formulas (OWASP) and reads back to the original text.

Issue 12, "Untrusted documents and files": cells that begin with = + - @ tab or CR get a ``'`` prefix,
numbers never do, a bare CR inside a cell is quoted, and ``import`` of the product's own CSV restores
the text.
"""

import csv
import io
import json
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.csv_cells import FORMULA_STARTS, frame_csv, neutralise, restore
from evidence.io import NUMERIC, read_records, write_records
from evidence.store import Store
from tests.conftest import make_record
from tests.test_cli import run

HOSTILE = {"trial": "=HYPERLINK(\"http://127.0.0.1:1/x\",\"click\")", "note": "+1+cmd|' /C calc'!A0",
           "intervention": "@SUM(A1:A9)", "comparator": "-2+3", "evidence_text": "\tx=1",
           "source_title": "\rnew line", "reviewer": "'=already quoted", "source_file": "a\rb.txt"}


def _cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _dangerous(cell: str) -> bool:
    return cell[:1] in FORMULA_STARTS


def _records():
    return [make_record(**HOSTILE, status="accepted"),
            make_record(source_id="PMID:101", trial="SAFE", status="edited", note="ok", reviewer="r")]


@settings(max_examples=300, derandomize=True)
@given(st.text(max_size=12))
def test_neutralise_is_reversible_and_never_leaves_a_formula_start(s):
    c = neutralise(s)
    assert restore(c) == s
    assert not _dangerous(c)


def test_records_csv_prefixes_text_not_numbers_and_round_trips(tmp_path):
    p = tmp_path / "r.csv"
    recs = _records()
    write_records(recs, p)
    rows = _cells(p.read_text(encoding="utf-8"))
    for row in rows:
        for k, v in row.items():
            assert not _dangerous(v) or k in NUMERIC, (k, v)
    assert rows[0]["trial"].startswith("'=") and rows[0]["reviewer"] == "''=already quoted"
    assert b'"a\rb.txt"' in p.read_bytes()  # a bare CR inside a cell is quoted
    assert read_records(p) == recs


def test_frame_csv_keeps_negative_numbers_and_quotes_bare_cr():
    text = frame_csv(pd.DataFrame({"log": [-0.26, 0.1], "label": ["-x", "a\rb"], "mixed": [-1.5, "=1"]}))
    rows = _cells(text)
    assert rows[0]["log"] == "-0.26" and rows[0]["mixed"] == "-1.5"
    assert rows[0]["label"] == "'-x" and rows[1]["mixed"] == "'=1"
    assert '"a\rb"' in text


def test_cli_export_csv_revman_audit_neutralised_and_import_round_trip(tmp_path):
    db = f"sqlite:///{tmp_path / 'e.db'}"
    src = tmp_path / "in.csv"
    write_records(_records(), src)
    assert run("import", str(src), "--db", db).returncode == 0
    out = tmp_path / "out.csv"
    assert run("export", "--db", db, "--out", str(out)).returncode == 0
    rows = _cells(out.read_text(encoding="utf-8"))
    assert all(not _dangerous(v) for r in rows for k, v in r.items() if k not in NUMERIC)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run("import", str(out), "--db", fresh).returncode == 0
    got = {r.record_id: r for r in Store(fresh).records()}
    for rec in _records():
        for k, v in HOSTILE.items() if rec.trial != "SAFE" else ():
            assert getattr(got[rec.record_id], k) == v

    rev = tmp_path / "rev.csv"
    assert run("export", "--db", db, "--format", "revman", "--out", str(rev)).returncode == 0
    rrows = _cells(rev.read_text(encoding="utf-8"))
    hostile = next(r for r in rrows if "HYPERLINK" in r["Study ID"])
    assert hostile["Study ID"].startswith("'=")
    assert hostile["Log [Hazard Ratio]"].startswith("-")  # a number: never prefixed
    assert hostile["Comparison"] == "'@SUM(A1:A9) vs -2+3"

    aud = tmp_path / "audit.csv"
    assert run("export", "--db", db, "--audit", "--out", str(aud)).returncode == 0
    arows = _cells(aud.read_text(encoding="utf-8"))
    assert arows and all(not _dangerous(v) for r in arows for v in r.values())
    from evidence.exports import read_audit
    assert set(read_audit(aud)["reason"].dropna()) >= {HOSTILE["note"]}


def test_extract_csv_neutralised(tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "ingest" / "ctgov_rct.json"
    study = json.loads(fixture.read_text(encoding="utf-8"))
    study["protocolSection"]["identificationModule"]["acronym"] = "=1+2"
    study["protocolSection"]["identificationModule"]["briefTitle"] = "@cmd Pazopanib versus placebo"
    p = tmp_path / "study.json"
    p.write_text(json.dumps(study), encoding="utf-8")
    res = run("extract", str(p), "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = _cells(res.stdout)
    assert rows and all(r["trial"] == "'=1+2" and r["source_title"].startswith("'@") for r in rows)
    assert all(not _dangerous(v) for r in rows for k, v in r.items() if k not in NUMERIC)


def test_dashboard_downloads_neutralised():
    from dashboards.exports import records_csv

    df = pd.DataFrame([r.to_dict() for r in _records()])
    text = records_csv(df).decode("utf-8")
    rows = _cells(text)
    assert rows[0]["trial"].startswith("'=") and rows[0]["comparator"] == "'-2+3"
    assert '"\rnew line"' in text.replace("'", "")  # bare CR quoted
    assert all(not _dangerous(v) for r in rows for k, v in r.items() if k not in NUMERIC)


def test_no_csv_is_written_around_the_shared_function():
    """Every CSV writer of the product goes through evidence.csv_cells (a new one cannot skip it)."""
    import re

    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(")
    allowed = {"evidence/csv_cells.py", "evidence/io.py",  # io writes each cell through csv_cells.neutralise
               "meta/_bundle_codec.py"}  # the bundle's codec neutralises as csv_cells does (test below)
    offenders = [str(p.relative_to(root)) for d in ("evidence", "dashboards", "extraction", "meta")
                 for p in (root / d).rglob("*.py")
                 if str(p.relative_to(root)) not in allowed and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_bundle_files_neutralised_and_read_back_exactly(tmp_path):
    """records.csv and results.csv of a bundle: formula cells prefixed, numbers not; read back unchanged."""
    from meta.bundle import read_bundle_records, write_bundle

    df = pd.DataFrame([r.to_dict() for r in _records()])
    write_bundle(df, tmp_path, by=("histotype", "intervention", "comparator", "endpoint", "measure"))
    for name in ("records.csv", "results.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        rows = _cells(text)
        assert all(not _dangerous(v) for r in rows for k, v in r.items()
                   if k not in NUMERIC and not _is_number(v)), name
    assert "'-2+3" in (tmp_path / "results.csv").read_text(encoding="utf-8")
    back = read_bundle_records(tmp_path)
    pd.testing.assert_frame_equal(back, read_bundle_records(tmp_path))
    assert list(back["comparator"]) == list(df["comparator"]) and list(back["trial"]) == list(df["trial"])


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True
