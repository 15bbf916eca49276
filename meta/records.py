"""Which evidence records a pooling plan uses, and the effect size (yi, vi) of each.

Implements the record rules of DESIGN.md "Pooling plan rules (round 2)", column-wise:

* statuses: by default ``accepted`` and ``edited`` only (``rejected`` never);
* flags: a record flagged ``hr_not_log_midpoint``, ``p_disagrees_with_ci`` or ``value_outside_ci`` is
  left out unless ``include_flagged``; ``one_sided_ci`` always (its CI cannot be read as two-sided), and
  ``censored_median`` always (``5.6+ months`` is a lower bound).
  The ``flags`` cell may be a list, a tuple, an array, a JSON array text (``read_csv``) or one name;
* design: ``meta_analysis`` and ``pooled_analysis`` records are published syntheses, listed beside the
  pooled estimate and never pooled with primary studies;
* effect sizes (:func:`record_effect`): ratios on the log scale from their CI, else from an exact p;
  rates as logit proportions, from their reported CI when given (logit or log-log), else binomial;
  medians on the log scale from their CI (a CI whose upper limit was not reached is named, not used).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from meta.effect_sizes import log_hr_from_p, log_ratio_from_ci, prop_logit

RATIO = ("HR", "OR", "RR")
ARM_LEVEL = ("rate", "median")
TO_MONTHS = {"months": 1.0, "weeks": 12.0 / 52.0, "days": 12.0 / 365.25, "years": 12.0}
DEFAULT_STATUSES: tuple[str, ...] = ("accepted", "edited")
#: Consistency flags that keep a record out by default (``include_flagged`` widens).
INCONSISTENT = ("hr_not_log_midpoint", "p_disagrees_with_ci", "value_outside_ci")
ONE_SIDED_FLAG = "one_sided_ci"
SYNTHESIS_DESIGNS = ("meta_analysis", "pooled_analysis")
RATE_CI = ("auto", "logit", "loglog")
ONE_SIDED = "one-sided CI (flag one_sided_ci): its variance cannot be read as two-sided"
#: ``5.6+ months``: a median whose time is censored is a lower bound, never pooled as a median
CENSORED_FLAG = "censored_median"
CENSORED = "censored median (flag censored_median): a lower bound, not a median; never pooled"
#: What a pooled number means on each scale (``pool_table(...).attrs["scales"]``).
SCALES = {
    "log": "ratio (HR, OR, RR) pooled on the log scale; *_exp columns are the pooled ratio",
    "logit": "proportion pooled on the logit scale; *_exp columns are the back-transformed proportion",
    "log_months": "median times pooled on the log scale: estimate_exp is the inverse-variance weighted "
                  "geometric mean of the study medians, in months (a typical median across studies, not the "
                  "median survival of the pooled patients)",
}


class Reasons:
    """Why each record is left out: an int code per record (0 = kept) and the distinct messages."""

    __slots__ = ("_index", "codes", "messages")

    def __init__(self, n: int) -> None:
        self.codes = np.zeros(n, dtype=np.int32)
        self.messages: list[str] = [""]
        self._index: dict[str, int] = {"": 0}

    def code(self, message: str) -> int:
        """The code of ``message`` (added when new)."""
        if message not in self._index:
            self._index[message] = len(self.messages)
            self.messages.append(message)
        return self._index[message]

    def set(self, mask: np.ndarray, message: str) -> None:
        """Give ``message`` to the records of ``mask`` that are still kept."""
        hit = mask & (self.codes == 0)
        if hit.any():
            self.codes[hit] = self.code(message)

    @property
    def kept(self) -> np.ndarray:
        return self.codes == 0


def missing(x: Any) -> bool:
    """None, NaN or pandas NA."""
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _f(x: Any) -> float:
    try:
        return math.nan if missing(x) else float(x)
    except (TypeError, ValueError):
        return math.nan


def flag_set(value: Any) -> frozenset[str]:
    """The flags of one ``flags`` cell, whatever its form (list, tuple, array, JSON text, one name).

    >>> sorted(flag_set('["one_sided_ci", "arm_n_sum"]')), sorted(flag_set(None)), sorted(flag_set("x"))
    (['arm_n_sum', 'one_sided_ci'], [], ['x'])
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return frozenset()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return frozenset()
        if text.startswith("["):
            try:
                return frozenset(str(x) for x in json.loads(text))
            except ValueError:
                pass
        return frozenset(x.strip().strip("\"'") for x in text.strip("[]").split(",") if x.strip().strip("\"'"))
    try:
        return frozenset(str(x) for x in value)
    except TypeError:
        return frozenset({str(value)})


