"""Pool a table of evidence records: one meta-analysis per cell, all in one call.

Implements DESIGN.md "Pooling plan" and "Pooling plan rules (round 2)". ``meta`` imports nothing of the
project: records arrive as a DataFrame or an iterable of dicts with the evidence-record field names; the
histotype hierarchy (``parents``) and the trials vocabulary (``trial_aliases``) are passed in by the
caller. The rules live in small modules: :mod:`meta.records` (which records, their effect sizes),
:mod:`meta.identity` (which trial), :mod:`meta.plan` (one contribution per trial), :mod:`meta.cells`
(the model of each cell and the pooling). Record handling is column-wise (factorised codes, NumPy),
so the records path costs about as much as the array core.
"""

from __future__ import annotations

import functools
import gc
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from meta._checks import METHODS, TESTS, check_choice, check_level
from meta.cells import EXP_FIELDS, RESULT_FIELDS, pool_cells
from meta.classes import ComparisonClasses, apply_classes
from meta.identity import trial_codes, trial_identity
from meta.plan import MULTI_ARM, contributions
from meta.records import (
    DEFAULT_STATUSES,
    ONE_SIDED,
    RATE_CI,
    SCALE_NAMES,
    SCALES,
    TO_MONTHS,
    effects,
    record_effect,
    select,
)  # fmt: skip

__all__ = ["DEFAULT_BY", "TO_MONTHS", "excluded_frame", "pool_table", "record_effect", "trial_identity"]

DEFAULT_BY: tuple[str, ...] = ("histotype", "intervention", "comparator", "endpoint", "measure", "setting", "line")
POOL_METHODS = ("FE", *METHODS)
PI_KINDS = ("t", "z")
CONTROLS = ("placebo", "best_supportive_care", "observation")
_ = (RESULT_FIELDS, EXP_FIELDS, ONE_SIDED)  # re-exported names other modules import from here
_OPTIONAL = ("source_id", "trial", "year", "histotypes", "intervention", "comparator", "arm", "endpoint",
             "unit", "ci_low", "ci_high", "ci_level", "p_value", "p_relation", "n", "status",
             "timepoint_months", "flags", "design", "registry_ids", "subgroup", "subgroup_label",
             "p_sided", "setting", "line")  # fmt: skip


