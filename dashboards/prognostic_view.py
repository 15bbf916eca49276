"""Prognostic-factor evidence for the dashboard: a map of factor × endpoint and one pooled question per factor.

A prognostic question is a factor's level contrast on an endpoint and measure, adjusted and crude estimates
apart: ``(factor, factor_level, factor_reference, endpoint, measure, adjusted)`` (:class:`PrognosticQuestion`).
Its studies are pooled by the same functions as a treatment cell (:func:`dashboards.analysis.study_table`,
:func:`dashboards.analysis.pool_studies`), one contribution per study; per-level rates are listed, not pooled.
A ratio reported the other way round (``R0`` vs ``R1`` beside ``R1`` vs ``R0``) joins its question inverted, as
``pool`` does it (:func:`orient_levels`).
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
    """The curated prognostic records of a records frame, reversed ratios turned into their question's way."""
    if df.empty or "question" not in df.columns:
        return df.iloc[0:0]
    keep = (df["question"] == "prognostic") & df["status"].isin(statuses)
    return orient_levels(df[keep])


def orient_levels(df: pd.DataFrame) -> pd.DataFrame:
    """The records with each ratio reported the other way round turned into its question's orientation.

    Which records turn is what :func:`meta.pool_table` decides for the same question keys (the orientation most
    records report; on a tie the one whose ratios exceed 1 on the whole), so the page and ``pool`` agree. A turned
    record swaps ``factor_level`` and ``factor_reference`` and shows 1/value with the reciprocal CI (bounds
    swapped); column ``reported_as`` keeps what the source printed ("R0 vs R1, HR 0.70"), empty otherwise.
    """
    from meta import pool_table

    out = df.copy()
    out["reported_as"] = ""
    if out.empty or not {"factor_level", "factor_reference"} <= set(out.columns):
        return out
    table = pool_table(out, by=list(KEYS), statuses=tuple(out["status"].dropna().unique()) or CURATED)
    turned = {rid for ids in table.get("inverted", []) for rid in ids}
    m = out["record_id"].isin(turned).to_numpy()
    if not m.any():
        return out
    t = out.loc[m]
    out.loc[m, "reported_as"] = [f"{a} vs {b}, {ms} {v:g}" for a, b, ms, v in
                                 zip(t["factor_level"], t["factor_reference"], t["measure"], t["value"], strict=True)]
    out.loc[m, "factor_level"], out.loc[m, "factor_reference"] = t["factor_reference"].to_numpy(), t[
        "factor_level"].to_numpy()
    out.loc[m, "value"] = 1.0 / t["value"].astype(float).to_numpy()
    lo, hi = t["ci_low"].astype(float).to_numpy(), t["ci_high"].astype(float).to_numpy()
    out.loc[m, "ci_low"], out.loc[m, "ci_high"] = 1.0 / hi, 1.0 / lo
    return out


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
