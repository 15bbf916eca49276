"""`sarcoma-evidence pool --bayes` as a user runs it (a subprocess): the Bayesian half-normal(0.5) pool
beside the few-study default for cells of k = 2–4 on the log-ratio scale, equal to meta.bayes_pool of
the cell's contributions; single-study and larger cells left blank; the table and --out both carry it."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evidence.io import read_records, write_records
from meta import bayes_pool, pool_table
from meta.bayes_cells import bayes_cells
from tests.conftest import make_record

EXE = str(Path(sys.executable).with_name("sarcoma-evidence"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "240"}
    env.pop("SARCOMA_EVIDENCE_DB", None)
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def three_cells(tmp_path: Path) -> Path:
    """Three trials of one HR cell (advanced), one trial of another (adjuvant), all reviewed."""
    rows = [(0.77, 0.62, 0.95, "advanced"), (0.90, 0.70, 1.15, "advanced"), (0.60, 0.45, 0.80, "advanced"),
            (0.95, 0.75, 1.20, "adjuvant")]
    recs = [make_record(source_id=f"PMID:{i}", value=v, ci_low=lo, ci_high=hi, status="accepted", p_value=None,
                        p_relation=None, setting=setting) for i, (v, lo, hi, setting) in enumerate(rows, 1)]
    path = tmp_path / "recs.jsonl"
    write_records(recs, path)
    return path


def test_pool_bayes_prints_and_writes_the_bayesian_pool_of_each_few_study_cell(three_cells: Path, tmp_path: Path):
    out = tmp_path / "cells.json"
    res = run("pool", "--input", str(three_cells), "--bayes", "--out", str(out))
    assert res.returncode == 0, res.stderr
    cells = {c["setting"]: c for c in json.loads(out.read_text())}
    adv, adj = cells["advanced"], cells["adjuvant"]
    assert adv["k"] == 3 and adj["k"] == 1
    frame = [r.to_dict() for r in read_records(three_cells)]
    ref = pool_table(frame, studies=True)
    ref = ref[ref["setting"] == "advanced"].iloc[0]
    r = bayes_pool(np.asarray(ref["yi"]), np.asarray(ref["vi"]))
    assert adv["bayes_estimate"] == pytest.approx(r.estimate, abs=1e-12)
    assert (adv["bayes_ci_low_exp"], adv["bayes_ci_high_exp"]) == pytest.approx((math.exp(r.ci_low),
                                                                                 math.exp(r.ci_high)), abs=1e-12)
    assert "half-normal(0.5)" in adv["bayes_model"] and "k = 3" in adv["bayes_model"]
    assert adj["bayes_estimate"] is None and adj["bayes_model"] == ""  # k = 1: nothing to pool
    assert "yi" not in adv and "study_record_ids" not in adv  # the contributions stay internal
    # the frequentist default is unchanged beside it
    plain = run("pool", "--input", str(three_cells), "--out", str(tmp_path / "plain.json"))
    assert plain.returncode == 0, plain.stderr
    base = {c["setting"]: c for c in json.loads((tmp_path / "plain.json").read_text())}["advanced"]
    assert base["estimate"] == adv["estimate"] and "bayes_estimate" not in base

    shown = run("pool", "--input", str(three_cells), "--bayes")
    assert shown.returncode == 0, shown.stderr
    assert "Bayesian random effects beside the few-study default" in shown.stdout
    line = next(ln for ln in shown.stdout.splitlines()[::-1] if "advanced" in ln)
    assert f"{math.exp(r.estimate):.2f} [{math.exp(r.ci_low):.2f}, {math.exp(r.ci_high):.2f}]" in line


def test_bayes_cells_leaves_other_scales_and_large_cells_blank_with_the_reason() -> None:
    import pandas as pd

    t = pd.DataFrame({"k": [3, 6, 3], "scale": ["log", "log", "logit"], "level": [0.95] * 3,
                      "yi": [[-0.3, -0.1, -0.2], [-0.1] * 6, [0.1, 0.2, 0.3]],
                      "vi": [[0.02] * 3, [0.02] * 6, [0.05] * 3]})
    out = bayes_cells(t)
    assert math.isfinite(out.loc[0, "bayes_estimate"])
    assert math.isnan(out.loc[1, "bayes_estimate"]) and out.loc[1, "bayes_model"] == ""  # k > 4: the default stays
    assert math.isnan(out.loc[2, "bayes_estimate"]) and "calibrated for log ratios" in out.loc[2, "bayes_model"]
    with pytest.raises(ValueError, match="studies=True"):
        bayes_cells(t.drop(columns=["yi"]))
