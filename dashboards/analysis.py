"""A cell's pooled estimate and the analyses around it, by calling :mod:`meta`.

:func:`study_table` turns a cell's records into effect sizes (the rules of ``meta.pool_table``:
ratios on the log scale from their CI, else from an exact p; rates as logit proportions; medians in
months from their CI), :func:`pool_studies` pools the included ones with :func:`meta.pool`, and
:func:`leave_one_out_table`, :func:`cumulative_table`, :func:`small_study_bias` wrap the sensitivity
and bias functions. Results are reported on the reporting scale (ratio, proportion, months).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from dashboards.cell import Cell
from dashboards.sources import source_url
from dashboards.views import BY, POOL_INPUT, STATUSES, reported_value
from evidence.comparison_classes import comparison_classes
from evidence.schema import RATIO_MEASURES
from evidence.trial_aliases import trial_aliases
from evidence.vocabulary import VOCAB
from meta import PoolResult, begg_test, cumulative, egger_test, leave_one_out, pool, pool_table, trim_and_fill
from meta.table import record_effect

T = TypeVar("T")
#: Endpoints where more is better (a ratio above 1 favours the intervention).
RESPONSE_ENDPOINTS = ("ORR", "DCR", "CBR")
STUDY_COLUMNS = (
    "record_id", "label", "trial", "year", "source_id", "url", "n", "value", "ci_low", "ci_high", "ci_level", "unit",
    "yi", "vi", "scale", "included", "reason", "weight", "evidence_text", "char_start", "value_start",
    "value_end", "events", "weight_common", "record_ids",
)  # fmt: skip
#: Measures whose studies count events (the forest shows events/N for them).
BINARY_MEASURES = ("OR", "RR", "rate")


def quietly(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, list[str]]:
    """Call ``fn`` and return its result with the texts of the warnings it raised (shown on the page)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught]


def scale_of(measure: str) -> str:
    """Analysis scale of a measure: ``log`` (ratios), ``logit`` (rates) or ``months`` (medians)."""
    return "log" if measure in RATIO_MEASURES else "logit" if measure == "rate" else "months"


def to_reporting(x: Any, scale: str) -> Any:
    """Back-transform from the analysis scale (exp for log, inverse logit for logit).

    >>> round(to_reporting(0.0, "log"), 3), round(to_reporting(0.0, "logit"), 3), to_reporting(2.0, "months")
    (1.0, 0.5, 2.0)
    """
    a = np.asarray(x, dtype=float)
    out = np.exp(a) if scale in ("log", "log_months") else 1.0 / (1.0 + np.exp(-a)) if scale == "logit" else a
    return float(out) if out.ndim == 0 else out


def study_effect(rec: dict[str, Any]) -> tuple[float, float, str]:
    """(yi, vi, reason-if-not-poolable) of one record: ``meta.table.record_effect``, the rules of pool_table."""
    yi, vi, _scale, reason = record_effect(rec)
    return yi, vi, reason


