"""One contribution per trial per cell: reports, subgroups and multi-arm trials (DESIGN.md "Pooling plan
rules (round 2)").

Within a cell, the records of one trial are resolved in this order:

1. **Whole population first.** A record is at level 0 when it is the cell's own histotype and its
   ``subgroup`` is empty, level 1 when it was rolled up from a subtype (``rollup=True``) with an empty
   ``subgroup``, level 2 when its ``subgroup`` names what narrows the population (``histotype``,
   ``age``, …). Only the best level present is kept; among level-1 records a population whose
   histotypes are a strict subset of another's is a subgroup of it. Each record left out is named.
2. **Latest report.** Among records of one population (histotype, subgroup, subgroup label) the latest
   ``year`` wins, ties broken by input order (the later record): interim and final analyses of one
   population are one contribution.
3. **Subgroups combined within the trial.** Several populations left at level 1 or 2 (a trial seen
   only through its liposarcoma and leiomyosarcoma subgroups in the soft-tissue-sarcoma cell) are
   combined by fixed-effect inverse variance, ŷ = Σwᵢyᵢ/Σwᵢ, v = 1/Σwᵢ, wᵢ = 1/vᵢ (disjoint
   subgroups are independent samples; Borenstein et al. 2009, Introduction to Meta-Analysis, ch. 24,
   "combining subgroups within a study"), never one picked by row order. At level 2 one subgroup
   dimension is used: ``histotype`` when present, else the dimension with most subgroups (then by name).
4. **Multi-arm trials** (several interventions against one comparator in one cell, when
   ``intervention`` is not a key): Cochrane Handbook §23.3.4. ``multi_arm="combine"`` (default) merges
   the experimental arms: the mean of the m log ratios with variance (Σvᵢ + Σ_{i≠j} ρ√(vᵢvⱼ))/m²,
   ρ = 0.5, the correlation of two contrasts sharing a control arm of equal size. ``"split"`` keeps
   each contrast and splits the shared control among them: with equal arms vᵢ′ = vᵢ(1 + m)/2 (the
   control's share 1/n_c becomes m/n_c), and the control's patients are shared out in ``n``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

MULTI_ARM = ("combine", "split")
RHO_SHARED = 0.5

__all__ = ["MULTI_ARM", "contributions", "stable_argsort"]


def _level(r: dict[str, Any]) -> int:
    if r["_sub"]:
        return 2
    return 0 if r["_own"] else 1


def _pop(r: dict[str, Any]) -> tuple[str, str, str]:
    return (r["_hist0"], r["_sub"], r["_sublabel"])


def _desc(r: dict[str, Any]) -> str:
    if r["_sub"]:
        return f"{r['_sub']} subgroup {r['_sublabel'] or '?'}"
    return f"histotype {r['_hist0'] or '?'}"


def _fe(rows: list[dict[str, Any]]) -> tuple[float, float]:
    w = np.array([1.0 / r["_vi"] for r in rows])
    y = np.array([r["_yi"] for r in rows])
    return float(np.sum(w * y) / w.sum()), float(1.0 / w.sum())


def _nsum(rows: list[dict[str, Any]]) -> float:
    ns = [r["n"] for r in rows if not math.isnan(r["n"])]
    return float(sum(ns)) if ns else math.nan


def _arm(rows: list[dict[str, Any]], trial: str, excluded: list[dict[str, Any]]) -> dict[str, Any]:
    """One trial's records of one comparison in one cell → one contribution (rules 1–3)."""
    where = f" in roll-up cell {rows[0]['histotype']!r}" if any(not r["_own"] for r in rows) else ""
    best = min(_level(r) for r in rows)
    kept = [r for r in rows if _level(r) == best]
    if best == 1:  # a population nested in a broader one of the same trial is its subgroup
        sets = {r["_hist0"]: set(r["_hist0"].split("+")) for r in kept}
        kept = [r for r in kept if not any(sets[r["_hist0"]] < s for s in sets.values())]
    whole = max(kept, key=lambda r: (r["_year"], r["_order"]))
    for r in rows:
        if r not in kept:
            what = "whole population" if _level(whole) < 2 else "broader population"
            excluded.append({"record_id": r["record_id"], "reason": (
                f"{_desc(r)} of trial {trial}: the trial's {what} (record {whole['record_id']}) "
                f"stands for it{where}")})
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in sorted(kept, key=lambda r: (r["_year"], r["_order"])):
        latest[_pop(r)] = r
    for r in kept:
        w = latest[_pop(r)]
        if w is not r:
            excluded.append({"record_id": r["record_id"],
                             "reason": f"superseded by {w['record_id']} (same trial {trial}, later report){where}"})
    pops = sorted(latest.values(), key=lambda r: r["_order"])
    note = ""
    if best == 2 and len({r["_sub"] for r in pops}) > 1:
        dims = pd.Series([r["_sub"] for r in pops]).value_counts()
        dim = "histotype" if "histotype" in dims.index else sorted(dims.index, key=lambda d: (-dims[d], d))[0]
        for r in pops:
            if r["_sub"] != dim:
                excluded.append({"record_id": r["record_id"], "reason": (
                    f"{_desc(r)} of trial {trial}: the trial is combined over its {dim} subgroups{where}")})
        pops = [r for r in pops if r["_sub"] == dim]
    if len(pops) == 1:
        yi, vi = pops[0]["_yi"], pops[0]["_vi"]
    else:
        yi, vi = _fe(pops)
        note = (f"{trial}: {len(pops)} subgroups combined within the trial (fixed effect: "
                f"{', '.join(_desc(r) for r in pops)})")
    return {"yi": yi, "vi": vi, "n": _nsum(pops), "ids": [r["record_id"] for r in pops],
            "order": min(r["_order"] for r in pops), "note": note,
            "arm": (pops[0]["intervention"], pops[0]["comparator"])}


