"""Pool a table of evidence records: one random-effects meta-analysis per cell, all in one call.

Implements DESIGN.md "Pooling plan". ``meta`` imports nothing of the project: records arrive as a
DataFrame or an iterable of dicts with the evidence-record field names, and the histotype hierarchy
for ``rollup`` is passed in by the caller.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from meta._checks import METHODS, TESTS, check_choice, check_level
from meta.effect_sizes import back_transform_logit, log_hr_from_p, log_ratio_from_ci, prop_logit, var_from_ci
from meta.pooling import __version__, pool_many

RATIO = ("HR", "OR", "RR")
ARM_LEVEL = ("rate", "median")
TO_MONTHS = {"months": 1.0, "weeks": 12.0 / 52.0, "days": 12.0 / 365.25, "years": 12.0}
RESULT_FIELDS = (
    "estimate", "se", "ci_low", "ci_high", "p_value", "stat", "tau2", "tau2_ci_low", "tau2_ci_high",
    "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high",
)  # fmt: skip
ONE_SIDED = "one-sided CI (flag one_sided_ci): its variance cannot be read as two-sided"
EXP_FIELDS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
_NCT = re.compile(r"NCT\d{8}", re.IGNORECASE)
_OPTIONAL = ("source_id", "trial", "year", "histotypes", "intervention", "comparator", "arm", "endpoint",
             "unit", "ci_low", "ci_high", "ci_level", "p_value", "p_relation", "n", "status",
             "timepoint_months")  # fmt: skip


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def _histotype_key(h: Any) -> str:
    if _missing(h):
        return ""
    if isinstance(h, str):
        h = json.loads(h) if h.strip().startswith("[") else [h]
    return "+".join(sorted({str(x) for x in h}))


def trial_identity(source_id: Any, trial: Any) -> str:
    """Trial identity: a registry id (``NCT…``) in source_id or trial, else trial, else source_id.

    Examples
    --------
    >>> trial_identity("PMID:1", "PALETTE (NCT00753688)"), trial_identity("PMID:1", "EORTC 62072")
    ('NCT00753688', 'trial:EORTC 62072')
    """
    for field in (source_id, trial):
        m = None if _missing(field) else _NCT.search(str(field))
        if m:
            return m.group(0).upper()
    if not _missing(trial) and str(trial).strip():
        return f"trial:{str(trial).strip()}"
    return f"source:{source_id}"


def _f(x: Any) -> float:
    return math.nan if _missing(x) else float(x)


def record_effect(rec: Mapping[str, Any]) -> tuple[float, float, str, str]:
    """(yi, vi, scale, reason-if-excluded) of one record, by the rules of :func:`pool_table`.

    Ratios: log scale from the CI (any ``ci_level``), else from an exact two-sided p; rates: logit
    with ``n``; medians: months with the variance from their CI. ``scale`` is ``log``, ``logit`` or
    ``months``; ``reason`` is empty when the record can be pooled.

    Examples
    --------
    >>> yi, vi, scale, reason = record_effect({"measure": "HR", "value": 0.5, "ci_low": 0.25, "ci_high": 1.0,
    ...                                        "ci_level": 0.95, "p_value": None, "p_relation": None})
    >>> round(yi, 4), round(vi, 4), scale, reason
    (-0.6931, 0.1251, 'log', '')
    """
    measure, value = rec["measure"], _f(rec["value"])
    lo, hi, lvl = _f(rec["ci_low"]), _f(rec["ci_high"]), _f(rec["ci_level"])
    lvl = 0.95 if math.isnan(lvl) else lvl
    if not math.isfinite(value):
        return math.nan, math.nan, "", f"{measure} without a finite value"
    flags = rec.get("flags")
    if isinstance(flags, list | tuple) and "one_sided_ci" in flags:
        return math.nan, math.nan, "", ONE_SIDED
    try:
        if measure in RATIO:
            if not (math.isnan(lo) or math.isnan(hi)):
                yi, vi = log_ratio_from_ci([value], [lo], [hi], lvl, name=measure)
            elif not math.isnan(_f(rec["p_value"])) and rec["p_relation"] == "=":
                yi, vi = log_hr_from_p([value], [_f(rec["p_value"])])
            else:
                return math.nan, math.nan, "", f"{measure} without a CI or an exact p value (p_relation '=')"
            return float(yi[0]), float(vi[0]), "log", ""
        if measure == "rate":
            n = _f(rec["n"])
            if math.isnan(n) or n <= 0:
                return math.nan, math.nan, "", "rate without n"
            yi, vi = prop_logit([value * n], [n])
            return float(yi[0]), float(vi[0]), "logit", ""
        if measure == "median":
            unit = rec["unit"] if not _missing(rec["unit"]) else "months"
            if unit not in TO_MONTHS:
                return math.nan, math.nan, "", f"median with unit {unit!r} (need one of {', '.join(TO_MONTHS)})"
            if math.isnan(lo) or math.isnan(hi):
                return math.nan, math.nan, "", "median without a CI"
            if not lo <= value <= hi:  # as for ratios: a CI that misses its estimate is a typo somewhere
                return math.nan, math.nan, "", (f"median {value:g} lies outside its CI [{lo:g}, {hi:g}]: "
                                                "the CI must contain the estimate")
            f = TO_MONTHS[unit]
            return value * f, float(var_from_ci([lo * f], [hi * f], lvl)[0]), "months", ""
    except ValueError as exc:
        return math.nan, math.nan, "", str(exc)
    return math.nan, math.nan, "", f"unsupported measure {measure!r}"


def _effects(df: pd.DataFrame, statuses: tuple[str, ...], arm_level_ok: bool
             ) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """(reason-if-excluded, yi, vi, scale) of every record, in row order.

    The common case — a ratio with a valid CI — is computed for all records at once (the same
    arithmetic as :func:`log_ratio_from_ci`); every other record goes through :func:`record_effect`, which
    also words the reason when a record cannot be pooled.
    """
    n = len(df)
    status = np.array(["extracted" if _missing(x) else x for x in df["status"].tolist()], dtype=object)
    measure = np.array(df["measure"].tolist(), dtype=object)
    reasons = [""] * n
    for i in range(n):
        if status[i] == "rejected":
            reasons[i] = "status 'rejected': never pooled"
        elif status[i] not in statuses:
            reasons[i] = f"status {status[i]!r} not in statuses {statuses}"
        elif measure[i] in ARM_LEVEL and not arm_level_ok:
            reasons[i] = f"arm-level measure {measure[i]!r} is pooled only when 'arm' is in by"
    num = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
           for c in ("value", "ci_low", "ci_high", "ci_level")}
    v, lo, hi = num["value"], num["ci_low"], num["ci_high"]
    lvl = np.where(np.isnan(num["ci_level"]), 0.95, num["ci_level"])
    if "flags" in df.columns:  # a one-sided CI read as two-sided would halve the variance
        for i, flags in enumerate(df["flags"].tolist()):
            if not reasons[i] and isinstance(flags, list | tuple) and "one_sided_ci" in flags:
                reasons[i] = ONE_SIDED
    todo = np.array([not r for r in reasons], dtype=bool)
    with np.errstate(invalid="ignore"):
        fast = (todo & np.isin(measure, RATIO) & (v > 0) & (lo > 0) & (hi > 0) & (lo < hi)
                & (lo <= v) & (v <= hi) & (lvl > 0) & (lvl < 1))
    yi, vi = np.full(n, math.nan), np.full(n, math.nan)
    scales = [""] * n
    for level in np.unique(lvl[fast]):
        sel = fast & (lvl == level)
        yi[sel], vi[sel] = log_ratio_from_ci(v[sel], lo[sel], hi[sel], float(level))
    for i in np.flatnonzero(fast):
        scales[i] = "log"
    slow = np.flatnonzero(todo & ~fast)
    if slow.size:
        for i, rec in zip(slow, df.iloc[slow].to_dict("records"), strict=True):
            yi[i], vi[i], scales[i], reasons[i] = record_effect(rec)
    return reasons, yi, vi, scales


def _ancestors(key: str, parents: Mapping[str, str]) -> list[str]:
    """Histotype keys of each roll-up level above ``key`` (each member mapped to its parent)."""
    out, seen, cur = [], {key}, key
    while True:
        nxt = "+".join(sorted({parents.get(h, h) for h in cur.split("+")})) if cur else cur
        if nxt in seen:
            return out
        out.append(nxt)
        seen.add(nxt)
        cur = nxt


def pool_table(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    by: Sequence[str] = ("histotype", "intervention", "comparator", "endpoint", "measure"),
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    rollup: bool = False,
    statuses: Sequence[str] = ("extracted", "accepted", "edited"),
    parents: Mapping[str, str] | None = None,
    *,
    stepadj: float = 1.0,
) -> pd.DataFrame:
    """Pool every cell of an evidence table (DESIGN.md "Pooling plan") in one vectorised call.

    Rules, in order:

    1. Records with status ``rejected``, or a status not in ``statuses``, are never pooled.
    2. ``histotype`` is the record's ``histotypes`` sorted and joined with ``+``.
    3. Between-arm measures (HR, OR, RR) are pooled on the log scale, yi/vi from the value and its CI
       (``ci_level`` honoured, 0.95 if missing), else from an exact two-sided p (``p_relation`` "=",
       never "<"), else the record is excluded. Arm-level measures are pooled only when ``"arm"`` is
       in ``by``: ``rate`` as a logit proportion with x = value·n (needs n), ``median`` converted to
       months (weeks × 12/52, days × 12/365.25, years × 12) with the variance from its CI. Cells
       never mix these three scales (the scale is an implicit key). Rates at different timepoints mix
       unless ``timepoint_months`` is in ``by``.
    4. One contribution per trial per cell. A trial is its registry id (``NCT…`` in source_id or
       trial), else ``trial``, else ``source_id``. Among several reports of one trial in a cell the
       latest wins: highest ``year`` (missing year counts as oldest), ties broken by input order
       (the later record wins). The others are excluded as superseded.
    5. ``rollup=True`` (needs ``"histotype"`` in ``by`` and ``parents``, a child → parent mapping)
       also pools each subtype into its parent, level by level: the parent's cell then holds its own
       records plus its subtypes' (rule 4 applied again, a record of the parent's own histotype
       winning over a subtype record of the same trial), marked ``rollup=True``.
    6. Cells with k >= 2 are pooled in one :func:`meta.pooling.pool_many` call; cells with k = 1
       are listed with k = 1 and NaN results.

    Parameters
    ----------
    records : DataFrame or iterable of dict
        Evidence records (DESIGN.md field names).
    by : sequence of str
        Grouping keys: ``histotype`` or any record field.
    method, test, level
        As :func:`meta.pool`.
    rollup : bool
    statuses : sequence of str
        Curation states that may be pooled.
    parents : mapping, optional
        Histotype child → parent, e.g. ``{"dedifferentiated_liposarcoma": "liposarcoma"}``.
    stepadj : float
        Fisher-scoring step factor, passed to :func:`meta.pooling.pool_many`. At the default 1.0, a
        REML/ML cell whose scoring oscillates is refitted once with 0.5 (metafor's remedy; the
        ``stepadj`` column says which step each cell used); a cell that still fails is flagged
        ``converged=False`` with a warning. Any other value is used as given, without retry.

    Returns
    -------
    DataFrame
        One row per cell: the keys, ``scale`` (log / logit / months), ``timepoint_months`` (always a key),
        ``rollup``, k, n_total, every
        pooled field on the analysis scale, ``estimate_exp``, ``ci_low_exp``, ``ci_high_exp``,
        ``pi_low_exp``, ``pi_high_exp`` on the reporting scale (exp for ratios, inverse logit for
        rates, months for medians), ``weights`` (percent), ``converged``, ``record_ids``, ``trials``,
        method, test, level, version. ``df.attrs["excluded"]`` lists ``{"record_id", "reason"}``.

    Examples
    --------
    >>> recs = [dict(record_id=f"r{i}", source_id=f"PMID:{i}", histotypes=["leiomyosarcoma"],
    ...              intervention="trabectedin", comparator="dacarbazine", arm="contrast",
    ...              endpoint="PFS", measure="HR", value=v, ci_low=lo, ci_high=hi, status="accepted")
    ...         for i, (v, lo, hi) in enumerate([(0.55, 0.44, 0.70), (0.70, 0.50, 0.98)])]
    >>> out = pool_table(recs)
    >>> int(out.loc[0, "k"]), round(float(out.loc[0, "estimate_exp"]), 3)
    (2, 0.601)
    """
    check_choice(method, METHODS, "method")
    check_choice(test, TESTS, "test")
    level = check_level(level)
    df = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    by = list(by)
    if not by:
        raise ValueError("by must name at least one key")
    for key in by:
        if key != "histotype" and key not in df.columns and key not in _OPTIONAL:
            raise ValueError(f"Invalid grouping key {key!r}; must be 'histotype' or a record field")
    if rollup and ("histotype" not in by or parents is None):
        raise ValueError("rollup=True needs 'histotype' in by and a parents mapping (child -> parent)")
    for col in ("record_id", "measure", "value"):
        if col not in df.columns:
            raise ValueError(f"records lack the required field {col!r}")
    for col in set(_OPTIONAL) | set(by) - {"histotype"}:
        if col not in df.columns:
            df[col] = None
    df = df.reset_index(drop=True)
    df["_order"] = np.arange(len(df))

    excluded: list[dict[str, Any]] = []
    reasons, yis, vis, scales = _effects(df, tuple(statuses), "arm" in by)
    for rid, reason in zip(df["record_id"].tolist(), reasons, strict=True):
        if reason:
            excluded.append({"record_id": rid, "reason": reason})
    keep = [not r for r in reasons]
    df["_yi"], df["_vi"], df["scale"] = yis, vis, scales
    df = df[np.asarray(keep, dtype=bool)].copy()
    # .tolist() first: iterating an Arrow-backed string column item by item is slow
    df["histotype"] = [_histotype_key(h) for h in df["histotypes"].tolist()]
    df["_trial"] = [trial_identity(s, t) for s, t in zip(df["source_id"].tolist(), df["trial"].tolist(), strict=True)]
    df["rollup"] = False
    df["_own"] = 1  # 1: the record's own histotype cell; 0: a copy rolled up from a subtype
    # a landmark rate at 12 months and one at 60 are different questions: the timepoint always splits
    # cells (like the scale), whether or not the caller groups by it
    keys = [*by, "scale", *(() if "timepoint_months" in by else ("timepoint_months",))]
    for key in dict.fromkeys([*by, "timepoint_months"]):
        df[key] = ["" if _missing(x) else x for x in df[key].tolist()]
    if rollup and len(df):
        assert parents is not None
        extra = []
        for _, row in df.iterrows():
            for anc in _ancestors(row["histotype"], parents):
                extra.append({**row.to_dict(), "histotype": anc, "rollup": True, "_own": 0})
        if extra:
            df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
            # a parent cell that receives subtype records is the rolled-up cell (its own records included)
            rolled = df.groupby(keys, sort=False)["rollup"].transform("any")
            df["rollup"] = rolled
    # one contribution per trial per cell: a record of the cell's own histotype before one rolled up
    # from a subtype (the trial's whole population beats its subgroup), then latest year, then input order
    df["_year"] = pd.to_numeric(df["year"], errors="coerce").fillna(-np.inf)
    df = df.sort_values(["_own", "_year", "_order"], kind="stable")
    dup = df.duplicated([*keys, "_trial"], keep="last")
    cols = [*keys, "_trial"]
    winners = {tuple(r[:-1]): r[-1] for r in df.loc[~dup, [*cols, "record_id"]].itertuples(index=False)}
    for _, row in df[dup].iterrows():
        winner = winners[tuple(row[c] for c in cols)]
        where = "" if not row["rollup"] else f" in roll-up cell {row['histotype']!r}"
        excluded.append({"record_id": row["record_id"],
                         "reason": f"superseded by {winner} (same trial {row['_trial']}, later report){where}"})
    df = df[~dup].sort_values("_order", kind="stable")
    return _pool_cells(df, keys, method, test, level, excluded, stepadj)


def _pool_with_retry(Y: np.ndarray, V: np.ndarray, M: np.ndarray, method: str, test: str, level: float,
                     stepadj: float, steps: np.ndarray, multi: np.ndarray) -> Any:
    """:func:`pool_many`, refitting cells whose REML/ML Fisher scoring oscillated with half steps.

    metafor stops on such a cell and advises ``control=list(stepadj=0.5)``; we apply that remedy to
    those cells only, record it in ``steps`` (the ``stepadj`` column), and warn about the cells that
    still do not converge. A caller who set ``stepadj`` gets exactly that, with no retry.
    """
    if stepadj != 1.0 or method not in ("REML", "ML"):
        return pool_many(Y, V, M, method, test, level, stepadj=stepadj, _stacklevel=5)
    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        pooled = pool_many(Y, V, M, method, test, level, stepadj=stepadj)
    bad = np.flatnonzero(~pooled.converged)
    keep = first
    if bad.size:
        with warnings.catch_warnings(record=True) as second:
            warnings.simplefilter("always")
            again = pool_many(Y[bad], V[bad], M[bad], method, test, level, stepadj=0.5)
        fixed = again.converged
        for f in (*RESULT_FIELDS, "weights", "converged"):
            getattr(pooled, f)[bad[fixed]] = getattr(again, f)[fixed]
        steps[multi[bad[fixed]]] = 0.5
        keep = [w for w in first if "did not converge within maxiter" not in str(w.message)] + list(second)
        if fixed.any():
            keep.append(warnings.WarningMessage(
                f"{method} Fisher scoring oscillated in {bad.size} cell(s); refitted with step halving "
                f"(stepadj=0.5, metafor's remedy): {int(fixed.sum())} converged", RuntimeWarning, __file__, 0))
    for w in keep:
        warnings.warn(w.message, w.category, stacklevel=4)  # the caller of pool_table
    return pooled


def _pool_cells(
    df: pd.DataFrame,
    keys: list[str],
    method: str,
    test: str,
    level: float,
    excluded: list[dict[str, Any]],
    stepadj: float,
) -> pd.DataFrame:
    if df.empty:
        out = pd.DataFrame(columns=[*keys, "rollup", "k", "n_total", *RESULT_FIELDS])
        out.attrs["excluded"] = excluded
        return out
    g = df.groupby(keys, sort=True, dropna=False)
    cell = g.ngroup().to_numpy()
    pos = g.cumcount().to_numpy()
    n_cells = int(cell.max()) + 1
    k = np.bincount(cell, minlength=n_cells)
    # per-cell aggregates with array arithmetic (a groupby with Python callables dominated the time)
    first = np.unique(cell, return_index=True)[1]  # first row of each cell, cells in sorted key order
    cells = df.iloc[first][keys].reset_index(drop=True)
    cells["rollup"] = np.bincount(cell, weights=df["rollup"].to_numpy(dtype=float), minlength=n_cells) > 0
    n_num = pd.to_numeric(df["n"], errors="coerce").to_numpy(dtype=float)
    has_n = ~np.isnan(n_num)
    n_sum = np.bincount(cell[has_n], weights=n_num[has_n], minlength=n_cells)
    cells["n_total"] = np.where(np.bincount(cell[has_n], minlength=n_cells) > 0, n_sum, np.nan)
    order = np.argsort(cell, kind="stable")  # rows of each cell in their input order
    bounds = np.cumsum(k)[:-1]
    cells["record_ids"] = [list(x) for x in np.split(np.asarray(df["record_id"].tolist(), dtype=object)[order], bounds)]
    cells["trials"] = [list(x) for x in np.split(np.asarray(df["_trial"].tolist(), dtype=object)[order], bounds)]
    cells.insert(len(keys) + 1, "k", k)
    res = {f: np.full(n_cells, np.nan) for f in RESULT_FIELDS}
    steps = np.full(n_cells, float(stepadj))  # the Fisher-scoring step factor each cell was fitted with
    conv = np.ones(n_cells, dtype=bool)
    weights: list[list[float]] = [[math.nan] for _ in range(n_cells)]
    multi = np.flatnonzero(k >= 2)
    if multi.size:
        row = np.full(n_cells, -1)
        row[multi] = np.arange(multi.size)
        use = k[cell] >= 2
        kmax = int(k[multi].max())
        Y = np.zeros((multi.size, kmax))
        V = np.ones((multi.size, kmax))
        M = np.zeros((multi.size, kmax), dtype=bool)
        r, c = row[cell[use]], pos[use]
        Y[r, c], V[r, c], M[r, c] = df["_yi"].to_numpy()[use], df["_vi"].to_numpy()[use], True
        pooled = _pool_with_retry(Y, V, M, method, test, level, stepadj, steps, multi)
        for f in RESULT_FIELDS:
            res[f][multi] = getattr(pooled, f)
        conv[multi] = pooled.converged
        for i, j in enumerate(multi):
            weights[j] = pooled.weights[i, : k[j]].tolist()
    for f in RESULT_FIELDS:
        cells[f] = res[f]
    scale = cells["scale"].to_numpy()
    for f in EXP_FIELDS:
        x = res[f]
        cells[f"{f}_exp"] = np.where(
            scale == "log", np.exp(x), np.where(scale == "logit", back_transform_logit(x), x)
        )
    cells["weights"] = weights
    cells["stepadj"] = steps
    cells["converged"] = conv
    cells["method"], cells["test"], cells["level"], cells["version"] = method, test, level, __version__
    cells.attrs["excluded"] = excluded
    return cells