def _text(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


def study_label(rec: dict[str, Any]) -> str:
    """``"PALETTE 2012"``: the trial's name and year, as a forest plot names a study.

    Without a trial name, the source's title (cut at 40 characters), else its PMID/DOI/NCT id; a
    local file's name is never shown (``file:…`` ids say nothing to a reader): "Unnamed study".

    >>> study_label({"trial": "PALETTE", "year": 2012, "source_id": "PMID:22595799"})
    'PALETTE 2012'
    >>> study_label({"trial": None, "year": 2020, "source_id": "file:abc123.pdf", "source_title": None})
    'Unnamed study 2020'
    """
    name = _text(rec.get("trial"))
    if not name:
        title = _text(rec.get("source_title"))
        sid = _text(rec.get("source_id"))
        name = (title[:39] + "…" if len(title) > 40 else title) or (
            sid if sid and not sid.lower().startswith("file:") else "Unnamed study")
    year = rec.get("year")
    return f"{name} {int(year)}" if year is not None and not pd.isna(year) else name


def study_table(records: pd.DataFrame, exclude: Sequence[str] = ()) -> pd.DataFrame:
    """One row per study of a cell: effect size, reported value and CI, inclusion, source link.

    Parameters
    ----------
    records : DataFrame
        The cell's records (``views.records_by_id(df, row["record_ids"])``).
    exclude : sequence of str
        record_ids the committee left out.

    Returns
    -------
    DataFrame
        Columns :data:`STUDY_COLUMNS`; ``included`` is False for excluded or non-poolable studies
        (``reason`` says which); ``weight`` (percent) is filled by :func:`pool_studies`.
    """
    rows = []
    for rec in records.to_dict("records"):
        yi, vi, reason = study_effect(rec)
        if not reason and rec["record_id"] in exclude:
            reason = "excluded by you"
        value, lo, hi = reported_value(rec)
        rows.append({
            "record_id": rec["record_id"], "label": study_label(rec), "trial": rec.get("trial"),
            "year": rec.get("year"), "source_id": rec.get("source_id"), "url": source_url(rec.get("source_id")),
            "n": rec.get("n"), "value": value, "ci_low": lo, "ci_high": hi, "ci_level": rec.get("ci_level"),
            "unit": "months" if rec["measure"] == "median" else rec.get("unit"), "yi": yi, "vi": vi,
            "scale": scale_of(rec["measure"]), "included": not reason, "reason": reason, "weight": math.nan,
            "evidence_text": rec.get("evidence_text"), "char_start": rec.get("char_start"),
            "value_start": rec.get("value_start"), "value_end": rec.get("value_end"), "events": rec.get("events"),
            "weight_common": math.nan, "record_ids": [rec["record_id"]],
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(STUDY_COLUMNS))


@dataclass(frozen=True)
class CellPool:
    """A cell's pooled estimate: the meta result on the analysis scale and its reporting-scale view."""

    result: PoolResult | None
    scale: str
    studies: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    #: the common-effect (inverse-variance, τ² = 0) model of the same contributions, when k ≥ 2
    common: PoolResult | None = None
    intervention: str = ""
    comparator: str = ""
    endpoint: str = ""
    measure: str = ""

    @property
    def k(self) -> int:
        return int(self.studies["included"].sum())

    def reporting(self, name: str) -> float:
        """``estimate``, ``ci_low``, ``ci_high``, ``pi_low`` or ``pi_high`` on the reporting scale."""
        if self.result is None:
            return math.nan
        return float(to_reporting(getattr(self.result, name), self.scale))

    def reporting_common(self, name: str) -> float:
        """``estimate``, ``ci_low`` or ``ci_high`` of the common-effect model on the reporting scale."""
        if self.common is None:
            return math.nan
        return float(to_reporting(getattr(self.common, name), self.scale))


def pool_studies(studies: pd.DataFrame, method: str = "REML", test: str = "z", level: float = 0.95) -> CellPool:
    """Pool the included studies with :func:`meta.pool` (k ≥ 2), filling their weights (percent)."""
    studies = studies.copy()
    scale = str(studies["scale"].iloc[0]) if len(studies) else "log"
    inc = studies["included"].to_numpy(dtype=bool)
    if inc.sum() < 2:
        return CellPool(None, scale, studies, message=f"k = {int(inc.sum())}: at least 2 studies are needed to pool")
    res, caught = quietly(pool, studies.loc[inc, "yi"].to_numpy(float), studies.loc[inc, "vi"].to_numpy(float),
                          method=method, test=test, level=level)
    studies.loc[inc, "weight"] = np.asarray(res.weights, dtype=float)
    return CellPool(res, scale, studies, caught)


def _sensitivity_frame(df: pd.DataFrame, labels: Sequence[str], scale: str) -> pd.DataFrame:
    out = pd.DataFrame({"study": list(labels)})
    for c in ("estimate", "ci_low", "ci_high"):
        out[c] = to_reporting(df[c].to_numpy(float), scale)
    for c in ("tau2", "i2", "q", "q_p", "p_value"):
        out[c] = df[c].to_numpy(float)
    if "k" in df:
        out["k"] = df["k"].to_numpy()
    return out


def leave_one_out_table(cp: CellPool, method: str, test: str) -> tuple[pd.DataFrame, list[str]]:
    """Leave-one-out estimates (reporting scale); the ``study`` column names the study left out."""
    s = cp.studies[cp.studies["included"]]
    if len(s) < 2:
        return pd.DataFrame(), []
    df, caught = quietly(leave_one_out, s["yi"].to_numpy(float), s["vi"].to_numpy(float), method=method, test=test)
    return _sensitivity_frame(df, s["label"].tolist(), cp.scale), caught


def cumulative_table(cp: CellPool, method: str, test: str) -> tuple[pd.DataFrame, list[str]]:
    """Cumulative meta-analysis by publication year (studies without a year last); ``study`` is the one added."""
    s = cp.studies[cp.studies["included"]]
    if len(s) < 1:
        return pd.DataFrame(), []
    year = pd.to_numeric(s["year"], errors="coerce").fillna(np.inf).to_numpy(float)
    df, caught = quietly(cumulative, s["yi"].to_numpy(float), s["vi"].to_numpy(float), method=method, test=test,
                         order=year)
    labels = s["label"].to_numpy()[np.argsort(year, kind="stable")]
    return _sensitivity_frame(df, labels.tolist(), cp.scale), caught


#: Fewest studies for a funnel plot and its tests (Cochrane Handbook for Systematic Reviews of
#: Interventions, version 6.4, section 13.3.5.4: below ten studies the tests cannot tell chance from asymmetry).
MIN_FUNNEL_K = 10


@dataclass(frozen=True)
class BiasReport:
    """Egger's and Begg's tests and trim-and-fill of a cell; all None with a reason below
    :data:`MIN_FUNNEL_K` studies (``shown`` says whether a funnel plot is drawn at all)."""

    egger: Any = None
    trimfill: Any = None
    notes: tuple[str, ...] = ()
    begg: Any = None
    k: int = 0

    @property
    def shown(self) -> bool:
        return self.k >= MIN_FUNNEL_K


def small_study_bias(cp: CellPool, method: str) -> BiasReport:
    """Egger's regression test, Begg's rank test and trim-and-fill (:mod:`meta.bias`) at k ≥ 10 only."""
    s = cp.studies[cp.studies["included"]]
    yi, vi = s["yi"].to_numpy(float), s["vi"].to_numpy(float)
    k = len(s)
    if k < MIN_FUNNEL_K:
        return BiasReport(k=k, notes=(
            f"No funnel plot and no small-study tests: this cell has k = {k} included "
            f"{'study' if k == 1 else 'studies'}, and they need at least {MIN_FUNNEL_K} — with fewer, a test "
            "cannot tell asymmetry from chance (Cochrane Handbook 13.3.5.4).",))
    notes: list[str] = []
    egger = begg = tf = None
    try:
        egger, w1 = quietly(egger_test, yi, vi)
        notes += w1
    except ValueError as exc:
        notes.append(str(exc))
    try:
        begg, w3 = quietly(begg_test, yi, vi)
        notes += w3
    except ValueError as exc:
        notes.append(str(exc))
    try:
        tf, w2 = quietly(trim_and_fill, yi, vi, method=method)
        notes += w2
    except (ValueError, RuntimeError) as exc:
        notes.append(str(exc))
    return BiasReport(egger, tf, tuple(dict.fromkeys(notes)), begg, k)


def favours(endpoint: str, measure: str) -> tuple[str, str] | None:
    """Labels for the left and right of the line of no effect, or None for arm-level measures.

    >>> favours("OS", "HR")
    ('Favours intervention', 'Favours comparator')
    >>> favours("ORR", "OR")
    ('Favours comparator', 'Favours intervention')
    """
    if measure not in RATIO_MEASURES:
        return None
    if endpoint in RESPONSE_ENDPOINTS:
        return "Favours comparator", "Favours intervention"
    return "Favours intervention", "Favours comparator"


def fmt_num(x: Any, digits: int = 2) -> str:
    """A number for display; ``—`` for missing.

    >>> fmt_num(0.71253), fmt_num(float("nan"))
    ('0.71', '—')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return "—"
    return f"{float(x):.{digits}f}"


def fmt_p(p: Any) -> str:
    """``p = 0.041``, ``p < 0.001``."""
    if p is None or pd.isna(p):
        return "p = —"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def summary_lines(cp: CellPool, measure: str) -> dict[str, str]:
    """Texts of the pooled estimate shown on the page and under the forest plot."""
    r = cp.result
    if r is None:
        return {}
    pct = f"{100 * r.level:g}%"
    stat = "z" if r.test == "z" else "t"
    t_df = "" if r.test == "z" else f"(df = {r.k - 1}) "
    name = measure if measure in RATIO_MEASURES else ("proportion" if measure == "rate" else "median (months)")
    return {
        "estimate": f"Pooled {name} {fmt_num(cp.reporting('estimate'))} "
                    f"({pct} CI {fmt_num(cp.reporting('ci_low'))} to {fmt_num(cp.reporting('ci_high'))})",
        "pi": f"{pct} prediction interval {fmt_num(cp.reporting('pi_low'))} to {fmt_num(cp.reporting('pi_high'))}",
        "heterogeneity": f"Heterogeneity: τ² = {fmt_num(r.tau2, 3)}, Q = {fmt_num(r.q)} (df = {int(r.q_df)}), "
                         f"{fmt_p(r.q_p)}; I² = {fmt_num(r.i2, 0)}%",
        "overall": f"Test for overall effect: {stat} {t_df}= {fmt_num(r.stat)}, {fmt_p(r.p_value)}",
        "model": f"Random-effects model, τ² estimator {r.method}, test {r.test} (meta {r.version})",
    }  # fmt: skip


def cell_contributions(records: pd.DataFrame, row: dict[str, Any], method: str = "REML",
                       test: str = "z") -> tuple[dict[str, Any] | None, list[str]]:
    """The pooling plan's row of one cell with each contribution's effect (``meta.pool_table(...,
    studies=True)``: one contribution per trial, trial identity through :mod:`evidence.trial_aliases`),
    pooled exactly as the evidence map pools it (:func:`dashboards.views.map_table`), and its warnings."""
    if records.empty:
        return None, []
    slim = records[[c for c in POOL_INPUT if c in records.columns]].copy(deep=False)
    slim.attrs = {}
    rollup = bool(row.get("rollup"))
    t, caught = quietly(pool_table, slim, by=BY, method=method, test=test, rollup=rollup,
                        parents=VOCAB.parents if rollup else None, statuses=STATUSES,
                        trial_aliases=trial_aliases(), classes=comparison_classes(), studies=True)
    t.attrs = {}
    for r in t.to_dict("records"):
        if Cell.from_row(r).key == row["cell"]:
            return r, caught
    return None, caught


def _contribution_rows(contrib: dict[str, Any], by_id: dict[str, dict[str, Any]], level: float) -> list[dict]:
    """One forest row per contribution: its effect as pooled, shown on the reporting scale with its
    ``level`` CI (yi ± z·√vi: the same level for every study, as RevMan and ``meta::forest`` draw them)."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    scale = str(contrib["scale"])
    rows = []
    for j, ids in enumerate(contrib["study_record_ids"]):
        recs = [by_id[i] for i in ids if i in by_id]
        first = max(recs, key=lambda r: -math.inf if pd.isna(r.get("year")) else float(r["year"]))  # latest report
        yi, vi = float(contrib["yi"][j]), float(contrib["vi"][j])
        se = math.sqrt(vi)
        ev = [r.get("events") for r in recs]
        events = float(sum(ev)) if ev and all(e is not None and not pd.isna(e) for e in ev) else math.nan
        rows.append({
            "record_id": ids[0], "record_ids": list(ids), "label": study_label(first), "trial": first.get("trial"),
            "year": first.get("year"), "source_id": first.get("source_id"), "url": source_url(first.get("source_id")),
            "n": contrib["study_n"][j], "events": events, "value": to_reporting(yi, scale),
            "ci_low": to_reporting(yi - z * se, scale), "ci_high": to_reporting(yi + z * se, scale),
            "ci_level": level, "unit": "months" if first.get("measure") == "median" else first.get("unit"),
            "yi": yi, "vi": vi, "scale": scale, "included": True, "reason": "", "weight": math.nan,
            "weight_common": math.nan, "evidence_text": first.get("evidence_text"),
            "char_start": first.get("char_start"), "value_start": first.get("value_start"),
            "value_end": first.get("value_end"),
        })  # fmt: skip
    return rows


def analyse_cell(df: pd.DataFrame, row: dict[str, Any] | None, exclude: Sequence[str] = (),
                 method: str = "REML", test: str = "z", level: float = 0.95) -> CellPool | None:
    """The pooled estimate of one evidence-map cell (``row`` from :func:`dashboards.views.cell_row`).

    The studies are the pooling plan's contributions (:func:`cell_contributions`: one per trial, a
    trial's subgroups or reports combined as the plan combines them), so the forest shows exactly
    what was pooled. ``exclude`` (record ids) leaves out every contribution holding one of them; those
    stay in the table, grey, with their reason. The random-effects result is :func:`meta.pool` of the
    contributions with ``method``/``test`` (the map's numbers); ``common`` is the common-effect model.
    None when there is no such cell.
    """
    if row is None:
        return None
    ids = list(row["record_ids"])
    idx = df.set_index("record_id", drop=False)
    recs = idx.loc[[i for i in ids if i in idx.index]].reset_index(drop=True)
    by_id = {r["record_id"]: r for r in recs.to_dict("records")}
    names = {k: str(row.get(k) or "") for k in ("intervention", "comparator", "endpoint", "measure")}
    contrib, caught = cell_contributions(recs, row, method, test)
    if contrib is None:
        empty = pd.DataFrame(columns=list(STUDY_COLUMNS))
        return CellPool(None, str(row.get("scale") or "log"), empty, caught, "no poolable study in this cell", **names)
    studies = pd.DataFrame(_contribution_rows(contrib, by_id, level), columns=list(STUDY_COLUMNS))
    excluded = set(exclude)
    gone = np.array([bool(excluded & set(r)) for r in studies["record_ids"]], dtype=bool)
    studies.loc[gone, "included"] = False
    studies.loc[gone, "reason"] = "excluded by you"
    scale = str(contrib["scale"])
    inc = studies["included"].to_numpy(dtype=bool)
    if inc.sum() < 2:
        return CellPool(None, scale, studies, caught, f"k = {int(inc.sum())}: at least 2 studies are needed to pool",
                        **names)
    yi, vi = studies.loc[inc, "yi"].to_numpy(float), studies.loc[inc, "vi"].to_numpy(float)
    res, w1 = quietly(pool, yi, vi, method=method, test=test, level=level)
    common, w2 = quietly(pool, yi, vi, method="FE", test="z", level=level)
    studies.loc[inc, "weight"] = np.asarray(res.weights, dtype=float)
    studies.loc[inc, "weight_common"] = np.asarray(common.weights, dtype=float)
    return CellPool(res, scale, studies, list(dict.fromkeys(caught + w1 + w2)), common=common, **names)
