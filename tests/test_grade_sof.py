"""Risk of bias, GRADE certainty and the summary-of-findings table (issue 15), on invented trials.

Three invented trials of "drugamab" against placebo report OS hazard ratios and the placebo arms' 1-year OS;
a signed-in reviewer judges risk of bias; ``sarcoma-evidence sof`` writes the table as DOCX and CSV.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import pytest
from sqlalchemy.exc import DBAPIError

from evidence.grading import ROB_DOMAINS, JudgementError, Judgements, overall_rob
from evidence.schema import validate_record
from evidence.sof import absolute_risk, fmt_effect
from evidence.store import Store
from meta import pool
from meta.certainty import QuestionEvidence, StudyBias, apply_overrides, optimal_information_size, propose_certainty
from meta.effect_sizes import log_ratio_from_ci

TRIALS = [("ALPHA", 0.70, 0.55, 0.89, 300, 0.52), ("BETA", 0.78, 0.60, 1.01, 250, 0.58),
          ("GAMMA", 0.65, 0.47, 0.90, 180, 0.50)]  # name, HR, CI, n, placebo 1-year OS


def trial_records():
    out = []
    for i, (name, hr, lo, hi, n, base) in enumerate(TRIALS):
        common = {"source_id": f"PMID:5500{i}", "trial": name, "year": 2015 + i, "randomized": True, "design": "rct",
                  "histotypes": ["leiomyosarcoma"], "intervention": "drugamab", "comparator": "placebo",
                  "setting": "advanced", "line": "second_plus", "status": "accepted", "endpoint": "OS"}
        out.append(validate_record({**common, "arm": "contrast", "measure": "HR", "value": hr, "ci_low": lo,
                                    "ci_high": hi, "n": n, "value_start": 10}))
        out.append(validate_record({**common, "arm": "comparator", "measure": "rate", "value": base,
                                    "timepoint_months": 12, "n": n // 2, "value_start": 20}))
    return out


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'g.db'}")
    s.import_records(trial_records(), reviewer="test")
    yield s
    s.close()


def test_rob2_overall_algorithm():
    low = dict.fromkeys(ROB_DOMAINS, "low")
    assert overall_rob(low) == "low"
    assert overall_rob({**low, "deviations": "high"}) == "high"
    assert overall_rob({**low, "selection": "some concerns"}) == "some concerns"
    assert overall_rob({**low, "randomisation": "some concerns", "deviations": "some concerns",
                        "measurement": "some concerns"}) == "high"  # several domains with concerns
    assert overall_rob({"randomisation": "low"}) is None  # not every domain judged


def test_judgements_are_audited_append_only_and_need_a_reason(store):
    j = Judgements(store)
    j.set_rob("ALPHA", "OS", "missing_data", "low", "2% lost to follow-up", reviewer="ana")
    j.set_rob("ALPHA", "OS", "missing_data", "some concerns", "OS censoring unexplained", reviewer="bo")
    assert j.rob("ALPHA", "OS")["missing_data"].judgement == "some concerns"
    audit = store.audit()
    last = audit.iloc[-1]
    assert (last["action"], last["field"], last["old"], last["new"], last["reviewer"]) == (
        "rob", "missing_data", "low", "some concerns", "bo")
    with pytest.raises(JudgementError, match="needs a reason"):
        j.set_rob("ALPHA", "OS", "selection", "low", " ", reviewer="ana")
    with pytest.raises(JudgementError, match="must be one of low, some concerns, high"):
        j.set_rob("ALPHA", "OS", "selection", "unclear", "x", reviewer="ana")
    with pytest.raises(DBAPIError), store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM rob_judgements")


def test_certainty_domains_from_the_numbers():
    base = {"k": 3, "measure": "HR", "estimate": 0.62, "ci_low": 0.55, "ci_high": 0.70, "i2": 0.0, "n_total": 2000}
    assert propose_certainty(QuestionEvidence(**base)).level == "high"
    # a CI from appreciable benefit to appreciable harm: imprecision very serious
    wide = propose_certainty(QuestionEvidence(**{**base, "ci_low": 0.40, "ci_high": 1.40}))
    assert wide.domain("imprecision").judgement == "very serious" and wide.level == "low"
    # I² 80% with a PI beyond both thresholds
    het = propose_certainty(QuestionEvidence(**{**base, "i2": 80.0, "pi_low": 0.3, "pi_high": 1.6}))
    assert het.domain("inconsistency").judgement == "very serious"
    # two thirds of the weight at high risk of bias
    rob = propose_certainty(QuestionEvidence(**base, studies=(StudyBias(66, "high"), StudyBias(34, "low"))))
    assert rob.domain("risk_of_bias").judgement == "very serious"
    # information size: a precise-looking CI from too few patients
    few = propose_certainty(QuestionEvidence(**{**base, "n_total": 200}))
    assert few.domain("imprecision").judgement == "serious" and str(optimal_information_size()) in \
        few.domain("imprecision").reason
    # k >= 10 with funnel asymmetry; observational evidence starts low
    assert propose_certainty(QuestionEvidence(**{**base, "k": 12, "egger_p": 0.03})).domain(
        "publication_bias").judgement == "serious"
    assert propose_certainty(QuestionEvidence(**base, randomized=False)).level == "low"
    over = apply_overrides(wide, {"imprecision": ("serious", "threshold 0.8 agreed by the panel")})
    assert over.level == "moderate" and "reviewer; proposed: very serious" in over.domain("imprecision").reason


def test_absolute_effects():
    assert math.isclose(absolute_risk(0.48, 0.70, "HR"), 1 - 0.52 ** 0.70)
    assert fmt_effect(0.704, 0.559, 0.886) == "0.70 (0.56–0.89)"


def run(*args):
    return subprocess.run([sys.executable, "-m", "evidence.cli", *args], capture_output=True, text=True, timeout=300)


def test_sof_docx_and_csv_rows_and_a_rob_judgement_in_the_certainty(store, tmp_path):
    j = Judgements(store)
    for d in ROB_DOMAINS:  # ALPHA, the heaviest trial, judged high risk (open label, subjective outcome)
        j.set_rob("ALPHA", "OS", d, "high" if d == "deviations" else "low", "open label, crossover allowed",
                  reviewer="ana")
    url = store.url
    res = run("sof", "--db", url, "--out", str(tmp_path / "sof.docx"))
    assert res.returncode == 0, res.stderr
    from docx import Document

    doc = Document(str(tmp_path / "sof.docx"))
    rows = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    assert rows[0][1] == "Outcome" and len(rows) == 2
    yi, vi = log_ratio_from_ci([t[1] for t in TRIALS], [t[2] for t in TRIALS], [t[3] for t in TRIALS])
    r = pool(yi, vi, method="REML", test="adhoc").exp()  # the few-study default at k = 3 (REML + HKSJ ad hoc)
    row = rows[1]
    assert row[0] == "leiomyosarcoma (advanced, second line or later): drugamab vs placebo" and row[1] == "OS"
    assert row[2] == f"{sum(t[4] for t in TRIALS)} (3 studies)"
    assert row[3] == f"HR {fmt_effect(r.estimate, r.ci_low, r.ci_high)}"
    base = sorted(t[5] for t in TRIALS)[1]  # the placebo arms' median 1-year OS
    assert row[4].startswith(f"{round(1000 * (1 - base))} per 1,000 with the comparator at 12 months")
    notes = " ".join(p.text for p in doc.paragraphs)
    assert "Risk of bias: " in notes and "at high risk" in notes
    assert run("sof", "--db", url, "--out", str(tmp_path / "sof.csv")).returncode == 0
    with open(tmp_path / "sof.csv", encoding="utf-8", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert [(g["outcome"], g["k"], g["certainty"]) for g in got] == [("OS", "3", row[5].split(" [")[0])]


def test_sof_refuses_an_unknown_suffix(store, tmp_path):
    res = run("sof", "--db", store.url, "--out", str(tmp_path / "sof.pdf"))
    assert res.returncode == 2 and "write a .docx or a .csv file" in res.stderr
