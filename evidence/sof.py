"""GRADE summary-of-findings tables (GRADEpro style) from the pooled questions of a store.

One row per pooled question: the outcome, k and participants, the relative effect with its CI ("0.71 (0.32–1.59)"),
the anticipated absolute effect where a baseline risk is known, and the certainty with its footnotes.

* **Baseline risk** — the comparator arms' landmark rates of the same trials and endpoint (median across trials,
  at their most common timepoint), e.g. a 1-year OS of 0.60 with the control.
* **Absolute effect** — per 1,000 patients at that time: for a hazard ratio, survival S₁ = S₀^HR (proportional
  hazards; GRADE Handbook §5.1 / Skoetz et al., J Clin Epidemiol 2020 on time-to-event outcomes), so events
  1000·(1 − S₀^HR) against 1000·(1 − S₀); for a risk ratio p₁ = RR·p₀; for an odds ratio
  p₁ = OR·p₀ / (1 − p₀ + OR·p₀). The CI of the absolute effect comes from the CI of the relative effect.
* **Certainty** — :func:`meta.certainty.propose_certainty` on the pooled numbers and the studies' RoB 2 overall
  judgements (:mod:`evidence.grading`), with the reviewers' overrides applied.

``write_csv`` and ``write_docx`` (python-docx) write the table; the DOCX has one table with a header row and
footnotes under it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evidence.csv_cells import write_rows
from evidence.grading import Judgements
from evidence.questions import QUESTION_BY, Question, certainty_overrides
from meta.certainty import CertaintyProposal, QuestionEvidence, StudyBias, apply_overrides, propose_certainty

COLUMNS = ("population", "setting", "intervention", "comparator", "outcome", "k", "participants", "relative_effect",
           "baseline", "absolute_effect", "certainty", "footnotes", "question")


@dataclass(frozen=True)
class SofRow:
    """One outcome row of a summary-of-findings table."""

    question: str
    population: str
    intervention: str
    comparator: str
    outcome: str
    k: int
    participants: int | None
    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    baseline: float | None = None
    baseline_months: float | None = None
    certainty: CertaintyProposal | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    setting: str = ""  # setting and line as a reader says them (Question.context), "" when not stated

    @property
    def population_label(self) -> str:
        """The population with its setting and line: "leiomyosarcoma (advanced, second line or later)"."""
        return f"{self.population} ({self.setting})" if self.setting else self.population

    @property
    def relative_effect(self) -> str:
        return f"{self.measure} {fmt_effect(self.estimate, self.ci_low, self.ci_high)}"

    @property
    def absolute_effect(self) -> str:
        if self.baseline is None or self.measure not in ("HR", "RR", "OR"):
            return "baseline risk not known"
        p0 = self.baseline_risk
        lo, mid, hi = (absolute_risk(p0, x, self.measure) for x in (self.ci_low, self.estimate, self.ci_high))
        per = round(1000 * p0)
        when = f" at {self.baseline_months:g} months" if self.baseline_months else ""
        d, dlo, dhi = (round(1000 * (x - p0)) for x in (mid, lo, hi))
        word = "fewer" if d < 0 else "more"
        return (f"{per} per 1,000 with the comparator{when}; {abs(d)} {word} per 1,000 with the intervention "
                f"({_signed(dlo)} to {_signed(dhi)})")

    @property
    def baseline_risk(self) -> float:
        """The comparator's risk of the event: 1 − survival for time-to-event endpoints, else the rate."""
        assert self.baseline is not None
        return 1.0 - self.baseline if self.measure == "HR" else self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {"population": self.population, "setting": self.setting, "intervention": self.intervention,
                "comparator": self.comparator,
                "outcome": self.outcome, "k": self.k, "participants": self.participants,
                "relative_effect": self.relative_effect,
                "baseline": "" if self.baseline is None else f"{self.baseline:.2f}",
                "absolute_effect": self.absolute_effect,
                "certainty": self.certainty.level if self.certainty else "",
                "footnotes": " | ".join([*(self.certainty.footnotes() if self.certainty else []), *self.notes]),
                "question": self.question}


