"""The "Prognostic factors" page (issue 18): map of factor × outcome, a pooled question's forest, its sources.

Three invented cohort studies report the hazard of metastasis for high against low grade (two adjusted, one
crude) and one reports per-level rates; the page must pool only the two adjusted ones, with the numbers
:func:`meta.pool` gives on the same estimates, and keep the crude one in its own question.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import prognostic_view
from evidence.schema import validate_record
from evidence.store import Store
from meta import pool
from meta.effect_sizes import log_ratio_from_ci

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
#: (study, value, ci_low, ci_high, adjusted)
HRS = [("Cohort A", 2.6, 1.7, 4.0, True), ("Cohort B", 3.4, 2.0, 5.8, True), ("Cohort C", 1.9, 1.2, 3.0, False)]


def prognostic_records() -> list:
    out = []
    for i, (name, v, lo, hi, adj) in enumerate(HRS):
        text = f"High grade predicted metastasis-free survival (HR {v}, 95% CI {lo}-{hi})."
        out.append(validate_record({
            "source_id": f"PMID:7700{i}", "trial": name, "year": 2010 + i, "question": "prognostic",
            "design": "observational", "factor": "grade", "factor_level": "high grade", "factor_reference": "low grade",
            "endpoint": "MFS", "measure": "HR", "arm": "contrast", "value": v, "ci_low": lo, "ci_high": hi,
            "adjusted": adj, "evidence_text": text, "char_start": 0, "char_end": len(text),
            "value_start": text.index(str(v)), "value_end": text.index(str(v)) + len(str(v)), "status": "accepted",
            "histotypes": ["soft_tissue_sarcoma"]}))
    for level, ref, v in (("> 5 cm", "≤ 5 cm", 0.58), ("≤ 5 cm", "> 5 cm", 0.81)):
        out.append(validate_record({
            "source_id": "PMID:77009", "trial": "Cohort D", "question": "prognostic", "factor": "size",
            "factor_level": level, "factor_reference": ref, "endpoint": "MFS", "measure": "rate", "arm": "single",
            "value": v, "timepoint_months": 60, "status": "accepted", "value_start": int(v * 100)}))
    return out


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('prog') / 'p.db'}"
    store = Store(url)
    store.import_records(prognostic_records(), reviewer="test")
    store.close()
    return url


def test_questions_keep_adjusted_and_crude_apart():
    import pandas as pd

    df = pd.DataFrame([r.to_dict() for r in prognostic_records()])
    qs = prognostic_view.questions(df)
    assert [(q.adjusted, len(prognostic_view.question_records(df, q))) for q in qs.values()] == [(True, 2),
                                                                                                 (False, 1)]
    assert prognostic_view.factor_map(df).loc["histological grade", "MFS"] == 3


def test_page_pools_the_adjusted_question_as_meta_does(db_url, monkeypatch):
    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", db_url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("screens/prognostic.py").run()
    assert not at.exception
    adj = [h for h in HRS if h[4]]
    yi, vi = log_ratio_from_ci([h[1] for h in adj], [h[2] for h in adj], [h[3] for h in adj])
    res = pool(yi, vi, method="REML").exp()
    shown = " ".join(t.value for t in at.text)
    assert f"Pooled HR {res.estimate:.2f} ({res.ci_low:.2f}–{res.ci_high:.2f}), k = 2" in shown
    assert "Cohort A 2010 — High grade predicted" in shown
    at.selectbox(key="prognostic_question").select_index(1).run()
    assert "k = 1: at least 2 studies are needed to pool" in " ".join(w.value for w in at.warning)


def test_pool_table_keeps_prognostic_and_treatment_questions_apart():
    """``pool_table`` pools prognostic records only by factor keys, and never beside treatment records."""
    import pandas as pd

    from meta import pool_table
    from tests.test_grade_sof import trial_records

    df = pd.DataFrame([r.to_dict() for r in [*prognostic_records(), *trial_records()]])
    keys = ["factor", "factor_level", "factor_reference", "endpoint", "measure", "adjusted"]
    prog = pool_table(df, by=keys)
    pooled = prog[prog["k"] >= 2]
    assert len(pooled) == 1 and pooled.iloc[0]["factor_level"] == "high grade" and pooled.iloc[0]["k"] == 2
    adj = [h for h in HRS if h[4]]
    yi, vi = log_ratio_from_ci([h[1] for h in adj], [h[2] for h in adj], [h[3] for h in adj])
    assert abs(pooled.iloc[0]["estimate"] - pool(yi, vi, method="FE").estimate) < 1e-12  # k = 2: common effect
    treat = pool_table(df)
    assert set(treat["intervention"]) == {"drugamab"}


def test_cli_import_export_round_trip_and_pool_of_prognostic_records(tmp_path):
    """Issue 18: prognostic records through ``import``, ``export`` (same records back) and ``pool --by factor…``."""
    import json
    import subprocess
    import sys

    from evidence.io import read_records, write_records
    from evidence.pool_cli import PROGNOSTIC_BY

    src = tmp_path / "prog.csv"
    write_records(prognostic_records(), src)
    db = f"sqlite:///{tmp_path / 'p.db'}"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "evidence.cli", *args], capture_output=True, text=True,
                              timeout=300)

    assert cli("import", str(src), "--db", db).returncode == 0
    back = tmp_path / "back.jsonl"
    assert cli("export", "--db", db, "--format", "jsonl", "--out", str(back)).returncode == 0
    keep = ("question", "factor", "factor_level", "factor_reference", "adjusted", "endpoint", "measure", "value")
    got = sorted(tuple(r.to_dict()[k] for k in keep) for r in read_records(back))
    assert got == sorted(tuple(r.to_dict()[k] for k in keep) for r in prognostic_records())
    res = cli("pool", "--db", db, "--by", PROGNOSTIC_BY, "--out", str(tmp_path / "pooled.json"), "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads((tmp_path / "pooled.json").read_text())
    rows = rows if isinstance(rows, list) else rows.get("cells", rows)
    pooled = [r for r in rows if r["k"] >= 2]
    assert [(r["factor"], r["factor_level"], r["adjusted"], r["k"]) for r in pooled] == [
        ("grade", "high grade", True, 2)]


@pytest.fixture(scope="module")
def corpus_url(tmp_path_factory) -> str:
    """The bundled curated table (treatment trials and the prognostic cohorts) in a fresh store."""
    from evidence.corpus import corpus_documents, curated_records

    url = f"sqlite:///{tmp_path_factory.mktemp('progcorpus') / 'c.db'}"
    store = Store(url)
    store.add_sources(corpus_documents())
    store.import_records(curated_records(), reviewer="demo-curator")
    store.close()
    return url


def test_page_pools_at_least_two_prognostic_questions_of_the_bundled_corpus(corpus_url, monkeypatch):
    """Issue 18: on the bundled corpus the page offers at least two questions that pool k >= 2 studies, with the
    numbers :func:`meta.pool` (REML, the page's model) gives on the printed values, a reversed one inverted."""
    import re

    from evidence.corpus import curated_records
    from meta.effect_sizes import log_hr_from_p

    monkeypatch.setenv("SARCOMA_EVIDENCE_DB", corpus_url)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("screens/prognostic.py").run()
    assert not at.exception
    box = at.selectbox(key="prognostic_question")
    pooled = {}
    for i, label in enumerate(box.options):
        at.selectbox(key="prognostic_question").select_index(i).run()
        assert not at.exception
        shown = " ".join(t.value for t in at.text)
        m = re.search(r"Pooled (HR|RR|OR) ([\d.]+) \(([\d.]+)–([\d.]+)\), k = (\d+)", shown)
        if m and int(m.group(5)) >= 2:
            pooled[label] = (m.group(2, 3, 4), int(m.group(5)), shown)
    assert len(pooled) >= 2, list(box.options)
    lrfs = next(v for k, v in pooled.items() if k.startswith("surgical margin: R1 vs R0 · LRFS HR · adjusted"))
    recs = {r.source_id: r for r in curated_records() if r.endpoint == "LRFS" and r.factor == "margin"}
    wong, ussc = recs["PMID:23705661"], recs["USSC:Chouliaras2020"]
    y1, v1 = log_ratio_from_ci([wong.value], [wong.ci_low], [wong.ci_high])
    y2, v2 = log_hr_from_p([ussc.value], [ussc.p_value])
    res = pool([y1[0], -y2[0]], [v1[0], v2[0]], method="REML").exp()
    assert lrfs[:2] == ((f"{res.estimate:.2f}", f"{res.ci_low:.2f}", f"{res.ci_high:.2f}"), 2)
    assert "(reported as R0 vs R1, HR 0.56; shown inverted)" in lrfs[2]
    assert any(k.startswith("surgical margin: R0 vs R1 · OS HR · adjusted") and v[1] == 3 for k, v in pooled.items())
