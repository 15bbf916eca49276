"""Prognostic-factor evidence for the dashboard: a map of factor × endpoint and one pooled question per factor.

A prognostic question is a factor's level contrast on an endpoint and measure, adjusted and crude estimates
apart: ``(factor, factor_level, factor_reference, endpoint, measure, adjusted)`` (:class:`PrognosticQuestion`).
Its studies are pooled by the same functions as a treatment cell (:func:`dashboards.analysis.study_table`,
:func:`dashboards.analysis.pool_studies`), one contribution per study; per-level rates are listed, not pooled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboards import analysis
from evidence.factors import FACTORS
from evidence.schema import RATIO_MEASURES

KEYS = ("factor", "factor_level", "factor_reference", "endpoint", "measure", "adjusted")
CURATED = ("accepted", "edited")


@dataclass(frozen=True)
class PrognosticQuestion:
    """One pooled prognostic question (a factor's level contrast on one endpoint and measure)."""

    factor: str
    level: str
    reference: str
    endpoint: str
    measure: str
    adjusted: bool | None

    @property
    def label(self) -> str:
        adj = {True: "adjusted", False: "crude", None: "adjustment not stated"}[self.adjusted]
        name = FACTORS[self.factor].label if self.factor in FACTORS else self.factor
        return f"{name}: {self.level} vs {self.reference} · {self.endpoint} {self.measure} · {adj}"

    def key(self) -> str:
        """A plain-text key for widgets (never parsed back: :func:`questions` maps it to the question)."""
        return "|".join("" if v is None else str(v) for v in (self.factor, self.level, self.reference, self.endpoint,
                                                                 self.measure, self.adjusted))


def _clean(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def prognostic_records(df: pd.DataFrame, statuses: tuple[str, ...] = CURATED) -> pd.DataFrame:
    """The curated prognostic records of a records frame."""
    if df.empty or "question" not in df.columns:
        return df.iloc[0:0]
    keep = (df["question"] == "prognostic") & df["status"].isin(statuses)
    return df[keep]


def factor_map(df: pd.DataFrame) -> pd.DataFrame:
    """Studies per factor × endpoint (rows: factor labels; columns: endpoints; 0 where none)."""
    if df.empty:
        return pd.DataFrame()
    study = df["trial"].where(df["trial"].notna(), df["source_id"])
    t = pd.DataFrame({"factor": df["factor"].map(lambda f: FACTORS[f].label if f in FACTORS else f),
                      "endpoint": df["endpoint"], "study": study})
    return t.drop_duplicates().pivot_table(index="factor", columns="endpoint", values="study", aggfunc="count",
                                           fill_value=0)


def questions(df: pd.DataFrame) -> dict[str, PrognosticQuestion]:
    """The ratio questions of the records (key → question), most studies first."""
    ratio = df[df["measure"].isin(RATIO_MEASURES)]
    out: list[tuple[int, PrognosticQuestion]] = []
    for vals, grp in ratio.groupby(list(KEYS), dropna=False, sort=True):
        q = PrognosticQuestion(*(_clean(v) for v in vals))
        if q.level is None:
            continue
        out.append((grp["source_id"].nunique(), q))
    out.sort(key=lambda t: (-t[0], t[1].label))
    return {q.key(): q for _, q in out}


def question_records(df: pd.DataFrame, q: PrognosticQuestion) -> pd.DataFrame:
    """The records of one question, one per study (the latest report of a study wins)."""
    m = pd.Series(True, index=df.index)
    for k, v in zip(KEYS, (q.factor, q.level, q.reference, q.endpoint, q.measure, q.adjusted), strict=True):
        m &= df[k].isna() if v is None else (df[k] == v)
    sub = df[m].copy()
    sub["_study"] = sub["trial"].where(sub["trial"].notna(), sub["source_id"])
    sub = sub.sort_values("year", na_position="first").drop_duplicates("_study", keep="last")
    return sub.drop(columns="_study")


def pool_question(df: pd.DataFrame, q: PrognosticQuestion, method: str = "REML",
                  test: str = "z") -> analysis.CellPool:
    """The question's studies pooled as a treatment cell is (random effects on the log scale)."""
    return analysis.pool_studies(analysis.study_table(question_records(df, q)), method=method, test=test)


def level_rates(df: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Per-level rates of a factor (not pooled): study, level, reference, endpoint, timepoint, value."""
    sub = df[(df["factor"] == factor) & (df["measure"] == "rate")]
    cols = ["trial", "source_id", "year", "factor_level", "factor_reference", "endpoint", "timepoint_months", "value",
            "evidence_text"]
    return sub.reindex(columns=cols)