def _signed(x: int) -> str:
    return f"{x:+d}"


def fmt_effect(est: float, lo: float, hi: float, digits: int = 2) -> str:
    """``0.71 (0.32–1.59)``.

    >>> fmt_effect(0.7123, 0.3201, 1.589)
    '0.71 (0.32–1.59)'
    """
    return f"{est:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def absolute_risk(p0: float, effect: float, measure: str) -> float:
    """The intervention's risk for a comparator risk ``p0`` and a relative effect.

    >>> round(absolute_risk(0.4, 0.5, "RR"), 3), round(absolute_risk(0.4, 2.0, "OR"), 3)
    (0.2, 0.571)
    >>> round(absolute_risk(0.4, 0.7, "HR"), 3)  # survival 0.6 → 0.6 ** 0.7
    0.301
    """
    if measure == "HR":
        return 1.0 - (1.0 - p0) ** effect
    if measure == "RR":
        return min(1.0, effect * p0)
    return effect * p0 / (1.0 - p0 + effect * p0)


def question_key(row: dict[str, Any], by: Sequence[str]) -> str:
    """The text key of a pooled question (its grouping keys joined by ``|``), as stored with judgements."""
    return "|".join("" if _missing(row.get(k)) else str(row.get(k)) for k in by)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _year(rec: dict[str, Any]) -> float:
    y = rec.get("year")
    return float(y) if isinstance(y, (int, float)) and y == y else 0.0


def study_of(rec: dict[str, Any]) -> str:
    """The study a record belongs to, as RoB judgements name it: its trial name, else its source id."""
    trial = rec.get("trial")
    return str(trial) if isinstance(trial, str) and trial else str(rec.get("source_id"))


def baseline_for(records: pd.DataFrame, trials: set[str], endpoint: str) -> tuple[float | None, float | None]:
    """The comparator arms' landmark rate for ``endpoint`` across ``trials`` (median at the commonest time)."""
    if records.empty:
        return None, None
    r = records[(records["arm"] == "comparator") & (records["measure"] == "rate") & (records["endpoint"] == endpoint)
                & records["timepoint_months"].notna()]
    r = r[[study_of(x) in trials for x in r.to_dict("records")]]
    if r.empty:
        return None, None
    t = float(r["timepoint_months"].mode().iloc[0])
    return float(r.loc[r["timepoint_months"] == t, "value"].median()), t


