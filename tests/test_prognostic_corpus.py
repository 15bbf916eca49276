"""The bundled prognostic-factor cohorts (issue 18): their records, the questions they pool, and the way round.

Five published cohorts are bundled (Brooks 1998, Wong 2013, Kim 2015, Stahl 2017, Chouliaras 2020). Surgical
margin pools in two questions: overall survival (Kim: positive vs negative margin; Stahl and Chouliaras: R0 vs R1,
k = 3) and local recurrence-free survival (Wong: positive margin; Chouliaras: R0 vs R1, k = 2). A ratio reported
the other way round joins its question inverted; the expected numbers below are computed here from the printed
values with :mod:`meta.effect_sizes` and :func:`meta.pool`, not read from the table under test.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from evidence.corpus import curated_records, manifest
from evidence.io import read_records, write_records
from evidence.pool_cli import PROGNOSTIC_BY, pool_records
from evidence.schema import validate_record
from meta import pool, pool_table
from meta.effect_sizes import log_hr_from_p, log_ratio_from_ci

BY = PROGNOSTIC_BY.split(",")
RECORDS = curated_records()
PROGNOSTIC = [r for r in RECORDS if r.question == "prognostic"]
#: the two questions the bundled cohorts answer with k >= 2: (factor, level, reference, endpoint, measure, adjusted, k)
POOLED = {("margin", "R0", "R1", "OS", "HR", True, 3), ("margin", "R1", "R0", "LRFS", "HR", True, 2)}


def _by_source(sid: str, endpoint: str):
    return next(r for r in PROGNOSTIC if r.source_id == sid and r.endpoint == endpoint and r.factor == "margin")


def test_the_cohorts_are_prognostic_records_with_their_factor_levels_and_model():
    docs = [d for d in manifest() if d.get("question") == "prognostic"]
    assert len(docs) >= 4 and all(d["design"] == "observational" and not d["intervention"] for d in docs)
    files = {f"texts/{d['file']}" for d in docs}
    assert {r.source_file for r in PROGNOSTIC} == files
    for r in PROGNOSTIC:
        assert r.factor and r.factor_level and r.factor_reference and r.factor_level != r.factor_reference
        assert r.intervention is None and r.comparator is None and r.arm == "contrast"
        assert r.adjusted is True and r.covariates  # every bundled estimate is a multivariable one
    # treatment records stay treatment records: the new columns are empty for them
    for r in RECORDS:
        if r.source_file not in files:
            assert r.question == "treatment" and r.factor is None and r.adjusted is None and r.covariates == []


def test_an_hr_and_an_rr_never_share_a_question():
    t = pool_records(pd.DataFrame([r.to_dict() for r in PROGNOSTIC]), by=BY)
    assert {(m, tuple(sorted(set(ids)))) for m, ids in zip(t["measure"], t["record_ids"], strict=True)}
    for _, row in t.iterrows():
        measures = {r.measure for r in PROGNOSTIC if r.record_id in set(row["record_ids"])}
        assert measures == {row["measure"]}


def test_two_prognostic_questions_pool_at_least_two_studies_with_the_numbers_meta_gives():
    t = pool_records(pd.DataFrame([r.to_dict() for r in RECORDS]), by=BY)
    pooled = t[t["k"] >= 2]
    got = {tuple(r[k] for k in (*BY, "k")) for _, r in pooled.iterrows()}
    assert got == POOLED
    # LRFS, k = 2 (common effect): Wong's HR from its CI; Chouliaras' R0-vs-R1 HR from its exact p, turned round
    wong, ussc = _by_source("PMID:23705661", "LRFS"), _by_source("USSC:Chouliaras2020", "LRFS")
    y1, v1 = log_ratio_from_ci([wong.value], [wong.ci_low], [wong.ci_high])
    y2, v2 = log_hr_from_p([ussc.value], [ussc.p_value])
    res = pool(np.r_[y1, -y2], np.r_[v1, v2], method="FE").exp()
    row = pooled[pooled["endpoint"] == "LRFS"].iloc[0]
    assert row["estimate_exp"] == pytest.approx(res.estimate, rel=1e-12)
    assert (row["ci_low_exp"], row["ci_high_exp"]) == pytest.approx((res.ci_low, res.ci_high), rel=1e-12)
    assert row["inverted"] == [ussc.record_id]
    assert row["estimate_exp"] > 1  # a positive margin raises the hazard of local recurrence
    # OS, k = 3: two records report R0 vs R1, so the question is R0 vs R1 and Kim's positive-margin HR turns
    kim, stahl = _by_source("PMID:26123311", "OS"), _by_source("PMID:27335080", "OS")
    ussc_os = _by_source("USSC:Chouliaras2020", "OS")
    yk, vk = log_ratio_from_ci([kim.value], [kim.ci_low], [kim.ci_high])
    ys, vs = log_ratio_from_ci([stahl.value], [stahl.ci_low], [stahl.ci_high])
    yu, vu = log_hr_from_p([ussc_os.value], [ussc_os.p_value])
    row = pooled[pooled["endpoint"] == "OS"].iloc[0]
    assert row["inverted"] == [kim.record_id]
    raw = pool(np.r_[-yk, ys, yu], np.r_[vk, vs, vu], method="REML", test="adhoc")
    res = raw.exp()
    assert row["estimate_exp"] == pytest.approx(res.estimate, rel=1e-9) and row["estimate_exp"] < 1
    assert row["tau2"] == pytest.approx(raw.tau2, abs=1e-9)


def _rec(sid, level, ref, v, lo, hi, endpoint="OS"):
    text = f"HR {v} ({lo}-{hi})"
    return validate_record({"source_id": sid, "trial": sid, "question": "prognostic", "factor": "margin",
                            "factor_level": level, "factor_reference": ref, "endpoint": endpoint, "measure": "HR",
                            "arm": "contrast", "value": v, "ci_low": lo, "ci_high": hi, "adjusted": True,
                            "status": "accepted", "evidence_text": text, "value_start": 3})


def test_the_orientation_most_records_report_wins_and_a_tie_names_the_worse_level_first():
    # two of three report R1 vs R0: the R0-vs-R1 one turns (1/0.5 = 2.0 joins 2.5 and 1.6)
    recs = [_rec("A", "R1", "R0", 2.5, 1.5, 4.2), _rec("B", "R1", "R0", 1.6, 1.1, 2.3),
            _rec("C", "R0", "R1", 0.5, 0.3, 0.83)]
    t = pool_table([r.to_dict() for r in recs], by=BY, studies=True)
    assert len(t) == 1
    assert (t.iloc[0]["factor_level"], t.iloc[0]["factor_reference"], t.iloc[0]["k"]) == ("R1", "R0", 3)
    assert t.iloc[0]["inverted"] == [recs[2].record_id]
    yi = dict(zip(t.iloc[0]["trials"], t.iloc[0]["yi"], strict=True))
    assert yi["trial:c"] == pytest.approx(-math.log(0.5))
    # one each way: the orientation in which the ratios exceed 1 on the whole (R1 vs R0: 1.2 and 1/0.4), whichever
    # level sorts first
    tie = [_rec("A", "R1", "R0", 1.2, 0.8, 1.8), _rec("B", "R0", "R1", 0.4, 0.2, 0.8)]
    t = pool_table([r.to_dict() for r in tie], by=BY)
    assert (t.iloc[0]["factor_level"], t.iloc[0]["factor_reference"]) == ("R1", "R0")
    assert t.iloc[0]["estimate_exp"] > 1 and t.iloc[0]["inverted"] == [tie[1].record_id]
    tie = [_rec("A", "R1", "R0", 0.8, 0.5, 1.3), _rec("B", "R0", "R1", 2.0, 1.2, 3.3)]
    t = pool_table([r.to_dict() for r in tie], by=BY)
    assert (t.iloc[0]["factor_level"], t.iloc[0]["inverted"]) == ("R0", [tie[0].record_id])
    # different endpoints never meet: nothing turns
    apart = [_rec("A", "R1", "R0", 1.2, 0.8, 1.8), _rec("B", "R0", "R1", 0.4, 0.2, 0.8, endpoint="LRFS")]
    t = pool_table([r.to_dict() for r in apart], by=BY)
    assert sorted(zip(t["endpoint"], t["factor_level"], strict=True)) == [("LRFS", "R0"), ("OS", "R1")]
    assert all(v == [] for v in t["inverted"])


def test_bundled_prognostic_records_round_trip_through_import_export_and_pool(tmp_path):
    """``import`` the bundled prognostic records, ``export`` them (the same records back), ``pool --by`` them."""
    src = tmp_path / "prognostic.csv"
    write_records(PROGNOSTIC, src)
    db = f"sqlite:///{tmp_path / 'p.db'}"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "evidence.cli", *args], capture_output=True, text=True,
                              timeout=300)

    assert cli("import", str(src), "--db", db).returncode == 0
    back = tmp_path / "back.jsonl"
    assert cli("export", "--db", db, "--format", "jsonl", "--out", str(back)).returncode == 0
    keep = ("record_id", "question", "factor", "factor_level", "factor_reference", "adjusted", "covariates",
            "endpoint", "measure", "value", "ci_low", "ci_high", "p_value", "n", "evidence_text")
    norm = lambda r: tuple(json.dumps(r.to_dict()[k]) for k in keep)  # noqa: E731 - lists compared as JSON
    assert sorted(map(norm, read_records(back))) == sorted(map(norm, PROGNOSTIC))
    out = tmp_path / "pooled.csv"
    res = cli("pool", "--input", str(back), "--by", PROGNOSTIC_BY, "--out", str(out))
    assert res.returncode == 0, res.stderr
    rows = pd.read_csv(out)
    pooled = rows[rows["k"] >= 2]
    assert {(r["factor"], r["factor_level"], r["factor_reference"], r["endpoint"], int(r["k"]))
            for _, r in pooled.iterrows()} == {(f, lv, rf, e, k) for f, lv, rf, e, _, _, k in POOLED}