def excluded_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The records :func:`pool_table` left out, one row each: ``record_id``, ``reason``."""
    return pd.DataFrame(table.attrs.get("excluded", []), columns=["record_id", "reason"])


class _Codes:
    """A column as dense integer codes and its values (missing → ``""``), values in sorted order."""

    __slots__ = ("codes", "vocab")

    def __init__(self, codes: np.ndarray, values: np.ndarray) -> None:
        self.codes, self.vocab = codes, values

    @classmethod
    def of(cls, col: pd.Series | np.ndarray, extra: Sequence[Any] = ()) -> _Codes:
        """Factorise ``col`` (sorted); ``extra`` values join the vocabulary (kept sorted)."""
        codes, uniq = pd.factorize(col, sort=True, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        values = np.asarray(uniq, dtype=object)
        if (codes < 0).any() or len(extra):
            add = [x for x in ("", *extra) if x not in set(values.tolist())]
            if not (codes < 0).any() and "" in add and "" not in extra:
                add.remove("")
            if add:
                try:
                    merged = np.array(sorted([*values.tolist(), *add]), dtype=object)
                except TypeError:  # mixed numbers and text: the text ("") first
                    merged = np.array([*[a for a in add if isinstance(a, str)], *values.tolist(),
                                       *[a for a in add if not isinstance(a, str)]], dtype=object)
                pos = {v: i for i, v in enumerate(merged.tolist())}
                remap = np.array([pos[v] for v in values.tolist()] + [pos.get("", 0)], dtype=np.int64)
                codes, values = remap[codes], merged
            else:
                blank = int(np.flatnonzero(values == "")[0]) if (codes < 0).any() else 0
                codes = np.where(codes < 0, blank, codes)
        return cls(codes, values)

    def take(self, rows: np.ndarray) -> _Codes:
        return _Codes(self.codes[rows], self.vocab)


def _combine(parts: Sequence[np.ndarray], cards: Sequence[int]) -> np.ndarray:
    """Dense codes of the row tuples of ``parts`` (each ``0..card-1``), in lexicographic order."""
    n = len(parts[0]) if parts else 0
    code = np.zeros(n, dtype=np.int64)
    size = 1
    for c, m in zip(parts, cards, strict=True):
        code = code * max(m, 1) + c
        size *= max(m, 1)
        if size > 1 << 40:
            code = np.unique(code, return_inverse=True)[1].astype(np.int64)
            size = int(code.max(initial=0)) + 1
    if size <= 4 * n + (1 << 20):  # order-preserving compaction without a sort
        present = np.zeros(size, dtype=bool)
        present[code] = True
        rank = np.zeros(size, dtype=np.int64)  # each present code's rank among the present ones
        where = np.flatnonzero(present)
        rank[where] = np.arange(where.size, dtype=np.int64)
        return rank[code]
    return np.unique(code, return_inverse=True)[1].astype(np.int64)


def _flat(col: pd.Series) -> np.ndarray:
    """Object array of list cells as tuples (hashable), other cells as they are."""
    a = col.to_numpy(dtype=object)
    if set(map(type, a)) <= {list}:
        out = np.empty(len(a), dtype=object)
        out[:] = list(map(tuple, a))
        return out
    conv = [tuple(x) if isinstance(x, list | tuple) else tuple(x.tolist()) if isinstance(x, np.ndarray) else x
            for x in a]
    out = np.empty(len(a), dtype=object)
    out[:] = conv
    return out


def _histotype_codes(h: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per record, the index of its histotype key (``histotypes`` sorted and ``+``-joined) in the list."""
    a = h.to_numpy(dtype=object)
    if set(map(type, a)) <= {list}:  # the store and JSONL: lists, joined in C then factorised
        codes, uniq = pd.factorize(np.array(list(map("\x1f".join, a)), dtype=object))
        items_of = [u.split("\x1f") if u else [] for u in uniq]
    else:
        codes, uniq = pd.factorize(_flat(h), use_na_sentinel=True)
        items_of = [(json.loads(u) if u.strip().startswith("[") else [u]) if isinstance(u, str) else list(u)
                    for u in uniq]
    keys = ["+".join(sorted({str(x) for x in items})) for items in items_of]
    keys.append("")
    return np.where(codes < 0, len(keys) - 1, codes), keys


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