def _resolve(rows: list[dict[str, Any]], multi_arm: str, excluded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    trial = rows[0]["_trial"]
    arms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        arms.setdefault((r["intervention"], r["comparator"]), []).append(r)
    out = [_arm(a, trial, excluded) for a in arms.values()]
    for c in out:
        c["trial"] = trial
    m = len(out)
    if m == 1:
        return out
    out.sort(key=lambda c: c["order"])
    labels = ", ".join(f"{i} vs {c}" for i, c in (o["arm"] for o in out))
    ns = [c["n"] for c in out]
    if multi_arm == "combine":
        y = np.array([c["yi"] for c in out])
        v = np.array([c["vi"] for c in out])
        sv = np.sqrt(v)
        cov = RHO_SHARED * (np.sum(np.outer(sv, sv)) - np.sum(v))
        n = math.nan if any(math.isnan(x) for x in ns) else sum(ns) / 2 + float(np.mean(ns)) / 2
        return [{"yi": float(y.mean()), "vi": float((v.sum() + cov) / m**2), "n": n, "trial": trial,
                 "ids": [i for c in out for i in c["ids"]], "order": out[0]["order"],
                 "note": f"{trial}: {m} arms against a shared comparator combined (Cochrane Handbook "
                         f"23.3.4; {labels})"}]
    for c in out:
        c["vi"] = c["vi"] * (1 + m) / 2
        c["n"] = c["n"] * (1 + 1 / m) / 2
        c["trial"] = f"{trial} [{c['arm'][0]} vs {c['arm'][1]}]"
        c["note"] = (f"{trial}: shared comparator split over {m} arms (Cochrane Handbook 23.3.4; "
                     f"variance × {(1 + m) / 2:g})")
    return out


def contributions(rows: pd.DataFrame, labels: dict[str, np.ndarray], multi_arm: str = "combine"
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One row per (cell, trial contribution) and the records left out, with reasons.

    ``rows`` holds the poolable records as codes: ``_cell``, ``_trial`` (into ``labels["trial"]``),
    ``_yi``, ``_vi``, ``_year``, ``_order``, ``_own``, ``_hist0`` (into ``labels["hist"]``), ``_hist``
    (into ``labels["hvocab"]``), ``_sub``/``_sublabel`` (into ``labels["sub"]``/``["sublabel"]``),
    ``_iv``/``_cp`` (into ``labels["agent"]``), ``n`` and ``_rid`` (into ``labels["rid"]``, the record
    ids). A trial with one record in a cell (the common case) is handled column-wise; Python resolves
    only the rest.

    Returns
    -------
    (dict, list)
        Arrays ``_cell``, ``trial``, ``yi``, ``vi``, ``n``, ``ids`` (a record id, or a list of them),
        ``order``, ``note``, sorted by cell then input order, and ``all_single`` (every contribution
        is one record); the excluded records as ``{"record_id", "reason"}``.
    """
    if multi_arm not in MULTI_ARM:
        raise ValueError(f"Invalid multi_arm {multi_arm!r}; must be one of {', '.join(MULTI_ARM)}")
    tcode = rows["_trial"].to_numpy(dtype=np.int64)
    cell = rows["_cell"].to_numpy(dtype=np.int64)
    dup = pd.Series(cell * (int(tcode.max(initial=0)) + 1) + tcode).duplicated(keep=False).to_numpy()
    if not dup.any():  # every trial one record per cell: the rows in cell order, each label gathered once
        return _single(rows, cell, labels), []
    s = rows[~dup]
    parts = [{"_cell": s["_cell"].to_numpy(), "trial": labels["trial"][s["_trial"].to_numpy()],
              "yi": s["_yi"].to_numpy(), "vi": s["_vi"].to_numpy(), "n": s["n"].to_numpy(dtype=float),
              "ids": labels["rid"][s["_rid"].to_numpy()], "order": s["_order"].to_numpy(),
              "note": np.full(len(s), "", dtype=object)}]
    excluded: list[dict[str, Any]] = []
    rest = rows[dup]
    recs = pd.DataFrame({
        "_cell": rest["_cell"].to_numpy(), "_g": cell[dup] * (int(tcode.max(initial=0)) + 1) + tcode[dup],
        "_trial": labels["trial"][rest["_trial"].to_numpy()], "_yi": rest["_yi"].to_numpy(),
        "_vi": rest["_vi"].to_numpy(), "_year": rest["_year"].to_numpy(), "_order": rest["_order"].to_numpy(),
        "_own": rest["_own"].to_numpy(), "_hist0": labels["hist"][rest["_hist0"].to_numpy()],
        "histotype": labels["hvocab"][rest["_hist"].to_numpy()], "_sub": labels["sub"][rest["_sub"].to_numpy()],
        "_sublabel": labels["sublabel"][rest["_sublabel"].to_numpy()],
        "intervention": labels["agent"][rest["_iv"].to_numpy()],
        "comparator": labels["agent"][rest["_cp"].to_numpy()], "n": rest["n"].to_numpy(dtype=float),
        "record_id": labels["rid"][rest["_rid"].to_numpy()]})
    out_rows = []
    for _, grp in recs.groupby("_g", sort=False):
        rs = grp.to_dict("records")
        for c in _resolve(rs, multi_arm, excluded):
            out_rows.append({"_cell": rs[0]["_cell"], "trial": c["trial"], "yi": c["yi"], "vi": c["vi"],
                             "n": c["n"], "ids": c["ids"], "order": c["order"], "note": c["note"]})
    more = {c: np.array([r[c] for r in out_rows], dtype=object if c in ("trial", "note") else None)
            for c in ("_cell", "trial", "yi", "vi", "n", "order", "note")}
    more["ids"] = np.empty(len(out_rows), dtype=object)
    more["ids"][:] = [r["ids"] for r in out_rows]
    parts.append(more)
    out = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    # cells in order, contributions in input order within a cell (the resolved trials were appended)
    order = np.lexsort((out["order"], out["_cell"]))
    out = {c: v[order] for c, v in out.items()}
    out["all_single"] = False
    return out, excluded


def stable_argsort(codes: np.ndarray) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` for non-negative integer codes, in less time: each key made unique
    (code × n + position), numpy's faster unstable sort has only the stable order to give."""
    n = codes.size
    if not n or int(codes.min()) < 0 or int(codes.max()) >= (1 << 62) // n:
        return np.argsort(codes, kind="stable")
    return np.argsort(codes.astype(np.int64) * n + np.arange(n, dtype=np.int64))


def _single(rows: pd.DataFrame, cell: np.ndarray, labels: dict[str, np.ndarray]
            ) -> dict[str, Any]:
    """:func:`contributions` when every contribution is one record: the rows in cell order (input order
    within a cell), the labels of the reordered codes gathered once."""
    order = None if (np.diff(cell) >= 0).all() else stable_argsort(cell)  # None: already grouped by cell

    def col(name: str, dtype: Any = None) -> np.ndarray:  # a column of ``rows`` in cell order
        a = rows[name].to_numpy(dtype=dtype)
        return a if order is None else a[order]

    return {"_cell": cell if order is None else cell[order], "trial": labels["trial"][col("_trial")],
            "yi": col("_yi"), "vi": col("_vi"), "n": col("n", float), "ids": labels["rid"][col("_rid")],
            "order": col("_order"), "note": np.full(len(cell), "", dtype=object), "all_single": True}