def flag_columns(flags: pd.Series, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """For each flag name, whether each record carries it (bool arrays).

    Lists (the store, JSONL) are read only where non-empty; text cells (CSV: JSON arrays) once per
    distinct text.
    """
    n = len(flags)
    out = {name: np.zeros(n, dtype=bool) for name in names}
    text_column = pd.api.types.is_string_dtype(flags.dtype) and flags.dtype != object
    a = flags.to_numpy(dtype=object)
    if not text_column:  # lists (the store, JSONL): an empty list and None are falsy, read the rest
        for i in np.flatnonzero(np.fromiter(map(bool, a), dtype=bool, count=n)):
            got = flag_set(a[i])
            for name in names:
                out[name][i] = name in got
        return out
    codes, uniq = pd.factorize(flags, use_na_sentinel=True)
    sets = [flag_set(u) for u in uniq]
    for name in names:
        out[name] = np.array([name in st for st in sets] + [False], dtype=bool)[codes]
    return out


def select(df: pd.DataFrame, statuses: tuple[str, ...], include_flagged: bool) -> tuple[Reasons, list[dict]]:
    """Why each record is left out, from status, flags and design; the published syntheses."""
    reasons = Reasons(len(df))
    codes, uniq = pd.factorize(df["status"], use_na_sentinel=True)
    for j, s in enumerate([*uniq, "extracted"]):  # a missing status is "extracted"
        if s in statuses and s != "rejected":
            continue
        mask = codes == (j if j < len(uniq) else -1)
        reasons.set(mask, "status 'rejected': never pooled" if s == "rejected" else
                    f"status {s!r} not in statuses {statuses} (widen with statuses=)")
    flags = flag_columns(df["flags"], (*INCONSISTENT, ONE_SIDED_FLAG, CENSORED_FLAG))
    reasons.set(flags[ONE_SIDED_FLAG], ONE_SIDED)
    reasons.set(flags[CENSORED_FLAG], CENSORED)
    if not include_flagged:
        for f in INCONSISTENT:
            reasons.set(flags[f], f"flagged {f}: inconsistent numbers are not pooled by default "
                                  "(include_flagged=True widens)")
    dcodes, duniq = pd.factorize(df["design"], use_na_sentinel=True)
    syntheses: list[dict] = []
    for j, d in enumerate(duniq):
        if d not in SYNTHESIS_DESIGNS:
            continue
        syn = (dcodes == j) & reasons.kept
        cols = [c for c in ("record_id", "source_id", "trial", "year", "histotypes", "intervention", "comparator",
                            "endpoint", "measure", "value", "ci_low", "ci_high", "design") if c in df.columns]
        part = df.loc[syn, cols].astype(object)
        syntheses += part.where(part.notna(), None).to_dict("records")
        reasons.set(syn, f"published synthesis (design {d!r}): shown beside the pooled estimate, never pooled "
                         "with primary studies")
    return reasons, syntheses


def _z(level: float) -> float:
    return float(stats.norm.isf((1.0 - level) / 2.0))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _loglog(p: float) -> float:
    return math.log(-math.log(p))


def rate_from_ci(value: float, lo: float, hi: float, level: float, how: str = "auto") -> tuple[float, float]:
    """Logit proportion and its variance from a rate's reported CI (e.g. a Kaplan–Meier landmark).

    ``how="logit"`` reads the CI as symmetric on logit(S): v = ((logit hi − logit lo)/(2z))².
    ``how="loglog"`` reads it as symmetric on log(−log S) (Kalbfleisch & Prentice 1980, the usual
    Kaplan–Meier CI): v_g = ((g(lo) − g(hi))/(2z))², then the delta method to the logit,
    d logit/d g = log S / (1 − S), so v = v_g · (log S / (1 − S))². ``"auto"`` takes the scale on
    which the CI is more nearly symmetric about the estimate.
    """
    z = _z(level)
    cands = {}
    if how in ("auto", "logit"):
        a, b, c = _logit(lo), _logit(value), _logit(hi)
        cands["logit"] = (abs((a + c) / 2 - b) / (c - a), ((c - a) / (2 * z)) ** 2)
    if how in ("auto", "loglog"):
        a, b, c = _loglog(hi), _loglog(value), _loglog(lo)  # g decreases in S
        vg = ((c - a) / (2 * z)) ** 2
        cands["loglog"] = (abs((a + c) / 2 - b) / (c - a), vg * (math.log(value) / (1 - value)) ** 2)
    best = min(cands.values(), key=lambda t: t[0])
    return _logit(value), best[1]


def record_effect(rec: Mapping[str, Any], rate_ci: str = "auto") -> tuple[float, float, str, str]:
    """(yi, vi, scale, reason-if-excluded) of one record, by the rules of :func:`meta.pool_table`.

    * HR/OR/RR: log scale from the CI (any ``ci_level``); else from an exact p (``p_relation`` "=",
      ``p_sided`` honoured; :func:`meta.effect_sizes.log_hr_from_p` refuses an SE that the rounding
      of the reported ratio and p makes arbitrary, as HR ≈ 1 with p ≈ 1);
    * rate: logit, from the reported CI (:func:`rate_from_ci`) when it has one, else binomial from
      x = value·n (:func:`meta.effect_sizes.prop_logit`);
    * median: log of months, vi = ((log hi − log lo)/(2z))²; an upper limit not reached (missing or
      infinite ``ci_high`` beside a ``ci_low``) is excluded and named.

    Examples
    --------
    >>> yi, vi, scale, reason = record_effect({"measure": "HR", "value": 0.5, "ci_low": 0.25, "ci_high": 1.0,
    ...                                        "ci_level": 0.95, "p_value": None, "p_relation": None})
    >>> round(yi, 4), round(vi, 4), scale, reason
    (-0.6931, 0.1251, 'log', '')
    """
    measure, value = rec.get("measure"), _f(rec.get("value"))
    lo, hi, lvl = _f(rec.get("ci_low")), _f(rec.get("ci_high")), _f(rec.get("ci_level"))
    lvl = 0.95 if math.isnan(lvl) else lvl
    if not math.isfinite(value):
        nr = " (not reached?)" if measure == "median" else ""
        return math.nan, math.nan, "", f"{measure} without a finite value{nr}"
    if ONE_SIDED_FLAG in flag_set(rec.get("flags")):
        return math.nan, math.nan, "", ONE_SIDED
    if CENSORED_FLAG in flag_set(rec.get("flags")):
        return math.nan, math.nan, "", CENSORED
    try:
        if measure in RATIO:
            return _ratio(rec, measure, value, lo, hi, lvl)
        if measure == "rate":
            return _rate(rec, value, lo, hi, lvl, rate_ci)
        if measure == "median":
            return _median(rec, value, lo, hi, lvl)
    except ValueError as exc:
        return math.nan, math.nan, "", str(exc)
    return math.nan, math.nan, "", f"unsupported measure {measure!r}"


def _ratio(rec: Mapping[str, Any], measure: str, value: float, lo: float, hi: float, lvl: float
           ) -> tuple[float, float, str, str]:
    if not (math.isnan(lo) or math.isnan(hi)):
        yi, vi = log_ratio_from_ci([value], [lo], [hi], lvl, name=measure)
        return float(yi[0]), float(vi[0]), "log", ""
    p = _f(rec.get("p_value"))
    if math.isnan(p) or rec.get("p_relation") != "=":
        return math.nan, math.nan, "", f"{measure} without a CI or an exact p value (p_relation '=')"
    sided = 1 if _f(rec.get("p_sided")) == 1 else 2
    yi, vi = log_hr_from_p([value], [p], p_sided=sided)  # refuses an SE that rounding makes arbitrary
    return float(yi[0]), float(vi[0]), "log", ""


def _rate(rec: Mapping[str, Any], value: float, lo: float, hi: float, lvl: float, how: str
          ) -> tuple[float, float, str, str]:
    if not (math.isnan(lo) or math.isnan(hi)):
        if not 0 < lo <= value <= hi < 1 or lo == hi:
            return math.nan, math.nan, "", (f"rate {value:g} with CI [{lo:g}, {hi:g}]: need 0 < low ≤ value ≤ "
                                            "high < 1 to read its variance from the CI")
        yi, vi = rate_from_ci(value, lo, hi, lvl, how)
        return yi, vi, "logit", ""
    n = _f(rec.get("n"))
    if math.isnan(n) or n <= 0:
        return math.nan, math.nan, "", "rate without a CI or n"
    yi, vi = prop_logit([value * n], [n])
    return float(yi[0]), float(vi[0]), "logit", ""


def _median(rec: Mapping[str, Any], value: float, lo: float, hi: float, lvl: float
            ) -> tuple[float, float, str, str]:
    unit = rec.get("unit") if not missing(rec.get("unit")) else "months"
    if unit not in TO_MONTHS:
        return math.nan, math.nan, "", f"median with unit {unit!r} (need one of {', '.join(TO_MONTHS)})"
    if not math.isnan(lo) and (math.isnan(hi) or math.isinf(hi)):
        return math.nan, math.nan, "", ("median whose upper CI limit was not reached (NR): its variance "
                                        "cannot be read from an open CI")
    if math.isnan(lo) or math.isnan(hi):
        return math.nan, math.nan, "", "median without a CI"
    if not lo <= value <= hi:  # as for ratios: a CI that misses its estimate is a typo somewhere
        return math.nan, math.nan, "", (f"median {value:g} lies outside its CI [{lo:g}, {hi:g}]: "
                                        "the CI must contain the estimate")
    if not 0 < lo < hi:
        return math.nan, math.nan, "", (f"median {value:g} with CI [{lo:g}, {hi:g}]: a median is pooled on the "
                                        "log scale and needs 0 < low < high")
    f = TO_MONTHS[unit]
    z = _z(lvl)
    return math.log(value * f), ((math.log(hi) - math.log(lo)) / (2 * z)) ** 2, "log_months", ""


#: Scales in sorted order (cells are ordered by their scale code); 0 = no effect size.
SCALE_NAMES = ("", "log", "log_months", "logit")


def effects(df: pd.DataFrame, reasons: Reasons, arm_level_ok: bool, rate_ci: str
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(yi, vi, scale code into :data:`SCALE_NAMES`, is-ratio) arrays; ``reasons`` is updated.

    The common case — a ratio with a valid CI — is computed for all such records at once (the arithmetic
    of :func:`meta.effect_sizes.log_ratio_from_ci`); every other record still to decide goes through
    :func:`record_effect`, which also words the reason when it cannot be pooled.
    """
    n = len(df)
    mcodes, muniq = pd.factorize(df["measure"], use_na_sentinel=True)
    muniq = np.asarray([*muniq, ""], dtype=object)
    is_ratio = np.isin(muniq, RATIO)[mcodes]
    if not arm_level_ok:
        for j, m in enumerate(muniq[:-1]):
            if m in ARM_LEVEL:
                reasons.set(mcodes == j, f"arm-level measure {m!r} is pooled only when 'arm' is in by")
    num = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
           for c in ("value", "ci_low", "ci_high", "ci_level")}
    v, lo, hi = num["value"], num["ci_low"], num["ci_high"]
    lvl = np.where(np.isnan(num["ci_level"]), 0.95, num["ci_level"])
    todo = reasons.kept
    with np.errstate(invalid="ignore"):
        fast = (todo & is_ratio & (v > 0) & (lo > 0) & (hi > 0) & (lo < hi) & (lo <= v) & (v <= hi)
                & (lvl > 0) & (lvl < 1) & np.isfinite(hi))
    yi, vi = np.full(n, math.nan), np.full(n, math.nan)
    scales = np.zeros(n, dtype=np.int64)
    levels = np.unique(lvl[fast])
    for level in levels:
        sel = fast if levels.size == 1 else fast & (lvl == level)
        yi[sel], vi[sel] = log_ratio_from_ci(v[sel], lo[sel], hi[sel], float(level))
    scales[fast] = SCALE_NAMES.index("log")
    slow = np.flatnonzero(todo & ~fast)
    if slow.size:
        for i, rec in zip(slow, df.iloc[slow].to_dict("records"), strict=True):
            yi[i], vi[i], scale, why = record_effect(rec, rate_ci)
            scales[i] = SCALE_NAMES.index(scale)
            if why:
                reasons.codes[i] = reasons.code(why)
    return yi, vi, scales, is_ratio
