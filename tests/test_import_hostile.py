"""``import`` of hostile files: one clear line naming the row and the field, exit 2, nothing stored.

Issue 12: duplicate record_ids, integers beyond 64 bits, cells over the csv module's default field
limit (the product's own exports re-import), lone surrogates, non-list histotypes; ``"value": true``
and ``"1_0"`` are rejected, not coerced.
"""

import json

import pytest

from evidence.io import read_records, write_records
from evidence.store import Store
from tests.conftest import make_record
from tests.test_cli import run

BASE = {"source_id": "PMID:1", "endpoint": "OS", "measure": "HR", "arm": "contrast", "value": 0.77,
        "ci_low": 0.62, "ci_high": 0.95}


def _jsonl(tmp_path, *rows, raw: str = ""):
    p = tmp_path / "in.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + ("\n" + raw if raw else "") + "\n", encoding="utf-8")
    return p


def _import_fails(tmp_path, path, *words):
    db = f"sqlite:///{tmp_path / 'e.db'}"
    res = run("import", str(path), "--db", db)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (tmp_path / "e.db").exists() or Store(db).count() == 0
    return lines[0]


@pytest.mark.parametrize("field, value, words", [
    ("value", True, ["line 2", "value", "true/false"]),
    ("value", "1_0", ["line 2", "value", "1_0"]),
    ("n", "1_0", ["line 2", "n="]),
    ("year", 10**20, ["line 2", "year", "integer range"]),
    ("n", 2**64 + 1, ["line 2", "n=", "integer range"]),
    ("value", 10**400, ["line 2", "value", "floating-point"]),
    ("histotypes", "leiomyosarcoma", ["line 2", "histotypes", "list"]),
    ("histotypes", {"a": 1}, ["line 2", "histotypes"]),
], ids=["bool", "underscore-float", "underscore-int", "year-20-digits", "n-65-bits", "int-beyond-float",
        "histotypes-str", "histotypes-dict"])
def test_bad_value_is_one_line_naming_row_and_field(tmp_path, field, value, words):
    p = _jsonl(tmp_path, {**BASE, "source_id": "PMID:0"}, {**BASE, field: value})
    _import_fails(tmp_path, p, str(p), *words)


def test_lone_surrogate_is_refused(tmp_path):
    p = _jsonl(tmp_path, BASE, raw='{"source_id": "PMID:2", "endpoint": "OS", "measure": "HR", '
                                    '"arm": "contrast", "value": 0.5, "note": "bad \\ud800 text"}')
    _import_fails(tmp_path, p, "line 2", "note", "surrogate")


def test_duplicate_record_id_is_refused(tmp_path):
    r = make_record()
    p = tmp_path / "dup.csv"
    write_records([r, r.model_copy(update={"note": "second"})], p)
    _import_fails(tmp_path, p, "row 3", "record_id", r.record_id, "row 2")


def test_csv_numbers_are_strict(tmp_path):
    p = tmp_path / "r.csv"
    write_records([make_record()], p)
    text = p.read_text(encoding="utf-8").replace(",0.77,", ",0_77,", 1)
    p.write_text(text, encoding="utf-8")
    _import_fails(tmp_path, p, "row 2", "value")


def test_own_export_with_a_long_cell_reimports(tmp_path):
    """A cell over the csv module's default limit (128 KiB) written by the product reads back."""
    long = "word " * 60_000  # 300 kB of evidence text
    r = make_record(evidence_text=long, char_end=len(long))
    p = tmp_path / "long.csv"
    write_records([r], p)
    assert read_records(p) == [r]
    db = f"sqlite:///{tmp_path / 'e.db'}"
    assert run("import", str(p), "--db", db).returncode == 0
    assert Store(db).records()[0].evidence_text == long