def _gc_paused(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Run ``fn`` with the cyclic garbage collector paused (restored after, whatever happens).

    :func:`pool_table` builds many small result lists and creates no reference cycles; a full
    collection triggered meanwhile would walk every list cell of the input records (their
    histotypes and flags) for nothing, several times per call (a third of the time at 5,000 cells).
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> pd.DataFrame:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


@_gc_paused
def pool_table(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    by: Sequence[str] = DEFAULT_BY,
    method: str | None = None,
    test: str | None = None,
    level: float = 0.95,
    rollup: bool = False,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    parents: Mapping[str, str] | None = None,
    *,
    pi: str | None = None,
    stepadj: float = 1.0,
    maxiter: int = 100,
    trial_aliases: Mapping[str, str] | None = None,
    include_flagged: bool = False,
    multi_arm: str = "combine",
    rate_ci: str = "auto",
    studies: bool = False,
    classes: ComparisonClasses | Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Pool every cell of an evidence table (DESIGN.md "Pooling plan", round 2 rules) in one call.

    Rules, in order:

    0. **Question**: prognostic-factor records (``question = "prognostic"``) are pooled only when
       ``"factor"`` is among the keys, treatment records only when it is not.
    1. **Records** (:mod:`meta.records`): statuses in ``statuses`` (default ``accepted``/``edited``;
       ``rejected`` never); none flagged ``hr_not_log_midpoint``, ``p_disagrees_with_ci`` or
       ``value_outside_ci`` unless ``include_flagged``; never ``one_sided_ci``; designs
       ``meta_analysis``/``pooled_analysis`` listed in ``attrs["syntheses"]``, not pooled.
    2. **Effect sizes** (:func:`meta.records.record_effect`): ratios on the log scale; with ``"arm"``
       in ``by``, rates as logit proportions (from their reported CI when given, ``rate_ci``) and
       medians on the log scale of months. The scale and ``timepoint_months`` are always keys.
    3. **Keys**: ``by`` (default histotype, intervention, comparator, endpoint, measure, setting,
       line) plus ``measure`` always. ``histotype`` is ``histotypes`` sorted and ``+``-joined. A
       comparison reported the other way round is inverted into its cell (column ``inverted``).
    4. **One contribution per trial per cell** (:mod:`meta.identity`, :mod:`meta.plan`): the trial's
       whole population before any subgroup, the latest report of one population, subgroups combined
       within the trial (fixed effect), multi-arm trials by ``multi_arm`` (Cochrane §23.3.4).
    5. ``rollup=True`` (needs ``"histotype"`` in ``by`` and ``parents``, child → parent) also pools each
       subtype into its parent, level by level (``rollup`` column).
    6. **Model** (:mod:`meta.cells`): with neither ``method`` nor ``test`` given, the few-study
       defaults per cell (k = 2 common effect; 3–4 REML + HKSJ ad hoc; ≥ 5 REML + HKSJ + t PI); else
       the given model for every cell. k = 1 cells are listed with NaN results.

    Parameters
    ----------
    records : DataFrame or iterable of dict
    by : sequence of str
    method : {"FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB"}, optional
    test : {"z", "knha", "adhoc"}, optional
    level : float
    rollup : bool
    statuses : sequence of str
    parents : mapping, optional
    pi : {"t", "z"}, optional
        Prediction interval (:func:`meta.pool`); default ``"t"``.
    stepadj, maxiter : float, int
        Fisher-scoring control, passed to :func:`meta.pooling.pool_many`. At ``stepadj=1.0`` a REML/ML
        cell whose scoring oscillates is refitted once with 0.5 (metafor's remedy; column ``stepadj``).
    trial_aliases : mapping, optional
        Token → canonical trial token (:func:`meta.identity.trial_aliases_from_entries` of the trials
        vocabulary).
    include_flagged : bool
    multi_arm : {"combine", "split"}
    rate_ci : {"auto", "logit", "loglog"}
    studies : bool
        Also return each contribution's effect: columns ``yi`` and ``vi`` (lists, aligned with
        ``trials`` and ``weights``), ``study_n`` (its patients, NaN when unknown) and
        ``study_record_ids`` (the records behind it, a list per contribution), e.g. for
        :func:`meta.subgroup_test` or a forest plot.
    classes : ComparisonClasses or sequence of dict, optional
        Comparison classes (or their data entries, :meth:`ComparisonClasses.from_entries`, as a bundle
        stores them) (:mod:`meta.classes`): beside the per-agent cells, each class cell
        (``active_agent`` vs ``control``) that joins two or more distinct comparisons; columns
        ``comparison_class`` and ``agents`` (the real comparisons, ``"pazopanib vs placebo"``).

    Returns
    -------
    DataFrame
        One row per cell: the keys, ``scale``, ``timepoint_months``, ``rollup``, k, n_total, every
        pooled field on the analysis scale, ``*_exp`` on the reporting scale, ``weights`` (percent,
        one per contribution), ``converged``, ``record_ids`` (every record used), ``trials`` (one per
        contribution), ``inverted``, ``notes``, method, test, pi, model, level, version.
        ``attrs``: ``excluded`` (``{"record_id", "reason"}``; :func:`excluded_frame`), ``syntheses``
        (published meta-analyses and pooled analyses), ``scales`` (what each scale's number means).

    Examples
    --------
    >>> recs = [dict(record_id=f"r{i}", source_id=f"PMID:{i}", histotypes=["leiomyosarcoma"],
    ...              intervention="trabectedin", comparator="dacarbazine", arm="contrast",
    ...              endpoint="PFS", measure="HR", value=v, ci_low=lo, ci_high=hi, status="accepted")
    ...         for i, (v, lo, hi) in enumerate([(0.55, 0.44, 0.70), (0.70, 0.50, 0.98)])]
    >>> out = pool_table(recs)
    >>> int(out.loc[0, "k"]), out.loc[0, "method"], round(float(out.loc[0, "estimate_exp"]), 3)
    (2, 'FE', 0.594)
    """
    if method is not None:
        check_choice(method, POOL_METHODS, "method")
    if test is not None:
        check_choice(test, TESTS, "test")
    if pi is not None:
        check_choice(pi, PI_KINDS, "pi")
    check_choice(rate_ci, RATE_CI, "rate_ci")
    if multi_arm not in MULTI_ARM:
        raise ValueError(f"Invalid multi_arm {multi_arm!r}; must be one of {', '.join(MULTI_ARM)}")
    level = check_level(level)
    df = records.copy(deep=False) if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    df.attrs = {}
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
    if "measure" not in by:
        by.append("measure")  # an HR never pools with an OR
    if "question" in df.columns:  # treatment and prognostic questions never share a cell
        prognostic = df["question"].to_numpy(dtype=object) == "prognostic"
        wanted = prognostic if "factor" in by else ~prognostic
        if not wanted.all():
            df = df[wanted]
    df = df.reset_index(drop=True)
    absent = sorted((set(_OPTIONAL) | set(by) - {"histotype"}) - set(df.columns))
    for col in absent:  # every optional field the records lack, as a column of None
        df[col] = None
    if classes is not None:
        return _with_classes(df, classes, by=by, method=method, test=test, level=level, rollup=rollup,
                             statuses=statuses, parents=parents, pi=pi, stepadj=stepadj, maxiter=maxiter,
                             trial_aliases=trial_aliases, include_flagged=include_flagged, multi_arm=multi_arm,
                             rate_ci=rate_ci, studies=studies)

    reasons, syntheses = select(df, tuple(statuses), include_flagged)
    yis, vis, scales, is_ratio = effects(df, reasons, "arm" in by, rate_ci)
    ids = df["record_id"].to_numpy(dtype=object)
    gone = np.flatnonzero(~reasons.kept)
    excluded: list[dict[str, Any]] = [{"record_id": ids[i], "reason": reasons.messages[c]}
                                      for i, c in zip(gone.tolist(), reasons.codes[gone].tolist(), strict=True)]
    keep = np.flatnonzero(reasons.kept)
    kept = df.iloc[keep] if gone.size else df
    keys = [*by, "scale", *(() if "timepoint_months" in by else ("timepoint_months",))]
    m = len(keep)
    col: dict[str, _Codes] = {}
    for key in keys:
        if key in absent:  # a field no record states: one blank value
            col[key] = _Codes(np.zeros(m, dtype=np.int64), np.array([""], dtype=object))
        elif key not in ("histotype", "scale", "intervention", "comparator", "arm"):
            col[key] = _Codes.of(kept[key])
    col["scale"] = _Codes(scales[keep], np.array(SCALE_NAMES, dtype=object))
    agents = _Codes.of(pd.concat([kept["intervention"], kept["comparator"]], ignore_index=True))
    col["intervention"] = _Codes(agents.codes[:m].copy(), agents.vocab)
    col["comparator"] = _Codes(agents.codes[m:].copy(), agents.vocab)
    col["arm"] = _Codes.of(kept["arm"], extra=("intervention", "comparator"))
    if "factor_level" in keys and "factor_reference" in keys:  # the two levels share one vocabulary, as agents do
        levels = _Codes.of(pd.concat([kept["factor_level"], kept["factor_reference"]], ignore_index=True))
        col["factor_level"] = _Codes(levels.codes[:m].copy(), levels.vocab)
        col["factor_reference"] = _Codes(levels.codes[m:].copy(), levels.vocab)
    hcodes, hkeys = _histotype_codes(kept["histotypes"])
    yi, vi = yis[keep].copy(), vis[keep].copy()
    ratio = is_ratio[keep]
    turned = _invert(col, keys, hcodes, yi, ratio)
    turned |= _invert_levels(col, keys, hcodes, yi, ratio)
    registry = None if "registry_ids" in absent else kept["registry_ids"]  # an absent column states no id
    tcode, tlabel = trial_codes(kept["source_id"], kept["trial"], registry, trial_aliases)
    sub, sublabel = (_Codes(np.zeros(m, dtype=np.int64), np.array([""], dtype=object)) if c in absent
                     else _Codes.of(kept[c]) for c in ("subgroup", "subgroup_label"))
    rows = pd.DataFrame({
        "_rid": keep, "_row": np.arange(m), "_trial": tcode, "_yi": yi, "_vi": vi,
        "_year": pd.to_numeric(kept["year"], errors="coerce").fillna(-np.inf).to_numpy(dtype=float),
        "_order": keep, "_own": np.ones(m, dtype=np.int64), "_hist0": hcodes, "_hist": hcodes,
        "_sub": sub.codes, "_sublabel": sublabel.codes, "_iv": col["intervention"].codes,
        "_cp": col["comparator"].codes, "n": pd.to_numeric(kept["n"], errors="coerce").to_numpy(dtype=float),
    })
    hvocab = sorted(set(hkeys) | ({a for h in hkeys for a in _ancestors(h, parents or {})} if rollup else set()))
    hpos = {h: i for i, h in enumerate(hvocab)}
    hsorted = np.array([hpos[h] for h in hkeys], dtype=np.int64)
    if rollup and m:
        rows = _roll_up(rows, hkeys, hpos, parents or {})
    rows["_hist"] = np.where(rows["_own"].to_numpy() == 1, hsorted[rows["_hist0"].to_numpy()], rows["_hist"])
    src = rows["_row"].to_numpy()
    parts, cards = [], []
    for key in keys:
        if key == "histotype":
            parts.append(rows["_hist"].to_numpy())
            cards.append(len(hvocab))
        else:
            parts.append(col[key].codes[src])
            cards.append(len(col[key].vocab))
    rows["_cell"] = _combine(parts, cards)
    if rollup:
        roll = np.bincount(rows["_cell"], weights=1.0 - rows["_own"].to_numpy())
        rows["rollup"] = roll[rows["_cell"].to_numpy()] > 0
    else:
        rows["rollup"] = False
    labels = {"trial": tlabel, "hist": np.array(hkeys, dtype=object), "hvocab": np.array(hvocab, dtype=object),
              "sub": sub.vocab, "sublabel": sublabel.vocab, "agent": agents.vocab, "rid": ids}
    contrib, more = contributions(rows, labels, multi_arm)
    excluded += more
    vals = {k: (np.array(hvocab, dtype=object) if k == "histotype" else col[k].vocab) for k in keys}
    inverted = ids[keep[turned]], rows.loc[(rows["_own"] == 1).to_numpy() & turned[src], "_cell"].to_numpy()
    return _table(rows, keys, parts, vals, contrib, inverted, excluded, syntheses, method, test, pi, level,
                  stepadj, maxiter, studies)


def _with_classes(df: pd.DataFrame, classes: ComparisonClasses | Sequence[Mapping[str, Any]], **options: Any
                  ) -> pd.DataFrame:
    """The per-agent cells, then the class cells that pool two or more distinct real comparisons.

    Every record keeps its own cell (``pazopanib`` vs ``placebo``); the records a class rule matches are
    pooled again under their class (:func:`meta.classes.apply_classes`), and a class cell is kept when it
    joins at least two different comparisons (one would only repeat its agent cell under another name).
    Columns ``comparison_class`` (the rule's id, or ``""``) and ``agents`` (the real comparisons behind
    the cell's records) tell them apart; ``attrs`` are the per-agent table's.
    """
    if not isinstance(classes, ComparisonClasses):
        classes = ComparisonClasses.from_entries(classes)
    if "intervention" not in options["by"] or "comparator" not in options["by"]:
        return pool_table(df, **options)  # no comparison in the keys: nothing to class
    base = pool_table(df, **options)
    classed, real, hit = apply_classes(df, classes)
    ids = df["record_id"].to_numpy(dtype=object)
    of = dict(zip(ids.tolist(), real.tolist(), strict=True))

    def agents(table: pd.DataFrame) -> list[list[str]]:
        return [sorted({of[r] for r in rids if of.get(r)}) for rids in table["record_ids"]] if len(table) else []

    base["comparison_class"] = ""
    base["agents"] = agents(base)
    changed = np.flatnonzero(hit)
    if not changed.size:
        return base
    cls = pool_table(classed.iloc[changed], **options)
    if not len(cls):
        return base
    cls["agents"] = agents(cls)
    cls = cls[[len(a) >= 2 for a in cls["agents"]]]
    if not len(cls):
        return base
    cls["comparison_class"] = [classes.rule_of(i, c) for i, c in zip(cls["intervention"], cls["comparator"],
                                                                     strict=True)]
    attrs = base.attrs
    out = pd.concat([base, cls], ignore_index=True)
    out.attrs = attrs
    return out


def _invert(col: dict[str, _Codes], keys: list[str], hcodes: np.ndarray, yi: np.ndarray, ratio: np.ndarray
            ) -> np.ndarray:
    """Turn comparisons reported the other way round into their cell's orientation; the rows turned.

    Among the records of one question (every key but intervention, comparator and arm) naming the same
    two treatments, the orientation reported by more records is the cell's; on a tie, the one with a
    control (placebo, best supportive care, observation) as comparator, else the alphabetical one. A
    ratio turned round is 1/ratio (yi → −yi); an arm-level value changes arm (intervention ↔ comparator).
    Only when both intervention and comparator are keys.
    """
    iv, cp = col["intervention"].codes, col["comparator"].codes
    n = len(iv)
    if "intervention" not in keys or "comparator" not in keys or not n:
        return np.zeros(n, dtype=bool)
    blank = np.flatnonzero(col["intervention"].vocab == "")
    both = (iv != blank[0]) & (cp != blank[0]) if blank.size else np.ones(n, dtype=bool)
    fwd = iv <= cp
    lo, hi = np.where(fwd, iv, cp), np.where(fwd, cp, iv)
    parts, cards = [], []
    for key in keys:
        if key in ("intervention", "comparator", "arm"):
            continue
        parts.append(hcodes if key == "histotype" else col[key].codes)
        cards.append(int(hcodes.max(initial=0)) + 1 if key == "histotype" else len(col[key].vocab))
    na = len(col["intervention"].vocab)
    g = _combine([*parts, lo, hi], [*cards, na, na])
    n_g = int(g.max(initial=0)) + 1
    w = both.astype(float)
    n_fwd = np.bincount(g, weights=w * fwd, minlength=n_g)
    n_rev = np.bincount(g, weights=w * ~fwd, minlength=n_g)
    if not ((n_fwd > 0) & (n_rev > 0)).any():
        return np.zeros(n, dtype=bool)
    is_ctrl = np.isin(col["intervention"].vocab, CONTROLS)
    ctrl_fwd = np.bincount(g, weights=w * is_ctrl[hi], minlength=n_g) > 0
    ctrl_rev = np.bincount(g, weights=w * is_ctrl[lo], minlength=n_g) > 0
    canon = np.where(n_fwd != n_rev, n_fwd > n_rev, np.where(ctrl_fwd != ctrl_rev, ctrl_fwd, True))
    turn = both & (n_fwd[g] > 0) & (n_rev[g] > 0) & (fwd != canon[g])
    if turn.any():
        iv[turn], cp[turn] = cp[turn].copy(), iv[turn].copy()
        yi[turn & ratio] = -yi[turn & ratio]
        arm = col["arm"]
        a_iv, a_cp = (int(np.flatnonzero(arm.vocab == x)[0]) for x in ("intervention", "comparator"))
        ac = arm.codes
        was_iv, was_cp = turn & (ac == a_iv), turn & (ac == a_cp)
        ac[was_iv], ac[was_cp] = a_cp, a_iv
    return turn


def _invert_levels(col: dict[str, _Codes], keys: list[str], hcodes: np.ndarray, yi: np.ndarray, ratio: np.ndarray
                   ) -> np.ndarray:
    """Turn prognostic ratios reported the other way round (``R0`` vs ``R1`` beside ``R1`` vs ``R0``) into their
    question's orientation; the rows turned.

    The prognostic counterpart of :func:`_invert`: among the ratio records of one question (every key but the two
    levels) comparing the same two levels of a factor, the orientation reported by more records is the
    question's; on a tie, the one in which the records' ratios are above 1 on the whole (the level with the worse
    outcome named first, as prognostic studies report a risk factor; sum of log ratios > 0), and on a further tie
    the alphabetical one. A ratio turned round is 1/ratio (yi → −yi), its CI the reciprocal of the bounds
    swapped (Cochrane Handbook §6.3.1: a ratio's reciprocal compares the same groups the other way). Only when
    both ``factor_level`` and ``factor_reference`` are keys; arm-level rates are never turned.
    """
    n = len(yi)
    if "factor_level" not in keys or "factor_reference" not in keys or not n:
        return np.zeros(n, dtype=bool)
    lv, rf = col["factor_level"].codes, col["factor_reference"].codes
    blank = np.flatnonzero(col["factor_level"].vocab == "")
    both = ratio & ((lv != blank[0]) & (rf != blank[0]) if blank.size else np.ones(n, dtype=bool))
    fwd = lv <= rf
    lo, hi = np.where(fwd, lv, rf), np.where(fwd, rf, lv)
    parts, cards = [], []
    for key in keys:
        if key in ("factor_level", "factor_reference", "intervention", "comparator", "arm"):
            continue
        parts.append(hcodes if key == "histotype" else col[key].codes)
        cards.append(int(hcodes.max(initial=0)) + 1 if key == "histotype" else len(col[key].vocab))
    nv = len(col["factor_level"].vocab)
    g = _combine([*parts, lo, hi], [*cards, nv, nv])
    n_g = int(g.max(initial=0)) + 1
    w = both.astype(float)
    n_fwd = np.bincount(g, weights=w * fwd, minlength=n_g)
    n_rev = np.bincount(g, weights=w * ~fwd, minlength=n_g)
    if not ((n_fwd > 0) & (n_rev > 0)).any():
        return np.zeros(n, dtype=bool)
    y = np.where(both, np.nan_to_num(yi), 0.0)
    s_fwd = np.bincount(g, weights=np.where(fwd, y, -y), minlength=n_g)  # sum of log ratios in the lo-vs-hi sense
    canon = np.where(n_fwd != n_rev, n_fwd > n_rev, s_fwd >= 0)
    turn = both & (n_fwd[g] > 0) & (n_rev[g] > 0) & (fwd != canon[g])
    if turn.any():
        lv[turn], rf[turn] = rf[turn].copy(), lv[turn].copy()
        yi[turn] = -yi[turn]
    return turn


def _roll_up(rows: pd.DataFrame, hkeys: list[str], hpos: dict[str, int], parents: Mapping[str, str]) -> pd.DataFrame:
    """Append a copy of each record for every histotype level above its own (``_own`` = 0)."""
    anc = [[hpos[a] for a in _ancestors(h, parents)] for h in hkeys]
    reps = np.array([len(a) for a in anc], dtype=np.int64)[rows["_hist0"].to_numpy()]
    if not reps.any():
        return rows
    extra = rows.iloc[np.repeat(np.arange(len(rows)), reps)].copy()
    extra["_hist"] = [a for h in rows["_hist0"].tolist() for a in anc[h]]
    extra["_own"] = 0
    return pd.concat([rows, extra], ignore_index=True)


def _table(rows: pd.DataFrame, keys: list[str], parts: list[np.ndarray], vals: dict[str, np.ndarray],
           contrib: dict[str, Any], inverted: tuple[np.ndarray, np.ndarray], excluded: list[dict[str, Any]],
           syntheses: list[dict], method: str | None, test: str | None, pi: str | None, level: float,
           stepadj: float, maxiter: int, studies: bool = False) -> pd.DataFrame:
    attrs = {"excluded": excluded, "syntheses": syntheses, "scales": dict(SCALES)}
    cell = contrib["_cell"]
    if not len(cell):
        out = pd.DataFrame(columns=[*keys, "rollup", "k", "n_total", *RESULT_FIELDS])
        out.attrs.update(attrs)
        return out
    # one row standing for each cell (any will do: a cell's rows share its keys and rollup); codes are dense
    cells_of_rows = rows["_cell"].to_numpy()
    n_cells = int(cells_of_rows.max()) + 1
    rep_row = np.empty(n_cells, dtype=np.int64)
    rep_row[cells_of_rows] = np.arange(cells_of_rows.size)
    cols: dict[str, Any] = {}
    for key, p in zip(keys, parts, strict=True):
        v = vals[key][p[rep_row]]
        cols[key] = v if key == "timepoint_months" else pd.Series(v, dtype=object).infer_objects()
    cols["rollup"] = rows["rollup"].to_numpy(dtype=bool)[rep_row]
    k = np.bincount(cell, minlength=n_cells)
    cols["k"] = k
    nn = contrib["n"].astype(float)
    has_n = ~np.isnan(nn)
    n_sum = np.bincount(cell[has_n], weights=nn[has_n], minlength=n_cells)
    cols["n_total"] = np.where(np.bincount(cell[has_n], minlength=n_cells) > 0, n_sum, np.nan)
    ends = np.cumsum(k).tolist()
    starts = [0, *ends[:-1]]
    ids = contrib["ids"].tolist()
    if contrib["all_single"]:
        cols["record_ids"] = [ids[a:b] for a, b in zip(starts, ends, strict=True)]
    else:
        cols["record_ids"] = [[i for x in ids[a:b] for i in ([x] if isinstance(x, str) else x)]
                              for a, b in zip(starts, ends, strict=True)]
    trials = contrib["trial"].tolist()
    cols["trials"] = [trials[a:b] for a, b in zip(starts, ends, strict=True)]
    if studies:
        for name, src in (("yi", "yi"), ("vi", "vi"), ("study_n", "n")):
            vals_ = contrib[src].astype(float).tolist()
            cols[name] = [vals_[a:b] for a, b in zip(starts, ends, strict=True)]
        per = [[x] if isinstance(x, str) else list(x) for x in ids]
        cols["study_record_ids"] = [per[a:b] for a, b in zip(starts, ends, strict=True)]
    inv: dict[int, list[str]] = {}
    for rid, c in zip(*inverted, strict=True):
        inv.setdefault(int(c), []).append(rid)
    notes: dict[int, list[str]] = {}
    has_note = np.zeros(len(cell), dtype=bool) if contrib["all_single"] else contrib["note"] != ""  # one record: none
    for c, note in zip(cell[has_note].tolist(), contrib["note"][has_note].tolist(), strict=True):
        notes.setdefault(c, []).append(note)
    cols["inverted"] = [inv.get(i, []) for i in range(n_cells)]
    cols["notes"] = [notes.get(i, []) for i in range(n_cells)]
    pos = np.arange(len(cell)) - np.repeat(np.asarray(starts), k)
    kmax = int(k.max())
    Y, V = np.zeros((n_cells, kmax)), np.ones((n_cells, kmax))
    M = np.zeros((n_cells, kmax), dtype=bool)
    Y[cell, pos], V[cell, pos], M[cell, pos] = contrib["yi"].astype(float), contrib["vi"].astype(float), True
    pool_cells(cols, k, Y, V, M, vals["scale"][parts[keys.index("scale")][rep_row]], method, test, pi, level,
               stepadj, maxiter)
    order = [*keys, "rollup", "k", "n_total"]
    out = pd.DataFrame({c: cols[c] for c in [*order, *(c for c in cols if c not in order)]})
    out.attrs.update(attrs)
    return out