def sof_rows(records: pd.DataFrame, pooled: pd.DataFrame, by: Sequence[str], judgements: Judgements | None = None
             ) -> list[SofRow]:
    """Summary-of-findings rows of every pooled question (k ≥ 2, a ratio measure) of ``pooled``.

    ``pooled`` is :func:`meta.pool_table`'s result on ``records`` (columns: the keys, k, n_total, the pooled
    fields with ``*_exp`` for ratio measures, ``record_ids``, ``weights``). Grouped by the question keys
    (:data:`evidence.questions.QUESTION_BY`, the default), each row is keyed by its
    :attr:`~evidence.questions.Question.key` and takes the reviewers' judgements of that question
    (:func:`~evidence.questions.certainty_overrides`); grouped by other keys, by those keys joined by ``|``.
    """
    by_id = {r["record_id"]: r for r in records.to_dict("records")}
    out: list[SofRow] = []
    rows = pooled.to_dict("records")
    as_questions = tuple(by) == QUESTION_BY
    overrides = (certainty_overrides(judgements, (Question.from_row(r) for r in rows))
                 if as_questions and judgements is not None else {})
    for row in rows:
        if row.get("measure") not in ("HR", "OR", "RR") or int(row.get("k") or 0) < 2 or _missing(row.get("estimate")):
            continue
        recs = [by_id[i] for i in row.get("record_ids") or [] if i in by_id]
        trials = {study_of(r) for r in recs}
        endpoint = str(row.get("endpoint"))
        weights = list(row.get("weights") or [math.nan] * len(recs))
        groups = row.get("study_record_ids")  # one list of records per contribution (pool_table studies=True)
        if isinstance(groups, list) and len(groups) == len(weights):
            # one judgement per contribution, aligned with its weight (a trial's interim and final reports
            # are one contribution): the trial's name from its latest record
            firsts = [max((by_id[i] for i in ids if i in by_id), key=_year, default=None)
                      for ids in groups]
            rob = [judgements.rob_overall(study_of(r), endpoint) if judgements and r is not None else None
                   for r in firsts]
        else:
            rob = [judgements.rob_overall(study_of(r), endpoint) if judgements else None for r in recs]
        randomized = all(bool(r.get("randomized")) or r.get("design") == "rct" for r in recs)
        ev = QuestionEvidence(
            k=int(row["k"]), measure=str(row["measure"]), estimate=float(row["estimate_exp"]),
            ci_low=float(row["ci_low_exp"]), ci_high=float(row["ci_high_exp"]), i2=float(row.get("i2", math.nan)),
            pi_low=_exp(row.get("pi_low")), pi_high=_exp(row.get("pi_high")),
            n_total=None if _missing(row.get("n_total")) else int(row["n_total"]), randomized=randomized,
            studies=tuple(StudyBias(float(w), j) for w, j in zip(weights, rob, strict=False)),
            rollup=bool(row.get("rollup", False)))
        question = Question.from_row(row)
        key = question.key if as_questions else question_key(row, by)
        proposal = propose_certainty(ev)
        if judgements is not None:
            proposal = apply_overrides(proposal, overrides[question] if as_questions else judgements.certainty(key))
        base, months = baseline_for(records, trials, endpoint)
        out.append(SofRow(
            question=key, population=str(row.get("histotype") or ""), intervention=str(row.get("intervention") or ""),
            comparator=str(row.get("comparator") or ""), outcome=endpoint, k=int(row["k"]), participants=ev.n_total,
            measure=str(row["measure"]), estimate=ev.estimate, ci_low=ev.ci_low, ci_high=ev.ci_high,
            baseline=base, baseline_months=months, certainty=proposal,
            notes=(str(row["model"]),) if isinstance(row.get("model"), str) and row.get("model") else (),
            setting=question.context))
    return out


def _exp(x: Any) -> float:
    return math.exp(float(x)) if not _missing(x) else math.nan


def write_csv(rows: Sequence[SofRow], path: str | Path) -> int:
    """The table as CSV (cells neutralised against spreadsheet formulas); returns the number of rows."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        return write_rows(fh, COLUMNS, ([r.as_dict()[c] for c in COLUMNS] for r in rows),
                          numeric=("k", "participants"))


def write_docx(rows: Sequence[SofRow], path: str | Path, *, title: str = "Summary of findings") -> int:
    """The table as a Word document (python-docx): a header row, one row per outcome, footnotes below."""
    from docx import Document

    doc = Document()
    doc.add_heading(title, level=1)
    headers = ("Population · comparison", "Outcome", "№ of participants (studies)", "Relative effect (95% CI)",
               "Anticipated absolute effect", "Certainty (GRADE)")
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, h in zip(table.rows[0].cells, headers, strict=True):
        cell.text = h
    notes: list[str] = []
    for r in rows:
        marks = []
        for fn in (r.certainty.footnotes() if r.certainty else []) + list(r.notes):
            notes.append(fn)
            marks.append(str(len(notes)))
        cells = table.add_row().cells
        cells[0].text = f"{r.population_label}: {r.intervention} vs {r.comparator}"
        cells[1].text = r.outcome
        cells[2].text = f"{r.participants if r.participants is not None else 'not reported'} ({r.k} studies)"
        cells[3].text = r.relative_effect
        cells[4].text = r.absolute_effect
        cells[5].text = (r.certainty.level if r.certainty else "") + (f" [{', '.join(marks)}]" if marks else "")
    for i, n in enumerate(notes, 1):
        doc.add_paragraph(f"[{i}] {n}")
    doc.save(str(path))
    return len(rows)
