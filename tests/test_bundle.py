"""Reproducibility bundles (meta/bundle.py): the exact inputs, the options, the results, and a script that
recomputes them byte for byte in a fresh process; a changed input is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evidence.corpus import curated_records
from evidence.io import write_records
from evidence.pool_cli import trial_aliases  # the CLI identifies trials through the vocabulary
from evidence.schema import FIELDS
from evidence.vocabulary import VOCAB
from meta import _bundle_codec as codec
from meta import pool_table
from meta.bundle import BUNDLE_FILES, ChecksumError, read_bundle_records, results_csv, write_bundle

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("sarcoma-evidence"))
#: options that exercise every scale (log, logit, months), roll-up and the HKSJ test
OPTIONS = {"by": ["histotype", "endpoint", "measure", "arm"], "method": "DL", "test": "knha", "level": 0.9,
           "rollup": True, "parents": VOCAB.parents}


def _env() -> dict[str, str]:
    """A fresh process that imports this source tree (whatever the state of the editable install)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("SARCOMA_EVIDENCE_DB", None)
    return env


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return pd.DataFrame([r.to_dict() for r in curated_records()], columns=list(FIELDS))


def _recompute(bundle: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "recompute.py", str(out), *extra], cwd=bundle, env=_env(),
                          capture_output=True, text=True, timeout=120)


def test_bundle_writes_four_files_and_a_complete_manifest(records, tmp_path):
    m = write_bundle(records, tmp_path / "b", **OPTIONS)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(BUNDLE_FILES)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["versions"]) == {"sarcoma-evidence", "numpy", "scipy", "pandas", "python"}
    assert manifest["input"]["sha256"] == codec.sha256_hex((tmp_path / "b" / "records.csv").read_bytes())
    assert manifest["results"]["sha256"] == codec.sha256_hex((tmp_path / "b" / "results.csv").read_bytes())
    assert manifest["options"] == {**OPTIONS, "parents": dict(sorted(VOCAB.parents.items())),
                                   "statuses": ["extracted", "accepted", "edited"]}
    assert manifest["input"]["rows"] == len(records) == m.n_records
    assert manifest["created_at"] and m.n_pooled >= 3
    assert {e["record_id"] for e in manifest["results"]["excluded"]} <= set(records["record_id"])
    header = (tmp_path / "b" / "records.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(FIELDS)


def test_same_inputs_give_byte_identical_files_except_the_manifest_time(records, tmp_path):
    write_bundle(records, tmp_path / "a", **OPTIONS)
    write_bundle(records, tmp_path / "b", **OPTIONS)
    for name in ("records.csv", "results.csv", "recompute.py"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    ma, mb = (json.loads((tmp_path / d / "manifest.json").read_text(encoding="utf-8")) for d in "ab")
    ma.pop("created_at"), mb.pop("created_at")
    assert ma == mb


def test_records_csv_reads_back_to_the_same_frame_and_results(records, tmp_path):
    write_bundle(records, tmp_path, **OPTIONS)
    back = read_bundle_records(tmp_path)
    pd.testing.assert_frame_equal(back, records)
    assert results_csv(pool_table(back, **OPTIONS), OPTIONS["by"]) == (tmp_path / "results.csv").read_bytes()


def test_recompute_script_and_pool_cli_give_byte_identical_results(records, tmp_path):
    """pool --out, the bundle's results.csv and recompute.py run twice in fresh processes: one set of bytes."""
    src = tmp_path / "records.jsonl"
    write_records(curated_records(), src)
    bundle = tmp_path / "bundle"
    cli = subprocess.run([EXE, "pool", "--input", str(src), "--by", ",".join(OPTIONS["by"]), "--method", "DL",
                          "--test", "knha", "--level", "0.9", "--rollup", "--out", str(tmp_path / "pool.csv"),
                          "--bundle", str(bundle)], env=_env(), capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    expected = (bundle / "results.csv").read_bytes()
    assert (tmp_path / "pool.csv").read_bytes() == expected
    for i in (1, 2):
        run = _recompute(bundle, tmp_path / f"rerun{i}.csv", "--check")
        assert run.returncode == 0, run.stderr
        assert "identical to the bundle's results.csv" in run.stderr
        assert (tmp_path / f"rerun{i}.csv").read_bytes() == expected
    # and the same bytes as pooling the in-memory frame directly
    assert results_csv(pool_table(records, **OPTIONS, trial_aliases=trial_aliases()), OPTIONS["by"]) == expected
    assert expected.count(b"\n") >= 10


def test_tampered_records_are_refused_with_a_checksum_error(records, tmp_path):
    write_bundle(records, tmp_path, **OPTIONS)
    path = tmp_path / "records.csv"
    path.write_bytes(path.read_bytes().replace(b",0.93,", b",0.39,", 1))
    run = _recompute(tmp_path, tmp_path / "out.csv")
    assert run.returncode == 2
    assert "checksum mismatch" in run.stderr and not (tmp_path / "out.csv").exists()
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        read_bundle_records(tmp_path)


def test_recompute_check_fails_when_results_differ(records, tmp_path):
    write_bundle(records, tmp_path, **OPTIONS)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    manifest["results"]["sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run = _recompute(tmp_path, tmp_path / "out.csv", "--check")
    assert run.returncode == 1 and "DIFFERENT" in run.stderr


def test_invalid_option_writes_nothing(records, tmp_path):
    with pytest.raises(ValueError, match="Invalid method"):
        write_bundle(records, tmp_path / "b", method="XX")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("value", [0.1 + 0.2, 1e-300, -0.0, 123456789.123456789, 5e-324, 2.0**53 + 2])
def test_floats_round_trip_bit_for_bit(value):
    text = codec.encode_cell(value)
    assert codec.decode_cell(text, "float") == value and repr(codec.decode_cell(text, "float")) == repr(value)


def test_awkward_cells_round_trip(tmp_path):
    rows = [{"record_id": "a", "histotypes": ["leiomyosarcoma", "liposarcoma"], "value": 0.1 + 0.2,
             "evidence_text": 'He said "HR 0,77",\r\nthen — ümlaut', "randomized": True, "n": 12, "flags": []},
            {"record_id": "b", "histotypes": [], "value": None, "evidence_text": "", "randomized": None,
             "n": 7, "flags": ["value_outside_ci"]}]
    from meta.bundle import records_csv

    data, kinds = records_csv(rows)
    assert kinds == {"record_id": "str", "histotypes": "list", "value": "float", "evidence_text": "str",
                     "randomized": "bool", "n": "int", "flags": "list"}
    _, back = codec.read_csv(data, kinds)
    assert back[0] == rows[0]
    assert back[1] == {**rows[1], "evidence_text": None}  # an empty cell is null (DESIGN.md)


def test_datetimes_and_nulls_round_trip(tmp_path):
    from datetime import UTC, datetime

    frame = pd.DataFrame([
        {"record_id": "a", "source_id": "PMID:1", "measure": "HR", "value": 0.7, "ci_low": 0.5, "ci_high": 0.9,
         "histotypes": ["leiomyosarcoma"], "updated_at": datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)},
        {"record_id": "b", "source_id": "PMID:2", "measure": "HR", "value": 0.8, "ci_low": 0.6, "ci_high": 1.1,
         "histotypes": ["leiomyosarcoma"], "updated_at": None},
    ])
    m = write_bundle(frame, tmp_path, by=["histotype", "measure"])
    assert m.columns["updated_at"] == "datetime" and m.n_pooled == 1
    pd.testing.assert_frame_equal(read_bundle_records(tmp_path), frame)
