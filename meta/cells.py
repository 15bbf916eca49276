"""Pool the cells of a pooling plan: the model of each cell (few-study defaults), one vectorised
:func:`meta.pooling.pool_many` call per model, and the result table.

Few-study defaults (Cochrane Handbook §10.10.4 and IntHout et al. 2014, BMC Med Res Methodol 14:25),
used when the caller gives neither ``method`` nor ``test``:

* k = 2: no random-effects pool; the common-effect (``FE``) estimate, labelled as such;
* k = 3–4: REML with the Hartung–Knapp–Sidik–Jonkman test, ad hoc variant (never narrower than z);
* k ≥ 5: REML + HKSJ (its ad hoc floor only when Q(τ̂²) < k − 1, noted) with a t(k − 2) prediction
  interval (Higgins, Thompson & Spiegelhalter 2009).

A ``method`` or ``test`` given explicitly applies to every cell. Every row says its k and model. The
rule per k is :func:`meta.few_studies.few_study_model` (one source for the plan, the CLI and the
dashboard); this module applies it to many cells at once.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import fields
from typing import Any

import numpy as np

from meta.effect_sizes import back_transform_logit
from meta.few_studies import few_study_model
from meta.pooling import __version__, pool_many

RESULT_FIELDS = (
    "estimate", "se", "ci_low", "ci_high", "p_value", "stat", "tau2", "tau2_ci_low", "tau2_ci_high",
    "i2", "h2", "q", "q_df", "q_p", "pi_low", "pi_high",
)  # fmt: skip
EXP_FIELDS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
__all__ = ["EXP_FIELDS", "RESULT_FIELDS", "few_study_model", "pool_cells"]


def _pool_with_retry(Y: np.ndarray, V: np.ndarray, M: np.ndarray, method: str, test: str, level: float,
                     pi: str, stepadj: float, maxiter: int) -> tuple[Any, np.ndarray]:
    """:func:`pool_many`, refitting cells whose REML/ML Fisher scoring oscillated with half steps.

    metafor stops on such a cell and advises ``control=list(stepadj=0.5)``; we apply that remedy to
    those cells only, return the step each cell used (the ``stepadj`` column), and warn about the
    cells that still do not converge. A caller who set ``stepadj`` gets exactly that, with no retry.
    """
    steps = np.full(Y.shape[0], float(stepadj))
    kw = {"pi": pi, "maxiter": maxiter}
    if stepadj != 1.0 or method not in ("REML", "ML"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pooled = pool_many(Y, V, M, method, test, level, stepadj=stepadj, **kw)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=4)
        return pooled, steps
    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        pooled = pool_many(Y, V, M, method, test, level, stepadj=stepadj, **kw)
    bad = np.flatnonzero(~pooled.converged)
    keep = first
    if bad.size:
        with warnings.catch_warnings(record=True) as second:
            warnings.simplefilter("always")
            again = pool_many(Y[bad], V[bad], M[bad], method, test, level, stepadj=0.5, **kw)
        fixed = again.converged
        for f in fields(pooled):
            mine, theirs = getattr(pooled, f.name), getattr(again, f.name)
            if isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray) and mine.shape[:1] == (len(steps),):
                mine[bad[fixed]] = theirs[fixed]
        steps[bad[fixed]] = 0.5
        keep = [w for w in first if "did not converge within maxiter" not in str(w.message)] + list(second)
        if fixed.any():
            keep.append(warnings.WarningMessage(
                f"{method} Fisher scoring oscillated in {bad.size} cell(s); refitted with step halving "
                f"(stepadj=0.5, metafor's remedy): {int(fixed.sum())} converged", RuntimeWarning, __file__, 0))
    for w in keep:
        warnings.warn(w.message, w.category, stacklevel=4)  # the caller of pool_table
    return pooled, steps


def _noted(pooled: Any) -> np.ndarray:
    """Cells of a :func:`pool_many` result whose :meth:`PoolArrays.notes` are not empty (found column-wise)."""
    n = len(pooled.k)
    if pooled.method == "FE":
        return np.arange(n)
    mask = np.zeros(n, dtype=bool)
    for name in ("hksj_zero", "z_fallback", "profile_moved"):
        got = getattr(pooled, name, None)
        if got is not None:
            mask |= got
    if pooled.hksj_s2 is not None and pooled.test in ("knha", "adhoc"):
        mask |= pooled.hksj_s2 < 1
    if pooled.pi == "t":
        mask |= pooled.k < 3
    return np.flatnonzero(mask)


def pool_cells(cells: dict[str, Any], k: np.ndarray, Y: np.ndarray, V: np.ndarray, M: np.ndarray,
               scale: np.ndarray, method: str | None, test: str | None, pi: str | None, level: float,
               stepadj: float, maxiter: int) -> dict[str, Any]:
    """Add the pooled fields to the columns ``cells`` (one entry per cell; ``Y``, ``V``, ``M`` padded).

    Cells with k = 1 are listed with NaN results and model ``single study (not pooled)``.
    """
    n_cells = len(k)
    auto = method is None and test is None
    res = {f: np.full(n_cells, np.nan) for f in RESULT_FIELDS}
    steps = np.full(n_cells, float(stepadj))
    conv = np.ones(n_cells, dtype=bool)
    weights: list[list[float]] = [[math.nan] for _ in range(n_cells)]
    meth = np.full(n_cells, "", dtype=object)
    tst = np.full(n_cells, "", dtype=object)
    pis = np.full(n_cells, "", dtype=object)
    label = np.full(n_cells, "single study (not pooled)", dtype=object)
    multi = np.flatnonzero(k >= 2)
    notes: list[list[str]] = [[] for _ in range(n_cells)]
    signs = {name: np.full(n_cells, "", dtype=object) for name in ("tau2_ci_low_sign", "tau2_ci_high_sign")}
    if auto:
        rules = {kk: few_study_model(int(kk)) for kk in np.unique(k[multi]).tolist()}
        models = [(rules[kk].method, rules[kk].test, pi or rules[kk].pi) for kk in k[multi].tolist()]
        labels = [rules[kk].label for kk in k[multi].tolist()]
    else:
        models = [(method or "REML", test or "z", pi or "t")] * multi.size
        by_k = {kk: f"{method or 'REML'}, test {test or 'z'}, PI {pi or 't'} (as requested; k = {kk})"
                for kk in np.unique(k[multi]).tolist()}  # one label per distinct k
        labels = [by_k[kk] for kk in k[multi].tolist()]
    label[multi] = labels
    for mdl in sorted(set(models)):
        sel = multi[[m == mdl for m in models]]
        mth, tt, pp = mdl
        kmax = int(k[sel].max())
        pooled, st = _pool_with_retry(Y[sel, :kmax], V[sel, :kmax], M[sel, :kmax], mth, tt, level, pp,
                                      stepadj, maxiter)
        for f in RESULT_FIELDS:
            res[f][sel] = getattr(pooled, f)
        conv[sel] = pooled.converged
        steps[sel] = st
        # each cell's first k weights: the padded rows' leading entries flattened at once, then sliced per cell
        ks = k[sel]
        flat = pooled.weights[np.arange(kmax)[None, :] < ks[:, None]].tolist()
        ends = np.cumsum(ks).tolist()
        for j, a, b in zip(sel.tolist(), [0, *ends[:-1]], ends, strict=True):
            weights[j] = flat[a:b]
        meth[sel], tst[sel], pis[sel] = mth, tt, pp
        for name, arr in signs.items():
            got = getattr(pooled, name, None)
            if got is not None:
                arr[sel] = got.astype(object)
        noted = _noted(pooled)  # the cells with a note, found column-wise; their notes rule by rule
        for j, cell_notes in zip(sel[noted].tolist(), pooled.notes_many(noted), strict=True):
            notes[j] = cell_notes
    for f in RESULT_FIELDS:
        cells[f] = res[f]
    for f in EXP_FIELDS:
        x = res[f]
        cells[f"{f}_exp"] = np.where(np.isin(scale, ("log", "log_months")), np.exp(x),
                                     np.where(scale == "logit", back_transform_logit(x), x))
    cells["weights"] = weights
    cells["stepadj"] = steps
    cells["converged"] = conv
    cells["method"], cells["test"], cells["pi"], cells["model"] = meth, tst, pis, label
    cells.update(signs)
    cells["model_notes"] = notes
    cells["level"], cells["version"] = level, __version__
    return cells
